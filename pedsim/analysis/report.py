"""KPIs of a results file, and their presentation as a table or JSON."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from pedsim.analysis.kpi import (
    KPI,
    Flows,
    kpis_energy_balance,
    kpis_grid,
    kpis_load_matching,
    kpis_to_json_dict,
)
from pedsim.results import Results


def _per_bus(frame: pd.DataFrame, buses: list[str], columns: list[str]) -> pd.DataFrame:
    """Sum unit columns onto their buses (the points of delivery)."""
    grouped = frame.T.groupby(np.asarray(buses)).sum().T
    return grouped.reindex(columns=columns, fill_value=0.0)


def flows_from_results(results: Results) -> Flows:
    """Electric flows per point of delivery (grid bus) of a run.

    Each grid bus with a load or a PV plant is one point of delivery: its use is the sum
    of its loads, its generation the sum of its PV plants' output.

    Parameters
    ----------
    results : Results
        A results file read with :func:`pedsim.results.read_results`.

    Returns
    -------
    Flows
        Load and generation in kW per point of delivery, at the run's step.
    """
    loads = results.series.get("loads/p_kw")
    pv = results.series.get("pv/p_kw")
    load_bus = results.labels.get("loads_bus", [])
    pv_bus = results.labels.get("pv_bus", [])
    buses = sorted(set(load_bus) | set(pv_bus), key=int)
    empty = pd.DataFrame(0.0, index=results.index, columns=buses)
    load = _per_bus(loads, load_bus, buses) if loads is not None else empty
    gen = -_per_bus(pv, pv_bus, buses) if pv is not None else empty
    return Flows(
        load_kw=load.to_numpy(),
        generation_kw=np.clip(gen.to_numpy(), 0.0, None),
        dt_h=results.step_h,
        index=results.index,
        building_ids=[f"bus {b}" for b in buses],
    )


def kpis_from_results(results: Results) -> list[KPI]:
    """Compute every KPI that a results file supports.

    Parameters
    ----------
    results : Results
        A results file.

    Returns
    -------
    list of KPI
        Energy balance and load matching (views D and P), and grid KPIs.
    """
    if len(results.index) == 0:
        return []
    flows = flows_from_results(results)
    nominal = {
        "p_pv_nom_kw": results.attrs.get("p_pv_nom_kw"),
        "p_conn_kw": results.attrs.get("p_conn_kw"),
    }
    kpis = [*kpis_energy_balance(flows), *kpis_load_matching(flows, **nominal)]
    s = results.series
    grid_args: dict[str, Any] = {
        "vm_pu": s.get("grid/vm_pu"),
        "loading_line_percent": s.get("grid/loading_line_percent"),
        "loading_trafo_percent": s.get("grid/loading_trafo_percent"),
        "p_loss_kw": s.get("grid/p_loss_kw"),
        "p_trafo_kw": s.get("grid/p_trafo_kw"),
    }
    if any(v is not None for v in grid_args.values()):
        grid_args = {k: (v.to_numpy() if v is not None else None) for k, v in grid_args.items()}
        kpis += kpis_grid(
            **grid_args,
            dt_h=results.step_h,
            index=results.index,
            e_load_kwh=float(flows.load_kw.sum() * results.step_h),
        )
    return kpis


def kpis_to_json(kpis: Iterable[KPI]) -> dict[str, Any]:
    """JSON-ready KPIs: keys are KPI names with units (and view), values carry unit/view/period."""
    return kpis_to_json_dict(kpis)


def format_kpi_table(kpis: Iterable[KPI]) -> str:
    """Format KPIs as an aligned text table (NaN values show their reason).

    Parameters
    ----------
    kpis : iterable of KPI
        The KPIs.

    Returns
    -------
    str
        The table, one KPI per line, with the period(s) stated above it.
    """
    items = list(kpis)
    if not items:
        return "no KPIs: the results file holds no completed step"
    periods = list(dict.fromkeys(k.period for k in items))
    lines = [f"period: {p}" for p in periods]
    width = max(len(k.name) for k in items)
    lines.append(f"{'KPI':<{width}}  {'view':<5} {'value':>14}  unit")
    for k in items:
        if math.isnan(k.value):
            value = "NaN"
            tail = f"  ({k.reason})" if k.reason else ""
        else:
            value = f"{k.value:.6g}"
            tail = ""
        extra = f"  [{k.period}]" if len(periods) > 1 else ""
        lines.append(f"{k.name:<{width}}  {k.view:<5} {value:>14}  {k.unit}{tail}{extra}")
    return "\n".join(lines)
