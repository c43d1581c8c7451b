"""Write ndvi_max_2025_SYNTHETIC.tif: a SYNTHETIC 2025 epoch of the real NDVI max climatology
(sinks.rs.plots.synthetic_feature_epoch, seed 2025, 6 years of the stated trend), so the demo can
show a remote-sensing sink. Run from the repository root:
    .venv/bin/python data/raw/jiangxi/make_ndvi_2025_synthetic.py
"""

from pathlib import Path

import rasterio

from sinks.rs.plots import SIM_NDVI_NOISE_SD, SIM_NDVI_TREND, synthetic_feature_epoch

HERE = Path(__file__).resolve().parent
SEED, YEARS = 2025, 6


def main() -> None:
    with rasterio.open(HERE / "ndvi_max_jiangxi.tif") as src:
        base, profile = src.read(1), src.profile
    out = synthetic_feature_epoch(base, YEARS, SEED)
    profile.update(compress="deflate")
    with rasterio.open(HERE / "ndvi_max_2025_SYNTHETIC.tif", "w", **profile) as dst:
        dst.write(out, 1)
        dst.set_band_description(1, "NDVI max 2025 (SYNTHETIC: real climatology + stated trend)")
        dst.update_tags(SYNTHETIC="true", basis="synthetic",
                        GENERATOR=f"sinks.rs.plots.synthetic_feature_epoch(seed={SEED}, years={YEARS}, "
                                  f"trend={SIM_NDVI_TREND}/yr, noise_sd={SIM_NDVI_NOISE_SD})",
                        BASE="ndvi_max_jiangxi.tif (BESS NDVI max climatology)")


if __name__ == "__main__":
    main()
