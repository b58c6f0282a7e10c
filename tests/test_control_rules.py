"""Rule-based strategies: invariants on random states and closed loops with the physics models."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pedsim.control import (
    ControlParameterError,
    Measurements,
    NoControl,
    PeakShaving,
    PeakShavingParams,
    SelfConsumption,
    SelfConsumptionParams,
    Strategy,
    battery_power_range,
    ev_power_range,
    make_strategy,
)
from pedsim.physics.battery import Battery
from pedsim.physics.ev import EVFleet

EPS = 1e-9


def _random_state(rng: np.random.Generator, dt_s: int = 900) -> Measurements:
    n_b, n_v, n_h = rng.integers(1, 4), rng.integers(0, 5), rng.integers(0, 4)
    cap = rng.uniform(5, 50, n_b)
    soc_min = rng.uniform(0.0, 0.2, n_b)
    soc_max = rng.uniform(0.8, 1.0, n_b)
    bat_p = rng.uniform(-3, 3, n_b)
    ev_p = rng.uniform(0, 11, n_v)
    hp_p = rng.uniform(0, 3, n_h)
    base = rng.uniform(-60, 60)
    return Measurements(
        t_s=3600, dt_s=dt_s, p_trafo_kw=base + bat_p.sum() + ev_p.sum() + hp_p.sum(),
        bat_soc=rng.uniform(soc_min, soc_max), bat_capacity_kwh=cap,
        bat_p_charge_max_kw=cap / 2, bat_p_discharge_max_kw=cap / 2,
        bat_eta_charge=rng.uniform(0.85, 1, n_b), bat_eta_discharge=rng.uniform(0.85, 1, n_b),
        bat_soc_min=soc_min, bat_soc_max=soc_max, bat_p_kw=bat_p,
        ev_soc=rng.uniform(0.1, 0.9, n_v), ev_plugged=rng.integers(0, 2, n_v).astype(float),
        ev_battery_kwh=np.full(n_v, 50.0), ev_p_max_kw=np.full(n_v, 11.0),
        ev_e_required_kwh=rng.uniform(0, 20, n_v), ev_departure_s=3600 + rng.uniform(0, 6, n_v)
        * 3600, ev_eta_charge=0.9, ev_p_kw=ev_p,
        hp_p_kw=hp_p, hp_p_max_kw=np.full(n_h, 4.0), t_zone_degc=rng.uniform(19, 23, n_h),
        t_comfort_low_degc=np.full(n_h, 20.0), t_comfort_high_degc=np.full(n_h, 23.0),
        t_set_heat_degc=np.full(n_h, 20.5),
    )  # fmt: skip


def test_self_consumption_uses_only_surplus_and_never_exports_battery_energy() -> None:
    rng = np.random.default_rng(20240611)
    strategy = SelfConsumption()
    for _ in range(300):
        m = _random_state(rng)
        sp = strategy.decide(m, None)
        dis, ch = battery_power_range(m)
        _, floor, p_max = ev_power_range(m)
        assert np.all(sp.p_bat_set_kw <= ch + EPS) and np.all(sp.p_bat_set_kw >= -dis - EPS)
        assert np.all(sp.p_ev_set_kw >= floor - EPS) and np.all(sp.p_ev_set_kw <= p_max + EPS)
        net0 = m.p_base_kw() + m.hp_p_kw.sum() + floor.sum()  # before the batteries act
        charge, discharge = sp.p_bat_set_kw.clip(0).sum(), -sp.p_bat_set_kw.clip(None, 0).sum()
        assert charge <= max(-net0, 0.0) + EPS  # charges only from surplus
        assert discharge <= max(net0, 0.0) + EPS  # never discharges into export
        assert charge == 0.0 or discharge == 0.0
        if net0 >= 0:
            assert np.all(sp.t_set_offset_k == 0.0)
        assert np.all(sp.t_set_offset_k <= m.t_comfort_high_degc - m.t_set_heat_degc + EPS)


def test_self_consumption_order_battery_then_evs_then_preheating() -> None:
    m = Measurements(
        t_s=0, dt_s=3600, p_trafo_kw=-18.5, bat_soc=[0.5], bat_capacity_kwh=[10.0],
        bat_p_charge_max_kw=[5.0], bat_p_discharge_max_kw=[5.0], bat_eta_charge=[1.0],
        bat_eta_discharge=[1.0], ev_soc=[0.5], ev_plugged=[1.0], ev_battery_kwh=[60.0],
        ev_p_max_kw=[11.0], ev_e_required_kwh=[0.0], ev_departure_s=[36000.0],
        hp_p_kw=[0.0, 0.0], hp_p_max_kw=[3.0, 2.0], t_zone_degc=[20.0, 20.05],
        t_comfort_low_degc=[20.0, 20.0], t_comfort_high_degc=[23.0, 23.0],
        t_set_heat_degc=[20.0, 20.0],
    )  # fmt: skip
    rule = SelfConsumption()
    sp = rule.decide(m, None)
    np.testing.assert_allclose(sp.p_bat_set_kw, [5.0])  # 18.5 kW surplus: battery at 5 kW
    np.testing.assert_allclose(sp.p_ev_set_kw, [11.0])  # then the EV
    # 2.5 kW left: the zone with the most headroom (3 kW) is pre-heated by preheat_k = 2 K
    np.testing.assert_allclose(sp.t_set_offset_k, [2.0, 0.0])
    assert sp.p_trafo_expected_kw == pytest.approx(0.0)
    # a larger pre-heat step stops at the comfort high bound (23 degC)
    wide = SelfConsumption(SelfConsumptionParams(preheat_k=5.0)).decide(m, None)
    np.testing.assert_allclose(wide.t_set_offset_k, [3.0, 0.0])
    # the zone pre-heated last step stays eligible until it reaches 22 degC ...
    warmer = dataclasses.replace(m, t_zone_degc=np.array([21.0, 21.0]))
    np.testing.assert_allclose(rule.decide(warmer, None).t_set_offset_k, [2.0, 0.0])
    # ... while zones floating above their set point (no heating needed now) are left alone,
    # whatever the surplus
    big = dataclasses.replace(warmer, p_trafo_kw=-100.0)
    np.testing.assert_allclose(SelfConsumption().decide(big, None).t_set_offset_k, [0.0, 0.0])
    both = dataclasses.replace(m, p_trafo_kw=-100.0)
    np.testing.assert_allclose(SelfConsumption().decide(both, None).t_set_offset_k, [2.0, 2.0])
    with pytest.raises(ControlParameterError, match="preheat_k"):
        SelfConsumptionParams(preheat_k=0.0)
    # heating limit: no pre-heating at or above 15 degC outdoors; below it (or unknown) as above
    for t_out, expected in ((15.0, [0.0, 0.0]), (14.9, [2.0, 2.0]), (np.nan, [2.0, 2.0])):
        out = dataclasses.replace(both, t_out_degc=t_out)
        np.testing.assert_allclose(SelfConsumption().decide(out, None).t_set_offset_k, expected)
    # ... and none while the last 24 h averaged at or above it (a cold morning of a warm day)
    for mean, expected in ((15.0, [0.0, 0.0]), (14.9, [2.0, 2.0]), (np.nan, [2.0, 2.0])):
        out = dataclasses.replace(both, t_out_degc=10.0, t_out_mean_24h_degc=mean)
        np.testing.assert_allclose(SelfConsumption().decide(out, None).t_set_offset_k, expected)
    # ... nor before a warm spell: the forecast reaches 20 degC within 72 h
    for ahead, expected in ((20.0, [0.0, 0.0]), (19.9, [2.0, 2.0]), (np.nan, [2.0, 2.0])):
        out = dataclasses.replace(both, t_out_degc=10.0, t_out_max_ahead_degc=ahead)
        np.testing.assert_allclose(SelfConsumption().decide(out, None).t_set_offset_k, expected)
        peak = PeakShaving(PeakShavingParams(export_limit_kw=10.0)).decide(out, None)
        np.testing.assert_allclose(peak.t_set_offset_k, expected)
    no_preheat = SelfConsumption(SelfConsumptionParams(preheat=False)).decide(m, None)
    np.testing.assert_allclose(no_preheat.t_set_offset_k, 0.0)


def _day(dt_s: int = 900) -> tuple[np.ndarray, np.ndarray]:
    t_h = np.arange(86400 // dt_s) * dt_s / 3600
    load = 30 + 25 * np.exp(-(((t_h - 19) / 2) ** 2)) + 10 * np.exp(-(((t_h - 8) / 1.5) ** 2))
    pv = -70 * np.clip(np.sin(np.pi * (t_h - 6) / 12), 0, None) ** 1.5
    return load, pv


def _closed_loop_battery(strategy: Strategy, capacity_kwh: float) -> tuple[np.ndarray, ...]:
    dt = 900
    load, pv = _day(dt)
    bat = Battery(capacity_kwh, capacity_kwh / 2, soc_init=0.5, eta_charge=0.95,
                  eta_discharge=0.95)  # fmt: skip
    p_bat = np.zeros(1)
    grid, bat_p, kept = [], [], []
    for k in range(load.size):
        m = Measurements(
            t_s=k * dt, dt_s=dt, p_trafo_kw=float(load[k] + pv[k] + p_bat.sum()),
            p_load_kw=load[k : k + 1], p_pv_kw=pv[k : k + 1], bat_soc=bat.soc,
            bat_capacity_kwh=bat.capacity_kwh, bat_p_charge_max_kw=bat.p_charge_max_kw,
            bat_p_discharge_max_kw=bat.p_discharge_max_kw, bat_eta_charge=bat.eta_charge,
            bat_eta_discharge=bat.eta_discharge, bat_p_kw=p_bat,
        )  # fmt: skip
        sp = strategy.decide(m, None)
        p_bat = bat.step(sp.p_bat_set_kw, dt).p_kw
        grid.append(load[k] + pv[k] + p_bat.sum())
        bat_p.append(p_bat.sum())
        kept.append(sp.limit_kept)
    return np.array(grid), np.array(bat_p), load + pv, np.array(kept)


def test_self_consumption_closed_loop_with_battery_model() -> None:
    grid, bat, base, _ = _closed_loop_battery(SelfConsumption(), 60.0)
    assert np.all(bat[base >= 0] <= EPS)  # no charging from the grid
    assert np.all(bat[base <= 0] >= -EPS)  # no discharging while exporting
    assert np.all((grid >= -EPS) | (bat >= -EPS))  # battery energy never exported
    assert np.all(np.abs(grid) <= np.abs(base) + EPS)  # exchange only ever reduced
    e_export = -np.clip(grid, None, 0).sum() / 4
    assert e_export < -np.clip(base, None, 0).sum() / 4  # less export than without battery


def test_peak_shaving_keeps_the_limits_when_feasible_and_flags_when_not() -> None:
    limits = PeakShavingParams(import_limit_kw=45.0, export_limit_kw=25.0)
    grid, _, base, kept = _closed_loop_battery(PeakShaving(limits), 120.0)
    assert base.max() > 50 and base.min() < -30  # the limits bind without the battery
    assert np.all(kept)
    assert grid.max() <= 45.0 + 1e-6 and grid.min() >= -25.0 - 1e-6
    strategy = PeakShaving(limits)
    grid, _, _, kept = _closed_loop_battery(strategy, 6.0)  # 6 kWh, 3 kW: too small
    assert not kept.all() and strategy.n_violations == (~kept).sum() > 0
    assert strategy.n_steps == kept.size
    over = (grid > 45.0 + 1e-6) | (grid < -25.0 - 1e-6)
    assert np.all(~kept[over])  # every violation was flagged


def test_peak_shaving_curtails_evs_to_their_floor_then_caps_heat_pumps() -> None:
    # two EVs at 11 kW: one can wait, the other needs full power now; heat pumps in a warm
    # and a cold zone
    m = Measurements(
        t_s=0, dt_s=3600, p_trafo_kw=40.0 + 22.0 + 6.0, ev_soc=[0.5, 0.5], ev_plugged=[1, 1],
        ev_battery_kwh=[60.0, 60.0], ev_p_max_kw=[11.0, 11.0], ev_e_required_kwh=[5.0, 22.0],
        ev_departure_s=[8 * 3600.0, 2 * 3600.0], ev_p_kw=[11.0, 11.0],
        hp_p_kw=[3.0, 3.0], hp_p_max_kw=[4.0, 4.0], t_zone_degc=[21.5, 19.8],
        t_comfort_low_degc=[20.0, 20.0], t_comfort_high_degc=[23.0, 23.0],
        t_set_heat_degc=[20.5, 20.5],
    )  # fmt: skip
    floor = ev_power_range(m)[1]
    np.testing.assert_allclose(floor, [0.0, 11.0])  # 22 kWh in 2 h at 11 kW: no slack
    sp = PeakShaving(PeakShavingParams(import_limit_kw=50.0)).decide(m, None)
    np.testing.assert_allclose(sp.p_ev_set_kw, [0.0, 11.0])
    # 40 + 11 + 6 = 57 kW: the warm zone's heat pump is capped by the remaining 7 kW... at most
    # its 3 kW; the cold zone's is not touched
    assert sp.p_hp_cap_kw[0] == pytest.approx(0.0) and np.isinf(sp.p_hp_cap_kw[1])
    assert sp.limit_kept is False
    assert sp.p_trafo_expected_kw == pytest.approx(54.0)
    ok = PeakShaving(PeakShavingParams(import_limit_kw=55.0)).decide(m, None)
    assert ok.limit_kept and ok.p_hp_cap_kw[0] == pytest.approx(1.0)
    # a shaving margin aims 2 kW inside the limit: the warm zone's cap falls by 2 kW more
    inner = PeakShaving(PeakShavingParams(import_limit_kw=55.0, shave_margin_kw=2.0))
    sp = inner.decide(m, None)
    assert sp.limit_kept and sp.p_hp_cap_kw[0] == pytest.approx(0.0)
    assert sp.p_trafo_expected_kw == pytest.approx(54.0)  # 3 kW capped: 1 kW short of 53 kW
    with pytest.raises(ControlParameterError, match="shave_margin_kw"):
        PeakShavingParams(shave_margin_kw=-1.0)


def test_no_control_and_factory() -> None:
    m = _random_state(np.random.default_rng(1))
    sp = NoControl().decide(m, None)
    assert sp.p_bat_set_kw is None and sp.p_ev_set_kw is None and sp.p_hp_cap_kw is None
    assert isinstance(make_strategy("none"), NoControl)
    s = make_strategy("peak_shaving", import_limit_kw=100.0)
    assert isinstance(s, PeakShaving) and s.params.import_limit_kw == 100.0
    assert isinstance(make_strategy("self_consumption"), Strategy)
    with pytest.raises(ControlParameterError, match=r"strategy='greedy'"):
        make_strategy("greedy")
    with pytest.raises(ControlParameterError, match=r"unknown parameters \['limit'\]"):
        make_strategy("peak_shaving", limit=3)
    with pytest.raises(ControlParameterError, match=r"soc_target=1.5"):
        PeakShavingParams(soc_target=1.5)
    with pytest.raises(ControlParameterError, match=r"deadband_kw=-1"):
        SelfConsumptionParams(deadband_kw=-1)


def test_measurements_validation_names_field_and_value() -> None:
    with pytest.raises(ControlParameterError, match=r"bat_capacity_kwh=None: expected 1 values"):
        Measurements(t_s=0, dt_s=900, p_trafo_kw=0.0, bat_soc=[0.5])
    with pytest.raises(ControlParameterError, match=r"bat_soc\[1\]=1.2"):
        Measurements(t_s=0, dt_s=900, p_trafo_kw=0.0, bat_soc=[0.5, 1.2],
                     bat_capacity_kwh=1.0, bat_p_charge_max_kw=1.0, bat_p_discharge_max_kw=1.0,
                     bat_eta_charge=1.0, bat_eta_discharge=1.0)  # fmt: skip
    with pytest.raises(ControlParameterError, match=r"ev_plugged: shape \(3,\); expected shape"):
        Measurements(t_s=0, dt_s=900, p_trafo_kw=0.0, ev_soc=[0.5, 0.5], ev_plugged=[1, 1, 1],
                     ev_battery_kwh=50.0, ev_p_max_kw=11.0, ev_e_required_kwh=0.0,
                     ev_departure_s=np.inf)  # fmt: skip
    with pytest.raises(ControlParameterError, match=r"dt_s=0"):
        Measurements(t_s=0, dt_s=0, p_trafo_kw=0.0)
    with pytest.raises(ControlParameterError, match=r"t_comfort_low_degc\[0\]=24.0 > "):
        Measurements(t_s=0, dt_s=900, p_trafo_kw=0.0, hp_p_kw=[1.0], hp_p_max_kw=2.0,
                     t_zone_degc=20.0, t_comfort_low_degc=24.0, t_comfort_high_degc=22.0,
                     t_set_heat_degc=20.0)  # fmt: skip


def test_ev_power_range_matches_the_fleet_model() -> None:
    # the floor of ev_power_range is what EVFleet (controlled mode) enforces itself
    fleet = EVFleet([60.0, 40.0], [11.0, 7.4], mode="controlled", eta_charge=0.9)
    fleet.set_sessions([0, 1], [0.0, 0.0], [3 * 3600.0, 10 * 3600.0], [0.9, 0.6],
                       soc_arrival=[0.3, 0.5])  # fmt: skip
    res = fleet.step(900, p_set_kw=[0.0, 0.0])
    for _ in range(4):
        m = Measurements(
            t_s=int(fleet.t_s), dt_s=900, p_trafo_kw=0.0, ev_soc=res.soc, ev_plugged=res.plugged,
            ev_battery_kwh=fleet.battery_kwh, ev_p_max_kw=fleet.charger_kw,
            ev_e_required_kwh=res.e_required_kwh, ev_departure_s=[3 * 3600.0, 10 * 3600.0],
            ev_eta_charge=fleet.eta_charge,
        )  # fmt: skip
        _, floor, p_max = ev_power_range(m)
        hi = fleet.feasible_power_kw(900)[1]
        np.testing.assert_allclose(p_max, hi, atol=1e-9)
        res = fleet.step(900, p_set_kw=[0.0, 0.0])  # asks for nothing: gets the floor
        np.testing.assert_allclose(res.p_kw, floor, atol=1e-9)


def test_controller_measures_the_24h_mean_outdoor_temperature():
    """The heating-limit measurement is the trailing mean over the last 24 h (fewer at the
    start of the run), from the outdoor temperature of each step."""
    from pedsim.sims.controller import ControllerSim, ControlSetup

    t = np.arange(200.0)
    zeros = np.zeros(200)
    signals = {k: zeros for k in ("price_eur_per_kwh", "feed_in_eur_per_kwh", "co2_kg_per_kwh")}
    sim = ControllerSim()
    sim.init("c", 1.0, step_s=900, start="2016-01-01")
    sim.create(1, "Controller", setup=ControlSetup(NoControl(), 1, signals, t_out_degc=t))
    means = [t[:1].mean(), t[:2].mean(), t[:96].mean(), t[1:97].mean(), t[55:151].mean()]
    np.testing.assert_allclose(sim._t_out_24h[[0, 1, 95, 96, 150]], means)
    # the forecast maximum of the next 72 h (288 steps), fewer at the end of the run
    assert sim._t_out_ahead[0] == sim._t_out_ahead[199] == 199.0
    t2 = np.sin(np.arange(400.0) / 30.0)
    sim2 = ControllerSim()
    sim2.init("c", 1.0, step_s=900, start="2016-01-01")
    signals2 = {k: np.zeros(400) for k in signals}
    sim2.create(1, "Controller", setup=ControlSetup(NoControl(), 1, signals2, t_out_degc=t2))
    expected = [t2[k : k + 288].max() for k in (0, 50, 200, 399)]
    np.testing.assert_allclose(sim2._t_out_ahead[[0, 50, 200, 399]], expected)


def test_ev_power_range_kernel_equals_numpy_reference() -> None:
    """The compiled EV ranges are bit-identical to the numpy expressions, on random fleets
    with unplugged EVs, unknown (inf) and past departures, V2G and full batteries."""
    from pedsim.control.rules import ev_power_range_numpy

    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(1, 40))
        dep = 3600 + rng.uniform(-2, 30, n) * 3600
        dep[rng.random(n) < 0.2] = np.inf
        m = Measurements(
            t_s=3600, dt_s=900, p_trafo_kw=0.0, ev_soc=rng.uniform(0.0, 1.0, n),
            ev_plugged=rng.choice([0.0, 0.3, 1.0], n), ev_battery_kwh=rng.uniform(20, 90, n),
            ev_p_max_kw=rng.choice([3.7, 11.0, 22.0], n), ev_e_required_kwh=rng.uniform(0, 40, n),
            ev_departure_s=dep, ev_eta_charge=rng.uniform(0.85, 0.95, n),
            ev_eta_discharge=rng.uniform(0.85, 0.95, n), ev_soc_min=rng.uniform(0, 0.2, n),
            ev_soc_max=rng.uniform(0.8, 1.0, n), ev_bidirectional=rng.random(n) < 0.5,
            ev_p_discharge_max_kw=rng.uniform(0, 11, n), ev_p_kw=np.zeros(n),
        )  # fmt: skip
        for got, want in zip(ev_power_range(m), ev_power_range_numpy(m), strict=True):
            np.testing.assert_array_equal(got, want)
