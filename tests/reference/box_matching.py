"""Detection counts by numpy, independent of radiochat's code: per image and class, the IoU
matrix of predicted against true boxes (centre x, y, width, height), pairs with IoU >= 0.5
taken greedily by falling IoU (ties: lower prediction index, then lower truth index), each box
once; precision, recall, F1 and mean IoU of the matches per class and over all (counts summed).

stdin: a JSON list of cases, each a list of images {"predicted": [[class, x, y, w, h]…],
"truth": […]}; stdout: per case {"per_class": {class: {...}}, "overall": {...}}.
"""
import json
import sys

import numpy as np


def iou_matrix(a, b):
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    a0, a1 = a[:, None, :2] - a[:, None, 2:] / 2, a[:, None, :2] + a[:, None, 2:] / 2
    b0, b1 = b[None, :, :2] - b[None, :, 2:] / 2, b[None, :, :2] + b[None, :, 2:] / 2
    size = np.clip(np.minimum(a1, b1) - np.maximum(a0, b0), 0, None)
    inter = size[..., 0] * size[..., 1]
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def greedy(m):
    p_idx, t_idx = np.nonzero(m >= 0.5)
    order = sorted(zip(-m[p_idx, t_idx], p_idx, t_idx))
    used_p, used_t, matched = set(), set(), []
    for neg, p, t in order:
        if p not in used_p and t not in used_t:
            used_p.add(p)
            used_t.add(t)
            matched.append(-neg)
    return matched


def scores(tp, fp, fn, iou_sum):
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"true_positives": tp, "false_positives": fp, "false_negatives": fn,
            "precision": precision, "recall": recall, "f1": f1,
            "mean_iou": iou_sum / tp if tp else 0.0}


def case(images):
    sums = {}
    for image in images:
        classes = {b[0] for b in image["predicted"]} | {b[0] for b in image["truth"]}
        for c in classes:
            pred = [b[1:] for b in image["predicted"] if b[0] == c]
            true = [b[1:] for b in image["truth"] if b[0] == c]
            matched = greedy(iou_matrix(pred, true)) if pred and true else []
            s = sums.setdefault(c, [0, 0, 0, 0.0])
            s[0] += len(matched)
            s[1] += len(pred) - len(matched)
            s[2] += len(true) - len(matched)
            s[3] += float(sum(matched))
    total = [sum(s[i] for s in sums.values()) for i in range(4)]
    return {"per_class": {c: scores(*s) for c, s in sums.items()}, "overall": scores(*total)}


print(json.dumps([case(images) for images in json.load(sys.stdin)]))
