"""Compiled inner loop of the storage simulator: set-points and one battery step.

:func:`storage_step` computes, for every battery of a
:class:`~pedsim.physics.battery.Battery` group, exactly what
:meth:`pedsim.sims.storage.StorageSim.setpoints` followed by
:meth:`Battery.step <pedsim.physics.battery.Battery.step>` compute (with
:meth:`~pedsim.physics.battery.Battery.feasible_power_kw` and
:func:`~pedsim.physics.battery.self_consumption_setpoint`): the same formulas in the same
order, with numpy's ``clip``, ``bincount`` and (pairwise) ``sum`` reproduced operation by
operation, so the results are identical. The parameter-only decay terms ``a`` and ``tau``
are computed once by the caller (``Battery._decay``). No input checks.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["clip_scalar", "pairwise_sum", "storage_step"]


@njit(cache=True)
def clip_scalar(x: float, lo: float, hi: float) -> float:
    """``numpy.clip`` of one float: ``min(max(x, lo), hi)``, NaN propagating."""
    if not np.isnan(x) and not x > lo:
        x = lo
    if not np.isnan(x) and not x < hi:
        x = hi
    return x


@njit(cache=True)
def _block(a: np.ndarray, lo: int, n: int) -> float:
    """Sum a block of at most 128 values as numpy does (``DOUBLE_pairwise_sum``)."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    while i < n - (n % 8):
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@njit(cache=True)
def pairwise_sum(a: np.ndarray) -> float:
    """``numpy.sum`` of a contiguous 1-D float array, bit for bit.

    numpy sums blocks of up to 128 values with eight accumulators and adds the halves of
    longer arrays recursively; the recursion is unrolled here with an explicit stack
    (numba's cache does not support recursive functions).

    Parameters
    ----------
    a : numpy.ndarray
        Contiguous float64 values.

    Returns
    -------
    float
        ``0.0`` plus numpy's pairwise sum of ``a``.
    """
    n = a.shape[0]
    if n <= 128:
        return 0.0 + _block(a, 0, n)
    depth = 64  # the halves shrink geometrically: far more than any array needs
    lo_s = np.empty(depth, np.int64)
    n_s = np.empty(depth, np.int64)
    state = np.empty(depth, np.int64)
    vals = np.empty(depth)
    top, nv = 0, 0
    lo_s[0], n_s[0], state[0] = 0, n, 0
    while top >= 0:
        lo, m = lo_s[top], n_s[top]
        if m <= 128:
            vals[nv] = _block(a, lo, m)
            nv += 1
            top -= 1
            continue
        if state[top] == 2:  # both halves done: left + right
            vals[nv - 2] = vals[nv - 2] + vals[nv - 1]
            nv -= 1
            top -= 1
            continue
        half = m // 2
        half -= half % 8
        state[top] += 1
        left = state[top] == 1
        lo_s[top + 1] = lo if left else lo + half
        n_s[top + 1] = half if left else m - half
        state[top + 1] = 0
        top += 1
    return 0.0 + vals[0]


@njit(cache=True)
def _ac_from_dc(q: float, eta_c: float, eta_d: float) -> float:
    return q / eta_c if q >= 0.0 else q * eta_d


@njit(cache=True)
def _self_consumption(net: float, p_c: float, p_d: float) -> float:
    """:func:`~pedsim.physics.battery.self_consumption_setpoint` without deadband."""
    if abs(net) <= 0.0:
        return 0.0
    return clip_scalar(-net, -p_d, p_c)


@njit(cache=True)
def storage_step(
    net_bus: np.ndarray,
    ctl: np.ndarray,
    e0: np.ndarray,
    thr0: np.ndarray,
    par: np.ndarray,
    roles: np.ndarray,
    dt_h: float,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Decide the set-points and step every battery once (inputs are not changed).

    Parameters
    ----------
    net_bus : numpy.ndarray
        Net power per bus of the other units, kW.
    ctl : numpy.ndarray
        Controller set-point per battery, kW (NaN: none).
    e0, thr0 : numpy.ndarray
        Stored energy and cumulative throughput before the step, kWh.
    par : numpy.ndarray
        ``(9, n)``: rows ``capacity_kwh, p_charge_max_kw, p_discharge_max_kw, eta_charge,
        eta_discharge, soc_min, soc_max`` (see :class:`~pedsim.physics.battery.Battery`)
        and the decay terms ``a, tau`` of the step (``Battery._decay``).
    roles : numpy.ndarray
        ``(3, n)`` int64: rows ``local`` (0/1), ``community`` (0/1) and the bus position
        within ``net_bus``.
    dt_h : float
        Step length, h.

    Returns
    -------
    out : numpy.ndarray
        ``(5, n)``: rows delivered power ``p_kw``, end-of-step ``soc``, stored energy,
        cumulative throughput (kWh) and equivalent full cycles.
    p_bus : numpy.ndarray
        Delivered power per bus.
    bad : int
        Position of the first non-finite ``net_bus`` value (then nothing is computed), or -1.
    """
    n = par.shape[1]
    n_bus = net_bus.shape[0]
    out = np.empty((5, n))
    p_bus = np.zeros(n_bus)
    for k in range(n_bus):
        if not np.isfinite(net_bus[k]):
            return out, p_bus, k
    cap, p_c, p_d, eta_c, eta_d = par[0], par[1], par[2], par[3], par[4]
    soc_min, soc_max, a, tau = par[5], par[6], par[7], par[8]
    bus_pos = roles[2]
    p_set = np.empty(n)
    home = np.zeros(n, dtype=np.bool_)
    comm = np.zeros(n, dtype=np.bool_)
    bus_cap = np.zeros(n_bus)
    n_comm = 0
    for i in range(n):
        x = ctl[i]
        has_set = not np.isnan(x)
        p_set[i] = x if has_set else 0.0
        if roles[0, i] and not has_set:
            if roles[1, i]:
                comm[i] = True
                n_comm += 1
            else:
                home[i] = True
                bus_cap[bus_pos[i]] += cap[i]
    # cell-side power bounds (Battery._dc_bounds)
    q_lo = np.empty(n)
    q_hi = np.empty(n)
    for i in range(n):
        e_free = e0[i] * a[i]
        e_min = soc_min[i] * cap[i]
        e_max = soc_max[i] * cap[i]
        hi = min(p_c[i] * eta_c[i], (e_max - e_free) / tau[i])
        lo = max(-p_d[i] / eta_d[i], (e_min - e_free) / tau[i])
        q_lo[i] = lo
        q_hi[i] = max(hi, lo)
    for i in range(n):
        if home[i]:
            share = cap[i] / bus_cap[bus_pos[i]]
            p_set[i] = _self_consumption(net_bus[bus_pos[i]] * share, p_c[i], p_d[i])
    if n_comm:
        others = np.empty(n - n_comm)
        comm_cap = np.empty(n_comm)
        j = 0
        k = 0
        for i in range(n):
            if comm[i]:
                comm_cap[k] = cap[i]
                k += 1
            else:
                p_min = clip_scalar(_ac_from_dc(q_lo[i], eta_c[i], eta_d[i]), -p_d[i], p_c[i])
                p_max = clip_scalar(_ac_from_dc(q_hi[i], eta_c[i], eta_d[i]), -p_d[i], p_c[i])
                others[j] = clip_scalar(p_set[i], p_min, p_max)
                j += 1
        total = pairwise_sum(net_bus) + pairwise_sum(others)
        comm_total = pairwise_sum(comm_cap)
        for i in range(n):
            if comm[i]:
                p_set[i] = _self_consumption(total * (cap[i] / comm_total), p_c[i], p_d[i])
    # Battery.step
    for i in range(n):
        ps = p_set[i]
        q_dc = ps * eta_c[i] if ps >= 0.0 else ps / eta_d[i]
        q = clip_scalar(q_dc, q_lo[i], q_hi[i])
        p = clip_scalar(_ac_from_dc(q, eta_c[i], eta_d[i]), -p_d[i], p_c[i])
        e = clip_scalar(e0[i] * a[i] + q * tau[i], soc_min[i] * cap[i], soc_max[i] * cap[i])
        thr = thr0[i] + abs(q) * dt_h
        out[0, i] = p
        out[1, i] = e / cap[i]
        out[2, i] = e
        out[3, i] = thr
        out[4, i] = thr / (2.0 * cap[i])
        p_bus[bus_pos[i]] += p
    return out, p_bus, -1
