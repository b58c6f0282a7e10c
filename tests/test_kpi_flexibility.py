"""Flexibility KPIs, ramping, load factor and flexibility envelopes."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import solve_ivp

from pedsim.analysis.kpi import (
    KPIInputError,
    battery_flexibility_envelope,
    ev_flexibility_envelope,
    heat_pump_flexibility_envelope,
    kpis_flexibility,
    kpis_flexibility_envelope,
    kpis_load_factor,
    kpis_ramping,
    kpis_to_json_dict,
)


def _v(kpis):
    return {k: x["value"] for k, x in kpis_to_json_dict(kpis).items()}


def test_flexibility_factor_and_index():
    # signal median 15: low steps 0, 2 (E_low = 1), high steps 1, 3 (E_high = 5)
    p_flex = [1.0, 3.0, 0.0, 2.0]
    signal = [10.0, 30.0, 5.0, 20.0]
    v = _v(kpis_flexibility(p_flex, [2.0] * 4, signal, 1.0))
    assert v["flexibility_factor[D]"] == pytest.approx(-4.0 / 6.0)
    # sum(lambda p_flex) = 140, sum(lambda p_ref) = 130
    assert v["flexibility_index[D]"] == pytest.approx(1.0 - 140.0 / 130.0)
    v = _v(kpis_flexibility(p_flex, None, signal, 1.0, split=25.0))
    assert v["flexibility_factor[D]"] == pytest.approx((3.0 - 3.0) / 6.0)


def test_flexibility_edge_cases():
    d = kpis_to_json_dict(kpis_flexibility([1.0, 2.0], None, [5.0, 5.0], 1.0))
    assert d["flexibility_factor[D]"]["value"] is None
    assert "constant signal" in d["flexibility_factor[D]"]["reason"]
    assert d["flexibility_index[D]"]["reason"] == "missing input: p_ref_kw"
    d = kpis_to_json_dict(kpis_flexibility([0.0, 0.0], [0.0, 0.0], [1.0, 2.0], 1.0))
    assert d["flexibility_factor[D]"]["reason"] == "zero flexible-asset use"
    assert d["flexibility_index[D]"]["value"] is None


def test_window_kpis():
    p_ref = [1.0] * 6
    p_flex = [1.0, 0.0, 0.0, 1.5, 1.6, 1.0]
    d = kpis_to_json_dict(
        kpis_flexibility(p_flex, p_ref, None, 1.0, windows=[(1, 3)], rebound_h=2.0)
    )
    v = {k: x["value"] for k, x in d.items()}
    assert v["e_shifted_kwh[D]"] == pytest.approx(2.0)
    assert v["e_rebound_kwh[D]"] == pytest.approx(1.1)
    assert v["c_storage_like_kwh[D]"] == pytest.approx(-2.0)
    # eta = 1 - (-1 - 1 + 0.5 + 0.6 + 0) / (-2)
    assert v["eta_storage_like[D]"] == pytest.approx(0.55)
    assert d["e_shifted_kwh[D]"]["period"] == "steps 1-3 (2 h)"


def test_windows_by_timestamp_and_duplicate_keys():
    idx = pd.date_range("2022-01-01", periods=6, freq="h")
    p_ref = pd.Series([1.0] * 6, index=idx)
    p_flex = pd.Series([1.0, 0.0, 0.0, 1.5, 1.6, 1.0], index=idx)
    d = kpis_to_json_dict(
        kpis_flexibility(p_flex, p_ref, windows=[(idx[1], idx[3]), (4, 5)], rebound_h=24.0)
    )
    key1 = "e_shifted_kwh[D|2022-01-01T01:00/2022-01-01T03:00 (2 h)]"
    assert d[key1]["value"] == pytest.approx(2.0)
    key2 = "e_rebound_kwh[D|2022-01-01T04:00/2022-01-01T05:00 (1 h)]"
    assert d[key2]["value"] == 0.0
    assert d[key2]["note"] == "rebound period cut to 1 h"
    with pytest.raises(KPIInputError, match="window"):
        kpis_flexibility(p_flex, p_ref, windows=[(3, 2)])
    assert math.isnan(
        kpis_flexibility([1.0, 1.0], [1.0, 1.0], None, 1.0, windows=[(0, 2)])[-1].value
    )


def test_ramping():
    v = _v(kpis_ramping([1.0, 3.0, 2.0, 2.0, 5.0], 1.0))
    assert v["ramping_abs_kw[D]"] == 6.0
    assert v["ramping_up_kw[D]"] == 5.0
    assert v["ramping_max_kw[D]"] == 3.0
    v = _v(kpis_ramping([2.0, 2.0, 2.0], 1.0))
    assert v == {"ramping_abs_kw[D]": 0.0, "ramping_up_kw[D]": 0.0, "ramping_max_kw[D]": 0.0}
    assert kpis_ramping([2.0], 1.0)[0].reason == "a single step has no ramp"


def test_load_factor():
    idx = pd.date_range("2022-03-01", periods=48, freq="h")
    p = np.ones(48)
    p[23] = 2.0
    d = kpis_to_json_dict(kpis_load_factor(pd.Series(p, index=idx)))
    assert d["lf[D]"]["value"] == pytest.approx(49.0 / 96.0)
    assert d["par[D]"]["value"] == pytest.approx(96.0 / 49.0)
    assert d["lf_daily_mean[D]"]["value"] == pytest.approx((25.0 / 48.0 + 1.0) / 2.0)
    assert d["lf_monthly_mean[D]"]["reason"] == "no complete month"
    # a whole month of constant power: load factor 1; without index no months
    idx = pd.date_range("2022-02-01", periods=28 * 24, freq="h")
    v = _v(kpis_load_factor(pd.Series(3.0, index=idx)))
    assert v["lf_monthly_mean[D]"] == 1.0
    assert v["lf[D]"] == 1.0
    d = kpis_to_json_dict(kpis_load_factor(np.full(48, 2.0), 1.0))
    assert d["lf_daily_mean[D]"]["value"] == 1.0
    assert d["lf_monthly_mean[D]"]["value"] is None
    d = kpis_to_json_dict(kpis_load_factor([-1.0, 0.0], 1.0))
    assert d["lf[D]"]["reason"] == "no positive peak power"


def test_battery_envelope():
    kw = {
        "capacity_kwh": 10.0,
        "p_ch_max_kw": 5.0,
        "p_dis_max_kw": 5.0,
        "dt_h": 1.0,
        "soc_min": 0.1,
        "soc_max": 0.9,
        "eta_ch": 0.9,
        "eta_dis": 0.9,
    }
    up, down = battery_flexibility_envelope(0.5, 1.0, **kw)
    assert up == pytest.approx(0.4 * 10.0 / 0.9 - 1.0)
    assert down == pytest.approx(1.0 + 0.4 * 10.0 * 0.9)
    up, down = battery_flexibility_envelope(0.5, 1.0, tau_h=2.0, **kw)
    assert up == pytest.approx(0.4 * 10.0 / 1.8 - 1.0)
    assert down == pytest.approx(2.8)
    up, down = battery_flexibility_envelope(np.array([0.9, 0.1]), np.array([0.0, -6.0]), **kw)
    # full battery: no up; empty battery discharging at 6 kW: up 5 + 6, down -6 -> clipped 0
    np.testing.assert_allclose(up, [0.0, 11.0])
    np.testing.assert_allclose(down, [5.0, 0.0])
    _, down = battery_flexibility_envelope(0.1, -6.0, clip=False, **kw)
    assert down == pytest.approx(-6.0)


def test_ev_envelope():
    kw = {"capacity_kwh": 40.0, "p_ch_max_kw": 10.0, "dt_h": 1.0, "soc_departure": 0.8}
    up, down = ev_flexibility_envelope(0.5, 5.0, plugged=True, t_to_departure_h=3.0, **kw)
    assert up == pytest.approx(5.0)  # min(10, 0.5 * 40) - 5
    assert down == pytest.approx(5.0)  # floor 0.3 < soc: charging can stop
    up, down = ev_flexibility_envelope(0.5, 5.0, plugged=True, t_to_departure_h=1.5, **kw)
    assert down == 0.0  # floor 0.675 > soc: no reduction possible
    up, down = ev_flexibility_envelope(0.5, 5.0, plugged=False, t_to_departure_h=3.0, **kw)
    assert (up, down) == (0.0, 0.0)


def test_heat_pump_envelope_against_ode():
    ua, c, cop, t0, t_out = 0.2, 10.0, 3.0, 21.0, 1.0
    hp = {
        "t_out_degc": t_out,
        "cop": cop,
        "ua_kw_per_k": ua,
        "c_kwh_per_k": c,
        "t_low_degc": 20.0,
        "t_high_degc": 22.0,
    }

    def end_temperature(p_el, tau_h):
        sol = solve_ivp(
            lambda t, y: [(cop * p_el - ua * (y[0] - t_out)) / c],
            (0.0, tau_h),
            [t0],
            rtol=1e-10,
            atol=1e-10,
        )
        return sol.y[0, -1]

    up, down = heat_pump_flexibility_envelope(t0, 2.0, p_max_kw=50.0, tau_h=5.0, **hp)
    assert end_temperature(2.0 + up, 5.0) == pytest.approx(22.0, abs=1e-6)
    assert end_temperature(2.0 - down, 5.0) == pytest.approx(20.0, abs=1e-6)
    # over 1 h the zone stays above 20 degC even with the heat pump off: down = P_set
    _, down = heat_pump_flexibility_envelope(t0, 2.0, p_max_kw=50.0, tau_h=1.0, **hp)
    assert end_temperature(0.0, 1.0) > 20.0
    assert down == 2.0
    # the power limit caps up-flexibility
    up, _ = heat_pump_flexibility_envelope(t0, 2.0, p_max_kw=3.0, tau_h=1.0, **hp)
    assert up == pytest.approx(1.0)


def test_district_envelope_kpis():
    v = _v(kpis_flexibility_envelope([[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [1.0, 1.0]], 0.5))
    assert v["p_flex_up_mean_kw[D]"] == 5.0
    assert v["p_flex_up_min_kw[D]"] == 3.0
    assert v["e_flex_up_kwh[D]"] == 5.0
    assert v["p_flex_down_mean_kw[D]"] == 1.5
    assert v["e_flex_down_kwh[D]"] == 1.5
