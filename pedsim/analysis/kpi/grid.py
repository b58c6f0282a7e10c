"""Grid KPIs from power-flow time series (KPI specification, section 4).

Voltage quality follows EN 50160 for public LV networks: during each period of one week,
95 % of the 10-minute mean r.m.s. supply voltages must lie within ``Un +/- 10 %`` and all
of them within ``Un +10 % / -15 %``. Confirmed from secondary descriptions of the
standard (the standard text itself is not public); the thresholds are parameters.

Inputs are tables of shape (n_steps, n_elements): numpy arrays or DataFrames whose columns
name the buses, lines and transformers; a 1-D input is one element. Values are the mean
over each step.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .core import KPI, KPIInputError, KPIList, as_matrix, check_index, infer_dt_h, period_label

__all__ = ["en50160_weekly", "kpis_grid", "overload_hours", "voltage_violation_hours"]

_SRC_V = "KPI-SPEC 4"
_SRC_EN = "KPI-SPEC 4; EN 50160 (LV supply voltage variations)"
_WEEK_H = 168.0


def voltage_violation_hours(
    vm_pu: Any, dt_h: float, band_pu: tuple[float, float] = (0.90, 1.10)
) -> pd.Series:
    """Time per bus with ``vm_pu`` outside ``band_pu`` (bounds themselves are inside), h."""
    vm, labels, _ = as_matrix(vm_pu, "vm_pu")
    lo, hi = band_pu
    outside = (vm < lo) | (vm > hi)
    return pd.Series(outside.sum(axis=0) * float(dt_h), index=labels, name="t_outside_h")


def overload_hours(loading_percent: Any, dt_h: float, limit_percent: float = 100.0) -> pd.Series:
    """Time per element with loading above ``limit_percent``, h."""
    ld, labels, _ = as_matrix(loading_percent, "loading_percent")
    return pd.Series(
        (ld > limit_percent).sum(axis=0) * float(dt_h), index=labels, name="t_overload_h"
    )


def _ten_minute_values(
    vm: np.ndarray, dt_h: float, index: pd.DatetimeIndex | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str | None]:
    """Return (10-min values (k, n_bus), weight of each value, start time in h, note)."""
    dt_min = dt_h * 60.0
    per_block = 10.0 / dt_min
    n = vm.shape[0]
    t_h = np.arange(n) * dt_h
    if dt_min < 10.0 - 1e-9 and abs(per_block - round(per_block)) < 1e-9:
        k = round(per_block)
        if index is not None:
            origin = index[0].floor("10min")
            block = ((index - origin) // pd.Timedelta(minutes=10)).to_numpy()
        else:
            block = np.arange(n) // k
        uniq, inv, counts = np.unique(block, return_inverse=True, return_counts=True)
        sums = np.zeros((uniq.size, vm.shape[1]))
        np.add.at(sums, inv, vm)
        complete = counts == k
        first = np.full(uniq.size, np.inf)
        np.minimum.at(first, inv, t_h)
        values = sums[complete] / k
        note = f"10-min means of {k} steps of {dt_min:g} min; incomplete 10-min blocks dropped"
        return values, np.ones(values.shape[0]), first[complete], note
    weight = dt_min / 10.0
    note = None
    if abs(weight - 1.0) > 1e-9:
        note = f"steps of {dt_min:g} min: each step counts as {weight:g} ten-minute values"
    return vm, np.full(n, weight), t_h, note


def en50160_weekly(
    vm_pu: Any,
    dt_h: float | None = None,
    index: pd.DatetimeIndex | None = None,
    *,
    band_pu: tuple[float, float] = (0.90, 1.10),
    wide_band_pu: tuple[float, float] = (0.85, 1.10),
    max_share_outside: float = 0.05,
) -> tuple[pd.DataFrame, str | None]:
    """EN 50160 supply-voltage compliance per bus and week.

    Weeks are consecutive 168-h periods from the start of the series. A bus fails a week
    when more than ``max_share_outside`` of its 10-minute mean voltages lie outside
    ``band_pu`` or any lies outside ``wide_band_pu``. Steps shorter than 10 min are
    averaged to 10-min means; with longer steps each step counts as ``dt / 10 min``
    values (the returned note says so).

    Parameters
    ----------
    vm_pu : array_like or pandas.DataFrame
        Bus voltages, p.u., (n_steps, n_buses).
    dt_h : float, optional
        Step length, h (inferred from the index when omitted).
    index : pandas.DatetimeIndex, optional
        Step start times.
    band_pu, wide_band_pu : tuple of float
        The 95 % band and the 100 % band, p.u.
    max_share_outside : float
        Largest admissible share outside ``band_pu`` (0.05).

    Returns
    -------
    tuple of (pandas.DataFrame, str or None)
        One row per week and bus: ``week``, ``bus``, ``hours``, ``complete``,
        ``share_outside``, ``any_outside_wide``, ``compliant``; and the counting note.
    """
    vm, labels, idx = as_matrix(vm_pu, "vm_pu")
    index = index if index is not None else idx
    dt_h = infer_dt_h(index, dt_h)
    index = check_index(index, vm.shape[0], dt_h)
    values, w, t_start, note = _ten_minute_values(vm, dt_h, index)
    week = np.floor(t_start / _WEEK_H + 1e-9).astype(int)
    total_h = vm.shape[0] * dt_h
    lo, hi = band_pu
    wlo, whi = wide_band_pu
    rows = []
    for wk in np.unique(week):
        sel = week == wk
        hours = min(_WEEK_H, total_h - wk * _WEEK_H)
        ww = w[sel]
        vals = values[sel]
        out_band = ((vals < lo) | (vals > hi)).astype(float)
        share = (ww[:, None] * out_band).sum(axis=0) / ww.sum()
        wide = ((vals < wlo) | (vals > whi)).any(axis=0)
        for j, bus in enumerate(labels):
            rows.append(
                {
                    "week": int(wk),
                    "bus": bus,
                    "hours": float(hours),
                    "complete": bool(hours >= _WEEK_H - 1e-9),
                    "share_outside": float(share[j]),
                    "any_outside_wide": bool(wide[j]),
                    "compliant": bool(share[j] <= max_share_outside and not wide[j]),
                }
            )
    return pd.DataFrame(rows), note


def _loading_kpis(
    out: KPIList, loading: Any, kind: str, *, n: int, dt_h: float, limit: float
) -> None:
    names = (
        f"loading_{kind}_max_percent",
        f"loading_{kind}_p95_percent",
        f"t_{kind}_overload_max_h",
        f"t_{kind}_overload_any_h",
    )
    if loading is None:
        for nm, unit in zip(names, ("%", "%", "h", "h"), strict=True):
            out.missing(nm, unit, f"loading_{kind}_percent")
        return
    ld, _, _ = as_matrix(loading, f"loading_{kind}_percent", n)
    over = ld > limit
    out.add(names[0], float(ld.max()), "%")
    out.add(
        names[1],
        float(np.percentile(ld, 95.0, axis=0).max()),
        "%",
        note="95th percentile over time of each element; the largest over elements",
    )
    out.add(
        names[2],
        float(over.sum(axis=0).max()) * dt_h,
        "h",
        note=f"worst element, loading > {limit:g} %",
    )
    out.add(
        names[3],
        float(over.any(axis=1).sum()) * dt_h,
        "h",
        note=f"time with any element loaded > {limit:g} %",
    )


def kpis_grid(
    vm_pu: Any = None,
    *,
    loading_line_percent: Any = None,
    loading_trafo_percent: Any = None,
    p_loss_kw: Any = None,
    p_trafo_kw: Any = None,
    dt_h: float | None = None,
    index: pd.DatetimeIndex | None = None,
    e_load_kwh: float | None = None,
    v_band_pu: tuple[float, float] = (0.90, 1.10),
    en50160_wide_band_pu: tuple[float, float] = (0.85, 1.10),
    overload_limit_percent: float = 100.0,
) -> list[KPI]:
    """Voltage, loading, loss and reverse-flow KPIs of a power-flow time series.

    Parameters
    ----------
    vm_pu : array_like or DataFrame, optional
        Bus voltage magnitudes, p.u., (n_steps, n_buses).
    loading_line_percent, loading_trafo_percent : array_like or DataFrame, optional
        Line and transformer loading, %, (n_steps, n_elements).
    p_loss_kw : array_like or DataFrame, optional
        Active losses, kW: one total series, or one column per line/transformer (summed).
    p_trafo_kw : array_like or DataFrame, optional
        Active power at the MV side of the MV/LV transformer(s), kW, positive from MV to LV
        (drawn from the grid). Several columns are summed (the substation).
    dt_h : float, optional
        Step length, h (inferred from the index when omitted).
    index : pandas.DatetimeIndex, optional
        Step start times (also taken from DataFrame inputs).
    e_load_kwh : float, optional
        Load energy served by the network, kWh, denominator of the loss ratio.
    v_band_pu : tuple of float
        Voltage band of the violation time and of EN 50160's 95 % criterion.
    en50160_wide_band_pu : tuple of float
        EN 50160's 100 % band.
    overload_limit_percent : float
        Loading above which an element counts as overloaded.

    Returns
    -------
    list of KPI
        View ``'grid'``: ``vm_min_pu``, ``vm_max_pu``, ``t_vm_violation_any_h`` (time with
        any bus outside the band), ``t_vm_violation_max_bus_h`` (worst bus),
        ``en50160_share_compliant`` (share of compliant bus-weeks, whole weeks only),
        ``en50160_compliant`` (1.0 when every bus passes every whole week);
        ``loading_line_max_percent``, ``loading_line_p95_percent``,
        ``t_line_overload_max_h``, ``t_line_overload_any_h`` and the same for ``trafo``;
        ``e_loss_kwh``, ``loss_ratio_percent``; ``t_reverse_flow_h``,
        ``e_reverse_flow_kwh``, ``p_reverse_flow_peak_kw``. A missing series gives NaN
        KPIs with a reason; fewer than 168 h give NaN EN 50160 KPIs.
    """
    n = None
    for arg, nm in (
        (vm_pu, "vm_pu"),
        (loading_line_percent, "loading_line_percent"),
        (loading_trafo_percent, "loading_trafo_percent"),
        (p_loss_kw, "p_loss_kw"),
        (p_trafo_kw, "p_trafo_kw"),
    ):
        if arg is not None:
            arr, _, idx = as_matrix(arg, nm, n)
            n = arr.shape[0]
            if index is None and idx is not None:
                index = idx
    if n is None:
        raise KPIInputError("kpis_grid: all series are None: expected at least one")
    dt_h = infer_dt_h(index, dt_h)
    index = check_index(index, n, dt_h)
    out = KPIList(period_label(n, dt_h, index), view="grid", source=_SRC_V)

    lo, hi = v_band_pu
    band = f"{lo:g}-{hi:g} pu"
    if vm_pu is None:
        for nm, unit in (
            ("vm_min_pu", "pu"),
            ("vm_max_pu", "pu"),
            ("t_vm_violation_any_h", "h"),
            ("t_vm_violation_max_bus_h", "h"),
            ("en50160_share_compliant", "-"),
            ("en50160_compliant", "-"),
        ):
            out.missing(nm, unit, "vm_pu")
    else:
        vm, _, _ = as_matrix(vm_pu, "vm_pu", n)
        outside = (vm < lo) | (vm > hi)
        out.add("vm_min_pu", float(vm.min()), "pu")
        out.add("vm_max_pu", float(vm.max()), "pu")
        out.add(
            "t_vm_violation_any_h",
            float(outside.any(axis=1).sum()) * dt_h,
            "h",
            note=f"any bus outside {band}",
        )
        out.add(
            "t_vm_violation_max_bus_h",
            float(outside.sum(axis=0).max()) * dt_h,
            "h",
            note=f"worst bus outside {band}",
        )
        weekly, note = en50160_weekly(
            vm, dt_h, index, band_pu=v_band_pu, wide_band_pu=en50160_wide_band_pu
        )
        whole = weekly[weekly["complete"]]
        if whole.empty:
            reason = f"period too short: EN 50160 assesses whole weeks (168 h), got {n * dt_h:g} h"
            out.add("en50160_share_compliant", math.nan, "-", reason=reason, source=_SRC_EN)
            out.add("en50160_compliant", math.nan, "-", reason=reason, source=_SRC_EN)
        else:
            share = float(whole["compliant"].mean())
            note_w = f"{whole['week'].nunique()} whole week(s)" + (f"; {note}" if note else "")
            out.add("en50160_share_compliant", share, "-", source=_SRC_EN, note=note_w)
            out.add(
                "en50160_compliant", 1.0 if share == 1.0 else 0.0, "-", source=_SRC_EN, note=note_w
            )

    _loading_kpis(out, loading_line_percent, "line", n=n, dt_h=dt_h, limit=overload_limit_percent)
    _loading_kpis(out, loading_trafo_percent, "trafo", n=n, dt_h=dt_h, limit=overload_limit_percent)

    if p_loss_kw is None:
        out.missing("e_loss_kwh", "kWh", "p_loss_kw")
        out.missing("loss_ratio_percent", "%", "p_loss_kw")
    else:
        loss, _, _ = as_matrix(p_loss_kw, "p_loss_kw", n)
        e_loss = float(loss.sum()) * dt_h
        out.add("e_loss_kwh", e_loss, "kWh")
        if e_load_kwh is None:
            out.missing("loss_ratio_percent", "%", "e_load_kwh")
        else:
            out.add_ratio(
                "loss_ratio_percent",
                e_loss,
                float(e_load_kwh),
                "zero load energy",
                unit="%",
                scale=100.0,
            )

    names = (
        ("t_reverse_flow_h", "h"),
        ("e_reverse_flow_kwh", "kWh"),
        ("p_reverse_flow_peak_kw", "kW"),
    )
    if p_trafo_kw is None:
        for nm, unit in names:
            out.missing(nm, unit, "p_trafo_kw")
    else:
        p, _, _ = as_matrix(p_trafo_kw, "p_trafo_kw", n)
        rev = np.clip(-p.sum(axis=1), 0.0, None)
        note = "power from LV to MV at the MV/LV transformer(s)"
        out.add("t_reverse_flow_h", float(np.count_nonzero(rev > 0.0)) * dt_h, "h", note=note)
        out.add("e_reverse_flow_kwh", float(rev.sum()) * dt_h, "kWh", note=note)
        out.add("p_reverse_flow_peak_kw", float(rev.max()), "kW", note=note)
    return out.items
