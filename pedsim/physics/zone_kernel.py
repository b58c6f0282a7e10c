"""Fast inner-loop form of the ISO 13790 5R1C step for simulators.

:class:`ZoneKernel` computes exactly what :func:`pedsim.physics.building.step_5r1c`
computes (scheme ``exact``, one sub-step), with the parameter-only terms of the network
evaluated once; the tests compare the two.
"""

from __future__ import annotations

import numpy as np

from pedsim.physics.building import H_MS_W_M2K, TRIAL_W_M2, RC5Params


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

    def trial(self, tm0: np.ndarray, te: float, phi_int: np.ndarray, phi_sol: np.ndarray):
        """Rows (θm_end, θm_mean, θs, θair) without and with the trial power, (4, 2, N)."""
        p = self.p
        g = 0.5 * phi_int + phi_sol
        phi_ia = 0.5 * phi_int + self.phi_try
        phi_m = self.f_m * g
        phi_st = self.f_st * g
        supply = te + phi_ia / p.h_ve_w_k
        a = phi_st + p.h_tr_w_w_k * te
        phi_mtot = phi_m + p.h_tr_em_w_k * te + self.h3 * (a + self.h1 * supply) / self.h2
        t_inf = phi_mtot / self.hx
        tm1 = t_inf + (tm0 - t_inf) * self.e_end
        tm = t_inf + (tm0 - t_inf) * self.e_mean
        ts = (p.h_tr_ms_w_k * tm + phi_st + p.h_tr_w_w_k * te + self.h1 * supply) / self.d_s
        tair = (p.h_tr_is_w_k * ts + p.h_ve_w_k * te + phi_ia) / self.d_air
        return np.stack((tm1, tm, ts, tair))

    def demand(self, s: np.ndarray, t_set_heat: np.ndarray, t_set_cool: np.ndarray,
               p_heat_max: np.ndarray, p_cool_max: np.ndarray) -> tuple:  # fmt: skip
        """Ideal power (C.4.2) within the limits and before them, W."""
        s0, s10 = s[3, 0], s[3, 1]
        per_w = (s10 - s0) / self.trial_w
        heat = (s0 < t_set_heat) & (p_heat_max > 0.0)
        cool = (s0 > t_set_cool) & (p_cool_max > 0.0) & ~heat
        demand = np.where(heat, t_set_heat - s0, np.where(cool, t_set_cool - s0, 0.0)) / per_w
        phi = np.where(
            heat,
            np.minimum(demand, p_heat_max),
            np.where(cool, np.maximum(demand, -p_cool_max), 0.0),
        )
        return phi, demand

    def apply(self, s: np.ndarray, phi: np.ndarray, te: float) -> tuple:
        """State rows with heating ``phi`` and the losses (q_ve, q_tr_w, q_tr_em), W."""
        p = self.p
        s0, s10 = s[:, 0], s[:, 1]
        st = s0 + (phi / self.trial_w) * (s10 - s0)
        q = (p.h_ve_w_k * (st[3] - te), p.h_tr_w_w_k * (st[2] - te), p.h_tr_em_w_k * (st[1] - te))
        return st, q
