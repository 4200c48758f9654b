#!/usr/bin/env bash
# FITS read + radio-llava transform of a 4096×4096 float32 image: radiochat vs astropy + numpy,
# same file, same run. Installs astropy from PyPI into a cached venv on first use.
# Usage: perf/imaging_vs_astropy.sh [RUNS]   (a benchmark, not a test)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
runs="${1:-5}"
venv="${RADIOCHAT_BENCH_VENV:-$HOME/.cache/radiochat-bench-venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import astropy" 2>/dev/null || "$venv/bin/pip" install -q astropy numpy
cargo build --quiet --locked --bins
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
bin="$CARGO_TARGET_DIR/debug/radiochat-perf"
ours=$("$bin" imaging --size 4096 --write "$work/bench.fits" --runs "$runs" --json)
theirs=$("$venv/bin/python" perf/astropy_transform.py "$work/bench.fits" "$runs")
python3 - "$ours" "$theirs" "$runs" <<'PY'
import json, sys
ours, theirs, runs = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
o = ours["total_s"]
print(f"FITS read + radio-llava transform, 4096 × 4096 float32, {runs} runs, median (min–max) s")
print("| implementation | time (s) |")
print("|---|---|")
r, t = ours["read_s"]["median"], ours["transform_s"]["median"]
print(f"| radiochat (read {r:.3f} s + transform {t:.3f} s) | {o['median']:.3f} ({o['min']:.3f}–{o['max']:.3f}) |")
print(f"| astropy + numpy {theirs['numpy']} | {theirs['median']:.3f} ({theirs['min']:.3f}–{theirs['max']:.3f}) |")
print(f"| ratio (astropy / radiochat) | {theirs['median'] / o['median']:.1f}× |")
PY
