"""Load matching and grid interaction (KPI specification, section 2).

Definitions of IEA SHC Task 40 / EBC Annex 52 as collected by Salom et al., Applied
Energy 136 (2014) 119-131 (cover factors, load-match index, LOLP, grid interaction index,
one-percent peak power, capacity factors), Luthander et al., Applied Energy 142 (2015)
80-94 (self-consumption and self-sufficiency) and Voss et al. 2010.

Edge cases
----------
* Zero generation: SCR and the supply cover factor are NaN (zero denominator); SSR and
  the load cover factor are 0 when there is demand.
* Zero demand: SSR, the load cover factor are NaN; SCR is 0 when there is generation
  (everything is exported).
* No exchange at all (``x - m`` identically 0): the grid interaction index is NaN.
* Constant non-zero exchange: the grid interaction index is 0.
"""

from __future__ import annotations

import math

import numpy as np

from .core import EPS_KWH, KPI, Flows, KPIInputError, KPIList, check_views

__all__ = ["kpis_load_matching", "top_share_mean"]

_SRC_SC = "KPI-SPEC 2; Luthander et al. 2015; Salom et al. 2014"
_SRC_SALOM = "KPI-SPEC 2; Salom et al. 2014 (IEA SHC T40/EBC A52)"


def top_share_mean(p: np.ndarray, share: float = 0.01) -> float:
    """Mean of the ``ceil(share * N)`` largest values of ``p`` (one-percent peak power)."""
    p = np.asarray(p, dtype=float).ravel()
    k = max(1, math.ceil(share * p.size - 1e-9))
    return float(np.mean(np.partition(p, p.size - k)[p.size - k :]))


def _p_nom(value: float | np.ndarray | None, name: str) -> float | None:
    if value is None:
        return None
    arr = np.asarray(value, dtype=float)
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise KPIInputError(f"{name}={value!r}: expected finite power(s) >= 0 kW")
    return float(arr.sum())


def kpis_load_matching(
    flows: Flows,
    *,
    views: tuple[str, ...] = ("D", "P"),
    p_pv_nom_kw: float | np.ndarray | None = None,
    p_conn_kw: float | None = None,
    eps_kwh: float = EPS_KWH,
) -> list[KPI]:
    """Self-consumption, self-sufficiency, cover factors, peaks and grid interaction.

    Parameters
    ----------
    flows : Flows
        Electric flows per building.
    views : tuple of str
        Metering views to report, ``'D'`` and/or ``'P'``.
    p_pv_nom_kw : float or array_like, optional
        Nominal PV power (per building, summed), kW, for the PV capacity factor.
    p_conn_kw : float, optional
        Connection capacity of the boundary of view D (e.g. the transformer rating), kW,
        for the import/export capacity factors.
    eps_kwh : float
        Tolerance ε on energies per step for LOLP and the no-grid-interaction share, kWh.

    Returns
    -------
    list of KPI
        Per view ``v`` in ``views``:

        * ``scr`` = ``(sum g - sum x) / sum g``;
        * ``ssr`` = ``(sum g - sum x) / (sum g - sum x + sum m)``, equal to
          ``(sum l - sum m) / sum l`` without storage;
        * ``cover_factor_load`` = ``sum min(g - s, l) / sum l`` and ``cover_factor_supply``
          = the same numerator ``/ sum g`` (``s`` includes the storage losses ζ, so
          ``g - s - ζ`` of the specification is ``g - s`` here; view D applies the min to the
          district sums per step, view P per building);
        * ``lolp`` (share of steps with ``m dt > ε``), ``p_no_grid_interaction`` (share of
          steps with ``m dt <= ε`` and ``x dt <= ε``);
        * ``gii`` = population standard deviation of ``(x - m) / max|x - m|``;
        * ``p_import_peak_kw``, ``p_export_peak_kw`` (maxima of ``m``, ``x``) and
          ``p_import_peak_1pct_kw``, ``p_export_peak_1pct_kw`` (mean of the top
          ``ceil(0.01 N)`` values);

        in view D only: ``load_match_index`` = mean over steps of ``min(1, g/l)`` (a step with
        ``l = 0`` counts 1), ``cf_pv`` = ``sum g dt / (P_pv,nom T)``, ``cf_import`` =
        ``sum m dt / (P_conn T)`` and ``cf_export``.
    """
    views = check_views(views)
    dt = flows.dt_h
    t_h = flows.horizon_h
    load = flows.load_kw
    gen = flows.generation_kw
    e_l = flows.energy_kwh(load)
    e_g = flows.energy_kwh(gen)
    e_s = flows.energy_kwh(flows.s_kw)
    out = KPIList(flows.period)
    for v in views:
        m = flows.import_kw(v)
        x = flows.export_kw(v)
        e_x = flows.energy_kwh(x)
        out.add_ratio("scr", e_g - e_x, e_g, "zero generation", view=v, source=_SRC_SC)
        # the denominator sum g - sum x + sum m equals sum l + sum s by the balance
        # n = l + s - g; the latter is exactly 0 for zero demand (no round-off residue)
        out.add_ratio("ssr", e_g - e_x, e_l + e_s, "zero demand", view=v, source=_SRC_SC)
        supply = gen - flows.s_kw
        if v == "D":
            matched = np.minimum(supply.sum(axis=1), load.sum(axis=1))
        else:
            matched = np.minimum(supply, load)
        e_match = flows.energy_kwh(matched)
        out.add_ratio("cover_factor_load", e_match, e_l, "zero demand", view=v, source=_SRC_SALOM)
        out.add_ratio(
            "cover_factor_supply", e_match, e_g, "zero generation", view=v, source=_SRC_SALOM
        )
        n = flows.n_steps
        out.add(
            "lolp",
            np.count_nonzero(m * dt > eps_kwh) / n,
            "-",
            view=v,
            source=_SRC_SALOM,
            note=f"eps = {eps_kwh:g} kWh",
        )
        out.add(
            "p_no_grid_interaction",
            np.count_nonzero((m * dt <= eps_kwh) & (x * dt <= eps_kwh)) / n,
            "-",
            view=v,
            source=_SRC_SALOM,
            note=f"eps = {eps_kwh:g} kWh",
        )
        d = x - m
        d_max = float(np.max(np.abs(d)))
        if d_max == 0.0:
            out.add("gii", math.nan, "-", view=v, reason="no grid exchange", source=_SRC_SALOM)
        else:
            out.add("gii", float(np.std(d / d_max)), "-", view=v, source=_SRC_SALOM)
        out.add("p_import_peak_kw", float(m.max()), "kW", view=v, source="KPI-SPEC 2")
        out.add("p_export_peak_kw", float(x.max()), "kW", view=v, source="KPI-SPEC 2")
        note = f"mean of the top {max(1, math.ceil(0.01 * n - 1e-9))} of {n} steps"
        out.add(
            "p_import_peak_1pct_kw", top_share_mean(m), "kW", view=v, source=_SRC_SALOM, note=note
        )
        out.add(
            "p_export_peak_1pct_kw", top_share_mean(x), "kW", view=v, source=_SRC_SALOM, note=note
        )
    # view D only
    gd = gen.sum(axis=1)
    ld = load.sum(axis=1)
    safe_l = np.where(ld > 0.0, ld, 1.0)
    lmi = np.where(ld > 0.0, np.minimum(1.0, gd / safe_l), 1.0)
    out.add("load_match_index", float(lmi.mean()), "-", view="D", source=_SRC_SALOM)
    p_pv = _p_nom(p_pv_nom_kw, "p_pv_nom_kw")
    if p_pv is None:
        out.missing("cf_pv", "-", "p_pv_nom_kw", view="D", source=_SRC_SALOM)
    else:
        out.add_ratio(
            "cf_pv", e_g, p_pv * t_h, "zero PV nominal power", view="D", source=_SRC_SALOM
        )
    p_conn = _p_nom(p_conn_kw, "p_conn_kw")
    for name, p in (("cf_import", flows.import_kw("D")), ("cf_export", flows.export_kw("D"))):
        if p_conn is None:
            out.missing(name, "-", "p_conn_kw", view="D", source=_SRC_SALOM)
        else:
            out.add_ratio(
                name,
                float(p.sum()) * dt,
                p_conn * t_h,
                "zero connection capacity",
                view="D",
                source=_SRC_SALOM,
            )
    return out.items
