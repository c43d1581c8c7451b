"""Constants every layer shares: carbon pools, CO2/C, nodata values, sign words, region level."""

C_TO_CO2 = 44.0 / 12.0  # molecular weight ratio CO2 / C (IPCC 2006 Vol.4 Ch.2)
POOLS = ("agb", "bgb", "dead", "soc")
POOL_NAMES = {
    "agb": "above-ground biomass carbon",
    "bgb": "below-ground biomass carbon",
    "dead": "dead organic matter carbon (dead wood + litter)",
    "soc": "soil organic carbon 0-30 cm",
}
# The pools a biomass map does not replace: they stay class defaults where the map is used.
NON_BIOMASS_POOLS = ("dead", "soc")
BIOMASS_POOLS = ("agb", "bgb", "dead")  # biomass and dead organic matter: what a conversion loses (Eq. 2.16)
FLOAT_NODATA = -9999.0
CLASS_NODATA = 0
SINK_SIGN = ("positive = net removal of CO2 from the atmosphere (carbon sink); "
             "negative = net emission (source)")
STOCK_SIGN = "stocks are non-negative"
REGION_LEVEL = "region"  # the one zone level of a run without zones: the whole grid
UNCERTAINTY_STATS = {"sd": "standard deviation", "p2_5": "2.5th percentile",
                     "p97_5": "97.5th percentile"}
