"""Volume -> biomass (sinks.rs.bef): Fang et al.'s B = aV + b by hand (UNCONFIRMED, opt-in)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sinks.errors import InputDataError
from sinks.rs.bef import FANG_BEF, volume_to_biomass


def test_volume_to_biomass_by_hand():
    # Fang et al. B = a V + b. Chinese fir (a 0.3999, b 22.541), V 100 m3/ha:
    #   0.3999 x 100 + 22.541 = 62.531 Mg/ha; Masson pine (a 0.5101, b 1.0451), V 200:
    #   0.5101 x 200 + 1.0451 = 103.0651; with R = 0.25, AGB = 62.531 / 1.25 = 50.0248
    assert set(FANG_BEF["status"]) == {"UNCONFIRMED"}
    b = volume_to_biomass([100, 200], ["chinese_fir", "Pinus_Massoniana"], allow_unconfirmed=True)
    np.testing.assert_allclose(b, [62.531, 103.0651])
    agb = volume_to_biomass([100], ["cunninghamia_lanceolata"], allow_unconfirmed=True, root_shoot=0.25)
    np.testing.assert_allclose(agb, [50.0248])
    with pytest.raises(InputDataError, match="UNCONFIRMED"):
        volume_to_biomass([100], ["chinese_fir"])
    with pytest.raises(InputDataError, match="have no biomass expansion coefficients"):
        volume_to_biomass([100], ["eucalyptus"], allow_unconfirmed=True)
    with pytest.raises(InputDataError, match="impossible stand volume"):
        volume_to_biomass([-3], ["chinese_fir"], allow_unconfirmed=True)
    checked = pd.DataFrame({"a": [0.5], "b": [10.0], "status": ["C1"], "source": ["user"]},
                           index=pd.Index(["chinese_fir"], name="forest_type"))
    np.testing.assert_allclose(volume_to_biomass([100], ["chinese_fir"], table=checked), [60.0])
