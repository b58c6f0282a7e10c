"""Plots of results files (PNG, matplotlib's Agg canvas; no pyplot, no global state)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pedsim.analysis.thermal import comfort_band
from pedsim.results import Results, read_results

WEEK = pd.Timedelta(days=7)


def _winter_week_start(results: Results) -> pd.Timestamp:
    """Start (midnight) of the 7 days with the most heat-pump electricity, else the first step."""
    index = results.index
    if "heat_pumps/p_kw" not in results.series or index[-1] - index[0] < WEEK:
        return index[0]
    daily = results["heat_pumps/p_kw"].sum(axis=1).resample("D").sum()
    weekly = daily.rolling(7).sum().dropna()
    if weekly.empty:
        return index[0]
    return max(pd.Timestamp(weekly.idxmax()) - pd.Timedelta(days=6), index[0])


def _total(results: Results, name: str, sl: slice, sign: float = 1.0) -> pd.Series | None:
    if name not in results.series:
        return None
    frame = results[name].loc[sl]
    return sign * (frame.sum(axis=1) if frame.ndim == 2 else frame)


def plot_week(
    results: Results | str | Path,
    start: str | pd.Timestamp | None = None,
    out: str | Path | None = None,
) -> Path:
    """Plot one week of a run: zone temperatures, heat-pump power and PV, as a PNG.

    Panels: (1) zone air temperature of all buildings (median, range, comfort band);
    (2) district heat-pump electricity and heat delivered (space heating and hot water);
    (3) PV generation and household electricity (SimBench loads) of the district. Panels
    whose series are missing say so.

    Parameters
    ----------
    results : Results or str or pathlib.Path
        A results file, or its path.
    start : str or pandas.Timestamp, optional
        First time shown (the scenario's clock); default the start of the 7 days with the
        most heat-pump electricity (a winter week), or the first step.
    out : str or pathlib.Path, optional
        PNG file to write; default ``<results file stem>-week.png`` next to the results.

    Returns
    -------
    pathlib.Path
        The PNG written.

    Raises
    ------
    ValueError
        If the file holds no step or ``start`` lies outside the run.
    """
    res = results if isinstance(results, Results) else read_results(results)
    if len(res.index) == 0:
        raise ValueError(f"{res.path}: no completed step to plot")
    t0 = _winter_week_start(res) if start is None else pd.Timestamp(start)
    if not res.index[0] <= t0 <= res.index[-1]:
        raise ValueError(
            f"start={t0}: expected a time within the run [{res.index[0]}, {res.index[-1]}]"
        )
    sl = slice(t0, t0 + WEEK - pd.Timedelta(seconds=1))
    out_path = Path(out) if out is not None else res.path.with_name(f"{res.path.stem}-week.png")

    fig = Figure(figsize=(11, 8.5), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(3, 1, sharex=True)
    name = res.attrs.get("scenario_name", res.path.stem)
    fig.suptitle(f"{name}: week from {t0:%Y-%m-%d %H:%M}", fontsize=13)

    ax = axes[0]
    if "buildings/t_zone_degc" in res.series:
        t = res["buildings/t_zone_degc"].loc[sl]
        x = t.index.to_numpy()
        low, high = comfort_band(res)
        ax.axhspan(low, high, color="tab:green", alpha=0.12, label=f"comfort band {low:g}-{high:g}")
        ax.fill_between(x, t.min(axis=1), t.max(axis=1), color="tab:red", alpha=0.25,
                        step="post", label=f"range of {t.shape[1]} buildings")  # fmt: skip
        ax.step(x, t.median(axis=1), where="post", color="tab:red", label="median")
        ax.set_ylim(min(low - 1.0, float(np.nanmin(t.to_numpy())) - 0.5),
                    max(high + 1.0, float(np.nanmax(t.to_numpy())) + 0.5))  # fmt: skip
        ax.legend(loc="upper left", fontsize=9, ncols=3)
    else:
        _missing(ax, "buildings/t_zone_degc")
    ax.set_ylabel("zone air temperature (°C)")
    t_out = _total(res, "weather/t_out_degc", sl)
    if t_out is not None:
        twin = ax.twinx()
        twin.step(t_out.index.to_numpy(), t_out, where="post", color="tab:blue", lw=1.0,
                  ls="--", label="outdoor air")  # fmt: skip
        twin.set_ylabel("outdoor air temperature (°C)", color="tab:blue")
        twin.tick_params(axis="y", colors="tab:blue")
        twin.legend(loc="upper right", fontsize=9)

    ax = axes[1]
    hp = _total(res, "heat_pumps/p_kw", sl)
    if hp is not None:
        x = hp.index.to_numpy()
        heat = _total(res, "buildings/q_heat_w", sl, 1e-3)
        dhw = _total(res, "buildings/q_dhw_w", sl, 1e-3)
        if heat is not None:
            total = heat + (dhw if dhw is not None else 0.0)
            ax.step(x, total, where="post", color="tab:orange", label="heat delivered (kW th)")
        ax.step(x, hp, where="post", color="tab:blue", label="heat-pump electricity (kW el)")
        ax.legend(loc="upper right", fontsize=9, ncols=2)
        ax.set_ylim(bottom=0.0)
    else:
        _missing(ax, "heat_pumps/p_kw")
    ax.set_ylabel("district total (kW)")

    ax = axes[2]
    pv = _total(res, "pv/p_kw", sl, -1.0)
    loads = _total(res, "loads/p_kw", sl)
    if pv is None and loads is None:
        _missing(ax, "pv/p_kw and loads/p_kw")
    if loads is not None:
        ax.step(loads.index.to_numpy(), loads, where="post", color="tab:gray",
                label="household electricity (SimBench loads)")  # fmt: skip
    if pv is not None:
        ax.fill_between(pv.index.to_numpy(), 0.0, pv, step="post", color="gold", alpha=0.6,
                        label="PV generation")  # fmt: skip
    if pv is not None or loads is not None:
        ax.legend(loc="upper right", fontsize=9, ncols=2)
        ax.set_ylim(bottom=0.0)
    ax.set_ylabel("district total (kW)")

    locator = mdates.DayLocator()
    axes[-1].xaxis.set_major_locator(locator)
    axes[-1].xaxis.set_major_formatter(mdates.DateFormatter("%a %d %b"))
    axes[-1].set_xlim(t0, t0 + WEEK)
    for ax in axes:
        ax.grid(True, alpha=0.3)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, dpi=110)
    return out_path


def _missing(ax: object, what: str) -> None:
    ax.text(0.5, 0.5, f"not recorded: {what}", ha="center", va="center",
            transform=ax.transAxes, color="gray")  # fmt: skip
