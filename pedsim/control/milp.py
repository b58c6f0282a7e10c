"""Mixed-integer linear programme of a district over a horizon (``scipy.optimize.milp``, HiGHS).

Decision variables per step ``k`` of length ``dt`` (hours ``h``), all powers means over the
step in kW, load convention:

* grid: import ``m_k >= 0`` and export ``x_k >= 0`` at the transformer with
  ``m_k - x_k = p_base_k + sum(battery, EV, heat-pump powers)`` (district view, no network
  losses); a binary forbids simultaneous import and export in steps where both together
  would pay (import price below the feed-in tariff);
* batteries: charge ``c``/discharge ``d`` (AC) with ``e_{k+1} = e_k + (eta_c c - d / eta_d) h``,
  the energy window and the power limits; a binary per step makes charging and discharging
  exclusive (else negative prices would pay for burning energy in conversion losses);
* EVs plugged in at the decision time: charge (and for bidirectional EVs discharge, with an
  exclusivity binary) up to ``p_max`` times the plugged-in fraction of the step (they leave
  at their departure time); stored energy at departure ``>=`` the energy now plus the energy
  still required (hard, or soft with a penalty per kWh short); a departure after the horizon
  needs what full power cannot add after the horizon;
* heat pumps: electric power ``0 <= p <= p_max``, heat ``COP_k p`` (COP fixed per step from
  the forecast) into the air node of a :class:`~pedsim.control.linear_building.LinearBuilding`
  zone; the step-mean air temperature stays above the comfort band's low bound up to a
  slack (K, penalised per K h) and below its high bound, or below the temperature the zone
  would have without heating where that is higher (heating cannot cool).

Exclusivity binaries are added only where they matter (see :func:`solve_milp`): at positive
prices the linear programme never charges and discharges at once by itself.

Objective (``cost``, ``co2`` or ``weighted``): ``sum_k h (price_k m_k - feed_in_k x_k)``,
``sum_k h co2_k m_k`` (attributional, no credit for export) or ``cost + w co2``, plus the
penalties (in the objective's units: EUR, or kg for ``co2``), minus an optional terminal
value of the energy left in the batteries (the mean import coefficient of the horizon times
``eta_d``). Transformer limits ``-export_limit <= m - x <= import_limit`` are hard or soft
(penalty per kWh beyond the limit).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .interface import ControlParameterError, check_number
from .linear_building import LinearBuilding
from .lpmodel import LinearModel

__all__ = ["OBJECTIVES", "DistrictProblem", "MilpOptions", "MilpResult", "solve_milp"]

FloatArray = npt.NDArray[np.float64]
OBJECTIVES = ("cost", "co2", "weighted")
_STATUS = {0: "optimal", 1: "limit", 2: "infeasible", 3: "unbounded", 4: "error"}


@dataclass(frozen=True)
class MilpOptions:
    """Options of the district MILP and of the receding-horizon controller.

    Attributes
    ----------
    horizon_steps : int
        Steps of the optimisation horizon (>= 1), each of ``plan_step_s``.
    replan_every_steps : int
        Simulation steps between re-optimisations (>= 1); in between the stored plan is
        applied (a plan that runs out triggers a new solve).
    plan_step_s : int or None
        Step of the optimisation, a multiple of the simulation step (None: the simulation
        step). Coarser plan steps shrink the programme: every plan step holds the mean of
        the forecast over its simulation steps, comfort applies to its mean temperature.
    objective : {"cost", "co2", "weighted"}
        What to minimise; ``weighted`` is ``cost + co2_weight_eur_per_kg * co2``.
    co2_weight_eur_per_kg : float
        Weight of CO2 in ``weighted`` (>= 0).
    feed_in_tariff_eur_per_kwh : float
        Export remuneration when the forecast carries no feed-in series.
    import_limit_kw, export_limit_kw : float
        Transformer limits as magnitudes (> 0, ``inf`` for none): ``-export <= p <= import``.
    limits : {"soft", "hard"}
        Soft limits cost ``limit_penalty_per_kwh`` per kWh beyond them.
    limit_penalty_per_kwh, ev_shortfall_penalty_per_kwh, comfort_penalty_per_kh : float
        Penalties in objective units per kWh beyond a limit, per kWh an EV lacks at departure
        and per K h outside a comfort band (>= 0).
    ev_requirement : {"soft", "hard"}
        Whether the EV departure requirement may be missed at a penalty.
    binaries : {"auto", "always", "never"}
        Exclusivity binaries for charging and discharging of batteries and V2G EVs and for
        import and export: ``auto`` adds them only where the solution without them charges
        and discharges at once (exact, see :func:`solve_milp`); ``never`` solves the LP
        relaxation.
    lp_method : {"ipm", "simplex"}
        HiGHS method for programmes without binaries (interior point with crossover is much
        faster on long horizons with many zones; simplex on small ones).
    terminal_value : {"mean", "none"}
        Value of the energy left in the batteries at the end of the horizon.
    time_limit_s : float
        Time budget of one call of :func:`solve_milp` (s).
    mip_rel_gap : float
        Relative MIP gap at which HiGHS stops.
    fallback : {"auto", "self_consumption", "peak_shaving"}
        Rule-based strategy used when a solve fails; ``auto`` takes ``peak_shaving`` when a
        limit is finite, else ``self_consumption``.
    loss_bias : bool
        Add the measured difference between the transformer power and the sum of the units
        (grid losses and forecast error of the current step) to the base-load forecast.
    hp_control : {"setpoint", "setpoint_and_cap"}
        How the plan reaches the heat pumps. ``setpoint``: in plan steps where the plan heats,
        the zone's heating set point is raised to the planned mean air temperature (never
        below the comfort band's low bound), otherwise it is the band's low bound; no power
        cap, so the zone's own thermostat still keeps the low bound whenever the heat pump
        can (comfort never worse than without control). ``setpoint_and_cap`` also caps the
        electric power at the planned power (needed to shave peaks with heat pumps, at the
        risk of comfort shortfalls where plan and simulation differ).
    preheat_max_t_out_ahead_degc : float
        With ``hp_control: setpoint``, set points stay at the band's low bound (no
        pre-heating) while the weather forecast reaches this outdoor temperature within the
        next 72 h (degC): heat stored in the mass before a warm spell, beyond the plan's
        horizon, comes back as overheating in houses without cooling. ``inf``: off.
    """

    horizon_steps: int = 96
    replan_every_steps: int = 1
    plan_step_s: int | None = None
    objective: str = "cost"
    co2_weight_eur_per_kg: float = 0.0
    feed_in_tariff_eur_per_kwh: float = 0.0
    import_limit_kw: float = np.inf
    export_limit_kw: float = np.inf
    limits: str = "soft"
    limit_penalty_per_kwh: float = 10.0
    ev_requirement: str = "soft"
    ev_shortfall_penalty_per_kwh: float = 10.0
    comfort_penalty_per_kh: float = 1.0
    binaries: str = "auto"
    lp_method: str = "ipm"
    terminal_value: str = "mean"
    time_limit_s: float = 10.0
    mip_rel_gap: float = 1e-6
    fallback: str = "auto"
    loss_bias: bool = True
    hp_control: str = "setpoint"
    preheat_max_t_out_ahead_degc: float = 20.0

    def __post_init__(self) -> None:
        check_number("horizon_steps", self.horizon_steps, lo=1)
        check_number("replan_every_steps", self.replan_every_steps, lo=1)
        if self.plan_step_s is not None:
            check_number("plan_step_s", self.plan_step_s, lo=1)
        for name in ("horizon_steps", "replan_every_steps", "plan_step_s"):
            if getattr(self, name) is None:
                continue
            if int(getattr(self, name)) != getattr(self, name):
                raise ControlParameterError(f"{name}={getattr(self, name)!r}: expected an integer")
        choices = {
            "objective": OBJECTIVES, "limits": ("soft", "hard"), "ev_requirement": ("soft", "hard"),
            "terminal_value": ("mean", "none"), "binaries": ("auto", "always", "never"),
            "lp_method": ("ipm", "simplex"),
            "fallback": ("auto", "self_consumption", "peak_shaving"),
            "hp_control": ("setpoint", "setpoint_and_cap"),
        }  # fmt: skip
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ControlParameterError(
                    f"{name}={getattr(self, name)!r}: expected one of {allowed}"
                )
        check_number("co2_weight_eur_per_kg", self.co2_weight_eur_per_kg, lo=0.0)
        check_number("feed_in_tariff_eur_per_kwh", self.feed_in_tariff_eur_per_kwh)
        for name in ("import_limit_kw", "export_limit_kw"):
            check_number(name, getattr(self, name), lo=0.0, lo_open=True, allow_inf=True)
        for name in ("limit_penalty_per_kwh", "ev_shortfall_penalty_per_kwh"):
            check_number(name, getattr(self, name), lo=0.0)
        check_number("comfort_penalty_per_kh", self.comfort_penalty_per_kh, lo=0.0)
        check_number("time_limit_s", self.time_limit_s, lo=0.0, lo_open=True, allow_inf=True)
        check_number("mip_rel_gap", self.mip_rel_gap, lo=0.0, hi=1.0)
        check_number(
            "preheat_max_t_out_ahead_degc", self.preheat_max_t_out_ahead_degc, allow_inf=True
        )


def _arr(x: npt.ArrayLike, shape: tuple[int, ...]) -> FloatArray:
    return np.broadcast_to(np.asarray(x, dtype=float), shape).copy()


@dataclass(eq=False)
class DistrictProblem:
    """Data of one MILP instance (horizon of T steps); arrays over units as noted.

    Attributes
    ----------
    dt_h : float
        Step length (h).
    p_base_kw, price_eur_per_kwh, feed_in_eur_per_kwh, co2_kg_per_kwh : numpy.ndarray
        Shape (T,): uncontrolled district power (+ import) and the signals.
    bat_e0_kwh, bat_e_min_kwh, bat_e_max_kwh, bat_p_charge_max_kw, bat_p_discharge_max_kw,
    bat_eta_charge, bat_eta_discharge : numpy.ndarray
        Shape (n_bat,).
    ev_e0_kwh, ev_e_min_kwh, ev_e_max_kwh, ev_p_max_kw, ev_p_discharge_max_kw,
    ev_eta_charge, ev_eta_discharge : numpy.ndarray
        Shape (n_ev,); ``ev_p_discharge_max_kw`` is 0 for EVs without V2G.
    ev_plugged : numpy.ndarray
        Shape (T, n_ev): plugged-in fraction of each step.
    ev_target_kwh, ev_target_step : numpy.ndarray
        Stored energy required at the end of step ``ev_target_step`` (-1: no requirement).
    building : LinearBuilding or None
        Zone models (n_hp zones, one per heat pump) for steps of ``dt_h``.
    hp_t_m0_degc, hp_p_max_kw : numpy.ndarray
        Shape (n_hp,): initial mass temperature and electric limit.
    hp_cop, phi_int_w, phi_sol_w, t_low_degc, t_high_degc : numpy.ndarray
        Shape (T, n_hp).
    t_out_degc : numpy.ndarray
        Shape (T,).
    """

    dt_h: float
    p_base_kw: FloatArray
    price_eur_per_kwh: FloatArray
    co2_kg_per_kwh: FloatArray
    feed_in_eur_per_kwh: FloatArray | float = 0.0
    bat_e0_kwh: FloatArray = field(default_factory=lambda: np.zeros(0))
    bat_e_min_kwh: FloatArray | float = 0.0
    bat_e_max_kwh: FloatArray | float = 0.0
    bat_p_charge_max_kw: FloatArray | float = 0.0
    bat_p_discharge_max_kw: FloatArray | float = 0.0
    bat_eta_charge: FloatArray | float = 1.0
    bat_eta_discharge: FloatArray | float = 1.0
    ev_e0_kwh: FloatArray = field(default_factory=lambda: np.zeros(0))
    ev_e_min_kwh: FloatArray | float = 0.0
    ev_e_max_kwh: FloatArray | float = 0.0
    ev_p_max_kw: FloatArray | float = 0.0
    ev_p_discharge_max_kw: FloatArray | float = 0.0
    ev_eta_charge: FloatArray | float = 1.0
    ev_eta_discharge: FloatArray | float = 1.0
    ev_plugged: FloatArray | float = 1.0
    ev_target_kwh: FloatArray | float = 0.0
    ev_target_step: npt.NDArray[np.int64] | int = -1
    building: LinearBuilding | None = None
    hp_t_m0_degc: FloatArray = field(default_factory=lambda: np.zeros(0))
    hp_p_max_kw: FloatArray | float = 0.0
    hp_cop: FloatArray | float = 1.0
    t_out_degc: FloatArray | float = 0.0
    phi_int_w: FloatArray | float = 0.0
    phi_sol_w: FloatArray | float = 0.0
    t_low_degc: FloatArray | float = -np.inf
    t_high_degc: FloatArray | float = np.inf

    def __post_init__(self) -> None:
        self.dt_h = check_number("dt_h", self.dt_h, lo=0.0, lo_open=True)
        t = np.size(self.p_base_kw)
        if t < 1 or np.ndim(self.p_base_kw) != 1:
            raise ControlParameterError("p_base_kw: expected a 1-D array of >= 1 steps")
        for name in ("p_base_kw", "price_eur_per_kwh", "co2_kg_per_kwh", "feed_in_eur_per_kwh"):
            setattr(self, name, _arr(getattr(self, name), (t,)))
        nb, nv, nh = np.size(self.bat_e0_kwh), np.size(self.ev_e0_kwh), np.size(self.hp_t_m0_degc)
        for name in [f for f in self.__dataclass_fields__ if f.startswith("bat_")]:
            setattr(self, name, _arr(getattr(self, name), (nb,)))
        for name in [f for f in self.__dataclass_fields__ if f.startswith("ev_")]:
            shape = (t, nv) if name == "ev_plugged" else (nv,)
            setattr(self, name, _arr(getattr(self, name), shape))
        self.ev_target_step = self.ev_target_step.astype(np.int64)
        self.t_out_degc = _arr(self.t_out_degc, (t,))
        self.hp_t_m0_degc = _arr(self.hp_t_m0_degc, (nh,))
        self.hp_p_max_kw = _arr(self.hp_p_max_kw, (nh,))
        for name in ("hp_cop", "phi_int_w", "phi_sol_w", "t_low_degc", "t_high_degc"):
            setattr(self, name, _arr(getattr(self, name), (t, nh)))
        if nh and (self.building is None or self.building.n != nh):
            raise ControlParameterError(
                f"building: expected a LinearBuilding of {nh} zones (one per heat pump)"
            )
        if nh and abs(self.building.dt_s - self.dt_h * 3600.0) > 1e-6:
            raise ControlParameterError(
                f"building.dt_s={self.building.dt_s!r}: expected the step {self.dt_h * 3600} s"
            )
        for name in ("p_base_kw", "price_eur_per_kwh", "co2_kg_per_kwh", "hp_cop", "hp_t_m0_degc"):
            if not np.isfinite(getattr(self, name)).all():
                raise ControlParameterError(f"{name}: contains NaN or inf")

    @property
    def n_steps(self) -> int:
        """Steps in the horizon."""
        return int(self.p_base_kw.size)


@dataclass(eq=False)
class MilpResult:
    """Solution of a :class:`DistrictProblem` (arrays over the horizon and units).

    Attributes
    ----------
    status : str
        ``optimal``, ``limit`` (time limit with a feasible solution), ``infeasible``,
        ``unbounded``, ``error`` or ``limit_no_solution``.
    success : bool
        Whether a feasible schedule was found.
    objective, cost_eur, co2_kg, penalty : float
        Objective value and its parts (cost and CO2 of the grid exchange; penalties).
    solve_time_s : float
        Wall time of the solve (s).
    n_vars, n_cons, n_binaries : int
        Size of the programme.
    p_grid_kw : numpy.ndarray
        Shape (T,): transformer power ``m - x``.
    p_bat_kw, e_bat_kwh, p_ev_kw, e_ev_kwh, p_hp_kw, t_air_degc, t_m_degc : numpy.ndarray
        Schedules (T, n) and energies/states (T + 1, n).
    ev_shortfall_kwh : numpy.ndarray
        Shape (n_ev,): energy lacking at departure (soft requirement).
    comfort_kh : float
        Degree-hours outside the comfort bands.
    limit_excess_kwh : float
        Energy beyond the transformer limits (soft limits).
    """

    status: str
    success: bool
    objective: float = np.nan
    cost_eur: float = np.nan
    co2_kg: float = np.nan
    penalty: float = np.nan
    solve_time_s: float = np.nan
    n_vars: int = 0
    n_cons: int = 0
    n_binaries: int = 0
    p_grid_kw: FloatArray = field(default_factory=lambda: np.zeros(0))
    p_bat_kw: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))
    e_bat_kwh: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))
    p_ev_kw: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))
    e_ev_kwh: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))
    p_hp_kw: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))
    t_air_degc: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))
    t_m_degc: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))
    ev_shortfall_kwh: FloatArray = field(default_factory=lambda: np.zeros(0))
    comfort_kh: float = 0.0
    limit_excess_kwh: float = 0.0


def _build(
    p: DistrictProblem,
    o: MilpOptions,
    obj: str,
    co2_cap_kg: float | None,
    cost_cap_eur: float | None,
    mask: dict[str, np.ndarray],
) -> tuple[LinearModel, dict[str, np.ndarray]]:
    """Assemble the programme; returns the model and the index arrays of its variables."""
    t, h = p.n_steps, p.dt_h
    nb, nv, nh = p.bat_e0_kwh.size, p.ev_e0_kwh.size, p.hp_t_m0_degc.size
    c_imp, c_exp = _coefficients(p, o, obj)
    md = LinearModel()
    v: dict[str, np.ndarray] = {}
    hard = o.limits == "hard"
    flex = p.bat_p_charge_max_kw.sum() + p.bat_p_discharge_max_kw.sum() + p.ev_p_max_kw.sum()
    flex += p.ev_p_discharge_max_kw.sum() + p.hp_p_max_kw.sum()
    big = np.abs(p.p_base_kw) + flex + 1.0  # bounds |m - x|, hence m and x when exclusive
    imp_ub = np.minimum(o.import_limit_kw, big) if hard else big
    exp_ub = np.minimum(o.export_limit_kw, big) if hard else big
    v["m"] = g_m = md.add_vars((t,), 0.0, imp_ub, c_imp)
    v["x"] = g_x = md.add_vars((t,), 0.0, exp_ub, c_exp)
    balance: list[tuple[np.ndarray, float]] = [(g_m, 1.0), (g_x, -1.0)]
    both = np.flatnonzero(mask["m"])
    if both.size:  # import and export exclusive
        gb = md.add_vars((both.size,), 0.0, 1.0, 0.0, integer=True)
        md.add_rows([(g_m[both], 1.0), (gb, -big[both])], -np.inf, 0.0)
        md.add_rows([(g_x[both], 1.0), (gb, big[both])], -np.inf, big[both])
    pen = o.limit_penalty_per_kwh * h
    v["s_lim"] = np.zeros(0, dtype=np.int64)
    for name, g in (("import_limit_kw", g_m), ("export_limit_kw", g_x)):
        if not hard and np.isfinite(getattr(o, name)):
            s = md.add_vars((t,), 0.0, np.inf, pen)
            md.add_rows([(g, 1.0), (s, -1.0)], -np.inf, getattr(o, name))
            v["s_lim"] = np.concatenate([v["s_lim"], s])
    # batteries
    v["bc"] = b_c = md.add_vars((t, nb), 0.0, p.bat_p_charge_max_kw)
    v["bd"] = b_d = md.add_vars((t, nb), 0.0, p.bat_p_discharge_max_kw)
    e0 = p.bat_e0_kwh
    e_lo, e_hi = np.minimum(p.bat_e_min_kwh, e0), np.maximum(p.bat_e_max_kwh, e0)
    term = np.mean(c_imp) / h * p.bat_eta_discharge if o.terminal_value == "mean" else 0.0 * e0
    lb_e = np.vstack([e0, np.broadcast_to(e_lo, (t, nb))])
    ub_e = np.vstack([e0, np.broadcast_to(e_hi, (t, nb))])
    cost_e = np.vstack([np.zeros((t, nb)), -np.broadcast_to(term, (1, nb))])
    v["be"] = b_e = md.add_vars((t + 1, nb), lb_e, ub_e, cost_e)
    if nb:
        dyn = [(b_e[1:], 1.0), (b_e[:-1], -1.0), (b_c, -h * p.bat_eta_charge)]
        md.add_rows([*dyn, (b_d, h / p.bat_eta_discharge)], 0.0, 0.0)
        _exclusive(md, b_c, b_d, mask["bc"], p.bat_p_charge_max_kw, p.bat_p_discharge_max_kw)
        balance += [(b_c, -1.0), (b_d, 1.0)]
    # EVs
    v["vc"] = v_c = md.add_vars((t, nv), 0.0, p.ev_p_max_kw * p.ev_plugged)
    v["vd"] = v_d = md.add_vars((t, nv), 0.0, p.ev_p_discharge_max_kw * p.ev_plugged)
    ve0 = p.ev_e0_kwh
    ve_lo, ve_hi = np.minimum(p.ev_e_min_kwh, ve0), np.maximum(p.ev_e_max_kwh, ve0)
    lb_v = np.vstack([ve0, np.broadcast_to(ve_lo, (t, nv))])
    v["ve"] = v_e = md.add_vars(
        (t + 1, nv), lb_v, np.vstack([ve0, np.broadcast_to(ve_hi, (t, nv))])
    )
    v["short"] = np.zeros(0, dtype=np.int64)
    if nv:
        dyn = [(v_e[1:], 1.0), (v_e[:-1], -1.0), (v_c, -h * p.ev_eta_charge)]
        md.add_rows([*dyn, (v_d, h / p.ev_eta_discharge)], 0.0, 0.0)
        _exclusive(md, v_c, v_d, mask["vc"], p.ev_p_max_kw, p.ev_p_discharge_max_kw)
        req = np.flatnonzero(p.ev_target_step >= 0)
        if req.size:
            rows_e = v_e[p.ev_target_step[req] + 1, req]
            if o.ev_requirement == "soft":
                v["short"] = md.add_vars((req.size,), 0.0, np.inf, o.ev_shortfall_penalty_per_kwh)
                md.add_rows([(rows_e, 1.0), (v["short"], 1.0)], p.ev_target_kwh[req], np.inf)
            else:
                md.add_rows([(rows_e, 1.0)], p.ev_target_kwh[req], np.inf)
        balance += [(v_c, -1.0), (v_d, 1.0)]
    # heat pumps and zones
    v["hp"] = hp = md.add_vars((t, nh), 0.0, p.hp_p_max_kw)
    v["s_lo"] = np.zeros((t, 0), dtype=np.int64)
    v["tm"] = np.zeros((t + 1, 0), dtype=np.int64)
    if nh:
        bld = p.building
        gain = 1e3 * p.hp_cop  # W of heat per kW electric
        free_m, free_a = _free_response(p)
        v["tm"] = tm = md.add_vars(
            (t + 1, nh), np.vstack([p.hp_t_m0_degc, np.full((t, nh), -np.inf)]),
            np.vstack([p.hp_t_m0_degc, np.full((t, nh), np.inf)]),
        )  # fmt: skip
        md.add_rows([(tm[1:], 1.0), (tm[:-1], -bld.a), (hp, -bld.b[:, 3] * gain)], free_m, free_m)
        v["s_lo"] = s_lo = md.add_vars((t, nh), 0.0, np.inf, o.comfort_penalty_per_kh * h)
        air = [(tm[:-1], bld.c), (hp, bld.d[:, 3] * gain)]
        md.add_rows([*air, (s_lo, 1.0)], p.t_low_degc - free_a, np.inf)
        # heating only raises temperatures: above the band, no more than without heating
        md.add_rows(air, -np.inf, np.maximum(p.t_high_degc, _unheated_air(p)) - free_a)
        balance.append((hp, -1.0))
    md.add_step_rows([(i, c) for i, c in balance if np.size(i)], p.p_base_kw, p.p_base_kw)
    if co2_cap_kg is not None:
        md.add_row([(g_m, h * p.co2_kg_per_kwh)], -np.inf, co2_cap_kg)
    if cost_cap_eur is not None:
        cost_terms = [(g_m, h * p.price_eur_per_kwh), (g_x, -h * p.feed_in_eur_per_kwh)]
        md.add_row(cost_terms, -np.inf, cost_cap_eur)
    return md, v


def _free_response(p: DistrictProblem) -> tuple[FloatArray, FloatArray]:
    """Parts of the zone equations driven by weather and gains, shape (T, n_hp) each."""
    bld = p.building
    u = np.stack(np.broadcast_arrays(p.t_out_degc[:, None], p.phi_int_w, p.phi_sol_w), axis=-1)
    return (bld.b[:, :3] * u).sum(-1), (bld.d[:, :3] * u).sum(-1)


def _unheated_air(p: DistrictProblem) -> FloatArray:
    """Mean air temperature of each step without heating, from the initial state."""
    _, t_air = p.building.simulate(p.hp_t_m0_degc, p.t_out_degc, p.phi_int_w, p.phi_sol_w, 0.0)
    return t_air


def _exclusive(
    md: LinearModel,
    up: np.ndarray,
    down: np.ndarray,
    mask: np.ndarray,
    up_max: FloatArray,
    down_max: FloatArray,
) -> None:
    """Binaries making ``up`` and ``down`` (shape (T, n)) exclusive where ``mask`` is True."""
    k, i = np.nonzero(mask)
    if k.size:
        z = md.add_vars((k.size,), 0.0, 1.0, 0.0, integer=True)
        md.add_rows([(up[k, i], 1.0), (z, -up_max[i])], -np.inf, 0.0)
        md.add_rows([(down[k, i], 1.0), (z, down_max[i])], -np.inf, down_max[i])


_PAIRS = (("m", "x"), ("bc", "bd"), ("vc", "vd"))


def _coefficients(p: DistrictProblem, o: MilpOptions, obj: str) -> tuple[FloatArray, FloatArray]:
    """Objective coefficients of import and export per step."""
    w = o.co2_weight_eur_per_kg if obj == "weighted" else 0.0
    c_imp = p.co2_kg_per_kwh if obj == "co2" else p.price_eur_per_kwh + w * p.co2_kg_per_kwh
    c_exp = 0.0 * p.feed_in_eur_per_kwh if obj == "co2" else -p.feed_in_eur_per_kwh
    return p.dt_h * c_imp, p.dt_h * c_exp


def _masks(p: DistrictProblem, value: bool, pay: np.ndarray) -> dict[str, np.ndarray]:
    """Return where exclusivity binaries go.

    Import/export only in steps where both at once would pay (``pay``), V2G pairs only for
    EVs that can discharge.
    """
    t = p.n_steps
    return {
        "m": np.full(t, value) & pay,
        "bc": np.full((t, p.bat_e0_kwh.size), value),
        "vc": np.full((t, p.ev_e0_kwh.size), value) & (p.ev_p_discharge_max_kw > 0.0),
    }


def _simultaneous(x: FloatArray, v: dict[str, np.ndarray], tol: float = 1e-7) -> dict:
    """Where a solution charges and discharges (or imports and exports) at once."""
    return {a: np.minimum(x[v[a]], x[v[b]]) > tol for a, b in _PAIRS}


def solve_milp(
    problem: DistrictProblem,
    options: MilpOptions,
    *,
    objective: str | None = None,
    co2_cap_kg: float | None = None,
    cost_cap_eur: float | None = None,
) -> MilpResult:
    """Build and solve the MILP of ``problem``.

    With ``options.binaries == "auto"`` the programme is first solved without binaries. A
    solution that never charges and discharges (or imports and exports) at the same time is
    optimal for the MILP too (the programme solved is a relaxation of it); otherwise binaries
    are added where the pairs were simultaneous and the programme is solved again, until no
    pair is (after 5 rounds, binaries are placed everywhere). If such a round ends without
    an optimal solution (time limit), the relaxed solution is returned with the status
    ``relaxed``: its net powers per unit are usable set points.

    Parameters
    ----------
    problem : DistrictProblem
        Instance data.
    options : MilpOptions
        Limits, penalties, objective, solver settings.
    objective : {"cost", "co2", "weighted"}, optional
        Overrides ``options.objective`` (used by the Pareto sweep).
    co2_cap_kg, cost_cap_eur : float, optional
        Upper bounds on the CO2 (kg) and cost (EUR) of the grid exchange (epsilon-constraints).

    Returns
    -------
    MilpResult
    """
    p, o = problem, options
    obj = o.objective if objective is None else objective
    if obj not in OBJECTIVES:
        raise ControlParameterError(f"objective={obj!r}: expected one of {OBJECTIVES}")
    caps = (co2_cap_kg, cost_cap_eur)
    wall = 0.0
    c_imp, c_exp = _coefficients(p, o, obj)
    pay = c_imp + c_exp < -1e-12
    every = _masks(p, True, pay)
    mask = _masks(p, o.binaries == "always", pay)
    relaxed = None
    for rounds in range(6):
        md, v = _build(p, o, obj, *caps, mask)
        res, dt = md.solve(max(o.time_limit_s - wall, 1e-3), o.mip_rel_gap, o.lp_method)
        wall += dt
        stop = o.binaries != "auto" or res.x is None or wall >= o.time_limit_s
        if stop or (rounds and res.status != 0):
            break
        both = _simultaneous(res.x, v)
        if not any((b & every[k]).any() for k, b in both.items()):
            break
        relaxed = relaxed or (md, v, res)
        mask = every if rounds >= 4 else {k: mask[k] | (both[k] & every[k]) for k in mask}
    status = _STATUS.get(res.status, "error")
    if relaxed is not None and (res.x is None or res.status != 0):
        md, v, res = relaxed  # binaries did not solve in time: the relaxation, netted
        status = "relaxed"
    n_bin = int(sum(np.count_nonzero(i) for i in md.integ))
    if res.x is None:
        status = "limit_no_solution" if status == "limit" else status
        size = {"n_vars": md.n, "n_cons": md.m, "n_binaries": n_bin}
        return MilpResult(status, False, solve_time_s=wall, **size)
    return _extract(p, o, res, v, status, wall, md, n_bin)


def _extract(
    p: DistrictProblem,
    o: MilpOptions,
    res: object,
    v: dict[str, np.ndarray],
    status: str,
    wall: float,
    md: LinearModel,
    n_bin: int,
) -> MilpResult:
    x, h = res.x, p.dt_h
    nv, nh = p.ev_e0_kwh.size, p.hp_t_m0_degc.size
    cost = float(h * (p.price_eur_per_kwh @ x[v["m"]] - p.feed_in_eur_per_kwh @ x[v["x"]]))
    short = np.zeros(nv)
    if v["short"].size:
        short[np.flatnonzero(p.ev_target_step >= 0)] = x[v["short"]]
    t_air = np.zeros((p.n_steps, nh))
    if nh:
        free_a = _free_response(p)[1]
        bld = p.building
        t_air = bld.c * x[v["tm"][:-1]] + bld.d[:, 3] * 1e3 * p.hp_cop * x[v["hp"]] + free_a
    excess = float(x[v["s_lim"]].sum() * h)
    comfort_kh = float(x[v["s_lo"]].sum() * h)
    penalty = o.limit_penalty_per_kwh * excess + o.comfort_penalty_per_kh * comfort_kh
    return MilpResult(
        status, True, objective=float(res.fun), cost_eur=cost,
        co2_kg=float(h * p.co2_kg_per_kwh @ x[v["m"]]),
        penalty=float(penalty + o.ev_shortfall_penalty_per_kwh * short.sum()),
        solve_time_s=wall, n_vars=md.n, n_cons=md.m, n_binaries=n_bin,
        p_grid_kw=x[v["m"]] - x[v["x"]], p_bat_kw=x[v["bc"]] - x[v["bd"]], e_bat_kwh=x[v["be"]],
        p_ev_kw=x[v["vc"]] - x[v["vd"]], e_ev_kwh=x[v["ve"]], p_hp_kw=x[v["hp"]],
        t_air_degc=t_air, t_m_degc=x[v["tm"]], ev_shortfall_kwh=short, comfort_kh=comfort_kh,
        limit_excess_kwh=excess,
    )  # fmt: skip
