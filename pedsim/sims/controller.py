"""District controller as a mosaik simulator: measurements in, set-points out, every step.

One entity ``controller`` reads, at mosaik time ``t``, what the other simulators report
for the step ``[t, t + dt)``: transformer power and grid state from the grid, the per-bus
power of the uncontrolled units (loads, PV), and the powers and states of batteries, EVs
and buildings (states at the end of the step, i.e. at ``t + dt``). From these it builds
:class:`~pedsim.control.Measurements` for the decision time ``t + dt`` and asks its
:class:`~pedsim.control.Strategy` for the set-points of the step ``[t + dt, t + 2 dt)``.
The world connects its outputs to the actuators with ``time_shifted=True``, so they act
there (see :mod:`pedsim.run.control`); the first step runs on the units' local behaviour.

With ``ControlSetup.same_time`` (``control.loop: same_time``) the controller decides the
set-points of the step being simulated instead. Every time step starts with a pass of all
units on their local behaviour; the controller then decides from what that pass measured
(powers of the pass, states at the start of the step) and sends set-points over weak
connections; mosaik repeats the step of the assets, the grid and the controller with them
(each restores its state from before the step), and the controller decides again, until
its set-points no longer change (``SAME_TIME_TOL``) or ``max_passes`` passes ran. Set-points
are sent only in passes that change them. The heat pumps' power measured in the first pass
(their demand without control) stands for their power in every pass, so that a cap or
pre-heating decided in one pass does not undo itself in the next. What the transformer
power of a pass missed the controller's expectation by (heat pumps absorbing less than
their headroom when pre-heated, a battery clipped at its SoC bound within the step) is
added up over the passes and added to the measured transformer power of the next
decision, so that the strategy calls on further units for it or reports that it cannot.
The first step of the run has no start states and runs on local behaviour, as in the
time-shifted loop.

Outputs per unit (NaN where the strategy leaves the unit to its local behaviour):
``p_bat_set_kw`` (per battery), ``p_ev_set_kw`` (per EV; NaN for EVs that do not take
set-points), ``p_hp_cap_kw`` (per heat pump) and ``t_set_offset_k`` (per building; 0, not
NaN, when left alone, since an offset of 0 is the local set point). Scalars (recorded):
``solve_time_s``, ``control_status`` (:data:`STATUS_CODES`), ``fallback``, ``limit_kept``,
``p_trafo_expected_kw``, ``control_passes``, ``loop_converged`` and the signals of the
step ``price_eur_per_kwh``, ``feed_in_eur_per_kwh``, ``co2_kg_per_kwh``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from pedsim.control import (
    ControlError,
    ControlParameterError,
    ForecastSource,
    Measurements,
    Strategy,
)
from pedsim.control.interface import WEATHER_AHEAD_S
from pedsim.sims.base import PedsimSimulator, SimulationError, sum_inputs

#: ``control_status`` codes.
STATUS_CODES: dict[str, int] = {
    "no decision": -1,
    "none": 0,
    "rule": 1,
    "plan": 2,
    "optimal": 3,
    "limit": 4,
    "relaxed": 5,
    "fallback": 6,
}

#: Outputs that are one value per step (recorded), after the per-unit set-points.
SCALAR_OUTPUTS: tuple[str, ...] = (
    "solve_time_s",
    "control_status",
    "fallback",
    "limit_kept",
    "p_trafo_expected_kw",
    "control_passes",
    "loop_converged",
    "price_eur_per_kwh",
    "feed_in_eur_per_kwh",
    "co2_kg_per_kwh",
)

#: Set-point outputs (events of a same-time loop: sent only by passes that change them).
SETPOINTS: tuple[str, ...] = ("p_bat_set_kw", "p_ev_set_kw", "p_hp_cap_kw", "t_set_offset_k")
#: A same-time pass whose set-points all differ less than this from the applied ones ends
#: the loop (kW for powers, K for offsets).
SAME_TIME_TOL = 1e-3
#: Measurements fields read from the inputs every step (the others are static).
_DYNAMIC = (
    "p_load_kw", "vm_pu", "loading_line_percent", "loading_trafo_percent", "bat_soc",
    "bat_p_kw", "ev_soc", "ev_plugged", "ev_e_required_kwh", "ev_p_kw", "ev_departure_s",
    "hp_p_kw", "hp_p_max_kw", "t_zone_degc", "t_mass_degc",
)  # fmt: skip
#: Dynamic fields that may be NaN (unknown mass temperature) or inf (no departure).
_NOT_CHECKED = ("t_mass_degc", "ev_departure_s")


@dataclass(eq=False)
class ControlSetup:
    """Static data of the controller's district (arrays over units, simulator order).

    Attributes
    ----------
    strategy : Strategy
        Decides the set-points.
    n_bus : int
        Grid buses.
    signals : dict
        ``price_eur_per_kwh``, ``feed_in_eur_per_kwh``, ``co2_kg_per_kwh``: one value per
        run step.
    bat : dict
        Static ``bat_*`` fields of :class:`~pedsim.control.Measurements` (capacities, limits,
        efficiencies, SoC window, ``bat_bus``); empty without batteries.
    n_ev : int
        EVs of the fleet (0: none).
    ev_controlled : numpy.ndarray
        Positions of the EVs that take set-points (``controlled``/``v2g`` mode).
    ev : dict
        Static ``ev_*`` fields for those EVs.
    ev_sessions : tuple of numpy.ndarray
        ``(ev, arrival_s, departure_s)`` of every session (seconds from the run start); the
        departure of a plugged-in EV is taken as declared at its arrival.
    hp : dict
        Static ``hp_bus``, ``t_comfort_low_degc``, ``t_comfort_high_degc``,
        ``t_set_heat_degc``; empty without heat pumps.
    hp_p_max_kw : numpy.ndarray
        Electric limit of each heat pump per run step, shape ``(n_steps, n_hp)``.
    hp_cap_extra_kw : numpy.ndarray or None
        Added to the strategy's heat-pump caps per run step, ``(n_steps, n_hp)`` (power the
        strategy does not plan, e.g. hot water).
    t_out_degc : numpy.ndarray or None
        Outdoor temperature per run step (the measurement ``t_out_degc`` of the step just
        simulated); None: unknown.
    forecast : ForecastSource or None
        Forecasts for strategies that look ahead.
    forecast_steps : int
        Horizon of each forecast in run steps.
    sources : dict
        Role (``storage``, ``ev``, ``buildings``) -> mosaik full id of that simulator's
        entity, to tell apart inputs of the same name.
    same_time : bool
        Decide the set-points of the step being simulated, in a same-time loop (see the
        module docstring); False: those of the next step (time-shifted loop).
    max_passes : int
        Most passes per step of the same-time loop (>= 2).
    """

    strategy: Strategy
    n_bus: int
    signals: dict[str, np.ndarray]
    bat: dict[str, np.ndarray] = field(default_factory=dict)
    n_ev: int = 0
    ev_controlled: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    ev: dict[str, np.ndarray] = field(default_factory=dict)
    ev_sessions: tuple[np.ndarray, ...] = ()
    hp: dict[str, np.ndarray] = field(default_factory=dict)
    hp_p_max_kw: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    hp_cap_extra_kw: np.ndarray | None = None
    t_out_degc: np.ndarray | None = None
    forecast: ForecastSource | None = None
    forecast_steps: int = 1
    sources: dict[str, str] = field(default_factory=dict)
    same_time: bool = False
    max_passes: int = 5

    @cached_property
    def n_steps(self) -> int:
        """Steps of the run."""
        return int(self.signals["price_eur_per_kwh"].size)

    @cached_property
    def n_bat(self) -> int:
        """Batteries."""
        return int(np.size(self.bat.get("bat_capacity_kwh", ())))

    @cached_property
    def n_hp(self) -> int:
        """Heat pumps."""
        return int(self.hp_p_max_kw.shape[1]) if self.hp_p_max_kw.ndim == 2 else 0


class ControllerSim(PedsimSimulator):
    """One entity ``controller`` (see the module docstring); entity parameter ``setup``."""

    MODEL: ClassVar[str] = "Controller"
    EID: ClassVar[str] = "controller"
    PARAMS: ClassVar[list[str]] = ["setup"]
    INPUTS: ClassVar[list[str]] = [
        "p_trafo_kw",
        "vm_pu",
        "loading_line_percent",
        "loading_trafo_percent",
        "p_net_bus_kw",
        "p_kw",
        "soc",
        "plugged",
        "e_required_kwh",
        "t_zone_degc",
        "t_mass_degc",
    ]
    OUTPUTS: ClassVar[list[str]] = [
        "p_bat_set_kw",
        "p_ev_set_kw",
        "p_hp_cap_kw",
        "t_set_offset_k",
        *SCALAR_OUTPUTS,
    ]
    EVENTS: ClassVar[tuple[str, ...]] = SETPOINTS

    def create_entity(self, *, setup: ControlSetup) -> None:
        """Keep the static data (see :class:`ControlSetup`)."""
        self.cs = setup
        self._template: Measurements | None = None
        self._template_keys: Any = None
        for name, arr in setup.signals.items():
            if np.shape(arr) != (setup.n_steps,) or not np.isfinite(arr).all():
                raise ValueError(
                    f"{self.sid}: signal {name}: expected {setup.n_steps} finite values"
                )
        ev, arr, dep = (np.asarray(a) for a in (setup.ev_sessions or ([], [], [])))
        self.sessions = (ev.astype(np.int64), arr.astype(float), dep.astype(float))
        self._t_out_24h = self._t_out_ahead = np.zeros(0)
        if setup.t_out_degc is not None:  # trailing mean over the last 24 h (fewer at the start)
            t = np.asarray(setup.t_out_degc, dtype=float)
            c = np.concatenate([[0.0], np.cumsum(t)])
            n = max(round(86400 / self.step_s), 1)
            k = np.arange(t.size)
            lo = np.maximum(k + 1 - n, 0)
            self._t_out_24h = (c[k + 1] - c[lo]) / (k + 1 - lo)
            # highest of the next 72 h (the weather forecast), from each step on
            ahead = max(round(WEATHER_AHEAD_S / self.step_s), 1)
            back = np.lib.stride_tricks.sliding_window_view(
                np.concatenate([t, np.full(ahead - 1, -np.inf)]), ahead
            )
            self._t_out_ahead = back.max(axis=1)
        if setup.same_time and setup.max_passes < 2:
            raise ValueError(f"{self.sid}: max_passes is {setup.max_passes}; expected >= 2")
        # same-time loop: pass counting and the states at the start of the step
        self._pass_time, self._pass = -1, 0
        self._states_end: dict[str, np.ndarray] | None = None  # None: no step ran yet
        self._states_start: dict[str, np.ndarray] | None = None
        self._hp_first_kw: np.ndarray | None = None
        self._bias_kw, self._expected_kw = 0.0, np.nan
        self._applied: dict[str, np.ndarray] = {}

    def save_state(self) -> Strategy:
        """Return a copy of the strategy before the step (rules keep a little state)."""
        return copy.deepcopy(self.cs.strategy)

    def restore_state(self, state: Strategy) -> None:
        """Put back the strategy :meth:`save_state` copied (a copy: passes may follow)."""
        self.cs.strategy = copy.deepcopy(state)

    def _departures(self, t_s: float, arrived_by: float | None = None) -> np.ndarray:
        """Departure of the session each EV is plugged into at ``t_s`` (``inf``: none).

        ``arrived_by`` (default ``t_s``) also counts sessions that start before it.
        """
        ev, arr, dep = self.sessions
        out = np.full(self.cs.n_ev, np.inf)
        on = (arr < (t_s if arrived_by is None else arrived_by)) & (dep > t_s)
        np.minimum.at(out, ev[on], dep[on])
        return out

    def _pick(self, inputs: Mapping[str, Mapping[str, Any]], attr: str, role: str) -> np.ndarray:
        src = self.cs.sources.get(role, "")
        try:
            return np.asarray(inputs[attr][src], dtype=float)
        except KeyError:
            raise SimulationError(
                f"{self.sid}: input {attr} from {role} ({src or 'not connected'}) is missing"
            ) from None

    def measurements(
        self,
        time: int,
        inputs: Mapping[str, Mapping[str, Any]],
        overrides: Mapping[str, Any] | None = None,
        states: Mapping[str, np.ndarray] | None = None,
    ) -> Measurements:
        """Measurements for the decision time ``time + step`` from the inputs at ``time``.

        In a same-time loop the decision time is ``time`` itself, and ``overrides``
        replaces measured fields (the states at the start of the step). ``states`` are
        :meth:`_states` of these inputs when the caller has them already.
        """
        cs = self.cs
        t_s = time if cs.same_time else time + self.step_s
        grid = {
            a: _joined(inputs, a)
            for a in ("p_trafo_kw", "vm_pu", "loading_line_percent", "loading_trafo_percent")
        }
        kw: dict[str, Any] = {
            "t_s": t_s, "dt_s": self.step_s, "p_trafo_kw": float(np.sum(grid["p_trafo_kw"])),
            "p_load_kw": sum_inputs(inputs.get("p_net_bus_kw", {}), cs.n_bus),
            "vm_pu": _finite_or(grid["vm_pu"], 1.0),
            "loading_line_percent": _finite_or(grid["loading_line_percent"], 0.0),
            "loading_trafo_percent": _finite_or(grid["loading_trafo_percent"], 0.0),
        }  # fmt: skip
        if cs.t_out_degc is not None:
            k = min(time // self.step_s, cs.n_steps - 1)
            kw["t_out_degc"] = float(cs.t_out_degc[k])
            kw["t_out_mean_24h_degc"] = float(self._t_out_24h[k])
            k_dec = min(t_s // self.step_s, cs.n_steps - 1)  # the step decided
            kw["t_out_max_ahead_degc"] = float(self._t_out_ahead[k_dec])
        if cs.n_bat:
            kw |= cs.bat
            kw["bat_p_kw"] = self._pick(inputs, "p_kw", "storage")
        idx = cs.ev_controlled
        if idx.size:
            kw |= cs.ev
            kw["ev_p_kw"] = self._pick(inputs, "p_kw", "ev")[idx]
            kw["ev_departure_s"] = self._departures(float(t_s), float(time + self.step_s))[idx]
        if cs.n_hp:
            kw |= cs.hp
            kw["hp_p_kw"] = np.maximum(self._pick(inputs, "p_kw", "buildings"), 0.0)
            kw["hp_p_max_kw"] = cs.hp_p_max_kw[min(t_s // self.step_s, cs.n_steps - 1)]
        kw |= self._states(inputs) if states is None else states
        if overrides:
            kw |= {k: v for k, v in overrides.items() if k in kw}
        return self._build(kw)

    def _build(self, kw: dict[str, Any]) -> Measurements:
        """Measurements from ``kw``: validated in full the first time, then only the inputs.

        The static fields (limits, efficiencies, buses, comfort bands) are the same every
        step and were checked by the first construction; later steps copy that object and
        replace the fields read from the inputs, checking only that they are finite (NaN
        allowed in ``t_mass_degc``), which keeps the per-step cost of the controller small.
        """
        if self._template is None or kw.keys() != self._template_keys:
            m = Measurements(**kw)
            self._template, self._template_keys = m, kw.keys()
            return m
        m = copy.copy(self._template)
        for name in _DYNAMIC:
            if name in kw:
                setattr(m, name, np.asarray(kw[name], dtype=float))
        m.t_s, m.p_trafo_kw = kw["t_s"], kw["p_trafo_kw"]
        m.t_out_degc = kw.get("t_out_degc", np.nan)
        m.t_out_mean_24h_degc = kw.get("t_out_mean_24h_degc", np.nan)
        m.t_out_max_ahead_degc = kw.get("t_out_max_ahead_degc", np.nan)
        checked = [getattr(m, n) for n in _DYNAMIC if n in kw and n not in _NOT_CHECKED]
        if not np.isfinite(np.concatenate([np.atleast_1d(m.p_trafo_kw), *checked])).all():
            Measurements(**kw)  # raises with the field and position that is not finite
        return m

    def advance(self, time: int, inputs: Mapping[str, Mapping[str, Any]]) -> None:
        """Decide the set-points of the next step (time-shifted loop) or of this step."""
        if self.cs.same_time:
            self._advance_same_time(time, inputs)
        else:
            self.outputs = self._decide(time, inputs)

    def _local(self, k: int) -> dict[str, Any]:
        """Return outputs leaving every unit to its local behaviour in step ``k``."""
        cs = self.cs
        out: dict[str, Any] = {
            "p_bat_set_kw": np.full(cs.n_bat, np.nan),
            "p_ev_set_kw": np.full(cs.n_ev, np.nan),
            "p_hp_cap_kw": np.full(cs.n_hp, np.nan),
            "t_set_offset_k": np.zeros(cs.n_hp),
            "solve_time_s": np.nan,
            "control_status": float(STATUS_CODES["no decision"]),
            "fallback": 0.0,
            "limit_kept": np.nan,
            "p_trafo_expected_kw": np.nan,
            "control_passes": 1.0,
            "loop_converged": 1.0,
        }
        out |= {name: float(arr[min(k, cs.n_steps - 1)]) for name, arr in cs.signals.items()}
        return out

    def _decide(
        self,
        time: int,
        inputs: Mapping[str, Mapping[str, Any]],
        overrides: Mapping[str, Any] | None = None,
        states: Mapping[str, np.ndarray] | None = None,
    ) -> dict[str, Any]:
        """Return outputs with the strategy's set-points for the decided step."""
        cs = self.cs
        k = time // self.step_s
        k_dec = k if cs.same_time else k + 1  # the step the set-points act in
        out = self._local(k)
        if k_dec >= cs.n_steps:  # no next step in the run
            return out
        try:
            if not getattr(cs.strategy, "needs_measurements", True):
                sp = cs.strategy.decide(None, None)  # type: ignore[arg-type]
                out["control_status"] = float(_status_code(sp.status, False, np.nan))
                return out
            m = self.measurements(time, inputs, overrides, states)
            forecast = None
            if cs.forecast is not None:
                forecast = cs.forecast.forecast(k_dec * self.step_s, cs.forecast_steps)
            sp = cs.strategy.decide(m, forecast)
        except (ControlError, ControlParameterError) as exc:
            raise SimulationError(f"{self.sid}: at {self.when(time)}: {exc}") from exc
        if sp.p_bat_set_kw is not None:
            out["p_bat_set_kw"] = np.asarray(sp.p_bat_set_kw, dtype=float)
        if sp.p_ev_set_kw is not None:
            out["p_ev_set_kw"][cs.ev_controlled] = sp.p_ev_set_kw
        if sp.p_hp_cap_kw is not None:
            cap = np.asarray(sp.p_hp_cap_kw, dtype=float)
            if cs.hp_cap_extra_kw is not None:
                cap = cap + cs.hp_cap_extra_kw[k_dec]
            out["p_hp_cap_kw"] = np.where(np.isinf(cap), np.nan, np.maximum(cap, 0.0))
        if sp.t_set_offset_k is not None:
            out["t_set_offset_k"] = np.asarray(sp.t_set_offset_k, dtype=float)
        out["solve_time_s"] = float(sp.solve_time_s)
        out["fallback"] = float(sp.fallback)
        out["limit_kept"] = np.nan if sp.limit_kept is None else float(sp.limit_kept)
        out["p_trafo_expected_kw"] = float(sp.p_trafo_expected_kw)
        out["control_status"] = float(_status_code(sp.status, sp.fallback, sp.solve_time_s))
        return out

    def _states(self, inputs: Mapping[str, Mapping[str, Any]]) -> dict[str, np.ndarray]:
        """Return the states at the end of this pass, as the Measurements fields hold them."""
        cs, st = self.cs, {}
        if cs.n_bat:
            st["bat_soc"] = _unit(self._pick(inputs, "soc", "storage"))
        idx = cs.ev_controlled
        if idx.size:
            st["ev_soc"] = _unit(self._pick(inputs, "soc", "ev")[idx])
            e_req = self._pick(inputs, "e_required_kwh", "ev")[idx]
            st["ev_e_required_kwh"] = np.maximum(e_req, 0.0)
            st["ev_plugged"] = _unit(self._pick(inputs, "plugged", "ev")[idx])
        if cs.n_hp:
            st["t_zone_degc"] = self._pick(inputs, "t_zone_degc", "buildings")
            if cs.sources.get("buildings", "") in inputs.get("t_mass_degc", {}):
                st["t_mass_degc"] = self._pick(inputs, "t_mass_degc", "buildings")
        return st

    def _advance_same_time(self, time: int, inputs: Mapping[str, Mapping[str, Any]]) -> None:
        """One pass of the same-time loop (see the module docstring)."""
        cs = self.cs
        if time != self._pass_time:  # first pass of the step: every unit on local behaviour
            self._pass_time, self._pass = time, 0
            self._states_start, self._applied = self._states_end, {}
            self._hp_first_kw, self._bias_kw, self._expected_kw = None, 0.0, np.nan
        else:
            self._pass += 1
        now = self._states(inputs)
        self._states_end = now
        hp_now = 0.0
        if cs.n_hp:
            hp = np.maximum(self._pick(inputs, "p_kw", "buildings"), 0.0)
            hp_now = float(hp.sum())
            if self._hp_first_kw is None:
                self._hp_first_kw = hp
        local = self._local(time // self.step_s)
        if self._states_start is None:  # first step of the run: no states at its start
            self.silent = set(SETPOINTS)
            self.outputs = local
            return
        over: dict[str, Any] = {k: v for k, v in self._states_start.items() if k != "ev_plugged"}
        if "ev_soc" in over:  # EVs that arrived in this step: their state of this pass
            new = (now["ev_plugged"] > 0.0) & ~(self._states_start["ev_plugged"] > 0.0)
            for key in ("ev_soc", "ev_e_required_kwh"):
                over[key] = np.where(new, now[key], over[key])
        p_trafo = float(np.sum(_joined(inputs, "p_trafo_kw")))
        if np.isfinite(self._expected_kw):  # what the last set-points missed by
            self._bias_kw += p_trafo - self._expected_kw
        p_seen = p_trafo + self._bias_kw
        if cs.n_hp and self._hp_first_kw is not None:  # demand without control stands
            over["hp_p_kw"] = self._hp_first_kw
            p_seen += float(self._hp_first_kw.sum()) - hp_now
        over["p_trafo_kw"] = p_seen
        out = self._decide(time, inputs, over, now)
        applied = self._applied or {a: local[a] for a in SETPOINTS}
        changed = any(not _same(out[a], applied[a]) for a in SETPOINTS)
        last = self._pass + 1 >= cs.max_passes
        if changed and not last:  # send them: mosaik runs another pass
            self._applied = {a: out[a] for a in SETPOINTS}
            self._expected_kw = float(out["p_trafo_expected_kw"])
            self.silent = set()
        else:  # the loop ends; record what acted in this pass
            self.silent = set(SETPOINTS)
            out |= applied
        out["control_passes"] = float(self._pass + 1)
        out["loop_converged"] = 0.0 if changed and last else 1.0
        self.outputs = out


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Set-points equal within :data:`SAME_TIME_TOL` (NaN equal to NaN)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return False
    both_nan = np.isnan(a) & np.isnan(b)
    return bool(np.all(both_nan | (np.abs(a - b) <= SAME_TIME_TOL)))


def _joined(inputs: Mapping[str, Mapping[str, Any]], attr: str) -> np.ndarray:
    """Values of input ``attr`` from all its sources, one array (empty: not connected)."""
    return np.concatenate([np.atleast_1d(v) for v in inputs.get(attr, {}).values()] or [[]])


def _unit(x: np.ndarray) -> np.ndarray:
    """``x`` clipped to 0-1 (as ``numpy.clip``, without its call overhead)."""
    return np.minimum(np.maximum(x, 0.0), 1.0)


def _finite_or(x: np.ndarray, fill: float) -> np.ndarray:
    """``x`` as floats with NaN (out-of-service elements) replaced by ``fill``."""
    x = np.asarray(x, dtype=float)
    return np.where(np.isnan(x), fill, x)


def _status_code(status: str, fallback: bool, solve_time_s: float) -> int:
    if fallback:
        return STATUS_CODES["fallback"]
    if np.isfinite(solve_time_s):
        return STATUS_CODES.get(status, STATUS_CODES["optimal"])
    if status == "none":
        return STATUS_CODES["none"]
    if status in ("self_consumption", "peak_shaving"):
        return STATUS_CODES["rule"]
    return STATUS_CODES["plan"]
