"""Comfort, EV service and battery KPIs (KPI specification, section 7)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .core import KPI, KPIInputError, KPIList, as_matrix, check_dt, check_index, period_label

__all__ = ["kpis_battery", "kpis_comfort", "kpis_ev_service"]


def _broadcast(x: Any, shape: tuple[int, int], name: str) -> np.ndarray:
    if isinstance(x, pd.Series | pd.DataFrame):
        x = x.to_numpy(dtype=float)
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 1 and arr.shape[0] == shape[0]:
        arr = arr[:, None]
    try:
        arr = np.broadcast_to(arr, shape)
    except ValueError:
        raise KPIInputError(
            f"{name} has shape {arr.shape}: expected to broadcast to {shape}"
        ) from None
    if not np.isfinite(arr).all():
        raise KPIInputError(f"{name} has non-finite values: expected finite values")
    return arr


def kpis_comfort(
    t_zone_degc: Any,
    t_low: Any,
    t_high: Any,
    dt_h: float,
    occupied: Any = None,
    *,
    index: pd.DatetimeIndex | None = None,
    building_ids: Sequence[str] | None = None,
) -> list[KPI]:
    """Thermal discomfort: degree-hours and share of occupied steps outside the band.

    Parameters
    ----------
    t_zone_degc : array_like or pandas.DataFrame
        Zone temperature per step and building, degC, (n_steps, n_buildings).
    t_low, t_high : float or array_like
        Comfort band, degC: constants, per step, per building, or per step and building.
    dt_h : float
        Step length, h.
    occupied : array_like of bool, optional
        Occupancy per step (and building); None: always occupied.
    index : pandas.DatetimeIndex, optional
        Step start times.
    building_ids : sequence of str, optional
        Building ids (default: DataFrame columns or 0..n-1).

    Returns
    -------
    list of KPI
        View ``'D'`` (all buildings) and ``'building:<id>'``:
        ``discomfort_degree_hours_kh`` = ``sum dt (max(t_low - T, 0) + max(T - t_high, 0))``
        over occupied steps (K.h), and ``discomfort_share`` = occupied steps outside the band
        / occupied steps (NaN without occupied steps).
    """
    dt_h = check_dt(dt_h)
    t, labels, idx = as_matrix(t_zone_degc, "t_zone_degc")
    n, nb = t.shape
    index = check_index(index if index is not None else idx, n, dt_h)
    ids = list(building_ids) if building_ids is not None else labels
    if len(ids) != nb:
        raise KPIInputError(f"building_ids={ids!r:.100}: expected {nb} ids")
    lo = _broadcast(t_low, t.shape, "t_low")
    hi = _broadcast(t_high, t.shape, "t_high")
    occ = (
        np.ones(t.shape, bool)
        if occupied is None
        else _broadcast(occupied, t.shape, "occupied") > 0
    )
    dev = (np.clip(lo - t, 0.0, None) + np.clip(t - hi, 0.0, None)) * occ
    outside = (dev > 0.0) & occ
    out = KPIList(period_label(n, dt_h, index), source="KPI-SPEC 7")
    groups: list[tuple[str, slice]] = [("D", slice(None))]
    groups += [(f"building:{b}", slice(j, j + 1)) for j, b in enumerate(ids)]
    for view, sl in groups:
        out.add("discomfort_degree_hours_kh", float(dev[:, sl].sum()) * dt_h, "K.h", view=view)
        out.add_ratio(
            "discomfort_share",
            float(outside[:, sl].sum()),
            float(occ[:, sl].sum()),
            "no occupied steps",
            view=view,
        )
    return out.items


def kpis_ev_service(
    e_required_kwh: Any,
    e_delivered_kwh: Any,
    e_v2g_discharged_kwh: Any = None,
    *,
    period: str,
    tol_kwh: float = 1e-3,
    view: str = "D",
) -> list[KPI]:
    """EV service: departures served, unmet energy, V2G energy.

    Parameters
    ----------
    e_required_kwh, e_delivered_kwh : array_like
        Energy required and energy delivered per departure (session), kWh.
    e_v2g_discharged_kwh : float or array_like, optional
        Energy discharged for V2G (per session or total), kWh.
    period : str
        Period label of the sessions.
    tol_kwh : float
        A departure is served when ``delivered >= required - tol_kwh``.
    view : str
        View label.

    Returns
    -------
    list of KPI
        ``ev_departures_served_share`` (NaN without departures), ``e_ev_unmet_kwh`` =
        ``sum max(required - delivered, 0)``, ``e_v2g_kwh``.
    """
    req = np.asarray(e_required_kwh, dtype=float).ravel()
    dlv = np.asarray(e_delivered_kwh, dtype=float).ravel()
    if req.shape != dlv.shape or not (np.isfinite(req).all() and np.isfinite(dlv).all()):
        raise KPIInputError(
            f"e_required_kwh {req.shape} and e_delivered_kwh {dlv.shape}: expected finite "
            "values, one per departure"
        )
    out = KPIList(period, view=view, source="KPI-SPEC 7")
    out.add_ratio(
        "ev_departures_served_share",
        float(np.sum(dlv >= req - tol_kwh)),
        float(req.size),
        "no departures",
    )
    out.add("e_ev_unmet_kwh", float(np.clip(req - dlv, 0.0, None).sum()), "kWh")
    if e_v2g_discharged_kwh is None:
        out.missing("e_v2g_kwh", "kWh", "e_v2g_discharged_kwh")
    else:
        out.add("e_v2g_kwh", float(np.sum(np.asarray(e_v2g_discharged_kwh, dtype=float))), "kWh")
    return out.items


def kpis_battery(
    p_battery_kw: Any,
    capacity_kwh: Any,
    dt_h: float,
    index: pd.DatetimeIndex | None = None,
    *,
    view: str = "D",
) -> list[KPI]:
    """Battery throughput and equivalent full cycles.

    Parameters
    ----------
    p_battery_kw : array_like or pandas.DataFrame
        Battery power per step (and battery), kW, + charging.
    capacity_kwh : float or array_like
        Usable capacity per battery, kWh (summed for the district).
    dt_h : float
        Step length, h.
    index : pandas.DatetimeIndex, optional
        Step start times.
    view : str
        View label.

    Returns
    -------
    list of KPI
        ``e_battery_charged_kwh``, ``e_battery_discharged_kwh``, ``e_battery_throughput_kwh``
        (charged + discharged) and ``battery_efc`` = ``throughput / (2 capacity)``.
    """
    dt_h = check_dt(dt_h)
    p, _, idx = as_matrix(p_battery_kw, "p_battery_kw")
    n = p.shape[0]
    cap = float(np.sum(np.asarray(capacity_kwh, dtype=float)))
    if not math.isfinite(cap) or cap < 0.0:
        raise KPIInputError(f"capacity_kwh={capacity_kwh!r}: expected capacities >= 0 kWh")
    index = check_index(index if index is not None else idx, n, dt_h)
    out = KPIList(period_label(n, dt_h, index), view=view, source="KPI-SPEC 7")
    e_ch = float(np.clip(p, 0.0, None).sum()) * dt_h
    e_dis = float(np.clip(-p, 0.0, None).sum()) * dt_h
    out.add("e_battery_charged_kwh", e_ch, "kWh")
    out.add("e_battery_discharged_kwh", e_dis, "kWh")
    out.add("e_battery_throughput_kwh", e_ch + e_dis, "kWh")
    out.add_ratio("battery_efc", e_ch + e_dis, 2.0 * cap, "zero capacity")
    return out.items
