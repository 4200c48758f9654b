"""LoRA (or full) fine-tuning of a vision-language model on LLaVA conversation JSON.

Launched by `radiochat finetune run`; runs alone too:

    python trainer/train_lora.py --base MODEL_DIR --data DATA_DIR --out RUN_DIR [--preset v1] ...

DATA_DIR is what `radiochat finetune data` writes (train.json, val.json, images/). The vision
tower stays frozen; LoRA goes on every linear layer of the language model and the projector
(or, with --full, those are trained whole). Only the assistant turns are learned (the rest of
each conversation is masked out of the loss). The remote-code families (MiniCPM-o, Phi-3.5
vision, Phi-4 multimodal) are read by the trainer's own modules beside this file.

Writes, in RUN_DIR: metrics.jsonl (one line per logged step: step, epoch, loss, lr, vision_lr
with --vision-lr, grad_norm, samples_per_s, elapsed_s, total_steps; a last line with
val_loss), adapter/ (the PEFT adapter, with base.sha256 when --base-sha256 is given) or model/
(with --full), merged/ with --merge, and done.json at the end.
"""
import argparse
import json
import math
import os
import random
import sys
import time
import tomllib

import batching
import checkpoint
import minicpmo
import phi3v
import phi4mm

# Families whose released layout transformers has no class for, read by the trainer's own
# modules: each has is_released(base), load(base, dtype) → (model, processor), the
# IMAGE_SEPARATOR its engine puts between the image tag and the question, and save_model.
OWN_READERS = (minicpmo, phi3v, phi4mm)

PRESETS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "presets.toml")
DEFAULTS = {
    "full": False,
    "lora_rank": 16,
    "lora_alpha": 32,
    "lora_dropout": 0.05,
    "lr": 2e-4,
    # The vision tower's own learning rate when it is trained (LLaVA-OneVision's
    # mm_vision_tower_lr); 0: the same as lr.
    "vision_lr": 0.0,
    "epochs": 1,
    "max_steps": 0,
    "batch_size": 1,
    "grad_accum": 1,
    "warmup_ratio": 0.03,
    "scheduler": "cosine",
    "min_lr_rate": 0.1,
    "seed": 0,
    "weight_decay": 0.0,
    "max_grad_norm": 1.0,
}
# Towers that stay frozen and get no adapter: the vision tower of every family (MiniCPM-o's is
# `vpm`, the Phi families' `img_processor`), and the audio towers with their embedders and
# projectors (Gemma 3n's, Phi-4 multimodal's): radiochat trains on images and text.
FROZEN_TOWERS = (
    "vision_model",
    "vision_tower",
    "visual.blocks",
    "visual.patch_embed",
    "image_encoder",
    "img_processor",
    "vpm",
    "audio_tower",
    "embed_audio",
    "audio_embed",
)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--base", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--preset")
    for key, value in DEFAULTS.items():
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            p.add_argument(flag, action="store_true", default=None)
        else:
            p.add_argument(flag, type=type(value), default=None)
    p.add_argument("--target-modules", help="regex of module names (default: every linear layer outside the vision tower)")
    p.add_argument(
        "--modules-to-save",
        default="",
        help="comma-separated modules trained whole beside the LoRA (e.g. lm_head: a tiny random model's output layer is too weak for LoRA alone); with --full, frozen towers named here (vision_tower) are trained too",
    )
    p.add_argument("--merge", action="store_true", help="also write the merged model to OUT/merged")
    p.add_argument("--base-sha256", help="recorded in adapter/base.sha256")
    p.add_argument(
        "--system-prompt",
        default="You are an AI assistant specialized in radio astronomical topics.",
        help="system message put before every conversation (radio-llava's, which radiochat's benchmarks send too; empty for none)",
    )
    p.add_argument("--log-every", type=int, default=1)
    p.add_argument(
        "--cache-mb",
        type=int,
        default=2048,
        help="encoded examples kept in memory, in MiB (past it, an example is encoded again each time it is drawn)",
    )
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: every core; 1 with --deterministic)")
    p.add_argument(
        "--deterministic",
        action="store_true",
        help="the same numbers on every x86 CPU, Intel or AMD, for a fixed --threads: slower kernels",
    )
    return p.parse_args(argv)


def pin_numerics(deterministic):
    """Before torch is imported. Unpinned, the same seeded run differs from one CPU to another:
    MKL picks its SGEMM kernels by CPU vendor and ISA, ATen its vector kernels (AVX-512 or
    AVX2), and after thousands of steps a different last bit is a different model. Pinned:
    MKL's CPU-independent code path (conditional numerical reproducibility, COMPATIBLE is the
    branch it guarantees on non-Intel CPUs too), ATen's AVX2 kernels (every x86-64 CPU of the
    last decade has them), and cuBLAS's deterministic workspace on a GPU."""
    if deterministic:
        os.environ["MKL_CBWR"] = "COMPATIBLE"
        os.environ["ATEN_CPU_CAPABILITY"] = "avx2"
        os.environ["CUBLAS_WORKSPACE_CONFIG"] = ":4096:8"


def settings(args):
    """Defaults, then the preset, then flags given."""
    out = dict(DEFAULTS)
    if args.preset:
        with open(PRESETS, "rb") as f:
            presets = tomllib.load(f)
        if args.preset not in presets:
            sys.exit(f"train_lora.py: unknown preset {args.preset!r} (known: {', '.join(presets)})")
        out.update(presets[args.preset])
    for key in DEFAULTS:
        value = getattr(args, key)
        if value is not None:
            out[key] = value
    return out


def own_reader(base):
    return next((reader for reader in OWN_READERS if reader.is_released(base)), None)


def save_loadable(model, processor, base, out, dtype_name):
    reader = own_reader(base)
    if reader:
        reader.save_model(model, base, out, dtype_name)
        return
    model.save_pretrained(out, safe_serialization=True)
    processor.save_pretrained(out)
    # The processor files save_pretrained did not write (transformers 5 folds the image
    # processor into processor_config.json; engines also read preprocessor_config.json), and
    # the base's config.json in place of the one it wrote: transformers 5 rewrites keys
    # (rope_theta into rope_parameters) that other loaders, the embedded engine among them,
    # still read the old way.
    checkpoint.copy_base_files(base, out, keep_existing=True)
    checkpoint.write_base_config(base, out, dtype_name)


def is_frozen_tower(name):
    return any(part in name for part in FROZEN_TOWERS)


def parameter_groups(model, trainable, cfg):
    """The optimizer's groups: everything trained at lr, and with --vision-lr the towers
    trained whole (--full --modules-to-save vision_tower) at theirs, first group first (the
    lr metrics.jsonl logs). A tower trained from random weights learns at a lower rate than
    the language model above it (docs/finetuning.md)."""
    if not cfg["vision_lr"]:
        return [{"params": trainable}]
    towers, rest = [], []
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            (towers if is_frozen_tower(name) else rest).append(parameter)
    if not towers:
        sys.exit(
            "train_lora.py: --vision-lr needs a vision tower to train "
            "(--full with the tower named in --modules-to-save, e.g. vision_tower)"
        )
    return [{"params": rest}, {"params": towers, "lr": cfg["vision_lr"]}]


def conversation_messages(record):
    """LLaVA turns → chat messages; the image goes with the first human turn."""
    messages = []
    for i, turn in enumerate(record["conversations"]):
        role = "user" if turn["from"] == "human" else "assistant"
        text = turn["value"]
        content = []
        if i == 0 and text.startswith("<image>"):
            content.append({"type": "image"})
            text = text[len("<image>"):].lstrip("\n")
        content.append({"type": "text", "text": text})
        messages.append({"role": role, "content": content})
    return messages


class Encoder:
    """Tokenised examples with the loss on assistant tokens only."""

    def __init__(self, processor, data_dir, system_prompt, image_separator="\n"):
        self.processor = processor
        self.image_separator = image_separator
        self.data_dir = data_dir
        self.system = [{"role": "system", "content": [{"type": "text", "text": system_prompt}]}] if system_prompt else []
        self.template = getattr(processor, "chat_template", None) or processor.tokenizer.chat_template
        self.spans_by_tokenizer = hasattr(processor, "tokenizer")
        self.span_checks_left = 8

    def text(self, messages, generation_prompt=False):
        image_token = getattr(self.processor, "image_token", None) or "<image>"
        try:
            rendered = self.processor.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=generation_prompt, chat_template=self.template
            )
            if image_token in rendered or not any(
                part.get("type") == "image" for m in messages for part in m["content"]
            ):
                return rendered
        except TypeError:
            pass  # a template that concatenates its content as a string (Phi-4's)
        # A template that takes plain-string content (LLaVA 1.5's, Phi-4's): the image
        # placeholder goes first in the text, as the family's engine puts it.
        flat = []
        for m in messages:
            text = "".join(p.get("text", "") for p in m["content"])
            if any(p.get("type") == "image" for p in m["content"]):
                text = f"{image_token}{self.image_separator}{text}"
            flat.append({"role": m["role"], "content": text})
        return self.processor.apply_chat_template(
            flat, tokenize=False, add_generation_prompt=generation_prompt, chat_template=self.template
        )

    def tokens(self, text, image):
        return self.processor(text=[text], images=[[image]], return_tensors="pt")

    def as_asked(self, messages):
        """The conversation's text with every answer after the header the generation prompt
        writes, and each answer's (start, end) characters (its end-of-turn included).

        A template may render a past answer's header otherwise than the generation prompt it
        answers after: LLaVA-OneVision's writes `<|im_start|>assistant \n` for one and
        `<|im_start|>assistant\n` for the other. A model trained on the first form is asked in
        the second; a large one shrugs that off, a small one (the demo's) answers garbage.
        None when the template's renderings do not nest (then the template's text is used)."""
        full = self.text(messages)
        text, cursor, spans = "", 0, []
        for i, message in enumerate(messages):
            if message["role"] != "assistant":
                continue
            before = self.text(messages[:i])
            through = self.text(messages[: i + 1])
            asked = self.text(messages[:i], generation_prompt=True)
            if not (full.startswith(through) and through.startswith(before) and asked.startswith(before)):
                return None
            turn, header = through[len(before) :], asked[len(before) :]
            answer = "".join(part.get("text", "") for part in message["content"])
            at = turn.find(answer) if answer else -1
            text += full[cursor : len(before)]
            if not turn.startswith(header) and at >= 0:
                text += header
                start = len(text)
                text += turn[at:]
            else:
                # What follows the generation prompt (idefics3's space before the answer)
                # is the model's to write.
                start = len(text) + len(header)
                text += turn
            cursor = len(through)
            spans.append((start, len(text)))
        return text + full[cursor:], spans

    def rendering(self, record):
        """The conversation's text, and each answer's text before it and through it."""
        messages = self.system + conversation_messages(record)
        rendered = self.as_asked(messages)
        if rendered:
            text, spans = rendered
            return text, [(text[:start], text[:end]) for start, end in spans]
        cuts = [
            (self.text(messages[:i], generation_prompt=True), self.text(messages[: i + 1]))
            for i, message in enumerate(messages)
            if message["role"] == "assistant"
        ]
        return self.text(messages), cuts

    def label_spans(self, cuts, image, text, batch):
        """Where each answer's tokens lie in the encoded conversation (`batch`, the processor's
        encoding of `text`): (start, end) pairs.

        Every cut holds the whole first turn, image included, so its length in tokens is its
        text's (by the tokenizer alone) plus what the processor's image expansion added to the
        conversation's. The processor, image and all, then runs once per conversation instead of
        once more for each end of each answer (5 % more samples per second on the demo model).
        The first conversations are checked against the processor; a family whose lengths do
        not add up so keeps the processor for every cut."""
        if self.spans_by_tokenizer:
            count = self.text_token_count
            expansion = batch["input_ids"].shape[1] - count(text)
            spans = [(count(before) + expansion, count(through) + expansion) for before, through in cuts]
            if not self.span_checks_left:
                return spans
            self.span_checks_left -= 1
            if spans == self.spans_by_processor(cuts, image):
                return spans
            self.spans_by_tokenizer = False
        return self.spans_by_processor(cuts, image)

    def spans_by_processor(self, cuts, image):
        return [
            (self.tokens(before, image)["input_ids"].shape[1], self.tokens(through, image)["input_ids"].shape[1])
            for before, through in cuts
        ]

    def text_token_count(self, text):
        return len(self.processor.tokenizer(text)["input_ids"])

    def image(self, record):
        from PIL import Image

        return Image.open(os.path.join(self.data_dir, record["image"])).convert("RGB")

    @staticmethod
    def labelled(batch, spans):
        """The model's inputs (the processor's `batch`) labelled on the spans."""
        ids = batch["input_ids"][0]
        labels = ids.clone().fill_(-100)
        for start, end in spans:
            labels[start:end] = ids[start:end]
        batch["labels"] = labels.unsqueeze(0)
        return batch

    def encode(self, record):
        image = self.image(record)
        text, cuts = self.rendering(record)
        batch = self.tokens(text, image)
        return self.labelled(batch, self.label_spans(cuts, image, text, batch))


class EncodedExamples:
    """Training examples encoded when first drawn, so the first step starts at once, and kept
    while they fit in `budget_bytes`; past it an example is encoded again each time it is drawn
    (its label spans, a few numbers, are always kept). Unbounded, the cache held
    every example's pixels: a 132-px cutout is 3.5 MB of float32 for LLaVA-OneVision at 384 px
    (two tiles; up to 65 MB at its largest grid), so a real dataset filled a node's memory
    within the first epoch."""

    def __init__(self, encoder, records, budget_bytes):
        self.encoder = encoder
        self.records = records
        self.budget = budget_bytes
        self.used = 0
        self.full = {}
        self.spans = {}

    def __getitem__(self, i):
        if i in self.full:
            return self.full[i]
        image = self.encoder.image(self.records[i])
        text, cuts = self.encoder.rendering(self.records[i])
        batch = self.encoder.tokens(text, image)
        if i not in self.spans:
            self.spans[i] = self.encoder.label_spans(cuts, image, text, batch)
        batch = self.encoder.labelled(batch, self.spans[i])
        size = sum(t.numel() * t.element_size() for t in batch.values())
        if self.used + size <= self.budget:
            self.full[i] = batch
            self.used += size
        return batch


def main(argv):
    args = parse_args(argv)
    cfg = settings(args)
    pin_numerics(args.deterministic)
    try:
        import torch
        from transformers import AutoModelForImageTextToText, AutoProcessor, get_scheduler
    except ImportError as e:
        sys.exit(f"train_lora.py: {e}; install the trainer's requirements: pip install -r trainer/requirements.txt")

    random.seed(cfg["seed"])
    torch.manual_seed(cfg["seed"])
    threads = args.threads or (1 if args.deterministic else None)
    if threads:
        torch.set_num_threads(threads)
    if args.deterministic:
        # A fixed thread count fixes how reductions split; oneDNN chooses kernels by ISA as MKL
        # does, so it is off (convolutions go through MKL's pinned GEMM instead).
        torch.use_deterministic_algorithms(True)
        torch.backends.mkldnn.enabled = False
    device = args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16 if device == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
    dtype_name = "bfloat16" if dtype == torch.bfloat16 else "float32"
    os.makedirs(args.out, exist_ok=True)

    image_separator = "\n"
    reader = own_reader(args.base)
    if reader:
        model, processor = reader.load(args.base, dtype)
        image_separator = reader.IMAGE_SEPARATOR
    else:
        processor = AutoProcessor.from_pretrained(args.base)
        model = AutoModelForImageTextToText.from_pretrained(args.base, dtype=dtype)
    modules_to_save = [m for m in args.modules_to_save.split(",") if m]
    # With --full, --modules-to-save names frozen towers to train whole too (a model trained
    # from random weights, as the demo's, must learn to see).
    unfrozen = modules_to_save if cfg["full"] else []
    for name, parameter in model.named_parameters():
        parameter.requires_grad = not is_frozen_tower(name) or any(m in name for m in unfrozen)
    if not cfg["full"]:
        from peft import LoraConfig, get_peft_model

        targets = args.target_modules or [
            name
            for name, module in model.named_modules()
            if isinstance(module, torch.nn.Linear) and not is_frozen_tower(name) and not name.endswith("lm_head")
        ]
        model = get_peft_model(
            model,
            LoraConfig(
                r=cfg["lora_rank"],
                lora_alpha=cfg["lora_alpha"],
                lora_dropout=cfg["lora_dropout"],
                target_modules=targets,
                modules_to_save=modules_to_save or None,
            ),
        )
    model.to(device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    groups = parameter_groups(model, trainable, cfg)

    encoder = Encoder(processor, args.data, args.system_prompt, image_separator)
    with open(os.path.join(args.data, "train.json")) as f:
        train = json.load(f)
    val_path = os.path.join(args.data, "val.json")
    val = []
    if os.path.exists(val_path):
        with open(val_path) as f:
            val = json.load(f)
    if not train:
        sys.exit(f"train_lora.py: {args.data}/train.json has no examples")

    per_step = cfg["batch_size"] * cfg["grad_accum"]
    steps_per_epoch = math.ceil(len(train) / per_step)
    total = cfg["max_steps"] or steps_per_epoch * cfg["epochs"]
    optimizer = torch.optim.AdamW(groups, lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    extra = {"min_lr_rate": cfg["min_lr_rate"]} if cfg["scheduler"] == "cosine_with_min_lr" else {}
    scheduler = get_scheduler(
        cfg["scheduler"],
        optimizer,
        num_warmup_steps=int(cfg["warmup_ratio"] * total),
        num_training_steps=total,
        scheduler_specific_kwargs=extra,
    )

    def on_device(example):
        batch = {k: v.to(device) for k, v in example.items()}
        for key in batch:
            if key.endswith("pixel_values"):
                batch[key] = batch[key].to(dtype)
        return batch

    def loss_of(example):
        return model(**on_device(example)).loss

    pad_id = batching.pad_token_id(processor)
    # The trainer's own models of the remote-code families take one example at a time.
    batches = reader is None

    def micro_batch_loss(drawn):
        """The mean of the drawn examples' losses: in one padded forward pass where the model
        and their tensors allow it, else one example at a time (backward is run here)."""
        batch = batching.padded_batch(drawn, pad_id) if batches and len(drawn) > 1 else None
        if batch is None:
            losses = []
            for example in drawn:
                loss = loss_of(example) / per_step
                loss.backward()
                losses.append(loss.item() * per_step)
            return losses
        loss = batching.mean_example_loss(model, on_device(batch))
        (loss * len(drawn) / per_step).backward()
        return [loss.item()] * len(drawn)

    examples = EncodedExamples(encoder, train, args.cache_mb * 2**20)

    metrics = open(os.path.join(args.out, "metrics.jsonl"), "a", buffering=1)
    order = list(range(len(train)))
    started = time.time()
    seen = 0
    model.train()
    for step in range(1, total + 1):
        optimizer.zero_grad()
        losses = []
        for _ in range(cfg["grad_accum"]):
            drawn = []
            for _ in range(cfg["batch_size"]):
                if seen % len(train) == 0:
                    random.shuffle(order)
                drawn.append(examples[order[seen % len(train)]])
                seen += 1
            losses += micro_batch_loss(drawn)
        grad_norm = torch.nn.utils.clip_grad_norm_(trainable, cfg["max_grad_norm"]).item()
        optimizer.step()
        scheduler.step()
        if step % args.log_every == 0 or step == total:
            elapsed = time.time() - started
            line = {
                "step": step,
                "epoch": seen / len(train),
                "loss": sum(losses) / len(losses),
                "lr": scheduler.get_last_lr()[0],
                **({"vision_lr": scheduler.get_last_lr()[1]} if len(groups) > 1 else {}),
                "grad_norm": grad_norm,
                "samples_per_s": seen / max(elapsed, 1e-9),
                "elapsed_s": elapsed,
                "total_steps": total,
            }
            metrics.write(json.dumps(line) + "\n")

    model.eval()
    if val:
        with torch.no_grad():
            val_loss = sum(loss_of(encoder.encode(r)).item() for r in val) / len(val)
        metrics.write(json.dumps({"step": total, "val_loss": val_loss}) + "\n")
    metrics.close()

    if cfg["full"]:
        save_loadable(model, processor, args.base, os.path.join(args.out, "model"), dtype_name)
    else:
        adapter = os.path.join(args.out, "adapter")
        model.save_pretrained(adapter)
        if args.base_sha256:
            with open(os.path.join(adapter, "base.sha256"), "w") as f:
                f.write(args.base_sha256 + "\n")
        if args.merge:
            merged = model.merge_and_unload()
            save_loadable(merged, processor, args.base, os.path.join(args.out, "merged"), dtype_name)
    with open(os.path.join(args.out, "done.json"), "w") as f:
        json.dump({"steps": total, "examples": len(train), "seconds": time.time() - started}, f)


if __name__ == "__main__":
    main(sys.argv[1:])
