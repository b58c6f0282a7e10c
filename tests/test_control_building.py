"""The linear zone model of pedsim.control against the 5R1C model it is identified from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pedsim.control import ControlParameterError, LinearBuilding
from pedsim.physics.building import Building5R1C, RC5Params, load_archetypes, step_5r1c

CATALOGUE = Path(__file__).resolve().parents[1] / "models" / "buildings" / "tabula_de.yaml"


@pytest.fixture(scope="module")
def params() -> RC5Params:
    return RC5Params.from_archetypes(list(load_archetypes(CATALOGUE).values()))


def _week(params: RC5Params, dt_s: int, scheme: str) -> tuple[np.ndarray, ...]:
    """A week of the 5R1C zones with the heating switched on and off every 6 hours."""
    n_t = 7 * 86400 // dt_s
    t_h = np.arange(n_t) * dt_s / 3600.0
    t_out = 2.0 + 5.0 * np.sin(2 * np.pi * (t_h - 9.0) / 24.0)
    sun = np.clip(np.sin(2 * np.pi * (t_h - 6.0) / 24.0), 0.0, None)[:, None]
    phi_sol = sun * np.linspace(300.0, 1500.0, params.n)
    phi_int = np.broadcast_to(3.0 * params.a_f_m2, (n_t, params.n))
    on = ((t_h // 6) % 2 == 0)[:, None]
    p_max = on * 60.0 * params.a_f_m2  # W: enough to reach the set point when on
    zone = Building5R1C(params, 20.0, scheme=scheme)
    rows = [
        zone.step(t_out[k], phi_int[k], phi_sol[k], dt_s, t_set_heat_degc=21.0,
                  p_heat_max_w=p_max[k])
        for k in range(n_t)
    ]  # fmt: skip
    t_air = np.array([r.t_air_degc for r in rows])
    phi_hc = np.array([r.phi_hc_w for r in rows])
    return t_out, phi_int, phi_sol, phi_hc, t_air


@pytest.mark.parametrize(
    ("dt_s", "scheme", "rmse_max"),
    [(3600, "exact", 1e-9), (900, "exact", 1e-9), (3600, "crank_nicolson", 1e-9),
     (7200, "exact", 0.05)],
)  # fmt: skip
def test_linear_model_reproduces_5r1c_week(
    params: RC5Params, dt_s: int, scheme: str, rmse_max: float
) -> None:
    t_out, phi_int, phi_sol, phi_hc, t_air = _week(params, dt_s, scheme)
    assert (phi_hc > 0).mean() > 0.3  # heating really switches on and off
    assert (phi_hc == 0).mean() > 0.3
    model = LinearBuilding.from_rc5(params, dt_s, scheme=scheme)
    _, t_lin = model.simulate(20.0, t_out, phi_int, phi_sol, phi_hc)
    rmse = np.sqrt(np.mean((t_lin - t_air) ** 2, axis=0))
    span = t_air.max() - t_air.min()
    print(
        f"\nlinear vs 5R1C, week at {dt_s} s ({scheme}): zone-temperature RMSE per zone "
        f"{np.array2string(rmse, precision=3)} K (max {rmse.max():.2e} K; temperatures span "
        f"{span:.1f} K)"
    )
    # exact as long as the heating power is constant within the step; with two 1-h
    # sub-steps per step the thermostat changes power inside the step (small error)
    assert rmse.max() < rmse_max
    assert rmse.max() < 0.3


def test_coefficients_match_step_5r1c_and_are_physical(params: RC5Params) -> None:
    model = LinearBuilding.from_rc5(params, 900)
    assert np.all((model.a > 0) & (model.a < 1))
    # steady state: u constant, θ = a θ + b u  =>  θ* = b u / (1 - a); with no gains and no
    # heating the zone settles at the outdoor temperature
    assert np.allclose(model.b[:, 0] / (1 - model.a), 1.0, rtol=1e-9)
    assert np.all(model.b[:, 3] > 0) and np.all(model.d[:, 3] > 0)  # heating warms
    rng = np.random.default_rng(4)
    tm0 = rng.uniform(15, 22, params.n)
    te, gi, gs, hc = (rng.uniform(lo, hi, params.n) for lo, hi in
                      ((-10, 10), (0, 500), (0, 2000), (0, 5000)))  # fmt: skip
    ref = step_5r1c(params, tm0, te, gi, gs, 900, t_set_heat_degc=1e4, t_set_cool_degc=1e4,
                    p_heat_max_w=hc, p_cool_max_w=0.0)  # fmt: skip
    tm1, t_air = model.step(tm0, te, gi, gs, hc)
    np.testing.assert_allclose(tm1, ref.t_m_end_degc, atol=1e-10)
    np.testing.assert_allclose(t_air, ref.t_air_degc, atol=1e-10)
    np.testing.assert_allclose(model.t_mass_from_air(t_air, te, gi, gs, hc), tm0, atol=1e-9)
    sub = model.subset([2, 0])
    assert sub.n == 2 and sub.names == (params.names[2], params.names[0])


def test_invalid_model_is_rejected() -> None:
    with pytest.raises(ControlParameterError, match=r"LinearBuilding.a"):
        LinearBuilding(900.0, np.array([1.2]), np.zeros((1, 4)), np.ones(1), np.zeros((1, 4)))
    with pytest.raises(ControlParameterError, match=r"LinearBuilding.b: shape \(1, 3\)"):
        LinearBuilding(900.0, np.array([0.9]), np.zeros((1, 3)), np.ones(1), np.zeros((1, 4)))
    with pytest.raises(ControlParameterError, match=r"dt_s=-1"):
        LinearBuilding.from_rc5(RC5Params.from_envelope(100.0, 50.0, 20.0, 30.0), -1)
