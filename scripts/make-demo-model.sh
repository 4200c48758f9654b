#!/usr/bin/env bash
# Rebuilds demo/model/: radio-llava-nano, the model `radiochat --demo` runs offline (built into
# the binary). radio-llava's own architecture in miniature (`model tiny --arch llava_onevision
# --dims nano --vocab-from`: SigLIP 96 × 4 on 128-px tiles, Qwen2 128 × 4 with a vocabulary
# learnt from the training conversations, 1.75 M parameters) trained whole — the vision tower
# too (`--modules-to-save vision_tower`: from random weights it must learn to see) — by
# `finetune run` on the synthetic sky, every image seen once per pass (docs/demo-model.md: fresh
# images generalise better than images seen again).
#
# Four phases. FR-I/FR-II is learnt late and by chance (the tower must tell tapered jet ends
# from rounded hotspots), so phase 1 trains B6 and B2 (MiraBest and RGZ outlines) alone at a
# high rate and is checked on 300 held-out MiraBest cutouts; a base whose B6 stayed near chance
# is dropped for the next seed. Phases 2 to 4 are three passes, each in another order, over the
# mix of radio-llava's questions (B1–B4, B6, one conversation per question: `--single-turn`)
# and the rule-based description: the description's one word that depends on the picture (the
# Fanaroff-Riley type) is learnt only in the second pass, and B3 gains most in the third.
# Balanced towards radio galaxies and artefacts so B3 and B4 are not learnt as "always NO".
#
# Same seeds, same data; CPU only. On 2 cores of an Intel Xeon (the trainer's padded batches,
# 25 samples/s) about 55 minutes when the first base passes the check (seed 4 did there: B6
# 0.748), 9 more per base dropped. Which base breaks through is chance, and the rounding of
# another CPU can change it; the vocabulary is learnt from the mix, so changing the mix changes
# every base (docs/demo-model.md). scripts/eval-demo-model.sh measures the result on skies it
# never saw.
# Usage: scripts/make-demo-model.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
cargo build --quiet --locked --bin radiochat
radiochat="$CARGO_TARGET_DIR/debug/radiochat"
work="${DEMO_WORK:-$(mktemp -d)}"
[ -n "${DEMO_WORK:-}" ] || trap 'rm -rf "$work"' EXIT
export RADIOCHAT_DATA="$work/data" RADIOCHAT_CONFIG="$work/config.toml"
python="$RADIOCHAT_PY_VENV/bin/python"

"$radiochat" synth --out "$work/radioimg" --n 6000 --seed 7 \
  --balance radio-galaxy=0.4,artefact=0.25 >/dev/null
"$radiochat" synth --out "$work/mirabest" --n 6000 --seed 7 --kind mirabest >/dev/null
"$radiochat" synth --out "$work/rgz" --n 2000 --seed 7 --kind rgz >/dev/null
"$radiochat" finetune data --from "$work/radioimg/dataset.json" --from "$work/mirabest/dataset.json" \
  --from "$work/rgz/dataset.json" --out "$work/mix" --tasks B1,B2,B3,B4,B6 --describe \
  --single-turn --val 0.01 --seed 0
"$radiochat" synth --out "$work/outlines-mirabest" --n 9000 --seed 8 --kind mirabest >/dev/null
"$radiochat" synth --out "$work/outlines-rgz" --n 3000 --seed 8 --kind rgz >/dev/null
"$radiochat" finetune data --from "$work/outlines-mirabest/dataset.json" \
  --from "$work/outlines-rgz/dataset.json" --out "$work/outlines" --tasks B2,B6 --single-turn \
  --val 0.01 --seed 0
"$radiochat" synth --out "$work/check" --n 300 --seed 98 --kind mirabest >/dev/null

state() { "$radiochat" finetune status "$1" --json | sed -n 's/.*"state": *"\([A-Z]*\)".*/\1/p'; }
# finetune run DIR BASE DATA FLAGS…, waiting for it to complete.
train() {
  local dir="$1" base="$2" data="$3"
  shift 3
  "$radiochat" finetune run --base "$base" --data "$data" --out "$dir" --full \
    --modules-to-save vision_tower --batch-size 8 --log-every 100 "$@"
  while [[ "$(state "$dir")" =~ ^(RUNNING|PENDING)$ ]]; do
    sleep 10
  done
  "$radiochat" finetune status "$dir"
  [ "$(state "$dir")" = COMPLETED ]
}

outlines=""
for seed in 4 2 3 5; do
  "$radiochat" model tiny --arch llava_onevision --dims nano --seed "$seed" \
    --vocab-from "$work/mix/train.json" "$work/base-$seed"
  train "$work/outlines-$seed" "$work/base-$seed" "$work/outlines" --max-steps 1500 --lr 1e-3 \
    --vision-lr 3e-4 --scheduler constant --seed 0
  "$radiochat" bench run B6 --model "$work/outlines-$seed/model" --data "$work/check/dataset.json" \
    --out "$work/check-$seed" --concurrency 2 --json >"$work/check-$seed.json"
  f1=$("$python" -c "import json, sys
print(json.load(open(sys.argv[1]))['metrics_invalid_as_wrong']['f1_macro'])" "$work/check-$seed.json")
  echo "phase 1 from base seed $seed: B6 F1 (macro) $f1 on 300 held-out MiraBest cutouts"
  if "$python" -c "import sys; sys.exit(float(sys.argv[1]) < 0.7)" "$f1"; then
    outlines="$seed"
    break
  fi
done
[ -n "$outlines" ] || { echo "make-demo-model: no base learnt FR-I/FR-II in phase 1" >&2; exit 1; }
train "$work/first-pass" "$work/outlines-$outlines/model" "$work/mix" --max-steps 3500 --lr 3e-4 \
  --warmup-ratio 0.03 --seed 0
train "$work/second-pass" "$work/first-pass/model" "$work/mix" --max-steps 2500 --lr 3e-4 \
  --warmup-ratio 0.03 --seed 1
train "$work/third-pass" "$work/second-pass/model" "$work/mix" --max-steps 2500 --lr 3e-4 \
  --warmup-ratio 0.03 --seed 2

rm -rf demo/model
mkdir -p demo/model
# The trained weights; every other file as the base has it (training changes no tokenizer).
cp "$work/third-pass/model/model.safetensors" demo/model/
cp "$work/base-$outlines"/{config.json,generation_config.json,processor_config.json,tokenizer.json,tokenizer_config.json} demo/model/
# The four runs' metrics, each line marked with its phase.
phase=0
for run in "outlines-$outlines" first-pass second-pass third-pass; do
  phase=$((phase + 1))
  sed "s/^{/{\"phase\": $phase, /" "$work/$run/metrics.jsonl"
done >demo/model/training-metrics.jsonl
du -sh demo/model
