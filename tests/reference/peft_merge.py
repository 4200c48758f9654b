"""PEFT's own LoRA merge, for tests/finetune_merge.rs to compare radiochat's with.

usage: peft_merge.py BASE_DIR ADAPTER_OUT MERGED_OUT [DTYPE BASE_OUT]

With DTYPE (bfloat16, float16) the base is loaded in it and saved to BASE_OUT first, so the
merge of a half-precision base can be compared too.

Wraps the base (a transformers model directory) in a LoRA on the language model's attention
and MLP projections and the multimodal projector (the vision tower stays frozen, as in the
seed), gives lora_B random values (PEFT starts it at zero, which would merge to nothing),
saves the adapter, then merge_and_unload() and saves the merged model as safetensors.
"""
import sys

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForImageTextToText

base, adapter_out, merged_out = sys.argv[1:4]
dtype = getattr(torch, sys.argv[4]) if len(sys.argv) > 4 else torch.float32
torch.manual_seed(0)
model = AutoModelForImageTextToText.from_pretrained(base, dtype=dtype)
if len(sys.argv) > 5:
    model.save_pretrained(sys.argv[5], safe_serialization=True)
config = LoraConfig(
    r=4,
    lora_alpha=8,
    lora_dropout=0.0,
    target_modules=r".*(text_model|connector).*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj|proj)$",
)
model = get_peft_model(model, config)
modules = sum(1 for n, _ in model.named_parameters() if "lora_A" in n)
with torch.no_grad():
    for name, parameter in model.named_parameters():
        if "lora_B" in name:
            parameter.normal_(std=0.05)
model.save_pretrained(adapter_out)
merged = model.merge_and_unload()
merged.save_pretrained(merged_out, safe_serialization=True)
print(modules, "LoRA modules")
