"""Thermal and PV KPIs of a results file: heat, heat-pump electricity, SCOP, PV yield, comfort.

All sums run over every step and unit of the run; view ``D`` (the district).

==============================  =======  ===================================================
KPI                             unit     definition
==============================  =======  ===================================================
``e_heat_space_kwh``            kWh      space heat delivered, ``sum q_heat_w dt / 1000``
``e_heat_dhw_kwh``              kWh      hot-water heat delivered, ``sum q_dhw_w dt / 1000``
``e_heat_unmet_kwh``            kWh      heat demand not met, ``sum q_unmet_w dt / 1000``
``e_hp_el_kwh``                 kWh      heat-pump electricity, ``sum heat_pumps/p_kw dt``
``scop``                        1        (space + hot-water heat) / heat-pump electricity
``e_pv_kwh``                    kWh      PV AC generation, ``-sum pv/p_kw dt``
``pv_yield_kwh_kwp``            kWh/kWp  ``e_pv_kwh`` / installed kWp (``p_pv_nom_kw``)
``discomfort_degree_hours_kh``  K.h      :func:`pedsim.analysis.kpi.kpis_comfort` on the
                                         zone air temperatures and the comfort band
``discomfort_share``            1        share of building-steps outside the band
==============================  =======  ===================================================

The seasonal COP is a ratio of sums over the period (standing losses of buffer tanks are
losses of the system). A missing series gives NaN with the reason.
"""

from __future__ import annotations

import math

import numpy as np
import yaml

from pedsim.analysis.kpi import KPI, kpis_comfort, period_label
from pedsim.analysis.kpi.core import KPIList
from pedsim.results import Results
from pedsim.scenario.thermal import BuildingsConfig

SOURCE = "pedsim thermal KPIs (pedsim.analysis.thermal)"


def comfort_band(results: Results) -> tuple[float, float]:
    """Comfort band of the run's scenario (``buildings.comfort_band_degc`` or its default)."""
    default = BuildingsConfig.model_fields["comfort_band_degc"].default
    try:
        raw = yaml.safe_load(results.scenario_text) or {}
        band = (raw.get("buildings") or {}).get("comfort_band_degc", default)
        low, high = (float(x) for x in band)
    except (yaml.YAMLError, AttributeError, TypeError, ValueError):
        return default
    return (low, high) if low < high else default


def _energy_kwh(results: Results, name: str, scale: float) -> float | None:
    if name not in results.series:
        return None
    return float(np.nansum(results[name].to_numpy()) * results.step_h * scale)


def kpis_thermal(results: Results, *, per_building: bool = False) -> list[KPI]:
    """Heat, heat-pump electricity, SCOP, PV yield and discomfort of a run.

    Parameters
    ----------
    results : Results
        A results file read with :func:`pedsim.results.read_results`.
    per_building : bool
        Also report discomfort per building (views ``building:<name>``).

    Returns
    -------
    list of KPI
        See the module docstring; empty when the file holds no completed step.
    """
    n = len(results.index)
    if n == 0:
        return []
    dt_h = results.step_h
    out = KPIList(period_label(n, dt_h, results.index), view="D", source=SOURCE)
    sums = {
        "e_heat_space_kwh": ("buildings/q_heat_w", 1e-3),
        "e_heat_dhw_kwh": ("buildings/q_dhw_w", 1e-3),
        "e_heat_unmet_kwh": ("buildings/q_unmet_w", 1e-3),
        "e_hp_el_kwh": ("heat_pumps/p_kw", 1.0),
        "e_pv_kwh": ("pv/p_kw", -1.0),
    }
    values: dict[str, float | None] = {}
    for name, (series, scale) in sums.items():
        values[name] = _energy_kwh(results, series, scale)
        if values[name] is None:
            out.missing(name, "kWh", f"series {series}")
        else:
            out.add(name, values[name], "kWh")
    heat = [values["e_heat_space_kwh"], values["e_heat_dhw_kwh"]]
    if values["e_hp_el_kwh"] is None or heat[0] is None:
        out.missing("scop", "-", "series buildings/q_heat_w and heat_pumps/p_kw")
    else:
        out.add_ratio(
            "scop", heat[0] + (heat[1] or 0.0), values["e_hp_el_kwh"], "no heat-pump electricity"
        )
    kwp = results.attrs.get("p_pv_nom_kw")
    if values["e_pv_kwh"] is None:
        out.missing("pv_yield_kwh_kwp", "kWh/kWp", "series pv/p_kw")
    elif kwp is None or not math.isfinite(float(kwp)):
        out.missing("pv_yield_kwh_kwp", "kWh/kWp", "attribute p_pv_nom_kw (installed kWp)")
    else:
        out.add_ratio("pv_yield_kwh_kwp", values["e_pv_kwh"], float(kwp), "no PV installed",
                      unit="kWh/kWp")  # fmt: skip
    if "buildings/t_zone_degc" not in results.series:
        for name, unit in (("discomfort_degree_hours_kh", "K.h"), ("discomfort_share", "-")):
            out.missing(name, unit, "series buildings/t_zone_degc")
        return out.items
    low, high = comfort_band(results)
    comfort = kpis_comfort(results["buildings/t_zone_degc"], low, high, dt_h, index=results.index)
    note = f"comfort band {low:g}-{high:g} degC (zone air temperature)"
    for k in comfort:
        if per_building or k.view == "D":
            out.items.append(
                KPI(k.name, k.value, k.unit, k.view, k.period, k.reason, k.source, note)
            )
    return out.items
