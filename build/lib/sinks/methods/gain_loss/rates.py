"""Per-hectare rate tables of the gain-loss method, from the run's config and parameter
registry: every class pair (and conversion history) in every stratum, and their Monte Carlo
draws. Functions of the run, the compact classes and a registry (or a batch of registry draws:
the tables then carry a leading draw axis); the maps look them up per pixel, the rows per zone.
"""

from __future__ import annotations

import itertools

import numpy as np

from sinks import config as cfgmod
from sinks.classes import CompactClasses
from sinks.constants import BIOMASS_POOLS, C_TO_CO2, POOLS
from sinks.errors import InputDataError
from sinks.models.gain_loss import (biomass_gain, history_code, perennial_gain, soc_ramp_rate,
                                    soc_stock, transition_rates)
from sinks.models.wetland import GWP_IDS, ch4_co2e
from sinks.parameters import RegistryDraw, registry_draws, value
from sinks.propagation import DRAW_BATCH, registry_seed
from sinks.run import Run
from sinks.forest.rates import removals_per_ha, strata_values
from sinks.forest.tables import all_strata
from sinks.forest.sources import active_strata
from sinks.methods.forest.maps import stratum_areas


GROWTH_STRATA = {  # gain_loss.forest_growth -> (G_W, R) registry ids
    "plantation": ("gw_plantation_subtropical_humid", "root_shoot_plantation"),
    "natural_secondary_le20": ("gw_natural_secondary_le20", "root_shoot_natural"),
    "natural_secondary_gt20": ("gw_natural_secondary_gt20", "root_shoot_natural"),
}
SOIL_REF = {"LAC": "soc_ref_lac", "HAC": "soc_ref_hac", "sandy": "soc_ref_sandy",
            "wetland": "soc_ref_wetland"}  # soil class -> SOC_ref registry id (2019 Table 2.3)
# IPCC climate zones with registry values (2019 Vol.4 Ch.3 Fig. 3A.5.1; parameters.md §1): the
# first is the ids' own zone, the others have the ids of ZONAL_IDS as <id>_<zone>.
CLIMATE_ZONES = ("warm_temperate_moist", "tropical_moist")
ZONAL_IDS = frozenset({*SOIL_REF.values(), "f_lu_paddy", "f_lu_cropland_annual", "f_lu_perennial",
                       "f_lu_set_aside", "f_mg_reduced_tillage", "f_mg_no_till"})
TILLAGE = ("full_tillage", "reduced_tillage", "no_till")  # F_MG levels (2019 Table 5.5)
INPUTS = ("low", "medium", "high_no_manure", "high_manure")  # F_I levels (2019 Table 5.5)
# Stratum layers and their levels. forest_growth comes first, so stratum % n_soil_strata (soil,
# climate, management: the layers that change SOC) indexes the history tables, which forest
# growth does not change.
STRATUM_CLASSES = {"forest_growth": list(GROWTH_STRATA), "soil": list(SOIL_REF),
                   "climate": list(CLIMATE_ZONES), "management": [f"{t}/{i}" for t in TILLAGE for i in INPUTS]}
PERENNIAL = "cropland_perennial"  # perennial woody crops (orchards, tea): biomass accumulates
LAKE = "lake_open_water"  # open water of a natural lake (wetland.enabled): not managed land
NO_SOIL = {"water", "other", LAKE}  # open water (not managed land) and bare land: no soil reported
WET_CLASSES = ("wetland", "water")  # classes the inundation layer can make lake open water
# rate tables of a period: the gross flows and net, and the parts that add up to net
RATE_PARTS = ("net", "removals", "emissions", "net_remaining", "net_harvest", "net_conversion", "net_soil")


def zone_id(pid: str, zone: str) -> str:
    """Registry id of parameter ``pid`` in IPCC climate zone ``zone``: ``<pid>_<zone>`` for the
    zone-specific ids (ZONAL_IDS) outside warm temperate moist, else ``pid`` (one value for
    both zones where the reference gives no tropical value: F_I, full tillage, F = 1)."""
    return f"{pid}_{zone}" if zone != CLIMATE_ZONES[0] and pid in ZONAL_IDS else pid


def ecosystem_soc(cfg: dict, reg, stratum: dict | None = None, classes=None) -> dict[str, float]:
    """Equilibrium mineral-soil stock of each ecosystem class, t C ha-1 (Eq. 2.25), from the
    registry: LAC SOC_ref for upland classes (F = 1 for forest, shrub, grassland and, an
    assumption at Tier 1, settlements: key "default"), cropland F_LU x F_MG x F_I (paddy,
    annual upland, perennial/tree crop; 2019 Table 5.5), wetland soils for wetlands (2019
    Table 2.3), in the config's climate zone, tillage and input.

    ``stratum``: levels of the strata rasters (STRATUM_CLASSES; None or absent = the config
    default): ``soil`` sets SOC_ref for every class, ``climate`` the zone of SOC_ref and the F
    factors, ``management`` (``tillage/input``) F_MG and F_I. ``classes``: the ecosystem classes
    needed (None = all); the perennial-crop factor is looked up only if listed (UNCONFIRMED in
    the tropical moist zone)."""
    gl, st = cfg["gain_loss"], stratum or {}
    zone = st.get("climate") or gl["climate_zone"]
    tillage, inputs = st["management"].split("/") if st.get("management") else (gl["tillage"], gl["input"])

    def f(pid):
        return value(reg, zone_id(pid, zone))

    soil = st.get("soil")
    ref = f(SOIL_REF[soil or "LAC"])
    mg, inp = f(f"f_mg_{tillage}"), f(f"f_i_{inputs}")
    paddy = soc_stock(ref, f("f_lu_paddy"), mg, inp)
    upland = soc_stock(ref, f("f_lu_cropland_annual"), mg, inp)
    share = cfg["carbon"]["paddy_share"]
    share = 0.5 if share is None else share
    out = {"wetland": f(SOIL_REF[soil or "wetland"]), "cropland_paddy": paddy,
           "cropland_upland": upland, "cropland": share * paddy + (1 - share) * upland,
           "forest": soc_stock(ref, f("f_forest")),
           "grassland": soc_stock(ref, f("f_grassland")), "default": ref}
    if classes is None or PERENNIAL in classes:
        out[PERENNIAL] = soc_stock(ref, f("f_lu_perennial"), mg, inp)
    return out


def gain_loss_names(run: Run, cc: CompactClasses) -> list:
    """Ecosystem class of each gain-loss class index (None at 0): the compact classes, plus
    ``lake_open_water`` at index K when ``wetland.enabled``."""
    names = _gain_loss_classes(run, cc)
    return names + [LAKE] if run.cfg["wetland"]["enabled"] else names


def forest_growth(run: Run, reg, level: str | None, forest: dict | None = None):
    """Biomass gain and removals of forest land, t C ha-1 yr-1, in a forest stratum: a forest
    inventory stratum (``type/origin/age_class``, sinks.forest.rates; ``forest`` the gains and
    removals of every stratum, :func:`forest_strata_rates`), else an IPCC growth stratum
    (GROWTH_STRATA) with ``gain_loss.wood_removals``. None: ``forest.unstratified`` with forest
    strata (forest that no source covers, such as new forest of a later epoch), else
    ``gain_loss.forest_growth``."""
    if level is None and run.cfg["forest"]["enabled"]:  # forest without a stratum (e.g. new forest)
        level = run.cfg["forest"]["unstratified"]
    if level in GROWTH_STRATA or level is None:
        gw_id, r_id = GROWTH_STRATA[level or run.cfg["gain_loss"]["forest_growth"]]
        gain = biomass_gain(value(reg, gw_id), value(reg, r_id), value(reg, "carbon_fraction"))
        return gain, run.cfg["gain_loss"]["wood_removals"]
    forest = forest_strata_rates(run, reg) if forest is None else forest
    return forest["gain"][level], forest["removals"][level]


def forest_strata_rates(run: Run, reg) -> dict[str, dict]:
    """Gain and removals (t C ha-1 yr-1) of every forest inventory stratum, by stratum id, in
    the registry ``reg`` (a draw: arrays over its draws); removals spread the harvest and
    disturbance statistics over the strata areas of the run region (sinks.forest.rates)."""
    strata = all_strata()
    values = strata_values(reg, strata, active_strata(run.cfg))
    removals = removals_per_ha(reg, strata, stratum_areas(run), values)
    return {"gain": {st.id: v.gain_c for st, v in zip(strata, values)},
            "removals": {st.id: r for st, r in zip(strata, removals)}}


def gain_loss_rates(run: Run, cc: CompactClasses, y0: int, y1: int, reg=None,
                    stratum: dict | None = None) -> dict[str, np.ndarray]:
    """Gain-loss removals, emissions and net (Mg CO2 ha-1 yr-1) of a period [y0, y1]
    (sinks.models.gain_loss) in one stratum ``{layer: level}`` (STRATUM_CLASSES; None or absent
    = the config's region-wide default), with the registry (``reg``: a registry with other
    values, e.g. one Monte Carlo draw).

    Keys ``net``, ``removals``, ``emissions``: (K, K) tables over the pair of gain-loss classes
    (:func:`gain_loss_names`) at y0 and y1; ``history_<key>``: tables over the conversion-history
    codes (sinks.models.gain_loss.history_code) of the SOC still moving after a conversion at an
    earlier epoch (Eq. 2.25, D years)."""
    cfg = run.cfg
    names = gain_loss_names(run, cc)
    reg = run.registry if reg is None else reg
    gain, removals = forest_growth(run, reg, (stratum or {}).get("forest_growth"))
    biomass = class_biomass(run, cc, reg)
    biomass = np.concatenate([biomass, np.zeros(biomass.shape[:-1] + (len(names) - biomass.shape[-1],))],
                             axis=-1)  # lake: none
    by_class = ecosystem_soc(cfg, reg, stratum, names)
    # (K,) per class, or (n, K) for a batch of n draws (RegistryDraw values of shape (n,))
    soc = np.stack(np.broadcast_arrays(0.0, *[by_class.get(n, by_class["default"]) for n in names[1:]]), axis=-1)
    lead = soc.shape[:-1]
    applies = np.array([n is not None and n not in NO_SOIL for n in names])
    d = value(reg, "soc_period_d")
    perennial = np.array([n == PERENNIAL for n in names])
    rate, cycle = ((value(reg, "perennial_agb_rate"), value(reg, "perennial_cycle"))
                   if perennial.any() else (0.0, 0.0))
    new_crop = np.where(perennial, np.asarray(perennial_gain(rate, cycle, y0, y0, y1))[..., None], 0.0)
    rates = transition_rates(np.array([n == "forest" for n in names]), biomass, soc, applies,
                             gain, removals, y1 - y0, d, new_crop)
    k = len(names)
    years = np.array([e.year for e in cfgmod.epochs(cfg)], dtype="float64")
    j, a, b = np.meshgrid(np.arange(years.size), np.arange(k), np.arange(k), indexing="ij")
    converted = (a != b) & (a > 0) & (b > 0)
    over = (None, None, None)  # a draw axis in front of (epoch, class before, class after)
    ramp = np.where(applies[a] & applies[b] & converted,
                    soc_ramp_rate(soc[..., a], soc[..., b], years[j], y0, y1, np.asarray(d)[(...,) + over]), 0.0)
    growth = np.where(perennial[b] & converted,
                      perennial_gain(np.asarray(rate)[(...,) + over], np.asarray(cycle)[(...,) + over],
                                     years[j], y0, y1), 0.0)
    codes = history_code(j, a, b, k).ravel()
    for key, term in (("removals", np.clip(ramp, 0, None) + growth), ("emissions", np.clip(-ramp, 0, None)),
                      ("net_remaining", np.zeros_like(ramp)), ("net_harvest", np.zeros_like(ramp)),
                      ("net_conversion", growth),
                      ("net_soil", ramp)):
        rates[f"history_{key}"] = np.zeros(lead + (years.size * k * k,))
        rates[f"history_{key}"][..., codes] = np.broadcast_to(term, lead + term.shape[-3:]).reshape(lead + (-1,))
    rates["history_net"] = rates["history_removals"] - rates["history_emissions"]
    return {key: v * C_TO_CO2 for key, v in rates.items()}


def class_biomass(run: Run, cc: CompactClasses, reg) -> np.ndarray:
    """Biomass + dead organic matter of each compact class (t C ha-1), the stock a conversion
    loses (Eq. 2.16): the density table's, or in a Monte Carlo draw of the registry the same
    iterations' draws of the density parameters as the stock rows (sinks.density_model), so a
    conversion loss varies with the density it is made of; (K,) or (n, K) for a batch. In a
    perturbed registry that is not a draw (Approach 1 sensitivities) the densities derived
    from registry parameters follow them, the table's own rows are held."""
    table = sum(cc.density[p] for p in BIOMASS_POOLS)
    params = run.density_parameters(cc) if isinstance(reg, RegistryDraw) else None
    if params is None:
        return table
    if reg.rows is not None:
        theta = params.draws(reg.rows.stop, run.cfg["uncertainty"]["seed"])[reg.rows]
        if reg.rows.stop - reg.rows.start == 1 and np.ndim(reg.values.get("carbon_fraction")) == 0:
            theta = theta[0]  # one draw at a time: scalar registry values
    else:
        own, _ = params.model.centre()
        theta = params.model.evaluate(own, reg.values)
    pools = [POOLS.index(p) for p in BIOMASS_POOLS]
    return theta @ params.weights[:, pools, :].sum(axis=1).T


def strata_levels(cfg: dict) -> dict[str, list]:
    """Levels of each stratum layer of the run (STRATUM_CLASSES order; index 0 = None: the
    region-wide default, for pixels outside that layer's raster or without one). The stratum
    index is mixed-radix over the layers, the last fastest: forest × n_soil_strata + the index
    of (soil, climate, management)."""
    st = cfg["gain_loss"]["strata"]
    levels = {kind: [None] + (sorted(set(st[kind]["codes"].values())) if st[kind] else [])
              for kind in STRATUM_CLASSES}
    if cfg["forest"]["enabled"]:  # the forest inventory strata, in the strata map's code order
        levels["forest_growth"] = [None] + [s.id for s in all_strata()]
    return levels


def n_soil_strata(cfg: dict) -> int:
    """Number of (soil, climate, management) strata: those the history tables depend on."""
    return int(np.prod([len(v) for k, v in strata_levels(cfg).items() if k != "forest_growth"]))


def forest_indicators(names: list) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per rate key, where a forest stratum's gain and removals enter the (K, K) pair table
    (sinks.models.gain_loss.transition_rates): (gain indicator, removals indicator with its
    sign). Growth counts on land ending as forest (remaining: ``net_remaining``, converted:
    ``net_conversion``), removals on forest remaining forest (``net_harvest``, emissions)."""
    forest = np.array([n == "forest" for n in names])
    k = forest.size
    ends = np.broadcast_to(forest[None, :], (k, k)).astype("float64")  # ends as forest
    remain = ends * np.eye(k)  # forest remaining forest
    zero = np.zeros((k, k))
    return {"net": (ends, -remain), "removals": (ends, zero), "emissions": (zero, remain),
            "net_remaining": (remain, zero), "net_harvest": (zero, -remain),
            "net_conversion": (ends - remain, zero), "net_soil": (zero, zero)}


def forest_deltas(run: Run, reg) -> tuple[np.ndarray, np.ndarray]:
    """Gain and removals of every forest-growth level (:func:`strata_levels`) minus those of
    the default level (None), Mg CO2 ha-1 yr-1: (F,) arrays, or (n, F) for a batch of draws."""
    levels = strata_levels(run.cfg)["forest_growth"]
    forest = forest_strata_rates(run, reg) if run.cfg["forest"]["enabled"] else None
    g0, r0 = forest_growth(run, reg, None, forest)
    dg, dr = [], []
    for level in levels:
        g, r = (g0, r0) if level is None else forest_growth(run, reg, level, forest)
        dg.append((np.asarray(g) - g0) * C_TO_CO2)
        dr.append((np.asarray(r) - r0) * C_TO_CO2)
    return np.stack(np.broadcast_arrays(*dg), axis=-1), np.stack(np.broadcast_arrays(*dr), axis=-1)


def _soil_combos(cfg: dict) -> list[dict]:
    """Every (soil, climate, management) stratum as {layer: level}, forest growth at its default."""
    levels = {k: v for k, v in strata_levels(cfg).items() if k != "forest_growth"}
    return [{"forest_growth": None, **dict(zip(levels, combo))} for combo in itertools.product(*levels.values())]


def base_rates(run: Run, cc: CompactClasses, y0: int, y1: int, reg=None) -> dict[str, np.ndarray]:
    """:func:`gain_loss_rates` of every (soil, climate, management) stratum at the default
    forest growth: (Q, K, K) pair tables and (Q, codes) history tables (after a draw axis)."""
    per = [gain_loss_rates(run, cc, y0, y1, reg, combo) for combo in _soil_combos(run.cfg)]
    return {key: np.stack([p[key] for p in per], axis=-2 if key.startswith("history") else -3)
            for key in per[0]}


def stratified_rates(run: Run, cc: CompactClasses, y0: int, y1: int, reg=None) -> dict[str, np.ndarray]:
    """:func:`gain_loss_rates` of every stratum, stacked: (S, K, K) pair tables and (S, codes)
    history tables, stratum index as in :func:`strata_levels` (forest-growth level f, soil
    stratum q: f × Q + q). A forest level changes only the forest gain and removals, so each
    table is the default level's plus the level's deltas where they enter (exact:
    :func:`forest_indicators`); the history tables do not depend on it."""
    reg = run.registry if reg is None else reg
    base = base_rates(run, cc, y0, y1, reg)
    dg, dr = forest_deltas(run, reg)
    ind = forest_indicators(gain_loss_names(run, cc))
    lead = dg.shape[:-1]
    f, q = dg.shape[-1], base["net"].shape[-3]
    out = {}
    for key in RATE_PARTS:
        g, h = ind[key]
        full = (base[key][..., None, :, :, :] + dg[..., :, None, None, None] * g
                + dr[..., :, None, None, None] * h)
        out[key] = full.reshape(lead + (f * q,) + full.shape[-2:])
        hist = base[f"history_{key}"]
        out[f"history_{key}"] = np.broadcast_to(hist[..., None, :, :], hist.shape[:-2] + (f,) + hist.shape[-2:]
                                                ).reshape(hist.shape[:-2] + (f * q, hist.shape[-1]))
    return out


def history_keep(run: Run, names: list, year: int) -> np.ndarray:
    """Which conversion-history codes still matter at ``year``: conversions less than D years
    back (soil, Eq. 2.25), or less than the perennial crop cycle back for land converted to
    perennial crops (biomass still accumulating)."""
    cfg = run.cfg
    reg = run.registry
    k = len(names)
    years = np.array([e.year for e in cfgmod.epochs(cfg)], dtype="float64")
    span = np.full(k, value(reg, "soc_period_d"))
    if PERENNIAL in names:
        span[names.index(PERENNIAL)] = max(span[0], value(reg, "perennial_cycle"))
    j, _, b = np.meshgrid(np.arange(years.size), np.arange(k), np.arange(k), indexing="ij")
    keep = (years[j] + span[b] > year).ravel()
    keep[0] = False
    return keep


def _gain_loss_classes(run: Run, cc: CompactClasses) -> list:
    """Ecosystem class of each compact class (None at 0); gain-loss needs a legend."""
    if run.legend is None:
        raise InputDataError("carbon.method gain_loss needs landcover.legend (the ecosystem of "
                             "each code decides forest growth and soil factors)")
    return [None] + [run.legend[int(c)] for c in cc.codes]


def gain_loss_rate_vectors(run: Run, cc: CompactClasses, y0: int, y1: int, reg=None
                           ) -> dict[str, np.ndarray]:
    """The gain-loss rates of a period as flat vectors, the layout of the zone rows'
    coefficients (:func:`rate_layout`): per key of RATE_PARTS the pair tables of the
    (soil, climate, management) strata at the default forest growth, the forest levels' gain
    and removals deltas (:func:`forest_deltas`), then the history tables of those strata; with
    wetland CH4 also ``ch4`` (the CH4 rate of land flooded all year, Mg CO2e ha-1 yr-1) and
    ``net_with_ch4`` (``net`` then ``ch4``). ``reg``: a registry or one of its draws."""
    cfg = run.cfg
    reg = run.registry if reg is None else reg
    base = base_rates(run, cc, y0, y1, reg)
    dg, dr = forest_deltas(run, reg)
    lead = base["net"].shape[:-3]  # () or (n,) for a batch of draws
    dg, dr = np.broadcast_to(dg, lead + dg.shape[-1:]), np.broadcast_to(dr, lead + dr.shape[-1:])
    out = {key: np.concatenate([base[key].reshape(lead + (-1,)), dg, dr,
                                base[f"history_{key}"].reshape(lead + (-1,))], axis=-1)
           for key in RATE_PARTS}
    if cfg["wetland"]["ch4"]:
        out["ch4"] = np.broadcast_to(np.asarray(ch4_rate(run, reg))[..., None], lead + (1,))
        out["net_with_ch4"] = np.concatenate([out["net"], out["ch4"]], axis=-1)
    return out


def rate_layout(cfg: dict, k: int, n_hist: int) -> dict[str, int]:
    """Offsets in :func:`gain_loss_rate_vectors`: pair tables (Q K K), gain deltas (F),
    removals deltas (F), history (Q × n_hist); Q soil strata, F forest-growth levels."""
    q, f = n_soil_strata(cfg), len(strata_levels(cfg)["forest_growth"])
    return {"pairs": 0, "gain": q * k * k, "removals": q * k * k + f, "history": q * k * k + 2 * f,
            "size": q * k * k + 2 * f + q * n_hist, "q": q, "f": f}


def gain_loss_rate_draws(run: Run, cc: CompactClasses, y0: int, y1: int) -> dict[str, np.ndarray]:
    """Monte Carlo draws of :func:`gain_loss_rate_vectors`, (n_draws, size) per key: every
    uncertain, confirmed registry parameter drawn from its distribution
    (:func:`sinks.parameters.registry_draws`, seed :func:`registry_seed`), with the same
    iterations' density draws for the biomass lost on conversion (:func:`class_biomass`). The
    rates of a batch of draws are computed at once (the models broadcast over draws)."""
    cfg = run.cfg
    batches = [gain_loss_rate_vectors(run, cc, y0, y1, d) for d in
               registry_draws(run.registry, cfg["uncertainty"]["n_draws"],
                              registry_seed(cfg), batch=DRAW_BATCH)]
    return {key: np.concatenate([b[key] for b in batches]) for key in batches[0]}


def ch4_rate(run: Run, reg=None):
    """CH4 of a wetland flooded all year, Mg CO2e ha-1 yr-1 (negative = source), from the
    registry's ``wetland.ch4_emission_factor`` and the GWP100 of ``wetland.gwp``."""
    cfg = run.cfg
    reg = run.registry if reg is None else reg
    wet = cfg["wetland"]
    return ch4_co2e(value(reg, wet["ch4_emission_factor"]), 1.0, value(reg, GWP_IDS[wet["gwp"]]))
