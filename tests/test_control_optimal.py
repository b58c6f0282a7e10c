"""Receding-horizon optimal control: closed loop with the physics models, fallback, sizes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from pedsim.control import (
    ControlError,
    ControlParameterError,
    Forecast,
    ForecastSource,
    LinearBuilding,
    Measurements,
    MilpOptions,
    OptimalControl,
    SelfConsumption,
    Strategy,
    build_problem,
    make_strategy,
    solve_milp,
)
from pedsim.control.signals import price_series
from pedsim.physics.battery import Battery
from pedsim.physics.building import Building5R1C, RC5Params, load_archetypes
from pedsim.physics.ev import EVFleet

CATALOGUE = Path(__file__).resolve().parents[1] / "models" / "buildings" / "tabula_de.yaml"
DT = 900
COP = 3.0


def _run(strategy: Strategy, source: ForecastSource, n_steps: int) -> dict[str, np.ndarray]:
    """One day of a battery, two EVs and one heat-pump-heated zone under ``strategy``."""
    params = RC5Params.from_envelope(150.0, 60.0, 25.0, 40.0, "medium", t_set_heat_degc=20.5)
    zone = Building5R1C(params, 20.5)
    bat = Battery(20.0, 10.0, eta_charge=0.95, eta_discharge=0.95, soc_init=0.5)
    fleet = EVFleet([60.0, 40.0], [11.0, 7.4], mode="controlled", eta_charge=0.9)
    dep = np.array([8.5 * 3600.0, 20 * 3600.0])  # the first leaves within a plan step
    fleet.set_sessions([0, 1], [0.0, 0.0], dep, [0.8, 0.9], soc_arrival=[0.3, 0.4])
    ser = source.series
    p_bat, p_ev, p_hp = np.zeros(1), np.zeros(2), np.zeros(1)
    ev = fleet.step(1e-3, np.zeros(2))  # state at t = 0 (nothing charged in 1 ms)
    fleet.t_s = 0.0
    out: dict[str, list] = {k: [] for k in ("grid", "t_air", "unmet", "price")}
    t_zone = np.array([20.5])
    for k in range(n_steps):
        t = k * DT
        base = ser["p_base_kw"][k]
        m = Measurements(
            t_s=t, dt_s=DT, p_trafo_kw=float(base + p_bat.sum() + p_ev.sum() + p_hp.sum()),
            bat_soc=bat.soc, bat_capacity_kwh=bat.capacity_kwh,
            bat_p_charge_max_kw=bat.p_charge_max_kw, bat_p_discharge_max_kw=bat.p_discharge_max_kw,
            bat_eta_charge=bat.eta_charge, bat_eta_discharge=bat.eta_discharge, bat_p_kw=p_bat,
            ev_soc=ev.soc, ev_plugged=np.where(dep > t, 1.0, 0.0), ev_battery_kwh=fleet.battery_kwh,
            ev_p_max_kw=fleet.charger_kw, ev_e_required_kwh=ev.e_required_kwh,
            ev_departure_s=np.where(dep > t, dep, np.inf), ev_eta_charge=fleet.eta_charge,
            ev_p_kw=p_ev, hp_p_kw=p_hp, hp_p_max_kw=[4.0],
            t_zone_degc=t_zone, t_comfort_low_degc=[20.0],
            t_comfort_high_degc=[23.0], t_set_heat_degc=[20.5], t_mass_degc=zone.t_m_degc,
        )  # fmt: skip
        sp = strategy.decide(m, source.forecast(t, 96))
        p_bat = bat.step(0.0 if sp.p_bat_set_kw is None else sp.p_bat_set_kw, DT).p_kw
        ev = fleet.step(DT, np.full(2, np.inf) if sp.p_ev_set_kw is None else sp.p_ev_set_kw)
        p_ev = ev.p_kw
        cap_w = np.inf if sp.p_hp_cap_kw is None else 1e3 * COP * sp.p_hp_cap_kw
        offset = 0.0 if sp.t_set_offset_k is None else sp.t_set_offset_k
        res = zone.step(ser["t_out_degc"][k], ser["phi_int_w"][k], 0.0, DT,
                        t_set_heat_degc=20.5 + offset, p_heat_max_w=cap_w)  # fmt: skip
        p_hp = res.phi_hc_w / (1e3 * COP)
        t_zone = res.t_air_degc
        out["grid"].append(base + p_bat.sum() + p_ev.sum() + p_hp.sum())
        out["t_air"].append(res.t_air_degc[0])
        out["unmet"].append(ev.e_unmet_kwh.sum())
        out["price"].append(ser["price_eur_per_kwh"][k])
    return {k: np.array(v) for k, v in out.items()}


@pytest.fixture(scope="module")
def day() -> ForecastSource:
    n = 2 * 96
    t_h = np.arange(n) * DT / 3600
    load = 3.0 + 2.0 * np.exp(-(((t_h % 24 - 19) / 2) ** 2))
    pv = -8.0 * np.clip(np.sin(np.pi * (t_h % 24 - 6) / 12), 0, None)
    price = price_series("2016-01-11", DT, n)  # real NL day-ahead prices, a winter Monday
    series = {"p_base_kw": load + pv, "price_eur_per_kwh": price, "t_out_degc": np.full(n, -2.0),
              "phi_int_w": np.full((n, 1), 400.0), "hp_cop": np.full((n, 1), COP)}  # fmt: skip
    return ForecastSource(DT, series)


def test_closed_loop_optimal_beats_baseline_and_keeps_services(day: ForecastSource) -> None:
    params = RC5Params.from_envelope(150.0, 60.0, 25.0, 40.0, "medium")
    opt = MilpOptions(horizon_steps=24, plan_step_s=3600, replan_every_steps=4)
    ctrl = OptimalControl(opt, building=params)
    run = _run(ctrl, day, 96)
    base = _run(make_strategy("none"), day, 96)
    cost = (run["grid"] * run["price"]).sum() * DT / 3600
    cost0 = (base["grid"] * base["price"]).sum() * DT / 3600
    stats = ctrl.stats.summary()
    print(f"\nclosed loop, one day: cost {cost:.3f} EUR (no control {cost0:.3f} EUR); {stats}")
    assert cost < cost0
    assert run["unmet"].sum() == pytest.approx(0.0, abs=1e-6)  # EVs leave with their energy
    assert run["t_air"].min() > 20.0 - 0.2 and run["t_air"].max() < 23.0 + 0.2
    assert stats["n_fallbacks"] == 0 and stats["n_solves"] >= 24
    assert ctrl.stats.statuses["optimal"] == stats["n_solves"]
    assert ctrl.building is not None and ctrl.building.dt_s == 3600


@pytest.mark.parametrize("hp_control", ["setpoint", "setpoint_and_cap"])
def test_heat_pump_actuation_modes(day: ForecastSource, hp_control: str) -> None:
    """``setpoint`` never asks for less than the band's low bound and sets no cap."""
    params = RC5Params.from_envelope(150.0, 60.0, 25.0, 40.0, "medium")
    opt = MilpOptions(horizon_steps=24, plan_step_s=3600, replan_every_steps=4,
                      hp_control=hp_control)  # fmt: skip
    ctrl = OptimalControl(opt, building=params)
    seen: list[Measurements] = []
    decide = ctrl.decide
    ctrl.decide = lambda m, f: seen.append(m) or decide(m, f)  # type: ignore[method-assign]
    run = _run(ctrl, day, 48)
    assert ctrl._plan is not None
    sp = ctrl._setpoints(seen[-1], ctrl._plan, 0, np.nan)
    if hp_control == "setpoint":
        assert sp.p_hp_cap_kw is None
        # the thermostat holds the low bound (20 degC) whenever the plan coasts
        assert run["t_air"].min() >= 20.0 - 1e-9
        heating = ctrl._plan.p_hp_kw[0] > 1e-3
        expected = np.where(heating, np.clip(ctrl._plan.t_air_degc[0] - 20.5, -0.5, 2.5), -0.5)
        np.testing.assert_allclose(sp.t_set_offset_k, expected)
        # a warm spell in the weather forecast (20 degC within 72 h): no pre-heating at all
        assert (expected > -0.5).any()  # the plan pre-heats at this step
        warm = dataclasses.replace(seen[-1], t_out_max_ahead_degc=20.0)
        np.testing.assert_allclose(ctrl._setpoints(warm, ctrl._plan, 0, np.nan).t_set_offset_k,
                                   -0.5)  # fmt: skip
        cool = dataclasses.replace(seen[-1], t_out_max_ahead_degc=19.9)
        np.testing.assert_allclose(ctrl._setpoints(cool, ctrl._plan, 0, np.nan).t_set_offset_k,
                                   expected)  # fmt: skip
    else:
        np.testing.assert_allclose(sp.p_hp_cap_kw, ctrl._plan.p_hp_kw[0])
    with pytest.raises(ControlParameterError, match="hp_control"):
        MilpOptions(hp_control="cap")


def test_infeasible_solve_falls_back_and_is_counted() -> None:
    m = Measurements(
        t_s=0, dt_s=3600, p_trafo_kw=1.0, p_load_kw=[1.0], bat_soc=[0.5], bat_capacity_kwh=[10.0],
        bat_p_charge_max_kw=[5.0], bat_p_discharge_max_kw=[5.0], bat_eta_charge=[1.0],
        bat_eta_discharge=[1.0], ev_soc=[0.2], ev_plugged=[1.0], ev_battery_kwh=[50.0],
        ev_p_max_kw=[7.0], ev_e_required_kwh=[30.0], ev_departure_s=[7200.0],
    )  # fmt: skip
    f = Forecast(t_s=0, dt_s=3600, p_base_kw=np.ones(4), price_eur_per_kwh=np.full(4, 0.1),
                 co2_kg_per_kwh=np.zeros(4))  # fmt: skip
    hard = OptimalControl(MilpOptions(horizon_steps=4, ev_requirement="hard"))
    sp = hard.decide(m, f)
    assert sp.fallback and sp.status == "fallback: infeasible"
    assert hard.stats.n_fallbacks == 1 and hard.stats.statuses["infeasible"] == 1
    assert isinstance(hard.fallback, SelfConsumption)
    np.testing.assert_allclose(sp.p_ev_set_kw, [7.0])  # the rule charges at the floor (full)
    assert np.isfinite(sp.solve_time_s)
    soft = OptimalControl(MilpOptions(horizon_steps=4))
    sp = soft.decide(m, f)
    assert not sp.fallback and sp.status == "optimal" and soft.stats.n_fallbacks == 0
    np.testing.assert_allclose(sp.p_ev_set_kw, [7.0])  # as much as possible
    with pytest.raises(ControlError, match="needs a forecast"):
        soft.decide(m, None)
    limited = OptimalControl(MilpOptions(import_limit_kw=5.0))
    assert type(limited.fallback).__name__ == "PeakShaving"


def _large(n_hp: int, n_ev: int, dt: int, plan: int, seed: int = 1) -> tuple:
    rng = np.random.default_rng(seed)
    sfh = [a for a in load_archetypes(CATALOGUE).values() if ".SFH." in a.code]
    prm = RC5Params.from_archetypes([sfh[i % len(sfh)] for i in range(n_hp)])
    scale = rng.uniform(0.7, 1.3, n_hp)  # no two zones alike
    prm = RC5Params(*[getattr(prm, f.name) * (scale if f.name[:2] in ("a_", "c_", "h_") else 1)
                      for f in dataclasses.fields(prm)][:-1])  # fmt: skip
    n_t = 86400 // dt
    t_h = np.arange(n_t) * dt / 3600
    h_w_k = prm.h_tr_steady_w_k + prm.h_ve_w_k
    m = Measurements(
        t_s=0, dt_s=dt, p_trafo_kw=100.0, bat_soc=[0.5], bat_capacity_kwh=[200.0],
        bat_p_charge_max_kw=[100.0], bat_p_discharge_max_kw=[100.0], bat_eta_charge=[0.95],
        bat_eta_discharge=[0.95], ev_soc=rng.uniform(0.2, 0.5, n_ev), ev_plugged=np.ones(n_ev),
        ev_battery_kwh=np.full(n_ev, 60.0), ev_p_max_kw=np.full(n_ev, 11.0),
        ev_e_required_kwh=rng.uniform(5, 25, n_ev), ev_departure_s=rng.uniform(6, 20, n_ev) * 3600,
        ev_eta_charge=0.9, hp_p_kw=h_w_k * 20 / COP / 1e3, hp_p_max_kw=h_w_k * 42 / COP / 1e3,
        t_zone_degc=np.full(n_hp, 20.5), t_comfort_low_degc=np.full(n_hp, 20.0),
        t_comfort_high_degc=np.full(n_hp, 23.0), t_set_heat_degc=np.full(n_hp, 20.5),
        t_mass_degc=np.full(n_hp, 20.3),
    )  # fmt: skip
    f = Forecast(
        t_s=0, dt_s=dt, p_base_kw=80 + 40 * np.exp(-(((t_h - 18) / 2) ** 2)),
        price_eur_per_kwh=price_series("2016-01-11", dt, n_t), co2_kg_per_kwh=np.full(n_t, 0.5),
        t_out_degc=3 * np.sin(2 * np.pi * (t_h - 9) / 24),
        phi_int_w=np.broadcast_to(3.0 * prm.a_f_m2, (n_t, n_hp)), phi_sol_w=None,
        hp_cop=np.full((n_t, n_hp), COP),
    )  # fmt: skip
    opt = MilpOptions(
        horizon_steps=n_t, plan_step_s=plan, import_limit_kw=400.0, time_limit_s=300.0
    )
    return m, f, opt, LinearBuilding.from_rc5(prm, plan)


@pytest.mark.parametrize("plan_s", [3600])
def test_full_district_24_h_1_battery_30_evs_111_heat_pumps(plan_s: int) -> None:
    """The district-sized problem solves to optimality (its solve time is printed, not
    asserted: timings belong to the benchmarks)."""
    m, f, opt, bld = _large(111, 30, 900, plan_s)
    problem, _ = build_problem(m, f, opt, bld)
    r = solve_milp(problem, opt)
    print(
        f"\n24 h at {plan_s} s ({problem.n_steps} steps), 1 battery, 30 EVs, 111 heat pumps: "
        f"{r.status} in {r.solve_time_s:.2f} s ({r.n_vars} variables, {r.n_cons} constraints, "
        f"{r.n_binaries} binaries); peak {r.p_grid_kw.max():.0f} kW, comfort {r.comfort_kh:.3f} K h"
    )
    assert r.status == "optimal"
    assert r.p_grid_kw.max() <= 400.0 + 1e-6
    assert r.ev_shortfall_kwh.sum() == pytest.approx(0.0, abs=1e-6)


def test_mass_temperature_estimated_from_the_zone_temperature() -> None:
    params = RC5Params.from_envelope([150.0, 300.0], [60.0, 90.0], [25.0, 40.0], [40.0, 70.0])
    bld = LinearBuilding.from_rc5(params, 900)
    t_m = np.array([19.0, 21.5])
    hp = np.array([1.0, 2.0])
    _, t_air = bld.step(t_m, 2.0, 400.0, 100.0, 1e3 * COP * hp)
    f = Forecast(t_s=0, dt_s=900, p_base_kw=np.zeros(4), price_eur_per_kwh=np.full(4, 0.1),
                 co2_kg_per_kwh=np.zeros(4), t_out_degc=np.full(4, 2.0),
                 phi_int_w=np.full((4, 2), 400.0), phi_sol_w=np.full((4, 2), 100.0),
                 hp_cop=np.full((4, 2), COP))  # fmt: skip
    kw = {"t_s": 0, "dt_s": 900, "p_trafo_kw": 0.0, "hp_p_kw": hp, "hp_p_max_kw": [4.0, 4.0],
          "t_zone_degc": t_air, "t_comfort_low_degc": 20.0, "t_comfort_high_degc": 23.0,
          "t_set_heat_degc": 20.5}  # fmt: skip
    problem, _ = build_problem(Measurements(**kw), f, MilpOptions(horizon_steps=4), bld)
    np.testing.assert_allclose(problem.hp_t_m0_degc, t_m, atol=1e-9)
    strategy = make_strategy("optimal", building=bld, horizon_steps=4)
    assert isinstance(strategy, OptimalControl) and strategy.decide(Measurements(**kw), f).status
    wrong = Forecast(**{**f.__dict__, "hp_cop": np.full((4, 3), COP)})
    with pytest.raises(ControlParameterError, match=r"Forecast.hp_cop: shape \(4, 3\)"):
        build_problem(Measurements(**kw), wrong, MilpOptions(horizon_steps=4), bld)
