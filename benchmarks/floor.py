"""The co-simulation floor: the same world with null simulators.

Every pedsim simulator is replaced by a subclass that keeps its META, entities,
connections and output arrays but computes only its first step and then returns the
same outputs; the null recorder stores nothing.  The difference between a real run and
this run is the cost of the models themselves; the null run is mosaik's own cost for the
topology.
"""

from __future__ import annotations

import importlib
import time
from typing import Any

from pedsim.gridmodel import load_district
from pedsim.results import ResultsWriter
from pedsim.run.runner import _shutdown
from pedsim.run.world import SIM_CONFIG, build_world
from pedsim.scenario import Scenario


def _null_class(cls: type) -> type:
    def advance(self: Any, time_s: int, inputs: Any) -> None:
        if not self.outputs:
            cls.advance(self, time_s, inputs)
        if self.MODEL == "Recorder":
            self.outputs = {"_": None}

    return type(f"Null{cls.__name__}", (cls,), {"advance": advance, "__module__": __name__})


def null_sim_config() -> dict[str, dict[str, str]]:
    """Return a mosaik sim config whose simulators are null versions of pedsim's."""
    config = {}
    for name, spec in SIM_CONFIG.items():
        module, cls_name = spec["python"].split(":")
        cls = getattr(importlib.import_module(module), cls_name)
        null = _null_class(cls)
        globals()[null.__name__] = null  # mosaik imports simulators by "module:Class"
        config[name] = {"python": f"{__name__}:{null.__name__}"}
    return config


def time_world(scenario: Scenario, out: str, *, null: bool) -> float:
    """Build and run the scenario's world; return the stepping wall time in seconds."""
    from pathlib import Path

    district = load_district(scenario)
    meta = {
        "scenario_name": scenario.name,
        "seed": scenario.seed,
        "start": scenario.start_ts.isoformat(),
        "step_s": scenario.step,
        "n_steps_planned": scenario.n_steps,
    }
    writer = ResultsWriter(Path(out), meta, scenario.source_text, "", chunk_steps=672)
    built = build_world(scenario, district, writer, null_sim_config() if null else None)
    t0 = time.perf_counter()
    try:
        built.world.run(
            until=built.until,
            print_progress=False,
            lazy_stepping=scenario.simulation.lazy_stepping,
        )
    finally:
        _shutdown(built)
        writer.close("complete")
    return time.perf_counter() - t0
