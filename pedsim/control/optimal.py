"""Receding-horizon optimising strategy around :func:`~pedsim.control.milp.solve_milp`.

Every ``replan_every_steps`` steps (and whenever the set of plugged-in EVs changes, or the
stored plan does not cover the step) :class:`OptimalControl` builds the MILP of the next
``horizon_steps`` steps from the measurements and the forecast and solves it; the set points
of each step are read from the stored plan:

* batteries and EVs: the planned mean AC power (for an EV leaving within a plan step, the
  plan's energy spread over its plugged-in time);
* heat pumps (``hp_control``): in plan steps where the plan heats, the heating set point is
  raised to the planned mean air temperature (within the comfort band), elsewhere it is the
  band's low bound, so the zone pre-heats when the plan does and coasts otherwise while its
  thermostat still keeps the low bound (and no pre-heating at all while the weather forecast
  reaches ``preheat_max_t_out_ahead_degc`` within 72 h); with ``setpoint_and_cap`` the
  planned electric power is also a cap, so the thermostat cannot take more than planned.

A solve that ends without a feasible schedule (infeasible, time limit without solution,
solver error) hands the step to the rule-based fallback strategy and is counted in
:attr:`OptimalControl.stats`, as are solve times and statuses.

With ``plan_step_s`` coarser than the simulation step, the forecast is averaged over each
plan step and the set points of a plan step hold for each of its simulation steps.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from pedsim.physics.building import RC5Params

from .interface import (
    ControlError,
    ControlParameterError,
    Forecast,
    Measurements,
    Setpoints,
    Strategy,
)
from .linear_building import LinearBuilding
from .milp import DistrictProblem, MilpOptions, MilpResult, solve_milp
from .rules import PeakShaving, PeakShavingParams, SelfConsumption

__all__ = ["OptimalControl", "SolveStats", "build_problem"]

FloatArray = npt.NDArray[np.float64]
#: Planned heat-pump power above which a plan step counts as heating (kW).
_P_HEATING_KW = 1e-3


def _plan_ratio(m: Measurements, options: MilpOptions) -> int:
    """Return the number of simulation steps per plan step."""
    plan = options.plan_step_s or m.dt_s
    if plan % m.dt_s:
        raise ControlParameterError(
            f"plan_step_s={options.plan_step_s!r}: expected a multiple of the step {m.dt_s} s"
        )
    return int(plan // m.dt_s)


def _blocks(x: FloatArray | None, r: int, t: int) -> FloatArray | None:
    """Means over blocks of ``r`` steps of the first ``r t`` steps (axis 0)."""
    if x is None:
        return None
    return x[: r * t].reshape(t, r, *x.shape[1:]).mean(axis=1)


def build_problem(
    m: Measurements,
    forecast: Forecast,
    options: MilpOptions,
    building: LinearBuilding | None = None,
) -> tuple[DistrictProblem, npt.NDArray[np.int64]]:
    """Build the MILP instance for the horizon starting at ``m.t_s``.

    Parameters
    ----------
    m : Measurements
        State at the decision time.
    forecast : Forecast
        Signals from ``m.t_s`` on at the simulation step; as many whole plan steps as it
        covers, up to ``options.horizon_steps``, are used.
    options : MilpOptions
        Horizon, plan step, feed-in tariff, loss bias.
    building : LinearBuilding, optional
        One zone per heat pump, identified for the plan step; required with heat pumps.

    Returns
    -------
    problem : DistrictProblem
    ev_index : numpy.ndarray
        Positions in ``m`` of the EVs in the problem (those plugged in and not yet gone).
    """
    if forecast.dt_s != m.dt_s or forecast.t_s != m.t_s:
        raise ControlParameterError(
            f"forecast (t_s={forecast.t_s}, dt_s={forecast.dt_s}) does not start at the "
            f"measurements (t_s={m.t_s}, dt_s={m.dt_s})"
        )
    r = _plan_ratio(m, options)
    t = min(options.horizon_steps, forecast.n_steps // r)
    if t < 1:
        raise ControlParameterError(
            f"forecast of {forecast.n_steps} steps: expected at least one plan step ({r} steps)"
        )
    dt_s = r * m.dt_s
    dt_h = dt_s / 3600.0
    base = _blocks(forecast.p_base_kw, r, t)
    if options.loss_bias:
        base += m.p_residual_kw()
    fi = _blocks(forecast.feed_in_eur_per_kwh, r, t)
    feed_in = options.feed_in_tariff_eur_per_kwh if fi is None else fi
    t0 = float(m.t_s)
    starts = t0 + dt_s * np.arange(t)
    active = np.flatnonzero((m.ev_plugged > 0.0) & (m.ev_departure_s > t0))
    dep = m.ev_departure_s[active]
    plugged = np.clip((dep[None, :] - starts[:, None]) / dt_s, 0.0, 1.0)
    cap = m.ev_battery_kwh[active]
    e0 = m.ev_soc[active] * cap
    e_max = m.ev_soc_max[active] * cap
    target = np.minimum(e0 + m.ev_e_required_kwh[active], np.maximum(e_max, e0))
    k_dep = np.ceil((dep - t0) / dt_s) - 1.0
    late = k_dep >= t
    rate = m.ev_p_max_kw[active] * m.ev_eta_charge[active]
    after_h = np.where(late & np.isfinite(dep), (dep - t0) / 3600.0 - t * dt_h, np.inf)
    with np.errstate(invalid="ignore"):
        target = np.where(late, target - rate * after_h, target)
    step = np.where(late, t - 1, np.where(np.isfinite(k_dep), k_dep, -1)).astype(np.int64)
    needed = (target > e0 + 1e-12) & (m.ev_e_required_kwh[active] > 0.0)
    step = np.where(needed, step, -1)
    p_dis = np.where(m.ev_bidirectional[active], m.ev_p_discharge_max_kw[active], 0.0)
    kw: dict[str, object] = {}
    if m.n_hp:
        if building is None or forecast.hp_cop is None or forecast.t_out_degc is None:
            raise ControlParameterError(
                "heat pumps need a building model and forecasts of hp_cop and t_out_degc"
            )
        for name in ("hp_cop", "phi_int_w", "phi_sol_w"):
            arr = getattr(forecast, name)
            if arr is not None and arr.shape != (forecast.n_steps, m.n_hp):
                raise ControlParameterError(
                    f"Forecast.{name}: shape {arr.shape}; expected ({forecast.n_steps}, "
                    f"{m.n_hp}) (one column per heat pump)"
                )
        if building.n != m.n_hp:
            raise ControlParameterError(
                f"building: {building.n} zones; expected {m.n_hp} (one per heat pump)"
            )
        zeros = np.zeros((forecast.n_steps, m.n_hp))
        gi = _blocks(zeros if forecast.phi_int_w is None else forecast.phi_int_w, r, t)
        gs = _blocks(zeros if forecast.phi_sol_w is None else forecast.phi_sol_w, r, t)
        cop = _blocks(forecast.hp_cop, r, t)
        t_out = _blocks(forecast.t_out_degc, r, t)
        tm0 = m.t_mass_degc.copy()
        unknown = np.isnan(tm0)
        if unknown.any():  # invert the air temperature of the first step at the last power
            phi = 1e3 * m.hp_p_kw * cop[0]
            est = building.t_mass_from_air(m.t_zone_degc, t_out[0], gi[0], gs[0], phi)
            tm0 = np.where(unknown, est, tm0)
        kw = {
            "building": building, "hp_t_m0_degc": tm0, "hp_p_max_kw": m.hp_p_max_kw,
            "hp_cop": cop, "t_out_degc": t_out, "phi_int_w": gi, "phi_sol_w": gs,
            "t_low_degc": m.t_comfort_low_degc, "t_high_degc": m.t_comfort_high_degc,
        }  # fmt: skip
    problem = DistrictProblem(
        dt_h=dt_h, p_base_kw=base, price_eur_per_kwh=_blocks(forecast.price_eur_per_kwh, r, t),
        co2_kg_per_kwh=_blocks(forecast.co2_kg_per_kwh, r, t), feed_in_eur_per_kwh=feed_in,
        bat_e0_kwh=m.bat_soc * m.bat_capacity_kwh,
        bat_e_min_kwh=m.bat_soc_min * m.bat_capacity_kwh,
        bat_e_max_kwh=m.bat_soc_max * m.bat_capacity_kwh,
        bat_p_charge_max_kw=m.bat_p_charge_max_kw,
        bat_p_discharge_max_kw=m.bat_p_discharge_max_kw,
        bat_eta_charge=m.bat_eta_charge, bat_eta_discharge=m.bat_eta_discharge,
        ev_e0_kwh=e0, ev_e_min_kwh=m.ev_soc_min[active] * cap, ev_e_max_kwh=e_max,
        ev_p_max_kw=m.ev_p_max_kw[active], ev_p_discharge_max_kw=p_dis,
        ev_eta_charge=m.ev_eta_charge[active], ev_eta_discharge=m.ev_eta_discharge[active],
        ev_plugged=plugged, ev_target_kwh=target, ev_target_step=step, **kw,
    )  # fmt: skip
    return problem, active


@dataclass
class SolveStats:
    """Counters of an :class:`OptimalControl` run.

    Attributes
    ----------
    n_decisions, n_solves, n_fallbacks : int
        Steps decided, MILPs solved, steps handed to the fallback strategy.
    solve_times_s : list of float
        Wall time of every solve.
    statuses : collections.Counter
        Count of each solver status.
    """

    n_decisions: int = 0
    n_solves: int = 0
    n_fallbacks: int = 0
    solve_times_s: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)

    def summary(self) -> dict[str, float]:
        """Totals and solve-time statistics (mean, maximum, 95th percentile, seconds)."""
        t = np.asarray(self.solve_times_s, dtype=float)
        stats = {"n_decisions": self.n_decisions, "n_solves": self.n_solves,
                 "n_fallbacks": self.n_fallbacks}  # fmt: skip
        if t.size:
            stats |= {"solve_time_mean_s": float(t.mean()), "solve_time_max_s": float(t.max()),
                      "solve_time_p95_s": float(np.percentile(t, 95))}  # fmt: skip
        return stats


class OptimalControl:
    """Receding-horizon MILP control with a rule-based fallback.

    Parameters
    ----------
    options : MilpOptions, optional
        Horizon, plan step, re-planning interval, objective, limits, penalties, solver.
    building : LinearBuilding or RC5Params, optional
        Zone of each heat pump (required with heat pumps): a linear model identified for the
        plan step, or the 5R1C parameters to identify it from (with the ``exact`` scheme).
    fallback : Strategy, optional
        Strategy for steps without a feasible plan; default from ``options.fallback``.
    """

    def __init__(
        self,
        options: MilpOptions | None = None,
        building: LinearBuilding | RC5Params | None = None,
        fallback: Strategy | None = None,
    ) -> None:
        self.options = options or MilpOptions()
        self._rc5 = building if isinstance(building, RC5Params) else None
        self.building = building if isinstance(building, LinearBuilding) else None
        o = self.options
        limited = np.isfinite(o.import_limit_kw) or np.isfinite(o.export_limit_kw)
        kind = o.fallback if o.fallback != "auto" else ("peak_shaving" if limited else "")
        if fallback is not None:
            self.fallback = fallback
        elif kind == "peak_shaving":
            self.fallback = PeakShaving(PeakShavingParams(o.import_limit_kw, o.export_limit_kw))
        else:
            self.fallback = SelfConsumption()
        self.stats = SolveStats()
        self.last_result: MilpResult | None = None
        self._plan: MilpResult | None = None
        self._problem: DistrictProblem | None = None
        self._plan_t_s = 0
        self._plan_evs = np.zeros(0, dtype=np.int64)
        self._plan_dep = np.zeros(0)

    def _model(self, m: Measurements) -> LinearBuilding | None:
        plan_s = self.options.plan_step_s or m.dt_s
        if self._rc5 is not None and (self.building is None or self.building.dt_s != plan_s):
            self.building = LinearBuilding.from_rc5(self._rc5, plan_s)
        return self.building

    def _needs_plan(self, m: Measurements, k: int, evs: npt.NDArray[np.int64]) -> bool:
        if self._plan is None or k < 0 or k >= self.options.replan_every_steps:
            return True
        r = _plan_ratio(m, self.options)
        if k // r >= self._plan.p_grid_kw.size or (m.t_s - self._plan_t_s) % m.dt_s:
            return True
        # a new session (an EV not in the plan, or plugged in again with another departure)
        # needs a new plan; an EV that left does not (its planned power ends at departure)
        planned = np.full(m.n_ev, np.nan)
        planned[self._plan_evs] = self._plan_dep
        return not np.array_equal(planned[evs], m.ev_departure_s[evs])

    def decide(self, m: Measurements, forecast: Forecast | None) -> Setpoints:
        """Set points for the step starting at ``m.t_s``.

        Raises
        ------
        ControlError
            Without a forecast.
        """
        if forecast is None:
            raise ControlError("the optimal strategy needs a forecast; got None")
        self.stats.n_decisions += 1
        evs = np.flatnonzero((m.ev_plugged > 0.0) & (m.ev_departure_s > m.t_s))
        k = (m.t_s - self._plan_t_s) // m.dt_s
        solve_time = np.nan
        if self._plan is None or self._needs_plan(m, k, evs):
            problem, active = build_problem(m, forecast, self.options, self._model(m))
            res = solve_milp(problem, self.options)
            self.last_result = res
            self.stats.n_solves += 1
            self.stats.solve_times_s.append(res.solve_time_s)
            self.stats.statuses[res.status] += 1
            solve_time = res.solve_time_s
            if not res.success:
                self._plan = None
                self.stats.n_fallbacks += 1
                sp = self.fallback.decide(m, forecast)
                sp.fallback, sp.solve_time_s = True, solve_time
                sp.status = f"fallback: {res.status}"
                return sp
            self._plan, self._problem = res, problem
            self._plan_t_s, self._plan_evs = m.t_s, active
            self._plan_dep = m.ev_departure_s[active]
            k = 0
        return self._setpoints(m, self._plan, int(k), solve_time)

    def _setpoints(self, m: Measurements, plan: MilpResult, k: int, solve_time: float) -> Setpoints:
        r = _plan_ratio(m, self.options)
        j = k // r
        p_ev = np.zeros(m.n_ev)
        if self._plan_evs.size and self._problem is not None:
            frac_block = self._problem.ev_plugged[j]
            dep = m.ev_departure_s[self._plan_evs]
            frac = np.clip((dep - m.t_s) / m.dt_s, 0.0, 1.0)
            scale = np.where(frac_block > 0.0, frac / np.maximum(frac_block, 1e-12), 0.0)
            p_ev[self._plan_evs] = plan.p_ev_kw[j] * scale
        cap = offset = None
        o = self.options
        if m.n_hp:
            lo = m.t_comfort_low_degc - m.t_set_heat_degc
            hi = m.t_comfort_high_degc - m.t_set_heat_degc
            planned = np.clip(plan.t_air_degc[j] - m.t_set_heat_degc, lo, hi)
            if o.hp_control == "setpoint_and_cap":
                cap, offset = plan.p_hp_kw[j].copy(), planned
            elif m.t_out_max_ahead_degc >= o.preheat_max_t_out_ahead_degc:
                offset = lo.copy()  # a warm spell within 72 h: no pre-heating (False for NaN)
            else:  # raise the set point where the plan heats; coast to the low bound elsewhere
                offset = np.where(plan.p_hp_kw[j] > _P_HEATING_KW, planned, lo)
        p = float(plan.p_grid_kw[j])
        kept = None
        if np.isfinite(o.import_limit_kw) or np.isfinite(o.export_limit_kw):
            kept = bool(-o.export_limit_kw - 1e-6 <= p <= o.import_limit_kw + 1e-6)
        return Setpoints(
            p_bat_set_kw=plan.p_bat_kw[j].copy(), p_ev_set_kw=p_ev, p_hp_cap_kw=cap,
            t_set_offset_k=offset, p_trafo_expected_kw=p, limit_kept=kept,
            status=plan.status, solve_time_s=solve_time,
        )  # fmt: skip
