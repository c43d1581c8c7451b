"""Spectral indices by name from the Awesome Spectral Indices catalogue (Montero et al. 2023,
Scientific Data 10:197) through the spyndex library, whose catalogue ships in the package (no
download at run time). Band names follow the catalogue: B, G, R, N, S1, S2, ...
"""

from __future__ import annotations

import spyndex
import xarray as xr

from sinks.errors import InputDataError


def compute_index(name: str, bands: xr.Dataset) -> xr.DataArray:
    """One index (e.g. NDVI, EVI, NDWI, MNDWI, NBR) from named reflectance bands, lazily.

    The catalogue's default constants are used (e.g. EVI g 2.5, C1 6, C2 7.5, L 1).
    """
    if name not in spyndex.indices:
        raise InputDataError(f"spectral index {name!r} is not in the Awesome Spectral Indices "
                             "catalogue; see spyndex.indices for names")
    index = spyndex.indices[name]
    params = {}
    for b in index.bands:
        if b in bands:
            params[b] = bands[b]
        elif b in spyndex.constants:
            params[b] = spyndex.constants[b].default
        else:
            raise InputDataError(f"index {name} needs band {b!r} ({index.formula}); the scene "
                                 f"provides {sorted(bands.data_vars)}")
    out = spyndex.computeIndex(name, params=params)
    return out.rename(name)
