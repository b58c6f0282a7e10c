"""Flexibility KPIs (KPI specification, section 3).

Sources
-------
* Flexibility factor ``(E_low - E_high) / (E_low + E_high)``: Le Dréau & Heiselberg,
  Energy 111 (2016) 991-1002.
* Flexibility index ``1 - sum(lambda P_flex) / sum(lambda P_ref)``: Junker et al., Applied
  Energy 225 (2018) 175-182 (IEA EBC Annex 67).
* Shifted energy and rebound in and after a window: IEA EBC Annex 67.
* Storage-like capacity and efficiency ``C = sum_W (P_flex - P_ref) dt``,
  ``eta = 1 - sum_all (P_flex - P_ref) dt / C``: Reynders et al., Energy and Buildings
  (2017). "All" runs from the start of the window to the end of the series.
* Ramping (``sum |dP|``, upward only, ``max |dP|``) and load factor ``mean(P) / max(P)``
  per day, month and run, ``PAR = 1 / LF``: CityLearn, TSO and utility practice.

Edge cases: a constant signal does not split into low and high steps, so the flexibility
factor is NaN; a constant power has ramping 0 and load factor 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .core import (
    KPI,
    KPIInputError,
    KPIList,
    as_series_1d,
    check_index,
    infer_dt_h,
    period_label,
)

__all__ = ["kpis_flexibility", "kpis_load_factor", "kpis_ramping"]

_SRC_FF = "KPI-SPEC 3; Le Dreau & Heiselberg 2016"
_SRC_FI = "KPI-SPEC 3; Junker et al. 2018 (IEA EBC Annex 67)"
_SRC_W = "KPI-SPEC 3; IEA EBC Annex 67"
_SRC_R = "KPI-SPEC 3; Reynders et al. 2017"


def _series(p: Any, name: str, n: int | None = None) -> tuple[np.ndarray, pd.DatetimeIndex | None]:
    idx = p.index if isinstance(p, pd.Series) and isinstance(p.index, pd.DatetimeIndex) else None
    arr = np.asarray(p.to_numpy() if isinstance(p, pd.Series) else p, dtype=float)
    if arr.ndim == 2:
        arr = arr.sum(axis=1)  # several assets: their total
    if arr.ndim != 1 or arr.size == 0:
        raise KPIInputError(f"{name} has shape {arr.shape}: expected a non-empty 1-D series")
    return as_series_1d(arr, name, arr.size if n is None else n), idx


def _window_steps(
    w: tuple[Any, Any], n: int, dt_h: float, index: pd.DatetimeIndex | None
) -> tuple[int, int]:
    start, end = w
    if isinstance(start, int | np.integer) and isinstance(end, int | np.integer):
        i0, i1 = int(start), int(end)
    else:
        if index is None:
            raise KPIInputError(f"window {w!r}: timestamps need an index; or give step numbers")
        i0 = int(index.searchsorted(pd.Timestamp(start)))
        i1 = int(index.searchsorted(pd.Timestamp(end)))
    if not 0 <= i0 < i1 <= n:
        raise KPIInputError(f"window {w!r}: expected 0 <= start < end <= {n} steps")
    return i0, i1


def kpis_flexibility(
    p_flex_kw: Any,
    p_ref_kw: Any = None,
    signal: Any = None,
    dt_h: float | None = None,
    index: pd.DatetimeIndex | None = None,
    *,
    windows: Sequence[tuple[Any, Any]] = (),
    penalty: Any = None,
    split: float | None = None,
    rebound_h: float = 24.0,
    view: str = "D",
) -> list[KPI]:
    """Flexibility factor and index, shifted energy, rebound, storage-like behaviour.

    Parameters
    ----------
    p_flex_kw : array_like or pandas.Series
        Power of the flexible asset(s) (2-D: summed over assets), kW, in the controlled run.
    p_ref_kw : array_like, optional
        The same power in the reference run (same scenario, control off). None: the KPIs
        that need it are NaN with a reason.
    signal : array_like, optional
        Price, CO2 intensity or residual load per step, splitting low and high steps.
    dt_h : float, optional
        Step length, h (inferred from the index when omitted).
    index : pandas.DatetimeIndex, optional
        Step start times.
    windows : sequence of (start, end)
        Activation windows ``[start, end)`` as step numbers or timestamps.
    penalty : array_like, optional
        Penalty signal λ of the flexibility index (defaults to ``signal``).
    split : float, optional
        Threshold between low (``signal <= split``) and high steps; default the median.
    rebound_h : float
        Length of the rebound period after each window, h.
    view : str
        View label.

    Returns
    -------
    list of KPI
        ``flexibility_factor``, ``flexibility_index``; per window (period = the window):
        ``e_shifted_kwh``, ``e_rebound_kwh``, ``c_storage_like_kwh``, ``eta_storage_like``.
    """
    p, idx = _series(p_flex_kw, "p_flex_kw")
    n = p.size
    index = index if index is not None else idx
    dt_h = infer_dt_h(index, dt_h)
    index = check_index(index, n, dt_h)
    out = KPIList(period_label(n, dt_h, index), view=view)
    ref = None if p_ref_kw is None else _series(p_ref_kw, "p_ref_kw", n)[0]
    sig = None if signal is None else _series(signal, "signal", n)[0]
    lam = sig if penalty is None else _series(penalty, "penalty", n)[0]

    if sig is None:
        out.missing("flexibility_factor", "-", "signal", source=_SRC_FF)
    else:
        thr = float(np.median(sig)) if split is None else float(split)
        low = sig <= thr
        if low.all() or not low.any():
            out.add(
                "flexibility_factor",
                math.nan,
                "-",
                source=_SRC_FF,
                reason="signal does not split into low and high steps (constant signal)",
            )
        else:
            e_low = float(p[low].sum()) * dt_h
            e_high = float(p[~low].sum()) * dt_h
            out.add_ratio(
                "flexibility_factor",
                e_low - e_high,
                e_low + e_high,
                "zero flexible-asset use",
                source=_SRC_FF,
                note=f"low: signal <= {thr:g}",
            )
    if lam is None or ref is None:
        out.missing(
            "flexibility_index",
            "-",
            "p_ref_kw" if ref is None else "penalty/signal",
            source=_SRC_FI,
        )
    else:
        value, reason = _one_minus_ratio(float(lam @ p), float(lam @ ref))
        out.add("flexibility_index", value, "-", reason=reason, source=_SRC_FI)

    rebound_steps = round(rebound_h / dt_h)
    for w in windows:
        i0, i1 = _window_steps(w, n, dt_h, index)
        wp = period_label(i1 - i0, dt_h, None if index is None else index[i0:i1])
        if wp == "annual" or index is None:
            wp = f"steps {i0}-{i1} ({(i1 - i0) * dt_h:g} h)"
        names = (
            ("e_shifted_kwh", "kWh", _SRC_W),
            ("e_rebound_kwh", "kWh", _SRC_W),
            ("c_storage_like_kwh", "kWh", _SRC_R),
            ("eta_storage_like", "-", _SRC_R),
        )
        if ref is None:
            for nm, unit, src in names:
                out.missing(nm, unit, "p_ref_kw", period=wp, source=src)
            continue
        d = p - ref
        out.add(
            "e_shifted_kwh",
            float(np.clip(-d[i0:i1], 0.0, None).sum()) * dt_h,
            "kWh",
            period=wp,
            source=_SRC_W,
        )
        j1 = min(n, i1 + rebound_steps)
        note = None if j1 - i1 == rebound_steps else f"rebound period cut to {(j1 - i1) * dt_h:g} h"
        out.add(
            "e_rebound_kwh",
            float(np.clip(d[i1:j1], 0.0, None).sum()) * dt_h,
            "kWh",
            period=wp,
            source=_SRC_W,
            note=note,
        )
        c = float(d[i0:i1].sum()) * dt_h
        out.add("c_storage_like_kwh", c, "kWh", period=wp, source=_SRC_R)
        value, reason = _one_minus_ratio(float(d[i0:].sum()) * dt_h, c)
        out.add(
            "eta_storage_like",
            value,
            "-",
            reason=reason and "zero storage-like capacity",
            period=wp,
            source=_SRC_R,
        )
    return out.items


def _one_minus_ratio(num: float, den: float) -> tuple[float, str | None]:
    if den == 0.0:
        return math.nan, "zero reference (denominator)"
    return 1.0 - num / den, None


def kpis_ramping(
    p_kw: Any, dt_h: float | None = None, index: pd.DatetimeIndex | None = None, *, view: str = "D"
) -> list[KPI]:
    """Ramping of a power series: ``sum |dP|``, ``sum max(dP, 0)``, ``max |dP|``.

    Parameters
    ----------
    p_kw : array_like or pandas.Series
        Power, kW (e.g. the district net power, as CityLearn uses).
    dt_h : float, optional
        Step length, h.
    index : pandas.DatetimeIndex, optional
        Step start times.
    view : str
        View label.

    Returns
    -------
    list of KPI
        ``ramping_abs_kw``, ``ramping_up_kw``, ``ramping_max_kw`` (NaN for one step).
    """
    p, idx = _series(p_kw, "p_kw")
    index = index if index is not None else idx
    dt_h = infer_dt_h(index, dt_h)
    index = check_index(index, p.size, dt_h)
    out = KPIList(
        period_label(p.size, dt_h, index), view=view, source="KPI-SPEC 3; CityLearn; TSO practice"
    )
    if p.size < 2:
        for nm in ("ramping_abs_kw", "ramping_up_kw", "ramping_max_kw"):
            out.add(nm, math.nan, "kW", reason="a single step has no ramp")
        return out.items
    dp = np.diff(p)
    out.add("ramping_abs_kw", float(np.abs(dp).sum()), "kW")
    out.add("ramping_up_kw", float(np.clip(dp, 0.0, None).sum()), "kW")
    out.add("ramping_max_kw", float(np.abs(dp).max()), "kW")
    return out.items


def _mean_lf(p: np.ndarray, groups: np.ndarray, expected: np.ndarray) -> tuple[float, int, int]:
    """Mean load factor over complete groups with a positive peak; (value, used, complete)."""
    lfs = []
    complete = 0
    for g, k in zip(np.unique(groups), expected, strict=True):
        sel = p[groups == g]
        if sel.size != k:
            continue
        complete += 1
        peak = float(sel.max())
        if peak > 0.0:
            lfs.append(float(sel.mean()) / peak)
    return (float(np.mean(lfs)) if lfs else math.nan), len(lfs), complete


def kpis_load_factor(
    p_kw: Any, dt_h: float | None = None, index: pd.DatetimeIndex | None = None, *, view: str = "D"
) -> list[KPI]:
    """Load factor ``mean(P) / max(P)`` per run, day and month, and the peak-to-average ratio.

    Parameters
    ----------
    p_kw : array_like or pandas.Series
        Power, kW (an import or consumption-like series).
    dt_h : float, optional
        Step length, h.
    index : pandas.DatetimeIndex, optional
        Step start times; calendar days and months need it (days without it are 24-h
        blocks from the start).
    view : str
        View label.

    Returns
    -------
    list of KPI
        ``lf`` and ``par`` over the run; ``lf_daily_mean`` and ``lf_monthly_mean``, means of
        the load factors of the complete days and months with a positive peak.
    """
    p, idx = _series(p_kw, "p_kw")
    n = p.size
    index = index if index is not None else idx
    dt_h = infer_dt_h(index, dt_h)
    index = check_index(index, n, dt_h)
    out = KPIList(period_label(n, dt_h, index), view=view, source="KPI-SPEC 3; utility practice")
    peak = float(p.max())
    mean = float(p.mean())
    if peak <= 0.0:
        out.add("lf", math.nan, "-", reason="no positive peak power")
        out.add("par", math.nan, "-", reason="no positive peak power")
    else:
        out.add("lf", mean / peak, "-")
        out.add_ratio("par", peak, mean, "zero mean power")
    per_day = 24.0 / dt_h
    if abs(per_day - round(per_day)) > 1e-9:
        out.add("lf_daily_mean", math.nan, "-", reason="steps do not divide a day")
    else:
        if index is not None:
            days = index.normalize().asi8
        else:
            days = np.arange(n) // round(per_day)
        u = np.unique(days)
        val, used, complete = _mean_lf(p, days, np.full(u.size, round(per_day)))
        reason = "no complete day" if complete == 0 else "no day with a positive peak"
        out.add(
            "lf_daily_mean", val, "-", reason=reason, note=f"{used} of {complete} complete days"
        )
    if index is None:
        out.missing("lf_monthly_mean", "-", "index (calendar months need timestamps)")
    else:
        months = (index.year * 12 + index.month - 1).to_numpy()
        u = np.unique(months)
        expected = (
            np.array([pd.Period(year=m // 12, month=m % 12 + 1, freq="M").days_in_month for m in u])
            * 24.0
            / dt_h
        )
        val, used, complete = _mean_lf(p, months, np.round(expected).astype(int))
        reason = "no complete month" if complete == 0 else "no month with a positive peak"
        out.add(
            "lf_monthly_mean", val, "-", reason=reason, note=f"{used} of {complete} complete months"
        )
    return out.items
