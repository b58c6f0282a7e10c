"""Energy-community KPIs (Italian CACER rules).

Hand case, steps of 15 min over two clock hours:

    hour 0: building 1 exports 4 kW in the first half hour, building 2 imports 4 kW in the
            second: no shared energy step by step, but hourly E_inj = E_wd = 2 kWh -> 2 kWh
    hour 1: building 1 exports 2 kW, building 2 imports 1 kW: E_inj = 2, E_wd = 1 -> 1 kWh
"""

import numpy as np
import pandas as pd
import pytest

from pedsim.analysis.kpi import (
    Flows,
    KPIInputError,
    kpis_community,
    kpis_to_json_dict,
    shared_energy_hourly,
    tip_eur_mwh,
)

G1 = [4.0, 4.0, 0.0, 0.0, 2.0, 2.0, 2.0, 2.0]
L2 = [0.0, 0.0, 4.0, 4.0, 1.0, 1.0, 1.0, 1.0]


def _flows(index=None):
    load = np.column_stack([np.zeros(8), L2])
    gen = np.column_stack([G1, np.zeros(8)])
    return Flows(
        load_kw=load, generation_kw=gen, dt_h=0.25, index=index, building_ids=["pv", "home"]
    )


def test_tip_formula():
    np.testing.assert_allclose(tip_eur_mwh([100.0, 200.0], 150.0), [120.0, 80.0])
    np.testing.assert_allclose(tip_eur_mwh(150.0, 300.0), 100.0)  # min(110, 70 + 30)
    np.testing.assert_allclose(tip_eur_mwh(50.0, 700.0, "centre"), 104.0)  # 100 cap + 4
    np.testing.assert_allclose(tip_eur_mwh(50.0, 700.0, "Lombardia"), 110.0)
    np.testing.assert_allclose(tip_eur_mwh(50.0, 700.0, "north", pv=False), 100.0)
    np.testing.assert_allclose(tip_eur_mwh(200.0, 200.0, "south"), 80.0)
    with pytest.raises(KPIInputError, match="region"):
        tip_eur_mwh(50.0, 100.0, "atlantis")
    with pytest.raises(KPIInputError, match="plant_size_kw"):
        tip_eur_mwh(50.0, 0.0)


def test_hourly_aggregation_before_minimum():
    hourly = shared_energy_hourly(_flows())
    np.testing.assert_allclose(hourly["e_inj_kwh"], [2.0, 2.0])
    np.testing.assert_allclose(hourly["e_wd_kwh"], [2.0, 1.0])
    np.testing.assert_allclose(hourly["e_shared_kwh"], [2.0, 1.0])
    idx = pd.date_range("2024-06-01 10:00", periods=8, freq="15min", tz="Europe/Rome")
    hourly = shared_energy_hourly(_flows(idx))
    assert list(hourly.index) == list(
        pd.date_range("2024-06-01 10:00", periods=2, freq="h", tz="Europe/Rome")
    )


def test_community_kpis_hand_case():
    pz_hourly = [100.0, 200.0]
    d = kpis_to_json_dict(kpis_community(_flows(), None, pz_hourly, 150.0, "north"))
    v = {k: x["value"] for k, x in d.items()}
    assert all(x["view"] == "P" for x in d.values())
    assert v["e_shared_kwh[P]"] == pytest.approx(3.0)
    assert v["e_injected_kwh[P]"] == pytest.approx(4.0)
    assert v["e_withdrawn_kwh[P]"] == pytest.approx(3.0)
    assert v["shared_over_injected[P]"] == pytest.approx(0.75)
    # TIP: hour 0 min(120, 80 + 80) + 10 = 130, hour 1 80 + 10 = 90 EUR/MWh
    assert v["incentive_tip_eur[P]"] == pytest.approx((2.0 * 130.0 + 1.0 * 90.0) / 1000.0)
    assert v["valorisation_arera_eur[P]"] == pytest.approx(3.0 * 11.22 / 1000.0)
    # (sum g - sum x + E_sh) / sum g = (4 - 4 + 3) / 4; (3 - 3 + 3) / 3
    assert v["scr_community[P]"] == pytest.approx(0.75)
    assert v["ssr_community[P]"] == pytest.approx(1.0)
    # per-step zonal prices are averaged within each hour
    pz_steps = [100.0] * 4 + [200.0] * 4
    d2 = kpis_to_json_dict(kpis_community(_flows(), None, pz_steps, 150.0, "north"))
    assert d2["incentive_tip_eur[P]"]["value"] == pytest.approx(v["incentive_tip_eur[P]"])


def test_members_subset_and_missing_price():
    d = kpis_to_json_dict(kpis_community(_flows(), ["pv"]))
    assert d["e_shared_kwh[P]"]["value"] == 0.0  # no withdrawals among members
    assert d["incentive_tip_eur[P]"]["reason"] == "missing input: zonal_price_eur_mwh"
    assert d["ssr_community[P]"]["reason"] == "zero demand"
    with pytest.raises(KPIInputError, match="members"):
        kpis_community(_flows(), ["nobody"])


def test_steps_longer_than_an_hour_give_nan():
    f = Flows(load_kw=[1.0, 0.0], generation_kw=[0.0, 1.0], dt_h=2.0)
    d = kpis_to_json_dict(kpis_community(f))
    assert d["e_shared_kwh[P]"]["value"] is None
    assert "one hour" in d["e_shared_kwh[P]"]["reason"]
    with pytest.raises(KPIInputError, match="whole number"):
        shared_energy_hourly(Flows(load_kw=[1.0], generation_kw=[0.0], dt_h=0.4))


def test_identity_shared_equals_sum_pod_exports_minus_district_export():
    rng = np.random.default_rng(42)
    n, nb = 200, 6
    load = rng.uniform(0.0, 3.0, (n, nb))
    gen = rng.uniform(0.0, 4.0, (n, nb)) * (rng.uniform(size=(n, nb)) > 0.4)
    f = Flows(load_kw=load, generation_kw=gen, dt_h=1.0)
    e_sh = kpis_to_json_dict(kpis_community(f))["e_shared_kwh[P]"]["value"]
    net = load - gen
    sum_x_b = np.clip(-net, 0.0, None).sum()
    x_d = np.clip(-net.sum(axis=1), 0.0, None).sum()
    assert e_sh == pytest.approx(sum_x_b - x_d, rel=1e-12)
