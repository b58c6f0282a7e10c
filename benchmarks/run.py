"""Whole runs: wall time per step and per simulator of a scenario."""

from __future__ import annotations

import resource
import sys
import time

from pedsim.run.runner import run_scenario
from pedsim.scenario import load_scenario
from pedsim.scenario.load import limit_period


def main(scenario: str = "scenarios/reference-year.yaml", until: str | None = None) -> None:
    """Run a scenario and print where the time goes."""
    s = load_scenario(scenario)
    if until:
        s = limit_period(s, until)
    t0 = time.perf_counter()
    summary = run_scenario(s, out=f"benchmarks/out/{s.name}.h5", progress=False)
    total = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    n = summary.n_steps
    print(
        f"{s.name}: {n} steps; stepping {summary.wall_s:.1f} s, with set-up {total:.1f} s; "
        f"{1e3 * summary.wall_s / n:.3f} ms/step; peak resident memory {peak / 2**20:.0f} MiB"
    )
    inside = sum(summary.timings.values())
    print(f"{'simulator':<12} {'µs/step':>9} {'share':>7}")
    for sid, sec in sorted(summary.timings.items(), key=lambda kv: -kv[1]):
        print(f"{sid:<12} {1e6 * sec / n:>9.1f} {sec / summary.wall_s:>7.1%}")
    print(
        f"{'mosaik+rest':<12} {1e6 * (summary.wall_s - inside) / n:>9.1f} "
        f"{(summary.wall_s - inside) / summary.wall_s:>7.1%}"
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
