"""KPIs of EV fleets and batteries from a results file.

EV service (:func:`pedsim.analysis.kpi.kpis_ev_service`) is evaluated per departure from the
recorded ``ev/e_unmet_kwh`` and ``ev/n_departures``: each departure's required energy is
taken as what was still missing at that departure and the delivered energy as zero, which
gives the same served share and unmet energy as required and delivered energies would (an
EV leaving twice within one step counts its unmet energy on the first of the two). EV
charged and V2G energies are the positive and negative parts of ``ev/p_kw``.

Battery KPIs (:func:`pedsim.analysis.kpi.kpis_battery`) use ``storage/p_kw`` (AC side) and
the capacities stored with the run (root attribute ``storage_capacity_kwh``).
"""

from __future__ import annotations

import numpy as np

from pedsim.analysis.kpi import KPI, kpis_battery, kpis_ev_service, period_label
from pedsim.analysis.kpi.core import KPIList
from pedsim.results import Results

EV_SERVICE_KPIS = (
    ("ev_departures_served_share", "-"),
    ("e_ev_unmet_kwh", "kWh"),
    ("e_v2g_kwh", "kWh"),
)
BATTERY_KPIS = (
    ("e_battery_charged_kwh", "kWh"),
    ("e_battery_discharged_kwh", "kWh"),
    ("e_battery_throughput_kwh", "kWh"),
    ("battery_efc", "-"),
)


def kpis_flex(results: Results) -> list[KPI]:
    """EV and battery KPIs of a run (NaN with a reason where the series are missing).

    Parameters
    ----------
    results : Results
        A results file read with :func:`pedsim.results.read_results`.

    Returns
    -------
    list of KPI
        ``e_ev_charged_kwh``, ``ev_departures_served_share``, ``e_ev_unmet_kwh``,
        ``e_v2g_kwh``, ``e_battery_charged_kwh``, ``e_battery_discharged_kwh``,
        ``e_battery_throughput_kwh`` and ``battery_efc``; view D.
    """
    n = len(results.index)
    if n == 0:
        return []
    dt_h = results.step_h
    period = period_label(n, dt_h, results.index)
    out = KPIList(period, source="KPI-SPEC 7")
    s = results.series
    if "ev/p_kw" in s:
        p_ev = s["ev/p_kw"].to_numpy(dtype=float)
        out.add("e_ev_charged_kwh", float(np.clip(p_ev, 0.0, None).sum()) * dt_h, "kWh")
    else:
        out.missing("e_ev_charged_kwh", "kWh", "series ev/p_kw (no EVs in the run)")
    items = out.items
    if all(k in s for k in ("ev/p_kw", "ev/e_unmet_kwh", "ev/n_departures")):
        unmet = s["ev/e_unmet_kwh"].to_numpy(dtype=float)
        deps = np.rint(s["ev/n_departures"].to_numpy(dtype=float)).astype(np.int64)
        at_dep = deps > 0
        required = np.concatenate([unmet[at_dep], np.zeros(int((deps[at_dep] - 1).sum()))])
        v2g = float(np.clip(-p_ev, 0.0, None).sum()) * dt_h
        items += kpis_ev_service(required, np.zeros_like(required), v2g, period=period)
    else:
        for name, unit in EV_SERVICE_KPIS:
            out.missing(name, unit, "series ev/e_unmet_kwh and ev/n_departures")
    cap = results.attrs.get("storage_capacity_kwh")
    if "storage/p_kw" in s and cap is not None:
        items += kpis_battery(s["storage/p_kw"], np.asarray(cap, dtype=float), dt_h, results.index)
    else:
        what = "series storage/p_kw" if "storage/p_kw" not in s else "storage_capacity_kwh"
        for name, unit in BATTERY_KPIS:
            out.missing(name, unit, f"{what} (no batteries in the run)")
    return items
