"""Fast inner-loop form of the ISO 13790 5R1C step for simulators.

:class:`ZoneKernel` computes exactly what :func:`pedsim.physics.building.step_5r1c`
computes (scheme ``exact``, one sub-step), with the parameter-only terms of the network
evaluated once; the tests compare the two. The per-zone work of :meth:`ZoneKernel.trial`,
:meth:`~ZoneKernel.demand` and :meth:`~ZoneKernel.apply` is compiled with numba, with the
operations of the numpy form in the same order (bit-identical results, see
``tests/test_zone_kernel.py``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from pedsim.physics.building import H_MS_W_M2K, TRIAL_W_M2, RC5Params


@njit(cache=True)
def _trial(tm0: np.ndarray, te: float, gi: np.ndarray, gs: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Compiled :meth:`ZoneKernel.trial`: the same operations in the same order per zone.

    ``c`` holds the rows ``h_ve, h_tr_w, h_tr_em, h_tr_ms, h_tr_is, f_m, f_st, h1, h2, h3,
    hx, e_end, e_mean, d_s, d_air, trial_w`` of :class:`ZoneKernel`.
    """
    n = tm0.shape[0]
    out = np.empty((4, 2, n))
    for i in range(n):
        h_ve, h_tr_w, h_tr_em, h_tr_ms, h_tr_is = c[0, i], c[1, i], c[2, i], c[3, i], c[4, i]
        f_m, f_st, h1, h2, h3, hx = c[5, i], c[6, i], c[7, i], c[8, i], c[9, i], c[10, i]
        e_end, e_mean, d_s, d_air = c[11, i], c[12, i], c[13, i], c[14, i]
        g = 0.5 * gi[i] + gs[i]
        phi_m = f_m * g
        phi_st = f_st * g
        a = phi_st + h_tr_w * te
        for k in range(2):
            phi_ia = 0.5 * gi[i] + (c[15, i] if k else 0.0)
            supply = te + phi_ia / h_ve
            phi_mtot = phi_m + h_tr_em * te + h3 * (a + h1 * supply) / h2
            t_inf = phi_mtot / hx
            d = tm0[i] - t_inf
            tm = t_inf + d * e_mean
            ts = (h_tr_ms * tm + phi_st + h_tr_w * te + h1 * supply) / d_s
            out[0, k, i] = t_inf + d * e_end
            out[1, k, i] = tm
            out[2, k, i] = ts
            out[3, k, i] = (h_tr_is * ts + h_ve * te + phi_ia) / d_air
    return out


@njit(cache=True)
def _minimum(a: float, b: float) -> float:
    """``numpy.minimum`` of two floats (NaN propagating)."""
    return a if a <= b or np.isnan(a) else b


@njit(cache=True)
def _maximum(a: float, b: float) -> float:
    """``numpy.maximum`` of two floats (NaN propagating)."""
    return a if a >= b or np.isnan(a) else b


@njit(cache=True)
def _demand(
    s: np.ndarray,
    t_heat: np.ndarray,
    t_cool: np.ndarray,
    p_heat_max: np.ndarray,
    p_cool_max: np.ndarray,
    trial_w: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Compiled :meth:`ZoneKernel.demand`, the same operations per zone."""
    n = trial_w.shape[0]
    phi = np.empty(n)
    demand = np.empty(n)
    for i in range(n):
        s0 = s[3, 0, i]
        per_w = (s[3, 1, i] - s0) / trial_w[i]
        heat = s0 < t_heat[i] and p_heat_max[i] > 0.0
        cool = s0 > t_cool[i] and p_cool_max[i] > 0.0 and not heat
        num = t_heat[i] - s0 if heat else (t_cool[i] - s0 if cool else 0.0)
        d = num / per_w
        demand[i] = d
        if heat:
            phi[i] = _minimum(d, p_heat_max[i])
        elif cool:
            phi[i] = _maximum(d, -p_cool_max[i])
        else:
            phi[i] = 0.0
    return phi, demand


@njit(cache=True)
def _apply(
    s: np.ndarray, phi: np.ndarray, te: float, c: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Compiled :meth:`ZoneKernel.apply`: state rows (4, N) and losses (3, N)."""
    n = phi.shape[0]
    st = np.empty((4, n))
    q = np.empty((3, n))
    for i in range(n):
        f = phi[i] / c[15, i]
        for r in range(4):
            st[r, i] = s[r, 0, i] + f * (s[r, 1, i] - s[r, 0, i])
        q[0, i] = c[0, i] * (st[3, i] - te)
        q[1, i] = c[1, i] * (st[2, i] - te)
        q[2, i] = c[2, i] * (st[1, i] - te)
    return st, q


def _vec(x: np.ndarray, n: int) -> np.ndarray:
    """``x`` as a contiguous float array of length ``n`` (no copy when it is one)."""
    if type(x) is np.ndarray and x.dtype == np.float64 and x.shape == (n,) and x.flags.c_contiguous:
        return x
    return np.ascontiguousarray(np.broadcast_to(np.asarray(x, dtype=np.float64), (n,)))


class ZoneKernel:
    """:func:`step_5r1c` (scheme ``exact``, one sub-step) for a simulator's inner loop.

    The parameter-only terms of the network are computed once, and the zone response is
    split into the free response with the trial heating power (:meth:`trial`, which needs
    only the step's weather, gains and start state) and the response to the heating
    actually applied (:meth:`apply`), so a second pass with limited heating reuses the
    first. Same formulas in the same order as :func:`step_5r1c`; no input checks.

    Parameters
    ----------
    params : RC5Params
        Network of the N zones.
    dt_s : float
        Step length (s), the only sub-step.
    """

    def __init__(self, params: RC5Params, dt_s: float) -> None:
        p = self.p = params
        self.h = h = float(dt_s)
        self.h1 = h1 = 1.0 / (1.0 / p.h_ve_w_k + 1.0 / p.h_tr_is_w_k)
        self.h2 = h2 = h1 + p.h_tr_w_w_k
        self.h3 = h3 = 1.0 / (1.0 / h2 + 1.0 / p.h_tr_ms_w_k)
        self.f_m = p.a_m_m2 / p.a_t_m2
        self.f_st = 1.0 - p.a_m_m2 / p.a_t_m2 - p.h_tr_w_w_k / (H_MS_W_M2K * p.a_t_m2)
        self.f_gw = p.h_tr_w_w_k / (H_MS_W_M2K * p.a_t_m2)
        self.hx = hx = h3 + p.h_tr_em_w_k
        k = hx * h / p.c_m_j_k
        self.e_end = np.exp(-k)
        self.e_mean = -np.expm1(-k) / k
        self.d_s = p.h_tr_ms_w_k + p.h_tr_w_w_k + h1
        self.d_air = p.h_tr_is_w_k + p.h_ve_w_k
        self.trial_w = TRIAL_W_M2 * p.a_f_m2
        self.phi_try = np.stack((np.zeros(p.n), self.trial_w))  # (2, N): off, trial
        rows = (
            p.h_ve_w_k, p.h_tr_w_w_k, p.h_tr_em_w_k, p.h_tr_ms_w_k, p.h_tr_is_w_k, self.f_m,
            self.f_st, h1, h2, h3, hx, self.e_end, self.e_mean, self.d_s, self.d_air,
            self.trial_w,
        )  # fmt: skip
        self._c = np.vstack([np.broadcast_to(np.asarray(r, dtype=float), (p.n,)) for r in rows])
        # compile or load the compiled forms now rather than in a step
        s = self.trial(np.zeros(p.n), 0.0, np.zeros(p.n), np.zeros(p.n))
        self.apply(
            s, self.demand(s, self.trial_w, self.trial_w, self.trial_w, self.trial_w)[0], 0.0
        )

    def trial(self, tm0: np.ndarray, te: float, phi_int: np.ndarray, phi_sol: np.ndarray):
        """Rows (θm_end, θm_mean, θs, θair) without and with the trial power, (4, 2, N)."""
        return _trial(
            np.ascontiguousarray(tm0, dtype=np.float64), float(te),
            np.ascontiguousarray(phi_int, dtype=np.float64),
            np.ascontiguousarray(phi_sol, dtype=np.float64), self._c,
        )  # fmt: skip

    def demand(self, s: np.ndarray, t_set_heat: np.ndarray, t_set_cool: np.ndarray,
               p_heat_max: np.ndarray, p_cool_max: np.ndarray) -> tuple:  # fmt: skip
        """Ideal power (C.4.2) within the limits and before them, W."""
        n = self.p.n
        return _demand(
            s, _vec(t_set_heat, n), _vec(t_set_cool, n), _vec(p_heat_max, n),
            _vec(p_cool_max, n), self._c[15],
        )  # fmt: skip

    def apply(self, s: np.ndarray, phi: np.ndarray, te: float) -> tuple:
        """State rows with heating ``phi`` and the losses (q_ve, q_tr_w, q_tr_em), W."""
        st, q = _apply(s, _vec(phi, self.p.n), float(te), self._c)
        return st, (q[0], q[1], q[2])
