"""KPIs of a results file, and their presentation as a table or JSON."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from pedsim.analysis.control import kpis_control
from pedsim.analysis.flex import kpis_flex
from pedsim.analysis.kpi import (
    KPI,
    Flows,
    kpis_energy_balance,
    kpis_grid,
    kpis_load_matching,
    kpis_to_json_dict,
)
from pedsim.analysis.thermal import kpis_thermal
from pedsim.results import Results

#: Role of each recorded unit group in the electric flows of the KPI specification:
#: ``load`` is electric use l (appliances, heat pumps, EV charging), ``generation`` is PV
#: output g (recorded negative, load convention), ``storage`` is battery net charge s.
GROUP_ROLES: dict[str, str] = {
    "loads": "load",
    "heat_pumps": "load",
    "ev": "load",
    "pv": "generation",
    "storage": "storage",
}


def _per_bus(frame: pd.DataFrame, buses: list[str], columns: list[str]) -> pd.DataFrame:
    """Sum unit columns onto their buses (the points of delivery)."""
    grouped = frame.T.groupby(np.asarray(buses)).sum().T
    return grouped.reindex(columns=columns, fill_value=0.0)


def flows_from_results(results: Results) -> Flows:
    """Electric flows per point of delivery (grid bus) of a run.

    Each grid bus with a recorded unit (load, heat pump, EV, PV plant, battery) is one
    point of delivery; the units' powers are summed onto it by their role in
    :data:`GROUP_ROLES`.

    Parameters
    ----------
    results : Results
        A results file read with :func:`pedsim.results.read_results`.

    Returns
    -------
    Flows
        Use, generation (and storage, EV and heat parts where recorded) in kW per point
        of delivery, at the run's step.
    """
    present = [g for g in GROUP_ROLES if f"{g}/p_kw" in results.series]
    buses = sorted({b for g in present for b in results.labels.get(f"{g}_bus", [])}, key=int)
    zero = pd.DataFrame(0.0, index=results.index, columns=buses)
    parts = {role: zero.copy() for role in ("load", "generation", "storage")}
    by_group = {}
    for group in present:
        per_bus = _per_bus(results[f"{group}/p_kw"], results.labels[f"{group}_bus"], buses)
        by_group[group] = per_bus
        parts[GROUP_ROLES[group]] += per_bus
    return Flows(
        load_kw=parts["load"].to_numpy(),
        generation_kw=np.clip(-parts["generation"].to_numpy(), 0.0, None),
        storage_kw=parts["storage"].to_numpy() if "storage" in by_group else None,
        ev_kw=by_group["ev"].to_numpy() if "ev" in by_group else None,
        heat_kw=by_group["heat_pumps"].to_numpy() if "heat_pumps" in by_group else None,
        dt_h=results.step_h,
        index=results.index,
        building_ids=[f"bus {b}" for b in buses],
    )


def kpis_from_results(results: Results, reference: Results | None = None) -> list[KPI]:
    """Compute every KPI that a results file supports.

    Parameters
    ----------
    results : Results
        A results file.
    reference : Results, optional
        A reference run of the same scenario period (e.g. control off): adds the
        flexibility KPIs of the district net power against it (see
        :func:`pedsim.analysis.compare.kpis_against_reference`).

    Returns
    -------
    list of KPI
        Energy balance and load matching (views D and P), grid KPIs, and with a reference
        the flexibility KPIs.

    Raises
    ------
    pedsim.analysis.compare.PeriodMismatchError
        When ``reference`` does not cover the same period at the same step.
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
    kpis += kpis_thermal(results)
    kpis += kpis_flex(results)
    kpis += kpis_control(results)
    if reference is not None:
        from pedsim.analysis.compare import kpis_against_reference

        kpis += kpis_against_reference(results, reference)
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
