"""KPI record, energy flows and shared helpers of the KPI engine.

Conventions (KPI specification, section 0)
------------------------------------------
* Steps ``t = 1..N`` of ``dt_h`` hours; horizon ``T = N * dt_h``. Every power is the mean
  over its step ``[t, t + dt)``, in kW; energy per step is ``p_kw * dt_h``.
* Net power at a boundary ``n = l + s - g``; import ``m = max(n, 0)``; export
  ``x = max(-n, 0)``. Import is positive.
* View ``'D'``: one district boundary where buildings net against each other (the
  transformer view without network losses). View ``'P'``: per point of delivery, i.e.
  ``m^P = sum_b max(n_b, 0)``.
* Ratios are ratios of sums. A zero denominator gives NaN with a reason, never 0 and
  never an exception.
* The period is ``'annual'`` only when ``T`` is 8760 h or 8784 h.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "EPS_KWH",
    "KPI",
    "Flows",
    "KPIInputError",
    "as_matrix",
    "as_series_1d",
    "kpis_to_frame",
    "kpis_to_json_dict",
    "period_label",
    "ratio",
]

#: Tolerance for "no exchange" tests on energies per step (KPI-SPEC section 1), kWh.
EPS_KWH = 1e-6

_ANNUAL_HOURS = (8760.0, 8784.0)


class KPIInputError(ValueError):
    """Bad input to a KPI function: names the parameter, the value and what was expected."""


@dataclass(frozen=True)
class KPI:
    """One key performance indicator value with its labels.

    Parameters
    ----------
    name : str
        Name carrying the unit, e.g. ``'e_import_kwh'``, ``'p_import_peak_kw'``, ``'ssr'``.
    value : float
        The value; NaN when it cannot be computed (then ``reason`` says why).
    unit : str
        ``'kWh'``, ``'kW'``, ``'-'``, ``'pu'``, ``'%'``, ``'h'``, ``'kgCO2e'``, ``'kWh_PE'``,
        ``'EUR'``, ``'K.h'``.
    view : str
        ``'D'`` (district), ``'P'`` (per point of delivery), ``'grid'``, ``'building:<id>'``...
    period : str
        E.g. ``'2016-01-01T00:00/2016-01-08T00:00 (168 h)'`` or ``'annual'``.
    reason : str or None
        Why the value is NaN (zero denominator, missing series, period too short).
    source : str
        KPI-SPEC section and literature reference.
    note : str or None
        Remark that a report must show with the value (e.g. how steps were counted).
    """

    name: str
    value: float
    unit: str
    view: str
    period: str
    reason: str | None = None
    source: str = ""
    note: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", float(self.value))
        if math.isnan(self.value) and not self.reason:
            raise KPIInputError(f"KPI {self.name!r} is NaN: a NaN value needs a reason")

    def to_dict(self) -> dict[str, Any]:
        """Return the record as a plain dict (NaN values stay NaN)."""
        return asdict(self)


def ratio(num: float, den: float, zero_reason: str) -> tuple[float, str | None]:
    """Ratio of two sums; NaN with a reason on a zero denominator.

    Parameters
    ----------
    num, den : float
        Numerator and denominator sums.
    zero_reason : str
        Reason reported when ``den == 0``.

    Returns
    -------
    tuple of (float, str or None)
        ``(num / den, None)``, or ``(nan, reason)`` when the denominator is zero or a sum is
        not finite.
    """
    num = float(num)
    den = float(den)
    if not (math.isfinite(num) and math.isfinite(den)):
        return math.nan, "non-finite sum"
    if den == 0.0:
        return math.nan, zero_reason
    return num / den, None


def period_label(n_steps: int, dt_h: float, index: pd.DatetimeIndex | None = None) -> str:
    """Label of the evaluation period.

    Parameters
    ----------
    n_steps : int
        Number of steps N.
    dt_h : float
        Step length, h.
    index : pandas.DatetimeIndex, optional
        Start time of each step.

    Returns
    -------
    str
        ``'annual'`` when ``T = N * dt_h`` is 8760 h or 8784 h; otherwise
        ``'<start>/<end> (<T> h)'`` with an index, or ``'<T> h'`` without.
    """
    t_h = n_steps * dt_h
    if any(abs(t_h - a) < 1e-6 for a in _ANNUAL_HOURS):
        return "annual"
    if index is not None and len(index) > 0:
        start = index[0]
        end = start + pd.Timedelta(hours=t_h)
        return f"{start:%Y-%m-%dT%H:%M}/{end:%Y-%m-%dT%H:%M} ({t_h:g} h)"
    return f"{t_h:g} h"


def check_dt(dt_h: Any, name: str = "dt_h") -> float:
    try:
        value = float(dt_h)
    except (TypeError, ValueError):
        raise KPIInputError(f"{name}={dt_h!r}: expected a positive number of hours") from None
    if not math.isfinite(value) or value <= 0.0:
        raise KPIInputError(f"{name}={dt_h!r}: expected a positive, finite number of hours")
    return value


def check_index(
    index: Any, n_steps: int, dt_h: float | None, name: str = "index"
) -> pd.DatetimeIndex | None:
    """Validate a step index: a regular DatetimeIndex of ``n_steps`` with spacing ``dt_h``.

    Returns
    -------
    pandas.DatetimeIndex or None
    """
    if index is None:
        return None
    if not isinstance(index, pd.DatetimeIndex):
        raise KPIInputError(f"{name} of type {type(index).__name__}: expected a DatetimeIndex")
    if len(index) != n_steps:
        raise KPIInputError(f"{name} has {len(index)} entries: expected {n_steps} (one a step)")
    if n_steps > 1 and dt_h is not None:
        diffs_h = np.diff(index.asi8) / 3.6e12
        if not np.allclose(diffs_h, dt_h, rtol=0.0, atol=1e-9):
            raise KPIInputError(
                f"{name} spacing {sorted(set(np.round(diffs_h, 6)))} h: "
                f"expected regular steps of dt_h={dt_h} h"
            )
    return index


def infer_dt_h(index: pd.DatetimeIndex | None, dt_h: float | None) -> float:
    """Return ``dt_h``, inferred from a regular index when not given."""
    if dt_h is not None:
        return check_dt(dt_h)
    if index is None or len(index) < 2:
        raise KPIInputError("dt_h=None: give dt_h, or an index of at least two timestamps")
    return check_dt(float(np.diff(index.asi8[:2])[0]) / 3.6e12, "dt_h inferred from index")


def as_matrix(
    x: Any, name: str, n_steps: int | None = None
) -> tuple[np.ndarray, list[str], pd.DatetimeIndex | None]:
    """Convert a series or table of finite values to a float array (n_steps, n_columns).

    Parameters
    ----------
    x : array_like, pandas.Series or pandas.DataFrame
        1-D (one column) or 2-D data, steps along the first axis.
    name : str
        Parameter name used in error messages.
    n_steps : int, optional
        Expected number of steps.

    Returns
    -------
    tuple
        ``(array, column labels, DatetimeIndex or None)``.
    """
    index = None
    if isinstance(x, pd.DataFrame):
        labels = [str(c) for c in x.columns]
        index = x.index if isinstance(x.index, pd.DatetimeIndex) else None
        arr = x.to_numpy(dtype=float)
    elif isinstance(x, pd.Series):
        labels = [str(x.name) if x.name is not None else "0"]
        index = x.index if isinstance(x.index, pd.DatetimeIndex) else None
        arr = x.to_numpy(dtype=float)[:, None]
    else:
        try:
            arr = np.asarray(x, dtype=float)
        except (TypeError, ValueError):
            raise KPIInputError(f"{name}: expected numeric array_like, got {x!r:.80}") from None
        if arr.ndim == 1:
            arr = arr[:, None]
        labels = [str(i) for i in range(arr.shape[1])] if arr.ndim == 2 else []
    if arr.ndim != 2:
        raise KPIInputError(f"{name} has shape {arr.shape}: expected (n_steps,) or 2-D")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise KPIInputError(f"{name} has shape {arr.shape}: expected at least one step/column")
    if n_steps is not None and arr.shape[0] != n_steps:
        raise KPIInputError(f"{name} has {arr.shape[0]} steps: expected {n_steps}")
    bad = ~np.isfinite(arr)
    if bad.any():
        step, col = (int(v[0]) for v in np.nonzero(bad))
        raise KPIInputError(
            f"{name} has a non-finite value at step {step}, column {labels[col]!r}: expected "
            "finite values (fill or drop gaps, drop out-of-service elements)"
        )
    return arr, labels, index


def as_series_1d(x: Any, name: str, n_steps: int) -> np.ndarray:
    """Broadcast a constant or a 1-D series of finite values to shape ``(n_steps,)``."""
    if isinstance(x, pd.Series | pd.DataFrame):
        x = x.to_numpy(dtype=float)
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise KPIInputError(f"{name}: expected a number or a 1-D series, got {x!r:.80}") from None
    if arr.ndim == 0:
        arr = np.full(n_steps, float(arr))
    arr = arr.reshape(-1) if arr.ndim == 2 and 1 in arr.shape else arr
    if arr.shape != (n_steps,):
        raise KPIInputError(f"{name} has shape {arr.shape}: expected a constant or ({n_steps},)")
    if not np.isfinite(arr).all():
        raise KPIInputError(f"{name} has non-finite values: expected finite values")
    return arr


def _aligned(x: Any, frame: pd.DataFrame | None, name: str) -> Any:
    """Order the columns of DataFrame ``x`` like ``frame``; same columns and index required."""
    if frame is None or not isinstance(x, pd.DataFrame):
        return x
    if set(map(str, x.columns)) != set(map(str, frame.columns)):
        raise KPIInputError(
            f"{name} columns {list(x.columns)!r:.120}: expected the columns of load_kw"
        )
    if not x.index.equals(frame.index):
        raise KPIInputError(f"{name} index: expected the index of load_kw")
    x = x.copy()
    x.columns = [str(c) for c in x.columns]
    return x[[str(c) for c in frame.columns]]


@dataclass(frozen=True, kw_only=True, eq=False)
class Flows:
    """Electric flows per building, the input of the energy KPIs.

    All arrays are ``(n_steps, n_buildings)`` in kW, the mean over each step (a 1-D array
    is one building). A DataFrame may be passed: its columns give the building ids and a
    DatetimeIndex gives ``index``; when ``load_kw`` is a DataFrame, the other DataFrames are
    aligned to its columns (same set of columns and same index required). Plain arrays are
    taken by position.

    Parameters
    ----------
    load_kw : array_like
        Electric use ``l`` (appliances, heat pump, EV charging; batteries excluded).
    generation_kw : array_like
        Local renewable generation ``g >= 0`` (PV AC output).
    storage_kw : array_like, optional
        Battery net charge ``s`` (+ charging, losses included). None: no storage.
    dt_h : float, optional
        Step length, h. Inferred from ``index`` when omitted.
    index : pandas.DatetimeIndex, optional
        Start time of every step.
    building_ids : sequence of str, optional
        One id per column.
    ev_kw, heat_kw : array_like, optional
        The parts of ``load_kw`` due to EV charging and to heating (heat pump), for the
        boundary variants of the balance (KPI-SPEC section 1).
    """

    load_kw: Any
    generation_kw: Any
    storage_kw: Any = None
    dt_h: float | None = None
    index: pd.DatetimeIndex | None = None
    building_ids: Sequence[str] | None = None
    ev_kw: Any = None
    heat_kw: Any = None
    _cache: dict[str, np.ndarray] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        frame = self.load_kw if isinstance(self.load_kw, pd.DataFrame) else None
        load, labels, idx = as_matrix(self.load_kw, "load_kw")
        n, nb = load.shape
        gen, _, _ = as_matrix(
            _aligned(self.generation_kw, frame, "generation_kw"), "generation_kw", n
        )
        if gen.shape != load.shape:
            raise KPIInputError(f"generation_kw has shape {gen.shape}: expected {load.shape}")
        if (gen < -1e-9).any():
            raise KPIInputError(
                f"generation_kw has a negative value ({gen.min():g} kW): expected g >= 0"
            )
        object.__setattr__(self, "load_kw", load)
        object.__setattr__(self, "generation_kw", np.clip(gen, 0.0, None))
        for attr in ("storage_kw", "ev_kw", "heat_kw"):
            val = getattr(self, attr)
            if val is not None:
                arr, _, _ = as_matrix(_aligned(val, frame, attr), attr, n)
                if arr.shape != load.shape:
                    raise KPIInputError(f"{attr} has shape {arr.shape}: expected {load.shape}")
                object.__setattr__(self, attr, arr)
        index = self.index if self.index is not None else idx
        dt_h = infer_dt_h(index, self.dt_h)
        object.__setattr__(self, "dt_h", dt_h)
        object.__setattr__(self, "index", check_index(index, n, dt_h))
        ids = list(self.building_ids) if self.building_ids is not None else labels
        if len(ids) != nb or len(set(ids)) != nb:
            raise KPIInputError(
                f"building_ids={ids!r:.120}: expected {nb} unique ids, one per column"
            )
        object.__setattr__(self, "building_ids", tuple(str(i) for i in ids))

    # -- shape and period -------------------------------------------------------------
    @property
    def n_steps(self) -> int:
        """Number of steps N."""
        return int(self.load_kw.shape[0])

    @property
    def n_buildings(self) -> int:
        """Number of buildings (points of delivery)."""
        return int(self.load_kw.shape[1])

    @property
    def horizon_h(self) -> float:
        """Horizon ``T = N * dt``, h."""
        return self.n_steps * self.dt_h

    @property
    def period(self) -> str:
        """Period label (see :func:`period_label`)."""
        return period_label(self.n_steps, self.dt_h, self.index)

    @property
    def has_storage(self) -> bool:
        """Whether a storage series was given."""
        return self.storage_kw is not None

    # -- derived flows ------------------------------------------------------------------
    @property
    def s_kw(self) -> np.ndarray:
        """Storage net charge per building (zeros without storage), kW."""
        if self.storage_kw is None:
            return np.zeros_like(self.load_kw)
        return self.storage_kw

    @property
    def net_kw(self) -> np.ndarray:
        """Net power per building ``n_b = l + s - g``, kW, (n_steps, n_buildings)."""
        if "net" not in self._cache:
            self._cache["net"] = self.load_kw + self.s_kw - self.generation_kw
        return self._cache["net"]

    def import_kw(self, view: str) -> np.ndarray:
        """Import power ``m`` at the boundary of ``view`` (``'D'`` or ``'P'``), kW, (n_steps,)."""
        if view == "D":
            return np.clip(self.net_kw.sum(axis=1), 0.0, None)
        if view == "P":
            return np.clip(self.net_kw, 0.0, None).sum(axis=1)
        raise KPIInputError(f"view={view!r}: expected 'D' or 'P'")

    def export_kw(self, view: str) -> np.ndarray:
        """Export power ``x`` at the boundary of ``view`` (``'D'`` or ``'P'``), kW, (n_steps,)."""
        if view == "D":
            return np.clip(-self.net_kw.sum(axis=1), 0.0, None)
        if view == "P":
            return np.clip(-self.net_kw, 0.0, None).sum(axis=1)
        raise KPIInputError(f"view={view!r}: expected 'D' or 'P'")

    def energy_kwh(self, p_kw: np.ndarray) -> float:
        """Energy ``sum(p * dt)`` of a power series or table, kWh."""
        return float(np.sum(p_kw) * self.dt_h)


def check_views(views: Iterable[str]) -> tuple[str, ...]:
    """Validate a selection of metering views."""
    out = tuple(views)
    if not out or any(v not in ("D", "P") for v in out):
        raise KPIInputError(f"views={out!r}: expected a non-empty selection of 'D' and 'P'")
    return out


class KPIList:
    """Small builder that fills in the common labels of a list of KPIs."""

    def __init__(self, period: str, view: str = "D", source: str = "") -> None:
        self.period = period
        self.view = view
        self.source = source
        self.items: list[KPI] = []

    def add(
        self,
        name: str,
        value: float,
        unit: str,
        *,
        view: str | None = None,
        reason: str | None = None,
        source: str | None = None,
        note: str | None = None,
        period: str | None = None,
    ) -> None:
        """Append one KPI (reason only kept when the value is NaN)."""
        value = float(value)
        self.items.append(
            KPI(
                name=name,
                value=value,
                unit=unit,
                view=self.view if view is None else view,
                period=self.period if period is None else period,
                reason=reason if math.isnan(value) else None,
                source=self.source if source is None else source,
                note=note,
            )
        )

    def add_ratio(
        self,
        name: str,
        num: float,
        den: float,
        zero_reason: str,
        *,
        unit: str = "-",
        scale: float = 1.0,
        **kw: Any,
    ) -> None:
        """Append ``scale * num / den`` (NaN with ``zero_reason`` when ``den == 0``)."""
        value, reason = ratio(num, den, zero_reason)
        self.add(name, value * scale, unit, reason=reason, **kw)

    def missing(self, name: str, unit: str, what: str, **kw: Any) -> None:
        """Append a NaN KPI for a missing input."""
        self.add(name, math.nan, unit, reason=f"missing input: {what}", **kw)


def kpis_to_frame(kpis: Iterable[KPI]) -> pd.DataFrame:
    """Table of KPIs, one row each.

    Parameters
    ----------
    kpis : iterable of KPI

    Returns
    -------
    pandas.DataFrame
        Columns ``name, value, unit, view, period, reason, source, note``.
    """
    cols = ["name", "value", "unit", "view", "period", "reason", "source", "note"]
    return pd.DataFrame([k.to_dict() for k in kpis], columns=cols)


def kpis_to_json_dict(kpis: Iterable[KPI]) -> dict[str, dict[str, Any]]:
    """JSON-ready mapping of KPIs.

    Keys are the KPI names (with their units) qualified by the view in brackets, e.g.
    ``'ssr[D]'`` and ``'ssr[P]'``, so that a KPI reported in several views does not
    collide. When the same name and view occur for several periods (e.g. flexibility
    windows), the key also carries the period: ``'e_shifted_kwh[D|<period>]'``. NaN values
    become ``None`` (JSON has no NaN); ``reason`` says why.

    Parameters
    ----------
    kpis : iterable of KPI

    Returns
    -------
    dict
        ``{key: {'value', 'unit', 'view', 'period', 'reason', 'source', 'note'}}``.

    Raises
    ------
    KPIInputError
        When two KPIs share name, view and period.
    """
    items = list(kpis)
    counts: dict[str, int] = {}
    for k in items:
        key = f"{k.name}[{k.view}]"
        counts[key] = counts.get(key, 0) + 1
    out: dict[str, dict[str, Any]] = {}
    for k in items:
        key = f"{k.name}[{k.view}]"
        if counts[key] > 1:
            key = f"{k.name}[{k.view}|{k.period}]"
        if key in out:
            raise KPIInputError(f"duplicate KPI {key!r}: expected unique name, view and period")
        d = k.to_dict()
        d.pop("name")
        d["value"] = None if math.isnan(k.value) else k.value
        out[key] = d
    return out
