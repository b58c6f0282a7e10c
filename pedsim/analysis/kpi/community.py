"""Renewable energy community KPIs under the Italian CACER rules (KPI specification, 6).

Rules implemented (ARERA TIAD, delibera 727/2022/R/eel, and DM MASE 414/2023):

* Shared energy per clock hour ``E_sh,h = min(sum E_inj,h, sum E_wd,h)`` over the members'
  points of delivery (view P); with steps shorter than an hour, injections and withdrawals
  are summed within each clock hour first.
* Premium tariff (TIP), per MWh of shared energy, by plant size: ``<= 200 kW``:
  ``min(120, 80 + max(0, 180 - Pz))``; ``200-600 kW``: ``min(110, 70 + ...)``;
  ``> 600 kW``: ``min(100, 60 + ...)``; PV plants get a regional correction of +4 EUR/MWh
  (centre: Lazio, Marche, Toscana, Umbria, Abruzzo) or +10 EUR/MWh (north:
  Emilia-Romagna, Friuli-Venezia Giulia, Liguria, Lombardia, Piemonte, Trentino-Alto
  Adige, Valle d'Aosta, Veneto), added on top of the capped value. Confirmed against the
  GSE FAQ on CER tariffs and the Emilia-Romagna region's page on the CACER decree (its
  worked example: a > 600 kW plant in the north earns 70-110 EUR/MWh, so the correction is
  outside the cap).
* ARERA valorisation ``sum E_sh * CU_Af``; CU_Af 2024 = 11.22 EUR/MWh (transmission tariff
  10.57 + highest variable distribution component 0.65 EUR/MWh, as stated by the
  Emilia-Romagna region). Confirmed only through that secondary source.
* The 55 % rule (45 % with capital grants): the premium on shared energy above that share
  of the energy injected goes to non-business members or social purposes. Only the share
  ``sum E_sh / sum E_inj`` is reported; how the threshold is applied in time was not
  confirmed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .core import KPI, Flows, KPIInputError, KPIList

__all__ = ["CU_AF_2024_EUR_MWH", "kpis_community", "shared_energy_hourly", "tip_eur_mwh"]

#: ARERA unit valorisation of shared energy for 2024, EUR/MWh (see the module docstring).
CU_AF_2024_EUR_MWH = 11.22

_REGIONS = {
    "north": "north",
    "centre": "centre",
    "center": "centre",
    "south": "south",
    "emilia-romagna": "north",
    "friuli-venezia giulia": "north",
    "liguria": "north",
    "lombardia": "north",
    "piemonte": "north",
    "trentino-alto adige": "north",
    "valle d'aosta": "north",
    "veneto": "north",
    "lazio": "centre",
    "marche": "centre",
    "toscana": "centre",
    "umbria": "centre",
    "abruzzo": "centre",
}
_CORRECTION = {"north": 10.0, "centre": 4.0, "south": 0.0}
_SRC = "KPI-SPEC 6; ARERA TIAD; DM 414/2023"


def tip_eur_mwh(
    pz_eur_mwh: Any, plant_size_kw: float, region: str | None = None, *, pv: bool = True
) -> np.ndarray:
    """Premium tariff TIP per hour, EUR/MWh.

    Parameters
    ----------
    pz_eur_mwh : float or array_like
        Hourly zonal price ``Pz``, EUR/MWh.
    plant_size_kw : float
        Plant size, kW (tiers <= 200, <= 600, > 600 kW).
    region : str, optional
        ``'north'``, ``'centre'``, ``'south'`` or an Italian region name; None: no
        correction.
    pv : bool
        Whether the plant is PV (the regional correction applies to PV only).

    Returns
    -------
    numpy.ndarray
        ``min(cap, base + max(0, 180 - Pz)) + correction``.
    """
    size = float(plant_size_kw)
    if not np.isfinite(size) or size <= 0.0:
        raise KPIInputError(f"plant_size_kw={plant_size_kw!r}: expected a power > 0 kW")
    base, cap = (
        (80.0, 120.0) if size <= 200.0 else (70.0, 110.0) if size <= 600.0 else (60.0, 100.0)
    )
    corr = 0.0
    if region is not None and pv:
        key = _REGIONS.get(str(region).strip().lower())
        if key is None:
            raise KPIInputError(
                f"region={region!r}: expected 'north', 'centre', 'south' or an Italian region"
            )
        corr = _CORRECTION[key]
    pz = np.asarray(pz_eur_mwh, dtype=float)
    return np.minimum(cap, base + np.maximum(0.0, 180.0 - pz)) + corr


def _hour_groups(flows: Flows) -> tuple[np.ndarray, pd.Index]:
    """Clock-hour number of every step and the label of every hour."""
    dt = flows.dt_h
    if dt > 1.0 + 1e-9:
        raise KPIInputError(f"dt_h={dt:g}: shared energy needs steps of at most one hour")
    per_hour = 1.0 / dt
    if abs(per_hour - round(per_hour)) > 1e-9:
        raise KPIInputError(f"dt_h={dt:g}: expected a whole number of steps per hour")
    if flows.index is not None:
        idx = flows.index
        hours = idx.floor("h")
        offset_h = (idx - hours) / pd.Timedelta(hours=1)
        if (np.asarray(offset_h) + dt > 1.0 + 1e-9).any():
            raise KPIInputError("index: steps straddle clock hours; expected aligned steps")
        labels, inv = np.unique(hours.asi8, return_inverse=True)
        lab = pd.DatetimeIndex(labels.astype("datetime64[ns]"))
        if idx.tz is not None:
            lab = lab.tz_localize("UTC").tz_convert(idx.tz)
        return inv, lab
    inv = np.floor(np.arange(flows.n_steps) * dt + 1e-9).astype(int)
    return inv, pd.RangeIndex(int(inv.max()) + 1, name="hour")


def _member_columns(flows: Flows, members: Sequence[str] | None) -> np.ndarray:
    if members is None:
        return np.arange(flows.n_buildings)
    ids = list(flows.building_ids or ())
    unknown = [m for m in members if m not in ids]
    if unknown or not list(members):
        raise KPIInputError(
            f"members={list(members)!r:.120}: expected a non-empty subset of the building ids"
        )
    return np.array([ids.index(m) for m in members])


def _hourly_inj_wd(
    flows: Flows, members: Sequence[str] | None
) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    cols = _member_columns(flows, members)
    net = flows.net_kw[:, cols]
    inj = np.clip(-net, 0.0, None).sum(axis=1) * flows.dt_h
    wd = np.clip(net, 0.0, None).sum(axis=1) * flows.dt_h
    inv, labels = _hour_groups(flows)
    inj_h = np.bincount(inv, weights=inj, minlength=len(labels))
    wd_h = np.bincount(inv, weights=wd, minlength=len(labels))
    return inj_h, wd_h, labels


def shared_energy_hourly(flows: Flows, members: Sequence[str] | None = None) -> pd.DataFrame:
    """Hourly injections, withdrawals and shared energy of the members, kWh.

    Parameters
    ----------
    flows : Flows
        Electric flows per building (each building is one point of delivery).
    members : sequence of str, optional
        Building ids of the members; all buildings when omitted.

    Returns
    -------
    pandas.DataFrame
        Indexed by clock hour: ``e_inj_kwh``, ``e_wd_kwh``, ``e_shared_kwh``.

    Notes
    -----
    With ``flows.index`` the steps are grouped by clock hour (steps must not straddle an
    hour); without it, the first step is taken to start on a clock hour.
    """
    inj_h, wd_h, labels = _hourly_inj_wd(flows, members)
    return pd.DataFrame(
        {"e_inj_kwh": inj_h, "e_wd_kwh": wd_h, "e_shared_kwh": np.minimum(inj_h, wd_h)},
        index=labels,
    )


def kpis_community(
    flows: Flows,
    members: Sequence[str] | None = None,
    zonal_price_eur_mwh: Any = None,
    plant_size_kw: float | None = None,
    region: str | None = None,
    *,
    pv: bool = True,
    cu_af_eur_mwh: float | None = CU_AF_2024_EUR_MWH,
) -> list[KPI]:
    """Energy-community KPIs: shared energy, incentive, community SCR and SSR.

    Parameters
    ----------
    flows : Flows
        Electric flows per building (view P: one meter per building).
    members : sequence of str, optional
        Member building ids (default: all).
    zonal_price_eur_mwh : float or array_like, optional
        Zonal price ``Pz``: a constant, one value per clock hour, or one per step (averaged
        within each hour). None: the incentive is NaN with a reason.
    plant_size_kw : float, optional
        Plant size for the TIP tier. None: the incentive is NaN with a reason.
    region : str, optional
        Region or zone for the PV correction (see :func:`tip_eur_mwh`).
    pv : bool
        Whether the plant is PV.
    cu_af_eur_mwh : float, optional
        ARERA unit valorisation CU_Af, EUR/MWh (default: the 2024 value, 11.22).

    Returns
    -------
    list of KPI
        View ``'P'``: ``e_shared_kwh``, ``e_injected_kwh``, ``e_withdrawn_kwh``,
        ``shared_over_injected`` (the 55 % rule), ``incentive_tip_eur``,
        ``valorisation_arera_eur``, ``scr_community`` =
        ``(sum_b (g_b - x_b) + sum E_sh) / sum g`` and ``ssr_community`` =
        ``(sum_b (l_b - m_b) + sum E_sh) / sum l`` over the members. Steps longer than an
        hour give NaN KPIs with a reason.
    """
    out = KPIList(flows.period, view="P", source=_SRC)
    names = (
        ("e_shared_kwh", "kWh"),
        ("e_injected_kwh", "kWh"),
        ("e_withdrawn_kwh", "kWh"),
        ("shared_over_injected", "-"),
        ("incentive_tip_eur", "EUR"),
        ("valorisation_arera_eur", "EUR"),
        ("scr_community", "-"),
        ("ssr_community", "-"),
    )
    if flows.dt_h > 1.0 + 1e-9:
        for nm, unit in names:
            out.add(nm, np.nan, unit, reason="steps longer than one hour: hourly rules")
        return out.items
    inj_h, wd_h, labels = _hourly_inj_wd(flows, members)
    sh_h = np.minimum(inj_h, wd_h)
    e_sh = float(sh_h.sum())
    e_inj = float(inj_h.sum())
    e_wd = float(wd_h.sum())
    out.add("e_shared_kwh", e_sh, "kWh", note="hourly aggregation first")
    out.add("e_injected_kwh", e_inj, "kWh")
    out.add("e_withdrawn_kwh", e_wd, "kWh")
    out.add_ratio(
        "shared_over_injected",
        e_sh,
        e_inj,
        "zero injection",
        note="threshold 0.55 (0.45 with capital grants), DM 414/2023",
    )
    if zonal_price_eur_mwh is None or plant_size_kw is None:
        what = "zonal_price_eur_mwh" if zonal_price_eur_mwh is None else "plant_size_kw"
        out.missing("incentive_tip_eur", "EUR", what)
    else:
        pz = np.asarray(zonal_price_eur_mwh, dtype=float)
        n_h = len(labels)
        if pz.ndim == 0:
            pz = np.full(n_h, float(pz))
        elif pz.shape == (flows.n_steps,) and n_h != flows.n_steps:
            inv, _ = _hour_groups(flows)
            pz = np.bincount(inv, weights=pz, minlength=n_h) / np.bincount(inv, minlength=n_h)
        if pz.shape != (n_h,) or not np.isfinite(pz).all():
            raise KPIInputError(
                f"zonal_price_eur_mwh has shape {pz.shape}: expected a constant, {n_h} hourly "
                f"or {flows.n_steps} per-step finite values"
            )
        tip = tip_eur_mwh(pz, plant_size_kw, region, pv=pv)
        out.add(
            "incentive_tip_eur",
            float(sh_h @ tip) / 1000.0,
            "EUR",
            note=f"plant {plant_size_kw:g} kW, region {region or 'none'}",
        )
    if cu_af_eur_mwh is None:
        out.missing("valorisation_arera_eur", "EUR", "cu_af_eur_mwh")
    else:
        out.add(
            "valorisation_arera_eur",
            e_sh * float(cu_af_eur_mwh) / 1000.0,
            "EUR",
            note=f"CU_Af = {float(cu_af_eur_mwh):g} EUR/MWh",
        )
    cols = _member_columns(flows, members)
    dt = flows.dt_h
    e_g = float(flows.generation_kw[:, cols].sum()) * dt
    e_l = float(flows.load_kw[:, cols].sum()) * dt
    out.add_ratio("scr_community", e_g - e_inj + e_sh, e_g, "zero generation")
    out.add_ratio("ssr_community", e_l - e_wd + e_sh, e_l, "zero demand")
    return out.items
