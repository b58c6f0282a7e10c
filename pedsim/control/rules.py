"""Rule-based district strategies: none, self-consumption and peak shaving.

All three decide from the current :class:`~pedsim.control.interface.Measurements` alone (a
forecast, when given, only replaces the measured uncontrolled power by its first step). The
uncontrolled district power of the next step is estimated as the measured transformer power
minus the last powers of the controllable units (so it includes grid losses), plus the heat
pumps at their last power and the EVs at the floor that keeps their departure requirement
reachable (:func:`ev_power_range`).

Feasible powers per unit and step come from the measured state: batteries within their
power limits and SoC window (:func:`battery_power_range`), EVs within their plugged-in time,
SoC window and the departure floor. Set points are spread over the units of a kind in
proportion to what each can take.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol

import numpy as np
import numpy.typing as npt

from .interface import Forecast, Measurements, Setpoints, check_number
from .rules_kernel import ev_range_kernel

__all__ = [
    "NoControl",
    "PeakShaving",
    "PeakShavingParams",
    "SelfConsumption",
    "SelfConsumptionParams",
    "battery_power_range",
    "ev_power_range",
]

FloatArray = npt.NDArray[np.float64]
_EPS = 1e-9


def battery_power_range(m: Measurements) -> tuple[FloatArray, FloatArray]:
    """Feasible mean AC battery power over the next step (self-discharge neglected).

    Parameters
    ----------
    m : Measurements
        Battery state and limits.

    Returns
    -------
    p_discharge_kw, p_charge_kw : numpy.ndarray
        Largest discharging and charging power (both >= 0).
    """
    h = m.dt_h
    e_room = (m.bat_soc_max - m.bat_soc) * m.bat_capacity_kwh
    e_avail = (m.bat_soc - m.bat_soc_min) * m.bat_capacity_kwh
    ch = np.minimum(m.bat_p_charge_max_kw, e_room / (m.bat_eta_charge * h))
    dis = np.minimum(m.bat_p_discharge_max_kw, e_avail * m.bat_eta_discharge / h)
    return np.maximum(dis, 0.0), np.maximum(ch, 0.0)


def ev_power_range(m: Measurements) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Feasible mean AC EV power over the next step and the floor the departure needs.

    An EV counts as plugged in while ``ev_plugged > 0`` and its departure lies after
    ``m.t_s``; it can charge during the plugged-in part of the step. The floor is the power
    without which the energy still required could not be reached any more by charging at
    full power after this step (as in the ``controlled`` mode of
    :class:`~pedsim.physics.ev.EVFleet`).

    Parameters
    ----------
    m : Measurements
        EV state and limits.

    Returns
    -------
    p_min_kw, p_floor_kw, p_max_kw : numpy.ndarray
        Lowest power (negative for V2G when the floor is zero), floor (>= 0) and highest
        power; all 0 for EVs not plugged in.
    """
    return ev_range_kernel(
        float(m.t_s), float(m.dt_s), m.ev_plugged, m.ev_departure_s, m.ev_soc,
        m.ev_battery_kwh, m.ev_p_max_kw, m.ev_eta_charge, m.ev_soc_max, m.ev_e_required_kwh,
        m.ev_soc_min, m.ev_eta_discharge, m.ev_bidirectional, m.ev_p_discharge_max_kw,
    )  # fmt: skip


def ev_power_range_numpy(m: Measurements) -> tuple[FloatArray, FloatArray, FloatArray]:
    """:func:`ev_power_range` as numpy array expressions (the reference of its kernel)."""
    h = m.dt_h
    plugged = (m.ev_plugged > 0.0) & (m.ev_departure_s > m.t_s)
    frac = np.where(plugged, np.clip((m.ev_departure_s - m.t_s) / m.dt_s, 0.0, 1.0), 0.0)
    e = m.ev_soc * m.ev_battery_kwh
    rate = m.ev_p_max_kw * m.ev_eta_charge  # stored kW at full power
    store_hi = np.maximum(np.minimum(rate * frac * h, m.ev_soc_max * m.ev_battery_kwh - e), 0.0)
    after_h = np.maximum(m.ev_departure_s - (m.t_s + m.dt_s), 0.0) / 3600.0
    with np.errstate(invalid="ignore"):
        floor_store = np.where(np.isinf(after_h), 0.0, m.ev_e_required_kwh - rate * after_h)
    floor_store = np.clip(floor_store, 0.0, store_hi)
    p_max = store_hi / (m.ev_eta_charge * h)
    p_floor = floor_store / (m.ev_eta_charge * h)
    e_down = np.maximum(e - m.ev_soc_min * m.ev_battery_kwh, 0.0) * m.ev_eta_discharge / h
    v2g = m.ev_bidirectional & (floor_store <= 0.0)
    p_min = np.where(v2g, -np.minimum(m.ev_p_discharge_max_kw * frac, e_down), p_floor)
    return np.where(plugged, p_min, 0.0), p_floor, p_max


def _spread(amount: float, capacity: FloatArray) -> FloatArray:
    """Share ``amount`` (>= 0) over units in proportion to ``capacity`` (>= 0), capped by it."""
    total = float(capacity.sum())
    if amount <= 0.0 or total <= 0.0:
        return np.zeros_like(capacity)
    return capacity * min(1.0, amount / total)


def _base_kw(m: Measurements, forecast: Forecast | None) -> float:
    """Uncontrolled district power expected in the next step (kW, + drawn).

    Without a forecast: the last measured step. With one: its first step plus what the
    last step measured beyond the loads and PV (grid losses), which a load and PV forecast
    does not hold.
    """
    if forecast is None:
        return m.p_base_kw()
    return float(forecast.p_base_kw[0]) + m.p_residual_kw()


class NoControl:
    """Baseline: no set points; every unit follows its local default behaviour."""

    #: The decision does not depend on the measurements (the simulator skips building them).
    needs_measurements: ClassVar[bool] = False

    def decide(self, m: Measurements | None, forecast: Forecast | None = None) -> Setpoints:
        """Return empty set points."""
        return Setpoints(status="none")


@dataclass(frozen=True)
class SelfConsumptionParams:
    """Parameters of :class:`SelfConsumption`.

    Attributes
    ----------
    deadband_kw : float
        District surpluses or deficits up to this magnitude are left alone (>= 0).
    use_evs : bool
        Charge plugged-in EVs above their floor from the surplus left after the batteries.
    preheat : bool
        Raise heating set points with the surplus left then (see ``preheat_k``).
    preheat_min_surplus_kw : float
        Smallest remaining surplus that triggers pre-heating (>= 0).
    preheat_k : float
        Pre-heating raises a zone's set point by this much (K, > 0), never above the comfort
        band's high bound, and only in zones below that raised set point: zones floating
        warmer (summer, sunny days) are left alone, so surplus PV does not overheat them.
    preheat_max_t_out_degc : float
        No pre-heating when the measured outdoor temperature, now or averaged over the last
        24 h, is at or above this heating limit (degC; the German "Heizgrenztemperatur" of
        older houses, compared with the daily mean, is about 15 degC).
    preheat_max_t_out_ahead_degc : float
        No pre-heating when the weather forecast reaches this outdoor temperature within the
        next 72 h (degC): heat stored in the buildings' mass before a warm spell would add
        to overheating in houses without cooling. ``inf``: no look-ahead.
    """

    deadband_kw: float = 0.0
    use_evs: bool = True
    preheat: bool = True
    preheat_min_surplus_kw: float = 0.0
    preheat_k: float = 2.0
    preheat_max_t_out_degc: float = 15.0
    preheat_max_t_out_ahead_degc: float = 20.0

    def __post_init__(self) -> None:
        check_number("deadband_kw", self.deadband_kw, lo=0.0)
        check_number("preheat_min_surplus_kw", self.preheat_min_surplus_kw, lo=0.0)
        _check_preheat(self)


#: A zone within this of its heating set point counts as heated by its thermostat (K).
_HELD_K = 0.1


class _PreheatParams(Protocol):
    """The pre-heating fields both rule parameter sets have."""

    preheat_k: float
    preheat_max_t_out_degc: float
    preheat_max_t_out_ahead_degc: float


def _check_preheat(prm: _PreheatParams) -> None:
    """Check the pre-heating fields of a rule's parameters."""
    check_number("preheat_k", prm.preheat_k, lo=0.0, lo_open=True)
    check_number("preheat_max_t_out_degc", prm.preheat_max_t_out_degc, allow_inf=True)
    check_number("preheat_max_t_out_ahead_degc", prm.preheat_max_t_out_ahead_degc, allow_inf=True)


def _preheat(
    m: Measurements,
    surplus: float,
    prm: _PreheatParams,
    active: npt.NDArray[np.bool_] | None,
) -> tuple[FloatArray, float, npt.NDArray[np.bool_]]:
    """Set-point offsets of up to ``preheat_k`` for zones that can absorb ``surplus``.

    The raised set point is ``min(t_set + preheat_k, t_high)``. Eligible are zones that need
    heating now (air within :data:`_HELD_K` of the set point, i.e. their thermostat is
    holding it) and zones still being pre-heated since the last step (``active``) below the
    raised set point; zones floating warmer (mild or sunny days) are left alone, so surplus
    PV does not push them towards overheating, and so is every zone when the outdoor
    temperature, now or averaged over the last 24 h, is at or above
    ``preheat_max_t_out_degc``, or the weather forecast reaches
    ``preheat_max_t_out_ahead_degc`` within the next 72 h. Eligible zones are taken in order
    of their electric headroom (largest first) until the headroom covers the surplus.
    Returns the offsets, the headroom used and the zones pre-heated.
    """
    offset = np.zeros(m.n_hp)
    limit = prm.preheat_max_t_out_degc
    if (
        m.t_out_degc >= limit
        or m.t_out_mean_24h_degc >= limit
        or m.t_out_max_ahead_degc >= prm.preheat_max_t_out_ahead_degc
    ):
        return offset, 0.0, offset > 0.0  # outside the heating season (False for NaN)
    target = np.minimum(m.t_set_heat_degc + prm.preheat_k, m.t_comfort_high_degc)
    eligible = m.t_zone_degc < m.t_set_heat_degc + _HELD_K
    if active is not None and active.shape == eligible.shape:
        eligible |= active
    eligible &= m.t_zone_degc < target
    room = np.where(eligible, m.hp_p_max_kw - m.hp_p_kw, 0.0)
    room = np.where(np.isfinite(room), np.maximum(room, 0.0), 0.0)
    used = 0.0
    for i in np.argsort(-room, kind="stable"):
        if used >= surplus or room[i] <= 0.0:
            break
        offset[i] = max(target[i] - m.t_set_heat_degc[i], 0.0)
        used += room[i]
    return offset, min(used, surplus), offset > 0.0


class SelfConsumption:
    """Use local PV surplus in the district before exporting it.

    A surplus (negative uncontrolled district power) charges the batteries first, then the
    plugged-in EVs above their floor, then pre-heats zones (set point raised by ``preheat_k`` within
    the comfort band); a deficit is served by discharging the batteries, never beyond the deficit,
    so batteries never discharge into export and charge only from surplus.

    Parameters
    ----------
    params : SelfConsumptionParams, optional
    """

    def __init__(self, params: SelfConsumptionParams | None = None) -> None:
        self.params = params or SelfConsumptionParams()
        self._preheating: npt.NDArray[np.bool_] | None = None  # zones pre-heated last step

    def decide(self, m: Measurements, forecast: Forecast | None = None) -> Setpoints:
        """Set points for the step starting at ``m.t_s``."""
        prm = self.params
        active, self._preheating = self._preheating, None
        dis, ch = battery_power_range(m)
        _, ev_floor, ev_max = ev_power_range(m)
        net0 = _base_kw(m, forecast) + float(m.hp_p_kw.sum() + ev_floor.sum())
        p_bat = np.zeros(m.n_bat)
        p_ev = ev_floor.copy()
        offset = np.zeros(m.n_hp)
        extra = 0.0
        if net0 < -prm.deadband_kw:
            surplus = -net0
            p_bat = _spread(surplus, ch)
            surplus -= float(p_bat.sum())
            if prm.use_evs:
                add = _spread(surplus, np.maximum(ev_max - ev_floor, 0.0))
                p_ev += add
                surplus -= float(add.sum())
            if prm.preheat and m.n_hp and surplus > max(prm.preheat_min_surplus_kw, _EPS):
                offset, extra, self._preheating = _preheat(m, surplus, prm, active)
        elif net0 > prm.deadband_kw:
            p_bat = -_spread(net0, dis)
        expected = net0 + float(p_bat.sum() + (p_ev - ev_floor).sum()) + extra
        return Setpoints(
            p_bat_set_kw=p_bat, p_ev_set_kw=p_ev, t_set_offset_k=offset,
            p_trafo_expected_kw=expected, status="self_consumption",
        )  # fmt: skip


@dataclass(frozen=True)
class PeakShavingParams:
    """Parameters of :class:`PeakShaving`.

    Attributes
    ----------
    import_limit_kw, export_limit_kw : float
        Transformer limits as magnitudes (> 0, ``inf`` for none): the strategy keeps
        ``-export_limit_kw <= p_trafo_kw <= import_limit_kw``.
    soc_target : float
        Battery SoC restored within the limits' margin between peaks (0-1).
    margin_kw : float
        Distance to a limit kept when restoring ``soc_target`` (>= 0).
    shave_margin_kw : float
        Peaks are shaved to this much inside the limits (>= 0), a reserve for what the
        estimate of the next step misses; ``limit_kept`` still refers to the limits.
    comfort_margin_k : float
        Heat pumps are only capped in zones warmer than the comfort low bound plus this.
    preheat_k : float
        Export beyond the limit pre-heats zones by raising their set point this much (K,
        > 0, at most to the comfort high bound; zones already warmer are left alone).
    preheat_max_t_out_degc : float
        No pre-heating when the outdoor temperature, now or averaged over the last 24 h, is
        at or above this (degC).
    preheat_max_t_out_ahead_degc : float
        No pre-heating when the weather forecast reaches this within the next 72 h (degC).
    """

    import_limit_kw: float = np.inf
    export_limit_kw: float = np.inf
    soc_target: float = 0.5
    margin_kw: float = 0.0
    shave_margin_kw: float = 0.0
    comfort_margin_k: float = 0.0
    preheat_k: float = 2.0
    preheat_max_t_out_degc: float = 15.0
    preheat_max_t_out_ahead_degc: float = 20.0

    def __post_init__(self) -> None:
        for name in ("import_limit_kw", "export_limit_kw"):
            check_number(name, getattr(self, name), lo=0.0, lo_open=True, allow_inf=True)
        check_number("soc_target", self.soc_target, lo=0.0, hi=1.0)
        check_number("margin_kw", self.margin_kw, lo=0.0)
        check_number("shave_margin_kw", self.shave_margin_kw, lo=0.0)
        check_number("comfort_margin_k", self.comfort_margin_k, lo=0.0)
        _check_preheat(self)


class PeakShaving:
    """Keep the transformer power within import and export limits.

    EVs charge as fast as they can unless the import limit is at risk. Above the import
    limit, batteries discharge, then EV charging is curtailed down to the departure floors,
    then heat pumps are capped (only in zones warmer than the comfort low bound). Below the
    export limit, batteries charge, then zones pre-heat up to the comfort high bound. Within
    the limits, batteries move towards ``soc_target`` without leaving the limits (less the
    margin). :attr:`Setpoints.limit_kept` tells whether the estimated transformer power is
    within the limits; :attr:`n_steps` and :attr:`n_violations` count the decisions and the
    steps where it is not.

    Parameters
    ----------
    params : PeakShavingParams, optional
    """

    def __init__(self, params: PeakShavingParams | None = None) -> None:
        self.params = params or PeakShavingParams()
        self._preheating: npt.NDArray[np.bool_] | None = None  # zones pre-heated last step
        self.n_steps = 0
        self.n_violations = 0

    def decide(self, m: Measurements, forecast: Forecast | None = None) -> Setpoints:
        """Set points for the step starting at ``m.t_s``."""
        prm = self.params
        active, self._preheating = self._preheating, None
        imp, exp = prm.import_limit_kw, prm.export_limit_kw
        imp_aim, exp_aim = imp - prm.shave_margin_kw, exp - prm.shave_margin_kw
        dis, ch = battery_power_range(m)
        _, ev_floor, ev_max = ev_power_range(m)
        p_ev = ev_max.copy()
        net = _base_kw(m, forecast) + float(m.hp_p_kw.sum() + p_ev.sum())
        p_bat = np.zeros(m.n_bat)
        cap = np.full(m.n_hp, np.inf)
        offset = np.zeros(m.n_hp)
        if net > imp_aim:
            excess = net - imp_aim
            p_bat = -_spread(excess, dis)
            excess += float(p_bat.sum())
            cut = _spread(excess, ev_max - ev_floor)
            p_ev -= cut
            excess -= float(cut.sum())
            warm = m.t_zone_degc > m.t_comfort_low_degc + prm.comfort_margin_k
            red = _spread(excess, np.where(warm, m.hp_p_kw, 0.0))
            cap = np.where(red > 0.0, m.hp_p_kw - red, np.inf)
            excess -= float(red.sum())
            expected = imp_aim + max(excess, 0.0)
        elif net < -exp_aim:
            lack = -exp_aim - net
            p_bat = _spread(lack, ch)
            lack -= float(p_bat.sum())
            extra = 0.0
            if m.n_hp and lack > _EPS:
                offset, extra, self._preheating = _preheat(m, lack, prm, active)
            expected = -exp_aim - max(lack - extra, 0.0)
        else:
            target_e = (prm.soc_target - m.bat_soc) * m.bat_capacity_kwh
            want_ch = np.minimum(ch, np.maximum(target_e, 0.0) / (m.bat_eta_charge * m.dt_h))
            want_dis = np.minimum(dis, np.maximum(-target_e, 0.0) * m.bat_eta_discharge / m.dt_h)
            room_up = max(imp - prm.margin_kw - net, 0.0) if np.isfinite(imp) else np.inf
            room_down = max(net + exp - prm.margin_kw, 0.0) if np.isfinite(exp) else np.inf
            p_bat = _spread(room_up, want_ch) - _spread(room_down, want_dis)
            expected = net + float(p_bat.sum())
        kept = bool(-exp - 1e-6 <= expected <= imp + 1e-6)
        self.n_steps += 1
        self.n_violations += int(not kept)
        return Setpoints(
            p_bat_set_kw=p_bat, p_ev_set_kw=p_ev, p_hp_cap_kw=cap, t_set_offset_k=offset,
            p_trafo_expected_kw=expected, limit_kept=kept, status="peak_shaving",
        )  # fmt: skip
