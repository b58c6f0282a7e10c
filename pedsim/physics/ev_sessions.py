"""EV charging sessions: sampling from ElaadNL statistics, user trip tables, EV catalogue.

Sampling model (:func:`sample_sessions`), per EV and calendar day of ``[start, stop)``:

* The EV type is drawn once per EV with the Dutch registration counts of the catalogue as
  weights.
* A session takes place with probability ``session_probability`` (at most one per EV and day,
  "skip probability" ``1 - session_probability``). Defaults: home 0.3, workplace 0.5, public
  0.2. The home value makes the mean charged energy (0.3 x 23.9 kWh = 7.2 kWh per day) about the
  daily driving energy of an average Dutch car (some 33 km per day at about 0.2 kWh/km); the
  workplace and public values are assumptions. Workplace sessions only take place on weekdays:
  ElaadNL gives no weekend distribution for workplaces. Public holidays count as weekdays.
* The arrival time is drawn from the ElaadNL 15-minute arrival distribution of the day type
  (Monday-Friday or Saturday-Sunday), uniformly within its bin: the time of day of sampled
  arrivals follows that distribution exactly.
* The connection time is drawn from the ElaadNL connection-time distribution, independent of
  the arrival time. The published curve is rounded to 0.1 h and reaches 0 h before 100 % (the
  last 1-2 % of sessions, shorter than about 3 minutes); there its last positive point is
  joined linearly to 0 h at 100 % so that no session has zero length. Where a connection
  would reach past the EV's next arrival it is drawn again from the same distribution
  truncated to the time until that arrival (so sessions never overlap and arrivals stay
  unbiased; long sessions followed by an early next arrival get shorter).
* Flat parts of the rounded curves (equal values at neighbouring percentages) are sampled as
  they are, i.e. as small probability masses at those values.
* The energy demand (battery side) is drawn from the ElaadNL energy distribution, independent
  of the other quantities, and capped at ``soc_departure_required * battery_kwh`` (at most the
  battery capacity). The stored energy at arrival is ``soc_departure_required * battery_kwh -
  demand``, so charging to the required SoC delivers exactly the demand. Sampled sessions can be
  physically infeasible (demand above power x time); the EV model reports their unmet energy.

How the ElaadNL files are read (percent density per 15-minute bin; exceedance curves in hours
and kWh) is documented in ``pedsim/data/elaadnl/LICENSE-AND-SOURCE.md``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import yaml

from pedsim.physics.ev import EVParameterError

__all__ = [
    "CHARGER_KINDS",
    "DEFAULT_SESSION_PROBABILITY",
    "EVCatalogueError",
    "EVType",
    "ElaadNLData",
    "SessionSamplingError",
    "TripTableError",
    "load_elaadnl",
    "load_ev_types",
    "load_trip_table",
    "sample_sessions",
]

FloatArray = npt.NDArray[np.float64]

CHARGER_KINDS: tuple[str, ...] = ("home", "workplace", "public")
DEFAULT_SESSION_PROBABILITY: dict[str, float] = {"home": 0.3, "workplace": 0.5, "public": 0.2}
_COLUMN = {"home": "private", "workplace": "workplace", "public": "public"}
_BIN_S = 900.0
_DAY_S = 86400.0

DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "elaadnl"
"""Packaged copy of the ElaadNL statistics."""

DEFAULT_EV_TYPES = Path(__file__).resolve().parents[2] / "models" / "ev_types.yaml"
"""Default EV catalogue, ``models/ev_types.yaml`` of the source tree."""


class EVCatalogueError(EVParameterError):
    """The EV catalogue file is missing, malformed or holds invalid values."""


class SessionSamplingError(ValueError):
    """Invalid argument to :func:`sample_sessions`."""


class TripTableError(ValueError):
    """Invalid trip table; attributes ``path``, ``line`` (header 1), ``column``, ``value``."""

    def __init__(
        self, path: str, line: int | None, column: str | None, value: Any, expected: str
    ) -> None:
        self.path, self.line, self.column, self.value, self.expected = (
            path, line, column, value, expected,
        )  # fmt: skip
        where = path + (f", line {line}" if line is not None else "")
        where += f", column '{column}'" if column is not None else ""
        super().__init__(f"{where}: value {value!r}; expected {expected}")


# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EVType:
    """One entry of the EV catalogue (``models/ev_types.yaml``)."""

    name: str
    battery_kwh: float
    ac_charge_kw: float
    dc_charge_kw: float
    v2g_ac: bool
    v2g_dc: bool
    v2g: bool
    ac_discharge_kw: float
    dc_discharge_kw: float
    registrations: int
    source: str

    @property
    def v2g_discharge_kw(self) -> float:
        """Largest discharge power over AC or DC (0 without V2G)."""
        return max(self.ac_discharge_kw, self.dc_discharge_kw) if self.v2g else 0.0


def load_ev_types(path: str | Path | None = None) -> dict[str, EVType]:
    """Load and validate an EV catalogue.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        YAML file with a mapping ``types:`` of model name to the fields of :class:`EVType`;
        defaults to ``models/ev_types.yaml`` of the source tree.

    Returns
    -------
    dict of str to EVType

    Raises
    ------
    EVCatalogueError
        If the file is missing or malformed, or a value is out of range or inconsistent.
    """
    p = Path(DEFAULT_EV_TYPES if path is None else path)
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise EVCatalogueError(f"{p}: cannot read the EV catalogue ({exc})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("types"), dict) or not doc["types"]:
        raise EVCatalogueError(f"{p}: expected a non-empty mapping under 'types:'")
    keys = [f.name for f in fields(EVType) if f.name != "name"]
    positive = ("battery_kwh", "ac_charge_kw")
    numbers = (*positive, "dc_charge_kw", "ac_discharge_kw", "dc_discharge_kw")
    out: dict[str, EVType] = {}
    for name, entry in doc["types"].items():
        where = f"{p}: types.{name}"
        if not isinstance(entry, dict) or sorted(entry) != sorted(keys):
            raise EVCatalogueError(f"{where}: expected a mapping with exactly the keys {keys}")
        e, reg = entry, entry["registrations"]
        checks = [(k, "a number >= 0", _is_num(e[k]) and e[k] >= 0) for k in numbers]
        checks += [(k, "a number > 0", _is_num(e[k]) and e[k] > 0) for k in positive]
        checks += [(k, "true or false", isinstance(e[k], bool)) for k in ("v2g_ac", "v2g_dc")]
        checks += [
            ("v2g", "v2g_ac or v2g_dc", e["v2g"] is (e["v2g_ac"] or e["v2g_dc"])),
            ("ac_discharge_kw", "> 0 with v2g_ac", not e["v2g_ac"] or _pos(e["ac_discharge_kw"])),
            ("dc_discharge_kw", "> 0 with v2g_dc", not e["v2g_dc"] or _pos(e["dc_discharge_kw"])),
            ("registrations", "an integer >= 0", type(reg) is int and reg >= 0),
            ("source", "a non-empty citation", bool(str(e["source"] or "").strip())),
        ]  # fmt: skip
        for k, expected, ok in checks:
            if not ok:
                raise EVCatalogueError(f"{where}.{k}={entry[k]!r}: expected {expected}")
        values = {k: (float(entry[k]) if k in numbers else entry[k]) for k in keys}
        out[str(name)] = EVType(name=str(name), **values)
    if sum(t.registrations for t in out.values()) <= 0:
        raise EVCatalogueError(f"{p}: registrations sum to 0; expected positive sampling weights")
    return out


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and bool(np.isfinite(v))


def _pos(v: Any) -> bool:
    return _is_num(v) and v > 0


# ----------------------------------------------------------------------------------------------
# ElaadNL statistics
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ElaadNLData:
    """ElaadNL statistics per charger kind (``home``, ``workplace``, ``public``).

    ``arrival_weekday`` / ``arrival_weekend``: probability (sum 1) of each 15-minute arrival bin
    (no weekend ``workplace``); ``connection_h`` / ``energy_kwh``: exceedance curves on
    ``percent`` = 0, 1, ..., 100 (p % of sessions last at least / charge at least the value);
    ``mean_energy_by_arrival_kwh``: mean kWh per session for 48 half-hour arrival slots (NaN
    where not given).
    """

    arrival_weekday: dict[str, FloatArray]
    arrival_weekend: dict[str, FloatArray]
    percent: FloatArray
    connection_h: dict[str, FloatArray]
    energy_kwh: dict[str, FloatArray]
    mean_energy_by_arrival_kwh: dict[str, FloatArray]


def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig")


def _slot_labels(step_min: int) -> list[str]:
    return [f"{m // 60:02d}:{m % 60:02d}" for m in range(0, 1440, step_min)]


def load_elaadnl(data_dir: str | Path | None = None) -> ElaadNLData:
    """Read and check the packaged ElaadNL statistics.

    Parameters
    ----------
    data_dir : str or pathlib.Path, optional
        Folder with the ElaadNL CSV files; defaults to the copy shipped in ``pedsim/data``.

    Returns
    -------
    ElaadNLData
        Raises :class:`SessionSamplingError` if a file's layout is not as expected.
    """
    root = Path(DATA_DIR if data_dir is None else data_dir)
    week = _read_csv(root / "distribution-of-arrival.csv")
    wend = _read_csv(root / "distribution-of-arrival-weekend.csv")
    arrival: list[dict[str, FloatArray]] = [{}, {}]
    for k, (df, name) in enumerate(((week, "weekday"), (wend, "weekend"))):
        if df["Arrival time"].tolist() != _slot_labels(15):
            raise SessionSamplingError(f"{name} arrival file: expected 96 bins 00:00 ... 23:45")
        for kind, col in _COLUMN.items():
            if col not in df.columns:
                continue
            p = df[col].to_numpy(dtype=float)
            if (p < 0).any() or abs(p.sum() - 100.0) > 1e-6:
                raise SessionSamplingError(
                    f"{name} arrival {col}: expected percentages summing to 100"
                )
            arrival[k][kind] = p / p.sum()
    curves: list[dict[str, FloatArray]] = [{}, {}]
    percent = np.arange(101, dtype=float)
    for k, fname in enumerate(
        ("distribution-of-connection-time.csv", "distribution-of-energy-demand.csv")
    ):
        df = _read_csv(root / fname)
        if not np.array_equal(df.iloc[:, 0].to_numpy(dtype=float), percent):
            raise SessionSamplingError(f"{fname}: expected percentages 0, 1, ..., 100")
        for kind, col in _COLUMN.items():
            v = df[col].to_numpy(dtype=float)
            if (np.diff(v) > 0).any() or v[-1] != 0.0 or (v < 0).any():
                raise SessionSamplingError(
                    f"{fname} {col}: expected a decreasing curve ending at 0"
                )
            curves[k][kind] = v
    md = _read_csv(root / "mean-demand-per-arrival.csv").set_index("Arrival Time")
    md = md.reindex(_slot_labels(30))
    mean_e = {
        kind: md[col].to_numpy(dtype=float)
        for kind, col in (("home", "home"), ("public", "public"), ("workplace", "work"))
    }
    return ElaadNLData(arrival[0], arrival[1], percent, curves[0], curves[1], mean_e)


def _arrival_grid(data: ElaadNLData, kind: str, weekend: bool) -> tuple[FloatArray, FloatArray]:
    table = data.arrival_weekend if weekend else data.arrival_weekday
    if kind not in table:
        raise SessionSamplingError(f"charger_kind={kind!r}: no ElaadNL arrival distribution")
    edges = np.arange(97, dtype=float) * _BIN_S
    cdf = np.concatenate(([0.0], np.cumsum(table[kind])))
    return edges, cdf / cdf[-1]


def _quantile(u_percent: FloatArray, percent: FloatArray, curve: FloatArray) -> FloatArray:
    """Value exceeded by ``u_percent`` % of sessions (inverse-transform sampling)."""
    return np.interp(u_percent, percent, curve)


def _positive_tail(curve: FloatArray) -> FloatArray:
    """Join the last positive point linearly to 0 at 100 % (values are rounded to 0.1)."""
    out = curve.copy()
    z = int(np.argmax(out <= 0.0))
    if 0 < z < out.size - 1:
        out[z:] = out[z - 1] * (out.size - 1 - np.arange(z, out.size)) / (out.size - z)
    return out


def _exceedance_percent(x: FloatArray, percent: FloatArray, curve: FloatArray) -> FloatArray:
    """Percentage of sessions with a value above ``x`` (inverse of :func:`_quantile`)."""
    return np.interp(x, curve[::-1], percent[::-1])


# ----------------------------------------------------------------------------------------------
# sampling
# ----------------------------------------------------------------------------------------------


def _timestamp(name: str, value: Any) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise SessionSamplingError(f"{name}={value!r}: expected a timestamp") from exc
    if ts is pd.NaT or ts.tzinfo is not None:
        raise SessionSamplingError(f"{name}={value!r}: expected a tz-naive local timestamp")
    return ts


def sample_sessions(
    rng: np.random.Generator,
    n_ev: int,
    start: Any,
    stop: Any,
    charger_kind: str,
    ev_types: Mapping[str, EVType] | None = None,
    *,
    session_probability: float | None = None,
    soc_departure_required: float = 1.0,
    data: ElaadNLData | None = None,
) -> pd.DataFrame:
    """Sample charging sessions of ``n_ev`` EVs at one kind of charger.

    See the module docstring for the model and its assumptions.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness; the same seed gives identical sessions.
    n_ev : int
        Number of EVs (ids ``0 ... n_ev - 1``).
    start, stop : timestamp-like
        Tz-naive local times; sessions arrive in ``[start, stop)`` (they may depart later).
    charger_kind : {'home', 'workplace', 'public'}
        ElaadNL charger category.
    ev_types : mapping of str to EVType, optional
        Catalogue to draw EV types from (weights = registrations); defaults to
        :func:`load_ev_types`.
    session_probability : float, optional
        Probability of a session per EV and day; defaults to
        ``DEFAULT_SESSION_PROBABILITY[charger_kind]``.
    soc_departure_required : float
        SoC required at departure (0-1).
    data : ElaadNLData, optional
        Statistics to sample from; defaults to :func:`load_elaadnl`.

    Returns
    -------
    pandas.DataFrame
        One row per session, sorted by ``ev_id`` and ``arrival``, with columns ``ev_id``,
        ``ev_type``, ``battery_kwh``, ``ac_charge_kw``, ``v2g``, ``v2g_discharge_kw``,
        ``charger_kind``, ``arrival``, ``departure`` (tz-naive timestamps), ``connection_h``,
        ``e_demand_kwh``, ``e_arrival_kwh``, ``soc_arrival`` and ``soc_departure_required``.
    """
    if not isinstance(rng, np.random.Generator):
        raise SessionSamplingError(f"rng={rng!r}: expected a numpy.random.Generator")
    if isinstance(n_ev, bool) or not isinstance(n_ev, int | np.integer) or n_ev < 0:
        raise SessionSamplingError(f"n_ev={n_ev!r}: expected an integer >= 0")
    if charger_kind not in CHARGER_KINDS:
        raise SessionSamplingError(
            f"charger_kind={charger_kind!r}: expected one of {CHARGER_KINDS}"
        )
    t_start, t_stop = _timestamp("start", start), _timestamp("stop", stop)
    if t_stop <= t_start:
        raise SessionSamplingError(f"stop={stop!r} <= start={start!r}: expected stop after start")
    prob = (
        DEFAULT_SESSION_PROBABILITY[charger_kind]
        if session_probability is None
        else session_probability
    )
    if not 0.0 <= prob <= 1.0:
        raise SessionSamplingError(f"session_probability={prob!r}: expected 0 ... 1")
    if not 0.0 <= soc_departure_required <= 1.0:
        raise SessionSamplingError(
            f"soc_departure_required={soc_departure_required!r}: expected 0 ... 1"
        )
    data = data or load_elaadnl()
    types = load_ev_types() if ev_types is None else dict(ev_types)
    names = list(types)
    weights = np.array([types[t].registrations for t in names], dtype=float)
    if not names or weights.sum() <= 0:
        raise SessionSamplingError("ev_types: expected types with positive registrations")
    days = pd.date_range(
        t_start.normalize(), (t_stop - pd.Timedelta(1, "ns")).normalize(), freq="D"
    )
    n_days = len(days)
    # all random numbers are drawn up front, in a fixed order
    type_idx = rng.choice(len(names), size=n_ev, p=weights / weights.sum())
    u_take, u_arr, u_conn, u_trunc, u_energy = rng.random((5, n_ev, n_days))

    weekend = days.dayofweek.to_numpy() >= 5
    tod = np.zeros((n_ev, n_days))
    p_day = np.where(weekend & (charger_kind == "workplace"), 0.0, prob)  # no weekend data
    for is_we in {bool(w) for w in weekend[p_day > 0]}:
        edges, cdf = _arrival_grid(data, charger_kind, is_we)
        tod[:, weekend == is_we] = np.interp(u_arr[:, weekend == is_we], cdf, edges)
    day_s = ((days - t_start.normalize()) / pd.Timedelta(seconds=1)).to_numpy(dtype=float)
    arr_s = day_s[None, :] + tod  # seconds after midnight of the start day
    lo_s = (t_start - t_start.normalize()) / pd.Timedelta(seconds=1)
    hi_s = (t_stop - t_start.normalize()) / pd.Timedelta(seconds=1)
    take = (u_take < p_day[None, :]) & (arr_s >= lo_s) & (arr_s < hi_s)
    ev_i, day_i = np.nonzero(take)  # row-major: sorted by EV, then day (= arrival)
    a = arr_s[ev_i, day_i]
    pct = data.percent
    conn = _positive_tail(data.connection_h[charger_kind])  # no zero-length sessions
    dur_s = _quantile(100.0 * u_conn[ev_i, day_i], pct, conn) * 3600.0
    gap = np.full(a.size, np.inf)
    same = ev_i[1:] == ev_i[:-1]
    gap[:-1][same] = a[1:][same] - a[:-1][same]
    over = dur_s > gap
    if over.any():  # truncated redraw: D <= gap  <=>  u >= exceedance percentage of the gap
        u_g = _exceedance_percent(gap[over] / 3600.0, pct, conn)
        u_new = u_g + (100.0 - u_g) * u_trunc[ev_i[over], day_i[over]]
        dur_s[over] = np.minimum(_quantile(u_new, pct, conn) * 3600.0, gap[over])
    # integer nanoseconds, so that a departure never passes the next arrival after rounding
    a_ns = np.round(a * 1e9).astype(np.int64)
    d_ns = np.round((a + dur_s) * 1e9).astype(np.int64)
    d_ns[:-1][same] = np.minimum(d_ns[:-1][same], a_ns[1:][same])
    keep = d_ns > a_ns
    ev_i, day_i, a_ns, d_ns = ev_i[keep], day_i[keep], a_ns[keep], d_ns[keep]

    t_names = np.asarray(names, dtype=object)[type_idx[ev_i]]
    cap = np.array([types[t].battery_kwh for t in t_names], dtype=float)
    e_target = soc_departure_required * cap
    demand = np.minimum(
        _quantile(100.0 * u_energy[ev_i, day_i], pct, data.energy_kwh[charger_kind]), e_target
    )
    e_arr = np.maximum(e_target - demand, 0.0)
    n_s = a_ns.size
    base = t_start.normalize()
    return pd.DataFrame(
        {
            "ev_id": ev_i.astype(np.int64),
            "ev_type": t_names.astype(str),
            "battery_kwh": cap,
            "ac_charge_kw": np.array([types[t].ac_charge_kw for t in t_names], dtype=float),
            "v2g": np.array([types[t].v2g for t in t_names], dtype=bool),
            "v2g_discharge_kw": np.array([types[t].v2g_discharge_kw for t in t_names], dtype=float),
            "charger_kind": charger_kind,
            "arrival": base + pd.to_timedelta(a_ns, unit="ns"),
            "departure": base + pd.to_timedelta(d_ns, unit="ns"),
            "connection_h": (d_ns - a_ns) / 3.6e12,
            "e_demand_kwh": demand,
            "e_arrival_kwh": e_arr,
            "soc_arrival": e_arr / cap,
            "soc_departure_required": np.full(n_s, float(soc_departure_required)),
        }
    )


# ----------------------------------------------------------------------------------------------
# user trip tables
# ----------------------------------------------------------------------------------------------

_TRIP_REQUIRED = ("ev_id", "arrival", "departure", "soc_departure_required")


def _parse_times(df: pd.DataFrame, col: str, path: str) -> pd.Series:
    raw = df[col]
    num = pd.to_numeric(raw, errors="coerce")
    if num.notna().all():
        return num.astype(float)  # seconds on the simulation time base
    tz = raw.astype(str).str.strip().str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True)
    if tz.any():
        i = int(np.flatnonzero(tz.to_numpy())[0])
        raise TripTableError(path, i + 2, col, raw.iloc[i], "a tz-naive local time (no offset)")
    ts = pd.to_datetime(raw, format="ISO8601", errors="coerce")
    bad = ts.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise TripTableError(
            path, i + 2, col, raw.iloc[i], "an ISO 8601 date-time (or all times in seconds)"
        )
    return ts


def load_trip_table(
    path: str | Path,
    *,
    ev_types: Mapping[str, EVType] | None = None,
    known_ev_ids: Collection[Any] | None = None,
) -> pd.DataFrame:
    """Read and validate a user trip table (one charging session per row).

    Columns: ``ev_id``, ``arrival``, ``departure`` (tz-naive ISO 8601 date-times, or numbers
    of seconds on the simulation time base), ``soc_departure_required`` (0-1), and
    ``soc_arrival`` (0-1) or ``e_arrival_kwh``; optional ``ev_type`` (catalogue name, which fills
    ``battery_kwh``, ``ac_charge_kw``, ``v2g`` and ``v2g_discharge_kw``) and ``battery_kwh``.
    ``e_arrival_kwh`` needs the battery capacity.

    Parameters
    ----------
    path : str or pathlib.Path
        CSV file.
    ev_types : mapping of str to EVType, optional
        Catalogue for ``ev_type``; defaults to :func:`load_ev_types` when that column exists.
    known_ev_ids : collection, optional
        If given, every ``ev_id`` must be one of these (compared as text).

    Returns
    -------
    pandas.DataFrame
        The table with parsed times, ``battery_kwh`` and both ``soc_arrival`` and
        ``e_arrival_kwh`` where the capacity is known, sorted by ``ev_id`` and ``arrival``.

    Raises
    ------
    TripTableError
        Naming file, line (header = line 1), column, value and expectation.
    """
    src = str(path)
    try:
        df = pd.read_csv(path, skipinitialspace=True)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise TripTableError(src, None, None, None, f"a readable CSV file ({exc})") from exc
    df.columns = [str(c).strip() for c in df.columns]
    line = np.arange(len(df)) + 2

    def check(bad: npt.ArrayLike, col: str, expected: str, values: Any = None) -> None:
        bad = np.asarray(bad, dtype=bool)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            value = (df[col] if values is None else values)[i]
            raise TripTableError(src, int(line[i]), col, value, expected)

    have = set(df.columns)
    for col in (*_TRIP_REQUIRED, "soc_arrival" if "e_arrival_kwh" not in have else ""):
        if col and col not in have:
            raise TripTableError(src, 1, col, None, f"columns {[*_TRIP_REQUIRED]} and "
                                 "soc_arrival or e_arrival_kwh")  # fmt: skip
    if df.empty:
        raise TripTableError(src, 2, None, None, "at least one session")
    for col in df.columns:  # empty cells (one of soc_arrival / e_arrival_kwh may be empty)
        miss = df[col].isna().to_numpy()
        if col in ("soc_arrival", "e_arrival_kwh") and {"soc_arrival", "e_arrival_kwh"} <= have:
            miss &= df[({"soc_arrival", "e_arrival_kwh"} - {col}).pop()].isna().to_numpy()
        check(miss, col, "a value (empty cell)")
    if known_ev_ids is not None:
        known = {str(k) for k in known_ev_ids}
        check(~df["ev_id"].astype(str).isin(known), "ev_id", "a known EV id")
    if "ev_type" in have:
        cat = load_ev_types() if ev_types is None else ev_types
        check(~df["ev_type"].astype(str).isin(list(cat)), "ev_type", f"an EV type in {list(cat)}")
        et = [cat[str(x)] for x in df["ev_type"]]
        for col in ("battery_kwh", "ac_charge_kw", "v2g", "v2g_discharge_kw"):
            if col not in have:
                df[col] = [getattr(x, col) for x in et]
    for col, lo, hi, what in (
        ("soc_departure_required", 0.0, 1.0, "a SoC between 0 and 1"),
        ("soc_arrival", 0.0, 1.0, "a SoC between 0 and 1"),
        ("e_arrival_kwh", 0.0, np.inf, "an energy >= 0 kWh"),
        ("battery_kwh", 1e-300, np.inf, "a capacity > 0 kWh"),
    ):
        if col in df.columns:
            v = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
            check(df[col].notna().to_numpy() & ~((v >= lo) & (v <= hi)), col, what)
            df[col] = v
    df["arrival"] = _parse_times(df, "arrival", src)
    df["departure"] = _parse_times(df, "departure", src)
    if df["arrival"].dtype != df["departure"].dtype:
        check(np.ones(len(df)), "departure", "the same time format as arrival")
    txt = (
        "departure " + df["departure"].astype(str) + " (arrival " + df["arrival"].astype(str) + ")"
    )
    check(df["departure"] <= df["arrival"], "departure", "a time after the arrival", txt)
    if "battery_kwh" in df.columns:
        cap = df["battery_kwh"].to_numpy(dtype=float)
        if "e_arrival_kwh" in df.columns:
            e = df["e_arrival_kwh"].to_numpy(dtype=float)
            check(e > cap * (1 + 1e-12), "e_arrival_kwh", "at most battery_kwh")
            soc = df["soc_arrival"].to_numpy(dtype=float) if "soc_arrival" in have else e / cap
            df["soc_arrival"] = np.where(np.isnan(soc), e / cap, soc)
        df["e_arrival_kwh"] = df["soc_arrival"].to_numpy(dtype=float) * cap
    elif "e_arrival_kwh" in have:
        raise TripTableError(
            src, 1, "battery_kwh", None, "battery_kwh or ev_type for e_arrival_kwh"
        )
    df["_line"] = line
    df = df.sort_values(["ev_id", "arrival", "_line"], kind="stable").reset_index(drop=True)
    same = df["ev_id"].to_numpy()[1:] == df["ev_id"].to_numpy()[:-1]
    over = np.flatnonzero(same & (df["arrival"].to_numpy()[1:] < df["departure"].to_numpy()[:-1]))
    if over.size:
        j = int(over[0])
        prev = df.iloc[j]
        raise TripTableError(
            src, int(df["_line"].iloc[j + 1]), "arrival", str(df["arrival"].iloc[j + 1]),
            f"no overlap with the session of EV {prev['ev_id']!r} on line {int(prev['_line'])}"
            f" (departure {prev['departure']})",
        )  # fmt: skip
    return df.drop(columns="_line")
