"""The compiled 5R1C trial step equals its numpy form bit for bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pedsim.physics.building import RC5Params, load_archetypes
from pedsim.physics.zone_kernel import ZoneKernel

CATALOGUE = Path(__file__).resolve().parents[1] / "models" / "buildings" / "tabula_de.yaml"


@pytest.fixture(scope="module")
def params() -> RC5Params:
    return RC5Params.from_archetypes(list(load_archetypes(CATALOGUE).values()))


def numpy_trial(k: ZoneKernel, tm0: np.ndarray, te: float, gi: np.ndarray, gs: np.ndarray):
    """``ZoneKernel.trial`` as numpy array expressions (its former implementation)."""
    p = k.p
    g = 0.5 * gi + gs
    phi_ia = 0.5 * gi + k.phi_try
    phi_m = k.f_m * g
    phi_st = k.f_st * g
    supply = te + phi_ia / p.h_ve_w_k
    a = phi_st + p.h_tr_w_w_k * te
    phi_mtot = phi_m + p.h_tr_em_w_k * te + k.h3 * (a + k.h1 * supply) / k.h2
    t_inf = phi_mtot / k.hx
    tm1 = t_inf + (tm0 - t_inf) * k.e_end
    tm = t_inf + (tm0 - t_inf) * k.e_mean
    ts = (p.h_tr_ms_w_k * tm + phi_st + p.h_tr_w_w_k * te + k.h1 * supply) / k.d_s
    tair = (p.h_tr_is_w_k * ts + p.h_ve_w_k * te + phi_ia) / k.d_air
    return np.stack((tm1, tm, ts, tair))


@pytest.mark.parametrize("seed", range(5))
def test_trial_equals_numpy_form(seed: int, params: RC5Params) -> None:
    rng = np.random.default_rng(seed)
    k = ZoneKernel(params, float(rng.choice([60.0, 900.0, 3600.0])))
    n = params.n
    for _ in range(50):
        tm0 = rng.uniform(5, 30, n)
        te = float(rng.uniform(-20, 35))
        gi, gs = rng.uniform(0, 2000, n), rng.uniform(0, 5000, n)
        got = k.trial(tm0, te, gi, gs)
        expected = numpy_trial(k, tm0, te, gi, gs)
        assert got.tobytes() == expected.tobytes()


def numpy_demand(
    k: ZoneKernel,
    s: np.ndarray,
    t_heat: np.ndarray,
    t_cool: np.ndarray,
    p_heat_max: np.ndarray,
    p_cool_max: np.ndarray,
) -> tuple:
    """``ZoneKernel.demand`` as numpy array expressions (its former implementation)."""
    s0, s10 = s[3, 0], s[3, 1]
    per_w = (s10 - s0) / k.trial_w
    heat = (s0 < t_heat) & (p_heat_max > 0.0)
    cool = (s0 > t_cool) & (p_cool_max > 0.0) & ~heat
    demand = np.where(heat, t_heat - s0, np.where(cool, t_cool - s0, 0.0)) / per_w
    phi = np.where(
        heat, np.minimum(demand, p_heat_max), np.where(cool, np.maximum(demand, -p_cool_max), 0.0)
    )
    return phi, demand


def numpy_apply(k: ZoneKernel, s: np.ndarray, phi: np.ndarray, te: float) -> tuple:
    """``ZoneKernel.apply`` as numpy array expressions (its former implementation)."""
    p = k.p
    s0, s10 = s[:, 0], s[:, 1]
    st = s0 + (phi / k.trial_w) * (s10 - s0)
    q = (p.h_ve_w_k * (st[3] - te), p.h_tr_w_w_k * (st[2] - te), p.h_tr_em_w_k * (st[1] - te))
    return st, q


@pytest.mark.parametrize("seed", range(5))
def test_demand_and_apply_equal_numpy_form(seed: int, params: RC5Params) -> None:
    rng = np.random.default_rng(seed)
    k = ZoneKernel(params, 900.0)
    n = params.n
    for _ in range(50):
        te = float(rng.uniform(-20, 35))
        s = k.trial(rng.uniform(5, 30, n), te, rng.uniform(0, 2000, n), rng.uniform(0, 5000, n))
        t_heat = rng.uniform(15, 25, n)
        t_cool = t_heat + rng.uniform(0, 6, n)
        p_heat = rng.choice([0.0, 1e3, 5e3, np.inf], n)
        p_cool = rng.choice([0.0, 2e3, np.inf], n)
        got = k.demand(s, t_heat, t_cool, p_heat, p_cool)
        expected = numpy_demand(k, s, t_heat, t_cool, p_heat, p_cool)
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_array_equal(g, e)
        st, q = k.apply(s, got[0], te)
        st_e, q_e = numpy_apply(k, s, got[0], te)
        np.testing.assert_array_equal(st, st_e)
        for g, e in zip(q, q_e, strict=True):
            np.testing.assert_array_equal(g, e)
