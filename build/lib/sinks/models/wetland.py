"""Inland wetlands, natural lake open water and CH4 from flooded wetlands.

* Inland wetland mineral soils (IPCC 2013 Wetlands Supplement Ch.5, which points Tier 1 to the
  "wetland soils" SOC_ref of 2006/2019 Vol.4 Ch.2 Table 2.3) are handled by the gain-loss soil
  model with ``soc_ref_wetland``.
* Open water of natural lakes is not managed land: IPCC 2006/2019 Vol.4 Ch.7 covers flooded land
  (reservoirs, ponds, canals) and does not report unmanaged waters, so those pixels are reported
  apart and left out of the managed-land net sink.
* Rule (an ASSUMPTION of sinks, documented in the README): a pixel of the wetland or water class
  flooded at least ``threshold`` of the time (inundation frequency) is open water of a natural
  lake; the other wetland pixels are wetland on mineral soil, which emits CH4 while flooded.
* CH4, Tier 1 emissions = area × EF (2013 Wetlands Supplement Ch.5 Tier 1; equation number not
  read), scaled by the fraction of time flooded, as CO2 equivalents with a GWP100: AR5 28
  (IPCC AR5 WG1 Ch.8 Table 8.7, no climate-carbon feedback) or AR6 27.0 (IPCC AR6 WG1 Ch.7
  Table 7.15, non-fossil CH4).
"""

from __future__ import annotations

GWP_IDS = {"AR5": "gwp100_ch4_ar5", "AR6": "gwp100_ch4_ar6"}  # registry ids


def is_lake(wet_class, inundation, threshold: float):
    """True where a wetland- or water-class pixel is flooded at least ``threshold`` (0-1) of
    the time: open water of a natural lake (NaN inundation = never observed flooded)."""
    return wet_class & (inundation >= threshold)  # NaN compares False


def ch4_co2e(ef_kg_ch4: float, flooded_fraction, gwp: float):
    """CH4 of a flooded wetland as CO2 equivalents, Mg CO2e ha-1 yr-1, negative = source:
    −EF × f × GWP / 1000 (EF kg CH4 ha-1 yr-1 for land flooded all year, f fraction of the
    time flooded, 0-1; kg → Mg)."""
    return -ef_kg_ch4 * flooded_fraction * gwp / 1000.0
