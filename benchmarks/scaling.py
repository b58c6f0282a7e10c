"""Scaling of whole worlds: 10, 100 and 1000 buildings x 1 day, 1 month, 1 year.

``python -m benchmarks.scaling [--quick]``. Each world is ``scenarios/bench-scale.yaml``
(per building the composition of the district benchmark: a 5R1C building with a heat pump
per household load, pvlib PV of the grid's SimBench PV plants, 30 EVs and 5 home
batteries per 102 buildings, one community battery, the self_consumption controller) on
a grid of :mod:`benchmarks.grids`:

* 10 buildings: 1-LV-urban6--0-sw cut to its first 10 household loads (10 buses, no PV);
* 100 buildings: 1-LV-urban6--0-sw whole (102 buildings, 59 buses, 5 PV plants);
* 1000 buildings: 1-MVLV-urban-all-0-sw (110/10 kV) cut to its first 1000 household
  loads: the MV feeder path and 15 LV grids below their MV/LV transformers (1052 buses).

Every run is a fresh interpreter (peak memory ``ru_maxrss`` of that run alone). Set-up
(grid, profiles, weather, sizing, numba, world) and stepping are timed apart. Without
``--quick`` all nine runs are measured (the 1000-building year takes several minutes).
``--quick`` measures 1 day and 7 days and extrapolates the month and the year: time =
set-up + ms/step (7-day run) x steps; their peak memory is not extrapolated. The table
marks those rows ``est.``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from benchmarks.district import _maxrss_mib

TEMPLATE = "scenarios/bench-scale.yaml"
OUT = Path("benchmarks/out")
#: Period label -> ``limit_period`` duration (None: the whole year of the template).
PERIODS: dict[str, str | None] = {"1 day": "1 day", "1 month": "31 days", "1 year": None}
QUICK: dict[str, str] = {"1 day": "1 day", "7 days": "7 days"}


def scenario_file(n: int) -> Path:
    """Write the scenario of the ``n``-building world (see the module docstring).

    Parameters
    ----------
    n : int
        10, 100 or 1000.

    Returns
    -------
    pathlib.Path
        The scenario file (in ``benchmarks/out``).
    """
    from benchmarks.grids import SIZES, describe, grid_path

    grid = grid_path(n)
    homes = describe(grid)["households"]
    data = yaml.safe_load(Path(TEMPLATE).read_text())
    data["name"] = f"bench-scale-{n}"
    data["grid"] = {"pandapower_json": str(grid)}
    data["ev"]["fleets"][0]["count"] = round(30 * homes / 102)
    bats = data["storage"]["batteries"]
    home_count = round(5 * homes / 102)
    if home_count:
        bats[1]["count"] = home_count
    else:
        del bats[1]
    data["description"] = (
        f"{data['description']} Grid: {SIZES[n][0]} cut to {homes} household loads."
    )
    path = OUT / f"bench-scale-{n}.yaml"
    OUT.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def child_world(path: str, until: str) -> dict[str, Any]:
    """One whole run of a scaling world, limited to ``until`` ('' = the whole year)."""
    from pedsim.run.runner import run_scenario
    from pedsim.scenario import load_scenario
    from pedsim.scenario.load import limit_period

    t0 = time.perf_counter()
    s = load_scenario(path)
    if until:
        s = limit_period(s, until)
    summary = run_scenario(s, out=str(OUT / f"{s.name}.h5"), progress=False)
    total = time.perf_counter() - t0
    return {
        "n_steps": summary.n_steps,
        "setup_s": total - summary.wall_s,
        "wall_s": summary.wall_s,
        "timings": summary.timings,
        "maxrss_mib": _maxrss_mib(),
    }


def _child(*args: str) -> dict[str, Any]:
    path = os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), os.getcwd()]))
    cmd = [sys.executable, "-m", "benchmarks.scaling", "--child", *args]
    env = dict(os.environ, PYTHONPATH=path)
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env)
    if done.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _row(n: int, homes: int, period: str, steps: int, r: dict[str, Any], how: str) -> str:
    per = r["wall_s"] / r["n_steps"]
    stepping = per * steps
    bldg = r["timings"].get("buildings", 0.0) / r["n_steps"]
    rss = "-" if how != "measured" else f"{r['maxrss_mib']:.0f}"
    return (
        f"  {n:>5} {homes:>6} {period:>8} {steps:>6} {r['setup_s']:>8.1f} {stepping:>10.1f} "
        f"{r['setup_s'] + stepping:>8.1f} {1e3 * per:>8.3f} {1e6 * per / homes:>10.2f} "
        f"{1e6 * bldg / homes:>10.3f} {rss:>8}  {how}"
    )


def main(quick: bool = False, sizes: tuple[int, ...] = (10, 100, 1000)) -> None:
    """Print the scaling table (measured, or in quick mode partly extrapolated)."""
    from benchmarks.grids import SIZES, describe, grid_path

    print(f"load average before: {os.getloadavg()}")
    steps_of = {"1 day": 96, "7 days": 672, "1 month": 2976, "1 year": 35136}
    print(
        f"\n(f) whole worlds ({TEMPLATE}), 15 min steps from 2016-01-01; "
        + ("quick: 1 day and 7 days measured, month and year extrapolated (est.)"
           if quick else "every row measured")
    )  # fmt: skip
    head = (f"  {'N':>5} {'bldgs':>6} {'period':>8} {'steps':>6} {'set-up s':>8} "
            f"{'stepping s':>10} {'total s':>8} {'ms/step':>8} {'µs/bldg-st':>10} "
            f"{'bsim µs/bs':>10} {'maxrss':>8}  MiB")  # fmt: skip
    print(head)
    grids = []
    for n in sizes:
        path = str(scenario_file(n))
        info = describe(grid_path(n))
        homes = info["households"]
        grids.append(f"  N={n}: {SIZES[n][0]} -> {homes} buildings, {info['buses']} buses, "
                     f"{info['trafos']} transformers, {info['pv']} PV plants")  # fmt: skip
        if not quick:
            for period, until in PERIODS.items():
                r = _child("world", path, until or "")
                print(_row(n, homes, period, r["n_steps"], r, "measured"), flush=True)
            continue
        runs = {label: _child("world", path, until) for label, until in QUICK.items()}
        for label, r in runs.items():
            print(_row(n, homes, label, r["n_steps"], r, "measured"), flush=True)
        for period in ("1 month", "1 year"):
            print(_row(n, homes, period, steps_of[period], runs["7 days"], "est."))
    print("\n".join(grids))
    print(
        "  µs/bldg-st: whole step per building; bsim µs/bs: the building simulator's own "
        "step per building (summary.timings); maxrss: peak resident memory of the run's "
        "process"
    )
    if quick:
        print(
            "  est.: set-up of the 7-day run + its ms/step x steps (stepping is linear in "
            "steps); peak memory is not extrapolated (the short runs' peak is the set-up's "
            "full-year SimBench profiles; the year adds (steps x units) arrays): run "
            "without --quick to measure it"
        )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, *rest = sys.argv[2:]
        print(json.dumps({"world": child_world}[kind](*rest)))
    else:
        only = tuple(int(a) for a in sys.argv[1:] if a.isdigit())
        main("--quick" in sys.argv, only or (10, 100, 1000))
