"""Write inundation_synthetic_jiangxi.tif: a SYNTHETIC inundation frequency (fraction of time
flooded, 0-1) on the MCD12C1 0.05 deg grid, for the demo only (no water-mask series of the
Poyang Lake is available offline). Stated rule, from the 2019 IGBP map:

* water (0) with at least 6 of its 8 neighbours water (lake interior): 0.9
* other water (lake shore, exposed in the dry season): 0.6
* wetland (11): 0.5
* land next to water: 0.1; elsewhere 0; nodata (255) -> -1 (nodata)

Run from the repository root: python data/raw/jiangxi/make_synthetic_inundation.py
"""

import numpy as np
import rasterio
from scipy.ndimage import convolve

SRC = "data/raw/jiangxi/mcd12c1_2019_igbp_jiangxi.tif"
OUT = "data/raw/jiangxi/inundation_synthetic_jiangxi.tif"

with rasterio.open(SRC) as src:
    lc = src.read(1)
    profile = src.profile
water = lc == 0
neighbours = convolve(water.astype(int), np.ones((3, 3), int), mode="constant") - water
freq = np.where(water, np.where(neighbours >= 6, 0.9, 0.6), 0.0)
freq = np.where(lc == 11, 0.5, freq)
freq = np.where(~water & (lc != 11) & (neighbours > 0), 0.1, freq)
freq = np.where(lc == 255, -1.0, freq).astype("float32")
profile.update(dtype="float32", nodata=-1.0)
with rasterio.open(OUT, "w", **profile) as dst:
    dst.write(freq, 1)
    dst.update_tags(synthetic="true", rule=__doc__.split("Stated rule, from the 2019 IGBP map:")[1].strip())
    dst.set_band_description(1, "Inundation frequency (SYNTHETIC, demo only)")
