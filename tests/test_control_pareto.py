"""Cost-CO2 Pareto front of a district MILP instance (epsilon-constraint sweep)."""

from __future__ import annotations

import numpy as np
import pytest

from pedsim.control import (
    ControlError,
    DistrictProblem,
    LinearBuilding,
    MilpOptions,
    pareto_front,
    solve_milp,
)
from pedsim.control.signals import co2_intensity_series, price_series
from pedsim.physics.building import RC5Params


@pytest.fixture(scope="module")
def problem() -> DistrictProblem:
    # one day at 1 h: real NL prices (2016) against the hourly CityLearn intensity, whose
    # cheap hours are not its clean hours; a battery, one EV and two heated zones
    n = 24
    params = RC5Params.from_envelope([150.0, 300.0], [60.0, 90.0], [25.0, 40.0], [40.0, 70.0])
    t_h = np.arange(n)
    return DistrictProblem(
        dt_h=1.0, p_base_kw=10 + 5 * np.exp(-(((t_h - 19) / 2) ** 2)),
        price_eur_per_kwh=price_series("2016-04-12", 3600, n),
        co2_kg_per_kwh=co2_intensity_series("2016-04-12", 3600, n, source="citylearn-2022-us"),
        bat_e0_kwh=np.array([5.0]), bat_e_min_kwh=1.0, bat_e_max_kwh=10.0,
        bat_p_charge_max_kw=5.0, bat_p_discharge_max_kw=5.0, bat_eta_charge=0.95,
        bat_eta_discharge=0.95, ev_e0_kwh=np.array([10.0]), ev_e_max_kwh=50.0, ev_p_max_kw=11.0,
        ev_eta_charge=0.9, ev_plugged=np.where(t_h < 20, 1.0, 0.0)[:, None],
        ev_target_kwh=np.array([35.0]), ev_target_step=np.array([19]),
        building=LinearBuilding.from_rc5(params, 3600), hp_t_m0_degc=np.array([20.5, 20.5]),
        hp_p_max_kw=np.array([3.0, 5.0]), hp_cop=3.0, t_out_degc=5.0, phi_int_w=400.0,
        t_low_degc=20.0, t_high_degc=23.0,
    )  # fmt: skip


def test_front_is_monotone_and_has_both_extremes(problem: DistrictProblem) -> None:
    opt = MilpOptions(terminal_value="none", mip_rel_gap=1e-9)
    front = pareto_front(problem, opt, n_points=7)
    print("\nPareto front (CO2 kg, cost EUR):")
    for c, e in zip(front.co2_kg, front.cost_eur, strict=True):
        print(f"  {c:8.4f}  {e:8.4f}")
    assert front.co2_kg.size >= 3  # a real trade-off
    assert np.all(np.diff(front.co2_kg) > 0)
    assert np.all(np.diff(front.cost_eur) < 0)  # cost does not fall as CO2 falls
    cheapest = solve_milp(problem, opt, objective="cost")
    cleanest = solve_milp(problem, opt, objective="co2")
    assert front.cost_eur[-1] == pytest.approx(cheapest.cost_eur, rel=2e-6)
    assert front.co2_kg[0] == pytest.approx(cleanest.co2_kg, rel=2e-6)  # sweep slack 1e-6
    # lexicographic extremes: the least CO2 at least cost, the least cost at least CO2
    assert front.co2_kg[-1] <= cheapest.co2_kg + 1e-6
    assert front.cost_eur[0] <= cleanest.cost_eur + 1e-6
    assert np.isinf(front.eps_kg[-1]) and len(front.results) == front.co2_kg.size
    for r in front.results:  # every point keeps the services
        assert r.comfort_kh == pytest.approx(0.0, abs=1e-6)
        assert r.ev_shortfall_kwh.sum() == pytest.approx(0.0, abs=1e-6)


def test_sweep_of_an_infeasible_instance_raises(problem: DistrictProblem) -> None:
    hard = MilpOptions(ev_requirement="hard", terminal_value="none")
    bad = DistrictProblem(**{**problem.__dict__, "ev_target_kwh": np.array([500.0])})
    with pytest.raises(ControlError, match="infeasible"):
        pareto_front(bad, hard, n_points=3)
