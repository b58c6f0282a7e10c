"""Run every benchmark: ``python -m benchmarks [SCENARIO] [UNTIL]`` (or ``make bench``).

Then the issue-7 district tables (:mod:`benchmarks.district`) over the first 28 days of
scenarios/bench-district-year.yaml, extrapolated to the year; ``python -m
benchmarks.district`` alone runs the whole year.
"""

import sys

from benchmarks import district, floor, powerflow, run
from pedsim.scenario import load_scenario
from pedsim.scenario.load import limit_period


def main(scenario: str = "scenarios/reference-year.yaml", until: str | None = None) -> None:
    """Print the power-flow table, the run profile and the ratio to the mosaik floor."""
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
    district.main("28 days")


if __name__ == "__main__":
    main(*sys.argv[1:])
