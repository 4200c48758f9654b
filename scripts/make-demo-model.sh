#!/usr/bin/env bash
# Rebuilds demo/model/: radio-llava-nano, the model `radiochat --demo` runs offline (built into
# the binary). radio-llava's own architecture in miniature (`model tiny --arch llava_onevision
# --dims nano --vocab-from`: SigLIP 96 × 4 on 128-px tiles, Qwen2 128 × 4 with a vocabulary
# learnt from the training conversations, 1.87 M parameters) trained from random weights on the
# synthetic sky, every conversation seen at most once (docs/demo-model.md: fresh images generalise
# better than images seen again; the tower's pretraining sees its images turned and mirrored).
#
# The mix is every question radiochat trains (`--tasks all`: radio-llava's B1–B6 questions, the
# border question, the free-text anomaly sentence, the five box questions), the rule-based
# description and synth's figure captions, one conversation per question (`--single-turn`). The
# box questions are asked of a fifth of the images (`--box-ratio 0.2`: five per image would be
# 61 % of the mix and starve B3) and the captions are 5 % of it. Balanced towards radio galaxies
# and artefacts so B3 and B4 are not learnt as "always NO".
#
# Two stages of `finetune run`, as a LLaVA is built from a pretrained vision tower. First the
# tower alone (`--stage tower`, trainer/pretrain_tower.py): its patch features, averaged, answer
# every closed question of the mix (B1–B6 and the border question) through one linear head
# each, for 8 epochs over the mix's images with quarter turns and mirror images. Then `finetune
# run --full` trains the projector and the language model on the mix, the tower frozen, 8,000
# steps of 8 (64,000 of its 80,089 conversations). Learning to see through the language model's
# loss alone took three passes and still read B3 worse (docs/demo-model.md).
#
# Same seeds, same data; CPU only. About 41 minutes on 2 cores of an Intel Xeon (the tower 4,
# the pass 35 at 31 samples/s). scripts/eval-demo-model.sh measures the result on skies it never
# saw.
# Usage: scripts/make-demo-model.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
cargo build --quiet --locked --bin radiochat
radiochat="$CARGO_TARGET_DIR/debug/radiochat"
work="${DEMO_WORK:-$(mktemp -d)}"
[ -n "${DEMO_WORK:-}" ] || trap 'rm -rf "$work"' EXIT
export RADIOCHAT_DATA="$work/data" RADIOCHAT_CONFIG="$work/config.toml"

"$radiochat" synth --out "$work/radioimg" --n 6000 --seed 7 \
  --balance radio-galaxy=0.4,artefact=0.25 >/dev/null
"$radiochat" synth --out "$work/mirabest" --n 6000 --seed 7 --kind mirabest >/dev/null
"$radiochat" synth --out "$work/rgz" --n 2000 --seed 7 --kind rgz >/dev/null
"$radiochat" finetune data --from "$work/radioimg/dataset.json" --from "$work/mirabest/dataset.json" \
  --from "$work/rgz/dataset.json" --captions "$work/radioimg/captions.json" \
  --captions "$work/mirabest/captions.json" --captions "$work/rgz/captions.json" --caption-ratio 0.05 \
  --box-ratio 0.2 --out "$work/mix" --tasks all --describe --single-turn --val 0.01 --seed 0
"$radiochat" model tiny --arch llava_onevision --dims nano --seed 4 \
  --vocab-from "$work/mix/train.json" "$work/base"

state() { "$radiochat" finetune status "$1" --json | sed -n 's/.*"state": *"\([A-Z]*\)".*/\1/p'; }
# Waits for the run in $1 to end; fails unless it completed.
finish() {
  while [[ "$(state "$1")" =~ ^(RUNNING|PENDING)$ ]]; do
    sleep 10
  done
  "$radiochat" finetune status "$1"
  [ "$(state "$1")" = COMPLETED ]
}

"$radiochat" finetune run --stage tower --base "$work/base" --data "$work/mix" --out "$work/tower" \
  --epochs 8 --lr 1e-3 --seed 0
finish "$work/tower"
"$radiochat" finetune run --base "$work/tower/model" --data "$work/mix" --out "$work/pass" --full \
  --batch-size 8 --log-every 100 --max-steps 8000 --lr 3e-4 --warmup-ratio 0.03 --seed 0
finish "$work/pass"

rm -rf demo/model
mkdir -p demo/model
# The trained weights; every other file as the base has it (training changes no tokenizer).
cp "$work/pass/model/model.safetensors" demo/model/
cp "$work/base"/{config.json,generation_config.json,processor_config.json,tokenizer.json,tokenizer_config.json} demo/model/
cp "$work/pass/metrics.jsonl" demo/model/training-metrics.jsonl
du -sh demo/model
