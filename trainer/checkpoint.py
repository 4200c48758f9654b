"""A model directory's weights read whole, and a trained one written beside the base's other
files (shared by the trainer's own readers of remote-code families, trainer/phi3v.py and
trainer/phi4mm.py)."""
import json
import os
import shutil


def is_weights(name):
    return name.endswith(".safetensors") or name.endswith(".safetensors.index.json")


def read_tensors(base):
    """Every tensor of the directory's safetensors files, by name."""
    from safetensors.torch import load_file

    tensors = {}
    for name in sorted(os.listdir(base)):
        if name.endswith(".safetensors"):
            tensors.update(load_file(os.path.join(base, name)))
    return tensors


def architecture_of(base, name):
    with open(os.path.join(base, "config.json")) as f:
        return name in (json.load(f).get("architectures") or [])


def copy_base_files(base, out, keep_existing=False):
    """Every file of `base` but its weights and config.json into `out` (with `keep_existing`,
    only those `out` lacks: what save_pretrained did not write)."""
    for name in os.listdir(base):
        source, target = os.path.join(base, name), os.path.join(out, name)
        if os.path.isfile(source) and not is_weights(name) and name != "config.json":
            if not (keep_existing and os.path.exists(target)):
                shutil.copy2(source, target)


def write_base_config(base, out, dtype_name):
    """The base's config.json at `out` (atomically), only its saved dtype updated."""
    config = read_config(base)
    config["torch_dtype"] = dtype_name
    with open(os.path.join(out, "config.json.partial"), "w") as f:
        json.dump(config, f, indent=2)
    os.replace(os.path.join(out, "config.json.partial"), os.path.join(out, "config.json"))


def write(tensors, base, out, dtype_name):
    """`tensors` as out/model.safetensors, every other file of `base` copied, and the base's
    config.json with the saved dtype."""
    from safetensors.torch import save_file

    os.makedirs(out, exist_ok=True)
    save_file(tensors, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    copy_base_files(base, out)
    write_base_config(base, out, dtype_name)


def read_config(base, name="config.json"):
    with open(os.path.join(base, name)) as f:
        return json.load(f)


# The decoder settings a released config names as transformers' text configs name them.
TEXT_FIELDS = (
    "vocab_size",
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "hidden_act",
    "max_position_embeddings",
    "original_max_position_embeddings",
    "rms_norm_eps",
    "sliding_window",
    "use_sliding_window",
    "max_window_layers",
    "tie_word_embeddings",
    "bos_token_id",
    "eos_token_id",
    "pad_token_id",
)


def text_settings(raw):
    """The released config's decoder settings it has, and its rope as transformers'
    `rope_parameters` (the old `type` key and Phi-3's "su" read as "longrope")."""
    rope = dict(raw.get("rope_scaling") or {"rope_type": "default"})
    if "type" in rope:
        rope["rope_type"] = rope.pop("type")
    if rope["rope_type"] == "su":
        rope["rope_type"] = "longrope"
    rope["rope_theta"] = raw.get("rope_theta", 10000.0)
    if "partial_rotary_factor" in raw:
        rope["partial_rotary_factor"] = raw["partial_rotary_factor"]
    return {**{k: raw[k] for k in TEXT_FIELDS if k in raw}, "rope_parameters": rope}


def build(make, base, family, tied_head):
    """`make()`'s model with every weight read from `base`, none left to chance: a tensor the
    model lacks or one it has that the directory lacks (but a tied output head) is refused
    with one line."""
    from transformers.initialization import no_init_weights

    raw = read_config(base)
    with no_init_weights():  # every weight is read from the checkpoint below
        model = make(raw)
    missing, unexpected = model.load_state_dict(read_tensors(base), strict=False)
    refuse_unread(base, family, missing, unexpected, raw, tied_head)
    # Built from tensors, the model knows no directory; the adapter records this one as its
    # base, as it does for every other family.
    model.name_or_path = model.config._name_or_path = base
    return model, raw


def refuse_unread(base, family, missing, unexpected, raw, tied_head):
    """One line, and no training, when the model would start with a weight the directory did
    not give (a tied output head aside) or the directory has one the model does not read."""
    missing = set(missing) - ({tied_head} if raw.get("tie_word_embeddings") else set())
    if missing or unexpected:
        raise SystemExit(
            f"{base}: not {family}'s layout (missing {sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]})"
        )


def write_model(model, base, out, dtype_name, tied_head):
    """The model's weights under the checkpoint's own names (a tied output head left out, as
    released), with every other file of the base."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if read_config(base).get("tie_word_embeddings"):
        state.pop(tied_head, None)
    write(state, base, out, dtype_name)


class TokenizerProcessor:
    """What the trainer asks of a processor, for a family whose processor is remote code: the
    directory's tokenizer and chat template (subclasses add the family's images)."""

    def __init__(self, base):
        from transformers import PreTrainedTokenizerFast

        # The tokenizer class itself: AutoTokenizer would read config.json's auto_map.
        self.tokenizer = PreTrainedTokenizerFast.from_pretrained(base)
        self.chat_template = self.tokenizer.chat_template
        self.settings = read_config(base, "preprocessor_config.json")

    def apply_chat_template(self, messages, **kwargs):
        return self.tokenizer.apply_chat_template(messages, **kwargs)

    def save_pretrained(self, out):
        self.tokenizer.save_pretrained(out)
