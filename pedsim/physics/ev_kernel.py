"""Compiled step of an EV fleet (the inner loop of :meth:`pedsim.physics.ev.EVFleet.step`).

:func:`advance_fleet` walks each EV through the plugged-in segments of its sessions inside
the step, in the order the former vectorised form processed them (round by round), with
the same formulas in the same order, so the results are identical to it (the tests keep
that form as the reference). No input checks.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from pedsim.physics.battery_kernel import clip_scalar

__all__ = ["advance_fleet"]

#: Mode codes, as positions in :data:`pedsim.physics.ev.MODES` (``controlled`` is 2).
_UNC, _DEL, _V2G = 0, 1, 3


@njit(cache=True)
def _segment(
    mode: int,
    ee: float,
    cap: float,
    d: float,
    req: float,
    s0: float,
    s1: float,
    rate_c: float,
    soc_min: float,
    soc_max: float,
    p_dis: float,
    eta_c: float,
    eta_d: float,
    p_seg: float,
) -> float:
    """Change of stored energy of one EV over one plugged-in segment ``[s0, s1)``."""
    h = (s1 - s0) / 3600.0
    hi = max(min(rate_c * h, soc_max * cap - ee), 0.0)
    if mode == _UNC:
        return hi
    need = max(req - ee, 0.0)
    if mode == _DEL:
        # full power from the latest start time onwards
        t_late = d - need / rate_c * 3600.0
        late = rate_c * max(s1 - max(s0, t_late), 0.0) / 3600.0
        return min(late, min(need, hi))  # noqa: PLW3301 (numpy's order)
    # controlled / v2g: set-point spread over the plugged time, clipped, with a floor
    floor = req - rate_c * (d - s1) / 3600.0 - ee
    lo_mode = 0.0
    if mode == _V2G:
        lo_mode = max(-p_dis / eta_d * h, min(soc_min * cap - ee, 0.0))
    lo = min(max(floor, lo_mode), hi)
    de_set = p_seg * eta_c * h if p_seg >= 0.0 else p_seg / eta_d * h
    return clip_scalar(de_set, lo, hi)


@njit(cache=True)
def advance_fleet(
    t0: float,
    dt_s: float,
    p_set: np.ndarray,
    e_kwh: np.ndarray,
    state: np.ndarray,
    stop: np.ndarray,
    sess: np.ndarray,
    mode: np.ndarray,
    par: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Advance every EV over ``[t0, t0 + dt_s)`` without changing the inputs.

    Parameters
    ----------
    t0, dt_s : float
        Start and length of the step, s.
    p_set : numpy.ndarray
        Mean AC set-point per EV, kW (no NaN).
    e_kwh : numpy.ndarray
        Stored energy per EV, kWh.
    state : numpy.ndarray
        ``(2, n)`` int64: session in progress (-1: none) and first session not yet over.
    stop : numpy.ndarray
        End (exclusive) of each EV's sessions in ``sess``.
    sess : numpy.ndarray
        ``(4, m)``: sessions sorted by EV and arrival, rows arrival and departure (s),
        stored energy at arrival and required at departure (kWh).
    mode : numpy.ndarray
        Mode code per EV (int64).
    par : numpy.ndarray
        ``(7, n)``: rows ``battery_kwh, charger_kw, p_discharge_max_kw, eta_charge,
        eta_discharge, soc_min, soc_max`` (see :class:`~pedsim.physics.ev.EVFleet`).

    Returns
    -------
    out : numpy.ndarray
        ``(11, n)``: rows ``p_kw, soc, plugged, e_required_kwh, e_unmet_kwh,
        n_departures, e_charged_kwh, e_discharged_kwh, e_stored_delta_kwh, e_loss_kwh``
        (as ``EVStepResult``) and the new stored energy.
    new_state : numpy.ndarray
        ``(2, n)``: the new ``state``.
    bad : int
        First EV whose power is not finite, or -1.
    """
    n = e_kwh.shape[0]
    t1 = t0 + dt_s
    arr, dep, e_arr, e_req = sess[0], sess[1], sess[2], sess[3]
    battery_kwh, charger_kw, p_dis_max, eta_c, eta_d = par[0], par[1], par[2], par[3], par[4]
    soc_min, soc_max = par[5], par[6]
    n_sess = arr.shape[0]
    out = np.zeros((11, n))
    plugged_s, e_in, e_out, de_tot = out[2], out[6], out[7], out[8]
    unmet, n_dep, e_req_end, e = out[4], out[5], out[3], out[10]
    e[:] = e_kwh
    new_state = state.copy()
    act, pos = new_state[0], new_state[1]
    for i in range(n):
        # plugged-in time first: the set-point is spread over all of it
        s = pos[i]
        while s < stop[i] and arr[s] < t1:
            plugged_s[i] += min(dep[s], t1) - max(arr[s], t0)
            if not dep[s] <= t1:
                break
            s += 1
        rate_c = charger_kw[i] * eta_c[i]
        while pos[i] < stop[i] and arr[pos[i]] < t1:
            s = pos[i]
            if act[i] != s:
                e[i] = e_arr[s]
                act[i] = s
            ee, d, req = e[i], dep[s], e_req[s]
            s0, s1 = max(arr[s], t0), min(d, t1)
            p_seg = p_set[i] * dt_s / plugged_s[i]
            de = _segment(
                mode[i], ee, battery_kwh[i], d, req, s0, s1, rate_c, soc_min[i], soc_max[i],
                p_dis_max[i], eta_c[i], eta_d[i], p_seg,
            )  # fmt: skip
            e_ac = de / eta_c[i] if de >= 0.0 else de * eta_d[i]
            e[i] = ee + de
            e_in[i] += max(e_ac, 0.0)
            e_out[i] += max(-e_ac, 0.0)
            de_tot[i] += de
            if not d <= t1:
                break
            unmet[i] += max(req - e[i], 0.0)
            n_dep[i] += 1.0
            pos[i] += 1
        if n_sess:
            s_now = min(pos[i], n_sess - 1)
            if pos[i] < stop[i] and arr[s_now] < t1:
                e_req_end[i] = max(e_req[s_now] - e[i], 0.0)
    dt_h = dt_s / 3600.0
    bad = -1
    for i in range(n):
        out[0, i] = (e_in[i] - e_out[i]) / dt_h
        out[1, i] = e[i] / battery_kwh[i]
        plugged_s[i] = plugged_s[i] / dt_s
        out[9, i] = e_in[i] - e_out[i] - de_tot[i]
        if bad < 0 and not np.isfinite(out[0, i]):
            bad = i
    return out, new_state, bad
