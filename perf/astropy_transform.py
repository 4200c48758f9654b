"""Time astropy + numpy doing radio-llava's FITS read + transform on one file.

Same steps as radiochat's model input (radio_llava/utils.py read_img → transform_img with
apply_zscale, norm_range (0, 255), to_uint8, 3 channels). Prints JSON: median/min/max seconds.
"""
import json
import statistics
import sys
import time

import numpy as np
from astropy.io import fits
from astropy.visualization import ZScaleInterval


def read_and_transform(path):
    data = fits.open(path)[0].data
    if data is None:  # image in an extension
        data = fits.open(path)[1].data
    data = np.array(data)
    cond = np.logical_and(data != 0, np.isfinite(data))
    if data[cond].size == 0:
        raise ValueError("no finite pixels")
    data[~np.isfinite(data)] = 0
    data = ZScaleInterval(contrast=0.25)(data)
    lo, hi = data.min(), data.max()
    data = (data - lo) / (hi - lo) * 255.0 + 0.0
    data = np.stack((data,) * 3, axis=-1).astype(np.uint8)
    return data


path, runs = sys.argv[1], int(sys.argv[2])
times = []
for _ in range(runs):
    start = time.perf_counter()
    read_and_transform(path)
    times.append(time.perf_counter() - start)
print(json.dumps({"median": statistics.median(times), "min": min(times), "max": max(times), "numpy": np.__version__}))
