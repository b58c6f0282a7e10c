"""Tests of the stationary battery model (pedsim.physics.battery)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pedsim.physics.battery import (
    Battery,
    BatteryCatalogueError,
    BatteryParameterError,
    load_battery_types,
    self_consumption_setpoint,
)

TOL = 1e-9


@st.composite
def battery_case(draw: st.DrawFn) -> tuple[dict, float, np.ndarray, list[float]]:
    n = draw(st.integers(1, 4))
    fl = st.floats

    def arr(lo: float, hi: float) -> np.ndarray:
        return np.array(draw(st.lists(fl(lo, hi), min_size=n, max_size=n)))

    soc_min = arr(0.0, 0.5)
    soc_max = np.minimum(soc_min + arr(0.01, 1.0), 1.0)
    params = {
        "capacity_kwh": arr(0.1, 2000.0),
        "p_charge_max_kw": arr(0.0, 500.0),
        "p_discharge_max_kw": arr(0.0, 500.0),
        "eta_charge": arr(0.5, 1.0),
        "eta_discharge": arr(0.5, 1.0),
        "soc_min": soc_min,
        "soc_max": soc_max,
        "self_discharge_per_day": arr(0.0, 0.3),
        "soc_init": soc_min + arr(0.0, 1.0) * (soc_max - soc_min),
    }
    k = -np.log1p(-params["self_discharge_per_day"]) / 24.0
    assume(
        np.all(
            k * soc_min * params["capacity_kwh"] <= params["p_charge_max_kw"] * params["eta_charge"]
        )
    )
    dt_s = draw(st.sampled_from([1.0, 60.0, 900.0, 1234.5, 3600.0, 86400.0]))
    n_steps = draw(st.integers(1, 25))
    p_scale = 600.0
    setpoints = np.array(
        draw(
            st.lists(
                st.lists(
                    st.one_of(
                        fl(-p_scale, p_scale), st.sampled_from([0.0, -1e6, 1e6, -np.inf, np.inf])
                    ),
                    min_size=n,
                    max_size=n,
                ),
                min_size=n_steps,
                max_size=n_steps,
            )
        )
    )
    return params, dt_s, setpoints, []


@settings(max_examples=150, deadline=None)
@given(battery_case())
def test_properties_bounds_accounting_limits(case: tuple) -> None:
    params, dt_s, setpoints, _ = case
    bat = Battery(
        **{k: v for k, v in params.items() if k != "soc_init"}, soc_init=params["soc_init"]
    )
    cap = bat.capacity_kwh
    dt_h = dt_s / 3600.0
    k = -np.log1p(-bat.self_discharge_per_day) / 24.0
    a = np.exp(-k * dt_h)
    tau = np.where(k > 0, -np.expm1(-k * dt_h) / np.where(k > 0, k, 1), dt_h)  # (1 - a) / k
    cum = np.zeros(bat.n)
    for p_set in setpoints:
        e0 = bat.soc * cap
        p_lo, p_hi = bat.feasible_power_kw(dt_s)
        res = bat.step(p_set, dt_s)
        e1 = bat.soc * cap
        # SoC never leaves its window
        assert np.all(res.soc >= bat.soc_min - 1e-12)
        assert np.all(res.soc <= bat.soc_max + 1e-12)
        # clipping never exceeds the power limits
        assert np.all(res.p_kw <= bat.p_charge_max_kw * (1 + 1e-12) + 1e-12)
        assert np.all(res.p_kw >= -bat.p_discharge_max_kw * (1 + 1e-12) - 1e-12)
        # feasible setpoints are followed, others are clipped to the feasible interval
        inside = (p_set >= p_lo) & (p_set <= p_hi)
        np.testing.assert_allclose(res.p_kw[inside], p_set[inside], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(res.p_kw, np.clip(p_set, p_lo, p_hi), rtol=1e-12, atol=1e-9)
        tol = 1e-9 * np.maximum(1.0, np.abs(p_set))
        far = (p_set < p_lo - tol) | (p_set > p_hi + tol)
        assert np.all(res.clipped[far]) and not np.any(res.clipped[inside])
        # energy balance: AC in = stored change (from the state) + losses + AC out
        e_in = np.maximum(res.p_kw, 0) * dt_h
        e_out = np.maximum(-res.p_kw, 0) * dt_h
        np.testing.assert_allclose(res.e_charged_kwh, e_in, rtol=0, atol=TOL)
        np.testing.assert_allclose(res.e_discharged_kwh, e_out, rtol=0, atol=TOL)
        assert np.all(np.abs(e_in - (e1 - e0) - res.e_loss_kwh - e_out) <= TOL)
        assert np.all(res.e_loss_kwh >= -TOL)
        # independent reference: closed-form solution of dE/dt = q - k E with constant q
        q = np.where(res.p_kw >= 0, res.p_kw * bat.eta_charge, res.p_kw / bat.eta_discharge)
        ref = np.clip(e0 * a + q * tau, bat.soc_min * cap, bat.soc_max * cap)
        np.testing.assert_allclose(e1, ref, rtol=1e-12, atol=TOL)
        conv = e_in * (1 - bat.eta_charge) + e_out * (1 / bat.eta_discharge - 1)
        np.testing.assert_allclose(res.e_loss_kwh - res.e_self_discharge_kwh, conv, atol=TOL)
        np.testing.assert_allclose(res.throughput_kwh, np.abs(q) * dt_h, rtol=1e-12, atol=TOL)
        np.testing.assert_allclose(res.equivalent_full_cycles, res.throughput_kwh / (2 * cap))
        cum += res.throughput_kwh
    np.testing.assert_allclose(bat.equivalent_full_cycles_total, cum / (2 * cap))


def test_charge_analytic_and_partial_step_at_full() -> None:
    bat = Battery(10.0, 5.0, eta_charge=0.9, eta_discharge=0.9, soc_init=0.0)
    res = bat.step(5.0, 3600.0)
    assert res.soc[0] == pytest.approx(0.45, abs=1e-12)
    assert res.e_loss_kwh[0] == pytest.approx(0.5, abs=1e-12)
    # 10 kWh battery at 0.9 with 5 kW for 1 h: only 1 kWh fits, so the mean power is 1/0.9 kW
    bat = Battery(10.0, 5.0, eta_charge=0.9, soc_init=0.9)
    res = bat.step(5.0, 3600.0)
    assert res.p_kw[0] == pytest.approx(1.0 / 0.9, abs=1e-12)
    assert res.soc[0] == pytest.approx(1.0, abs=1e-12)
    assert bool(res.clipped[0])
    # discharge to soc_min: 2 kWh above soc_min at eta_d 0.8 deliver 1.6 kWh
    bat = Battery(10.0, 5.0, eta_discharge=0.8, soc_min=0.1, soc_init=0.3)
    res = bat.step(-5.0, 3600.0)
    assert res.p_kw[0] == pytest.approx(-1.6, abs=1e-12)
    assert res.soc[0] == pytest.approx(0.1, abs=1e-12)


def test_round_trip_efficiency() -> None:
    bat = Battery(13.5, 5.0, eta_charge=math.sqrt(0.9), eta_discharge=math.sqrt(0.9), soc_init=0.0)
    e_in = e_out = 0.0
    for _ in range(8):
        e_in += bat.step(5.0, 900.0).e_charged_kwh[0]
    for _ in range(20):
        e_out += bat.step(-5.0, 900.0).e_discharged_kwh[0]
    assert bat.soc[0] == pytest.approx(0.0, abs=1e-12)
    assert e_out / e_in == pytest.approx(0.9, rel=1e-12)


def test_self_discharge_compounds_exactly() -> None:
    bat = Battery(10.0, 5.0, self_discharge_per_day=0.01, soc_init=0.8)
    for _ in range(30 * 96):
        bat.step(0.0, 900.0)
    assert bat.soc[0] == pytest.approx(0.8 * 0.99**30, rel=1e-10)


def test_soc_min_is_held_against_self_discharge() -> None:
    bat = Battery(10.0, 5.0, eta_charge=0.9, soc_min=0.2, self_discharge_per_day=0.05, soc_init=0.2)
    res = bat.step(0.0, 3600.0)
    k = -math.log(0.95) / 24.0
    assert res.soc[0] == pytest.approx(0.2, abs=1e-12)
    assert res.p_kw[0] == pytest.approx(k * 2.0 / 0.9, rel=1e-9)
    res = bat.step(-3.0, 3600.0)  # no discharge possible at soc_min
    assert res.p_kw[0] >= 0.0
    with pytest.raises(BatteryParameterError, match="self_discharge_per_day"):
        Battery(10.0, 0.0, soc_min=0.2, self_discharge_per_day=0.05, soc_init=0.5)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"capacity_kwh": 0.0}, "capacity_kwh"),
        ({"p_charge_max_kw": -1.0}, "p_charge_max_kw"),
        ({"eta_charge": 0.0}, "eta_charge"),
        ({"eta_discharge": 1.1}, "eta_discharge"),
        ({"soc_min": 0.6, "soc_max": 0.5}, "soc_min"),
        ({"self_discharge_per_day": 1.0}, "self_discharge_per_day"),
        ({"soc_init": 0.95, "soc_max": 0.9}, "soc_init"),
        ({"capacity_kwh": [1.0, float("nan")]}, r"capacity_kwh\[1\]"),
        ({"capacity_kwh": [1.0, 2.0], "p_charge_max_kw": [1.0, 2.0, 3.0]}, "length"),
    ],
)
def test_bad_parameters(kwargs: dict, name: str) -> None:
    args = {"capacity_kwh": 10.0, "p_charge_max_kw": 5.0} | kwargs
    with pytest.raises(BatteryParameterError, match=name):
        Battery(**args)
    assert issubclass(BatteryParameterError, ValueError)


def test_bad_step_inputs() -> None:
    bat = Battery([10.0, 5.0], 5.0)
    with pytest.raises(BatteryParameterError, match="dt_s"):
        bat.step(1.0, 0.0)
    with pytest.raises(BatteryParameterError, match="p_set_kw"):
        bat.step([1.0, float("nan")], 900.0)


def test_self_consumption_setpoint() -> None:
    net = np.array([-3.0, 2.0, 0.05, -10.0, 8.0])
    sp = self_consumption_setpoint(net, 5.0, 4.0, deadband_kw=0.1)
    np.testing.assert_array_equal(sp, [3.0, -2.0, 0.0, 5.0, -4.0])
    # with the battery the grid exchange of a building goes to zero while the battery can follow
    bat = Battery(10.0, 5.0, soc_init=0.5)
    res = bat.step(self_consumption_setpoint([-2.0]), 900.0)
    assert -2.0 + res.p_kw[0] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(BatteryParameterError):
        self_consumption_setpoint([float("inf")])


def test_catalogue_loads_and_builds() -> None:
    cat = load_battery_types()
    assert {"tesla_powerwall_2", "community_500kwh"} <= set(cat)
    pw = cat["tesla_powerwall_2"]
    assert pw.capacity_kwh == 13.5
    assert pw.eta_charge * pw.eta_discharge == pytest.approx(0.90, abs=1e-3)
    for t in cat.values():
        assert 0.85 - 1e-3 <= t.eta_charge * t.eta_discharge <= 0.95 + 1e-3
        assert t.source
    bat = Battery.from_types(["tesla_powerwall_2", "home_liion_10kwh"], cat, soc_init=0.5)
    np.testing.assert_array_equal(bat.capacity_kwh, [13.5, 10.0])
    with pytest.raises(BatteryCatalogueError, match="nope"):
        Battery.from_types(["nope"], cat)


def test_catalogue_validation(tmp_path) -> None:
    f = tmp_path / "b.yaml"
    good = (
        "types:\n  x:\n    kind: home\n    capacity_kwh: 5\n    p_charge_max_kw: 2\n"
        "    p_discharge_max_kw: 2\n    eta_charge: 0.95\n    eta_discharge: 0.95\n"
        "    soc_min: 0.1\n    soc_max: 0.9\n    self_discharge_per_day: 0.001\n    source: ds\n"
    )
    f.write_text(good)
    assert load_battery_types(f)["x"].capacity_kwh == 5.0
    for bad, match in [
        (good.replace("eta_charge: 0.95", "eta_charge: 1.5"), "eta_charge"),
        (good.replace("kind: home", "kind: garage"), "kind"),
        (good.replace("    source: ds\n", ""), "missing keys"),
        (good.replace("capacity_kwh: 5", "capacity_kwh: five"), "capacity_kwh"),
        ("types: [1, 2]\n", "types"),
        ("types:\n  x: {a: [\n", "YAML"),
    ]:
        f.write_text(bad)
        with pytest.raises(BatteryCatalogueError, match=match):
            load_battery_types(f)
    with pytest.raises(BatteryCatalogueError, match="cannot read"):
        load_battery_types(tmp_path / "missing.yaml")
