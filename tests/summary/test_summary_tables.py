"""Summary tables (sinks.summary.tables): the zones GeoPackage of a run without zone layers."""

from __future__ import annotations

import pytest


def test_run_without_zones_writes_a_region_layer(tmp_path, chdir):
    # No zone layers: one zone 'region' (the whole grid) in the tables and in the GeoPackage,
    # whose polygon is the grid footprint (4 x 3 px of 30 m = 120 m x 90 m).
    import geopandas as gpd

    from conftest import build_tiny, run_tiny_stages

    root = chdir(build_tiny(tmp_path))
    _, paths, df = run_tiny_stages(root, lambda c: c.pop("zones"))
    gdf = gpd.read_file(paths.output("zones_summary"), layer="region")
    assert list(gdf.zone_id) == ["region"]
    assert gdf.geometry.iloc[0].area == pytest.approx(120 * 90)
    total = df[(df.quantity == "carbon_stock") & (df.ecosystem == "all") & (df.year_start == 2000)
               & (df.method == "stock_difference")].value.iloc[0]
    assert gdf["carbon_stock_MgC_2000"].iloc[0] == pytest.approx(total)
