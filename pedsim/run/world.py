"""Build the mosaik World of a scenario: start simulators, create entities, connect."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import mosaik
import numpy as np

from pedsim.gridmodel import District
from pedsim.results import ResultsWriter
from pedsim.scenario import Scenario
from pedsim.units import quantity

SIM_CONFIG: dict[str, dict[str, str]] = {
    "Grid": {"python": "pedsim.sims.grid:GridSim"},
    "Profiles": {"python": "pedsim.sims.profiles:ProfileSim"},
    "Recorder": {"python": "pedsim.sims.recorder:RecorderSim"},
}


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


def build_world(scenario: Scenario, district: District, writer: ResultsWriter) -> BuiltWorld:
    """Create the mosaik World for ``scenario``.

    Parameters
    ----------
    scenario : Scenario
        The validated scenario.
    district : District
        Grid and profiles loaded for the run period.
    writer : ResultsWriter
        Open results file; the recorder appends every step to it.

    Returns
    -------
    BuiltWorld
        World, end time and the timings dictionary.
    """
    timings: dict[str, float] = {}
    common = {"step_s": scenario.step, "start": scenario.start_ts.isoformat(), "timings": timings}
    world = mosaik.World(
        SIM_CONFIG, skip_greetings=True, time_resolution=1.0, configure_logging=False
    )

    grid_sim = world.start("Grid", sim_id="grid", net=district.net, **common)
    grid = grid_sim.Grid.create(1)[0]
    bus_index = district.net.bus.index.to_numpy()  # the grid simulator's bus order

    recorder = world.start("Recorder", sim_id="recorder", writer=writer, **common)
    rec = recorder.Recorder.create(1)[0]

    net = district.net
    writer.add_labels("bus", _names(net.bus, bus_index))
    writer.add_labels("line", _names(net.line, net.line.index))
    writer.add_labels("trafo", _names(net.trafo, net.trafo.index))
    writer.add_labels("ext_grid", _names(net.ext_grid, net.ext_grid.index))
    kinds = {
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
    widths = {"bus": len(bus_index), "line": len(net.line), "trafo": len(net.trafo)}
    widths["ext_grid"] = len(net.ext_grid)
    for attr, kind in kinds.items():
        _record(writer, grid.full_id, "grid", attr, kind, widths.get(kind or ""))
        world.connect(grid, rec, attr)

    bus_pos = {int(b): i for i, b in enumerate(bus_index)}
    for name, series in (("loads", district.loads), ("pv", district.pv)):
        if len(series.names) == 0:
            continue
        sim = world.start("Profiles", sim_id=name, **common)
        ent = sim.Profile.create(
            1,
            p_kw=series.p_kw,
            q_kvar=series.q_kvar,
            bus_pos=np.array([bus_pos[int(b)] for b in series.bus_ids], dtype=np.int64),
            n_bus=len(bus_index),
        )[0]
        world.connect(ent, grid, ("p_bus_kw", "p_kw"), ("q_bus_kvar", "q_kvar"))
        writer.add_labels(name, series.names)
        writer.add_labels(f"{name}_bus", [str(int(b)) for b in series.bus_ids])
        for attr in ("p_kw", "q_kvar"):
            _record(writer, ent.full_id, name, attr, name, len(series.names))
            world.connect(ent, rec, attr)
    return BuiltWorld(world=world, until=scenario.n_steps * scenario.step, timings=timings)


def _names(table: Any, index: Any) -> list[str]:
    names = table.name.reindex(index)
    return [
        f"{i}" if not isinstance(n, str) or not n else n for i, n in zip(index, names, strict=True)
    ]


def _record(
    writer: ResultsWriter, src: str, group: str, attr: str, kind: str | None, width: int | None
) -> None:
    q = quantity(attr)
    writer.add_series(
        (src, attr),
        f"{group}/{attr}",
        unit=q.unit,
        description=q.description,
        sign=q.sign,
        width=width if kind is not None else None,
        columns=f"labels/{kind}" if kind is not None else "",
    )
