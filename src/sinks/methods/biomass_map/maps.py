"""Biomass-map maps: spectral-index features from imagery, the plot-calibrated AGB model and
its maps, and the remote-sensing sink of two biomass epochs. One function per rule."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import xarray as xr

from sinks.errors import InputDataError
from sinks.io.figures import save_figure
from sinks.io.rasters import write_cogs
from sinks.methods.biomass_map.checks import scene_spec
from sinks.methods.biomass_map.stocks import (biomass_basis, biomass_carbon_factors,
                                              biomass_inputs, biomass_map, label_synthetic)
from sinks.models.stock_difference import net_sink
from sinks.plan import feature_paths
from sinks.rs.biomass_model import fit_biomass_model, load_model, predict_blockwise, save_model
from sinks.rs.imagery import open_scene
from sinks.rs.indices import compute_index
from sinks.rs.plot_table import read_plot_table
from sinks.rs.plots import simulate_plots
from sinks.rs.scene_grid import composite_on_grid
from sinks.run import Run

log = logging.getLogger(__name__)


def extract_features(run: Run, year: int) -> list[Path]:
    """Write interim/index_<NAME>_<year>.tif for every imagery.indices name: the epoch's scenes
    read as reflectance (checked: bands, scale, CRS), each checked to overlap the run grid,
    aligned to it and composited (imagery.composite), then the index computed lazily."""
    cfg, chunks = run.cfg, run.chunks
    img = cfg["imagery"]
    if str(year) not in img["scenes"] or not img["indices"]:
        raise InputDataError(f"{cfg['_source']}: imagery.scenes.{year} or imagery.indices is not "
                             "set; list the scenes of that epoch and the indices to compute")
    grid = run.grid
    scenes, sources = [], []
    for i, sc in enumerate(img["scenes"][str(year)]):
        bands, scale, offset = scene_spec(sc, f"{cfg['_source']}: imagery.scenes.{year}[{i}]")
        scenes.append(open_scene(sc["path"], bands, scale, offset, sc["quality_band"],
                                 sc["keep_values"], chunks))
        sources.append(sc["path"])
    comp = composite_on_grid(scenes, grid, img["composite"], sources, chunks)
    maps = []
    for name in img["indices"]:
        m = run.map("index", compute_index(name, comp).astype("float32"),
                    basis=run.epoch(year).basis,
                    model=f"{img['composite']} composite of {len(scenes)} scene(s); index {name}",
                    inputs=sources, name=name, year=year)
        maps.append(m)
    return write_cogs(maps)


def train_biomass(run: Run) -> list[Path]:
    """Plots (given, or SYNTHETIC from the simulator) -> features at the plots -> model with
    spatial-block CV and conformal intervals; writes the model, the CV table and figure, and
    the plots it was trained on with their features (the rows refit the model on them)."""
    cfg, paths = run.cfg, run.paths
    bio = cfg["biomass"]
    feats, valid, grid = biomass_inputs(run, bio["year"])  # lazy: read a strip or a plot at a time
    first = next(iter(feats.data_vars))
    if bio["plots"] is None:
        plots = simulate_plots(valid, feats[first], bio["simulate_n"], bio["seed"], bio["year"],
                               **bio["simulate_relation"])
        source = plots.attrs["synthetic"]
        log.warning("biomass: %s", source)
    else:
        source = bio["plots"]
        plots = read_plot_table(source, region_crs=grid.crs.to_wkt(), epoch_year=bio["year"],
                                region_bounds=tuple(grid.boundingbox),
                                max_year_gap=bio["max_year_gap"])
    x, y = plots.geometry.x.to_numpy(), plots.geometry.y.to_numpy()
    at_plots = feats.sel(x=xr.DataArray(x), y=xr.DataArray(y), method="nearest").compute()
    table = pd.DataFrame({n: at_plots[n].values for n in feats.data_vars})
    ok = table.notna().all(axis=1).to_numpy()
    model = fit_biomass_model(table[ok], plots["agb"].to_numpy()[ok], x[ok], y[ok],
                              bio["block_size"], bio["model"], bio["alpha"], seed=bio["seed"])
    year = bio["year"]
    paths.outputs.mkdir(parents=True, exist_ok=True)
    written = [save_model(model, paths.biomass_model(year))]
    cv = model.cv.assign(alpha=bio["alpha"], conformal_half_width=model.q, plots=source,
                         synthetic=bio["plots"] is None)
    cv.to_csv(paths.outputs / f"biomass_cv_{year}.csv", index=False)
    used = plots[ok].assign(**{n: table.loc[ok, n].to_numpy() for n in table},
                            predicted_oof=model.oof["predicted"].to_numpy(),
                            cv_fold=model.oof["fold"].to_numpy())
    used.to_file(paths.output("biomass_plots", year=year))
    if not ok.all():
        log.warning("biomass: %d of %d plots have a missing feature and were not used",
                    (~ok).sum(), ok.size)
    _cv_figure(model, year, bio["plots"] is None, paths.outputs / f"biomass_cv_{year}.png")
    log.info("biomass model %d: spatial CV RMSE %.1f Mg/ha, R2 %.2f, held-out coverage of the "
             "%.0f %% interval %.2f", year, *model.cv.set_index("fold").loc["all", ["rmse", "r2"]],
             100 * (1 - bio["alpha"]), model.cv.set_index("fold").loc["all", "coverage"])
    return written


def _cv_figure(model, year: int, synthetic: bool, out: Path) -> None:
    import matplotlib  # heavy, and only this stage draws: imported here, not at start-up
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matplotlib.use("Agg")

    fig, ax = plt.subplots(figsize=(5, 5))
    o = model.oof
    ax.scatter(o.observed, o.predicted, s=8, c=o.fold, cmap="tab10")
    lim = [0, max(o.observed.max(), o.predicted.max()) * 1.05]
    ax.plot(lim, lim, "k-", lw=0.8)
    ax.set_xlabel("observed AGB, Mg/ha" + (" (SYNTHETIC plots)" if synthetic else ""))
    ax.set_ylabel("predicted AGB (held-out spatial fold), Mg/ha")
    a = model.cv.set_index("fold").loc["all"]
    ax.set_title(f"biomass model {year}: RMSE {a.rmse:.1f}, bias {a.bias:.1f}, R² {a.r2:.2f},\n"
                 f"{100 * (1 - model.alpha):.0f} % interval coverage {a.coverage:.2f}", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out)


def predict_biomass(run: Run, year: int | None = None) -> list[Path]:
    """Write agb_<year>.tif and its interval maps (Mg d.m. ha-1), block by block, for an epoch
    of biomass.years (default the training year) with the model trained at biomass.year."""
    cfg, paths = run.cfg, run.paths
    bio = cfg["biomass"]
    year = bio["year"] if year is None else year
    if year not in bio["years"]:
        raise InputDataError(f"{cfg['_source']}: biomass.years {bio['years']} has no {year}; "
                             "add it to map the biomass of that epoch")
    feats, valid, _ = biomass_inputs(run, year)
    model, side = load_model(paths.biomass_model(bio["year"]), list(feats.data_vars))
    out = predict_blockwise(model, side["q"], feats, valid)
    basis = biomass_basis(cfg, [year])
    inputs = [str(p) for p in feature_paths(cfg, paths, year).values()] + [paths.biomass_model(bio["year"])]
    maps = []
    for kind in ("agb", "agb_low", "agb_high"):
        m = run.map(kind, out[kind], basis=basis,
                    model=f"{bio['model']} on {list(feats.data_vars)} trained at {bio['year']}; "
                       f"conformal {100 * (1 - bio['alpha']):.0f} % interval",
                    inputs=inputs, year=year)
        label_synthetic(cfg, m, [year])
        maps.append(m)
    return write_cogs(maps)


def compute_rs_sink(run: Run, y0: int, y1: int) -> Path:
    """Write ``rs_net_sink_<y0>_<y1>.tif``: the remote-sensing forest sink (Mg CO2 ha-1 yr-1,
    + = sink), IPCC 2006 Vol.4 Ch.2 Eq. 2.5 on the biomass carbon of the two maps,
    (AGB₁ (1 + R(AGB₁)) − AGB₀ (1 + R(AGB₀))) × CF / (t₁ − t₀) × 44/12, R by AGB class (2019
    Table 4.4), on pixels mapped at both ends (NaN elsewhere: a pixel mapped at one end only
    would mix a map with a class default)."""
    cfg, paths = run.cfg, run.paths
    years = cfg["biomass"]["years"] if cfg["biomass"]["enabled"] else []
    missing = [y for y in (y0, y1) if y not in years]
    if missing:
        raise InputDataError(f"{cfg['_source']}: rs sink {y0}-{y1}: no biomass map for {missing} "
                             f"(biomass.years = {years}); a biomass-map stock is never differenced "
                             "against a class-default one: add the year to biomass.years")
    grid = run.grid
    a0, a1 = (biomass_map(run, y, grid) for y in (y0, y1))
    f = biomass_carbon_factors(run)
    sink = net_sink(a0 * (f.cf * (1 + f.ratio(a0))), a1 * (f.cf * (1 + f.ratio(a1))), y0, y1)
    basis = biomass_basis(cfg, [y0, y1])
    out = paths.output("rs_net_sink", y0=y0, y1=y1)
    m = run.map("rs_net_sink", sink, basis=basis,
                model=f"stock difference of biomass maps (AGB x CF x (1 + R(AGB)); {f}), "
                   f"one model trained at {cfg['biomass']['year']}",
                inputs=[paths.output("agb", year=y) for y in (y0, y1)], y0=y0, y1=y1)
    label_synthetic(cfg, m, [y0, y1])
    write_cogs([m])
    return out
