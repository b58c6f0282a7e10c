"""Asset builder: the district controller, closing the loop through mosaik.

:func:`add_control` runs last. It starts the controller simulator
(:class:`~pedsim.sims.controller.ControllerSim`) when the scenario has a ``control``
section, feeds it every step with

* the grid's ``p_trafo_kw``, ``vm_pu``, ``loading_line_percent``, ``loading_trafo_percent``;
* the per-bus power ``p_bus_kw`` of the uncontrolled units (loads, PV) as ``p_net_bus_kw``;
* batteries' ``p_kw``, ``soc``; EVs' ``p_kw``, ``soc``, ``plugged``, ``e_required_kwh``;
  buildings' heat-pump ``p_kw``, ``t_zone_degc`` and ``t_mass_degc`` (end of step),

and connects its set-points back to the actuators with ``time_shifted=True``:
``p_bat_set_kw`` -> batteries, ``p_ev_set_kw`` -> EVs, ``p_hp_cap_kw`` and
``t_set_offset_k`` -> buildings.

Loop semantics (``control.loop: time_shifted``, the default): at mosaik time ``t`` the
controller sees the results of the step ``[t, t + dt)`` (powers as step means, states at
``t + dt``) and decides the set-points of ``[t + dt, t + 2 dt)``; mosaik delivers them to
the actuators at ``t + dt``. The first step runs on the ``initial_data`` (NaN set-points,
zero offsets: every unit on its local behaviour). There is no same-time cycle, so mosaik
needs no iteration.

With ``control.loop: same_time`` the grid, the actuators and the controller are loop members
in one mosaik group (:class:`~pedsim.run.world.BuildContext`), the set-points go over weak
connections, and each step runs in passes until the set-points settle (see
:mod:`pedsim.sims.controller`); the recorder, outside the group, records the last pass.

Static data (unit parameters, EV session plans, building models, weather and gains) is read
from the simulators the other builders started (all run in this process); prices and CO2
intensities from the scenario's ``control.signals``. Recorded group ``control``: the four
set-point arrays (labels ``storage``, ``ev``, ``heat_pumps``, ``buildings``) and the scalars
``solve_time_s``, ``control_status``, ``fallback``, ``limit_kept``, ``p_trafo_expected_kw``,
``price_eur_per_kwh``, ``feed_in_eur_per_kwh``, ``co2_kg_per_kwh``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from pedsim.control import ForecastSource, heat_pump_cop, make_strategy
from pedsim.control.signals import co2_intensity_series, price_series
from pedsim.scenario import resolve_input
from pedsim.sims.controller import SCALAR_OUTPUTS, ControlSetup

if TYPE_CHECKING:
    from pedsim.run.world import BuildContext
    from pedsim.scenario import Scenario

#: Scalar outputs of the controller, each recorded as ``control/<name>``.
CONTROL_SCALARS = SCALAR_OUTPUTS
_CONTROLLABLE_EV_MODES = (2, 3)  # pedsim.physics.ev.MODES: controlled, v2g
#: Hot-water COP relative to the space-heating COP (higher sink temperature), used to
#: estimate the heat-pump power for hot water, which the MILP does not plan.
DHW_COP_FACTOR = 0.75


def _local(ctx: BuildContext, sid: str) -> Any:
    """Return the simulator object started as ``sid`` (None: not started).

    Every pedsim simulator registers itself in ``ctx.instances`` when mosaik initialises
    it (all run in this process); its static set-up is read from there.
    """
    return ctx.instances.get(sid)


def signal_series(scenario: Scenario) -> dict[str, np.ndarray]:
    """Price, feed-in and CO2 intensity per run step from ``control.signals``.

    Parameters
    ----------
    scenario : Scenario
        A scenario with a ``control`` section.

    Returns
    -------
    dict
        ``price_eur_per_kwh``, ``feed_in_eur_per_kwh``, ``co2_kg_per_kwh``, each of shape
        ``(n_steps,)``.
    """
    sig = scenario.control.signals
    args = (scenario.start_ts, scenario.step, scenario.n_steps)
    path = None if sig.price_file is None else resolve_input(scenario.source_path, sig.price_file)
    price = price_series(
        *args, path=path, utc_offset_h=sig.utc_offset_h,
        adder_eur_per_kwh=sig.price_adder_eur_per_kwh,
    )  # fmt: skip
    co2: Any = sig.co2
    if co2.lower().endswith(".csv"):
        co2 = resolve_input(scenario.source_path, co2)
    return {
        "price_eur_per_kwh": price,
        "feed_in_eur_per_kwh": np.full(scenario.n_steps, sig.feed_in_eur_per_kwh),
        "co2_kg_per_kwh": co2_intensity_series(*args, source=co2, utc_offset_h=sig.utc_offset_h),
    }


def _step_means(fine: np.ndarray, n_sub: int) -> np.ndarray:
    return fine.reshape(-1, n_sub, *fine.shape[1:]).mean(axis=1)


def add_control(ctx: BuildContext) -> None:
    """Add the district controller to the world and close the loop (asset builder, last).

    Parameters
    ----------
    ctx : BuildContext
        The world being built; every other unit already exists.
    """
    scenario = ctx.scenario
    cfg = scenario.control
    if cfg is None:
        return
    n = scenario.n_steps
    storage, ev, bld = (_local(ctx, s) for s in ("storage", "ev", "buildings"))
    signals = signal_series(scenario)
    kw: dict[str, Any] = {"n_bus": ctx.n_bus, "signals": signals}
    if storage is not None:
        b = storage.battery
        kw["bat"] = {
            "bat_capacity_kwh": b.capacity_kwh, "bat_p_charge_max_kw": b.p_charge_max_kw,
            "bat_p_discharge_max_kw": b.p_discharge_max_kw, "bat_eta_charge": b.eta_charge,
            "bat_eta_discharge": b.eta_discharge, "bat_soc_min": b.soc_min,
            "bat_soc_max": b.soc_max, "bat_bus": storage.bus_pos,
        }  # fmt: skip
    if ev is not None:
        f = ev.fleet
        idx = np.flatnonzero(np.isin(f.mode, _CONTROLLABLE_EV_MODES))
        kw |= {"n_ev": f.n_ev, "ev_controlled": idx, "ev_sessions": (f._ev, f._arr, f._dep)}
        kw["ev"] = {
            "ev_battery_kwh": f.battery_kwh[idx], "ev_p_max_kw": f.charger_kw[idx],
            "ev_bidirectional": f.bidirectional[idx],
            "ev_p_discharge_max_kw": f.p_discharge_max_kw[idx],
            "ev_eta_charge": f.eta_charge[idx], "ev_eta_discharge": f.eta_discharge[idx],
            "ev_soc_min": f.soc_min[idx], "ev_soc_max": f.soc_max[idx],
            "ev_bus": ev.bus_pos[idx],
        }  # fmt: skip
    hp_series: dict[str, np.ndarray] = {}
    building = None
    if bld is not None:
        zones, params = bld.zones, bld.fleet.params
        low, high = scenario.buildings.comfort_band_degc
        margin = min(cfg.comfort_margin_k, high - low) if cfg.strategy == "optimal" else 0.0
        kw["hp"] = {
            "hp_bus": bld.bus_pos, "t_comfort_low_degc": np.full(zones.n, low + margin),
            "t_comfort_high_degc": np.full(zones.n, high),
            "t_set_heat_degc": np.broadcast_to(zones.t_set_heat_degc, (zones.n,)).astype(float),
        }  # fmt: skip
        t_out = _step_means(bld.t_out, bld.n_sub)
        doy = _step_means(bld.day_of_year, bld.n_sub)
        cop = np.maximum(heat_pump_cop(params, t_out, doy), 1.0)
        p_th = np.broadcast_to(np.asarray(params.p_th_max_kw, dtype=float), (zones.n,))
        p_el = np.broadcast_to(np.asarray(params.p_el_max_kw, dtype=float), (zones.n,))
        kw["hp_p_max_kw"] = np.minimum(p_el[None, :], p_th[None, :] / cop)
        kw["t_out_degc"] = np.asarray(t_out, dtype=float).reshape(n, -1).mean(axis=1)
        if cfg.strategy == "optimal":  # hot water is not in the plan: its power comes on top
            dhw_kw = _step_means(bld.q_dhw, bld.n_sub) / (1e3 * np.maximum(DHW_COP_FACTOR * cop, 1))
            kw["hp_cap_extra_kw"] = dhw_kw
        hp_series = {
            "t_out_degc": t_out, "hp_cop": cop, "phi_int_w": _step_means(bld.phi_int, bld.n_sub),
            "phi_sol_w": _step_means(bld.phi_sol, bld.n_sub),
        }  # fmt: skip
        building = zones
    if cfg.strategy == "optimal":
        options = cfg.milp_parameters()
        strategy = make_strategy("optimal", building=building, **options)
        ratio = max(int(options["plan_step_s"] or scenario.step) // scenario.step, 1)
        kw["forecast_steps"] = int(options["horizon_steps"]) * ratio
        base = _uncontrolled_kw(ctx, n) + kw.get("hp_cap_extra_kw", np.zeros((n, 0))).sum(axis=1)
        series = {"p_load_kw": base, **hp_series}
        series |= {k: v for k, v in signals.items()}
        kw["forecast"] = ForecastSource(
            scenario.step, series, mode=cfg.forecast or "perfect",
            overrides={"price_eur_per_kwh": "perfect", "feed_in_eur_per_kwh": "perfect",
                       "co2_kg_per_kwh": "perfect"},
        )  # fmt: skip
    else:
        strategy = make_strategy(cfg.strategy, **cfg.parameters)
        if cfg.forecast == "perfect" and cfg.strategy != "none":  # the next step, known
            series = {"p_load_kw": _uncontrolled_kw(ctx, n)} | dict(signals)
            kw["forecast"] = ForecastSource(scenario.step, series, mode="perfect")
            kw["forecast_steps"] = 1
    sources = {}
    for role, sim in (("storage", storage), ("ev", ev), ("buildings", bld)):
        if sim is not None:
            sources[role] = f"{sim.sid}.{sim.eid}"
    kw |= {"same_time": ctx.same_time, "max_passes": cfg.max_passes}
    setup = ControlSetup(strategy=strategy, sources=sources, **kw)
    sim = ctx.world.start("Controller", sim_id="controller", **ctx.start_kw)
    ent = sim.Controller.create(1, setup=setup)[0]
    _connect(ctx, ent, storage, ev, bld, setup)
    for attr in CONTROL_SCALARS:
        ctx.record(ent, "control", attr, None, None)


def _uncontrolled_kw(ctx: BuildContext, n: int) -> np.ndarray:
    """District power of loads and PV per step (+ drawn), as the profiles and PV give it."""
    total = np.zeros(n)
    for name in ("loads", "pv"):
        series = getattr(ctx.district, name)
        if len(series.names) and not (name == "pv" and ctx.scenario.pv.source == "pvlib"):
            total += np.asarray(series.p_kw, dtype=float)[:n].sum(axis=1)
    pv = _local(ctx, "pv")
    if pv is not None:
        total += pv.p[:n].sum(axis=1)
    return total


def _connect(
    ctx: BuildContext, ent: Any, storage: Any, ev: Any, bld: Any, setup: ControlSetup
) -> None:
    """Wire measurements into the controller and set-points (time-shifted) back out."""
    world = ctx.world
    world.connect(
        ctx.grid, ent, "p_trafo_kw", "vm_pu", "loading_line_percent", "loading_trafo_percent"
    )
    actuators = {s.sid for s in (storage, ev, bld) if s is not None}
    for source in ctx.grid_sources:
        if source.sid not in actuators:
            world.connect(source, ent, ("p_bus_kw", "p_net_bus_kw"))
    for source in ctx.grid_sources:
        if storage is not None and source.sid == storage.sid:
            world.connect(source, ent, "p_kw", "soc")
            _shifted(ctx, ent, source, "p_bat_set_kw", np.full(setup.n_bat, np.nan), "storage")
        elif ev is not None and source.sid == ev.sid:
            world.connect(source, ent, "p_kw", "soc", "plugged", "e_required_kwh")
            _shifted(ctx, ent, source, "p_ev_set_kw", np.full(setup.n_ev, np.nan), "ev")
        elif bld is not None and source.sid == bld.sid:
            world.connect(source, ent, "p_kw", "t_zone_degc", "t_mass_degc")
            _shifted(ctx, ent, source, "p_hp_cap_kw", np.full(setup.n_hp, np.nan), "heat_pumps")
            _shifted(ctx, ent, source, "t_set_offset_k", np.zeros(setup.n_hp), "buildings")


def _shifted(
    ctx: BuildContext, ent: Any, target: Any, attr: str, initial: np.ndarray, kind: str
) -> None:
    """Connect a set-point: time-shifted, or weak in a same-time loop.

    Time-shifted, ``initial`` acts in the first step; weak, the first pass of every step
    has no value (local behaviour).
    """
    if ctx.same_time:
        ctx.world.connect(ent, target, attr, weak=True)
    else:
        ctx.world.connect(ent, target, attr, time_shifted=True, initial_data={attr: initial})
    ctx.record(ent, "control", attr, kind, initial.size)


__all__ = ["CONTROL_SCALARS", "add_control", "signal_series"]
