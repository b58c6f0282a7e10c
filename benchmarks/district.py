"""Issue 7 benchmarks of the reference district (scenarios/bench-district-year.yaml).

``python -m benchmarks.district [UNTIL] [--quick] [--skip-scaling]``; every measurement
runs in its own subprocess (clean peak memory, no shared caches), and what is compared is
measured alternately in the same invocation, so the ratios hold on a loaded machine.
``--quick`` (a few minutes): (a) and (c) over 7 days, once each, extrapolated to the
year; (d) over 1 and 7 days; (f) in its quick mode (1 and 7 days, month and year
extrapolated). The district is the one of issue 7: 1-LV-urban6--0-sw, 102 buildings with
heat pumps, its PV, 30 EVs, a community battery, home batteries and the self_consumption
controller.

(a) the whole run: wall time with set-up, stepping time per step, share per simulator,
    peak resident memory (``ru_maxrss``), extrapolated to a year when ``UNTIL`` is shorter;
(b) the same grid and profiles stepped with ``pandapower.runpp`` per step (a few hundred
    steps, extrapolated to the year) beside pedsim's kernel on the same steps;
(c) the ratio to the null-simulator floor (:mod:`benchmarks.floor`) of the same world;
(d) scaling: the building simulator alone with 10, 100 and 1000 buildings (copies of the
    district's buildings) over 1 day, 1 week and 4 weeks;
(f) scaling of whole worlds, 10, 100 and 1000 buildings x 1 day, 1 month, 1 year
    (:mod:`benchmarks.scaling`).
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import fields, replace
from typing import Any

import numpy as np

SCENARIO = "scenarios/bench-district-year.yaml"
YEAR_STEPS = 35136
OUT = "benchmarks/out"


def _maxrss_mib() -> float:
    """Peak resident memory of this process in MiB (``VmHWM``).

    ``ru_maxrss`` is not used where ``/proc`` exists: Linux carries it over ``exec`` from
    the parent, so a child started by a large benchmark process would report at least
    the parent's size.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(*args: str, module: str = "benchmarks.district") -> dict[str, Any]:
    """Run one measurement (``python -m module --child ARGS``) in a fresh interpreter.

    Returns the JSON object printed on the child's last line of output.
    """
    path = os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), os.getcwd()]))
    env = dict(os.environ, PYTHONPATH=path)
    cmd = [sys.executable, "-m", module, "--child", *args]
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env)
    if done.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _scenario(path: str, until: str | None, lazy: bool | None = None) -> Any:
    from pedsim.scenario import load_scenario
    from pedsim.scenario.load import limit_period

    s = load_scenario(path)
    if until:
        s = limit_period(s, until)
    if lazy is not None:
        sim = s.simulation.model_copy(update={"lazy_stepping": lazy})
        s = s.model_copy(update={"simulation": sim})
    return s


def child_run(path: str, until: str, lazy: str) -> dict[str, Any]:
    """(a) One whole run."""
    from pedsim.run.runner import run_scenario

    s = _scenario(path, until or None, lazy == "lazy")
    t0 = time.perf_counter()
    summary = run_scenario(s, out=f"{OUT}/{s.name}.h5", progress=False)
    total = time.perf_counter() - t0
    return {
        "n_steps": summary.n_steps,
        "wall_s": summary.wall_s,
        "total_s": total,
        "timings": summary.timings,
        "maxrss_mib": _maxrss_mib(),
    }


def child_floor(path: str, until: str, null: str) -> dict[str, Any]:
    """(c) One run of the floor benchmark's world, real or null simulators."""
    from benchmarks import floor

    s = _scenario(path, until or None)
    wall = floor.time_world(s, f"{OUT}/floor-{null}.h5", null=null == "null")
    return {"n_steps": s.n_steps, "wall_s": wall}


def child_runpp(path: str, n_steps: str) -> dict[str, Any]:
    """(b) The district grid with its SimBench load and PV profiles, runpp per step."""
    import pandapower as pp

    from pedsim.gridmodel import load_district
    from pedsim.physics.powerflow import FastPowerFlow

    s = _scenario(path, None)
    district = load_district(s)
    net = district.net
    n = int(n_steps)
    bus = net.bus.index.to_numpy()
    pos = {int(b): i for i, b in enumerate(bus)}
    loads, pv = district.loads, district.pv
    lp = np.array([pos[int(b)] for b in loads.bus_ids])
    sp = np.array([pos[int(b)] for b in pv.bus_ids], dtype=np.int64)
    lidx, sidx = loads.element_ids, pv.element_ids
    pf = FastPowerFlow(net)

    def inj(k: int) -> tuple[np.ndarray, np.ndarray]:  # load convention, kW
        p = np.bincount(lp, loads.p_kw[k], len(bus)) + np.bincount(sp, pv.p_kw[k], len(bus))
        q = np.bincount(lp, loads.q_kvar[k], len(bus)) + np.bincount(sp, pv.q_kvar[k], len(bus))
        return p, q

    pf.solve(*inj(0))
    t0 = time.perf_counter()
    for k in range(n):
        pf.solve(*inj(k))
    fast = (time.perf_counter() - t0) / n
    pp.runpp(net)  # warm-up: pandapower's numba compilation is not a step's cost
    t_pp, dvm = 0.0, 0.0
    for k in range(n):
        net.load.loc[lidx, "p_mw"] = loads.p_kw[k] / 1e3
        net.load.loc[lidx, "q_mvar"] = loads.q_kvar[k] / 1e3
        net.sgen.loc[sidx, "p_mw"] = -pv.p_kw[k] / 1e3
        net.sgen.loc[sidx, "q_mvar"] = -pv.q_kvar[k] / 1e3
        t0 = time.perf_counter()
        pp.runpp(net)
        t_pp += time.perf_counter() - t0
        vm = pf.solve(*inj(k)).vm_pu
        dvm = max(dvm, float(np.nanmax(np.abs(vm - net.res_bus.vm_pu.to_numpy()))))
    return {"dvm": dvm, "n": n, "kernel_s": fast, "runpp_s": t_pp / n, "maxrss_mib": _maxrss_mib()}


def _tile(obj: Any, idx: np.ndarray) -> Any:
    """Copies of units ``idx`` of a per-unit parameter dataclass."""
    changes = {}
    for f in fields(obj):
        v = getattr(obj, f.name)
        if isinstance(v, np.ndarray) and v.ndim == 1:
            changes[f.name] = v[idx]
        elif f.name == "names":
            changes[f.name] = tuple(f"b{i}" for i in range(len(idx)))
    return replace(obj, **changes)


def child_buildings(n_buildings: str, until: str) -> dict[str, Any]:
    """(d) The building simulator alone, N copies of the district's buildings."""
    from pedsim.gridmodel import load_district
    from pedsim.run.thermal_inputs import building_drivers, building_setup, load_weather
    from pedsim.sims.building import BuildingSim

    s = _scenario(SCENARIO, until)
    district = load_district(s)
    weather = load_weather(s, s.step)
    setup = building_setup(s.buildings, district.net, weather.hourly, np.random.default_rng(1))
    drivers = building_drivers(setup, weather.weather, s.start_ts, s.step)
    n = int(n_buildings)
    idx = np.arange(n) % setup.zones.n
    rss0 = _maxrss_mib()
    t0 = time.perf_counter()
    sim = BuildingSim()
    sim.init("buildings", step_s=s.step, start=s.start_ts.isoformat())
    q_dhw = np.broadcast_to(setup.q_dhw_w, (setup.zones.n,))[idx]
    sim.create(
        1,
        "Buildings",
        zones=_tile(setup.zones, idx),
        heat_pumps=_tile(setup.heat_pumps, idx),
        t_out_degc=drivers["t_out_degc"],
        phi_int_w=np.asarray(drivers["phi_int_w"])[:, idx],
        phi_sol_w=np.asarray(drivers["phi_sol_w"])[:, idx],
        bus_pos=np.zeros(n, dtype=np.int64),
        n_bus=1,
        q_dhw_w=q_dhw,
    )
    setup_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for k in range(s.n_steps):
        sim.step(k * s.step, {}, 0)
    wall = time.perf_counter() - t0
    inputs = sum(a.nbytes for a in (sim.phi_int, sim.phi_sol, sim.t_out)) / 2**20
    return {
        "n": n,
        "n_steps": s.n_steps,
        "setup_s": setup_s,
        "wall_s": wall,
        "inputs_mib": inputs,
        "rss_growth_mib": _maxrss_mib() - rss0,
        "maxrss_mib": _maxrss_mib(),
    }


def _per_sim(r: dict[str, Any]) -> str:
    n = r["n_steps"]
    inside = sum(r["timings"].values())
    rows = [f"  {'simulator':<12} {'µs/step':>9} {'share':>7}"]
    for sid, sec in sorted(r["timings"].items(), key=lambda kv: -kv[1]):
        rows.append(f"  {sid:<12} {1e6 * sec / n:>9.1f} {sec / r['wall_s']:>7.1%}")
    rest = r["wall_s"] - inside
    rows.append(f"  {'mosaik+rest':<12} {1e6 * rest / n:>9.1f} {rest / r['wall_s']:>7.1%}")
    return "\n".join(rows)


def main(until: str = "", *, scaling: bool = True, reps: int = 2, quick: bool = False) -> None:
    """Print the tables (a)-(d) and (f); ``quick``: short runs, extrapolated."""
    if quick:
        until, reps = until or "7 days", 1
    print(f"load average before: {os.getloadavg()}, nproc {os.cpu_count()}")
    # (a) whole run, lazy stepping both ways, alternately
    runs: dict[str, list[dict[str, Any]]] = {"lazy": [], "eager": []}
    for _ in range(reps):
        for mode, rs in runs.items():
            rs.append(_child("run", SCENARIO, until, mode))
    print(f"\n(a) {SCENARIO} until {until or 'end (1 year)'}, {reps} runs each, median:")
    print(f"  {'stepping':<8} {'steps':>6} {'ms/step':>8} {'step s':>7} {'total s':>8} "
          f"{'year est. s':>11} {'maxrss MiB':>10}")  # fmt: skip
    for mode, rs in runs.items():
        n = rs[0]["n_steps"]
        ms = statistics.median(1e3 * r["wall_s"] / n for r in rs)
        tot = statistics.median(r["total_s"] for r in rs)
        setup = statistics.median(r["total_s"] - r["wall_s"] for r in rs)
        year = setup + ms * YEAR_STEPS / 1e3
        rss = max(r["maxrss_mib"] for r in rs)
        print(f"  {mode:<8} {n:>6} {ms:>8.3f} {ms * n / 1e3:>7.1f} {tot:>8.1f} {year:>11.1f} "
              f"{rss:>10.0f}")  # fmt: skip
    best = min(runs["lazy"], key=lambda r: r["wall_s"])
    print("  time per simulator (fastest lazy run):")
    print(_per_sim(best))
    if best["n_steps"] < YEAR_STEPS:
        print(f"  year est. = set-up + ms/step x {YEAR_STEPS} (extrapolated, linear in steps)")

    # (c) floor
    ratios, reals, nulls = [], [], []
    pairs = 1 if quick else reps + 1
    for _ in range(pairs):
        r = _child("floor", SCENARIO, until or "4 weeks", "real")
        b = _child("floor", SCENARIO, until or "4 weeks", "null")
        reals.append(1e3 * r["wall_s"] / r["n_steps"])
        nulls.append(1e3 * b["wall_s"] / b["n_steps"])
        ratios.append(r["wall_s"] / b["wall_s"])
    print(f"\n(c) floor ({until or '4 weeks'}, alternately real/null, {pairs} pairs):")
    print(f"  real ms/step {', '.join(f'{x:.3f}' for x in reals)}")
    print(f"  null ms/step {', '.join(f'{x:.3f}' for x in nulls)}")
    print(f"  ratio real/floor {', '.join(f'{x:.2f}' for x in ratios)}; "
          f"median {statistics.median(ratios):.2f} (target <= 1.5)")  # fmt: skip

    # (b) runpp
    n_pp = 100 if quick else 300
    pp_ = _child("runpp", SCENARIO, str(n_pp))
    print(f"\n(b) 1-LV-urban6--0-sw, SimBench load + PV profiles, {n_pp} steps (extrapolated):")
    k_s, r_s = pp_["kernel_s"], pp_["runpp_s"]
    print(f"  pedsim kernel  {1e6 * k_s:8.1f} µs/step  year {k_s * YEAR_STEPS:7.1f} s")
    print(
        f"  pandapower     {1e3 * r_s:8.2f} ms/step  year {r_s * YEAR_STEPS:7.1f} s (runpp alone)"
    )
    print(
        f"  runpp / kernel {r_s / k_s:.0f}x; "
        f"runpp / whole pedsim step {r_s / (best['wall_s'] / best['n_steps']):.1f}x; "
        f"max |Δvm| {pp_['dvm']:.1e} pu"
    )

    if scaling:
        from benchmarks import scaling as whole_worlds

        scaling_table(("1 day", "7 days") if quick else ("1 day", "7 days", "28 days"))
        whole_worlds.main(quick=quick)


def scaling_table(periods: tuple[str, ...] = ("1 day", "7 days", "28 days")) -> None:
    """(d) Scaling of the building simulator in buildings and steps."""
    print("\n(d) building simulator alone (N copies of the district's buildings, 15 min):")
    print(f"  {'N':>5} {'period':>8} {'steps':>6} {'µs/step':>8} {'µs/bldg-step':>12} "
          f"{'year est. s':>11} {'inputs MiB':>10} {'Δmaxrss MiB':>11}")  # fmt: skip
    for n in (10, 100, 1000):
        for period in periods:
            r = _child("buildings", str(n), period)
            us = 1e6 * r["wall_s"] / r["n_steps"]
            print(
                f"  {n:>5} {period:>8} {r['n_steps']:>6} {us:>8.1f} {us / n:>12.2f} "
                f"{us * YEAR_STEPS / 1e6:>11.1f} {r['inputs_mib']:>10.1f} "
                f"{r['rss_growth_mib']:>11.0f}"
            )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, *rest = sys.argv[2:]
        fn = {"run": child_run, "floor": child_floor, "runpp": child_runpp}
        fn |= {"buildings": child_buildings}
        print(json.dumps(fn[kind](*rest)))
    else:
        args = [a for a in sys.argv[1:] if not a.startswith("--")]
        quick_ = "--quick" in sys.argv
        if "--scaling-only" in sys.argv:
            scaling_table(("1 day", "7 days") if quick_ else ("1 day", "7 days", "28 days"))
        else:
            main(*args, scaling="--skip-scaling" not in sys.argv, quick=quick_)
