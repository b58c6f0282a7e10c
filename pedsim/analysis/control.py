"""KPIs of the district controller: energy cost, CO2, limits, solver statistics.

All energy KPIs are the district view ``D`` at the transformer(s): ``P_t`` is the summed
``grid/p_trafo_kw`` of step ``t`` (+ import, so grid losses of the district are included),
``dt`` the step in hours, and the signals are the ones the controller used (recorded as
``control/price_eur_per_kwh``, ``control/feed_in_eur_per_kwh``, ``control/co2_kg_per_kwh``):

================================  =======  =================================================
KPI                               unit     definition
================================  =======  =================================================
``cost_energy_eur``               EUR      ``sum (price_t max(P_t, 0) - feed_in_t max(-P_t,
                                           0)) dt``
``co2_import_kg``                 kg       ``sum co2_t max(P_t, 0) dt`` (attributional: no
                                           credit for export)
``control_fallbacks``             1        steps the optimising strategy handed to its rule
``control_solves``                1        optimisations solved
``control_solve_time_mean_s``     s        mean wall time of a solve
``control_solve_time_max_s``      s        longest solve
``limit_violation_steps``         1        steps with ``P_t`` beyond ``control.parameters``
                                           ``import_limit_kw``/``export_limit_kw``
``limit_kept_share``              1        share of steps within those limits
``limit_violation_flagged_steps``  1       violation steps the strategy had announced, when
                                           deciding them, it could not avoid (its assets at
                                           their limits: ``control/limit_kept`` = 0, recorded
                                           one step before with ``loop: time_shifted``, at the
                                           step itself with ``loop: same_time``)
================================  =======  =================================================

Without a ``control`` group (no controller in the run) the KPIs are NaN with the reason.
Discomfort degree-hours are :func:`pedsim.analysis.thermal.kpis_thermal`'s
``discomfort_degree_hours_kh``.
"""

from __future__ import annotations

import math

import numpy as np
import yaml

from pedsim.analysis.kpi import KPI, period_label
from pedsim.analysis.kpi.core import KPIList
from pedsim.results import Results

SOURCE = "pedsim control KPIs (pedsim.analysis.control)"
CONTROL_KPIS = (
    ("cost_energy_eur", "EUR"),
    ("co2_import_kg", "kg"),
    ("control_fallbacks", "-"),
    ("control_solves", "-"),
    ("control_solve_time_mean_s", "s"),
    ("control_solve_time_max_s", "s"),
    ("limit_violation_steps", "-"),
    ("limit_kept_share", "-"),
    ("limit_violation_flagged_steps", "-"),
)


def limits_from_results(results: Results) -> tuple[float, float]:
    """Import and export limits of the run's ``control.parameters`` (``inf``: none)."""
    try:
        raw = yaml.safe_load(results.scenario_text) or {}
        params = (raw.get("control") or {}).get("parameters") or {}
        return (
            float(params.get("import_limit_kw", math.inf)),
            float(params.get("export_limit_kw", math.inf)),
        )
    except (yaml.YAMLError, AttributeError, TypeError, ValueError):
        return math.inf, math.inf


def kpis_control(results: Results) -> list[KPI]:
    """Cost, CO2, limit and solver KPIs of a run (see the module docstring).

    Parameters
    ----------
    results : Results
        A results file read with :func:`pedsim.results.read_results`.

    Returns
    -------
    list of KPI
        The KPIs of :data:`CONTROL_KPIS`; view D.
    """
    n = len(results.index)
    if n == 0:
        return []
    dt_h = results.step_h
    out = KPIList(period_label(n, dt_h, results.index), source=SOURCE)
    s = results.series
    needed = ("grid/p_trafo_kw", "control/price_eur_per_kwh", "control/co2_kg_per_kwh")
    if not all(k in s for k in needed):
        for name, unit in CONTROL_KPIS:
            out.missing(name, unit, "series control/* (no controller in the run)")
        return out.items
    p = np.asarray(s["grid/p_trafo_kw"].to_numpy(dtype=float)).reshape(n, -1).sum(axis=1)
    imp, exp = np.clip(p, 0.0, None), np.clip(-p, 0.0, None)
    price = s["control/price_eur_per_kwh"].to_numpy(dtype=float)
    feed = s["control/feed_in_eur_per_kwh"].to_numpy(dtype=float)
    co2 = s["control/co2_kg_per_kwh"].to_numpy(dtype=float)
    out.add("cost_energy_eur", float((price * imp - feed * exp).sum() * dt_h), "EUR")
    out.add("co2_import_kg", float((co2 * imp).sum() * dt_h), "kg")
    fb = s["control/fallback"].to_numpy(dtype=float)
    out.add("control_fallbacks", float(np.nansum(fb)), "-")
    t = s["control/solve_time_s"].to_numpy(dtype=float)
    t = t[np.isfinite(t)]
    out.add("control_solves", float(t.size), "-")
    why = "no optimisation solved in the run"
    out.add("control_solve_time_mean_s", float(t.mean()) if t.size else math.nan, "s", reason=why)
    out.add("control_solve_time_max_s", float(t.max()) if t.size else math.nan, "s", reason=why)
    imp_lim, exp_lim = limits_from_results(results)
    bad = (p > imp_lim + 1e-6) | (p < -exp_lim - 1e-6)
    out.add("limit_violation_steps", float(bad.sum()), "-")
    out.add("limit_kept_share", float(1.0 - bad.mean()), "-")
    # set-points recorded at step t act in step t + 1 (time-shifted loop)
    kept = s["control/limit_kept"].to_numpy(dtype=float) if "control/limit_kept" in s else None
    if kept is None:
        out.missing("limit_violation_flagged_steps", "-", "series control/limit_kept")
    else:
        flagged = np.zeros(n, dtype=bool)
        if _same_time(results):
            flagged = kept == 0.0
        else:
            flagged[1:] = kept[:-1] == 0.0
        out.add("limit_violation_flagged_steps", float((bad & flagged).sum()), "-")
    return out.items


def _same_time(results: Results) -> bool:
    """Whether the run's control loop was ``same_time`` (decisions for the same step)."""
    try:
        raw = yaml.safe_load(results.scenario_text) or {}
        return (raw.get("control") or {}).get("loop") == "same_time"
    except (yaml.YAMLError, AttributeError):
        return False


__all__ = ["CONTROL_KPIS", "kpis_control", "limits_from_results"]
