"""transformers' own view of the Phi-4 multimodal directory radiochat's `model tiny --arch
phi4mm` wrote, and the trainer's way through it, for tests/tiny_layout.rs.

usage: phi4mm_layout.py MODEL_DIR SCRATCH_DIR

The released checkpoint (`Phi4MMForCausalLM`) is remote code; transformers' own
`Phi4MultimodalForCausalLM` holds the same weights with the LoRA adapters kept apart and a few
modules renamed. The trainer (trainer/phi4mm.py) reads the released layout into that class and
writes it back. This builds the class from the directory's config as the trainer does, renames
the written tensors the trainer's way, and checks the round trip the trainer makes: load,
change two weights (a text projection that carries the static adapters, and the projector),
write back. Prints one JSON object:
  only_radiochat / only_transformers: tensor names in one set and not the other
  shape_mismatches: [name, radiochat shape, transformers shape]
  lora_mismatches: adapters whose A [rank, in] and B [out, rank] do not fit their base weight
  adapters: how many (layer, adapter) pairs the directory has
  round_trip_changed: released tensors the round trip changed beyond float rounding, with the
    largest change (the two changed weights, by exactly the change, are expected)
  round_trip_files: the files of the written directory
"""
import json
import os
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file
from safetensors_shapes import shapes
from transformers import Phi4MultimodalForCausalLM

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "trainer"))
import phi4mm  # noqa: E402

CHANGE = 0.25
CHANGED = {
    "model.layers.1.self_attn.qkv_proj.weight": "model.layers.1.self_attn.qkv_proj.base_layer.weight",
    "model.embed_tokens_extend.image_embed.img_projection_up.bias": "model.embed_tokens_extend.image_embed.img_projection.0.bias",
}


def layout(model_dir, raw):
    written = shapes(model_dir)
    adapters, lora_mismatches, ours = set(), [], {}
    for name, shape in written.items():
        m = phi4mm.LORA.match(name)
        if not m:
            ours[phi4mm.native_name(name)] = shape
            continue
        base, which, adapter = m.groups()
        adapters.add((base, adapter))
        out_dim, in_dim = written[base + ".base_layer.weight"]
        rank = raw[adapter + "_lora"]["r"]
        if shape != ([rank, in_dim] if which == "A" else [out_dim, rank]):
            lora_mismatches.append([name, shape])
    with torch.device("meta"):
        model = Phi4MultimodalForCausalLM(phi4mm.native_config(raw))
    theirs = {n: list(t.shape) for n, t in model.state_dict().items()}
    if raw["tie_word_embeddings"]:
        theirs.pop("lm_head.weight", None)
    return {
        "only_radiochat": sorted(set(ours) - set(theirs)),
        "only_transformers": sorted(set(theirs) - set(ours)),
        "shape_mismatches": [[n, ours[n], theirs[n]] for n in sorted(set(ours) & set(theirs)) if ours[n] != theirs[n]],
        "lora_mismatches": lora_mismatches,
        "adapters": len(adapters),
    }


def round_trip(model_dir, scratch):
    model, _ = phi4mm.load(model_dir, torch.float32)
    params = dict(model.named_parameters())
    with torch.no_grad():
        for native in CHANGED:
            params[native] += CHANGE
    out = os.path.join(scratch, "written")
    phi4mm.save_model(model, model_dir, out, "float32")
    before, after = load_file(os.path.join(model_dir, "model.safetensors")), load_file(os.path.join(out, "model.safetensors"))
    changed = {}
    for name, tensor in before.items():
        expected = tensor + CHANGE if name in CHANGED.values() else tensor
        largest = (after[name] - expected).abs().max().item()
        if largest > 1e-5 * max(1.0, expected.abs().max().item()):
            changed[name] = largest
    changed.update({name: "missing" for name in before.keys() - after.keys()})
    changed.update({name: "extra" for name in after.keys() - before.keys()})
    return {"round_trip_changed": changed, "round_trip_files": sorted(os.listdir(out))}


model_dir, scratch = sys.argv[1], sys.argv[2]
raw = json.loads((Path(model_dir) / "config.json").read_text())
print(json.dumps({**layout(model_dir, raw), **round_trip(model_dir, scratch)}), flush=True)
