"""Data exchanged between a district controller and the co-simulation.

Each step the controller receives :class:`Measurements` (arrays over units, load convention:
power is positive when drawn from the grid) and, for strategies that look ahead, a
:class:`Forecast`; it returns :class:`Setpoints`. Any object with a
``decide(measurements, forecast)`` method is a :class:`Strategy`.

Units are grouped by prefix: ``bat_`` (stationary batteries), ``ev_`` (EVs at charge points),
``hp_`` with ``t_*`` (heat pumps and the zone each one heats). A group is empty when its first
field (``bat_soc``, ``ev_soc``, ``hp_p_kw``) is empty; every other field of a group has the
same length or is left at its default (``None``), which is replaced by the value stated in
the field list.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

__all__ = [
    "WEATHER_AHEAD_S",
    "ControlError",
    "ControlParameterError",
    "Forecast",
    "Measurements",
    "Setpoints",
    "Strategy",
    "check_number",
]

FloatArray = npt.NDArray[np.float64]


class ControlError(RuntimeError):
    """A controller cannot work with the inputs it was given (e.g. a missing forecast)."""


class ControlParameterError(ValueError):
    """Invalid controller parameter or input; the message names the field, value and range."""


def check_number(
    name: str,
    value: object,
    *,
    lo: float = -np.inf,
    hi: float = np.inf,
    lo_open: bool = False,
    hi_open: bool = False,
    allow_inf: bool = False,
) -> float:
    """Return ``value`` as a float after checking ``lo <(=) value <(=) hi``.

    Parameters
    ----------
    name : str
        Field name used in the error message.
    value : object
        The value to check.
    lo, hi : float
        Bounds; ``lo_open`` / ``hi_open`` make them strict.
    lo_open, hi_open : bool
        Whether the bounds are excluded.
    allow_inf : bool
        Whether +-inf passes (subject to the bounds).

    Returns
    -------
    float

    Raises
    ------
    ControlParameterError
        Naming the field, the value and the expected range.
    """
    lo_b, hi_b = ("(" if lo_open else "["), (")" if hi_open else "]")
    expected = f"a number in {lo_b}{lo:g}, {hi:g}{hi_b}"
    shown = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ControlParameterError(f"{name}={shown!r}: expected {expected}")
    v = float(value)
    bad = np.isnan(v) or (np.isinf(v) and not allow_inf)
    bad = bad or (v <= lo if lo_open else v < lo) or (v >= hi if hi_open else v > hi)
    if bad:
        raise ControlParameterError(f"{name}={shown!r}: expected {expected}")
    return v


# field -> default (None: required when the group is not empty; str: that field's value)
_BAT = {
    "bat_soc": None, "bat_capacity_kwh": None, "bat_p_charge_max_kw": None,
    "bat_p_discharge_max_kw": None, "bat_eta_charge": None, "bat_eta_discharge": None,
    "bat_soc_min": 0.0, "bat_soc_max": 1.0, "bat_p_kw": 0.0, "bat_bus": 0,
}  # fmt: skip
_EV = {
    "ev_soc": None, "ev_plugged": None, "ev_battery_kwh": None, "ev_p_max_kw": None,
    "ev_e_required_kwh": None, "ev_departure_s": None, "ev_bidirectional": False,
    "ev_p_discharge_max_kw": "ev_p_max_kw", "ev_eta_charge": 1.0, "ev_eta_discharge": 1.0,
    "ev_soc_min": 0.0, "ev_soc_max": 1.0, "ev_p_kw": 0.0, "ev_bus": 0,
}  # fmt: skip
_HP = {
    "hp_p_kw": None, "hp_p_max_kw": None, "t_zone_degc": None, "t_comfort_low_degc": None,
    "t_comfort_high_degc": None, "t_set_heat_degc": None, "t_mass_degc": np.nan, "hp_bus": 0,
}  # fmt: skip
_GROUPS = (_BAT, _EV, _HP)
_INT = ("bat_bus", "ev_bus", "hp_bus")
_BOOL = ("ev_bidirectional",)
_NAN_OK = ("t_mass_degc",)
_INF_OK = ("ev_departure_s",)


#: Look-ahead of the weather forecast in :attr:`Measurements.t_out_max_ahead_degc` (s).
WEATHER_AHEAD_S = 72 * 3600


@dataclass(eq=False)
class Measurements:
    """State of the district at the start of a decision step (arrays over units).

    Attributes
    ----------
    t_s, dt_s : int
        Time of the step (s since the run start) and step length (s).
    p_trafo_kw : float
        Power at the MV/LV transformer(s), summed (+ drawn by the district).
    p_load_kw, p_pv_kw : numpy.ndarray
        Per bus: inflexible use (+) and PV generation (negative), last measured values.
    bat_soc, bat_capacity_kwh, bat_p_charge_max_kw, bat_p_discharge_max_kw : numpy.ndarray
        Stationary batteries: state of charge (0-1), usable capacity, AC power limits.
    bat_eta_charge, bat_eta_discharge : numpy.ndarray
        One-way efficiencies in (0, 1].
    bat_soc_min, bat_soc_max, bat_p_kw, bat_bus : numpy.ndarray
        SoC window (default 0 and 1), last AC power (+ charging, default 0), bus position.
    ev_soc, ev_plugged, ev_battery_kwh, ev_p_max_kw : numpy.ndarray
        EVs: state of charge, plugged-in fraction of the last step (> 0 counts as plugged in),
        battery capacity, charging power limit (AC).
    ev_e_required_kwh, ev_departure_s : numpy.ndarray
        Stored energy still needed by departure (>= 0) and departure time (s since start;
        ``inf`` when not plugged in).
    ev_bidirectional, ev_p_discharge_max_kw : numpy.ndarray
        V2G capability (default False) and discharge limit (default ``ev_p_max_kw``).
    ev_eta_charge, ev_eta_discharge, ev_soc_min, ev_soc_max, ev_p_kw, ev_bus : numpy.ndarray
        Efficiencies (default 1), SoC window (0, 1), last AC power (0), bus position (0).
    hp_p_kw, hp_p_max_kw : numpy.ndarray
        Heat pumps: last electric power and finite electric limit (kW; for a unit limited
        by its thermal rating, ``p_th_max_kw / COP``).
    t_zone_degc, t_comfort_low_degc, t_comfort_high_degc, t_set_heat_degc : numpy.ndarray
        Air temperature of the zone each heat pump heats, its comfort band and its local
        heating set point (before any controller offset), degC.
    t_mass_degc : numpy.ndarray
        Mass-node temperature of the 5R1C zone if known (NaN: estimated from ``t_zone_degc``).
    hp_bus : numpy.ndarray
        Bus position of each heat pump.
    vm_pu, loading_line_percent, loading_trafo_percent : numpy.ndarray
        Grid state (informational; the strategies here act on ``p_trafo_kw`` only).
    t_out_degc : float
        Outdoor air temperature of the last step (degC; NaN: unknown).
    t_out_mean_24h_degc : float
        Outdoor air temperature averaged over the last 24 h (degC; NaN: unknown), what a
        heating limit is compared with.
    t_out_max_ahead_degc : float
        Highest outdoor air temperature of the weather forecast for the next 72 h
        (:data:`WEATHER_AHEAD_S`; degC; NaN: unknown).
    """

    t_s: int
    dt_s: int
    p_trafo_kw: float
    p_load_kw: FloatArray = field(default_factory=lambda: np.zeros(0))
    p_pv_kw: FloatArray = field(default_factory=lambda: np.zeros(0))
    bat_soc: FloatArray = field(default_factory=lambda: np.zeros(0))
    bat_capacity_kwh: FloatArray | None = None
    bat_p_charge_max_kw: FloatArray | None = None
    bat_p_discharge_max_kw: FloatArray | None = None
    bat_eta_charge: FloatArray | None = None
    bat_eta_discharge: FloatArray | None = None
    bat_soc_min: FloatArray | None = None
    bat_soc_max: FloatArray | None = None
    bat_p_kw: FloatArray | None = None
    bat_bus: npt.NDArray[np.int64] | None = None
    ev_soc: FloatArray = field(default_factory=lambda: np.zeros(0))
    ev_plugged: FloatArray | None = None
    ev_battery_kwh: FloatArray | None = None
    ev_p_max_kw: FloatArray | None = None
    ev_e_required_kwh: FloatArray | None = None
    ev_departure_s: FloatArray | None = None
    ev_bidirectional: npt.NDArray[np.bool_] | None = None
    ev_p_discharge_max_kw: FloatArray | None = None
    ev_eta_charge: FloatArray | None = None
    ev_eta_discharge: FloatArray | None = None
    ev_soc_min: FloatArray | None = None
    ev_soc_max: FloatArray | None = None
    ev_p_kw: FloatArray | None = None
    ev_bus: npt.NDArray[np.int64] | None = None
    hp_p_kw: FloatArray = field(default_factory=lambda: np.zeros(0))
    hp_p_max_kw: FloatArray | None = None
    t_zone_degc: FloatArray | None = None
    t_comfort_low_degc: FloatArray | None = None
    t_comfort_high_degc: FloatArray | None = None
    t_set_heat_degc: FloatArray | None = None
    t_mass_degc: FloatArray | None = None
    hp_bus: npt.NDArray[np.int64] | None = None
    vm_pu: FloatArray = field(default_factory=lambda: np.zeros(0))
    loading_line_percent: FloatArray = field(default_factory=lambda: np.zeros(0))
    loading_trafo_percent: FloatArray = field(default_factory=lambda: np.zeros(0))
    t_out_degc: float = np.nan
    t_out_mean_24h_degc: float = np.nan
    t_out_max_ahead_degc: float = np.nan

    def __post_init__(self) -> None:
        check_number("dt_s", self.dt_s, lo=0.0, lo_open=True)
        check_number("t_s", self.t_s)
        self.p_trafo_kw = check_number("p_trafo_kw", self.p_trafo_kw)
        if not np.isnan(self.t_out_degc):
            self.t_out_degc = check_number("t_out_degc", self.t_out_degc)
        for name in ("t_out_mean_24h_degc", "t_out_max_ahead_degc"):
            if not np.isnan(getattr(self, name)):
                setattr(self, name, check_number(name, getattr(self, name)))
        for name in ("p_load_kw", "p_pv_kw", "vm_pu", "loading_line_percent"):
            setattr(self, name, self._vector(name, getattr(self, name), None, nan_ok=False))
        self.loading_trafo_percent = self._vector(
            "loading_trafo_percent", self.loading_trafo_percent, None, nan_ok=False
        )
        for group in _GROUPS:
            first = next(iter(group))
            n = np.size(getattr(self, first))
            for name, default in group.items():
                value = getattr(self, name)
                if value is None:
                    if default is None and n:
                        raise ControlParameterError(
                            f"{name}=None: expected {n} values (one per unit of {first})"
                        )
                    value = default if default is not None else 0.0
                    if isinstance(default, str):  # default: another field of the group
                        value = getattr(self, default)
                setattr(self, name, self._vector(name, value, n, nan_ok=name in _NAN_OK))
        self._check_ranges()

    @staticmethod
    def _vector(name: str, value: object, n: int | None, *, nan_ok: bool) -> np.ndarray:
        dtype = np.int64 if name in _INT else bool if name in _BOOL else float
        try:
            arr = np.asarray(value, dtype=float)
            if n is not None:
                arr = np.broadcast_to(arr, (n,)) if arr.ndim == 0 else arr
        except (TypeError, ValueError) as exc:
            raise ControlParameterError(f"{name}={value!r}: expected numbers") from exc
        if arr.ndim != 1 or (n is not None and arr.shape != (n,)):
            want = "a 1-D array" if n is None else f"shape ({n},)"
            raise ControlParameterError(f"{name}: shape {arr.shape}; expected {want}")
        bad = np.isnan(arr) if not nan_ok else np.zeros(arr.shape, bool)
        bad |= np.isinf(arr) & (name not in _INF_OK)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ControlParameterError(f"{name}[{i}]={arr[i].item()!r}: expected a finite number")
        return arr.astype(dtype)

    def _check_ranges(self) -> None:
        rules = (
            ("bat_soc", 0.0, 1.0), ("bat_capacity_kwh", 1e-12, np.inf),
            ("bat_p_charge_max_kw", 0.0, np.inf), ("bat_p_discharge_max_kw", 0.0, np.inf),
            ("bat_eta_charge", 1e-12, 1.0), ("bat_eta_discharge", 1e-12, 1.0),
            ("bat_soc_min", 0.0, 1.0), ("bat_soc_max", 0.0, 1.0),
            ("ev_soc", 0.0, 1.0), ("ev_plugged", 0.0, 1.0), ("ev_battery_kwh", 1e-12, np.inf),
            ("ev_p_max_kw", 0.0, np.inf), ("ev_e_required_kwh", 0.0, np.inf),
            ("ev_p_discharge_max_kw", 0.0, np.inf), ("ev_eta_charge", 1e-12, 1.0),
            ("ev_eta_discharge", 1e-12, 1.0), ("ev_soc_min", 0.0, 1.0), ("ev_soc_max", 0.0, 1.0),
            ("hp_p_kw", 0.0, np.inf), ("hp_p_max_kw", 0.0, np.inf),
            ("bat_bus", 0, np.inf), ("ev_bus", 0, np.inf), ("hp_bus", 0, np.inf),
        )  # fmt: skip
        for name, lo, hi in rules:
            arr = getattr(self, name)
            bad = (arr < lo) | (arr > hi)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ControlParameterError(
                    f"{name}[{i}]={arr[i].item()!r}: expected a value in [{lo:g}, {hi:g}]"
                )
        for grp in ("bat", "ev"):
            lo, hi = getattr(self, f"{grp}_soc_min"), getattr(self, f"{grp}_soc_max")
            if (lo >= hi).any():
                i = int(np.flatnonzero(lo >= hi)[0])
                raise ControlParameterError(
                    f"{grp}_soc_min[{i}]={lo[i].item()!r} >= {grp}_soc_max[{i}]={hi[i].item()!r}: "
                    "expected soc_min < soc_max"
                )
        lo, hi = self.t_comfort_low_degc, self.t_comfort_high_degc
        if (lo > hi).any():
            i = int(np.flatnonzero(lo > hi)[0])
            raise ControlParameterError(
                f"t_comfort_low_degc[{i}]={lo[i].item()!r} > "
                f"t_comfort_high_degc[{i}]={hi[i].item()!r}: expected low <= high"
            )

    @property
    def n_bat(self) -> int:
        """Number of batteries."""
        return int(self.bat_soc.size)

    @property
    def n_ev(self) -> int:
        """Number of EVs."""
        return int(self.ev_soc.size)

    @property
    def n_hp(self) -> int:
        """Number of heat pumps (and heated zones)."""
        return int(self.hp_p_kw.size)

    @property
    def dt_h(self) -> float:
        """Step length in hours."""
        return float(self.dt_s) / 3600.0

    def p_flex_kw(self) -> float:
        """Sum of the last measured powers of batteries, EVs and heat pumps (kW)."""
        return float(self.bat_p_kw.sum() + self.ev_p_kw.sum() + self.hp_p_kw.sum())

    def p_base_kw(self) -> float:
        """Measured district power without the controllable units (incl. grid losses)."""
        return self.p_trafo_kw - self.p_flex_kw()

    def p_residual_kw(self) -> float:
        """Return what :meth:`p_base_kw` measured beyond the loads and PV (losses, kW).

        0 when no per-bus loads or PV were measured. A forecast of loads and PV plus this
        estimates the uncontrolled power at the transformer.
        """
        if not (self.p_load_kw.size or self.p_pv_kw.size):
            return 0.0
        return self.p_base_kw() - float(self.p_load_kw.sum() + self.p_pv_kw.sum())


@dataclass(eq=False)
class Setpoints:
    """Controller output for the next step; ``None`` leaves a unit group at its local default.

    Attributes
    ----------
    p_bat_set_kw : numpy.ndarray or None
        AC power per battery (+ charging).
    p_ev_set_kw : numpy.ndarray or None
        AC power per EV (+ charging; negative only for bidirectional EVs).
    p_hp_cap_kw : numpy.ndarray or None
        Electric power cap per heat pump (``inf``: no cap).
    t_set_offset_k : numpy.ndarray or None
        Shift of each zone's heating set point (K; + pre-heats).
    p_trafo_expected_kw : float
        The controller's estimate of the transformer power that results (NaN if none).
    limit_kept : bool or None
        Whether the estimate lies within the transformer limits (strategies with limits).
    fallback : bool
        True when an optimising strategy fell back to its rule-based strategy this step.
    status : str
        Short status text (solver status, fallback reason).
    solve_time_s : float
        Wall time of an optimisation solved in this step (NaN if none).
    """

    p_bat_set_kw: FloatArray | None = None
    p_ev_set_kw: FloatArray | None = None
    p_hp_cap_kw: FloatArray | None = None
    t_set_offset_k: FloatArray | None = None
    p_trafo_expected_kw: float = np.nan
    limit_kept: bool | None = None
    fallback: bool = False
    status: str = ""
    solve_time_s: float = np.nan


@dataclass(eq=False)
class Forecast:
    """Signals over a horizon of ``n_steps`` steps starting at ``t_s`` (means over each step).

    Attributes
    ----------
    t_s, dt_s : int
        Start of the horizon (s since the run start) and step length (s).
    p_base_kw : numpy.ndarray
        District power without the controllable units, shape (T,) (load + PV, + import).
    price_eur_per_kwh : numpy.ndarray
        Import energy price, shape (T,).
    co2_kg_per_kwh : numpy.ndarray
        CO2 intensity of imported electricity, shape (T,).
    feed_in_eur_per_kwh : numpy.ndarray or None
        Remuneration of exported energy, shape (T,); None uses the strategy's tariff.
    t_out_degc : numpy.ndarray or None
        Outdoor temperature, shape (T,) (needed with heat pumps).
    phi_int_w, phi_sol_w : numpy.ndarray or None
        Internal and solar gains of each heated zone, shape (T, n_hp) (default 0).
    hp_cop : numpy.ndarray or None
        COP of each heat pump per step, shape (T, n_hp) (needed with heat pumps).
    """

    t_s: int
    dt_s: int
    p_base_kw: FloatArray
    price_eur_per_kwh: FloatArray
    co2_kg_per_kwh: FloatArray
    feed_in_eur_per_kwh: FloatArray | None = None
    t_out_degc: FloatArray | None = None
    phi_int_w: FloatArray | None = None
    phi_sol_w: FloatArray | None = None
    hp_cop: FloatArray | None = None

    def __post_init__(self) -> None:
        check_number("dt_s", self.dt_s, lo=0.0, lo_open=True)
        for f in fields(self)[2:]:
            v = getattr(self, f.name)
            if v is None:
                continue
            arr = np.asarray(v, dtype=float)
            if arr.ndim == 2 and f.name in ("p_base_kw",):
                arr = arr.sum(axis=1)
            if not np.isfinite(arr).all():
                raise ControlParameterError(f"Forecast.{f.name}: contains NaN or inf")
            setattr(self, f.name, arr)
        n = self.p_base_kw.shape[0] if self.p_base_kw.ndim else 0
        if n < 1:
            raise ControlParameterError("Forecast.p_base_kw: expected at least one step")
        for f in fields(self)[3:]:
            arr = getattr(self, f.name)
            if arr is not None and (arr.ndim not in (1, 2) or arr.shape[0] != n):
                raise ControlParameterError(
                    f"Forecast.{f.name}: shape {arr.shape}; expected ({n},) or ({n}, k)"
                )
        if self.hp_cop is not None and (self.hp_cop < 1.0 - 1e-9).any():
            raise ControlParameterError("Forecast.hp_cop: values < 1; expected COP >= 1")

    @property
    def n_steps(self) -> int:
        """Number of steps in the horizon."""
        return int(self.p_base_kw.shape[0])


@runtime_checkable
class Strategy(Protocol):
    """A district controller: measurements (and a forecast) in, set points out."""

    def decide(self, m: Measurements, forecast: Forecast | None) -> Setpoints:
        """Return the set points for the step starting at ``m.t_s``."""
        ...
