"""Test helpers for projects that check pedsim runs, e.g. with pytest.

Example
-------
>>> from pedsim.testing import assert_kpis_match
>>> assert_kpis_match("results/reference.h5", "tests/golden/reference.yaml")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from pedsim.results import Results

__all__ = ["assert_kpis_match"]


def assert_kpis_match(
    results_path: str | Path | Results,
    golden_path: str | Path,
    *,
    reference: str | Path | Results | None = None,
) -> None:
    """Assert that a run's KPIs match a golden file (see :mod:`pedsim.analysis.regress`).

    Parameters
    ----------
    results_path : str, pathlib.Path or Results
        The results file (or its content read with :func:`pedsim.results.read_results`).
    golden_path : str or pathlib.Path
        The golden KPI file (YAML, or JSON by extension).
    reference : str, pathlib.Path or Results, optional
        A reference run, when the golden file holds flexibility KPIs against it.

    Raises
    ------
    AssertionError
        When a KPI of the golden file fails or is missing from the run; the message is
        the diff that ``pedsim regress`` prints (KPI, expected, got, tolerance, verdict).
    pedsim.analysis.regress.GoldenFileError
        When the golden file cannot be read.
    """
    from pedsim.analysis.regress import check_kpis, format_report, read_golden
    from pedsim.analysis.report import kpis_from_results
    from pedsim.results import read_results

    golden = read_golden(golden_path)
    results = results_path if isinstance(results_path, Results) else read_results(results_path)
    ref = reference
    if ref is not None and not isinstance(ref, Results):
        ref = read_results(ref)
    report = check_kpis(kpis_from_results(results, reference=ref), golden)
    if not report.passed:
        raise AssertionError(
            f"KPIs of {results.path} do not match {golden_path}:\n{format_report(report)}"
        )
