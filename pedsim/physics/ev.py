"""Electric-vehicle charging at AC charge points, vectorised over a fleet of EVs.

Each EV has a battery, an AC charging power (the minimum of the on-board charger and the charge
point, e.g. 3.7, 11 or 22 kW), optional bidirectional (V2G) discharge power, constant charge and
discharge efficiencies and a list of non-overlapping charging sessions ``[arrival, departure)``
with the stored energy at arrival and the state of charge required at departure.

Sign convention: power is positive when drawn from the grid (charging) and every reported
power is the mean over the step ``[t, t + dt)``. Arrivals and departures may fall anywhere
inside a step: the EV only exchanges energy during the plugged-in part of the step, and the
reported mean power (and ``plugged``, the plugged-in fraction of the step) reflect it. An EV may
even end one session and start the next inside one step.

Charging modes (per EV):

``uncontrolled``
    Full power from arrival until the battery reaches ``soc_max``.
``delayed``
    Full power from the latest start time ``departure - need / (P eta_charge)``, computed in
    continuous time, so that the required energy is reached exactly at departure.
``controlled``
    A setpoint from a controller (mean AC power over the step), clipped to what is feasible and
    raised where needed to a floor that still meets the departure requirement: after each step
    the remaining need must not exceed what full power can deliver before departure. Without a
    setpoint the EV charges at this floor (the step-wise equivalent of ``delayed``).
``v2g``
    As ``controlled`` for a bidirectional EV; negative setpoints discharge it, never below
    ``soc_min`` nor below what the departure still needs.

Within a step the setpoint of a controlled EV is spread evenly over its plugged-in time, so an
unclipped setpoint ``p`` gives the mean power ``p``. Session energies are battery-side (stored)
energies; grid energies are ``delta_e / eta_charge`` (charging) or ``delta_e * eta_discharge``
(discharging). The state of charge of an EV that is not plugged in is its last known value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from pedsim.physics.battery import _param
from pedsim.physics.ev_kernel import advance_fleet

__all__ = [
    "MODES",
    "EVFleet",
    "EVParameterError",
    "EVSessionError",
    "EVStepResult",
    "aggregate_by_bus",
]

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MODES: tuple[str, ...] = ("uncontrolled", "delayed", "controlled", "v2g")
_UNC, _DEL, _CTL, _V2G = range(4)


class EVParameterError(ValueError):
    """An EV fleet parameter or input has an invalid value."""


class EVSessionError(EVParameterError):
    """A charging session is invalid (times, energies, overlap, unknown EV)."""


@dataclass(frozen=True)
class EVStepResult:
    """Result of one fleet step; every field is an array over EVs.

    Attributes
    ----------
    p_kw : numpy.ndarray
        Mean AC power over the step (+ charging).
    soc : numpy.ndarray
        State of charge at the end of the step (last known value when unplugged).
    plugged : numpy.ndarray
        Fraction of the step the EV was plugged in (0-1).
    e_required_kwh : numpy.ndarray
        Stored energy still needed for the departure of the session plugged in at the end of
        the step (0 when not plugged in).
    e_unmet_kwh : numpy.ndarray
        For sessions that ended in the step: stored energy missing at departure (summed if an
        EV ended several sessions in one step).
    n_departures : numpy.ndarray
        Number of sessions that ended in the step.
    e_charged_kwh, e_discharged_kwh : numpy.ndarray
        AC energy drawn from / fed to the grid in the step (>= 0).
    e_stored_delta_kwh : numpy.ndarray
        Change of stored energy by charging and discharging in the step (the reset of the
        stored energy at an arrival is not included).
    e_loss_kwh : numpy.ndarray
        Conversion losses: ``e_charged - e_discharged = e_stored_delta + e_loss``.
    """

    p_kw: FloatArray
    soc: FloatArray
    plugged: FloatArray
    e_required_kwh: FloatArray
    e_unmet_kwh: FloatArray
    n_departures: IntArray
    e_charged_kwh: FloatArray
    e_discharged_kwh: FloatArray
    e_stored_delta_kwh: FloatArray
    e_loss_kwh: FloatArray


def _mode_codes(mode: str | Sequence[str], n: int) -> IntArray:
    names = [mode] * n if isinstance(mode, str) else list(mode)
    if len(names) != n:
        raise EVParameterError(f"mode has {len(names)} entries: expected 1 or {n} (one per EV)")
    codes = np.empty(n, dtype=np.int64)
    for i, m in enumerate(names):
        if m not in MODES:
            raise EVParameterError(f"mode[{i}]={m!r}: expected one of {list(MODES)}")
        codes[i] = MODES.index(m)
    return codes


class EVFleet:
    """A fleet of EVs with their charging sessions, stepped together.

    Parameters
    ----------
    battery_kwh : array_like
        Battery capacity per EV (> 0).
    charger_kw : array_like
        AC charging power per EV (> 0): minimum of on-board charger and charge point.
    p_discharge_max_kw : array_like, optional
        Maximum AC discharging power (>= 0); defaults to ``charger_kw`` for bidirectional EVs
        and 0 otherwise.
    bidirectional : array_like of bool
        Whether the EV and its charge point support V2G.
    eta_charge, eta_discharge : array_like
        One-way efficiencies in (0, 1].
    soc_min, soc_max : array_like
        SoC window: V2G never discharges below ``soc_min``; charging stops at ``soc_max``.
    mode : str or sequence of str
        Charging mode per EV, one of :data:`MODES`.
    t_start_s : float
        Simulation time of the first step in seconds (the time base of the sessions).
    """

    def __init__(
        self,
        battery_kwh: ArrayLike,
        charger_kw: ArrayLike,
        *,
        p_discharge_max_kw: ArrayLike | None = None,
        bidirectional: ArrayLike = False,
        eta_charge: ArrayLike = 0.9,
        eta_discharge: ArrayLike = 0.9,
        soc_min: ArrayLike = 0.0,
        soc_max: ArrayLike = 1.0,
        mode: str | Sequence[str] = "uncontrolled",
        t_start_s: float = 0.0,
    ) -> None:
        raw = [battery_kwh, charger_kw, bidirectional, eta_charge, eta_discharge, soc_min, soc_max]
        if p_discharge_max_kw is not None:
            raw.append(p_discharge_max_kw)
        try:
            shape = np.broadcast_shapes(*(np.shape(v) for v in raw))
        except ValueError as exc:
            raise EVParameterError(
                f"EV parameters must share one length; got shapes {[np.shape(v) for v in raw]}"
            ) from exc
        if len(shape) > 1:
            raise EVParameterError(f"EV parameters must be at most 1-D, got shape {shape}")
        n = int(shape[0]) if shape else 1
        if n < 1:
            raise EVParameterError("EV parameters describe zero EVs")
        kw = {"error": EVParameterError}
        self.n_ev = n
        self.battery_kwh = _param(
            "battery_kwh", battery_kwh, n, lo=0.0, lo_open=True, expected="> 0 kWh", **kw
        )
        self.charger_kw = _param(
            "charger_kw", charger_kw, n, lo=0.0, lo_open=True, expected="> 0 kW", **kw
        )
        self.bidirectional = np.broadcast_to(np.asarray(bidirectional, dtype=bool), (n,)).copy()
        p_dis = np.where(self.bidirectional, self.charger_kw, 0.0)
        if p_discharge_max_kw is not None:
            p_dis = _param(
                "p_discharge_max_kw", p_discharge_max_kw, n, lo=0.0, expected=">= 0 kW", **kw
            )
        self.p_discharge_max_kw = np.where(self.bidirectional, p_dis, 0.0)
        for name, v in (("eta_charge", eta_charge), ("eta_discharge", eta_discharge)):
            arr = _param(name, v, n, lo=0.0, hi=1.0, lo_open=True, expected="0 < eta <= 1", **kw)
            setattr(self, name, arr)
        self.soc_min = _param("soc_min", soc_min, n, lo=0.0, hi=1.0, expected="0-1", **kw)
        self.soc_max = _param("soc_max", soc_max, n, lo=0.0, hi=1.0, expected="0-1", **kw)
        bad = self.soc_min >= self.soc_max
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise EVParameterError(
                f"soc_min[{i}]={self.soc_min[i]!r} >= soc_max[{i}]={self.soc_max[i]!r}: "
                "expected soc_min < soc_max"
            )
        self.mode = _mode_codes(mode, n)
        bad = (self.mode == _V2G) & ~(self.p_discharge_max_kw > 0.0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise EVParameterError(
                f"mode[{i}]='v2g' but EV {i} is not bidirectional (bidirectional="
                f"{bool(self.bidirectional[i])}, p_discharge_max_kw={self.p_discharge_max_kw[i]}):"
                " expected a bidirectional EV with a discharge power > 0"
            )
        if not np.isfinite(t_start_s):
            raise EVParameterError(f"t_start_s={t_start_s!r}: expected a finite time in s")
        self.t_s = float(t_start_s)
        # parameters packed for the compiled step (the arrays above are not to be changed)
        self._par = np.vstack((
            self.battery_kwh, self.charger_kw, self.p_discharge_max_kw, self.eta_charge,
            self.eta_discharge, self.soc_min, self.soc_max,
        ))  # fmt: skip
        self._no_set = np.zeros(n)
        self.ev_ids: np.ndarray = np.arange(n)
        self.e_kwh: FloatArray = np.zeros(n)
        self.set_sessions([], [], [], [], e_arrival_kwh=[])

    # ------------------------------------------------------------------ sessions
    def set_sessions(
        self,
        ev_index: ArrayLike,
        arrival_s: ArrayLike,
        departure_s: ArrayLike,
        soc_departure_required: ArrayLike,
        *,
        e_arrival_kwh: ArrayLike | None = None,
        soc_arrival: ArrayLike | None = None,
    ) -> None:
        """Replace the charging sessions of the fleet (and reset the stored energies).

        Sessions already over at ``t_s`` are skipped; one in progress at ``t_s`` starts with its
        arrival energy.

        Parameters
        ----------
        ev_index : array_like of int
            EV (0 ... n_ev - 1) of each session.
        arrival_s, departure_s : array_like
            Plug-in and plug-out times in seconds on the fleet's time base (``departure >
            arrival``). Sessions of one EV must not overlap (touching is allowed).
        soc_departure_required : array_like
            SoC required at departure (0-1); values above ``soc_max`` are capped at it.
        e_arrival_kwh, soc_arrival : array_like
            Stored energy (0 ... battery) or SoC (0-1) at arrival; give exactly one.

        Raises
        ------
        EVSessionError
            Naming the first offending session (in input order), its value and the expectation.
        """
        raw_ev = np.asarray(ev_index).reshape(-1)
        m = raw_ev.size
        if (e_arrival_kwh is None) == (soc_arrival is None):
            raise EVSessionError("give exactly one of e_arrival_kwh and soc_arrival")
        if raw_ev.dtype.kind not in "iuf" and m:
            raise EVSessionError(f"ev_index dtype {raw_ev.dtype}: expected integers")
        evf = raw_ev.astype(float)
        bad = ~np.isfinite(evf) | (evf != np.round(evf)) | (evf < 0) | (evf >= self.n_ev)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise EVSessionError(
                f"session {i}: ev_index={raw_ev[i]!r} unknown EV; expected an integer in "
                f"0 ... {self.n_ev - 1}"
            )
        ev = evf.astype(np.int64)
        kw = {"error": EVSessionError}
        a = _param("arrival_s", arrival_s, m, expected="a finite time in s", **kw)
        d = _param("departure_s", departure_s, m, expected="a finite time in s", **kw)
        bad = d <= a
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise EVSessionError(
                f"session {i}: departure_s={d[i]!r} <= arrival_s={a[i]!r}; expected departure "
                "after arrival"
            )
        req = _param(
            "soc_departure_required", soc_departure_required, m, lo=0.0, hi=1.0,
            expected="a SoC in 0-1", **kw,
        )  # fmt: skip
        cap = self.battery_kwh[ev]
        if soc_arrival is not None:
            e_arr = cap * _param("soc_arrival", soc_arrival, m, lo=0, hi=1, expected="0-1", **kw)
        else:
            e_arr = _param("e_arrival_kwh", e_arrival_kwh, m, lo=0.0, expected=">= 0 kWh", **kw)
            bad = e_arr > cap * (1.0 + 1e-12)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise EVSessionError(
                    f"session {i}: e_arrival_kwh={e_arr[i]!r} exceeds the battery of EV "
                    f"{ev[i]} ({cap[i]!r} kWh); expected 0 ... battery_kwh"
                )
            e_arr = np.minimum(e_arr, cap)
        order = np.lexsort((a, ev))
        ev_s, a_s, d_s = ev[order], a[order], d[order]
        same = ev_s[1:] == ev_s[:-1]
        bad = same & (a_s[1:] < d_s[:-1])
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise EVSessionError(
                f"sessions {int(order[j])} and {int(order[j + 1])} of EV {ev_s[j]} overlap: "
                f"arrival_s={a_s[j + 1]!r} < previous departure_s={d_s[j]!r}; expected "
                "non-overlapping sessions per EV"
            )
        self._ev, self._arr, self._dep = ev_s, a_s, d_s
        self._e_arr = e_arr[order]
        self._e_req = np.minimum(req[order], self.soc_max[ev_s]) * self.battery_kwh[ev_s]
        self._sess = np.vstack((a_s, d_s, self._e_arr, self._e_req))
        self._start = np.searchsorted(ev_s, np.arange(self.n_ev), side="left")
        self._stop = np.searchsorted(ev_s, np.arange(self.n_ev), side="right")
        # first session not yet over at the current time
        ptr = self._start.copy()
        for i in np.flatnonzero(self._stop > self._start):
            ptr[i] += int(np.searchsorted(d_s[self._start[i] : self._stop[i]], self.t_s, "right"))
        # session in progress (-1: none) and first session not yet over, as one array
        self._state = np.vstack((np.full(self.n_ev, -1), ptr)).astype(np.int64)
        self._active, self._ptr = self._state
        self.e_kwh = np.zeros(self.n_ev)
        if m:
            has = ptr < self._stop
            self.e_kwh[has] = self._e_arr[ptr[has]]

    @classmethod
    def from_sessions(
        cls,
        sessions: pd.DataFrame,
        *,
        t0: pd.Timestamp | str | None = None,
        charger_kw: float = 11.0,
        mode: str = "uncontrolled",
        ev_ids: Sequence[Any] | None = None,
        **kwargs: Any,
    ) -> EVFleet:
        """Build a fleet from a session table (as from ``sample_sessions``/``load_trip_table``).

        Parameters
        ----------
        sessions : pandas.DataFrame
            Columns ``ev_id``, ``battery_kwh``, ``arrival``, ``departure`` (timestamps, or
            seconds on the fleet time base), ``soc_departure_required`` and ``e_arrival_kwh`` or
            ``soc_arrival``; optional ``ac_charge_kw`` (on-board charger), ``v2g`` (bool) and
            ``v2g_discharge_kw``.
        t0 : timestamp, optional
            Time of ``t = 0 s`` for timestamp columns; defaults to midnight before the first
            arrival. The fleet starts at ``t = 0``.
        charger_kw : float
            Charge point rating; the EV charges at ``min(charger_kw, ac_charge_kw)``.
        mode : str
            Charging mode for all EVs; with ``'v2g'``, EVs without V2G use ``'controlled'``.
        ev_ids : sequence, optional
            Fleet EVs in order (EVs without sessions allowed); defaults to the sorted unique
            ``ev_id`` values. The order is kept in ``fleet.ev_ids``.
        **kwargs
            Further :class:`EVFleet` parameters (efficiencies, SoC window).

        Returns
        -------
        EVFleet
        """
        df = sessions
        need = ["ev_id", "battery_kwh", "arrival", "departure", "soc_departure_required"]
        missing = [c for c in need if c not in df.columns]
        if missing:
            raise EVSessionError(f"sessions: missing columns {missing}; expected {need}")
        ids = np.asarray(sorted(df["ev_id"].unique()) if ev_ids is None else list(ev_ids))
        pos = pd.Index(ids).get_indexer(df["ev_id"])
        if (pos < 0).any():
            i = int(np.flatnonzero(pos < 0)[0])
            raise EVSessionError(f"sessions row {i}: ev_id={df['ev_id'].iloc[i]!r} not in ev_ids")
        per_ev = df.assign(_pos=pos).groupby("_pos")
        n = len(ids)

        def per_ev_value(col: str, default: float) -> FloatArray:
            out = np.full(n, default, dtype=float)
            if col in df.columns:
                if (per_ev[col].nunique() > 1).any():
                    raise EVSessionError(f"sessions: {col!r} differs between sessions of one EV")
                first = per_ev[col].first()
                out[first.index.to_numpy()] = first.to_numpy(dtype=float)
            return out

        cap = per_ev_value("battery_kwh", np.nan)
        cap = np.where(np.isnan(cap), 1.0, cap)  # EVs without sessions: placeholder battery
        p_kw = np.minimum(charger_kw, per_ev_value("ac_charge_kw", charger_kw))
        v2g = per_ev_value("v2g", 0.0) > 0.5
        p_dis = np.minimum(p_kw, per_ev_value("v2g_discharge_kw", charger_kw))
        modes = [("controlled" if (mode == "v2g" and not v) else mode) for v in v2g]
        fleet = cls(cap, p_kw, p_discharge_max_kw=p_dis, bidirectional=v2g, mode=modes, **kwargs)
        arr, dep = df["arrival"], df["departure"]
        if pd.api.types.is_datetime64_any_dtype(arr):
            t_ref = arr.min().normalize() if t0 is None else pd.Timestamp(t0)
            a_s = ((arr - t_ref) / pd.Timedelta(seconds=1)).to_numpy(dtype=float)
            d_s = ((dep - t_ref) / pd.Timedelta(seconds=1)).to_numpy(dtype=float)
        else:
            a_s, d_s = arr.to_numpy(dtype=float), dep.to_numpy(dtype=float)
        energy = (
            {"e_arrival_kwh": df["e_arrival_kwh"].to_numpy(dtype=float)}
            if "e_arrival_kwh" in df.columns
            else {"soc_arrival": df["soc_arrival"].to_numpy(dtype=float)}
        )
        fleet.set_sessions(pos, a_s, d_s, df["soc_departure_required"].to_numpy(float), **energy)
        fleet.ev_ids = ids
        return fleet

    # ------------------------------------------------------------------ stepping
    @property
    def soc(self) -> FloatArray:
        """State of charge per EV (last known value when not plugged in)."""
        return self.e_kwh / self.battery_kwh

    def _run(self, dt_s: float, p_set_kw: ArrayLike | None) -> tuple[FloatArray, IntArray, int]:
        """Check the inputs and run :func:`~pedsim.physics.ev_kernel.advance_fleet`."""
        if not np.isfinite(dt_s) or dt_s <= 0.0:
            raise EVParameterError(f"dt_s={dt_s!r}: expected a step length > 0 s")
        n = self.n_ev
        if p_set_kw is None:
            p_set = self._no_set
        else:
            p_set = p_set_kw
            if not (
                type(p_set) is np.ndarray
                and p_set.dtype == np.float64
                and p_set.shape == (n,)
                and p_set.flags.c_contiguous
                and p_set.flags.writeable
            ):  # the kernel only reads it; otherwise a float copy of one value per EV
                p_set = np.array(np.broadcast_to(np.asarray(p_set_kw, dtype=float), (n,)))
            if np.isnan(p_set).any():
                raise EVParameterError(f"p_set_kw={p_set_kw!r}: expected powers in kW, no NaN")
        return advance_fleet(
            self.t_s, float(dt_s), p_set, self.e_kwh, self._state, self._stop, self._sess,
            self.mode, self._par,
        )  # fmt: skip

    def _advance(
        self, dt_s: float, p_set_kw: ArrayLike | None
    ) -> tuple[EVStepResult, FloatArray, IntArray, IntArray]:
        """Step result and new state (energy, session in progress, pointer), state unchanged."""
        out, state, _ = self._run(dt_s, p_set_kw)
        res = EVStepResult(*out[:5], out[5].astype(np.int64), *out[6:10])
        return res, out[10], state[0], state[1]

    def get_state(self) -> tuple[float, FloatArray, IntArray]:
        """Return a copy of what a step changes: time, stored energies, session state."""
        return self.t_s, self.e_kwh.copy(), self._state.copy()

    def set_state(self, state: tuple[float, FloatArray, IntArray]) -> None:
        """Put back a state from :meth:`get_state` (to repeat a step)."""
        t_s, e_kwh, sessions = state
        self.t_s, self.e_kwh, self._state = float(t_s), e_kwh.copy(), sessions.copy()
        self._active, self._ptr = self._state

    def step_arrays(self, dt_s: float, p_set_kw: ArrayLike | None = None) -> tuple[FloatArray, int]:
        """:meth:`step` returning the raw rows of the compiled step (fast path of simulators).

        Returns
        -------
        out : numpy.ndarray
            ``(11, n_ev)``: the fields of :class:`EVStepResult` in order (``n_departures``
            as float), then the new stored energy.
        bad : int
            First EV whose power is not finite, or -1.
        """
        out, state, bad = self._run(dt_s, p_set_kw)
        self.e_kwh, self._state = out[10], state
        self._active, self._ptr = state
        self.t_s += float(dt_s)
        return out, bad

    def step(self, dt_s: float, p_set_kw: ArrayLike | None = None) -> EVStepResult:
        """Advance the fleet by one step from ``self.t_s``.

        Parameters
        ----------
        dt_s : float
            Step length in seconds.
        p_set_kw : array_like, optional
            Mean AC power setpoint per EV for ``controlled``/``v2g`` EVs (+ charging; ``inf``
            means as much as possible). Ignored for the other modes. None means 0.

        Returns
        -------
        EVStepResult
        """
        out, _ = self.step_arrays(dt_s, p_set_kw)
        return EVStepResult(*out[:5], out[5].astype(np.int64), *out[6:10])

    def feasible_power_kw(self, dt_s: float) -> tuple[FloatArray, FloatArray]:
        """Range of mean AC power a setpoint can obtain in the next step (no state change).

        For ``uncontrolled`` and ``delayed`` EVs both bounds equal the power they will take.

        Parameters
        ----------
        dt_s : float
            Step length in seconds.

        Returns
        -------
        p_min_kw, p_max_kw : numpy.ndarray
        """
        lo = self._advance(dt_s, np.full(self.n_ev, -np.inf))[0].p_kw
        hi = self._advance(dt_s, np.full(self.n_ev, np.inf))[0].p_kw
        return lo, hi


def aggregate_by_bus(
    values: ArrayLike, bus_index: ArrayLike, n_bus: int | None = None
) -> FloatArray:
    """Sum per-EV values (e.g. ``p_kw``) per grid bus.

    Parameters
    ----------
    values : array_like
        One value per EV.
    bus_index : array_like of int
        Bus (0 ... n_bus - 1) of each EV.
    n_bus : int, optional
        Number of buses; defaults to ``max(bus_index) + 1``.

    Returns
    -------
    numpy.ndarray
        Sum per bus, length ``n_bus``.
    """
    v = np.asarray(values, dtype=float)
    b = np.asarray(bus_index)
    if b.shape != v.shape or b.ndim != 1:
        raise EVParameterError(
            f"bus_index has shape {b.shape}, values {v.shape}: expected equal 1-D shapes"
        )
    if b.size and (b.dtype.kind not in "iu" or b.min() < 0):
        raise EVParameterError(f"bus_index={bus_index!r}: expected non-negative integers")
    if n_bus is not None and b.size and b.max() >= n_bus:
        raise EVParameterError(f"bus_index max {b.max()} >= n_bus={n_bus}: expected < n_bus")
    return np.bincount(b, weights=v, minlength=0 if n_bus is None else n_bus)
