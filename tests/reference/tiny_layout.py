"""transformers' own view of a model directory radiochat's `model tiny` wrote, for
tests/tiny_layout.rs.

usage: tiny_layout.py SCRATCH_DIR MODEL_DIR...

For each MODEL_DIR, builds the model class the config names from the config alone and saves
it with save_pretrained into a folder of SCRATCH_DIR: the weight names and shapes transformers writes for that
config. Then loads MODEL_DIR itself (from_pretrained, with loading info) and its processor, and
runs the chat template and the processor on one image and one question. Prints one JSON object
per MODEL_DIR, a line each:
  ignored_on_load: radiochat's tensors the model class itself drops on load (and so lacks)
  only_radiochat / only_transformers: tensor names in one file set and not the other (the
    ignored ones aside)
  shape_mismatches: [name, radiochat shape, transformers shape]
  missing / unexpected / mismatched: from_pretrained's loading info
  image_tokens: how many image placeholder ids the processor put into the prompt
"""
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors_shapes import shapes
from transformers import AutoConfig, AutoModelForImageTextToText, AutoProcessor


def transformers_view(base):
    """The directory as transformers 5 reads it. Llama 4's released configs (and mistral.rs
    0.8.1, which serves them) give attn_temperature_tuning as a number, 4, where transformers 5
    wants a bool and refuses the number: a number means on. For such a directory, a temporary
    folder of links to its files with config.json rewritten (removed at exit); otherwise the
    directory itself."""
    import atexit
    import shutil
    import tempfile

    with open(os.path.join(base, "config.json")) as f:
        raw = json.load(f)
    text = raw.get("text_config")
    tuning = text.get("attn_temperature_tuning") if isinstance(text, dict) else None
    if not isinstance(tuning, (int, float)) or isinstance(tuning, bool):
        return base
    text["attn_temperature_tuning"] = tuning != 0
    view = tempfile.mkdtemp(prefix="radiochat-base-")
    atexit.register(shutil.rmtree, view, True)
    for name in os.listdir(base):
        if name != "config.json":
            os.symlink(os.path.abspath(os.path.join(base, name)), os.path.join(view, name))
    with open(os.path.join(view, "config.json"), "w") as f:
        json.dump(raw, f, indent=2)
    return view


def check(written_dir, scratch):
    torch.manual_seed(0)
    model_dir = transformers_view(written_dir)
    config = AutoConfig.from_pretrained(model_dir)
    model = AutoModelForImageTextToText.from_config(config)
    model.save_pretrained(scratch, safe_serialization=True)
    ours, theirs = shapes(model_dir), shapes(scratch)
    # Weights released checkpoints ship that the model class declares it drops on load (Gemma
    # 4's key/value projections of KV-shared layers), by their full names.
    ignored = []
    for prefix, module in model.named_modules():
        for pattern in getattr(module, "_keys_to_ignore_on_load_unexpected", None) or []:
            full = f"{prefix}.{pattern}" if prefix else pattern
            ignored += [n for n in ours if n not in theirs and (n == full or n.startswith(full + "."))]
    ignored = sorted(set(ignored))
    ours = {n: s for n, s in ours.items() if n not in ignored}

    _, info = AutoModelForImageTextToText.from_pretrained(model_dir, output_loading_info=True)

    processor = AutoProcessor.from_pretrained(model_dir)
    messages = [
        {
            "role": "user",
            "content": [{"type": "image"}, {"type": "text", "text": "Is there an extended radio source?"}],
        }
    ]
    template = getattr(processor, "chat_template", None) or processor.tokenizer.chat_template
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False, chat_template=template)
    image_token = getattr(processor, "image_token", None) or "<image>"
    if image_token not in prompt:
        # A template that takes plain-string content (LLaVA 1.5's): the placeholder goes first, as
        # LLaVA writes it (the trainer does the same).
        flat = [{"role": "user", "content": image_token + "\nIs there an extended radio source?"}]
        prompt = processor.apply_chat_template(flat, add_generation_prompt=True, tokenize=False, chat_template=template)
    image = Image.fromarray((np.random.default_rng(0).random((64, 64, 3)) * 255).astype("uint8"))
    inputs = processor(images=[image], text=prompt, return_tensors="pt")
    image_token_id = getattr(config, "image_token_id", None) or getattr(config, "image_token_index", None)
    image_tokens = int((inputs["input_ids"] == image_token_id).sum()) if image_token_id is not None else None

    print(
        json.dumps(
            {
                "dir": written_dir,
                "ignored_on_load": ignored,
                "only_radiochat": sorted(set(ours) - set(theirs)),
                "only_transformers": sorted(set(theirs) - set(ours)),
                "shape_mismatches": [[n, ours[n], theirs[n]] for n in sorted(set(ours) & set(theirs)) if ours[n] != theirs[n]],
                "missing": sorted(info.get("missing_keys", [])),
                "unexpected": sorted(info.get("unexpected_keys", [])),
                "mismatched": [str(m) for m in info.get("mismatched_keys", [])],
                "image_tokens": image_tokens,
            }
        ),
        flush=True,
    )


scratch_root = sys.argv[1]
for i, model_dir in enumerate(sys.argv[2:]):
    check(model_dir, str(Path(scratch_root) / str(i)))
