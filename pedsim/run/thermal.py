"""Asset builder: PV plants from weather (pvlib) and buildings with heat pumps.

:func:`add_thermal` starts the PV simulator when ``pv.source`` is ``pvlib`` (the SimBench
PV profiles are then not replayed) and the building simulator when the scenario has a
``buildings`` section, connects both to the grid and records:

=============  ===========================================  ==============================
group          series                                       labels
=============  ===========================================  ==============================
``pv``         ``p_kw``, ``q_kvar`` (generation negative)   ``pv``, ``pv_bus``
``buildings``  ``t_zone_degc``, ``q_heat_w``, ``q_dhw_w``,  ``buildings``
               ``cop``, ``q_unmet_w``
``heat_pumps`` ``p_kw``, ``q_kvar`` (load convention)       ``heat_pumps``, ``heat_pumps_bus``
``weather``    ``t_out_degc`` (scalar, with buildings)
=============  ===========================================  ==============================

Weather, sub-steps, assignment and sizing rules: :mod:`pedsim.run.thermal_inputs`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pedsim.run.thermal_inputs import (
    building_drivers,
    building_setup,
    fine_step_s,
    load_weather,
    pv_setup,
)

if TYPE_CHECKING:
    from pedsim.physics.weather import Weather
    from pedsim.run.world import BuildContext

BUILDING_SERIES = ("t_zone_degc", "q_heat_w", "q_dhw_w", "cop", "q_unmet_w")


def add_thermal(ctx: BuildContext) -> None:
    """Add PV (pvlib) and buildings with heat pumps to the world, as the scenario asks.

    Parameters
    ----------
    ctx : BuildContext
        The world being built.
    """
    scenario = ctx.scenario
    want_pv = scenario.pv.source == "pvlib"
    want_buildings = scenario.buildings is not None
    if not (want_pv or want_buildings):
        return
    dt_fine = fine_step_s(scenario.step)
    weather = load_weather(scenario, dt_fine)
    n_sub = scenario.step // dt_fine
    if want_pv:
        _add_pv(ctx, weather.weather, n_sub)
    if want_buildings:
        _add_buildings(ctx, weather.weather, weather.hourly, n_sub, dt_fine)


def _add_pv(ctx: BuildContext, weather: Weather, n_sub: int) -> None:
    setup = pv_setup(ctx.scenario, ctx.district.net)
    if setup is None:
        return
    sim = ctx.world.start("PV", sim_id="pv", **ctx.common)
    ent = sim.PV.create(
        1,
        weather=weather.to_pvlib(),
        site=weather.site,
        plants=setup.plants,
        bus_pos=ctx.bus_positions(setup.bus_ids),
        n_bus=ctx.n_bus,
        n_sub=n_sub,
        transposition_model=setup.transposition_model,
        albedo=setup.albedo,
    )[0]
    ctx.connect_to_grid(ent)
    ctx.writer.add_labels("pv", setup.names)
    ctx.writer.add_labels("pv_bus", [str(int(b)) for b in setup.bus_ids])
    for attr in ("p_kw", "q_kvar"):
        ctx.record(ent, "pv", attr, "pv", len(setup.names))
    # nominal PV power of the run (the runner's default counts the SimBench generators)
    ctx.writer.file.attrs["p_pv_nom_kw"] = float(setup.plants.p_kwp.sum())


def _add_buildings(
    ctx: BuildContext, weather: Weather, hourly: Weather, n_sub: int, dt_fine: int
) -> None:
    cfg = ctx.scenario.buildings
    if cfg is None:
        return
    setup = building_setup(cfg, ctx.district.net, hourly, ctx.rng)
    drivers = building_drivers(setup, weather, ctx.scenario.start_ts, dt_fine)
    sim = ctx.world.start("Buildings", sim_id="buildings", **ctx.start_kw)
    ent = sim.Buildings.create(
        1,
        zones=setup.zones,
        heat_pumps=setup.heat_pumps,
        bus_pos=ctx.bus_positions(setup.bus_ids),
        n_bus=ctx.n_bus,
        n_sub=n_sub,
        q_dhw_w=setup.q_dhw_w,
        cos_phi=cfg.cos_phi,
        **drivers,
    )[0]
    ctx.connect_to_grid(ent)
    n = len(setup.names)
    ctx.writer.add_labels("buildings", setup.names)
    ctx.writer.add_labels("heat_pumps", setup.names)
    ctx.writer.add_labels("heat_pumps_bus", [str(int(b)) for b in np.asarray(setup.bus_ids)])
    for attr in BUILDING_SERIES:
        ctx.record(ent, "buildings", attr, "buildings", n)
    for attr in ("p_kw", "q_kvar"):
        ctx.record(ent, "heat_pumps", attr, "heat_pumps", n)
    ctx.record(ent, "weather", "t_out_degc", None, None)
