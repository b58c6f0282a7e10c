"""Compiled form of :func:`pedsim.control.rules.ev_power_range` (the controller's hot path).

:func:`ev_range_kernel` computes, EV by EV, exactly what the numpy expression in
:func:`pedsim.control.rules.ev_power_range_numpy` computes over arrays (same operations in
the same order, so the results are bit-identical; ``tests/test_control_rules.py`` checks it
on random fleets). It saves the ~20 array operations per step that dominated the
controller's time with 30 EVs.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def ev_range_kernel(
    t_s: float,
    dt_s: float,
    plugged_frac: np.ndarray,
    departure_s: np.ndarray,
    soc: np.ndarray,
    battery_kwh: np.ndarray,
    p_max_kw: np.ndarray,
    eta_charge: np.ndarray,
    soc_max: np.ndarray,
    e_required_kwh: np.ndarray,
    soc_min: np.ndarray,
    eta_discharge: np.ndarray,
    bidirectional: np.ndarray,
    p_discharge_max_kw: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lowest power, floor and highest power per EV (see ``ev_power_range``)."""
    n = soc.size
    h = dt_s / 3600.0
    p_min = np.zeros(n)
    p_floor = np.zeros(n)
    p_max = np.zeros(n)
    for i in range(n):
        plugged = plugged_frac[i] > 0.0 and departure_s[i] > t_s
        frac = 0.0
        if plugged:
            frac = min(max((departure_s[i] - t_s) / dt_s, 0.0), 1.0)
        e = soc[i] * battery_kwh[i]
        rate = p_max_kw[i] * eta_charge[i]
        store_hi = max(min(rate * frac * h, soc_max[i] * battery_kwh[i] - e), 0.0)
        after_h = max(departure_s[i] - (t_s + dt_s), 0.0) / 3600.0
        floor_store = 0.0 if math.isinf(after_h) else e_required_kwh[i] - rate * after_h
        floor_store = min(max(floor_store, 0.0), store_hi)
        p_max[i] = store_hi / (eta_charge[i] * h)
        p_floor[i] = floor_store / (eta_charge[i] * h)
        if plugged:
            if bidirectional[i] and floor_store <= 0.0:
                e_down = max(e - soc_min[i] * battery_kwh[i], 0.0) * eta_discharge[i] / h
                p_min[i] = -min(p_discharge_max_kw[i] * frac, e_down)
            else:
                p_min[i] = p_floor[i]
    return p_min, p_floor, p_max
