"""The registry of a run's outputs: every map, table and figure, declared once.

Each kind says its file name pattern, what it holds (dtype, unit, nodata, sign, valid range,
style), the workflow rule that makes it, when it is made (``created_if``: a predicate of
:mod:`sinks.plan`), over which epochs or periods (``each``), the method that owns it and its
citation. The Snakefile's targets and rule outputs (:mod:`sinks.plan`), the writer's tags and
range check (:mod:`sinks.run`, :mod:`sinks.io.rasters`), the conformance test and the README
outputs table (:func:`readme_table`) all read it (InVEST's ``MODEL_SPEC.outputs`` with
``created_if`` plays the same role).
"""

from __future__ import annotations

from dataclasses import dataclass

from sinks.constants import (CLASS_NODATA, FLOAT_NODATA, POOL_NAMES, POOLS, SINK_SIGN, STOCK_SIGN,
                             UNCERTAINTY_STATS)

STOCK_CITATION = ("IPCC 2006 Guidelines Vol.4 Ch.2 Eq. 2.5 (stock difference); densities: "
                  "see the density table's source column")
LUC_CITATION = ("IPCC 2006 Vol.4 Ch.2 Eq. 2.5 on class look-up stocks (biomass, dead organic "
                "matter), Eq. 2.25 (soils over D years); densities: the density table's source column")
LEGEND_CITATION = "land-cover legend {legend} mapped to sinks ecosystem classes"
GAIN_LOSS_CITATION = ("IPCC 2006 Vol.4 Ch.2 Eq. 2.7-2.16, 2.25; 2019 Refinement Vol.4 Ch.4 "
                      "Tables 4.3, 4.4, 4.9, 4.10")
CH4_CITATION = ("IPCC 2013 Wetlands Supplement Ch.5 (Tier 1 CH4 = area x EF); GWP100 IPCC AR5 WG1 "
                "Ch.8 Table 8.7 (28) or AR6 WG1 Ch.7 Table 7.15 (27.0, non-fossil)")
INDEX_CITATION = "Awesome Spectral Indices (Montero et al. 2023, Sci. Data 10:197) via spyndex"
BIOMASS_CITATION = ("plot-calibrated regression (scikit-learn) with spatial-block cross-validation "
                    "(Roberts et al. 2017, Ecography 40:913) and split-conformal prediction "
                    "intervals (Lei et al. 2018, JASA 113:1094)")
RS_SINK_CITATION = ("IPCC 2006 Vol.4 Ch.2 Eq. 2.5 on biomass-map stocks: AGB x CF (2006 Vol.4 "
                    "Ch.4 Table 4.3) x (1 + R) (2019 Refinement Vol.4 Ch.4 Table 4.4)")
POTENTIAL_CITATION = ("Chapman-Richards growth curve (Richards 1959, J. Exp. Bot. 10:290; Pienaar & "
                      "Turnbull 1973, Forest Sci. 19:2); roots and carbon by IPCC 2006 Vol.4 Ch.2 "
                      "Eq. 2.9-2.10")
INUNDATION_CITATION = ("fraction of observations flooded (water masks) or the given frequency "
                       "raster; open water of natural lakes by the wetland rule (IPCC 2013 "
                       "Wetlands Supplement Ch.1, flooded land)")
FOREST_CITATION = ("forest strata (type, origin, age class by the national inventory rules); biomass "
                   "B = aV + b (Fang et al. 2001, Science 292:2320) x CF (IPCC 2006 Vol.4 Table 4.3)")
UNCERTAINTY_CITATION = ("IPCC 2006 Vol.1 Ch.3 §3.2.3: Approach 1 (Eq. 3.1-3.2) or Approach 2 "
                        "(Monte Carlo) of the run's parameters")


@dataclass(frozen=True)
class OutputSpec:
    """What one output kind is, who makes it and when (see the module docstring)."""

    pattern: str  # file name, fields in braces ({year}, {y0}, {y1}, {scenario}, {name})
    description: str  # band description or one-line content
    rule: str  # the workflow rule (and ``sinks`` command) that writes it
    created_if: str  # predicate name in sinks.plan.PREDICATES
    each: str  # expansion in sinks.plan.INSTANCES: once, epoch, period, ...
    method: str  # owner: a method of sinks.methods.registry, or prepare, summary
    citation: str = ""
    unit: str = ""
    dtype: str = ""  # "" for tables and figures
    nodata: float | int | None = None
    sign: str = ""
    overview_resampling: str = "average"
    how_to_sum: str = ""
    valid_range: tuple[float, float] | None = None  # checked before a map is written
    style: str = ""  # QGIS .qml sidecar: classes, sequential or diverging (sinks.io.styles)
    folder: str = "outputs"  # or "interim"
    about: str = ""  # more for the README table than the description says

    @property
    def is_map(self) -> bool:
        return bool(self.dtype)


def _float_map(pattern, description, rule, created_if, each, method, citation, unit, sign,
               how_to_sum, valid_range, style, **kw) -> OutputSpec:
    return OutputSpec(pattern, description, rule, created_if, each, method, citation, unit,
                      "float32", FLOAT_NODATA, sign, "average", how_to_sum, valid_range, style, **kw)


SUM_C = "sum of value x pixel area in ha = Mg C"
SUM_CO2 = "sum of value x pixel area in ha = Mg CO2 yr-1"
SINK_RANGE = (-10000.0, 10000.0)

OUTPUTS: dict[str, OutputSpec] = {
    "ecosystem": OutputSpec(
        "ecosystem_{year}.tif", "Ecosystem class {year}", "classify_ecosystem", "legend", "epoch",
        "prepare", LEGEND_CITATION, "class", "uint8", CLASS_NODATA, "not applicable", "nearest",
        "count pixels x pixel area per class (see zonal_summary.csv)", (1, 255), "classes",
        about="class names in tags CLASS_<n>, colour table"),
    "carbon_stock": _float_map(
        "carbon_stock_{year}.tif", "Total carbon stock {year} (AGB + BGB + DOM + SOC 0-30 cm)",
        "compute_stock", "always", "epoch", "stock", STOCK_CITATION, "Mg C ha-1",
        STOCK_SIGN, SUM_C, (0.0, 2000.0), "sequential",
        about="with biomass.use_in_stock, AGB and BGB from the biomass map on its pixels"),
    **{f"carbon_{pool}": _float_map(
        f"carbon_{pool}_{{year}}.tif", f"Carbon stock {{year}}: {POOL_NAMES[pool]}",
        "compute_stock", "pool_maps", "epoch", "stock", STOCK_CITATION, "Mg C ha-1",
        STOCK_SIGN, SUM_C, (0.0, 2000.0), "sequential") for pool in POOLS},
    "net_sink": _float_map(
        "net_sink_{y0}_{y1}.tif",
        "Land-use-change component of the carbon stock change {y0}-{y1} (class look-up: "
        "conversions only, no growth of land remaining in its class; not the sink)",
        "compute_sink", "stock_difference", "period", "stock_difference", LUC_CITATION,
        "Mg CO2 ha-1 yr-1", SINK_SIGN, SUM_CO2, SINK_RANGE, "diverging",
        about="soils over D = 20 yr; no soil change to or from open water and bare land"),
    "gain_loss_net": _float_map(
        "gain_loss_net_{y0}_{y1}.tif", "Net carbon sink {y0}-{y1} by gain-loss (removals - emissions)",
        "compute_gain_loss", "gain_loss", "period", "gain_loss", GAIN_LOSS_CITATION,
        "Mg CO2 ha-1 yr-1", SINK_SIGN, SUM_CO2, SINK_RANGE, "diverging",
        about="lake open water nodata (with wetland)"),
    "gross_removals": _float_map(
        "gross_removals_{y0}_{y1}.tif",
        "Gross CO2 removals {y0}-{y1} by gain-loss (growth, biomass and soil gains)",
        "compute_gain_loss", "gain_loss", "period", "gain_loss", GAIN_LOSS_CITATION,
        "Mg CO2 ha-1 yr-1", "removals, >= 0", SUM_CO2, SINK_RANGE, "sequential"),
    "gross_emissions": _float_map(
        "gross_emissions_{y0}_{y1}.tif",
        "Gross CO2 emissions {y0}-{y1} by gain-loss (harvest, conversion and soil losses)",
        "compute_gain_loss", "gain_loss", "period", "gain_loss", GAIN_LOSS_CITATION,
        "Mg CO2 ha-1 yr-1", "emissions, >= 0", SUM_CO2, SINK_RANGE, "sequential"),
    "ch4_emissions_co2e": _float_map(
        "ch4_emissions_co2e_{y0}_{y1}.tif",
        "CH4 of flooded wetland on mineral soil {y0}-{y1} as CO2 equivalents (GWP100)",
        "compute_gain_loss", "wetland_ch4", "period", "gain_loss", CH4_CITATION, "Mg CO2e ha-1 yr-1",
        "negative = emission (source), as the sink maps; 0 = no CH4 term",
        "sum of value x pixel area in ha = Mg CO2e yr-1", (-10000.0, 0.0), "diverging",
        about="lake open water nodata"),
    "inundation_frequency": _float_map(
        "inundation_frequency.tif", "Inundation frequency (fraction of observations flooded)",
        "map_inundation", "wetland", "once", "gain_loss", INUNDATION_CITATION, "fraction",
        "fraction of time flooded, 0-1",
        "do not sum: a fraction (mean over pixels, or x pixel area = flooded area in ha)",
        (0.0, 1.0), "sequential", about="SYNTHETIC in the demo, labelled"),
    **{kind: _float_map(
        kind.replace("agb", "agb_{year}") + ".tif", what, "predict_biomass", "biomass",
        "biomass_year", "biomass_map", BIOMASS_CITATION, "Mg ha-1", "dry matter, >= 0",
        "sum of value x pixel area in ha = Mg dry matter", (0.0, 2000.0), "sequential",
        about="every epoch of biomass.years; SYNTHETIC plots in the demo, labelled")
       for kind, what in (
           ("agb", "Above-ground biomass {year} (plot-calibrated model)"),
           ("agb_low", "Lower bound of the conformal prediction interval of above-ground biomass {year}"),
           ("agb_high", "Upper bound of the conformal prediction interval of above-ground biomass {year}"))},
    "rs_net_sink": _float_map(
        "rs_net_sink_{y0}_{y1}.tif",
        "Remote-sensing forest sink {y0}-{y1}: stock difference of the biomass maps' AGB + BGB carbon "
        "(IPCC 2006 Vol.4 Ch.2 Eq. 2.5), pixels mapped at both ends",
        "compute_rs_sink", "biomass", "biomass_period", "biomass_map", RS_SINK_CITATION,
        "Mg CO2 ha-1 yr-1", SINK_SIGN, SUM_CO2, SINK_RANGE, "diverging"),
    "index": _float_map(
        "index_{name}_{year}.tif",
        "Spectral index {name} {year} from the composited reflectance scenes (Awesome Spectral Indices)",
        "extract_features", "imagery", "index", "biomass_map", INDEX_CITATION, "1", "unitless index",
        "do not sum", (-100.0, 100.0), "sequential", folder="interim"),
    "forest_strata": OutputSpec(
        "forest_strata.tif", "Forest stratum {year} (type/origin/age class; codes in forest_strata_codes.csv)",
        "map_forest_strata", "forest", "once", "forest_inventory", FOREST_CITATION, "class", "uint16",
        CLASS_NODATA, "not applicable", "nearest",
        "count pixels x pixel area per stratum (see forest_strata_summary.csv)", (1, 65535), "classes",
        about="inventory year; from sub-compartments, a strata raster or inventory shares per zone"),
    "forest_volume": _float_map(
        "forest_volume.tif", "Stand volume {year} (sub-compartment volume, else the stratum's yield-curve volume)",
        "map_forest_strata", "forest", "once", "forest_inventory", FOREST_CITATION, "m3 ha-1",
        "volume, >= 0", "sum of value x pixel area in ha = m3", (0.0, 3000.0), "sequential"),
    "forest_biomass_carbon": _float_map(
        "forest_biomass_carbon.tif", "Forest biomass carbon {year} (AGB + BGB from stand volume, Fang BEF)",
        "map_forest_strata", "forest", "once", "forest_inventory", FOREST_CITATION, "Mg C ha-1",
        STOCK_SIGN, SUM_C, (0.0, 2000.0), "sequential"),
    "sink_potential": _float_map(
        "sink_potential_{scenario}_{year}.tif",
        "Sink potential in {year}, scenario {scenario} (growth curve)", "map_potential",
        "potential", "potential", "potential", POTENTIAL_CITATION, "Mg CO2 ha-1 yr-1", SINK_SIGN,
        SUM_CO2, SINK_RANGE, "diverging", about="SCENARIO"),
}

_UNCERTAINTY_MAPS = {  # map -> (rule, created_if)
    "carbon_stock": ("map_stock_uncertainty", "uncertainty_maps"),
    "net_sink": ("map_sink_uncertainty", "stock_difference_uncertainty_maps"),
    "gain_loss_net": ("map_gain_loss_uncertainty", "gain_loss_uncertainty_maps"),
}
for _base, (_rule, _when) in _UNCERTAINTY_MAPS.items():
    _spec = OUTPUTS[_base]
    for _stat, _what in UNCERTAINTY_STATS.items():
        OUTPUTS[f"{_base}_{_stat}"] = _float_map(
            _spec.pattern.replace(".tif", f"_{_stat}.tif"), f"{_what.capitalize()} of: {_spec.description}",
            _rule, _when, _spec.each, _spec.method, UNCERTAINTY_CITATION, _spec.unit,
            "standard deviation, >= 0" if _stat == "sd" else _spec.sign,
            "do not sum: the uncertainty of a total is in zonal_summary.csv (shared parameters "
            "are correlated across pixels)",
            (0.0, 1e4) if _stat == "sd" else (-_spec.valid_range[1], _spec.valid_range[1]),
            "sequential" if _stat == "sd" else _spec.style)


def _product(pattern, description, rule, created_if, each, method, **kw) -> OutputSpec:
    """A table or figure (not a map)."""
    return OutputSpec(pattern, description, rule, created_if, each, method, **kw)


OUTPUTS.update({
    "scenario_changes": _product(
        "scenario_changes_{year}.csv", "pixels changed by each scenario rule", "make_scenario",
        "always", "scenario_epoch", "prepare"),
    "biomass_cv": _product(
        "biomass_cv_{year}.csv", "spatial-block CV per fold (RMSE, bias, R², held-out interval "
        "coverage)", "train_biomass", "biomass", "biomass_train_year", "biomass_map"),
    "biomass_cv_plot": _product(
        "biomass_cv_{year}.png", "predicted vs observed AGB (held-out spatial folds)",
        "train_biomass", "biomass", "biomass_train_year", "biomass_map"),
    "biomass_plots": _product(
        "biomass_plots_{year}.gpkg", "the plots the biomass model was trained on, with their "
        "features and out-of-fold predictions (the zone rows refit the model on them)",
        "train_biomass", "biomass", "biomass_train_year", "biomass_map"),
    "forest_strata_codes": _product(
        "forest_strata_codes.csv", "code, stratum id, Chinese name and the per-hectare volume, "
        "increment, biomass, AGB/BGB carbon and gain of every forest stratum",
        "map_forest_strata", "forest", "once", "forest_inventory"),
    "forest_strata_summary": _product(
        "forest_strata_summary.csv", "per zone and forest stratum (type, origin, age class): area, "
        "volume, biomass carbon, growth and removals of the inventory year",
        "summarize", "forest", "once", "summary"),
    "zonal_summary": _product(
        "zonal_summary.csv", "tidy zone table: every quantity of every method, with uncertainty",
        "summarize", "always", "once", "summary"),
    "land_cover_transitions": _product(
        "land_cover_transitions.csv", "area from each ecosystem class to each, per zone and "
        "period (the diagonal is land remaining in its class)", "summarize", "always", "once",
        "summary", unit="ha"),
    "method_comparison": _product(
        "method_comparison.csv", "each method's net sink per zone and period with its parts "
        "(growth of land remaining in its class, harvest, conversions, soils, CH4) and the gain-loss minus "
        "land-use-change differences part by part; with a remote-sensing sink also biomass_map "
        "and gain_loss_forest", "summarize", "method_comparison", "once", "summary"),
    "inventory_comparison": _product(
        "inventory_comparison.csv", "the run's province forest area, biomass carbon and net sink "
        "beside published inventory figures (sinks/data/inventory_<inventory>.csv): ratio, "
        "within the published range, verdict", "summarize", "inventory", "once", "summary"),
    "time_series": _product(
        "time_series.csv", "per zone, method and epoch: each method's stock path (all ecosystems) "
        "and the class look-up stock of every ecosystem, cumulative_change since the first epoch, "
        "net_sink of the period ending there, with 95 % intervals",
        "summarize", "always", "once", "summary"),
    "time_series_plot": _product(
        "time_series.png", "each method's stock path and its net change per period", "summarize",
        "always", "once", "summary"),
    "time_series_svg": _product(
        "time_series.svg", "the time-series figure as SVG", "summarize", "always", "once", "summary"),
    "uncertainty_attribution": _product(
        "uncertainty_attribution.csv", "variance shares of the density parameters", "summarize",
        "uncertainty", "once", "summary"),
    "uncertainty_attribution_plot": _product(
        "uncertainty_attribution.png", "what drives the uncertainty of the latest stock and sink",
        "summarize", "uncertainty", "once", "summary"),
    "zones_summary": _product(
        "zones_summary.gpkg", "one layer per zone level, figures for all ecosystems as columns",
        "summarize", "always", "once", "summary"),
    "summary_plot": _product(
        "summary.png", "net-sink map of the last period and stock by ecosystem per epoch",
        "summarize", "always", "once", "summary"),
})


def output_name(kind: str, **fields) -> str:
    """File name of an output, e.g. ``output_name("net_sink", y0=2019, y1=2025)``."""
    return OUTPUTS[kind].pattern.format(**fields)


def readme_table() -> str:
    """The README's outputs table, one row per output kind (kept in step by a test)."""
    def shown(pattern, folder):
        name = pattern.replace("{", "<").replace("}", ">")
        return f"`{'interim/' if folder == 'interim' else ''}{name}`"

    lines = ["| file | content | made by (rule, when) | dtype | units | nodata | sign | how to sum |",
             "|---|---|---|---|---|---|---|---|"]
    for spec in OUTPUTS.values():
        content = spec.description.replace("{", "<").replace("}", ">")
        if spec.about:
            content += f" ({spec.about})"
        nodata = "" if spec.nodata is None else f"{spec.nodata:g}"
        lines.append(" | ".join([f"| {shown(spec.pattern, spec.folder)}", content,
                                 f"`{spec.rule}`, {spec.created_if}", spec.dtype, spec.unit,
                                 nodata, spec.sign, spec.how_to_sum]) + " |")
    return "\n".join(lines) + "\n"
