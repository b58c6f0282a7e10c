"""District MILP: hand-solvable instances with known optima, heat pumps against the 5R1C model."""

from __future__ import annotations

import numpy as np
import pytest

from pedsim.control import (
    ControlParameterError,
    DistrictProblem,
    Forecast,
    LinearBuilding,
    Measurements,
    MilpOptions,
    build_problem,
    solve_milp,
)
from pedsim.physics.building import RC5Params, step_5r1c

TOL = 1e-6
NO_TERMINAL = MilpOptions(terminal_value="none")


def _battery(**kw: object) -> dict:
    base = {"bat_e0_kwh": np.array([0.0]), "bat_e_min_kwh": 0.0, "bat_e_max_kwh": 1.0,
            "bat_p_charge_max_kw": 1.0, "bat_p_discharge_max_kw": 1.0}  # fmt: skip
    return base | kw


def test_two_hour_battery_arbitrage() -> None:
    # 10 then 50 EUR/MWh, 1 kWh lossless battery, 1 kW load in hour 2: buy the hour-2 energy in
    # hour 1 (cost 1 kWh x 0.01 EUR/kWh), run hour 2 from the battery
    p = DistrictProblem(dt_h=1.0, p_base_kw=np.array([0.0, 1.0]),
                        price_eur_per_kwh=np.array([0.010, 0.050]), co2_kg_per_kwh=np.zeros(2),
                        **_battery())  # fmt: skip
    r = solve_milp(p, NO_TERMINAL)
    assert r.status == "optimal"
    assert r.objective == pytest.approx(0.01, abs=TOL)
    assert r.cost_eur == pytest.approx(0.01, abs=TOL)
    np.testing.assert_allclose(r.p_bat_kw[:, 0], [1.0, -1.0], atol=TOL)
    np.testing.assert_allclose(r.p_grid_kw, [1.0, 0.0], atol=TOL)
    np.testing.assert_allclose(r.e_bat_kwh[:, 0], [0.0, 1.0, 0.0], atol=TOL)
    # with losses (eta 0.9 each way): 1 kWh bought at the 1 kW AC limit stores 0.9 kWh and
    # returns 0.81 kWh in hour 2; the remaining 0.19 kWh come from the grid at 50 EUR/MWh
    p.bat_eta_charge[:] = 0.9
    p.bat_eta_discharge[:] = 0.9
    r = solve_milp(p, NO_TERMINAL)
    assert r.objective == pytest.approx(0.01 * 1.0 + 0.05 * 0.19, abs=TOL)
    np.testing.assert_allclose(r.p_bat_kw[:, 0], [1.0, -0.81], atol=TOL)
    np.testing.assert_allclose(r.e_bat_kwh[:, 0], [0.0, 0.9, 0.0], atol=TOL)


@pytest.mark.parametrize(
    ("binaries", "objective", "p_bat", "n_bin"),
    [("always", -0.0625, 0.625, 1), ("auto", -0.0625, 0.625, 1), ("never", -0.076, 0.76, 0)],
)
def test_exclusivity_binaries_under_negative_prices(
    binaries: str, objective: float, p_bat: float, n_bin: int
) -> None:
    # one hour at -100 EUR/MWh for import and export: consuming pays. The battery (0.5 of
    # 1 kWh, 1 kW, eta 0.8 each way) can only absorb 0.5 / 0.8 = 0.625 kWh. Charging at 1 kW
    # while discharging 0.24 kW would burn the excess in conversion losses (import 0.76 kWh)
    # - physically impossible, excluded by the binary.
    p = DistrictProblem(dt_h=1.0, p_base_kw=np.zeros(1), price_eur_per_kwh=np.array([-0.1]),
                        feed_in_eur_per_kwh=np.array([-0.1]), co2_kg_per_kwh=np.zeros(1),
                        **_battery(bat_e0_kwh=np.array([0.5]), bat_eta_charge=0.8,
                                   bat_eta_discharge=0.8))  # fmt: skip
    r = solve_milp(p, MilpOptions(terminal_value="none", binaries=binaries))
    assert r.status == "optimal"
    assert r.objective == pytest.approx(objective, abs=TOL)
    assert r.p_bat_kw[0, 0] == pytest.approx(p_bat, abs=TOL)
    assert r.n_binaries == n_bin  # auto: added after the relaxation charged and discharged
    if binaries != "never":
        assert r.e_bat_kwh[1, 0] == pytest.approx(1.0, abs=TOL)


def test_import_export_binary_when_import_is_cheaper_than_feed_in() -> None:
    # price below the feed-in tariff: importing and exporting at once would pay without limit
    p = DistrictProblem(dt_h=1.0, p_base_kw=np.array([2.0]),
                        price_eur_per_kwh=np.array([-0.05]), feed_in_eur_per_kwh=np.array([0.0]),
                        co2_kg_per_kwh=np.zeros(1))  # fmt: skip
    r = solve_milp(p, NO_TERMINAL)
    assert r.status == "optimal"
    assert r.objective == pytest.approx(-0.1, abs=TOL)
    assert r.p_grid_kw[0] == pytest.approx(2.0, abs=TOL)


def _ev_measurements(need_kwh: float, departure_s: float, **kw: object) -> Measurements:
    return Measurements(
        t_s=0, dt_s=3600, p_trafo_kw=0.0, ev_soc=[0.2], ev_plugged=[1.0], ev_battery_kwh=[50.0],
        ev_p_max_kw=[7.0], ev_e_required_kwh=[need_kwh], ev_departure_s=[departure_s],
        ev_eta_charge=[0.9], **kw,
    )  # fmt: skip


def _forecast(price: list[float], base: list[float] | None = None) -> Forecast:
    n = len(price)
    return Forecast(t_s=0, dt_s=3600, p_base_kw=np.zeros(n) if base is None else np.array(base),
                    price_eur_per_kwh=np.array(price), co2_kg_per_kwh=np.zeros(n))  # fmt: skip


def test_ev_departure_requirement_is_met_at_least_cost() -> None:
    # 10 kWh stored by departure at 2.5 h, 7 kW AC, eta 0.9: 11.111 kWh from the grid. Prices
    # 30, 10, 20, 5 EUR/MWh; the EV is plugged for half of hour 3 and gone in hour 4.
    m = _ev_measurements(10.0, 9000.0)
    opt = MilpOptions(horizon_steps=4, terminal_value="none", loss_bias=False)
    problem, active = build_problem(m, _forecast([0.030, 0.010, 0.020, 0.005]), opt)
    np.testing.assert_array_equal(active, [0])
    np.testing.assert_allclose(problem.ev_plugged[:, 0], [1.0, 1.0, 0.5, 0.0])
    r = solve_milp(problem, opt)
    rest = 10.0 / 0.9 - 7.0 - 3.5
    assert r.status == "optimal"
    np.testing.assert_allclose(r.p_ev_kw[:, 0], [rest, 7.0, 3.5, 0.0], atol=TOL)
    assert r.objective == pytest.approx(0.03 * rest + 0.07 + 0.07, abs=TOL)
    assert r.e_ev_kwh[3, 0] - r.e_ev_kwh[0, 0] == pytest.approx(10.0, abs=TOL)


def test_ev_departing_after_the_horizon_needs_only_what_cannot_follow() -> None:
    # departure at 4 h, horizon 2 h: 6.3 kWh/h can still be stored in hours 3-4, so of the
    # 20 kWh needed 20 - 12.6 = 7.4 kWh must be stored within the horizon
    m = _ev_measurements(20.0, 4 * 3600.0)
    opt = MilpOptions(horizon_steps=2, terminal_value="none", loss_bias=False)
    problem, _ = build_problem(m, _forecast([0.03, 0.01, 0.0, 0.0]), opt)
    r = solve_milp(problem, opt)
    grid = 7.4 / 0.9
    np.testing.assert_allclose(r.p_ev_kw[:, 0], [grid - 7.0, 7.0], atol=TOL)
    assert r.objective == pytest.approx(0.03 * (grid - 7.0) + 0.07, abs=TOL)
    m = _ev_measurements(10.0, 4 * 3600.0)  # fully reachable later: nothing now
    problem, _ = build_problem(m, _forecast([0.03, 0.01, 0.0, 0.0]), opt)
    assert problem.ev_target_step[0] == -1
    assert np.allclose(solve_milp(problem, opt).p_ev_kw, 0.0)


def test_impossible_ev_requirement_hard_is_infeasible_soft_is_penalised() -> None:
    m = _ev_measurements(30.0, 7200.0)  # 2 h at 6.3 kWh/h stored: 12.6 kWh at most
    for req, status in (("hard", "infeasible"), ("soft", "optimal")):
        opt = MilpOptions(horizon_steps=2, ev_requirement=req, terminal_value="none")
        problem, _ = build_problem(m, _forecast([0.03, 0.01]), opt)
        r = solve_milp(problem, opt)
        assert r.status == status
        assert r.success == (status == "optimal")
    assert r.ev_shortfall_kwh[0] == pytest.approx(30.0 - 12.6, abs=TOL)
    assert r.penalty == pytest.approx(10.0 * (30.0 - 12.6), abs=1e-5)


def test_transformer_limit_hard_and_soft() -> None:
    # 5 then 12 kW, import limit 10 kW, 4 kWh lossless battery: 2 kWh bought in hour 1 and
    # released in hour 2, no more (hour 1 is dearer)
    kw = {"dt_h": 1.0, "p_base_kw": np.array([5.0, 12.0]),
          "price_eur_per_kwh": np.array([0.05, 0.04]), "co2_kg_per_kwh": np.zeros(2)}  # fmt: skip
    p = DistrictProblem(**kw, **_battery(bat_e_max_kwh=4.0, bat_p_charge_max_kw=4.0,
                                         bat_p_discharge_max_kw=4.0))  # fmt: skip
    hard = MilpOptions(import_limit_kw=10.0, limits="hard", terminal_value="none")
    r = solve_milp(p, hard)
    assert r.status == "optimal"
    np.testing.assert_allclose(r.p_bat_kw[:, 0], [2.0, -2.0], atol=TOL)
    np.testing.assert_allclose(r.p_grid_kw, [7.0, 10.0], atol=TOL)
    assert r.objective == pytest.approx(0.75, abs=TOL)
    small = DistrictProblem(**kw, **_battery())  # 1 kWh, 1 kW: cannot keep the limit
    assert solve_milp(small, hard).status == "infeasible"
    soft = MilpOptions(import_limit_kw=10.0, terminal_value="none")
    r = solve_milp(small, soft)
    np.testing.assert_allclose(r.p_grid_kw, [6.0, 11.0], atol=TOL)
    assert r.limit_excess_kwh == pytest.approx(1.0, abs=TOL)
    assert r.objective == pytest.approx(0.30 + 0.44 + 10.0, abs=TOL)


def test_co2_and_weighted_objectives() -> None:
    # import 1 kWh in one of two hours: hour 1 cheap and dirty, hour 2 dear and clean
    p = DistrictProblem(dt_h=1.0, p_base_kw=np.array([0.0, 1.0]),
                        price_eur_per_kwh=np.array([0.01, 0.05]),
                        co2_kg_per_kwh=np.array([0.8, 0.2]), **_battery())  # fmt: skip
    by = {o: solve_milp(p, MilpOptions(objective=o, terminal_value="none",
                                       co2_weight_eur_per_kg=0.1))
          for o in ("cost", "co2", "weighted")}  # fmt: skip
    assert by["cost"].co2_kg == pytest.approx(0.8, abs=TOL)
    assert by["co2"].co2_kg == pytest.approx(0.2, abs=TOL)
    assert by["co2"].objective == pytest.approx(0.2, abs=TOL)
    # weighted: hour 1 costs 0.01 + 0.08, hour 2 0.05 + 0.02 per kWh -> hour 2
    assert by["weighted"].objective == pytest.approx(0.07, abs=TOL)


def test_heat_pump_plan_is_reproduced_by_the_5r1c_zone() -> None:
    params = RC5Params.from_envelope(150.0, 60.0, 25.0, 40.0, "medium")
    dt = 3600
    zone = LinearBuilding.from_rc5(params, dt)
    n_t = 12
    price = np.where(np.arange(n_t) < 6, 0.05, 0.30)  # cheap first half: pre-heat
    t_out = np.full(n_t, -5.0)
    p = DistrictProblem(
        dt_h=1.0, p_base_kw=np.zeros(n_t), price_eur_per_kwh=price, co2_kg_per_kwh=np.zeros(n_t),
        building=zone, hp_t_m0_degc=np.array([20.0]), hp_p_max_kw=np.array([3.0]),
        hp_cop=np.full((n_t, 1), 3.0), t_out_degc=t_out, phi_int_w=450.0, phi_sol_w=0.0,
        t_low_degc=20.0, t_high_degc=23.0,
    )  # fmt: skip
    r = solve_milp(p, MilpOptions(terminal_value="none"))
    assert r.status == "optimal" and r.comfort_kh == pytest.approx(0.0, abs=TOL)
    heat_w = 1e3 * 3.0 * r.p_hp_kw[:, 0]
    assert heat_w[:6].sum() > heat_w[6:].sum()  # heat is bought while it is cheap
    assert r.t_air_degc[5, 0] > 20.5  # the zone is pre-heated
    tm = np.array([20.0])
    for k in range(n_t):  # the 5R1C zone, heated with the planned power, follows the plan
        res = step_5r1c(params, tm, -5.0, 450.0, 0.0, dt, t_set_heat_degc=1e4,
                        t_set_cool_degc=1e4, p_heat_max_w=heat_w[k])  # fmt: skip
        assert res.t_air_degc[0] == pytest.approx(r.t_air_degc[k, 0], abs=1e-8)
        assert 20.0 - 1e-6 <= res.t_air_degc[0] <= 23.0 + 1e-6
        tm = res.t_m_end_degc
    # and the plan is cheaper than heating to the lower bound step by step
    base = DistrictProblem(**{**p.__dict__, "price_eur_per_kwh": np.full(n_t, 0.1)})
    flat = solve_milp(base, MilpOptions(terminal_value="none"))
    assert flat.p_hp_kw.sum() <= r.p_hp_kw.sum() + TOL  # pre-heating costs extra energy...
    assert r.cost_eur < (price * flat.p_hp_kw[:, 0]).sum()  # ...but saves money


def test_options_validation_names_field_and_value() -> None:
    with pytest.raises(ControlParameterError, match=r"objective='money'"):
        MilpOptions(objective="money")
    with pytest.raises(ControlParameterError, match=r"import_limit_kw=-5"):
        MilpOptions(import_limit_kw=-5.0)
    with pytest.raises(ControlParameterError, match=r"horizon_steps=0"):
        MilpOptions(horizon_steps=0)
    with pytest.raises(ControlParameterError, match=r"horizon_steps=2.5: expected an integer"):
        MilpOptions(horizon_steps=2.5)
    with pytest.raises(ControlParameterError, match=r"building"):
        DistrictProblem(dt_h=1.0, p_base_kw=np.zeros(2), price_eur_per_kwh=np.zeros(2),
                        co2_kg_per_kwh=np.zeros(2), hp_t_m0_degc=np.array([20.0]))  # fmt: skip
