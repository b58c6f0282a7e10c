"""Run every benchmark: ``python -m benchmarks`` (or ``make bench``)."""

from benchmarks import powerflow, run

if __name__ == "__main__":
    powerflow.main()
    print()
    run.main()
