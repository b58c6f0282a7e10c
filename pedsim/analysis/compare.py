"""Scenario comparison: the KPIs of several runs side by side, and KPIs against a reference.

:func:`compare_runs` puts the KPIs of several results files in one table with a column
per run and the differences to the first run (the base). :func:`kpis_against_reference`
computes the flexibility KPIs of a run against a reference run of the same scenario
period (KPI specification, section 3).

Relative differences are given in % of the base value only where they are meaningful:
for quantities with a physical unit (kWh, kW, h, ...) and a non-zero base. Ratios
(unit ``-``), percentages and per-unit voltages get the absolute difference only
(percentage points, pu). Differences within 1e-12 of the values (floating-point noise)
are reported as 0.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pedsim.analysis.kpi import KPI, kpis_flexibility, kpis_to_json_dict
from pedsim.results import Results

__all__ = [
    "Comparison",
    "ComparisonRow",
    "PeriodMismatchError",
    "compare_kpis",
    "compare_runs",
    "comparison_to_json",
    "format_comparison",
    "kpis_against_reference",
    "run_labels",
]

#: Units for which a relative difference is not meaningful (the absolute one is).
NO_RELATIVE_UNITS = frozenset({"-", "%", "pu"})
#: Differences below this share of the values are floating-point noise and reported as 0.
_NOISE = 1e-12

_FLEX_NOTE = (
    "district net power (view D, no network losses) against the reference run; "
    "activation window: the whole run"
)
_FLEX_REASONS = {
    "flexibility_factor": (
        "needs the flexible assets' own power and a price or CO2 signal, which the results "
        "file does not record"
    ),
    "e_rebound_kwh": "the activation window is the whole run: no period after it",
    "eta_storage_like": "the activation window is the whole run: no period after it",
}


class PeriodMismatchError(ValueError):
    """Two runs that must cover the same scenario period do not."""


def _period_text(results: Results) -> str:
    idx = results.index
    if len(idx) == 0:
        return "no completed step"
    step_s = int(results.attrs["step_s"])
    end = idx[-1] + pd.Timedelta(seconds=step_s)
    return f"{idx[0]:%Y-%m-%dT%H:%M} to {end:%Y-%m-%dT%H:%M}, {len(idx)} steps of {step_s} s"


def kpis_against_reference(results: Results, reference: Results) -> list[KPI]:
    """Flexibility KPIs of a run against a reference run (same scenario, control off).

    Both runs are reduced to their district net power ``n = l + s - g`` (view D, summed
    over points of delivery, no network losses). The penalty signal of the flexibility
    index is the residual load, i.e. the reference run's net power, so that the index
    rewards using less power when the district's residual load is high. The activation
    window of the shifted energy and storage-like capacity is the whole run; the KPIs
    that need a period after the window (rebound, storage-like efficiency) are NaN with
    that reason.

    Parameters
    ----------
    results : Results
        The run (e.g. with control on).
    reference : Results
        The reference run; it must cover the same period at the same step.

    Returns
    -------
    list of KPI
        ``flexibility_factor`` (NaN with its reason), ``flexibility_index``,
        ``e_shifted_kwh``, ``e_rebound_kwh``, ``c_storage_like_kwh``,
        ``eta_storage_like``; view D.

    Raises
    ------
    PeriodMismatchError
        When the two runs do not cover the same steps.
    """
    from pedsim.analysis.report import flows_from_results

    same = (
        int(results.attrs["step_s"]) == int(reference.attrs["step_s"])
        and len(results.index) > 0
        and results.index.equals(reference.index)
    )
    if not same:
        raise PeriodMismatchError(
            f"reference={reference.path}: covers {_period_text(reference)}; expected the "
            f"period of {results.path} ({_period_text(results)}): flexibility KPIs compare "
            "two runs of the same scenario period"
        )
    p_flex = flows_from_results(results).net_kw.sum(axis=1)
    p_ref = flows_from_results(reference).net_kw.sum(axis=1)
    kpis = kpis_flexibility(
        p_flex,
        p_ref,
        dt_h=results.step_h,
        index=results.index,
        windows=[(0, len(results.index))],
        penalty=p_ref,
    )
    out = []
    for k in kpis:
        if k.name in _FLEX_REASONS:
            new = dataclasses.replace(k, value=math.nan, reason=_FLEX_REASONS[k.name], note=None)
        elif k.name == "flexibility_index":
            new = dataclasses.replace(k, note=f"penalty: reference net power; {_FLEX_NOTE}")
        else:
            new = dataclasses.replace(k, note=_FLEX_NOTE)
        out.append(new)
    return out


def run_labels(results: Sequence[Results]) -> list[str]:
    """Column label of each run: its scenario name, or its file stem when names collide.

    Parameters
    ----------
    results : sequence of Results
        The runs, in order.

    Returns
    -------
    list of str
        Unique labels. Runs whose scenario names collide get their file stem; if stems
        collide as well, the file path; a file given twice gets ``#<position>``.
    """
    labels = [str(r.attrs.get("scenario_name") or r.path.stem) for r in results]
    for fallback in (lambda r: r.path.stem, lambda r: str(r.path)):
        dup = {x for x in labels if labels.count(x) > 1}
        labels = [fallback(r) if x in dup else x for r, x in zip(results, labels, strict=True)]
    dup = {x for x in labels if labels.count(x) > 1}
    return [f"{x}#{i + 1}" if x in dup else x for i, x in enumerate(labels)]


@dataclass
class ComparisonRow:
    """One KPI across runs.

    Attributes
    ----------
    key : str
        ``name[view]`` (as in :func:`pedsim.analysis.kpi.kpis_to_json_dict`).
    name, unit, view : str
        The KPI's labels (from the first run that has it).
    values : dict
        Run label -> value (NaN when not computable, None when the run lacks the KPI).
    reasons : dict
        Run label -> why the value is NaN or missing (only such runs).
    diff : dict
        Run label -> value minus the base run's value (runs after the first; None when
        either value is not a number).
    rel_percent : dict
        Run label -> ``100 * diff / |base|`` where meaningful, else None.
    """

    key: str
    name: str
    unit: str
    view: str
    values: dict[str, float | None] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    diff: dict[str, float | None] = field(default_factory=dict)
    rel_percent: dict[str, float | None] = field(default_factory=dict)


@dataclass
class Comparison:
    """KPIs of several runs side by side.

    Attributes
    ----------
    labels : list of str
        Run labels; the first is the base of the differences.
    periods : dict
        Run label -> its KPI period(s).
    rows : list of ComparisonRow
        One per KPI key, in order of first appearance.
    """

    labels: list[str]
    periods: dict[str, list[str]]
    rows: list[ComparisonRow]


def _number(v: float | None) -> bool:
    return v is not None and math.isfinite(v)


def compare_kpis(kpis: Mapping[str, Sequence[KPI]]) -> Comparison:
    """Compare KPI lists of several runs.

    Parameters
    ----------
    kpis : mapping
        Run label -> its KPIs; the first run is the base of the differences.

    Returns
    -------
    Comparison
        Values per run, absolute differences to the base, relative ones where meaningful
        (see :data:`NO_RELATIVE_UNITS`).

    Raises
    ------
    ValueError
        When no run is given.
    """
    labels = list(kpis)
    if not labels:
        raise ValueError("kpis={}: expected the KPIs of at least one run")
    rows: dict[str, ComparisonRow] = {}
    periods: dict[str, list[str]] = {}
    for label, run_kpis in kpis.items():
        items = list(run_kpis)
        periods[label] = list(dict.fromkeys(k.period for k in items))
        for key, k in zip(kpis_to_json_dict(items), items, strict=True):
            row = rows.setdefault(key, ComparisonRow(key, k.name, k.unit, k.view))
            row.values[label] = k.value
            if math.isnan(k.value):
                row.reasons[label] = k.reason or "not computable"
    base = labels[0]
    for row in rows.values():
        for label in labels:
            if label not in row.values:
                row.values[label] = None
                row.reasons[label] = "not computed for this run"
        b = row.values[base]
        for label in labels[1:]:
            v = row.values[label]
            row.diff[label] = row.rel_percent[label] = None
            if b is not None and v is not None and math.isfinite(b) and math.isfinite(v):
                d = v - b
                if abs(d) <= _NOISE * max(abs(v), abs(b)):
                    d = 0.0  # rounding noise of sums in a different order
                row.diff[label] = d
                if row.unit not in NO_RELATIVE_UNITS and b != 0.0:
                    row.rel_percent[label] = 100.0 * d / abs(b)
    return Comparison(labels=labels, periods=periods, rows=list(rows.values()))


def compare_runs(
    results: Sequence[Results], labels: Sequence[str] | None = None
) -> tuple[Comparison, dict[str, Results]]:
    """Compute the KPIs of several runs and compare them.

    Parameters
    ----------
    results : sequence of Results
        The runs; the first is the base of the differences.
    labels : sequence of str, optional
        Column labels (default: :func:`run_labels`).

    Returns
    -------
    tuple of (Comparison, dict)
        The comparison, and run label -> results.
    """
    from pedsim.analysis.report import kpis_from_results

    names = list(labels) if labels is not None else run_labels(results)
    if len(names) != len(results) or len(set(names)) != len(names):
        raise ValueError(f"labels={names!r}: expected {len(results)} unique labels")
    runs = dict(zip(names, results, strict=True))
    return compare_kpis({k: kpis_from_results(r) for k, r in runs.items()}), runs


def _jnum(v: float | None) -> float | None:
    return float(v) if _number(v) else None


def comparison_to_json(comp: Comparison) -> dict[str, dict[str, Any]]:
    """JSON-ready comparison.

    Returns
    -------
    dict
        ``{kpi_key: {'unit', 'view', 'values': {run: v}, 'diff': {run: d},
        'rel_percent': {run: r}, 'reasons': {run: why}}}``; ``diff`` and ``rel_percent``
        hold the runs after the first (the base); NaN and missing values are ``None``
        with their reason in ``reasons``.
    """
    return {
        row.key: {
            "unit": row.unit,
            "view": row.view,
            "values": {k: _jnum(v) for k, v in row.values.items()},
            "diff": {k: _jnum(v) for k, v in row.diff.items()},
            "rel_percent": {k: _jnum(v) for k, v in row.rel_percent.items()},
            "reasons": dict(row.reasons),
        }
        for row in comp.rows
    }


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    return "NaN" if math.isnan(v) else f"{v:.6g}"


def _fmt_diff(d: float | None, rel: float | None) -> str:
    if d is None:
        return ""
    text = f"{d:+.4g}"
    return f"{text} ({rel:+.3g} %)" if rel is not None else text


def format_comparison(comp: Comparison) -> str:
    """Format a comparison as a text table.

    One column per run, then the differences of each later run to the first (absolute,
    with the relative difference in % where meaningful). NaN and missing values are
    explained below the table.

    Parameters
    ----------
    comp : Comparison
        The comparison.

    Returns
    -------
    str
        The table.
    """
    base = comp.labels[0]
    lines = [
        f"run {label}: period {'; '.join(comp.periods[label]) or '-'}" for label in comp.labels
    ]
    if not comp.rows:
        return "\n".join([*lines, "no KPIs: no run holds a completed step"])
    others = comp.labels[1:]
    head = ["KPI", "view", "unit", *comp.labels, *(f"{o} - {base}" for o in others)]
    body = [
        [
            row.name,
            row.view,
            row.unit,
            *(_fmt(row.values[label]) for label in comp.labels),
            *(_fmt_diff(row.diff[o], row.rel_percent[o]) for o in others),
        ]
        for row in comp.rows
    ]
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        left = [f"{c:<{w}}" for c, w in zip(cells[:3], widths[:3], strict=True)]
        right = [f"{c:>{w}}" for c, w in zip(cells[3:], widths[3:], strict=True)]
        return "  ".join(left + right).rstrip()

    lines += [line(head), *(line(r) for r in body)]
    notes = []
    for row in comp.rows:
        if not row.reasons:
            continue
        reasons = set(row.reasons.values())
        if len(row.reasons) == len(comp.labels) and len(reasons) == 1:
            notes.append(f"  {row.key}: {reasons.pop()} (all runs)")
        else:
            notes += [f"  {row.key} ({k}): {why}" for k, why in row.reasons.items()]
    if notes:
        lines += ["not computed:", *notes]
    return "\n".join(lines)
