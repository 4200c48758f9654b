"""scikit-learn's numbers for the cases tests/metrics_sklearn.rs writes (stdin JSON → stdout JSON).

Single-label: labels = sorted union of truth and predictions (sklearn's default), zero_division=0.
Multi-label: MultiLabelBinarizer over the task classes in task order; radio-llava's hamming score.
"""
import json
import sys

import numpy as np
from sklearn.metrics import (accuracy_score, confusion_matrix, hamming_loss,
                             multilabel_confusion_matrix, precision_recall_fscore_support)
from sklearn.preprocessing import MultiLabelBinarizer


def averages(y_true, y_pred, out, **kw):
    for avg in ("weighted", "macro", "micro"):
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average=avg, zero_division=0, **kw)
        out[f"precision_{avg}"], out[f"recall_{avg}"], out[f"f1_{avg}"] = float(p), float(r), float(f)


def single(case):
    t, p = case["truth"], case["pred"]
    labels = sorted(set(t) | set(p))
    out = {"accuracy": accuracy_score(t, p), "labels": labels}
    averages(t, p, out)
    pc, rc, fc, sc = precision_recall_fscore_support(t, p, labels=labels, average=None, zero_division=0)
    out["per_class"] = [[float(a), float(b), float(c), int(d)] for a, b, c, d in zip(pc, rc, fc, sc)]
    out["confusion_matrix"] = confusion_matrix(t, p, labels=labels).tolist()
    out["confusion_matrix_normalized"] = confusion_matrix(t, p, labels=labels, normalize="true").tolist()
    return out


def multi(case):
    classes = case["classes"]
    mlb = MultiLabelBinarizer(classes=classes)
    t = mlb.fit_transform(case["truth"])
    p = mlb.transform(case["pred"])
    out = {"accuracy": accuracy_score(t, p), "labels": classes}
    averages(t, p, out)
    pc, rc, fc, sc = precision_recall_fscore_support(t, p, average=None, zero_division=0)
    out["per_class"] = [[float(a), float(b), float(c), int(d)] for a, b, c, d in zip(pc, rc, fc, sc)]
    out["confusion_matrix"] = multilabel_confusion_matrix(t, p).tolist()
    out["hamming_loss"] = float(hamming_loss(t, p))
    inter = np.logical_and(t, p).sum(axis=1)
    union = np.logical_or(t, p).sum(axis=1)
    out["hamming_score"] = float(np.mean(np.where(union == 0, 1.0, inter / np.maximum(union, 1))))
    return out


cases = json.load(sys.stdin)
print(json.dumps([multi(c) if c["multi"] else single(c) for c in cases]))
