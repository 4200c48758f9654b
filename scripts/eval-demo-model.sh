#!/usr/bin/env bash
# Measures the demo model (or the model directory given) on synthetic skies it never saw
# (seed 99; scripts/make-demo-model.sh trains on seeds 7 and 8 and checks on 98): N (300)
# radioimg cutouts with radio galaxies in 40 % and artefacts in 25 % (B1, B3, B4, B5), N RGZ
# (B2) and N MiraBest (B6), all 132 px as radio-llava's, each by `bench run` with radiochat's
# default prompts (radio-llava's questions), invalid answers counted wrong. Prints a table:
# each task's headline metrics beside what always giving the most common answer scores on the
# same gold labels (scikit-learn); then its answers about its own FR-II cutout, and how often
# its description of a held-out MiraBest cutout names the right Fanaroff-Riley type.
# EVAL_WORK=DIR keeps the skies and runs (predictions.jsonl: every answer) there.
# Usage: scripts/eval-demo-model.sh [MODEL_DIR] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
model="${1:-}"
n="${2:-300}"
cargo build --quiet --locked --bin radiochat
radiochat="$CARGO_TARGET_DIR/debug/radiochat"
work="${EVAL_WORK:-$(mktemp -d)}"
[ -n "${EVAL_WORK:-}" ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work"
export RADIOCHAT_DATA="$work/data" RADIOCHAT_CONFIG="$work/config.toml"
named=()
[ -z "$model" ] || named=(--model "$(realpath "$model")")
chosen=("${named[@]}")
[ -n "$model" ] || chosen=(--demo)

"$radiochat" synth --out "$work/radioimg" --n "$n" --seed 99 \
  --balance radio-galaxy=0.4,artefact=0.25 >/dev/null
"$radiochat" synth --out "$work/rgz" --n "$n" --seed 99 --kind rgz >/dev/null
"$radiochat" synth --out "$work/mirabest" --n "$n" --seed 99 --kind mirabest >/dev/null
for pair in B1:radioimg B2:rgz B3:radioimg B4:radioimg B5:radioimg B6:mirabest; do
  task="${pair%%:*}"
  "$radiochat" bench run "$task" "${chosen[@]}" --data "$work/${pair#*:}/dataset.json" \
    --out "$work/runs/$task" --concurrency 2 --json >"$work/runs-$task.json"
done
# Its own FR-II cutout (`ask --demo`): radio-llava's B3 and B6 questions as `bench prompt`
# words them, the chat's suggested first question and a free one, each after radio-llava's
# system prompt as benchmarks send it.
prompt() { "$radiochat" bench prompt "$1" --json | "$RADIOCHAT_PY_VENV/bin/python" -c \
  "import json, sys; print(json.load(sys.stdin)['$2'], end='')"; }
system="$(prompt B3 system)"
describe="Can you describe this radio image?"
for question in "$(prompt B3 text)" "$(prompt B6 text)" "$describe" "What is in this image?"; do
  "$radiochat" ask --demo "${named[@]}" --system "$system" --json "$question"
done >"$work/own-cutout.jsonl"
# The description of every held-out MiraBest cutout: which Fanaroff-Riley type it names
# (item 2's "right tags" over a sky, not one cutout).
"$RADIOCHAT_PY_VENV/bin/python" -c "import json, sys
for item in json.load(open(sys.argv[1]))['data']: print(item['filepaths'][0])" \
  "$work/mirabest/dataset.json" | while read -r image; do
  "$radiochat" ask "${chosen[@]}" --image "$work/mirabest/$image" --system "$system" --json "$describe"
done >"$work/descriptions.jsonl"
"$RADIOCHAT_PY_VENV/bin/python" - "$work" <<'EOF'
import json, sys
from collections import Counter
from sklearn.metrics import accuracy_score, f1_score
from sklearn.preprocessing import MultiLabelBinarizer

work = sys.argv[1]
print("| task | items | F1 (macro) | F1 (weighted) | accuracy | invalid | majority answer: F1 (macro) / F1 (weighted) / accuracy |")
print("|---|---|---|---|---|---|---|")
for task in ["B1", "B2", "B3", "B4", "B5", "B6"]:
    score = json.load(open(f"{work}/runs-{task}.json"))
    m = score["metrics_invalid_as_wrong"]
    truth = [json.loads(line)["truth"] for line in open(f"{work}/runs/{task}/predictions.jsonl")]
    common = list(Counter(tuple(sorted(t)) for t in truth).most_common(1)[0][0])
    if task == "B1":  # multi-label: the most common set of labels, every time
        binarise = MultiLabelBinarizer().fit(truth + [common])
        y, p = binarise.transform(truth), binarise.transform([common] * len(truth))
    else:
        y, p = [t[0] for t in truth], [common[0]] * len(truth)
    base = (f1_score(y, p, average="macro", zero_division=0),
            f1_score(y, p, average="weighted", zero_division=0), accuracy_score(y, p))
    print(f"| {task} | {len(truth)} | {m['f1_macro']:.3f} | {m['f1_weighted']:.3f} | {m['accuracy']:.3f} "
          f"| {score['invalid']} | {base[0]:.3f} / {base[1]:.3f} / {base[2]:.3f} |")
EOF
"$RADIOCHAT_PY_VENV/bin/python" - "$work" <<'EOF'
import json, re, sys
from collections import Counter
work = sys.argv[1]
print()
print("Its own FR-II cutout (demo/fr2-radio-galaxy.fits):")
for name, line in zip(["B3", "B6", "first question", "free question"], open(f"{work}/own-cutout.jsonl")):
    print(f"- {name}: {json.loads(line)['answer'].strip()}")
labels = [item["label"] for item in json.load(open(f"{work}/mirabest/dataset.json"))["data"]]
named = []
for line in open(f"{work}/descriptions.jsonl"):
    types = re.findall(r"Fanaroff-Riley type (II|I)\b", json.loads(line)["answer"])
    named.append(f"FR-{types[0]}" if len(types) == 1 else None)
right = sum(n == label for n, label in zip(named, labels))
neither = named.count(None)
majority = Counter(labels).most_common(1)[0][1]
print()
print(f"Descriptions of the {len(labels)} MiraBest cutouts: the right Fanaroff-Riley type in "
      f"{right} ({right / len(labels):.3f}), the wrong one in {len(labels) - right - neither}, "
      f"none or several in {neither}; always naming the majority class: {majority / len(labels):.3f}")
EOF
