"""The trainer's padded micro-batch (trainer/batching.py) against its examples one at a time,
for tests/trainer_batch.rs: the same loss and the same gradients.

usage: trainer_batch_loss.py MODEL_DIR DATA_DIR

Encodes DATA_DIR/train.json with the trainer's own Encoder and prints one JSON object:
lengths (tokens per example), one_at_a_time (the mean of the model's per-example losses),
batched (trainer/batching.py's loss on the padded batch), token_weighted (the model's own loss
on that batch: every answer token weighed alike), and the largest gradient and the largest
gradient difference between the two ways.
"""
import json
import os
import sys
from pathlib import Path

import torch
from transformers import AutoModelForImageTextToText, AutoProcessor

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "trainer"))
import batching  # noqa: E402
import train_lora  # noqa: E402

model_dir, data_dir = sys.argv[1], sys.argv[2]
torch.manual_seed(0)
processor = AutoProcessor.from_pretrained(model_dir)
model = AutoModelForImageTextToText.from_pretrained(model_dir, dtype=torch.float32)
model.train()
for parameter in model.parameters():
    parameter.requires_grad = True
encoder = train_lora.Encoder(processor, data_dir, "You are an AI assistant specialized in radio astronomical topics.")
with open(os.path.join(data_dir, "train.json")) as f:
    examples = [encoder.encode(record) for record in json.load(f)]


def gradients(loss):
    model.zero_grad()
    loss.backward()
    return [p.grad.clone() for p in model.parameters() if p.grad is not None]


one_at_a_time = sum(model(**e).loss for e in examples) / len(examples)
expected = gradients(one_at_a_time)
batch = batching.padded_batch(examples, batching.pad_token_id(processor))
batched = batching.mean_example_loss(model, batch)
got = gradients(batched)
token_weighted = model(**batch).loss
print(
    json.dumps(
        {
            "lengths": [e["input_ids"].shape[1] for e in examples],
            "one_at_a_time": one_at_a_time.item(),
            "batched": batched.item(),
            "token_weighted": token_weighted.item(),
            "gradient_max": max(g.abs().max().item() for g in expected),
            "gradient_difference_max": max((a - b).abs().max().item() for a, b in zip(expected, got)),
            "gradients": [len(expected), len(got)],
        }
    ),
    flush=True,
)
