"""Phi-4 multimodal's released checkpoint read as transformers' own class, and written back.

microsoft/Phi-4-multimodal-instruct ships as `Phi4MMForCausalLM`, remote code: its text tower's
projections carry two static LoRA adapters beside each base weight (`base_layer`,
`lora_A/B.vision`, `lora_A/B.speech`), and a few modules have names of their own. transformers
has its own class, `Phi4MultimodalForCausalLM`, for a converted layout: base weights only,
renamed, with the adapters kept apart. radiochat runs no code shipped inside a model directory,
so the trainer reads the released layout into that class itself:

- every base weight gets its vision adapter folded in (W + alpha/r · B·A), because an image
  prompt runs through the vision adapter in the released model (the embedded engine folds it
  in the same way when it loads the model), so training starts from the weights the engine
  answers with;
- the processor is transformers' own, built from the directory's tokenizer (the image token is
  the released `<|endoftext10|>`, id 200010, which both the class and the engine expect).

Written back (`save_model`), the checkpoint is the released layout again: every tensor by its
released name, each base weight the trained weight less the (unchanged) vision adapter, so the
engine's fold gives the trained weight back; the adapters and every other file are the base's.

A LoRA adapter trained on the native class names its modules the native way; `radiochat
finetune merge` maps those names back (src/finetune/merge.rs) and adds the update to the base
weight, which is the same subtraction-free sum.
"""
import re

import checkpoint

RELEASED_CLASS = "Phi4MMForCausalLM"
IMAGE_TOKEN = "<|endoftext10|>"
AUDIO_TOKEN = "<|endoftext11|>"
# The engine puts the image placeholder right before the question, with no separator
# (mistral.rs' Phi4MMPrefixer), so training does too.
IMAGE_SEPARATOR = ""

# Released name → transformers' name, applied in order.
RENAMES = [
    (r"image_embed\.glb_GN$", "image_embed.global_img_feature_extensor"),
    (r"image_embed\.sub_GN$", "image_embed.sub_img_feature_extensor"),
    (r"image_embed\.img_projection\.0\.", "image_embed.img_projection_up."),
    (r"image_embed\.img_projection\.2\.", "image_embed.img_projection_down."),
    (r"\.net\.0\.linear\.", ".gate_up_proj."),
    (r"\.net\.2\.", ".down_proj."),
    (r"\.self_attn\.linear_(q|k|v)\.", r".self_attn.\1_proj."),
    (r"\.self_attn\.linear_out\.", ".self_attn.o_proj."),
    (r"audio_projection\.speech\.0\.", "up_proj_for_speech."),
    (r"audio_projection\.speech\.2\.", "down_proj_for_speech."),
    (r"audio_projection\.vision\.0\.", "up_proj_for_vision_speech."),
    (r"audio_projection\.vision\.2\.", "down_proj_for_vision_speech."),
    (r"\.base_layer\.", "."),
]
LORA = re.compile(r"^(.*)\.lora_(A|B)\.(\w+)\.weight$")


def is_released(base):
    return checkpoint.architecture_of(base, RELEASED_CLASS)


def native_name(name):
    for pattern, replacement in RENAMES:
        name = re.sub(pattern, replacement, name)
    return name


def native_config(raw):
    """transformers' config for the released one: the text fields and rope carried over, the
    Conformer's and the image embedding's settings under their new names; the vision tower's
    own dimensions are transformers' defaults, SigLIP-so400m at 448, as released."""
    from transformers import Phi4MultimodalAudioConfig, Phi4MultimodalConfig, Phi4MultimodalVisionConfig

    speech = raw["audio_processor"]["config"]
    audio = Phi4MultimodalAudioConfig(
        hidden_size=speech["attention_dim"],
        num_attention_heads=speech["attention_heads"],
        intermediate_size=speech["linear_units"],
        num_blocks=speech["num_blocks"],
        ext_pw_out_channel=speech["ext_pw_out_channel"],
        depthwise_separable_out_channel=speech["depthwise_seperable_out_channel"],
        depthwise_multiplier=speech["depthwise_multiplier"],
        kernel_size=speech["kernel_size"],
        input_size=speech["input_size"],
        time_reduction=speech["time_reduction"],
        nemo_conv_channels=speech["nemo_conv_settings"]["conv_channels"],
        bias_max_distance=speech["relative_attention_bias_args"]["t5_bias_max_distance"],
        downsample_rate=raw["embd_layer"]["audio_embd_layer"]["downsample_rate"],
    )
    vision = Phi4MultimodalVisionConfig(crop_size=raw["embd_layer"]["image_embd_layer"]["crop_size"])
    return Phi4MultimodalConfig(**checkpoint.text_settings(raw), vision_config=vision, audio_config=audio)


def vision_deltas(raw, tensors):
    """The vision adapter's update per base weight (released name of the base weight)."""
    scale = raw["vision_lora"]["lora_alpha"] / raw["vision_lora"]["r"]
    deltas = {}
    for name, a in tensors.items():
        m = LORA.match(name)
        if m and m.group(2) == "A" and m.group(3) == "vision":
            module = m.group(1)
            b = tensors[f"{module}.lora_B.vision.weight"]
            deltas[f"{module}.base_layer.weight"] = scale * (b.float() @ a.float())
    return deltas


def load(base, dtype):
    """The released checkpoint as (Phi4MultimodalForCausalLM, Phi4MultimodalProcessor)."""
    from transformers import Phi4MultimodalForCausalLM

    raw = checkpoint.read_config(base)
    tensors = checkpoint.read_tensors(base)
    deltas = vision_deltas(raw, tensors)
    state = {}
    for name, tensor in tensors.items():
        if LORA.match(name):
            continue
        if name in deltas:
            tensor = (tensor.float() + deltas[name]).to(tensor.dtype)
        state[native_name(name)] = tensor
    model, loading = Phi4MultimodalForCausalLM.from_pretrained(
        None, config=native_config(raw), state_dict=state, dtype=dtype, output_loading_info=True
    )
    checkpoint.refuse_unread(base, "Phi-4 multimodal", loading["missing_keys"], loading["unexpected_keys"], raw, "lm_head.weight")
    # Built from a state dict, the model knows no directory; the adapter records this one as
    # its base, as it does for every other family.
    model.name_or_path = model.config._name_or_path = base
    return model, processor(base)


def processor(base):
    from transformers import (
        Phi4MultimodalFeatureExtractor,
        Phi4MultimodalImageProcessor,
        Phi4MultimodalProcessor,
        PreTrainedTokenizerFast,
    )

    # The tokenizer class itself: AutoTokenizer would read config.json's auto_map (remote code).
    tokenizer = PreTrainedTokenizerFast.from_pretrained(base)
    tokenizer.image_token, tokenizer.image_token_id = IMAGE_TOKEN, tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
    tokenizer.audio_token, tokenizer.audio_token_id = AUDIO_TOKEN, tokenizer.convert_tokens_to_ids(AUDIO_TOKEN)
    settings = checkpoint.read_config(base, "preprocessor_config.json")
    images = Phi4MultimodalImageProcessor(dynamic_hd=settings["dynamic_hd"])
    return Phi4MultimodalProcessor(images, Phi4MultimodalFeatureExtractor(), tokenizer)


def save_model(model, base, out, dtype_name):
    """The trained model in the released layout at `out` (see the module header)."""
    raw = checkpoint.read_config(base)
    tensors = checkpoint.read_tensors(base)
    deltas = vision_deltas(raw, tensors)
    trained = model.state_dict()
    written = {}
    for name, tensor in tensors.items():
        if LORA.match(name):
            written[name] = tensor
            continue
        value = trained[native_name(name)].detach().float().cpu()
        if name in deltas:
            value = value - deltas[name]
        written[name] = value.to(tensor.dtype).contiguous()
    checkpoint.write(written, base, out, dtype_name)
