"""The registry of output maps: file name pattern, dtype, units, nodata, sign, overviews.

One place for what every output means; the writer, the conformance test and the README's outputs
table all read it (InVEST's ``MODEL_SPEC.outputs`` plays the same role).
"""

from __future__ import annotations

from dataclasses import dataclass

SINK_SIGN = ("positive = net removal of CO2 from the atmosphere (carbon sink); "
             "negative = net emission (source)")
STOCK_SIGN = "stocks are non-negative"
POOLS = ("agb", "bgb", "dead", "soc")
POOL_NAMES = {
    "agb": "above-ground biomass carbon",
    "bgb": "below-ground biomass carbon",
    "dead": "dead organic matter carbon (dead wood + litter)",
    "soc": "soil organic carbon 0-30 cm",
}
FLOAT_NODATA = -9999.0
CLASS_NODATA = 0


@dataclass(frozen=True)
class OutputSpec:
    pattern: str
    dtype: str
    nodata: float | int
    unit: str
    description: str
    sign: str
    overview_resampling: str
    how_to_sum: str
    valid_range: tuple[float, float]
    style: str  # QGIS .qml sidecar: classes, sequential or diverging (sinks.io.styles)


OUTPUTS: dict[str, OutputSpec] = {
    "ecosystem": OutputSpec(
        "ecosystem_{year}.tif", "uint8", CLASS_NODATA, "class",
        "Ecosystem class {year}", "not applicable", "nearest",
        "count pixels x pixel area per class (see zonal_summary.csv)", (1, 255), "classes"),
    "carbon_stock": OutputSpec(
        "carbon_stock_{year}.tif", "float32", FLOAT_NODATA, "Mg C ha-1",
        "Total carbon stock {year} (AGB + BGB + DOM + SOC 0-30 cm)", STOCK_SIGN, "average",
        "sum of value x pixel area in ha = Mg C", (0.0, 2000.0), "sequential"),
    **{f"carbon_{pool}": OutputSpec(
        f"carbon_{pool}_{{year}}.tif", "float32", FLOAT_NODATA, "Mg C ha-1",
        f"Carbon stock {{year}}: {POOL_NAMES[pool]}", STOCK_SIGN, "average",
        "sum of value x pixel area in ha = Mg C", (0.0, 2000.0), "sequential") for pool in POOLS},
    "net_sink": OutputSpec(
        "net_sink_{y0}_{y1}.tif", "float32", FLOAT_NODATA, "Mg CO2 ha-1 yr-1",
        "Net carbon sink {y0}-{y1} by stock difference (IPCC 2006 Vol.4 Ch.2 Eq. 2.5)",
        SINK_SIGN, "average", "sum of value x pixel area in ha = Mg CO2 yr-1", (-10000.0, 10000.0),
        "diverging"),
}


GAIN_LOSS_CITATION = "IPCC 2006 Vol.4 Ch.2 Eq. 2.7-2.16, 2.25; 2019 Refinement Vol.4 Ch.4 Tables 4.3, 4.4, 4.9, 4.10"
for _kind, _what, _sign in (
        ("gain_loss_net", "Net carbon sink {y0}-{y1} by gain-loss (removals - emissions)", SINK_SIGN),
        ("gross_removals", "Gross CO2 removals {y0}-{y1} by gain-loss (growth, biomass and soil gains)",
         "removals, >= 0"),
        ("gross_emissions", "Gross CO2 emissions {y0}-{y1} by gain-loss (harvest, conversion and soil losses)",
         "emissions, >= 0")):
    OUTPUTS[_kind] = OutputSpec(
        f"{_kind}_{{y0}}_{{y1}}.tif", "float32", FLOAT_NODATA, "Mg CO2 ha-1 yr-1", _what, _sign,
        "average", "sum of value x pixel area in ha = Mg CO2 yr-1", (-10000.0, 10000.0),
        "diverging" if _kind == "gain_loss_net" else "sequential")

for _kind, _what in (("agb", "Above-ground biomass {year} (plot-calibrated model)"),
                     ("agb_low", "Lower bound of the conformal prediction interval of above-ground biomass {year}"),
                     ("agb_high", "Upper bound of the conformal prediction interval of above-ground biomass {year}")):
    OUTPUTS[_kind] = OutputSpec(
        _kind.replace("agb", "agb_{year}") + ".tif", "float32", FLOAT_NODATA, "Mg ha-1", _what,
        "dry matter, >= 0", "average", "sum of value x pixel area in ha = Mg dry matter",
        (0.0, 2000.0), "sequential")

OUTPUTS["rs_net_sink"] = OutputSpec(
    "rs_net_sink_{y0}_{y1}.tif", "float32", FLOAT_NODATA, "Mg CO2 ha-1 yr-1",
    "Remote-sensing forest sink {y0}-{y1}: stock difference of the biomass maps' AGB + BGB carbon "
    "(IPCC 2006 Vol.4 Ch.2 Eq. 2.5), pixels mapped at both ends", SINK_SIGN, "average",
    "sum of value x pixel area in ha = Mg CO2 yr-1", (-10000.0, 10000.0), "diverging")

OUTPUTS["index"] = OutputSpec(
    "index_{name}_{year}.tif", "float32", FLOAT_NODATA, "1",
    "Spectral index {name} {year} from the composited reflectance scenes (Awesome Spectral Indices)",
    "unitless index", "average", "do not sum", (-100.0, 100.0), "sequential")

OUTPUTS["sink_potential"] = OutputSpec(
    "sink_potential_{scenario}_{year}.tif", "float32", FLOAT_NODATA, "Mg CO2 ha-1 yr-1",
    "Sink potential in {year}, scenario {scenario} (growth curve)", SINK_SIGN, "average",
    "sum of value x pixel area in ha = Mg CO2 yr-1", (-10000.0, 10000.0), "diverging")

OUTPUTS["inundation_frequency"] = OutputSpec(
    "inundation_frequency.tif", "float32", FLOAT_NODATA, "fraction",
    "Inundation frequency (fraction of observations flooded)", "fraction of time flooded, 0-1",
    "average", "do not sum: a fraction (mean over pixels, or x pixel area = flooded area in ha)",
    (0.0, 1.0), "sequential")
OUTPUTS["ch4_emissions_co2e"] = OutputSpec(
    "ch4_emissions_co2e_{y0}_{y1}.tif", "float32", FLOAT_NODATA, "Mg CO2e ha-1 yr-1",
    "CH4 of flooded wetland on mineral soil {y0}-{y1} as CO2 equivalents (GWP100)",
    "negative = emission (source), as the sink maps; 0 = no CH4 term", "average",
    "sum of value x pixel area in ha = Mg CO2e yr-1", (-10000.0, 0.0), "diverging")

UNCERTAINTY_STATS = {"sd": "standard deviation", "p2_5": "2.5th percentile",
                     "p97_5": "97.5th percentile"}
for _base in ("carbon_stock", "net_sink", "gain_loss_net"):
    _spec = OUTPUTS[_base]
    for _stat, _what in UNCERTAINTY_STATS.items():
        OUTPUTS[f"{_base}_{_stat}"] = OutputSpec(
            _spec.pattern.replace(".tif", f"_{_stat}.tif"), "float32", FLOAT_NODATA, _spec.unit,
            f"{_what.capitalize()} of: {_spec.description}",
            "standard deviation, >= 0" if _stat == "sd" else _spec.sign, "average",
            "do not sum: the uncertainty of a total is in zonal_summary.csv (shared parameters "
            "are correlated across pixels)",
            (0.0, 1e4) if _stat == "sd" else _spec.valid_range,
            "sequential" if _stat == "sd" else _spec.style)


def output_name(kind: str, **fields) -> str:
    """File name of an output, e.g. ``output_name("net_sink", y0=2019, y1=2025)``."""
    return OUTPUTS[kind].pattern.format(**fields)
