#!/usr/bin/env bash
# radiochat's engine against Hugging Face transformers on the same random-weight model at real
# dimensions (SmolVLM-256M's, unless --model DIR), same image, prompt and token count, plus the
# machine's copy bandwidth and the decode roofline: `radiochat-perf peer`. Needs the Python
# environment scripts/setup.sh makes (torch, transformers). A benchmark, not a test.
# Usage: perf/peer.sh [radiochat-perf peer flags, e.g. --runs 5 --max-tokens 32 --json]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
cargo build --quiet --locked --bins
exec "$CARGO_TARGET_DIR/debug/radiochat-perf" peer "$@"
