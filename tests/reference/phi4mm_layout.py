"""transformers' own view of the Phi-4 multimodal directory radiochat's `model tiny --arch
phi4mm` wrote, for tests/tiny_layout.rs.

usage: phi4mm_layout.py MODEL_DIR

The released checkpoint (`Phi4MMForCausalLM`) is remote code; transformers' own
`Phi4MultimodalForCausalLM` holds the same weights with the LoRA adapters folded away and a
few modules renamed. This builds that class from the directory's config (its fields carried
over by hand below), renames the written tensors the way transformers names them, and prints
one JSON object:
  only_radiochat / only_transformers: tensor names in one set and not the other
  shape_mismatches: [name, radiochat shape, transformers shape]
  lora_mismatches: adapters whose A [rank, in] and B [out, rank] do not fit their base weight
  adapters: how many (layer, adapter) pairs the directory has
"""
import json
import re
import sys
from pathlib import Path

import torch
from safetensors_shapes import shapes
from transformers import (
    Phi4MultimodalAudioConfig,
    Phi4MultimodalConfig,
    Phi4MultimodalForCausalLM,
    Phi4MultimodalVisionConfig,
)

# Released name → transformers' name, applied in order to the part after the prefix.
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


def native_config(raw):
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
    image = raw["embd_layer"]["image_embd_layer"]
    # The tower's own dimensions are transformers' defaults: SigLIP-so400m at 448, as released.
    vision = Phi4MultimodalVisionConfig(crop_size=image["crop_size"])
    text = {
        k: raw[k]
        for k in [
            "hidden_size",
            "intermediate_size",
            "num_hidden_layers",
            "num_attention_heads",
            "num_key_value_heads",
            "vocab_size",
            "tie_word_embeddings",
        ]
    }
    return Phi4MultimodalConfig(**text, vision_config=vision, audio_config=audio)


def renamed(name):
    for pattern, replacement in RENAMES:
        name = re.sub(pattern, replacement, name)
    return name


model_dir = sys.argv[1]
raw = json.loads((Path(model_dir) / "config.json").read_text())
written = shapes(model_dir)

lora = re.compile(r"^(.*)\.lora_(A|B)\.(\w+)\.weight$")
adapters, lora_mismatches, ours = set(), [], {}
for name, shape in written.items():
    m = lora.match(name)
    if not m:
        ours[renamed(name)] = shape
        continue
    base, which, adapter = m.groups()
    adapters.add((base, adapter))
    out_dim, in_dim = written[base + ".base_layer.weight"]
    rank = raw[adapter + "_lora"]["r"]
    if shape != ([rank, in_dim] if which == "A" else [out_dim, rank]):
        lora_mismatches.append([name, shape])

with torch.device("meta"):
    model = Phi4MultimodalForCausalLM(native_config(raw))
theirs = {n: list(t.shape) for n, t in model.state_dict().items()}
if raw["tie_word_embeddings"]:
    theirs.pop("lm_head.weight", None)

print(
    json.dumps(
        {
            "only_radiochat": sorted(set(ours) - set(theirs)),
            "only_transformers": sorted(set(theirs) - set(ours)),
            "shape_mismatches": [[n, ours[n], theirs[n]] for n in sorted(set(ours) & set(theirs)) if ours[n] != theirs[n]],
            "lora_mismatches": lora_mismatches,
            "adapters": len(adapters),
        }
    ),
    flush=True,
)
