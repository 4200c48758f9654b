#!/usr/bin/env bash
# The forgetting proof on the tiny pipeline (CPU): what fine-tuning on radio data gains on the
# radio tasks and what it costs on a general one, for a LoRA and a full fine-tune.
#   1. A general base: the tiny random idefics3 (`model tiny`) trained whole on synthetic shapes
#      multiple choice (G1's items, options in a fixed order), so it has a general skill to lose.
#   2. Radio data from a synthetic sky with boxes and captions: radio galaxy yes/no (B3), the
#      boxes of each source class (L1's questions) and the captions, in radio-llava's conversations
#      (all of an image's questions in one); a second sky held out.
#   3. From the general base: a LoRA run (the recipe of tests/finetune_run.rs) and a --full run.
#   4. `finetune eval --bench B3,L1,G1=held-out shapes` of each: base → fine-tuned, with Δ.
# Every training set is checked against the labels it came from (check_training_data.py).
# About 70 minutes on 2 cores. Tables go to WORKDIR/*.md; README.md quotes them.
# Usage: scripts/forgetting-proof.sh [WORKDIR]   (kept, and finished stages are not rerun)
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
source scripts/env.sh
cargo build --quiet --locked
radiochat="$CARGO_TARGET_DIR/debug/radiochat"
python="${RADIOCHAT_PYTHON:-$HOME/.cache/radiochat-py/bin/python}"
if [ $# -ge 1 ]; then
  work="$1"
  mkdir -p "$work"
else
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
fi
work="$(cd "$work" && pwd)"
export RADIOCHAT_DATA="$work/data" RADIOCHAT_CONFIG="$work/config.toml"
check() { "$python" "$repo/scripts/check_training_data.py" "$1" "$repo/prompts/finetune" "${@:2}"; }
# Same weights on every machine (--deterministic), as the tests train.
train=(--batch-size 8 --lr 2e-3 --warmup-ratio 0.05 --seed 0 --log-every 100 --deterministic --threads 2)
lora=(--lora-rank 64 --lora-alpha 128 --modules-to-save lm_head,modality_projection,vision_model)

state() { "$radiochat" finetune status "$1" --json | sed -n 's/.*"state": *"\([A-Z]*\)".*/\1/p'; }
# Launches a run unless it finished before, and waits for it.
run() {
  local out="$1"
  shift
  [ "$(state "$out" 2>/dev/null)" = COMPLETED ] && return 0
  rm -rf "$out"
  "$radiochat" finetune run --out "$out" "$@"
  while [[ "$(state "$out")" =~ ^(RUNNING|PENDING)$ ]]; do sleep 10; done
  "$radiochat" finetune status "$out"
  [ "$(state "$out")" = COMPLETED ]
}
once() { [ -e "$1" ] || "${@:2}"; }

cd "$work"
once base "$radiochat" model tiny --arch idefics3 --seed 0 base
# Options in one order: matching shuffled option texts is beyond the tiny model (3,000 steps
# left it at chance), reading the picture is not.
shapes=(--kind shapes --fixed-options --size 64)
once shapes "$radiochat" synth --out shapes --n 1500 --seed 1 "${shapes[@]}"
once shapes-test "$radiochat" synth --out shapes-test --n 300 --seed 2 "${shapes[@]}"
sky=(--size 64 --balance radio-galaxy=0.5,extended=0)
once sky "$radiochat" synth --out sky --n 450 --seed 7 "${sky[@]}"
once held-out "$radiochat" synth --out held-out --n 160 --seed 99 "${sky[@]}"

once general-data "$radiochat" finetune data --from shapes/dataset.json --exclude shapes-test/dataset.json \
  --tasks G1 --val 0.05 --seed 0 --out general-data
check general-data --choice shapes/dataset.json
run general --base base --data general-data --full --max-steps 1500 "${train[@]}"

once radio-data "$radiochat" finetune data --from sky/dataset.json --captions sky/captions.json \
  --exclude held-out/dataset.json --tasks B3,boxes --val 0.05 --seed 0 --out radio-data
check radio-data --radio sky/dataset.json --captions sky/captions.json
run lora --base general/model --data radio-data --max-steps 1500 "${train[@]}" "${lora[@]}"
run full --base general/model --data radio-data --full --max-steps 1500 "${train[@]}"

bench=(--bench B3,L1,G1=shapes-test/dataset.json --data held-out/dataset.json --concurrency 2 --md)
"$radiochat" finetune eval general --bench G1=shapes-test/dataset.json --concurrency 2 --md |
  tee general.md
for r in lora full; do
  "$radiochat" finetune eval "$r" "${bench[@]}" | tee "$r.md"
done
