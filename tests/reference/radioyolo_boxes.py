"""radio-llava's box answers for radio-YOLO label files, after the rules of SKA-INAF/radio-llava
scripts/create_dataset_from_radioyolo.py: ids 0-4 are ARTEFACT (spurious), COMPACT, EXTENDED,
EXTENDED-MULTISLAND, FLAGGED; each number is round(v, 2); a box is written "[" + str(tuple)[1:-1]
+ "]", boxes joined by ", "; a class without boxes gets its "none" sentence. Lines that are not
five numbers, a known class id and a box within [0, 1] with an area are left out (radiochat's
rule for bad lines, which the reference would fail on).

stdin: a JSON list of label-file texts; stdout: a JSON list, per file, of the answers for
COMPACT, EXTENDED, EXTENDED-MULTISLAND, SPURIOUS, FLAGGED in that order.
"""
import json
import sys

CLASS_OF_ID = {0: "SPURIOUS", 1: "COMPACT", 2: "EXTENDED", 3: "EXTENDED-MULTISLAND", 4: "FLAGGED"}
ORDER = ["COMPACT", "EXTENDED", "EXTENDED-MULTISLAND", "SPURIOUS", "FLAGGED"]
BEFORE = {
    "SPURIOUS": "The image contains imaging artefacts. Their bounding box coordinates are: ",
    "FLAGGED": "The image contains radio sources that are to be flagged as poorly imaged or "
    "significantly overlapping with imaging artefacts. Their bounding box coordinates are: ",
}
NONE = {
    "COMPACT": "The image does not contain compact radio sources.",
    "EXTENDED": "The image does not contain single-island extended radio sources.",
    "EXTENDED-MULTISLAND": "The image does not contain multi-island extended radio sources.",
    "SPURIOUS": "The image does not contain imaging artefacts.",
    "FLAGGED": "The image does not contain radio sources to be flagged.",
}


def read_boxes(text):
    boxes = {name: [] for name in ORDER}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) != 5:
            continue
        try:
            class_id = int(fields[0])
            numbers = [float(f) for f in fields[1:]]
        except ValueError:
            continue
        if class_id not in CLASS_OF_ID:
            continue
        if not all(0.0 <= v <= 1.0 for v in numbers) or numbers[2] == 0 or numbers[3] == 0:
            continue
        boxes[CLASS_OF_ID[class_id]].append(tuple(round(v, 2) for v in numbers))
    return boxes


def answers(text):
    boxes = read_boxes(text)
    out = []
    for name in ORDER:
        listed = ", ".join("[" + str(b)[1:-1] + "]" for b in boxes[name])
        out.append(BEFORE.get(name, "") + listed if listed else NONE[name])
    return out


print(json.dumps([answers(text) for text in json.load(sys.stdin)]))
