"""Flexibility envelopes of batteries, EVs and heat pumps (KPI specification, section 3).

Per step and asset, the extra (up) and reduced (down) power that could be held for ``tau``
hours while staying feasible (D'hulst et al., Applied Energy 155 (2015) 79-90), summed
over the district by :func:`kpis_flexibility_envelope`. Powers are + consumption
(charging); "up" increases consumption, "down" reduces it.

Battery, as the specification writes it (with ``tau`` for ``dt``)::

    P_up   = min(P_ch,max,  (SOC_max - SOC) C / (eta_ch tau)) - P_set
    P_down = P_set + min(P_dis,max, (SOC - SOC_min) C eta_dis / tau)

EV: the same while plugged in (zero otherwise), with the departure energy as an extra SOC
floor: after holding a reduction for ``tau``, the remaining time to departure at full
charging power must still reach the required SOC, i.e.
``SOC_floor = max(SOC_min, SOC_dep - P_ch,max eta_ch max(t_dep - tau, 0) / C)``. This floor
is this module's reading of the specification's "departure energy as an extra floor".

Heat pump: the electric power range whose constant use over ``tau`` keeps a one-node
(1R1C) zone inside its comfort band, ``C dT/dt = COP P + q - UA (T - T_out)``; the
trajectory is monotone, so checking its end point suffices.

Values are clipped at zero by default: a negative value would flag an infeasible set point,
not a flexibility.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .core import KPI, KPIInputError, KPIList, as_matrix, check_dt, check_index, period_label

__all__ = [
    "battery_flexibility_envelope",
    "ev_flexibility_envelope",
    "heat_pump_flexibility_envelope",
    "kpis_flexibility_envelope",
]

_SRC = "KPI-SPEC 3; D'hulst et al. 2015"


def _arr(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if not np.isfinite(arr).all():
        raise KPIInputError(f"{name} has non-finite values: expected finite values")
    return arr


def _tau(tau_h: float | None, dt_h: float) -> float:
    return check_dt(dt_h) if tau_h is None else check_dt(tau_h, "tau_h")


def battery_flexibility_envelope(
    soc: Any,
    p_set_kw: Any,
    *,
    capacity_kwh: Any,
    p_ch_max_kw: Any,
    p_dis_max_kw: Any,
    dt_h: float,
    soc_min: Any = 0.0,
    soc_max: Any = 1.0,
    eta_ch: Any = 1.0,
    eta_dis: Any = 1.0,
    tau_h: float | None = None,
    clip: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Up and down flexibility of batteries per step, kW.

    Parameters
    ----------
    soc : array_like
        State of charge (0-1) at the start of each step, (n_steps,) or (n_steps, n_assets).
    p_set_kw : array_like
        Set point, kW (+ charging), same shape.
    capacity_kwh, p_ch_max_kw, p_dis_max_kw : float or array_like
        Capacity, charging and discharging power limits per asset (broadcast).
    dt_h : float
        Step length, h (the holding time when ``tau_h`` is omitted).
    soc_min, soc_max, eta_ch, eta_dis : float or array_like
        SOC limits and one-way efficiencies.
    tau_h : float, optional
        Holding time, h.
    clip : bool
        Clip negative values at zero.

    Returns
    -------
    tuple of numpy.ndarray
        ``(p_up_kw, p_down_kw)``.
    """
    tau = _tau(tau_h, dt_h)
    soc_a = _arr(soc, "soc")
    p_set = _arr(p_set_kw, "p_set_kw")
    cap = _arr(capacity_kwh, "capacity_kwh")
    e_ch = _arr(eta_ch, "eta_ch")
    e_dis = _arr(eta_dis, "eta_dis")
    if (cap < 0).any() or (e_ch <= 0).any() or (e_dis <= 0).any():
        raise KPIInputError("capacity_kwh >= 0 and efficiencies > 0 expected")
    up = (
        np.minimum(
            _arr(p_ch_max_kw, "p_ch_max_kw"),
            (_arr(soc_max, "soc_max") - soc_a) * cap / (e_ch * tau),
        )
        - p_set
    )
    down = p_set + np.minimum(
        _arr(p_dis_max_kw, "p_dis_max_kw"), (soc_a - _arr(soc_min, "soc_min")) * cap * e_dis / tau
    )
    if clip:
        up, down = np.clip(up, 0.0, None), np.clip(down, 0.0, None)
    return up, down


def ev_flexibility_envelope(
    soc: Any,
    p_set_kw: Any,
    *,
    capacity_kwh: Any,
    p_ch_max_kw: Any,
    dt_h: float,
    plugged: Any,
    t_to_departure_h: Any,
    soc_departure: Any,
    p_dis_max_kw: Any = 0.0,
    soc_min: Any = 0.0,
    soc_max: Any = 1.0,
    eta_ch: Any = 1.0,
    eta_dis: Any = 1.0,
    tau_h: float | None = None,
    clip: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Up and down flexibility of EVs per step, kW (zero while unplugged).

    Parameters
    ----------
    soc, p_set_kw : array_like
        SOC (0-1) and charging set point (kW, + charging) per step (and EV).
    capacity_kwh, p_ch_max_kw : float or array_like
        Battery capacity and charging power limit.
    dt_h : float
        Step length, h.
    plugged : array_like of bool
        Whether the EV is plugged in during the step.
    t_to_departure_h : array_like
        Time from the step start to departure, h.
    soc_departure : float or array_like
        SOC required at departure.
    p_dis_max_kw : float or array_like
        Discharging limit (0: no V2G).
    soc_min, soc_max, eta_ch, eta_dis, tau_h, clip
        As for :func:`battery_flexibility_envelope`.

    Returns
    -------
    tuple of numpy.ndarray
        ``(p_up_kw, p_down_kw)``.
    """
    tau = _tau(tau_h, dt_h)
    cap = _arr(capacity_kwh, "capacity_kwh")
    p_ch = _arr(p_ch_max_kw, "p_ch_max_kw")
    t_dep = _arr(t_to_departure_h, "t_to_departure_h")
    safe_cap = np.where(cap > 0, cap, 1.0)
    floor = (
        _arr(soc_departure, "soc_departure")
        - p_ch * _arr(eta_ch, "eta_ch") * np.maximum(t_dep - tau, 0.0) / safe_cap
    )
    floor = np.maximum(_arr(soc_min, "soc_min"), floor)
    up, down = battery_flexibility_envelope(
        soc,
        p_set_kw,
        capacity_kwh=cap,
        p_ch_max_kw=p_ch,
        p_dis_max_kw=p_dis_max_kw,
        dt_h=dt_h,
        soc_min=floor,
        soc_max=soc_max,
        eta_ch=eta_ch,
        eta_dis=eta_dis,
        tau_h=tau,
        clip=clip,
    )
    mask = np.asarray(plugged, dtype=bool)
    return np.where(mask, up, 0.0), np.where(mask, down, 0.0)


def heat_pump_flexibility_envelope(
    t_zone_degc: Any,
    p_set_kw: Any,
    *,
    t_out_degc: Any,
    p_max_kw: Any,
    cop: Any,
    ua_kw_per_k: Any,
    c_kwh_per_k: Any,
    t_low_degc: Any,
    t_high_degc: Any,
    tau_h: float,
    q_gains_kw: Any = 0.0,
    clip: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Up and down flexibility of heat pumps (heating) on a 1R1C zone, kW electric.

    Parameters
    ----------
    t_zone_degc : array_like
        Zone temperature at the step start, degC.
    p_set_kw : array_like
        Electric set point, kW.
    t_out_degc : float or array_like
        Outdoor temperature, held over ``tau``, degC.
    p_max_kw, cop : float or array_like
        Electric power limit and coefficient of performance.
    ua_kw_per_k, c_kwh_per_k : float or array_like
        Heat loss coefficient (kW/K) and heat capacity (kWh/K) of the zone.
    t_low_degc, t_high_degc : float or array_like
        Comfort band, degC.
    tau_h : float
        Holding time, h.
    q_gains_kw : float or array_like
        Other heat gains held constant over ``tau``, kW.
    clip : bool
        Clip negative values at zero.

    Returns
    -------
    tuple of numpy.ndarray
        ``(p_up_kw, p_down_kw)``: ``min(P_max, P_hi) - P_set`` and ``P_set - max(0, P_lo)``
        where ``P_lo``, ``P_hi`` bring the zone to the band limits after ``tau``.
    """
    tau = check_dt(tau_h, "tau_h")
    ua = _arr(ua_kw_per_k, "ua_kw_per_k")
    c = _arr(c_kwh_per_k, "c_kwh_per_k")
    cop_a = _arr(cop, "cop")
    if (ua <= 0).any() or (c <= 0).any() or (cop_a <= 0).any():
        raise KPIInputError("ua_kw_per_k, c_kwh_per_k and cop > 0 expected")
    t0 = _arr(t_zone_degc, "t_zone_degc")
    t_out = _arr(t_out_degc, "t_out_degc")
    q = _arr(q_gains_kw, "q_gains_kw")
    a = np.exp(-ua * tau / c)

    def p_for_end(t_end: np.ndarray) -> np.ndarray:
        t_ss = (t_end - a * t0) / (1.0 - a)
        return (ua * (t_ss - t_out) - q) / cop_a

    p_hi = np.minimum(_arr(p_max_kw, "p_max_kw"), p_for_end(_arr(t_high_degc, "t_high_degc")))
    p_lo = np.maximum(0.0, p_for_end(_arr(t_low_degc, "t_low_degc")))
    p_set = _arr(p_set_kw, "p_set_kw")
    up, down = p_hi - p_set, p_set - p_lo
    if clip:
        up, down = np.clip(up, 0.0, None), np.clip(down, 0.0, None)
    return up, down


def kpis_flexibility_envelope(
    p_up_kw: Any,
    p_down_kw: Any,
    dt_h: float,
    index: pd.DatetimeIndex | None = None,
    view: str = "D",
) -> list[KPI]:
    """District flexibility envelope: assets summed per step.

    Parameters
    ----------
    p_up_kw, p_down_kw : array_like
        Envelopes (n_steps,) or (n_steps, n_assets), kW.
    dt_h : float
        Step length, h.
    index : pandas.DatetimeIndex, optional
        Step start times.
    view : str
        View label.

    Returns
    -------
    list of KPI
        ``p_flex_up_mean_kw``, ``p_flex_up_min_kw``, ``e_flex_up_kwh`` (``sum up dt``) and
        the same for ``down``.
    """
    dt_h = check_dt(dt_h)
    up, _, _ = as_matrix(p_up_kw, "p_up_kw")
    down, _, _ = as_matrix(p_down_kw, "p_down_kw", up.shape[0])
    n = up.shape[0]
    out = KPIList(period_label(n, dt_h, check_index(index, n, dt_h)), view=view, source=_SRC)
    for tag, arr in (("up", up.sum(axis=1)), ("down", down.sum(axis=1))):
        out.add(f"p_flex_{tag}_mean_kw", float(arr.mean()), "kW")
        out.add(f"p_flex_{tag}_min_kw", float(arr.min()), "kW")
        out.add(f"e_flex_{tag}_kwh", float(arr.sum()) * dt_h, "kWh")
    return out.items
