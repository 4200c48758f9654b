"""Checks a `radiochat finetune data` output (a conversation per image or per question) against
the labels it was built from, independently of radiochat's code: every radio-galaxy answer
against the dataset's label, every box answer against the radio-YOLO label file (boxes written
as radio-llava writes them, Python's str(round(v, 2))), every caption answer against the
caption file, every multiple-choice answer against the item's letter. Used by
scripts/forgetting-proof.sh.

Usage: check_training_data.py FTDATA_DIR PROMPTS_DIR [--radio DATASET.json] [--captions FILE]
                              [--choice DATASET.json]
"""

import argparse
import json
import os
import sys
import tomllib
from collections import Counter

YOLO_CLASSES = ["SPURIOUS", "COMPACT", "EXTENDED", "EXTENDED-MULTISLAND", "FLAGGED"]


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def items_by_name(dataset_path):
    return {item["sname"]: item for item in load(dataset_path)["data"]}


def label_boxes(dataset_path, item):
    """The boxes of each class from the item's radio-YOLO label file."""
    image = item["filepaths"][0]
    name = os.path.splitext(os.path.basename(image))[0]
    labels = os.path.join(os.path.dirname(dataset_path), "labels", name + ".txt")
    boxes = {c: [] for c in YOLO_CLASSES}
    if not os.path.exists(labels):
        return None
    with open(labels, encoding="utf-8") as f:
        for line in f:
            cols = line.split()
            if cols:
                boxes[YOLO_CLASSES[int(cols[0])]].append([float(v) for v in cols[1:5]])
    return boxes


def box_text(boxes):
    return ", ".join("[" + ", ".join(str(round(v, 2)) for v in box) + "]" for box in boxes)


def question_classes(prompts):
    spec = tomllib.load(open(os.path.join(prompts, "boxes.toml"), "rb"))
    by_question = {}
    for entry in spec["class"]:
        for phrasing in entry["phrasings"]:
            by_question[phrasing] = entry
    return by_question


def radio_galaxy_questions(prompts):
    spec = tomllib.load(open(os.path.join(prompts, "radio-galaxy.toml"), "rb"))
    return [p.strip() for p in spec["phrasings"]]


def turns(conversation):
    values = [t["value"] for t in conversation["conversations"]]
    return zip(values[0::2], values[1::2])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("ftdata")
    parser.add_argument("prompts")
    parser.add_argument("--radio")
    parser.add_argument("--captions")
    parser.add_argument("--choice")
    args = parser.parse_args()

    radio = items_by_name(args.radio) if args.radio else {}
    choice = items_by_name(args.choice) if args.choice else {}
    captions = load(args.captions) if args.captions else []
    box_questions = question_classes(args.prompts)
    galaxy_questions = radio_galaxy_questions(args.prompts)
    checked, errors = Counter(), []

    def expect(kind, got, want, where):
        checked[kind] += 1
        if got != want:
            errors.append(f"{where}: {kind} answer {got!r}, the labels say {want!r}")

    conversations = []
    for split in ("train.json", "val.json"):
        path = os.path.join(args.ftdata, split)
        if os.path.exists(path):
            conversations += load(path)
    for conv in conversations:
        cid = conv["id"]
        # One conversation per question (--single-turn) is named `IMAGE#QUESTION`.
        name = cid.split("#")[0]
        if not os.path.exists(os.path.join(args.ftdata, conv["image"])):
            errors.append(f"{cid}: image {conv['image']} missing")
        if cid.startswith("captions#"):
            entry = captions[int(cid.split("#")[1]) - 1]
            for _, answer in turns(conv):
                expect("caption", answer, entry["caption"], cid)
        elif name in choice:
            item = choice[name]
            for question, answer in turns(conv):
                if item["question"] not in question:
                    errors.append(f"{cid}: question {question!r} is not the item's")
                expect("multiple choice", answer, item["label"], cid)
        elif name in radio:
            item = radio[name]
            boxes = label_boxes(args.radio, item)
            for question, answer in turns(conv):
                question = question.removeprefix("<image>\n").strip()
                if question in box_questions:
                    entry = box_questions[question]
                    found = boxes[entry["class"]] if boxes else []
                    want = entry["present"] + box_text(found) if found else entry["absent"]
                    expect("boxes", answer, want, f"{cid} {entry['class']}")
                elif any(question.startswith(q) for q in galaxy_questions):
                    want = "YES" if "RADIO-GALAXY" in item["label"] else "NO"
                    expect("radio galaxy", answer, want, cid)
        else:
            errors.append(f"{cid}: comes from no dataset given")
    for error in errors[:20]:
        print(error, file=sys.stderr)
    summary = ", ".join(f"{kind} {n}" for kind, n in sorted(checked.items()))
    print(f"{args.ftdata}: {len(conversations)} conversations; answers checked: {summary}; "
          f"{len(errors)} wrong")
    sys.exit(1 if errors or not checked else 0)


if __name__ == "__main__":
    main()
