"""Command-line interface: ``pedsim run | validate | kpi``.

Exit codes: 0 success, 1 run failed, 2 invalid input, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

DEFAULT_SCENARIO = Path("scenarios/reference.yaml")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pedsim", description="Co-simulation testbed for Positive Energy Districts."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a scenario, write its results file, print its KPIs")
    run.add_argument("scenario", nargs="?", type=Path, default=DEFAULT_SCENARIO)
    run.add_argument("--out", type=Path, help="results file (default: the scenario's output)")
    run.add_argument("--until", help="simulate only the first DURATION (e.g. '2 days', '6h')")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    run.add_argument("--json", action="store_true", help="print the KPIs as JSON")

    val = sub.add_parser("validate", help="check scenario files without running them")
    val.add_argument("scenarios", nargs="+", type=Path)

    kpi = sub.add_parser("kpi", help="print the KPIs of a results file")
    kpi.add_argument("results", type=Path)
    kpi.add_argument("--json", action="store_true", help="JSON keys are KPI names with units")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``pedsim`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit code.
    """
    args = _parser().parse_args(argv)
    handlers = {"run": _cmd_run, "validate": _cmd_validate, "kpi": _cmd_kpi}
    try:
        return handlers[args.command](args)
    except KeyboardInterrupt:
        print("pedsim: interrupted", file=sys.stderr)
        return 130


def _cmd_validate(args: argparse.Namespace) -> int:
    from pedsim.scenario import ScenarioError, load_scenario

    code = 0
    for path in args.scenarios:
        try:
            s = load_scenario(path)
        except ScenarioError as exc:
            print(exc, file=sys.stderr)
            code = 2
            continue
        print(
            f"{path}: OK ({s.name}: {s.start_ts.isoformat()} to {s.end_ts.isoformat()}, "
            f"{s.n_steps} steps of {s.step} s)"
        )
    return code


def _cmd_run(args: argparse.Namespace) -> int:
    from pedsim.analysis.report import format_kpi_table, kpis_from_results, kpis_to_json
    from pedsim.results import read_results
    from pedsim.run.runner import RunFailedError, run_scenario
    from pedsim.scenario import ScenarioError, load_scenario
    from pedsim.scenario.load import limit_period

    try:
        scenario = load_scenario(args.scenario)
        if args.until is not None:
            scenario = limit_period(scenario, args.until)
    except ScenarioError as exc:
        print(exc, file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"pedsim run: --until: {exc}", file=sys.stderr)
        return 2
    print(
        f"pedsim: running {scenario.name}: {scenario.start_ts.isoformat()} to "
        f"{scenario.end_ts.isoformat()}, {scenario.n_steps} steps of {scenario.step} s",
        file=sys.stderr,
    )
    try:
        summary = run_scenario(scenario, args.out, progress=not args.no_progress)
    except RunFailedError as exc:
        print(
            f"pedsim: run failed: {exc}\nresults so far: {exc.path} (status failed)",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        out = args.out or scenario.output_path
        print(f"pedsim: interrupted; results so far: {out} (status interrupted)", file=sys.stderr)
        return 130
    per_step = 1000 * summary.wall_s / max(summary.n_steps, 1)
    print(
        f"pedsim: {summary.status}: {summary.n_steps} steps in {summary.wall_s:.1f} s "
        f"({per_step:.2f} ms/step); results: {summary.path}",
        file=sys.stderr,
    )
    kpis = kpis_from_results(read_results(summary.path))
    print(json.dumps(kpis_to_json(kpis), indent=2) if args.json else format_kpi_table(kpis))
    return 0


def _cmd_kpi(args: argparse.Namespace) -> int:
    from pedsim.analysis.report import format_kpi_table, kpis_from_results, kpis_to_json
    from pedsim.results import read_results

    try:
        results = read_results(args.results)
    except (ValueError, OSError) as exc:
        print(f"pedsim kpi: {exc}", file=sys.stderr)
        return 2
    kpis = kpis_from_results(results)
    if args.json:
        print(json.dumps(kpis_to_json(kpis), indent=2))
    else:
        print(f"{results.path}: status {results.status}")
        print(format_kpi_table(kpis))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
