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
    assert gdf["stock_sd_00"].iloc[0] == pytest.approx(total)


def test_zones_gpkg_field_names_are_short_unique_and_in_the_lookup(tmp_path, chdir):
    # Every field of every zone layer is <= FIELD_MAX lowercase ascii characters, unique, and
    # listed in the layer "fields" with a unit; each value field equals its zone-table row.
    import re

    import geopandas as gpd
    import pyogrio

    from conftest import build_tiny, run_tiny_stages
    from sinks.summary.tables import FIELD_MAX

    root = chdir(build_tiny(tmp_path))
    _, paths, df = run_tiny_stages(root)
    path = paths.output("zones_summary")
    assert {n for n, _ in pyogrio.list_layers(path)} == {"township", "fields"}
    gdf = gpd.read_file(path, layer="township")
    lookup = pyogrio.read_dataframe(path, layer="fields")
    lookup = lookup[lookup.level == "township"].set_index("field")
    names = [c for c in gdf.columns if c != "geometry"]
    assert len(names) == len(set(names)) > 3
    for n in names:
        assert len(n) <= FIELD_MAX and re.fullmatch(r"[a-z0-9_]+", n), n
        assert n in lookup.index and lookup.loc[n, "unit"] is not None, n
    f = lookup.loc["sink_luc_0020"]
    assert (f.quantity, f.method, f.year_start, f.year_end, f.unit) == (
        "net_sink", "land_use_change", 2000, 2020, "Mg CO2 yr-1")
    want = df[(df.zone_level == "township") & (df.ecosystem == "all") & (df.quantity == "net_sink")
              & (df.method == "land_use_change")].set_index("zone_id").value
    got = gdf.set_index("zone_id")["sink_luc_0020"]
    assert got.to_numpy() == pytest.approx(want.reindex(got.index).to_numpy())


def test_field_names_of_every_known_quantity_and_method_fit():
    # The longest code pairs with both a period and an interval suffix stay within FIELD_MAX,
    # and no two (quantity, method) pairs share a name.
    from sinks.summary.tables import FIELD_MAX, METHOD_CODES, QUANTITY_CODES, field_name
    from sinks.zone_rows import QUANTITIES

    assert set(QUANTITY_CODES) == set(QUANTITIES)
    names = [field_name(q, m, 2019, 2025, s) for q in QUANTITY_CODES for m in METHOD_CODES
             for s in ("value", "ci_low", "ci_high")]
    assert max(map(len, names)) <= FIELD_MAX
    assert len(set(names)) == len(names)
    assert field_name("net_sink", "gain_loss", 2019, 2025, "ci_low") == "sink_gl_1925_lo"
    assert field_name("carbon_stock", "stock_difference", 2019, 2019, digits=4) == "stock_sd_2019"
