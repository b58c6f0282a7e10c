"""CO2 emissions and primary energy (KPI specification, sections 1 and 5).

* Attributional emissions ``sum m EF_t - k_exp sum x EF_t`` (``k_exp`` 0 and 1), the
  net-zero GHG balance of the JPI Urban Europe PED framework.
* Effect of control with marginal factors ``sum (P_ctrl - P_ref) dt MEF_t``; marginal and
  average factors are never mixed in one figure (separate function).
* Primary energy ``E_P = sum m f_P,del - k_exp sum x f_P,exp`` (non-renewable and total) and
  the renewable energy ratio ``RER = E_P,ren / E_P,tot`` (EN ISO 52000-1).

Factors come from the scenario, as constants or hourly series; no factor is applied
silently. For reference, :data:`PEF_ITALY_GRID_DM_2015` holds the Italian grid-electricity
factors that the specification quotes from DM 26/06/2015 (f_P,nren 1.95, f_P,ren 0.47,
f_P,tot 2.42). *Check*: these figures could not be confirmed against the decree text
(Allegato 1, Tabella 1); secondary sources confirm only that the decree sets factors with a
renewable share for grid electricity. Verify before use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .core import (
    KPI,
    Flows,
    KPIInputError,
    KPIList,
    as_series_1d,
    check_dt,
    check_index,
    check_views,
    period_label,
)

__all__ = [
    "PEF_ITALY_GRID_DM_2015",
    "PrimaryEnergyFactors",
    "kpi_marginal_emission_effect",
    "kpis_emissions_primary_energy",
]


@dataclass(frozen=True)
class PrimaryEnergyFactors:
    """Primary-energy factors of one carrier, kWh_PE/kWh (constants or hourly series).

    Parameters
    ----------
    nren : float or array_like
        Non-renewable factor ``f_P,nren``.
    tot : float or array_like
        Total factor ``f_P,tot`` (``f_P,ren = tot - nren``).
    source : str
        Where the factors come from.
    """

    nren: Any
    tot: Any
    source: str = ""


#: Grid electricity in Italy as quoted by the KPI specification from DM 26/06/2015
#: (unconfirmed, see the module docstring).
PEF_ITALY_GRID_DM_2015 = PrimaryEnergyFactors(
    nren=1.95, tot=2.42, source="DM 26/06/2015 as quoted in KPI-SPEC (unconfirmed)"
)


def _k_tag(k: float) -> str:
    return f"{k:g}".replace(".", "p")


def kpis_emissions_primary_energy(
    flows: Flows,
    ef_kg_per_kwh: Any = None,
    f_pe_del: PrimaryEnergyFactors | None = None,
    f_pe_exp: PrimaryEnergyFactors | None = None,
    k_exp: Sequence[float] = (0.0, 1.0),
    *,
    views: tuple[str, ...] = ("D", "P"),
    f_pe_onsite_ren: float = 1.0,
) -> list[KPI]:
    """Attributional emissions, primary energy and renewable energy ratio.

    Parameters
    ----------
    flows : Flows
        Electric flows per building.
    ef_kg_per_kwh : float or array_like, optional
        Average (attributional) emission factor of grid electricity, kgCO2e/kWh, constant or
        one value per step. None: emission KPIs are NaN with a reason.
    f_pe_del : PrimaryEnergyFactors, optional
        Primary-energy factors of delivered grid electricity. None: primary-energy KPIs
        are NaN with a reason.
    f_pe_exp : PrimaryEnergyFactors, optional
        Factors of exported electricity; defaults to ``f_pe_del``.
    k_exp : sequence of float
        Export credit factors to report, each in [0, 1] (default 0 and 1).
    views : tuple of str
        Metering views.
    f_pe_onsite_ren : float
        Renewable primary-energy factor of on-site PV electricity used on site, for RER.

    Returns
    -------
    list of KPI
        Per view and ``k`` in ``k_exp``: ``co2e_kexp<k>_kg`` (kgCO2e),
        ``e_pe_nren_kexp<k>_kwh_pe`` and ``e_pe_tot_kexp<k>_kwh_pe`` (kWh_PE); per view:
        ``rer``.

    Notes
    -----
    RER is computed without export credit, on the energy used in the district:
    ``E_P,tot = sum m f_tot + f_onsite (sum g - sum x)`` and
    ``E_P,ren = sum m (f_tot - f_nren) + f_onsite (sum g - sum x)``, i.e. on-site PV used on
    site counts as renewable primary energy with factor ``f_pe_onsite_ren`` (1 by the usual
    EN ISO 52000-1 convention for on-site solar electricity; an assumption, not confirmed
    against the standard's text).
    """
    views = check_views(views)
    ks = [float(k) for k in k_exp]
    if any(not 0.0 <= k <= 1.0 for k in ks):
        raise KPIInputError(f"k_exp={k_exp!r}: expected values in [0, 1]")
    n = flows.n_steps
    dt = flows.dt_h
    ef = None if ef_kg_per_kwh is None else as_series_1d(ef_kg_per_kwh, "ef_kg_per_kwh", n)
    out = KPIList(flows.period)
    src_c = "KPI-SPEC 1, 5; JPI Urban Europe PED framework"
    src_p = "KPI-SPEC 5; EN ISO 52000-1"
    for v in views:
        m_kwh = flows.import_kw(v) * dt
        x_kwh = flows.export_kw(v) * dt
        for k in ks:
            name = f"co2e_kexp{_k_tag(k)}_kg"
            if ef is None:
                out.missing(name, "kgCO2e", "ef_kg_per_kwh", view=v, source=src_c)
            else:
                val = float(m_kwh @ ef - k * (x_kwh @ ef))
                out.add(name, val, "kgCO2e", view=v, source=src_c)
        if f_pe_del is None:
            for k in ks:
                for part in ("nren", "tot"):
                    out.missing(
                        f"e_pe_{part}_kexp{_k_tag(k)}_kwh_pe",
                        "kWh_PE",
                        "f_pe_del",
                        view=v,
                        source=src_p,
                    )
            out.missing("rer", "-", "f_pe_del", view=v, source=src_p)
            continue
        f_exp = f_pe_exp if f_pe_exp is not None else f_pe_del
        fd = {p: as_series_1d(getattr(f_pe_del, p), f"f_pe_del.{p}", n) for p in ("nren", "tot")}
        fx = {p: as_series_1d(getattr(f_exp, p), f"f_pe_exp.{p}", n) for p in ("nren", "tot")}
        for k in ks:
            for part in ("nren", "tot"):
                val = float(m_kwh @ fd[part] - k * (x_kwh @ fx[part]))
                out.add(
                    f"e_pe_{part}_kexp{_k_tag(k)}_kwh_pe",
                    val,
                    "kWh_PE",
                    view=v,
                    source=src_p,
                    note=f_pe_del.source or None,
                )
        onsite = flows.energy_kwh(flows.generation_kw) - float(x_kwh.sum())
        e_tot = float(m_kwh @ fd["tot"]) + f_pe_onsite_ren * onsite
        e_ren = float(m_kwh @ (fd["tot"] - fd["nren"])) + f_pe_onsite_ren * onsite
        out.add_ratio(
            "rer",
            e_ren,
            e_tot,
            "zero total primary energy",
            view=v,
            source=src_p,
            note="no export credit; on-site PV used on site counted as renewable",
        )
    return out.items


def kpi_marginal_emission_effect(
    p_ctrl_kw: Any,
    p_ref_kw: Any,
    mef_kg_per_kwh: Any,
    dt_h: float,
    index: pd.DatetimeIndex | None = None,
    *,
    view: str = "D",
) -> list[KPI]:
    """Emission effect of control with marginal factors ``sum (P_ctrl - P_ref) dt MEF_t``.

    Parameters
    ----------
    p_ctrl_kw, p_ref_kw : array_like
        Grid import power (net, + import) with control and in the reference run, kW.
    mef_kg_per_kwh : float or array_like
        Marginal emission factor, kgCO2e/kWh, constant or per step.
    dt_h : float
        Step length, h.
    index : pandas.DatetimeIndex, optional
        Step start times, for the period label.
    view : str
        View label of the power series.

    Returns
    -------
    list of KPI
        ``co2e_control_effect_kg`` (negative: control avoids emissions).
    """
    dt_h = check_dt(dt_h)
    p_ctrl = np.asarray(p_ctrl_kw, dtype=float).ravel()
    n = p_ctrl.size
    p_ref = as_series_1d(p_ref_kw, "p_ref_kw", n)
    p_ctrl = as_series_1d(p_ctrl, "p_ctrl_kw", n)
    mef = as_series_1d(mef_kg_per_kwh, "mef_kg_per_kwh", n)
    out = KPIList(
        period_label(n, dt_h, check_index(index, n, dt_h)),
        view=view,
        source="KPI-SPEC 5 (marginal factors only)",
    )
    out.add("co2e_control_effect_kg", float(((p_ctrl - p_ref) * dt_h) @ mef), "kgCO2e")
    return out.items
