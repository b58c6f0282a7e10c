"""Regression checks of a run's KPIs against a golden file.

Golden file format (YAML, or JSON when the file name ends in ``.json``)::

    # comment lines at the top are kept when the file is refreshed
    format: pedsim-golden-kpis
    format_version: 1
    source: {scenario_name: reference, period: '...', results: reference.h5}
    default_tolerance: {rel: 1.0e-06, abs: 1.0e-09}
    kpis:
      e_import_kwh[D]: {expected: 1759.43, unit: kWh}
      vm_min_pu[grid]: {expected: 1.0097, unit: pu, abs: 1.0e-06}
      scr[D]: {expected: .nan, unit: '-', reason: zero generation}

Keys are the KPI keys of :func:`pedsim.analysis.kpi.kpis_to_json_dict` (``name[view]``).
A KPI passes when ``|got - expected| <= max(abs, rel * |expected|)``, where ``abs`` and
``rel`` are the KPI's own tolerances, each falling back to ``default_tolerance`` (a
tolerance of 0 demands equality). An expected NaN (``.nan`` in YAML, ``null``) requires
NaN; a unit recorded in the golden file must match. A KPI of the golden file that the run
lacks is a failure; a KPI of the run that the golden file lacks is reported, not a
failure. ``source`` and ``reason`` are for the reader only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pedsim.analysis.kpi import KPI, kpis_to_json_dict

__all__ = [
    "DEFAULT_TOLERANCE",
    "GOLDEN_FORMAT",
    "Check",
    "GoldenFileError",
    "RegressionReport",
    "check_kpis",
    "format_report",
    "golden_from_kpis",
    "read_golden",
    "write_golden",
]

GOLDEN_FORMAT = "pedsim-golden-kpis"
GOLDEN_VERSION = 1
#: Tolerance of a new golden file: the runs are deterministic, so only floating-point
#: noise between machines and library versions is allowed.
DEFAULT_TOLERANCE: dict[str, float] = {"rel": 1e-6, "abs": 1e-9}

_HEADER = """\
# Golden KPIs for `pedsim regress` and pedsim.testing.assert_kpis_match.
# Written by `pedsim regress RESULTS --golden FILE --update`; refreshing keeps the
# tolerances (default_tolerance and any per-KPI `abs`/`rel`) and these comment lines.
# A KPI passes when |got - expected| <= max(abs, rel * |expected|); `.nan` requires NaN.
"""

VERDICTS = ("pass", "FAIL", "missing", "extra")


class GoldenFileError(ValueError):
    """A golden file that cannot be read or does not follow the format."""


@dataclass(frozen=True)
class Check:
    """The verdict on one KPI.

    Attributes
    ----------
    key : str
        ``name[view]``.
    expected, got : float or None
        Golden and run values (None: absent).
    tolerance : float or None
        The admissible absolute deviation ``max(abs, rel * |expected|)``.
    tolerance_text : str
        How the tolerance was set, e.g. ``'rel 1e-06, abs 1e-09'``.
    verdict : str
        ``pass``, ``FAIL`` (value or unit differs), ``missing`` (run lacks the KPI, a
        failure) or ``extra`` (golden file lacks it, not a failure).
    detail : str
        Why it failed, or the reason of a NaN.
    unit : str
        The KPI's unit.
    """

    key: str
    expected: float | None
    got: float | None
    tolerance: float | None
    tolerance_text: str
    verdict: str
    detail: str = ""
    unit: str = ""

    @property
    def failed(self) -> bool:
        """Whether this check fails the run."""
        return self.verdict in ("FAIL", "missing")


@dataclass(frozen=True)
class RegressionReport:
    """All checks of a run against a golden file, with notes (e.g. a different period)."""

    checks: tuple[Check, ...]
    notes: tuple[str, ...] = ()

    @property
    def failures(self) -> list[Check]:
        """The failed and missing KPIs."""
        return [c for c in self.checks if c.failed]

    @property
    def passed(self) -> bool:
        """True when no KPI failed or is missing."""
        return not self.failures

    def count(self, verdict: str) -> int:
        """Count the checks with ``verdict``."""
        return sum(c.verdict == verdict for c in self.checks)


def _float(value: Any, where: str) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise GoldenFileError(f"{where}={value!r}: expected a number, .nan or null")
    return float(value)


def _tolerance(value: Any, where: str) -> float:
    tol = _float(value, where)
    if not math.isfinite(tol) or tol < 0.0:
        raise GoldenFileError(f"{where}={value!r}: expected a finite number >= 0")
    return tol


def read_golden(path: str | Path) -> dict[str, Any]:
    """Read and validate a golden file.

    Parameters
    ----------
    path : str or pathlib.Path
        YAML file (JSON when the name ends in ``.json``).

    Returns
    -------
    dict
        ``{'default_tolerance': {...}, 'kpis': {key: {...}}, 'source': {...},
        'header': str}``; expected values are floats (NaN for ``.nan``/``null``);
        ``header`` holds the leading comment lines (the ``comment`` field of JSON).

    Raises
    ------
    GoldenFileError
        When the file is missing, unreadable or malformed.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GoldenFileError(f"golden file {path}: {exc.strerror or exc}") from None
    try:
        raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        kind = "JSON" if path.suffix == ".json" else "YAML"
        raise GoldenFileError(f"golden file {path}: not valid {kind}: {exc}") from None
    if not isinstance(raw, dict) or raw.get("format") != GOLDEN_FORMAT:
        raise GoldenFileError(
            f"golden file {path}: expected a mapping with format: {GOLDEN_FORMAT}"
        )
    if raw.get("format_version") != GOLDEN_VERSION:
        raise GoldenFileError(
            f"golden file {path}: format_version={raw.get('format_version')!r}: "
            f"expected {GOLDEN_VERSION}"
        )
    default = raw.get("default_tolerance") or {}
    kpis = raw.get("kpis")
    if not isinstance(default, dict) or set(default) - {"abs", "rel"}:
        raise GoldenFileError(
            f"golden file {path}: default_tolerance={default!r}: expected keys abs and/or rel"
        )
    if not isinstance(kpis, dict):
        raise GoldenFileError(f"golden file {path}: kpis={kpis!r}: expected a mapping")
    out_kpis: dict[str, dict[str, Any]] = {}
    for key, entry in kpis.items():
        where = f"golden file {path}: kpis.{key}"
        if not isinstance(entry, dict) or "expected" not in entry:
            raise GoldenFileError(f"{where}={entry!r}: expected a mapping with 'expected'")
        unknown = set(entry) - {"expected", "unit", "abs", "rel", "reason"}
        if unknown:
            raise GoldenFileError(f"{where}: unknown keys {sorted(unknown)}")
        item = dict(entry)
        item["expected"] = _float(entry["expected"], f"{where}.expected")
        for t in ("abs", "rel"):
            if t in entry:
                item[t] = _tolerance(entry[t], f"{where}.{t}")
        out_kpis[str(key)] = item
    if path.suffix == ".json":
        header = str(raw.get("comment", ""))
    else:
        header = "".join(line + "\n" for line in _leading_comments(text))
    return {
        "default_tolerance": {
            t: _tolerance(v, f"golden file {path}: default_tolerance.{t}")
            for t, v in default.items()
        },
        "kpis": out_kpis,
        "source": raw.get("source") or {},
        "header": header,
    }


def _leading_comments(text: str) -> list[str]:
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line)
    return lines


def _tol_text(tol: Mapping[str, float]) -> str:
    return ", ".join(f"{k} {tol[k]:g}" for k in ("rel", "abs") if k in tol) or "exact"


def check_kpis(kpis: Iterable[KPI], golden: Mapping[str, Any]) -> RegressionReport:
    """Check KPIs against a golden file's content.

    Parameters
    ----------
    kpis : iterable of KPI
        The run's KPIs.
    golden : mapping
        As returned by :func:`read_golden` (``default_tolerance`` and ``kpis``).

    Returns
    -------
    RegressionReport
        One check per KPI of the golden file, in its order, then the extra KPIs of the run.
    """
    items = list(kpis)
    got = kpis_to_json_dict(items)
    notes = []
    period = (golden.get("source") or {}).get("period")
    run_periods = list(dict.fromkeys(k.period for k in items))
    if period and items and period not in run_periods:
        notes.append(f"the run covers {run_periods[0]}; the golden file {period}")
    default = dict(golden.get("default_tolerance") or {})
    checks = []
    for key, entry in golden["kpis"].items():
        expected = float(entry["expected"])
        tol_spec = {**default, **{t: entry[t] for t in ("abs", "rel") if t in entry}}
        tol = max(
            float(tol_spec.get("abs", 0.0)),
            float(tol_spec.get("rel", 0.0)) * abs(expected) if math.isfinite(expected) else 0.0,
        )
        base = {"key": key, "expected": expected, "tolerance_text": _tol_text(tol_spec)}
        unit = str(entry.get("unit", ""))
        if key not in got:
            checks.append(
                Check(
                    **base,
                    got=None,
                    tolerance=tol,
                    verdict="missing",
                    unit=unit,
                    detail="the run has no such KPI",
                )
            )
            continue
        g = got[key]
        value = math.nan if g["value"] is None else float(g["value"])
        reason = g.get("reason") or ""
        unit = str(g.get("unit", unit))
        verdict, detail = "pass", ""
        if "unit" in entry and str(entry["unit"]) != unit:
            verdict, detail = "FAIL", f"unit {unit!r}, expected {entry['unit']!r}"
        elif math.isnan(expected):
            if not math.isnan(value):
                verdict, detail = "FAIL", "NaN expected"
            else:
                detail = reason
        elif math.isnan(value):
            verdict, detail = "FAIL", f"NaN: {reason}" if reason else "NaN"
        elif not abs(value - expected) <= tol:
            verdict, detail = "FAIL", f"off by {value - expected:+.6g}"
        checks.append(
            Check(**base, got=value, tolerance=tol, verdict=verdict, detail=detail, unit=unit)
        )
    for key, g in got.items():
        if key not in golden["kpis"]:
            value = math.nan if g["value"] is None else float(g["value"])
            checks.append(
                Check(key, None, value, None, "", "extra", "not in the golden file", g["unit"])
            )
    return RegressionReport(tuple(checks), tuple(notes))


def _num(v: float | None) -> str:
    if v is None:
        return "-"
    return "NaN" if math.isnan(v) else f"{v:.10g}"


def format_report(report: RegressionReport, *, show_all: bool = False) -> str:
    """Readable diff: KPI, expected, got, tolerance, verdict.

    Parameters
    ----------
    report : RegressionReport
        The checks.
    show_all : bool
        Also list the KPIs that pass (default: only failed, missing and extra ones).

    Returns
    -------
    str
        A table and a summary line.
    """
    rows = [c for c in report.checks if show_all or c.verdict != "pass"]
    summary = (
        f"{'PASS' if report.passed else 'FAIL'}: {report.count('pass')} passed, "
        f"{report.count('FAIL')} failed, {report.count('missing')} missing, "
        f"{report.count('extra')} extra (not in the golden file)"
    )
    summary = "\n".join([*(f"note: {n}" for n in report.notes), summary])
    if not rows:
        return summary
    head = ["KPI", "unit", "expected", "got", "tolerance", "verdict", "detail"]
    body = [
        [
            c.key,
            c.unit,
            _num(c.expected),
            _num(c.got),
            "" if c.tolerance is None else f"{c.tolerance:.3g} ({c.tolerance_text})",
            c.verdict,
            c.detail,
        ]
        for c in rows
    ]
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    lines = [
        "  ".join(f"{x:<{w}}" for x, w in zip(r, widths, strict=True)).rstrip()
        for r in [head, *body]
    ]
    return "\n".join([*lines, summary])


def golden_from_kpis(
    kpis: Iterable[KPI],
    previous: Mapping[str, Any] | None = None,
    source: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Golden file content from a run's KPIs, keeping the tolerances of ``previous``.

    Parameters
    ----------
    kpis : iterable of KPI
        The run's KPIs.
    previous : mapping, optional
        A golden file read with :func:`read_golden`: its default tolerance and per-KPI
        ``abs``/``rel`` are kept.
    source : mapping, optional
        Where the values come from (scenario name, period, results file).

    Returns
    -------
    dict
        Ready for :func:`write_golden`.
    """
    old = previous["kpis"] if previous else {}
    out: dict[str, Any] = {}
    for key, d in kpis_to_json_dict(kpis).items():
        entry: dict[str, Any] = {
            "expected": math.nan if d["value"] is None else float(d["value"]),
            "unit": d["unit"],
        }
        for t in ("abs", "rel"):
            if t in old.get(key, {}):
                entry[t] = old[key][t]
        if d["value"] is None and d.get("reason"):
            entry["reason"] = d["reason"]
        out[key] = entry
    default = previous["default_tolerance"] if previous else DEFAULT_TOLERANCE
    return {
        "format": GOLDEN_FORMAT,
        "format_version": GOLDEN_VERSION,
        "source": dict(source or {}),
        "default_tolerance": dict(default),
        "kpis": out,
        "header": previous["header"] if previous and previous.get("header") else _HEADER,
    }


def _flow(key: str, entry: Mapping[str, Any]) -> str:
    """One KPI as a YAML line ``  key: {expected: ..., unit: ..., ...}``."""
    order = ["expected", "unit", "abs", "rel", "reason"]
    ordered = {k: entry[k] for k in order if k in entry}
    text = yaml.safe_dump({key: ordered}, sort_keys=False, default_flow_style=True, width=10**6)
    return "  " + text.strip()[1:-1]


def write_golden(golden: Mapping[str, Any], path: str | Path) -> Path:
    """Write golden file content as YAML (JSON when the name ends in ``.json``).

    Parameters
    ----------
    golden : mapping
        As returned by :func:`golden_from_kpis`.
    path : str or pathlib.Path
        The file (parent directories are created).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    path = Path(path)
    body = {
        "format": GOLDEN_FORMAT,
        "format_version": GOLDEN_VERSION,
        "source": dict(golden.get("source") or {}),
        "default_tolerance": dict(golden.get("default_tolerance") or {}),
    }
    if path.suffix == ".json":
        kpis = {
            k: {**v, "expected": None if math.isnan(v["expected"]) else v["expected"]}
            for k, v in golden["kpis"].items()
        }
        header = golden.get("header", "")
        comment = "\n".join(x.lstrip("# ").rstrip() for x in header.splitlines())
        text = json.dumps({"comment": comment, **body, "kpis": kpis}, indent=2) + "\n"
    else:
        header = "".join(
            (x if x.startswith("#") else f"# {x}".rstrip()) + "\n"
            for x in str(golden.get("header", "")).splitlines()
        )
        head = yaml.safe_dump(body, sort_keys=False, default_flow_style=False, width=1000)
        lines = [_flow(k, v) for k, v in golden["kpis"].items()]
        kpis_text = "kpis:\n" + "\n".join(lines) if lines else "kpis: {}"
        text = header + head + kpis_text + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
