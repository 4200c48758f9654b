"""scikit-learn's numbers for the cases tests/metrics_sklearn.rs writes (stdin JSON → stdout JSON).

Single-label: labels = sorted union of truth and predictions (sklearn's default), zero_division=0.
Multi-label: MultiLabelBinarizer over the task classes in task order; radio-llava's hamming score.
"by_class_id": radio-llava's report with labels = every class of the task in class-id order
(zero-support classes included), confusion matrices raw and normalize="true", per-class
accuracy on the binarised column, and (multi-label) roc_auc_score(average="micro").
"""
import json
import sys

import numpy as np
from sklearn.metrics import (accuracy_score, confusion_matrix, hamming_loss,
                             multilabel_confusion_matrix, precision_recall_fscore_support,
                             roc_auc_score)
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
    classes = case["classes"]
    ids = report(t, p, classes)
    ids["confusion_matrix"] = [confusion_matrix(t, p, labels=classes).tolist()]
    ids["confusion_matrix_normalized"] = [confusion_matrix(t, p, labels=classes, normalize="true").tolist()]
    tb, pb = np.array(t), np.array(p)
    ids["accuracy_per_class"] = [accuracy_score(tb == c, pb == c) for c in classes]
    ids["roc_auc_micro"] = None
    out["by_class_id"] = ids
    return out


def report(t, p, labels):
    """classification_report's numbers over `labels`, zero_division=0."""
    out = {}
    pc, rc, fc, sc = precision_recall_fscore_support(t, p, labels=labels, average=None, zero_division=0)
    out["per_class"] = [[float(a), float(b), float(c), int(d)] for a, b, c, d in zip(pc, rc, fc, sc)]
    for avg in ("weighted", "macro"):
        a, b, c, _ = precision_recall_fscore_support(t, p, labels=labels, average=avg, zero_division=0)
        out[f"precision_{avg}"], out[f"recall_{avg}"], out[f"f1_{avg}"] = float(a), float(b), float(c)
    return out


def row_normalised(m):
    sums = m.sum(axis=1, keepdims=True)
    return np.nan_to_num(m / np.where(sums == 0, np.nan, sums)).tolist()


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
    ids = report(t, p, list(range(len(classes))))
    mcm = multilabel_confusion_matrix(t, p)
    ids["confusion_matrix"] = mcm.tolist()
    ids["confusion_matrix_normalized"] = [row_normalised(m.astype(float)) for m in mcm]
    ids["accuracy_per_class"] = [accuracy_score(t[:, i], p[:, i]) for i in range(len(classes))]
    try:
        ids["roc_auc_micro"] = float(roc_auc_score(t, p, average="micro"))
    except ValueError:
        ids["roc_auc_micro"] = None
    out["by_class_id"] = ids
    return out


cases = json.load(sys.stdin)
print(json.dumps([multi(c) if c["multi"] else single(c) for c in cases]))
