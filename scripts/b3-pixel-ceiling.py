"""How well B3 (is there a radio galaxy?) can be answered from the pixels alone.

A 60,610-parameter CNN (four strided convolutions, max-pooled) trained on the PNGs the demo
model sees — `finetune data`'s images, with the YES/NO answers of its B3 conversations — and
scored on another such directory, each epoch: F1 (macro), false YES and false NO. It bounds
what the demo model's tower could learn from the same sky (docs/demo-model.md);
scripts/b3-tower-probe.py asks how much of it a trained model's tower holds.

Usage (the project's venv):
  radiochat finetune data --from SKY/dataset.json --out TEST --tasks B3 --single-turn --val 0
  python scripts/b3-pixel-ceiling.py TRAIN_DIR TEST_DIR [EPOCHS]
"""

import json
import sys
import time

import numpy as np
import torch
from PIL import Image
from sklearn.metrics import f1_score
from torch import nn


def b3_conversations(root):
    """Every B3 conversation in root/train.json: (image path, YES (1) / NO (0))."""
    found = []
    with open(f"{root}/train.json", encoding="utf-8") as f:
        conversations = json.load(f)
    for conv in conversations:
        question = conv["conversations"][0]["value"]
        answer = conv["conversations"][1]["value"].strip().upper()
        if answer in ("YES", "NO") and "radio galaxy" in question and "artefact" not in question:
            found.append((f"{root}/{conv['image']}", int(answer == "YES")))
    if not found:
        sys.exit(f"{root}/train.json: no B3 conversations")
    return found


def b3_images(root):
    """The grey images and answers of every B3 conversation in root/train.json."""
    found = b3_conversations(root)
    pixels = np.stack([np.asarray(Image.open(p).convert("L"), dtype=np.float32) / 255.0 for p, _ in found])
    return torch.tensor(pixels)[:, None], torch.tensor([answer for _, answer in found])


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    epochs = int(sys.argv[3]) if len(sys.argv) == 4 else 15
    torch.manual_seed(0)
    torch.set_num_threads(2)
    train_x, train_y = b3_images(sys.argv[1])
    test_x, test_y = b3_images(sys.argv[2])
    print(f"train {len(train_y)} (YES {train_y.float().mean():.3f}), test {len(test_y)}", flush=True)
    model = nn.Sequential(
        nn.Conv2d(1, 16, 5, 2, 2), nn.ReLU(),
        nn.Conv2d(16, 32, 3, 2, 1), nn.ReLU(),
        nn.Conv2d(32, 64, 3, 2, 1), nn.ReLU(),
        nn.Conv2d(64, 64, 3, 2, 1), nn.ReLU(),
        nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(64, 2),
    )
    print("parameters", sum(p.numel() for p in model.parameters()))
    optimiser = torch.optim.Adam(model.parameters(), 1e-3)
    for epoch in range(epochs):
        started = time.time()
        model.train()
        order = torch.randperm(len(train_y))
        for i in range(0, len(order), 32):
            batch = order[i:i + 32]
            # The sky has no preferred orientation: a quarter turn is another sky.
            x = torch.rot90(train_x[batch], int(torch.randint(4, (1,))), (2, 3))
            loss = nn.functional.cross_entropy(model(x), train_y[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        model.eval()
        with torch.no_grad():
            pred = model(test_x).argmax(1)
        false_yes = int(((pred == 1) & (test_y == 0)).sum())
        false_no = int(((pred == 0) & (test_y == 1)).sum())
        f1 = f1_score(test_y, pred, average="macro")
        print(f"epoch {epoch + 1}: B3 F1 (macro) {f1:.3f}, false YES {false_yes}, false NO {false_no}, "
              f"{time.time() - started:.1f} s", flush=True)


if __name__ == "__main__":
    main()
