"""Where a LLaVA-OneVision model loses B3 (is there a radio galaxy?): in its tower or after it.

Two scores on the same held-out B3 conversations (`finetune data` directories, as
scripts/b3-pixel-ceiling.py reads them):
- the tower: a logistic regression (scikit-learn, standardised) on the image features pooled
  over every tile's patches (mean and max, of the tower's output and of the projector's),
  fitted on TRAIN_DIR's first 3,000 B3 images. What a read-out could get from those features.
- the model itself: at the first answer token, the YES logit minus the NO logit after the
  question (the trainer's own rendering, with radio-llava's system prompt): F1 (macro) at 0,
  as its answer, at the best threshold, and the ROC AUC.
A model whose tower scores well above its answers reads its own features badly; one whose tower
scores as low needs a better tower (docs/demo-model.md).

Usage (the project's venv):
  python scripts/b3-tower-probe.py MODEL_DIR TRAIN_DIR TEST_DIR
"""

import importlib.util
import json
import os
import sys

import numpy as np
import torch
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from transformers import AutoProcessor, LlavaOnevisionForConditionalGeneration

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "trainer"))
from train_lora import Encoder, conversation_messages  # noqa: E402

SYSTEM = "You are an AI assistant specialized in radio astronomical topics."
PROBED = 3000


def sibling(name):
    spec = importlib.util.spec_from_file_location(name.replace("-", "_"), os.path.join(HERE, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pooled_features(model, processor, paths):
    """Per image: the tower's and the projector's outputs, mean- and max-pooled over patches."""
    rows = []
    with torch.no_grad():
        for path in paths:
            pixels = processor.image_processor(Image.open(path).convert("RGB"), return_tensors="pt")
            tower = model.model.vision_tower(pixels["pixel_values"][0]).last_hidden_state
            projected = model.model.multi_modal_projector(tower)
            rows.append(torch.cat([tower.mean((0, 1)), tower.amax((0, 1)),
                                   projected.mean((0, 1)), projected.amax((0, 1))]).numpy())
    return np.stack(rows)


def answer_margins(model, processor, test_dir, paths):
    """YES minus NO logit at the first answer token, for each B3 conversation's question."""
    encoder = Encoder(processor, test_dir, SYSTEM)
    with open(f"{test_dir}/train.json", encoding="utf-8") as f:
        records = {os.path.join(test_dir, r["image"]): r for r in json.load(f)}
    yes, no = (processor.tokenizer(word)["input_ids"][0] for word in ("YES", "NO"))
    margins = []
    with torch.no_grad():
        for path in paths:
            record = records[path]
            question = conversation_messages(record)[:1]
            batch = encoder.tokens(encoder.text(encoder.system + question, generation_prompt=True),
                                   encoder.image(record))
            logits = model(**batch).logits[0, -1]
            margins.append(float(logits[yes] - logits[no]))
    return np.array(margins)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    model_dir, train_dir, test_dir = sys.argv[1:]
    torch.set_num_threads(2)
    ceiling = sibling("b3-pixel-ceiling")
    train = ceiling.b3_conversations(train_dir)[:PROBED]
    test = ceiling.b3_conversations(test_dir)
    train_y = np.array([a for _, a in train])
    test_y = np.array([a for _, a in test])
    processor = AutoProcessor.from_pretrained(model_dir)
    model = LlavaOnevisionForConditionalGeneration.from_pretrained(model_dir).eval()
    train_x = pooled_features(model, processor, [p for p, _ in train])
    test_x = pooled_features(model, processor, [p for p, _ in test])
    print(f"{model_dir}: B3 on {len(test)} held-out images (YES {test_y.mean():.3f})")
    for c in (0.1, 1.0):
        probe = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000)).fit(train_x, train_y)
        guess = probe.predict(test_x)
        print(f"tower probe (C {c}): F1 (macro) {f1_score(test_y, guess, average='macro'):.3f}, "
              f"false YES {int(((guess == 1) & (test_y == 0)).sum())}, "
              f"false NO {int(((guess == 0) & (test_y == 1)).sum())}")
    margins = answer_margins(model, processor, test_dir, [p for p, _ in test])
    best_f1, best_at = max((f1_score(test_y, margins > t, average="macro"), t) for t in np.unique(margins))
    print(f"its answer: F1 (macro) {f1_score(test_y, margins > 0, average='macro'):.3f}; "
          f"at the best threshold ({best_at:.2f}) {best_f1:.3f}; ROC AUC {roc_auc_score(test_y, margins):.3f}")


if __name__ == "__main__":
    main()
