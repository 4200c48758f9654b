"""Tensor names and shapes of a model directory's safetensors files, read from their headers
(shared by the layout checks)."""
from pathlib import Path

from safetensors import safe_open


def shapes(directory):
    found = {}
    for path in sorted(Path(directory).glob("*.safetensors")):
        with safe_open(str(path), "pt") as f:
            for name in f.keys():
                found[name] = list(f.get_slice(name).get_shape())
    return found
