"""Greedy answers of the trainer's own model of a remote-code family (trainer/phi3v.py,
trainer/minicpmo.py), for tests/trainer_parity.rs to hold against the embedded engine's.

usage: trainer_greedy.py READER MODEL_DIR TOKENS QUESTION IMAGE...

For each image: the engine's prompt (the chat template on one user turn, the image tag where
the engine puts it), the reader's processor and model, TOKENS greedy steps (the image's
features computed once). Prints one JSON object {image path: the answer's text}.
"""
import importlib
import json
import sys
from pathlib import Path

import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "trainer"))

name, model_dir, tokens, question, images = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5:]
reader = importlib.import_module(name)
model, processor = reader.load(model_dir, torch.float32)
model.eval()
turn = [{"role": "user", "content": reader.IMAGE_TAG + reader.IMAGE_SEPARATOR + question}]
text = processor.apply_chat_template(turn, tokenize=False, add_generation_prompt=True)
answers = {}
with torch.no_grad():
    for path in images:
        batch = processor(text=[text], images=[[Image.open(path)]])
        batch.pop("attention_mask")
        embeds = model.embed(**batch)
        answer = []
        for _ in range(tokens):
            step = int(model(inputs_embeds=embeds).logits[0, -1].argmax())
            answer.append(step)
            embeds = torch.cat([embeds, model.get_input_embeddings()(torch.tensor([[step]]))], dim=1)
        answers[path] = processor.tokenizer.decode(answer)
print(json.dumps(answers), flush=True)
