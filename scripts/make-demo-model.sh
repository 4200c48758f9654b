#!/usr/bin/env bash
# Rebuilds demo/model/: the small fine-tuned radio model `radiochat --demo` runs offline (built
# into the binary). A tiny random idefics3 (`radiochat model tiny`) trained whole (`--full`:
# from random weights LoRA's low-rank updates cannot build the language it needs) on radiochat's
# radio Q&A over the synthetic sky: every question of prompts/finetune plus the description.
# CPU only, about 10 minutes on 2 cores.
# Usage: scripts/make-demo-model.sh [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
steps="${1:-2000}"
cargo build --quiet --locked
radiochat="$CARGO_TARGET_DIR/debug/radiochat"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export RADIOCHAT_DATA="$work/data" RADIOCHAT_CONFIG="$work/config.toml"

"$radiochat" model tiny --arch idefics3 --seed 0 "$work/base"
"$radiochat" synth --out "$work/radioimg" --n 600 --seed 7 --size 64 \
  --balance radio-galaxy=0.4,artefact=0.15,border=0.15 >/dev/null
"$radiochat" synth --out "$work/mirabest" --n 150 --seed 7 --size 64 --kind mirabest >/dev/null
"$radiochat" finetune data --from "$work/radioimg/dataset.json" --from "$work/mirabest/dataset.json" \
  --out "$work/ftdata" --tasks B1,B2,B3,B4,border,B5,B6 --describe --single-turn --val 0.05 --seed 0
"$radiochat" finetune run --base "$work/base" --data "$work/ftdata" --out "$work/run" \
  --full --max-steps "$steps" --batch-size 8 --lr 2e-3 --warmup-ratio 0.05 --seed 0 --log-every 100
state() { "$radiochat" finetune status "$work/run" --json | sed -n 's/.*"state": *"\([A-Z]*\)".*/\1/p'; }
while [[ "$(state)" =~ ^(RUNNING|PENDING)$ ]]; do
  sleep 5
done
"$radiochat" finetune status "$work/run"
[ "$(state)" = COMPLETED ]
rm -rf demo/model
mkdir -p demo/model
# The trained weights; every other file as the base has it (training changes no tokenizer).
cp "$work/run/model/model.safetensors" demo/model/
cp "$work/base"/{config.json,generation_config.json,preprocessor_config.json,processor_config.json,tokenizer.json,tokenizer_config.json} demo/model/
cp "$work/run/metrics.jsonl" demo/model/training-metrics.jsonl
du -sh demo/model
