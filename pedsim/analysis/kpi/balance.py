"""PED energy balance and positivity (KPI specification, section 1).

Sources
-------
* Delivered and exported energy per carrier, weighted balance: EN ISO 52000-1:2017.
* Net export: Salom et al., Applied Energy 136 (2014) 119-131.
* Weighted (primary energy) balance and the positive-energy test ``B >= B_target``:
  MAKING-CITY PED method (Gabaldón Moreno et al. 2021). *Check* in the specification: the
  report was not available for confirmation; the formula is implemented as the
  specification writes it.
* Positivity ratio: SCIS / CITYkeys indicator. *Check* in the specification: not
  confirmed against the CITYkeys indicator sheet; implemented as specified.
* Autonomy hours: +CityxChange PED levels. Boundary variants: Schneider et al. 2023.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from .core import EPS_KWH, KPI, Flows, KPIInputError, KPIList, check_views

__all__ = [
    "electricity_delivered_exported_kwh",
    "kpis_energy_balance",
    "kpis_positivity_ratio",
    "kpis_weighted_balance",
]

_SRC_DEL = "KPI-SPEC 1; EN ISO 52000-1"
_SRC_NET = "KPI-SPEC 1; Salom et al. 2014"
_SRC_AUT = "KPI-SPEC 1; +CityxChange PED levels"
_SRC_VAR = "KPI-SPEC 1; Schneider et al. 2023 (boundary variants)"


def electricity_delivered_exported_kwh(flows: Flows, view: str = "D") -> tuple[float, float]:
    """Delivered and exported electricity ``(sum m, sum x)`` in ``view``, kWh."""
    return flows.energy_kwh(flows.import_kw(view)), flows.energy_kwh(flows.export_kw(view))


def _net_parts(load: np.ndarray, flows: Flows, view: str) -> tuple[np.ndarray, np.ndarray]:
    net = load + flows.s_kw - flows.generation_kw
    if view == "D":
        nd = net.sum(axis=1)
        return np.clip(nd, 0.0, None), np.clip(-nd, 0.0, None)
    return np.clip(net, 0.0, None).sum(axis=1), np.clip(-net, 0.0, None).sum(axis=1)


def kpis_energy_balance(
    flows: Flows,
    *,
    views: tuple[str, ...] = ("D", "P"),
    eps_kwh: float = EPS_KWH,
    boundary_note: str | None = "D: buildings net against each other, no network losses",
) -> list[KPI]:
    """Energy balance of the district: use, generation, import, export, net export.

    Parameters
    ----------
    flows : Flows
        Electric flows per building.
    views : tuple of str
        Metering views to report, ``'D'`` and/or ``'P'``.
    eps_kwh : float
        Tolerance ε of the autonomy test ``m * dt <= ε``, kWh per step.
    boundary_note : str or None
        Note attached to the view-D import/export KPIs saying which boundary D is.

    Returns
    -------
    list of KPI
        Per view: ``e_load_kwh``, ``e_generation_kwh``, ``e_storage_net_kwh`` (with
        storage), ``e_import_kwh`` (``E_del = sum m``), ``e_export_kwh``
        (``E_exp = sum x``), ``e_net_export_kwh`` (``sum(x - m)``), ``t_autonomy_h``
        (time with ``m * dt <= ε``). In view D, when ``flows`` carries ``ev_kw`` and/or
        ``heat_kw``: the import, export and net export of the boundary variants without
        EV charging (``*_excl_ev_kwh``), without heat (``*_excl_heat_kwh``) and without
        both (``*_excl_ev_heat_kwh``).

    Notes
    -----
    All energies are electricity: ``Flows`` holds one carrier. ``sum(x - m)`` is the same
    in views D and P (both equal ``-sum n``); import and export differ.
    """
    views = check_views(views)
    out = KPIList(flows.period)
    dt = flows.dt_h
    for v in views:
        note = boundary_note if v == "D" else None
        out.add("e_load_kwh", flows.energy_kwh(flows.load_kw), "kWh", view=v, source=_SRC_DEL)
        out.add(
            "e_generation_kwh",
            flows.energy_kwh(flows.generation_kw),
            "kWh",
            view=v,
            source=_SRC_DEL,
        )
        if flows.has_storage:
            out.add(
                "e_storage_net_kwh", flows.energy_kwh(flows.s_kw), "kWh", view=v, source=_SRC_DEL
            )
        m = flows.import_kw(v)
        x = flows.export_kw(v)
        e_m = flows.energy_kwh(m)
        e_x = flows.energy_kwh(x)
        out.add("e_import_kwh", e_m, "kWh", view=v, source=_SRC_DEL, note=note)
        out.add("e_export_kwh", e_x, "kWh", view=v, source=_SRC_DEL, note=note)
        out.add("e_net_export_kwh", e_x - e_m, "kWh", view=v, source=_SRC_NET)
        t_aut = float(np.count_nonzero(m * dt <= eps_kwh)) * dt
        out.add("t_autonomy_h", t_aut, "h", view=v, source=_SRC_AUT, note=f"eps = {eps_kwh:g} kWh")
    if "D" in views:
        variants: list[tuple[str, np.ndarray]] = []
        if flows.ev_kw is not None:
            variants.append(("excl_ev", flows.load_kw - flows.ev_kw))
        if flows.heat_kw is not None:
            variants.append(("excl_heat", flows.load_kw - flows.heat_kw))
        if flows.ev_kw is not None and flows.heat_kw is not None:
            variants.append(("excl_ev_heat", flows.load_kw - flows.ev_kw - flows.heat_kw))
        for tag, load in variants:
            m, x = _net_parts(load, flows, "D")
            e_m = flows.energy_kwh(m)
            e_x = flows.energy_kwh(x)
            out.add(f"e_import_{tag}_kwh", e_m, "kWh", source=_SRC_VAR)
            out.add(f"e_export_{tag}_kwh", e_x, "kWh", source=_SRC_VAR)
            out.add(f"e_net_export_{tag}_kwh", e_x - e_m, "kWh", source=_SRC_VAR)
    return out.items


def _factor(mapping: Mapping[str, float], carrier: str, name: str) -> float:
    if carrier not in mapping:
        raise KPIInputError(f"{name} has no factor for carrier {carrier!r}: expected one")
    value = float(mapping[carrier])
    if not math.isfinite(value) or value < 0.0:
        raise KPIInputError(f"{name}[{carrier!r}]={value!r}: expected a finite factor >= 0")
    return value


def kpis_weighted_balance(
    delivered_kwh: Mapping[str, float],
    exported_kwh: Mapping[str, float],
    f_del: Mapping[str, float],
    f_exp: Mapping[str, float] | None = None,
    *,
    b_target_kwh_pe: float = 0.0,
    view: str = "D",
    period: str,
) -> list[KPI]:
    """Weighted (primary energy) balance ``B = sum_c (f_exp,c E_exp,c - f_del,c E_del,c)``.

    Parameters
    ----------
    delivered_kwh, exported_kwh : mapping of str to float
        Delivered ``E_del,c`` and exported ``E_exp,c`` energy per carrier c, kWh (see
        :func:`electricity_delivered_exported_kwh` for electricity). A carrier missing from
        ``exported_kwh`` has no export.
    f_del, f_exp : mapping of str to float
        Weighting (primary energy) factors per carrier, kWh_PE/kWh. ``f_exp`` defaults to
        ``f_del`` (symmetric weighting). No default factors: they come from the scenario.
    b_target_kwh_pe : float
        Target ``B_target``; the district is positive when ``B >= B_target`` (default 0).
    view : str
        View label of the inputs.
    period : str
        Period label of the inputs.

    Returns
    -------
    list of KPI
        ``b_weighted_kwh_pe`` (kWh_PE) and ``ped_positive`` (1.0 or 0.0).
    """
    f_exp = f_del if f_exp is None else f_exp
    b = 0.0
    for c, e in delivered_kwh.items():
        b -= _factor(f_del, c, "f_del") * float(e)
    for c, e in exported_kwh.items():
        b += _factor(f_exp, c, "f_exp") * float(e)
    out = KPIList(period, view=view, source="KPI-SPEC 1; EN ISO 52000-1; MAKING-CITY (check)")
    out.add("b_weighted_kwh_pe", b, "kWh_PE")
    out.add(
        "ped_positive",
        1.0 if b >= b_target_kwh_pe else 0.0,
        "-",
        note=f"B_target = {b_target_kwh_pe:g} kWh_PE",
    )
    return out.items


def kpis_positivity_ratio(
    e_generation_kwh: Mapping[str, float],
    e_use_kwh: Mapping[str, float],
    f: Mapping[str, float],
    *,
    view: str = "D",
    period: str,
) -> list[KPI]:
    """Positivity ratio ``sum_c f_c E_gen,local,c / sum_c f_c E_use,c`` (>= 1: positive).

    Parameters
    ----------
    e_generation_kwh : mapping of str to float
        Local renewable generation per carrier, kWh.
    e_use_kwh : mapping of str to float
        Energy use per carrier, kWh.
    f : mapping of str to float
        Weighting factor per carrier.
    view, period : str
        Labels of the inputs.

    Returns
    -------
    list of KPI
        ``positivity_ratio`` (NaN when the weighted use is zero).
    """
    num = sum(_factor(f, c, "f") * float(e) for c, e in e_generation_kwh.items())
    den = sum(_factor(f, c, "f") * float(e) for c, e in e_use_kwh.items())
    out = KPIList(period, view=view, source="KPI-SPEC 1; SCIS / CITYkeys (check)")
    out.add_ratio("positivity_ratio", num, den, "zero weighted energy use")
    return out.items
