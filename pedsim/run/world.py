"""Build the mosaik World of a scenario: start simulators, create entities, connect.

The grid, the SimBench load profiles and the recorder are always there; each kind of
asset (buildings with heat pumps, PV, EVs, batteries, controller) is added by a builder
function ``add_<kind>(ctx: BuildContext)`` in its own module under :mod:`pedsim.run`,
which starts its simulator, connects it to the grid and registers what is recorded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import mosaik
import numpy as np

from pedsim.gridmodel import District
from pedsim.results import ResultsWriter
from pedsim.run.control import add_control
from pedsim.run.flex import add_flex
from pedsim.run.thermal import add_thermal
from pedsim.scenario import Scenario
from pedsim.sims.base import RECORD_ATTR
from pedsim.units import quantity

SIM_CONFIG: dict[str, dict[str, str]] = {
    "Grid": {"python": "pedsim.sims.grid:GridSim"},
    "Profiles": {"python": "pedsim.sims.profiles:ProfileSim"},
    "Recorder": {"python": "pedsim.sims.recorder:RecorderSim"},
    "EV": {"python": "pedsim.sims.ev:EVSim"},
    "Storage": {"python": "pedsim.sims.storage:StorageSim"},
    "PV": {"python": "pedsim.sims.pv:PVSim"},
    "Buildings": {"python": "pedsim.sims.building:BuildingSim"},
    "Controller": {"python": "pedsim.sims.controller:ControllerSim"},
}

#: Asset builders, called in this order once grid, loads and recorder exist.
ASSET_BUILDERS: tuple[Callable[[BuildContext], None], ...] = (
    add_thermal,
    add_flex,
    add_control,  # last: reads every other unit
)

GRID_SERIES: dict[str, str | None] = {
    "vm_pu": "bus",
    "va_degree": "bus",
    "loading_line_percent": "line",
    "pl_line_kw": "line",
    "loading_trafo_percent": "trafo",
    "pl_trafo_kw": "trafo",
    "p_trafo_kw": "trafo",
    "q_trafo_kvar": "trafo",
    "p_ext_grid_kw": "ext_grid",
    "p_loss_kw": None,
}


@dataclass
class BuildContext:
    """What an asset builder needs to add its simulator to the world.

    Attributes
    ----------
    scenario : Scenario
        The validated scenario.
    district : District
        Grid and SimBench profiles for the run period.
    world : mosaik.World
        The world being built.
    writer : ResultsWriter
        The open results file.
    grid : mosaik entity
        The grid entity; connect per-bus ``p_bus_kw``/``q_bus_kvar`` to its
        ``p_kw``/``q_kvar``.
    recorder : mosaik entity
        The recorder entity.
    common : dict
        Keyword arguments every pedsim simulator's ``init`` takes (step, start, timings).
    bus_index : numpy.ndarray
        pandapower bus ids in the grid simulator's order.
    rng : numpy.random.Generator
        Seeded from the scenario; builders draw from it in a fixed order.
    timings : dict
        Simulator id -> wall seconds stepping.
    grid_sources : list
        Entities connected to the grid so far (by :meth:`connect_to_grid`), each with
        per-bus ``p_bus_kw``/``q_bus_kvar`` outputs.
    instances : dict
        Simulator id -> simulator object of every pedsim simulator started so far (all run
        in this process), for builders that need another simulator's static set-up.
    recorded_sources : set
        Full ids of the entities already connected to the recorder.
    same_time : bool
        The control loop is closed within the time step (``control.loop: same_time``): the
        grid, the actuators and the controller are started in one mosaik group as loop
        members (``start_kw``) and the controller's set-points go over weak connections.
    """

    scenario: Scenario
    district: District
    world: Any
    writer: ResultsWriter
    grid: Any
    recorder: Any
    common: dict[str, Any]
    bus_index: np.ndarray
    rng: np.random.Generator
    timings: dict[str, float] = field(default_factory=dict)
    grid_sources: list[Any] = field(default_factory=list)
    instances: dict[str, Any] = field(default_factory=dict)
    recorded_sources: set[str] = field(default_factory=set)
    same_time: bool = False

    @property
    def start_kw(self) -> dict[str, Any]:
        """Keyword arguments of ``world.start`` for the grid, the actuators and the controller."""
        return self.common | ({"loop_member": True} if self.same_time else {})

    @property
    def n_bus(self) -> int:
        """Number of grid buses."""
        return len(self.bus_index)

    def bus_positions(self, bus_ids: Any) -> np.ndarray:
        """Positions in the grid's bus order of pandapower bus ids.

        Raises
        ------
        ValueError
            For an id that is not a bus of the grid.
        """
        return _positions(self.bus_index, bus_ids)

    def record(
        self, entity: Any, group: str, attr: str, kind: str | None, width: int | None
    ) -> None:
        """Record ``entity.attr`` as ``/series/<group>/<attr>`` (columns from labels ``kind``).

        ``kind`` None records one scalar per step. Every simulator reaches the recorder
        through one connection, its :data:`~pedsim.sims.base.RECORD_ATTR` (all its
        outputs of a step), however many of its series are recorded.
        """
        q = quantity(attr)
        self.writer.add_series(
            (entity.full_id, attr),
            f"{group}/{attr}",
            unit=q.unit,
            description=q.description,
            sign=q.sign,
            width=width if kind is not None else None,
            columns=f"labels/{kind}" if kind is not None else "",
        )
        if entity.full_id not in self.recorded_sources:
            self.recorded_sources.add(entity.full_id)
            self.world.connect(entity, self.recorder, RECORD_ATTR)

    def connect_to_grid(self, entity: Any) -> None:
        """Feed ``entity``'s per-bus ``p_bus_kw``/``q_bus_kvar`` into the grid."""
        self.world.connect(entity, self.grid, ("p_bus_kw", "p_kw"), ("q_bus_kvar", "q_kvar"))
        self.grid_sources.append(entity)


@dataclass
class BuiltWorld:
    """A ready-to-run world.

    Attributes
    ----------
    world : mosaik.World
        The co-simulation.
    until : int
        End time in seconds (exclusive).
    timings : dict
        Simulator id -> wall seconds spent stepping (filled during the run).
    """

    world: Any
    until: int
    timings: dict[str, float]


def build_world(
    scenario: Scenario,
    district: District,
    writer: ResultsWriter,
    sim_config: dict[str, dict[str, str]] | None = None,
    stop: threading.Event | None = None,
) -> BuiltWorld:
    """Create the mosaik World for ``scenario``.

    Parameters
    ----------
    scenario : Scenario
        The validated scenario.
    district : District
        Grid and profiles loaded for the run period.
    writer : ResultsWriter
        Open results file; the recorder appends every step to it.
    sim_config : dict, optional
        mosaik simulator configuration replacing :data:`SIM_CONFIG` (same simulator
        names), e.g. to measure the co-simulation floor with null simulators.
    stop : threading.Event, optional
        When set, the recorder ends the run with ``KeyboardInterrupt`` after the current
        step is recorded (how Ctrl-C stops a run cleanly).

    Returns
    -------
    BuiltWorld
        World, end time and the timings dictionary.
    """
    timings: dict[str, float] = {}
    instances: dict[str, Any] = {}
    common = {
        "step_s": scenario.step,
        "start": scenario.start_ts.isoformat(),
        "timings": timings,
        "instances": instances,
        "record_bundle": True,
    }
    cfg = scenario.control
    same_time = cfg is not None and cfg.loop == "same_time"
    world = mosaik.World(
        sim_config or SIM_CONFIG,
        skip_greetings=True,
        time_resolution=1.0,
        configure_logging=False,
        # No output cache: every connection is pushed to its destination, so mosaik
        # does not prune a cache of every simulator's outputs after every step.
        cache=False,
        max_loop_iterations=(cfg.max_passes + 1) if same_time else 100,
    )
    net = district.net
    bus_index = net.bus.index.to_numpy()  # the grid simulator's bus order
    recorder = world.start("Recorder", sim_id="recorder", writer=writer, stop=stop, **common)
    # Loads and PV profiles and the recorder stay outside the group of a same-time loop:
    # the recorder then receives the values of the last pass of every step.
    profiles = []
    for name, series in (("loads", district.loads), ("pv", district.pv)):
        if len(series.names) == 0 or (name == "pv" and scenario.pv.source == "pvlib"):
            continue  # with pv.source pvlib, PV comes from pedsim.run.thermal
        sim = world.start("Profiles", sim_id=name, **common)
        ent = sim.Profile.create(
            1,
            p_kw=series.p_kw,
            q_kvar=series.q_kvar,
            bus_pos=_positions(bus_index, series.bus_ids),
            n_bus=len(bus_index),
        )[0]
        profiles.append((name, series, ent))
    with world.group() if same_time else nullcontext():
        loop_kw = {"loop_member": True} if same_time else {}
        grid = world.start("Grid", sim_id="grid", net=net, **common, **loop_kw).Grid.create(1)[0]
        ctx = BuildContext(
            scenario=scenario,
            district=district,
            world=world,
            writer=writer,
            grid=grid,
            recorder=recorder.Recorder.create(1)[0],
            common=common,
            bus_index=bus_index,
            rng=np.random.default_rng(scenario.seed),
            timings=timings,
            instances=instances,
            same_time=same_time,
        )
        _add_grid_and_profiles(ctx, profiles)
        for builder in ASSET_BUILDERS:
            builder(ctx)
    return BuiltWorld(world=world, until=scenario.n_steps * scenario.step, timings=timings)


def _add_grid_and_profiles(ctx: BuildContext, profiles: list[tuple[str, Any, Any]]) -> None:
    """Record the grid's series; connect the load and PV profiles to the grid and record them."""
    net, writer = ctx.district.net, ctx.writer
    bus_index = ctx.bus_index
    writer.add_labels("bus", _names(net.bus, bus_index))
    widths = {"bus": len(bus_index)}
    for kind in ("line", "trafo", "ext_grid"):
        writer.add_labels(kind, _names(net[kind], net[kind].index))
        widths[kind] = len(net[kind])
    for attr, kind in GRID_SERIES.items():
        ctx.record(ctx.grid, "grid", attr, kind, widths.get(kind or ""))
    for name, series, ent in profiles:
        ctx.connect_to_grid(ent)
        writer.add_labels(name, series.names)
        writer.add_labels(f"{name}_bus", [str(int(b)) for b in series.bus_ids])
        for attr in ("p_kw", "q_kvar"):
            ctx.record(ent, name, attr, name, len(series.names))


def _positions(bus_index: np.ndarray, bus_ids: Any) -> np.ndarray:
    """Positions in ``bus_index`` of pandapower bus ids (ValueError for an unknown one)."""
    lookup = {int(b): i for i, b in enumerate(bus_index)}
    try:
        return np.array([lookup[int(b)] for b in np.atleast_1d(bus_ids)], dtype=np.int64)
    except KeyError as exc:
        raise ValueError(f"bus {exc.args[0]} is not a bus of the grid") from None


def _names(table: Any, index: Any) -> list[str]:
    names = table.name.reindex(index)
    return [n if isinstance(n, str) and n else f"{i}" for i, n in zip(index, names, strict=True)]
