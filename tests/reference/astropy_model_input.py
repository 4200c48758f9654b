"""Reference numbers for tests/fits.rs, computed with astropy + numpy (not used at test time).

Usage:
    RADIOCHAT_FIXTURE_DIR=/tmp/fx cargo test --test fits zscale_and_model_input_match_astropy
    python tests/reference/astropy_model_input.py /tmp/fx/synthetic_sky.fits

Prints the ZScaleInterval limits (contrast 0.25 and 0.1) and the sha256 of radio-llava's
uint8 model input (transform_img with apply_zscale, norm_range (0, 255), to_uint8),
re-implemented here from radio_llava/utils.py so the script needs no torch.
"""
import hashlib
import sys

import numpy as np
from astropy.io import fits
from astropy.visualization import ZScaleInterval


def radio_llava_uint8(data, contrast):
    data = np.array(data)
    cond_nonan = np.isfinite(data)
    data[~cond_nonan] = 0
    data = ZScaleInterval(contrast=contrast)(data)
    data_min, data_max = data.min(), data.max()
    data = (data - data_min) / (data_max - data_min) * (255.0 - 0.0) + 0.0
    return data.astype(np.uint8)


path = sys.argv[1]
data = fits.open(path)[0].data
print("numpy", np.__version__, "dtype", data.dtype, "shape", data.shape)
for contrast in (0.25, 0.1):
    finite = data.copy()
    finite[~np.isfinite(finite)] = 0
    vmin, vmax = ZScaleInterval(contrast=contrast).get_limits(finite)
    levels = radio_llava_uint8(data, contrast)
    print(f"contrast {contrast}: vmin {float(vmin)!r} vmax {float(vmax)!r}")
    print(f"  sha256 {hashlib.sha256(levels.tobytes()).hexdigest()}")
    print(f"  levels[30, 20] {levels[30, 20]} levels[12, 45] {levels[12, 45]} levels[0, 0] {levels[0, 0]}")
