"""Run every benchmark: ``python -m benchmarks [--quick] [SCENARIO] [UNTIL]`` (``make bench``).

In order: the power-flow kernel against ``pandapower.runpp`` (:mod:`benchmarks.powerflow`),
the run profile and the null-simulator floor of ``SCENARIO`` (default
``scenarios/reference-year.yaml``; ``--quick``: its first 7 days), the issue-7 district
tables (:mod:`benchmarks.district`: 28 days of scenarios/bench-district-year.yaml
extrapolated to the year, ``runpp`` per step, floor, building simulator and whole-world
scaling :mod:`benchmarks.scaling` with every run measured) and pedsim against the public
mosaik-pandapower-2 adapter (:mod:`benchmarks.adapter`, 300 steps, extrapolated).
``--quick`` shortens every part (7-day runs, one repetition, 100 adapter steps; the
scaling's month and year rows extrapolated) and says so in its output.
"""

import sys

from benchmarks import adapter, district, floor, powerflow, run
from pedsim.scenario import load_scenario
from pedsim.scenario.load import limit_period


def main(
    scenario: str = "scenarios/reference-year.yaml", until: str | None = None, quick: bool = False
) -> None:
    """Print every table (see the module docstring)."""
    if quick:
        until = until or "7 days"
    powerflow.main()
    print()
    run.main(scenario, until)
    print()
    s = load_scenario(scenario)
    if until:
        s = limit_period(s, until)
    real = floor.time_world(s, "benchmarks/out/real.h5", null=False)
    bare = floor.time_world(s, "benchmarks/out/null.h5", null=True)
    print(f"Co-simulation floor ({s.n_steps} steps, same simulators and connections):")
    print(f"  real run   {real:8.1f} s  {1e3 * real / s.n_steps:7.3f} ms/step")
    print(f"  null sims  {bare:8.1f} s  {1e3 * bare / s.n_steps:7.3f} ms/step")
    print(f"  ratio real/floor: {real / bare:.2f}")
    print()
    district.main("" if quick else "28 days", quick=quick)
    adapter.main(100 if quick else 300, 1 if quick else 2)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--quick"]
    main(*args, quick="--quick" in sys.argv)
