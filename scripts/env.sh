# Sourced by the scripts: one persistent target directory outside the clone, shared by
# `cargo test` and `cargo run`, so a fresh clone reuses the (35–50 minute) mistralrs build.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/radiochat-target}"
# The Python environment scripts/setup.sh makes for reference checks (scikit-learn).
export RADIOCHAT_PY_VENV="${RADIOCHAT_PY_VENV:-$HOME/.cache/radiochat-py}"
