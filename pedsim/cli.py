"""Command-line interface: ``pedsim run | validate | kpi | compare | regress | pareto``.

Exit codes: 0 success, 1 run failed (``regress``: a KPI failed), 2 invalid input,
130 interrupted.
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
    kpi.add_argument(
        "--reference",
        type=Path,
        metavar="RESULTS",
        help="reference run of the same period: adds flexibility KPIs against it",
    )

    cmp = sub.add_parser("compare", help="compare the KPIs of several results files")
    cmp.add_argument("runs", nargs="+", type=Path, metavar="RESULTS")
    cmp.add_argument("--json", action="store_true", help="print the comparison as JSON")
    cmp.add_argument("--plot", type=Path, metavar="DIR", help="write comparison charts (PNG)")

    reg = sub.add_parser("regress", help="check the KPIs of a results file against a golden file")
    reg.add_argument("results", type=Path)
    reg.add_argument("--golden", type=Path, required=True, metavar="FILE", help="YAML or JSON")
    reg.add_argument(
        "--update", action="store_true", help="write/refresh FILE from the run (keeps tolerances)"
    )
    reg.add_argument("--all", action="store_true", help="list passing KPIs too")

    week = sub.add_parser(
        "plot-week", help="plot a week: zone temperatures, heat-pump power, PV (PNG)"
    )
    week.add_argument("results", type=Path)
    week.add_argument("--start", help="first day shown (default: the week of most heating)")
    week.add_argument("--out", type=Path, help="PNG file (default: next to the results)")

    par = sub.add_parser(
        "pareto", help="cost-CO2 front of the optimal strategy over whole runs (CSV, PNG)"
    )
    par.add_argument("scenario", type=Path)
    par.add_argument("--points", type=int, default=5, help="runs, both extremes included")
    par.add_argument("--until", help="simulate only the first DURATION of each run")
    par.add_argument("--out-dir", type=Path, help="default: results/pareto-<scenario name>")
    par.add_argument("--no-progress", action="store_true", help="hide the progress bar")
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
    handlers = {
        "run": _cmd_run,
        "validate": _cmd_validate,
        "kpi": _cmd_kpi,
        "compare": _cmd_compare,
        "regress": _cmd_regress,
        "plot-week": _cmd_plot_week,
        "pareto": _cmd_pareto,
    }
    try:
        return handlers[args.command](args)
    except KeyboardInterrupt:
        print("pedsim: interrupted", file=sys.stderr)
        return 130


def _cmd_pareto(args: argparse.Namespace) -> int:
    from pedsim.analysis.pareto_runs import pareto_runs
    from pedsim.run.runner import RunFailedError
    from pedsim.scenario import ScenarioError, load_scenario
    from pedsim.scenario.load import limit_period

    try:
        scenario = load_scenario(args.scenario)
        if args.until is not None:
            scenario = limit_period(scenario, args.until)
        out = args.out_dir or Path("results") / f"pareto-{scenario.name}"
        front = pareto_runs(scenario, args.points, out, progress=not args.no_progress)
    except ScenarioError as exc:
        print(exc, file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"pedsim pareto: {exc}", file=sys.stderr)
        return 2
    except RunFailedError as exc:
        print(f"pedsim pareto: run failed: {exc}", file=sys.stderr)
        return 1
    print(front.table.drop(columns="results").to_string(index=False))
    print(f"pedsim pareto: wrote {front.csv} and {front.png}", file=sys.stderr)
    return 0


def _cmd_plot_week(args: argparse.Namespace) -> int:
    from pedsim.analysis.plots import plot_week
    from pedsim.results import read_results

    try:
        results = read_results(args.results)
        path = plot_week(results, start=args.start, out=args.out)
    except (ValueError, OSError) as exc:
        print(f"pedsim plot-week: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


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
    from pedsim.analysis.compare import PeriodMismatchError
    from pedsim.analysis.report import format_kpi_table, kpis_from_results, kpis_to_json
    from pedsim.results import read_results

    try:
        results = read_results(args.results)
        reference = None if args.reference is None else read_results(args.reference)
    except (ValueError, OSError) as exc:
        print(f"pedsim kpi: {exc}", file=sys.stderr)
        return 2
    try:
        kpis = kpis_from_results(results, reference=reference)
    except PeriodMismatchError as exc:
        print(f"pedsim kpi: --reference: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(kpis_to_json(kpis), indent=2))
    else:
        print(f"{results.path}: status {results.status}")
        if reference is not None:
            print(f"reference: {reference.path} (status {reference.status})")
        print(format_kpi_table(kpis))
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from pedsim.analysis.compare import compare_runs, comparison_to_json, format_comparison
    from pedsim.results import read_results

    if len(args.runs) < 2:
        print("pedsim compare: expected at least two results files", file=sys.stderr)
        return 2
    try:
        results = [read_results(p) for p in args.runs]
    except (ValueError, OSError) as exc:
        print(f"pedsim compare: {exc}", file=sys.stderr)
        return 2
    comparison, runs = compare_runs(results)
    if args.json:
        print(json.dumps(comparison_to_json(comparison), indent=2))
    else:
        print(format_comparison(comparison))
    if args.plot is not None:
        from pedsim.analysis.compare_plots import plot_comparison

        try:
            written, notes = plot_comparison(runs, args.plot)
        except OSError as exc:
            print(f"pedsim compare: --plot {args.plot}: {exc}", file=sys.stderr)
            return 2
        for note in notes:
            print(f"pedsim compare: note: {note}", file=sys.stderr)
        for path in written:
            print(f"pedsim compare: wrote {path}", file=sys.stderr)
    return 0


def _cmd_regress(args: argparse.Namespace) -> int:
    from pedsim.analysis.regress import (
        check_kpis,
        format_report,
        golden_from_kpis,
        read_golden,
        write_golden,
    )
    from pedsim.analysis.report import kpis_from_results
    from pedsim.results import read_results

    try:
        results = read_results(args.results)
        previous = None
        if not args.update or args.golden.exists():
            previous = read_golden(args.golden)
    except (ValueError, OSError) as exc:
        hint = "" if args.golden.exists() else " (create it with --update)"
        print(f"pedsim regress: {exc}{hint}", file=sys.stderr)
        return 2
    kpis = kpis_from_results(results)
    if args.update:
        source = {
            "scenario_name": results.attrs.get("scenario_name", ""),
            "period": kpis[0].period if kpis else "",
            "results": results.path.name,
            "status": results.status,
        }
        golden = golden_from_kpis(kpis, previous, source)
        try:
            write_golden(golden, args.golden)
        except OSError as exc:
            print(f"pedsim regress: --golden {args.golden}: {exc}", file=sys.stderr)
            return 2
        old = set(previous["kpis"]) if previous else set()
        new = set(golden["kpis"])
        changed = 0
        if previous:
            report = check_kpis(kpis, previous)
            changed = sum(c.verdict == "FAIL" for c in report.checks)
        print(
            f"pedsim regress: wrote {args.golden}: {len(new)} KPIs ({len(new - old)} added, "
            f"{len(old - new)} removed, {changed} changed beyond tolerance)"
        )
        return 0
    report = check_kpis(kpis, previous)
    print(f"{results.path} against {args.golden}:")
    print(format_report(report, show_all=args.all))
    return 0 if report.passed else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
