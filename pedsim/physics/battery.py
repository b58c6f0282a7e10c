"""Stationary battery storage, vectorised over units.

Each unit is an energy store with separate charge and discharge power limits, constant charge
and discharge efficiencies (on the AC side of the converter), a usable state-of-charge window
``[soc_min, soc_max]`` and self-discharge proportional to the stored energy.

Sign convention: power is positive when it is drawn from the grid (charging). Every power is
the mean over the step ``[t, t + dt)``.

Model within one step of length ``dt`` (hours ``h``): the converter holds a constant cell-side
(DC) power ``q`` and the stored energy follows ``dE/dt = q - k E`` with the self-discharge rate
``k = -ln(1 - self_discharge_per_day) / 24 h``. Hence

``E(t + dt) = E a + q tau`` with ``a = exp(-k h)`` and ``tau = (1 - a) / k`` (``tau = h`` if
``k = 0``),

and ``E`` moves monotonically, so bounds reached at the end of the step hold throughout it.
The AC power is ``p = q / eta_charge`` when charging and ``p = q * eta_discharge`` when
discharging. Setpoints are clipped to the feasible interval given by the power limits and by
``soc_min <= E(t + dt) / capacity <= soc_max``. If self-discharge alone would take the unit
below ``soc_min``, the lower limit of the interval is a small positive (charging) power that
holds ``soc_min``, as battery management systems do; the constructor checks that the charge
limit can supply it.

Energy accounting per step is exact by construction: AC energy in equals the change of stored
energy plus losses (conversion and self-discharge) plus AC energy out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

__all__ = [
    "Battery",
    "BatteryCatalogueError",
    "BatteryParameterError",
    "BatteryType",
    "StepResult",
    "load_battery_types",
    "self_consumption_setpoint",
]

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]

DEFAULT_BATTERY_TYPES = Path(__file__).resolve().parents[2] / "models" / "battery_types.yaml"
"""Default battery catalogue, ``models/battery_types.yaml`` of the source tree."""


class BatteryParameterError(ValueError):
    """A battery parameter or input has an invalid value."""


class BatteryCatalogueError(BatteryParameterError):
    """A battery catalogue file is missing, malformed or holds invalid values."""


def _param(
    name: str,
    value: ArrayLike,
    n: int,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
    expected: str,
    error: type[ValueError] = BatteryParameterError,
) -> FloatArray:
    """Broadcast ``value`` to ``n`` floats and check ``lo <(=) value <(=) hi``."""
    try:
        arr = np.broadcast_to(np.asarray(value, dtype=float), (n,)).copy()
    except (TypeError, ValueError) as exc:
        raise error(
            f"{name}={value!r}: expected {expected}, as a scalar or an array of length {n}"
        ) from exc
    bad = ~np.isfinite(arr)
    if lo is not None:
        bad |= (arr <= lo) if lo_open else (arr < lo)
    if hi is not None:
        bad |= (arr >= hi) if hi_open else (arr > hi)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise error(f"{name}[{i}]={arr[i]!r}: expected {expected}")
    return arr


def _dc_from_ac(p_ac: FloatArray, eta_c: FloatArray, eta_d: FloatArray) -> FloatArray:
    """Cell-side power for an AC power (+ charging)."""
    return np.where(p_ac >= 0.0, p_ac * eta_c, p_ac / eta_d)


def _ac_from_dc(q_dc: FloatArray, eta_c: FloatArray, eta_d: FloatArray) -> FloatArray:
    """AC power for a cell-side power (+ charging)."""
    return np.where(q_dc >= 0.0, q_dc / eta_c, q_dc * eta_d)


@dataclass(frozen=True)
class StepResult:
    """Result of one battery step; every field is an array over units.

    Attributes
    ----------
    p_kw : numpy.ndarray
        Mean AC power over the step actually delivered (+ charging, drawn from the grid).
    soc : numpy.ndarray
        State of charge (0-1 of ``capacity_kwh``) at the end of the step.
    e_charged_kwh : numpy.ndarray
        AC energy drawn from the grid during the step (>= 0).
    e_discharged_kwh : numpy.ndarray
        AC energy fed to the grid during the step (>= 0).
    e_stored_delta_kwh : numpy.ndarray
        Change of stored energy.
    e_loss_kwh : numpy.ndarray
        Conversion plus self-discharge losses, so that ``e_charged_kwh = e_stored_delta_kwh +
        e_loss_kwh + e_discharged_kwh``.
    e_self_discharge_kwh : numpy.ndarray
        Part of ``e_loss_kwh`` due to self-discharge.
    throughput_kwh : numpy.ndarray
        Cell-side energy charged plus discharged in the step.
    equivalent_full_cycles : numpy.ndarray
        ``throughput_kwh / (2 capacity_kwh)``.
    clipped : numpy.ndarray
        Boolean, True where the setpoint was not feasible and was clipped.
    """

    p_kw: FloatArray
    soc: FloatArray
    e_charged_kwh: FloatArray
    e_discharged_kwh: FloatArray
    e_stored_delta_kwh: FloatArray
    e_loss_kwh: FloatArray
    e_self_discharge_kwh: FloatArray
    throughput_kwh: FloatArray
    equivalent_full_cycles: FloatArray
    clipped: npt.NDArray[np.bool_]


class Battery:
    """A group of stationary batteries stepped together.

    Parameters
    ----------
    capacity_kwh : array_like
        Usable energy capacity (> 0) that ``soc`` refers to.
    p_charge_max_kw : array_like
        Maximum AC charging power (>= 0).
    p_discharge_max_kw : array_like, optional
        Maximum AC discharging power (>= 0); defaults to ``p_charge_max_kw``.
    eta_charge, eta_discharge : array_like
        One-way efficiencies in (0, 1]; the round-trip efficiency is their product.
    soc_min, soc_max : array_like
        State-of-charge window in [0, 1] with ``soc_min < soc_max``.
    self_discharge_per_day : array_like
        Fraction of the stored energy lost per day when idle, in [0, 1).
    soc_init : array_like
        Initial state of charge, within ``[soc_min, soc_max]``.

    Raises
    ------
    BatteryParameterError
        If a parameter is out of range or the arrays cannot be broadcast to one length.
    """

    def __init__(
        self,
        capacity_kwh: ArrayLike,
        p_charge_max_kw: ArrayLike,
        p_discharge_max_kw: ArrayLike | None = None,
        *,
        eta_charge: ArrayLike = 0.95,
        eta_discharge: ArrayLike = 0.95,
        soc_min: ArrayLike = 0.0,
        soc_max: ArrayLike = 1.0,
        self_discharge_per_day: ArrayLike = 0.0,
        soc_init: ArrayLike = 0.5,
    ) -> None:
        if p_discharge_max_kw is None:
            p_discharge_max_kw = p_charge_max_kw
        raw = (
            capacity_kwh,
            p_charge_max_kw,
            p_discharge_max_kw,
            eta_charge,
            eta_discharge,
            soc_min,
            soc_max,
            self_discharge_per_day,
            soc_init,
        )
        try:
            shape = np.broadcast_shapes(*(np.shape(v) for v in raw))
        except ValueError as exc:
            raise BatteryParameterError(
                "battery parameters must be scalars or 1-D arrays of one common length; got "
                f"shapes {[np.shape(v) for v in raw]}"
            ) from exc
        if len(shape) > 1:
            raise BatteryParameterError(f"battery parameters must be at most 1-D, got {shape}")
        n = int(shape[0]) if shape else 1
        if n < 1:
            raise BatteryParameterError("battery parameters describe zero units")
        self.n = n
        self.capacity_kwh = _param(
            "capacity_kwh", capacity_kwh, n, lo=0.0, lo_open=True, expected="a capacity > 0 kWh"
        )
        self.p_charge_max_kw = _param(
            "p_charge_max_kw", p_charge_max_kw, n, lo=0.0, expected="a power >= 0 kW"
        )
        self.p_discharge_max_kw = _param(
            "p_discharge_max_kw", p_discharge_max_kw, n, lo=0.0, expected="a power >= 0 kW"
        )
        self.eta_charge = _param(
            "eta_charge", eta_charge, n, lo=0.0, hi=1.0, lo_open=True, expected="0 < eta <= 1"
        )
        self.eta_discharge = _param(
            "eta_discharge", eta_discharge, n, lo=0.0, hi=1.0, lo_open=True, expected="0 < eta <= 1"
        )
        self.soc_min = _param("soc_min", soc_min, n, lo=0.0, hi=1.0, expected="0 <= soc <= 1")
        self.soc_max = _param("soc_max", soc_max, n, lo=0.0, hi=1.0, expected="0 <= soc <= 1")
        bad = self.soc_min >= self.soc_max
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise BatteryParameterError(
                f"soc_min[{i}]={self.soc_min[i]!r}, soc_max[{i}]={self.soc_max[i]!r}: "
                "expected soc_min < soc_max"
            )
        self.self_discharge_per_day = _param(
            "self_discharge_per_day",
            self_discharge_per_day,
            n,
            lo=0.0,
            hi=1.0,
            hi_open=True,
            expected="a fraction per day in [0, 1)",
        )
        # self-discharge rate per hour
        self._k_per_h = -np.log1p(-self.self_discharge_per_day) / 24.0
        hold_kw = self._k_per_h * self.soc_min * self.capacity_kwh
        bad = hold_kw > self.p_charge_max_kw * self.eta_charge
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise BatteryParameterError(
                f"self_discharge_per_day[{i}]={self.self_discharge_per_day[i]!r}: holding "
                f"soc_min needs {hold_kw[i]:.6g} kW of charge but p_charge_max_kw[{i}]="
                f"{self.p_charge_max_kw[i]!r}; expected a smaller self-discharge or a larger "
                "charge limit"
            )
        soc0 = _param("soc_init", soc_init, n, lo=0.0, hi=1.0, expected="0 <= soc <= 1")
        bad = (soc0 < self.soc_min) | (soc0 > self.soc_max)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise BatteryParameterError(
                f"soc_init[{i}]={soc0[i]!r}: expected soc_min[{i}]={self.soc_min[i]!r} <= "
                f"soc_init <= soc_max[{i}]={self.soc_max[i]!r}"
            )
        self.e_kwh: FloatArray = soc0 * self.capacity_kwh
        self.throughput_total_kwh: FloatArray = np.zeros(n)

    @classmethod
    def from_types(
        cls,
        type_names: Sequence[str],
        catalogue: Mapping[str, BatteryType] | None = None,
        *,
        soc_init: ArrayLike = 0.5,
    ) -> Battery:
        """Build a battery group from catalogue type names.

        Parameters
        ----------
        type_names : sequence of str
            One catalogue key per unit.
        catalogue : mapping of str to BatteryType, optional
            Defaults to :func:`load_battery_types` with its default path.
        soc_init : array_like
            Initial state of charge per unit.

        Returns
        -------
        Battery
        """
        cat = load_battery_types() if catalogue is None else catalogue
        types = []
        for i, name in enumerate(type_names):
            if name not in cat:
                raise BatteryCatalogueError(
                    f"type_names[{i}]={name!r}: expected one of {sorted(cat)}"
                )
            types.append(cat[name])
        if not types:
            raise BatteryParameterError("type_names is empty: expected at least one unit")
        col = {f.name: np.array([getattr(t, f.name) for t in types]) for f in fields(BatteryType)}
        return cls(
            col["capacity_kwh"],
            col["p_charge_max_kw"],
            col["p_discharge_max_kw"],
            eta_charge=col["eta_charge"],
            eta_discharge=col["eta_discharge"],
            soc_min=col["soc_min"],
            soc_max=col["soc_max"],
            self_discharge_per_day=col["self_discharge_per_day"],
            soc_init=soc_init,
        )

    @property
    def soc(self) -> FloatArray:
        """State of charge (0-1 of ``capacity_kwh``)."""
        return self.e_kwh / self.capacity_kwh

    @property
    def equivalent_full_cycles_total(self) -> FloatArray:
        """Equivalent full cycles since construction."""
        return self.throughput_total_kwh / (2.0 * self.capacity_kwh)

    def _decay(self, dt_h: float) -> tuple[FloatArray, FloatArray]:
        """Return ``a = exp(-k h)`` and ``tau = (1 - a) / k`` (``h`` where ``k = 0``)."""
        k = self._k_per_h
        a = np.exp(-k * dt_h)
        with np.errstate(divide="ignore", invalid="ignore"):
            tau = np.where(k > 0.0, -np.expm1(-k * dt_h) / np.where(k > 0.0, k, 1.0), dt_h)
        return a, tau

    def _dc_bounds(self, dt_h: float) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        a, tau = self._decay(dt_h)
        e_free = self.e_kwh * a
        e_min = self.soc_min * self.capacity_kwh
        e_max = self.soc_max * self.capacity_kwh
        q_hi = np.minimum(self.p_charge_max_kw * self.eta_charge, (e_max - e_free) / tau)
        q_lo = np.maximum(-self.p_discharge_max_kw / self.eta_discharge, (e_min - e_free) / tau)
        q_hi = np.maximum(q_hi, q_lo)
        return q_lo, q_hi, a, tau

    @staticmethod
    def _check_dt(dt_s: float) -> float:
        if not np.isfinite(dt_s) or dt_s <= 0.0:
            raise BatteryParameterError(f"dt_s={dt_s!r}: expected a step length > 0 s")
        return float(dt_s) / 3600.0

    def feasible_power_kw(self, dt_s: float) -> tuple[FloatArray, FloatArray]:
        """Feasible mean AC power interval for the next step.

        Parameters
        ----------
        dt_s : float
            Step length in seconds.

        Returns
        -------
        p_min_kw, p_max_kw : numpy.ndarray
            Lowest (most discharging) and highest (most charging) feasible mean power.
        """
        q_lo, q_hi, _, _ = self._dc_bounds(self._check_dt(dt_s))
        ac = (self.eta_charge, self.eta_discharge)
        return (
            np.clip(_ac_from_dc(q_lo, *ac), -self.p_discharge_max_kw, self.p_charge_max_kw),
            np.clip(_ac_from_dc(q_hi, *ac), -self.p_discharge_max_kw, self.p_charge_max_kw),
        )

    def step(self, p_set_kw: ArrayLike, dt_s: float) -> StepResult:
        """Follow a power setpoint for one step, clipped to what is feasible.

        Parameters
        ----------
        p_set_kw : array_like
            Requested mean AC power per unit (+ charging); ``inf`` / ``-inf`` ask for the most
            charging / discharging that is feasible. NaN is not allowed.
        dt_s : float
            Step length in seconds.

        Returns
        -------
        StepResult
            Delivered power, state after the step and the energy balance of the step.
        """
        dt_h = self._check_dt(dt_s)
        try:
            p_set = np.broadcast_to(np.asarray(p_set_kw, dtype=float), (self.n,)).copy()
        except (TypeError, ValueError) as exc:
            raise BatteryParameterError(
                f"p_set_kw={p_set_kw!r}: expected a power in kW or {self.n} of them"
            ) from exc
        if np.isnan(p_set).any():
            raise BatteryParameterError(f"p_set_kw={p_set_kw!r}: expected powers in kW, no NaN")
        eta_c, eta_d = self.eta_charge, self.eta_discharge
        q_lo, q_hi, a, tau = self._dc_bounds(dt_h)
        q = np.clip(_dc_from_ac(p_set, eta_c, eta_d), q_lo, q_hi)
        p = np.clip(_ac_from_dc(q, eta_c, eta_d), -self.p_discharge_max_kw, self.p_charge_max_kw)
        e0 = self.e_kwh
        e1 = np.clip(
            e0 * a + q * tau, self.soc_min * self.capacity_kwh, self.soc_max * self.capacity_kwh
        )
        e_in = np.maximum(p, 0.0) * dt_h
        e_out = np.maximum(-p, 0.0) * dt_h
        e_delta = e1 - e0
        e_loss = e_in - e_out - e_delta
        e_self = e0 + q * dt_h - e1
        throughput = np.abs(q) * dt_h
        self.e_kwh = e1
        self.throughput_total_kwh = self.throughput_total_kwh + throughput
        return StepResult(
            p_kw=p,
            soc=e1 / self.capacity_kwh,
            e_charged_kwh=e_in,
            e_discharged_kwh=e_out,
            e_stored_delta_kwh=e_delta,
            e_loss_kwh=e_loss,
            e_self_discharge_kwh=e_self,
            throughput_kwh=throughput,
            equivalent_full_cycles=throughput / (2.0 * self.capacity_kwh),
            clipped=np.isinf(p_set) | (np.abs(p - p_set) > 1e-9 * np.maximum(1.0, np.abs(p_set))),
        )


def self_consumption_setpoint(
    net_load_kw: ArrayLike,
    p_charge_max_kw: ArrayLike = np.inf,
    p_discharge_max_kw: ArrayLike = np.inf,
    *,
    deadband_kw: float = 0.0,
) -> FloatArray:
    """Battery setpoint for local self-consumption of a building.

    The battery charges from the building's surplus and discharges to cover its deficit, so
    that the grid exchange ``net_load_kw + p_battery`` is driven towards zero. Feasibility with
    respect to state of charge is left to :meth:`Battery.step`.

    Parameters
    ----------
    net_load_kw : array_like
        Building load minus local generation before the battery (+ import from the grid).
    p_charge_max_kw, p_discharge_max_kw : array_like
        Power limits used to clip the setpoint (>= 0).
    deadband_kw : float
        Net loads with ``|net_load_kw| <= deadband_kw`` give a zero setpoint.

    Returns
    -------
    numpy.ndarray
        Setpoint in kW (+ charging).
    """
    net = np.asarray(net_load_kw, dtype=float)
    if not np.all(np.isfinite(net)):
        raise BatteryParameterError(f"net_load_kw={net_load_kw!r}: expected finite powers in kW")
    if deadband_kw < 0.0:
        raise BatteryParameterError(f"deadband_kw={deadband_kw!r}: expected >= 0 kW")
    p_c = np.asarray(p_charge_max_kw, dtype=float)
    p_d = np.asarray(p_discharge_max_kw, dtype=float)
    if np.any(p_c < 0.0) or np.any(p_d < 0.0):
        raise BatteryParameterError(
            f"p_charge_max_kw={p_charge_max_kw!r}, p_discharge_max_kw={p_discharge_max_kw!r}: "
            "expected powers >= 0 kW"
        )
    sp = np.clip(-net, -p_d, p_c)
    return np.where(np.abs(net) <= deadband_kw, 0.0, sp)


# ----------------------------------------------------------------------------------------------
# catalogue
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatteryType:
    """One entry of the battery catalogue (``models/battery_types.yaml``)."""

    name: str
    kind: str
    capacity_kwh: float
    p_charge_max_kw: float
    p_discharge_max_kw: float
    eta_charge: float
    eta_discharge: float
    soc_min: float
    soc_max: float
    self_discharge_per_day: float
    source: str


_BATTERY_KINDS = ("home", "community")


def load_battery_types(path: str | Path | None = None) -> dict[str, BatteryType]:
    """Load and validate a battery catalogue.

    The YAML file holds a mapping ``types:`` of type name to a mapping with the keys
    ``kind`` (``home`` or ``community``), ``capacity_kwh``, ``p_charge_max_kw``,
    ``p_discharge_max_kw``, ``eta_charge``, ``eta_discharge``, ``soc_min``, ``soc_max``,
    ``self_discharge_per_day`` and ``source``.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        Catalogue file; defaults to ``models/battery_types.yaml`` of the source tree.

    Returns
    -------
    dict of str to BatteryType

    Raises
    ------
    BatteryCatalogueError
        If the file is missing or malformed, or a value is out of range.
    """
    p = Path(DEFAULT_BATTERY_TYPES if path is None else path)
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BatteryCatalogueError(f"{p}: cannot read battery catalogue ({exc})") from exc
    except yaml.YAMLError as exc:
        raise BatteryCatalogueError(f"{p}: not valid YAML ({exc})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("types"), dict) or not doc["types"]:
        raise BatteryCatalogueError(f"{p}: expected a non-empty mapping under 'types:'")
    keys = [f.name for f in fields(BatteryType) if f.name != "name"]
    out: dict[str, BatteryType] = {}
    for name, entry in doc["types"].items():
        where = f"{p}: types.{name}"
        if not isinstance(entry, dict):
            raise BatteryCatalogueError(f"{where}: expected a mapping of parameters")
        missing = [k for k in keys if k not in entry]
        unknown = [k for k in entry if k not in keys]
        if missing or unknown:
            raise BatteryCatalogueError(
                f"{where}: missing keys {missing}, unknown keys {unknown}; expected {keys}"
            )
        if entry["kind"] not in _BATTERY_KINDS:
            raise BatteryCatalogueError(
                f"{where}.kind={entry['kind']!r}: expected one of {list(_BATTERY_KINDS)}"
            )
        if not isinstance(entry["source"], str) or not entry["source"].strip():
            raise BatteryCatalogueError(f"{where}.source: expected a non-empty citation")
        values: dict[str, Any] = {"name": str(name), "kind": entry["kind"]}
        values["source"] = entry["source"].strip()
        for k in keys:
            if k in ("kind", "source"):
                continue
            v = entry[k]
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise BatteryCatalogueError(f"{where}.{k}={v!r}: expected a number")
            values[k] = float(v)
        bt = BatteryType(**values)
        try:  # reuse the physical validation of the model
            Battery.from_types([bt.name], {bt.name: bt}, soc_init=bt.soc_min)
        except BatteryParameterError as exc:
            raise BatteryCatalogueError(f"{where}: {exc}") from exc
        out[bt.name] = bt
    return out
