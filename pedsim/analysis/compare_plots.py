"""Comparison charts of several runs, written as PNG files.

Each chart is drawn on its own :class:`matplotlib.figure.Figure` with the Agg canvas (no
pyplot state). A chart whose series no run records is skipped with a note; a run that
lacks a chart's series is left out of that chart with a note.

Charts
------
``energy_balance.png``
    Import, export, generation and use of each run (view D), kWh.
``trafo_duration_curve.png``
    Duration curve of the transformer power ``grid/p_trafo_kw`` summed over transformers
    (positive: the district draws from the MV grid), kW over the share of the period.
``voltage_envelope.png``
    Lowest and highest bus voltage of each step (``grid/vm_pu``), pu.
``flexibility_envelope.png``
    District up and down flexibility per step, the sum of every recorded
    ``<group>/p_flex_up_kw`` and ``<group>/p_flex_down_kw`` series, kW.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pedsim.results import Results

__all__ = [
    "plot_comparison",
    "plot_duration_curves",
    "plot_energy_balance",
    "plot_flexibility_envelopes",
    "plot_voltage_envelopes",
]

_DPI = 120
_ENVELOPE_BAND_PU = (0.90, 1.10)


def _figure(width: float = 9.0, height: float = 5.0) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, format="png")
    return path


def _colors(n: int) -> list[tuple[float, ...]]:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]


def _styles(n: int) -> list[str]:
    return [("-", "--", ":", "-.")[i % 4] for i in range(n)]


def _steps(res: Results, *arrays: np.ndarray) -> tuple[pd.DatetimeIndex, list[np.ndarray]]:
    """Step edges (the step starts and the period end) and the values repeated at the end."""
    end = res.index[-1] + pd.Timedelta(seconds=int(res.attrs["step_s"]))
    t = res.index.append(pd.DatetimeIndex([end]))
    return t, [np.append(a, a[-1]) for a in arrays]


def _time_axis(ax: Axes) -> None:
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _period(res: Results) -> str:
    if len(res.index) == 0:
        return "no step"
    end = res.index[-1] + pd.Timedelta(seconds=int(res.attrs["step_s"]))
    return f"{res.index[0]:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}"


def _subtitle(runs: Mapping[str, Results]) -> str:
    periods = {_period(r) for r in runs.values()}
    return periods.pop() if len(periods) == 1 else "runs cover different periods"


def plot_energy_balance(runs: Mapping[str, Results], path: Path) -> tuple[Path | None, list[str]]:
    """Draw grouped bars of import, export, generation and use (view D) per run.

    Parameters
    ----------
    runs : mapping
        Run label -> results.
    path : pathlib.Path
        PNG file to write.

    Returns
    -------
    tuple of (pathlib.Path or None, list of str)
        The file written (None when skipped) and notes.
    """
    from pedsim.analysis.report import flows_from_results

    notes: list[str] = []
    totals: dict[str, list[float]] = {}
    for label, res in runs.items():
        if len(res.index) == 0:
            notes.append(f"energy balance: run {label} holds no completed step; left out")
            continue
        f = flows_from_results(res)
        totals[label] = [
            f.energy_kwh(f.import_kw("D")),
            f.energy_kwh(f.export_kw("D")),
            f.energy_kwh(f.generation_kw),
            f.energy_kwh(f.load_kw),
        ]
    if not totals:
        return None, [*notes, "energy balance: no run holds a completed step; chart skipped"]
    cats = ["import", "export", "generation", "use"]
    fig, ax = _figure()
    x = np.arange(len(cats))
    width = 0.8 / len(totals)
    for i, ((label, vals), color) in enumerate(
        zip(totals.items(), _colors(len(totals)), strict=True)
    ):
        bars = ax.bar(
            x + (i - (len(totals) - 1) / 2) * width, vals, width, label=label, color=color
        )
        ax.bar_label(bars, fmt="{:,.0f}", fontsize=8, padding=2)
    ax.set_xticks(x, cats)
    ax.set_ylabel("energy (kWh)")
    ax.set_title(f"District energy balance (view D)\n{_subtitle(runs)}")
    ax.margins(y=0.12)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(title="run", loc="upper center")
    return _save(fig, path), notes


def plot_duration_curves(runs: Mapping[str, Results], path: Path) -> tuple[Path | None, list[str]]:
    """Duration curves of the transformer power (summed over transformers), one per run.

    Parameters
    ----------
    runs : mapping
        Run label -> results.
    path : pathlib.Path
        PNG file to write.

    Returns
    -------
    tuple of (pathlib.Path or None, list of str)
        The file written (None when skipped) and notes.
    """
    notes: list[str] = []
    curves: dict[str, np.ndarray] = {}
    for label, res in runs.items():
        p = res.series.get("grid/p_trafo_kw")
        if p is None or len(res.index) == 0:
            notes.append(f"transformer duration curve: run {label} has no grid/p_trafo_kw")
            continue
        total = np.asarray(p, dtype=float).reshape(len(res.index), -1).sum(axis=1)
        curves[label] = np.sort(total)[::-1]
    if not curves:
        return None, [*notes, "transformer duration curve: no run records grid/p_trafo_kw"]
    fig, ax = _figure()
    looks = zip(curves.items(), _colors(len(curves)), _styles(len(curves)), strict=True)
    for (label, curve), color, ls in looks:
        share = 100.0 * (np.arange(curve.size) + 0.5) / curve.size
        ax.plot(share, curve, label=label, color=color, ls=ls, lw=1.6)
    ax.axhline(0.0, color="0.3", lw=0.8)
    ax.set_xlim(0.0, 100.0)
    ax.set_xlabel("share of the period with at least this power (%)")
    ax.set_ylabel("transformer power (kW)\n> 0: drawn from the MV grid, < 0: reverse flow")
    ax.set_title(f"Duration curve of the MV/LV transformer power\n{_subtitle(runs)}")
    ax.grid(alpha=0.3)
    ax.legend(title="run")
    return _save(fig, path), notes


def plot_voltage_envelopes(
    runs: Mapping[str, Results], path: Path
) -> tuple[Path | None, list[str]]:
    """Lowest and highest bus voltage per step, one band per run.

    Parameters
    ----------
    runs : mapping
        Run label -> results.
    path : pathlib.Path
        PNG file to write.

    Returns
    -------
    tuple of (pathlib.Path or None, list of str)
        The file written (None when skipped) and notes.
    """
    notes: list[str] = []
    bands: dict[str, tuple[pd.DatetimeIndex, np.ndarray, np.ndarray]] = {}
    for label, res in runs.items():
        vm = res.series.get("grid/vm_pu")
        if vm is None or len(res.index) == 0:
            notes.append(f"voltage envelope: run {label} has no grid/vm_pu")
            continue
        arr = np.asarray(vm, dtype=float).reshape(len(res.index), -1)
        t, (lo, hi) = _steps(res, np.nanmin(arr, axis=1), np.nanmax(arr, axis=1))
        bands[label] = (t, lo, hi)
    if not bands:
        return None, [*notes, "voltage envelope: no run records grid/vm_pu"]
    fig, ax = _figure(10.0, 5.0)
    lo_all, hi_all = np.inf, -np.inf
    looks = zip(bands.items(), _colors(len(bands)), _styles(len(bands)), strict=True)
    for (label, (t, lo, hi)), color, ls in looks:
        ax.fill_between(t, lo, hi, step="post", color=color, alpha=0.2, lw=0)
        ax.step(t, lo, where="post", color=color, ls=ls, lw=1.1, label=f"{label}: min / max")
        ax.step(t, hi, where="post", color=color, ls=ls, lw=1.1)
        lo_all, hi_all = min(lo_all, float(lo.min())), max(hi_all, float(hi.max()))
    band_lo, band_hi = _ENVELOPE_BAND_PU
    if lo_all < band_lo + 0.02 or hi_all > band_hi - 0.02:
        for v in _ENVELOPE_BAND_PU:
            ax.axhline(v, color="firebrick", ls="--", lw=0.9)
        notes.append("voltage envelope: dashed lines mark the 0.90-1.10 pu band")
    _time_axis(ax)
    ax.set_ylabel("bus voltage (pu)")
    ax.set_xlabel("time")
    ax.set_title(f"Voltage envelope: lowest and highest bus voltage per step\n{_subtitle(runs)}")
    ax.grid(alpha=0.3)
    ax.legend(title="run", fontsize=8)
    return _save(fig, path), notes


def _flex_series(res: Results, direction: str) -> np.ndarray | None:
    names = sorted(k for k in res.series if k.endswith(f"/p_flex_{direction}_kw"))
    if not names or len(res.index) == 0:
        return None
    n = len(res.index)
    return sum(np.asarray(res.series[k], dtype=float).reshape(n, -1).sum(axis=1) for k in names)


def plot_flexibility_envelopes(
    runs: Mapping[str, Results], path: Path
) -> tuple[Path | None, list[str]]:
    """District up and down flexibility per step, one pair of curves per run.

    Parameters
    ----------
    runs : mapping
        Run label -> results; the series ``<group>/p_flex_up_kw`` and
        ``<group>/p_flex_down_kw`` of every group are summed.
    path : pathlib.Path
        PNG file to write.

    Returns
    -------
    tuple of (pathlib.Path or None, list of str)
        The file written (None when no run records flexibility envelopes) and notes.
    """
    notes: list[str] = []
    env: dict[str, tuple[pd.DatetimeIndex, np.ndarray, np.ndarray]] = {}
    for label, res in runs.items():
        up, down = _flex_series(res, "up"), _flex_series(res, "down")
        if up is None or down is None:
            notes.append(f"flexibility envelope: run {label} records no flexibility envelope")
            continue
        t, (up, down) = _steps(res, up, down)
        env[label] = (t, up, down)
    if not env:
        return None, [
            "flexibility envelope: no run records flexibility envelopes "
            "(series <group>/p_flex_up_kw and <group>/p_flex_down_kw); chart skipped"
        ]
    fig, ax = _figure(10.0, 5.0)
    looks = zip(env.items(), _colors(len(env)), _styles(len(env)), strict=True)
    for (label, (t, up, down)), color, ls in looks:
        ax.fill_between(t, -down, up, step="post", color=color, alpha=0.2, lw=0)
        ax.step(t, up, where="post", color=color, ls=ls, lw=1.1, label=f"{label}: up / down")
        ax.step(t, -down, where="post", color=color, ls=ls, lw=1.1)
    ax.axhline(0.0, color="0.3", lw=0.8)
    _time_axis(ax)
    ax.set_ylabel("flexibility (kW)\n+: extra use possible, -: reduction possible")
    ax.set_xlabel("time")
    ax.set_title(f"District flexibility envelope\n{_subtitle(runs)}")
    ax.grid(alpha=0.3)
    ax.legend(title="run", fontsize=8)
    return _save(fig, path), notes


def plot_comparison(runs: Mapping[str, Results], out_dir: Path) -> tuple[list[Path], list[str]]:
    """Write every comparison chart of the runs into ``out_dir``.

    Parameters
    ----------
    runs : mapping
        Run label -> results, in display order.
    out_dir : pathlib.Path
        Directory for the PNG files (created if missing).

    Returns
    -------
    tuple of (list of pathlib.Path, list of str)
        The files written, and notes on what was skipped or left out.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    notes: list[str] = []
    for func, name in (
        (plot_energy_balance, "energy_balance.png"),
        (plot_duration_curves, "trafo_duration_curve.png"),
        (plot_voltage_envelopes, "voltage_envelope.png"),
        (plot_flexibility_envelopes, "flexibility_envelope.png"),
    ):
        path, more = func(runs, out_dir / name)
        notes += more
        if path is not None:
            written.append(path)
    return written, notes
