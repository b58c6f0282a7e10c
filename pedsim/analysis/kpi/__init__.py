"""KPI engine for Positive Energy Districts.

Works on plain numpy/pandas inputs, so KPIs can be computed on measured data as well as on
pedsim results. Conventions and formulas follow the project's KPI specification: ratios of
sums, NaN with a reason on a zero denominator, every KPI labelled with its unit, view and
period.

Comparability with CityLearn (KPI specification, section 8): CityLearn simulates N-1
steps; its cost and CO2 are per building and clipped at zero (view P with ``k_exp = 0``
here, e.g. ``co2e_kexp0_kg`` in view P); its district scores are means of per-building
ratios (this engine uses ratios of sums); its peak, load-factor and ramping KPIs use the
district net power (pass ``flows.net_kw.sum(axis=1)`` to :func:`kpis_ramping` and
:func:`kpis_load_factor`); its ramping counts upward changes only (``ramping_up_kw``); its
"monthly" window is 730 h (here: calendar months).

Example
-------
>>> import numpy as np
>>> from pedsim.analysis.kpi import Flows, kpis_energy_balance, kpis_to_json_dict
>>> flows = Flows(load_kw=np.array([[1.0], [2.0]]), generation_kw=np.array([[3.0], [0.0]]),
...               dt_h=1.0)
>>> kpis_to_json_dict(kpis_energy_balance(flows, views=("D",)))["e_import_kwh[D]"]["value"]
2.0
"""

from .balance import (
    electricity_delivered_exported_kwh,
    kpis_energy_balance,
    kpis_positivity_ratio,
    kpis_weighted_balance,
)
from .community import kpis_community, shared_energy_hourly, tip_eur_mwh
from .core import (
    EPS_KWH,
    KPI,
    Flows,
    KPIInputError,
    kpis_to_frame,
    kpis_to_json_dict,
    period_label,
    ratio,
)
from .emissions import (
    PrimaryEnergyFactors,
    kpi_marginal_emission_effect,
    kpis_emissions_primary_energy,
)
from .envelope import (
    battery_flexibility_envelope,
    ev_flexibility_envelope,
    heat_pump_flexibility_envelope,
    kpis_flexibility_envelope,
)
from .flexibility import kpis_flexibility, kpis_load_factor, kpis_ramping
from .grid import en50160_weekly, kpis_grid, overload_hours, voltage_violation_hours
from .matching import kpis_load_matching
from .service import kpis_battery, kpis_comfort, kpis_ev_service

__all__ = [
    "EPS_KWH",
    "KPI",
    "Flows",
    "KPIInputError",
    "PrimaryEnergyFactors",
    "battery_flexibility_envelope",
    "electricity_delivered_exported_kwh",
    "en50160_weekly",
    "ev_flexibility_envelope",
    "heat_pump_flexibility_envelope",
    "kpi_marginal_emission_effect",
    "kpis_battery",
    "kpis_comfort",
    "kpis_community",
    "kpis_emissions_primary_energy",
    "kpis_energy_balance",
    "kpis_ev_service",
    "kpis_flexibility",
    "kpis_flexibility_envelope",
    "kpis_grid",
    "kpis_load_factor",
    "kpis_load_matching",
    "kpis_positivity_ratio",
    "kpis_ramping",
    "kpis_to_frame",
    "kpis_to_json_dict",
    "kpis_weighted_balance",
    "overload_hours",
    "period_label",
    "ratio",
    "shared_energy_hourly",
    "tip_eur_mwh",
    "voltage_violation_hours",
]
