"""pedsim against the public mosaik-pandapower-2 adapter on the same grid and profiles.

``python -m benchmarks.adapter [STEPS] [--reps N]`` (default 300 steps, 2 repetitions);
needs the ``bench`` extra (``pip install -e '.[bench]'``: ``mosaik-pandapower-2``).

Side by side, alternately, each run in its own interpreter:

* **pedsim**: ``scenarios/reference.yaml`` (SimBench 1-LV-urban6--0-sw, its 111 loads and
  5 PV plants with their 2016 SimBench profiles) limited to ``STEPS`` steps: grid, loads,
  PV and the recorder (every bus voltage, line loading, transformer and slack power);
* **adapter**: a mosaik world with the adapter as its authors document it: ``world.start(
  "Pandapower", step_size=900)``, ``Grid(simbench=code)`` (the adapter loads the SimBench
  net and applies its absolute profiles to the loads and generators itself each step, then
  calls ``pandapower.runpp``) and a collector that receives, like pedsim's recorder, the
  voltage ``Vm[pu]`` of every ``Bus`` entity, the ``loading[%]`` of every ``Line`` and the
  ``P[MW]`` of the ``ExternalGrid`` through one mosaik connection per entity (the adapter's
  model: one entity per grid element);
* **adapter, grid only**: the same world where the collector reads only the slack power;
* ``pandapower.runpp`` per step without co-simulation and pedsim's kernel alone, from
  :func:`benchmarks.district.child_runpp` on the same grid and profiles.

Per-step times are extrapolated to the year (35,136 steps); the output says so. The
adapter's bus voltages are checked against pedsim's recorded ones (same steps).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import time as time_module
from typing import Any, ClassVar

import mosaik_api_v3
import numpy as np

from benchmarks.district import YEAR_STEPS, _maxrss_mib
from benchmarks.district import _child as _district_child

REFERENCE = "scenarios/reference.yaml"
CODE = "1-LV-urban6--0-sw"
OUT = "benchmarks/out"


class Collector(mosaik_api_v3.Simulator):
    """Time-based sink: stores every input value of every step in a list per attribute."""

    last: ClassVar[Collector | None] = None
    META: ClassVar[dict[str, Any]] = {
        "api_version": "3.0",
        "type": "time-based",
        "models": {"Collector": {"public": True, "params": [], "attrs": [], "any_inputs": True}},
    }

    def __init__(self) -> None:
        super().__init__(self.META)
        Collector.last = self  # the benchmark reads the data in the same process
        self.step_size = 900
        self.data: dict[str, list[dict[str, Any]]] = {}
        self.clock: list[float] = []

    def init(self, sid: str, time_resolution: float = 1.0, step_size: int = 900) -> dict:
        """Initialise (mosaik API)."""
        self.step_size = step_size
        return self.meta

    def create(self, num: int, model: str, **params: Any) -> list[dict]:
        """Create the single collector entity."""
        return [{"eid": "collector", "type": model}]

    def step(self, time: int, inputs: dict, max_advance: int) -> int:
        """Keep the inputs of this step and the wall-clock time."""
        self.clock.append(time_module.perf_counter())
        for attr, values in inputs.get("collector", {}).items():
            self.data.setdefault(attr, []).append(dict(values))
        return time + self.step_size

    def get_data(self, outputs: dict) -> dict:
        """No outputs."""
        return {}


def child_adapter(n_steps: str, collect: str) -> dict[str, Any]:
    """One run of the adapter's world (``collect``: ``yes`` with the collector)."""
    import mosaik

    config = {"Pandapower": {"python": "mosaik_components.pandapower:Simulator"}}
    config["Collector"] = {"python": "benchmarks.adapter:Collector"}
    from loguru import logger

    logger.remove()  # the adapter logs through loguru; keep stdout for the JSON line
    t0 = time.perf_counter()
    world = mosaik.World(config, skip_greetings=True, configure_logging=False)
    pp_sim = world.start("Pandapower", step_size=900)
    grid = pp_sim.Grid(simbench=CODE)
    children = {"Bus": [], "Line": [], "ExternalGrid": []}
    for ent in grid.children:
        if ent.type in children:
            children[ent.type].append(ent)
    col = world.start("Collector", step_size=900).Collector()  # also the clock
    for ent in children["ExternalGrid"]:  # read after the grid's step: the clock is right
        world.connect(ent, col, "P[MW]")
    if collect == "yes":
        for ent in children["Bus"]:
            world.connect(ent, col, "Vm[pu]")
        for ent in children["Line"]:
            world.connect(ent, col, "loading[%]")
    setup = time.perf_counter() - t0
    n = int(n_steps)
    t0 = time.perf_counter()
    world.run(until=n * 900, print_progress=False)
    wall = time.perf_counter() - t0
    from benchmarks.adapter import Collector as Imported  # mosaik's import, not __main__

    assert Imported.last is not None
    clock = Imported.last.clock  # the collector steps after the grid in every step
    out: dict[str, Any] = {
        "n_steps": n,
        "setup_s": setup,
        "wall_s": wall,
        "first_s": clock[0] - t0,
        "steady_s": (clock[-1] - clock[0]) / (n - 1),
        "maxrss_mib": _maxrss_mib(),
        "entities": {k: len(v) for k, v in children.items()},
    }
    if collect == "yes":
        rows = Imported.last.data.get("Vm[pu]", [])
        order = [f"{e.sid}.{e.eid}" for e in children["Bus"]]
        vm = np.array([[row[k] for k in order] for row in rows], dtype=float)
        np.save(f"{OUT}/adapter-vm.npy", vm)
        out["bus_ids"] = [int(e.eid.split("-")[1]) for e in children["Bus"]]
    return out


def child_pedsim(n_steps: str) -> dict[str, Any]:
    """One run of ``scenarios/reference.yaml`` limited to ``n_steps`` steps."""
    import h5py

    from pedsim.run.runner import run_scenario
    from pedsim.scenario import load_scenario
    from pedsim.scenario.load import limit_period

    s = load_scenario(REFERENCE)
    s = limit_period(s, f"{int(n_steps) * s.step}s")
    path = f"{OUT}/adapter-pedsim.h5"
    t0 = time.perf_counter()
    summary = run_scenario(s, out=path, progress=False)
    total = time.perf_counter() - t0
    with h5py.File(path, "r") as f:
        np.save(f"{OUT}/pedsim-vm.npy", f["series/grid/vm_pu"][...])
    return {
        "n_steps": summary.n_steps,
        "setup_s": total - summary.wall_s,
        "wall_s": summary.wall_s,
        "maxrss_mib": _maxrss_mib(),
    }


def _child(*args: str) -> dict[str, Any]:
    return _district_child(*args, module="benchmarks.adapter")


def main(n_steps: int = 300, reps: int = 2) -> None:
    """Print the table: pedsim, the adapter with and without a consumer, runpp alone.

    The adapter's ms/step is the steady state (steps 2..n, from the collector's clock);
    its first step, which includes pandapower's numba compilation, is shown apart.
    """
    from benchmarks import district

    try:
        import mosaik_components.pandapower  # noqa: F401
    except ImportError:
        print("(e) mosaik-pandapower-2 is not installed: pip install -e '.[bench]'; skipped")
        return
    print(f"load average before: {os.getloadavg()}")
    runs: dict[str, list[dict[str, Any]]] = {"pedsim": [], "adapter": [], "adapter-grid": []}
    for _ in range(reps):  # alternately
        runs["pedsim"].append(_child("pedsim", str(n_steps)))
        runs["adapter"].append(_child("adapter", str(n_steps), "yes"))
        runs["adapter-grid"].append(_child("adapter", str(n_steps), "no"))
    pp_ = district._child("runpp", REFERENCE, str(n_steps))
    vm_a = np.load(f"{OUT}/adapter-vm.npy")
    vm_p = np.load(f"{OUT}/pedsim-vm.npy")
    ids = runs["adapter"][0]["bus_ids"]
    dvm = float(np.nanmax(np.abs(vm_a - vm_p[: len(vm_a)][:, _positions(ids)])))
    ent = runs["adapter"][0]["entities"]
    ped = statistics.median(r["wall_s"] / r["n_steps"] for r in runs["pedsim"])
    print(
        f"\n(e) {CODE} with its SimBench load + PV profiles, {n_steps} steps from 2016-01-01, "
        f"{reps} runs each alternately (median); year est. = set-up + step 1 + ms/step x "
        f"{YEAR_STEPS - 1} (extrapolated, not measured)"
    )
    print(f"  {'run':<34} {'set-up s':>8} {'step 1 s':>7} {'ms/step':>8} {'year est. s':>11} "
          f"{'/ pedsim':>8} {'maxrss MiB':>10}")  # fmt: skip
    labels = {
        "pedsim": "pedsim reference.yaml (mosaik)",
        "adapter": "mosaik-pandapower-2 + collector",
        "adapter-grid": "mosaik-pandapower-2, grid only",
    }
    for key, rs in runs.items():
        per = statistics.median(r.get("steady_s", r["wall_s"] / r["n_steps"]) for r in rs)
        first = statistics.median(r.get("first_s", per) for r in rs)
        setup = statistics.median(r["setup_s"] for r in rs)
        rss = max(r["maxrss_mib"] for r in rs)
        year = setup + first + per * (YEAR_STEPS - 1)
        step1 = f"{first:.2f}" if "first_s" in rs[0] else "-"
        print(f"  {labels[key]:<34} {setup:>8.1f} {step1:>7} {1e3 * per:>8.3f} "
              f"{year:>11.0f} {per / ped:>7.1f}x {rss:>10.0f}")  # fmt: skip
    for label, per in (("runpp per step, no co-simulation", pp_["runpp_s"]),
                       ("pedsim kernel alone", pp_["kernel_s"])):  # fmt: skip
        print(f"  {label:<34} {'':>8} {'':>7} {1e3 * per:>8.3f} {per * YEAR_STEPS:>11.0f} "
              f"{per / ped:>7.2f}x {'':>10}")  # fmt: skip
    print(
        f"  collector inputs: {ent['Bus']} Bus Vm[pu], {ent['Line']} Line loading[%], "
        f"{ent['ExternalGrid']} ExternalGrid P[MW] (one connection each; grid only: the "
        "ExternalGrid P[MW] alone, which also clocks the steps); "
        f"max |Δvm| adapter vs pedsim {dvm:.1e} pu over {len(vm_a)} steps"
    )
    print(f"load average after: {os.getloadavg()}")


def _positions(bus_ids: list[int]) -> np.ndarray:
    """Columns of pedsim's ``vm_pu`` (net bus order) for the adapter's bus ids."""
    import simbench

    index = simbench.get_simbench_net(CODE).bus.index
    return np.array([index.get_loc(b) for b in bus_ids])


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, *rest = sys.argv[2:]
        fn = {"adapter": child_adapter, "pedsim": child_pedsim}[kind]
        print(json.dumps(fn(*rest)))
    else:
        import argparse

        ap = argparse.ArgumentParser(prog="python -m benchmarks.adapter")
        ap.add_argument("steps", nargs="?", type=int, default=300)
        ap.add_argument("--reps", type=int, default=2)
        a = ap.parse_args()
        main(a.steps, a.reps)
