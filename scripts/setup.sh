#!/usr/bin/env bash
# Installs what building and testing radiochat needs on a fresh Debian machine.
# Idempotent: packages already present are not reinstalled.
set -euo pipefail

packages=(build-essential pkg-config make tmux python3-venv slurm-wlm munge
  # scripts/terminal-check: real terminals on a virtual screen, keys, screenshots, OCR.
  xvfb x11-utils xdotool imagemagick xterm kitty fonts-dejavu-core tesseract-ocr)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
command -v cargo >/dev/null || { echo "setup: cargo not found; install Rust from https://rustup.rs" >&2; exit 1; }

# Python, cached outside the clone: scikit-learn for the metric checks, openai (the client), the trainer's
# requirements (torch, transformers, peft, accelerate; about 6 GB, 2 minutes) for fine-tuning
# and the LoRA-merge checks against PEFT. Reinstalled when trainer/requirements.txt changes.
venv="${RADIOCHAT_PY_VENV:-$HOME/.cache/radiochat-py}"
# The official `openai` client talks to `radiochat serve` in tests/serve_openai.rs.
# Pillow and NumPy read the screenshots of scripts/terminal-check.
if ! "$venv/bin/python" -c "import sklearn, openai, PIL, numpy" >/dev/null 2>&1; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check scikit-learn openai pillow numpy
fi
requirements="$(cd "$(dirname "$0")/.." && pwd)/trainer/requirements.txt"
stamp="$venv/.trainer-requirements.sha256"
wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
  echo "$wanted" > "$stamp"
fi

# A one-node SLURM cluster for the fine-tune tests' real sbatch jobs (started again after a reboot).
"$(dirname "$0")/slurm-local.sh"
