"""Energy balance and load-matching KPIs on small hand-computed cases.

Case A: two buildings, three steps of 0.5 h, no storage.

    building 1: l = [2, 1, 0], g = [0, 3, 1]  ->  n1 = [2, -2, -1]
    building 2: l = [1, 1, 2], g = [0, 0, 4]  ->  n2 = [1,  1, -2]
    district  : nD = [3, -1, -3]; m^D = [3, 0, 0]; x^D = [0, 1, 3]
    per POD   : m^P = [3, 1, 0]; x^P = [0, 2, 3]
    sum l dt = 3.5 kWh, sum g dt = 4 kWh, E_m^D = 1.5, E_x^D = 2, E_m^P = 2, E_x^P = 2.5
"""

import math

import numpy as np
import pytest

from pedsim.analysis.kpi import (
    Flows,
    electricity_delivered_exported_kwh,
    kpis_energy_balance,
    kpis_load_matching,
    kpis_positivity_ratio,
    kpis_to_json_dict,
    kpis_weighted_balance,
)

LOAD = np.array([[2.0, 1.0], [1.0, 1.0], [0.0, 2.0]])
GEN = np.array([[0.0, 0.0], [3.0, 0.0], [1.0, 4.0]])


def _case_a(**kw):
    return Flows(load_kw=LOAD, generation_kw=GEN, dt_h=0.5, **kw)


def _d(kpis):
    return kpis_to_json_dict(kpis)


def _v(d, key):
    return d[key]["value"]


def test_energy_balance_case_a():
    d = _d(kpis_energy_balance(_case_a()))
    for view in ("D", "P"):
        assert _v(d, f"e_load_kwh[{view}]") == pytest.approx(3.5)
        assert _v(d, f"e_generation_kwh[{view}]") == pytest.approx(4.0)
        assert _v(d, f"e_net_export_kwh[{view}]") == pytest.approx(0.5)
        assert d[f"e_import_kwh[{view}]"]["period"] == "1.5 h"
    assert _v(d, "e_import_kwh[D]") == pytest.approx(1.5)
    assert _v(d, "e_export_kwh[D]") == pytest.approx(2.0)
    assert _v(d, "e_import_kwh[P]") == pytest.approx(2.0)
    assert _v(d, "e_export_kwh[P]") == pytest.approx(2.5)
    assert _v(d, "t_autonomy_h[D]") == pytest.approx(1.0)
    assert _v(d, "t_autonomy_h[P]") == pytest.approx(0.5)
    assert "e_storage_net_kwh[D]" not in d
    assert electricity_delivered_exported_kwh(_case_a(), "P") == pytest.approx((2.0, 2.5))


def test_energy_balance_boundary_variants():
    # EV part of building 1: [1, 0, 0]; heat part of building 2: [0, 0, 2]
    ev = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    heat = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 2.0]])
    d = _d(kpis_energy_balance(_case_a(ev_kw=ev, heat_kw=heat), views=("D",)))
    # without EV: nD = [2, -1, -3] -> E_m = 1.0, E_x = 2.0
    assert _v(d, "e_import_excl_ev_kwh[D]") == pytest.approx(1.0)
    assert _v(d, "e_export_excl_ev_kwh[D]") == pytest.approx(2.0)
    assert _v(d, "e_net_export_excl_ev_kwh[D]") == pytest.approx(1.0)
    # without heat: nD = [3, -1, -5] -> E_m = 1.5, E_x = 3.0
    assert _v(d, "e_net_export_excl_heat_kwh[D]") == pytest.approx(1.5)
    # without both: nD = [2, -1, -5] -> E_m = 1.0, E_x = 3.0
    assert _v(d, "e_import_excl_ev_heat_kwh[D]") == pytest.approx(1.0)
    assert _v(d, "e_export_excl_ev_heat_kwh[D]") == pytest.approx(3.0)


def test_load_matching_case_a():
    d = _d(kpis_load_matching(_case_a(), p_pv_nom_kw=[2.0, 5.0], p_conn_kw=10.0))
    assert _v(d, "scr[D]") == pytest.approx(0.5)
    assert _v(d, "ssr[D]") == pytest.approx(4.0 / 7.0)
    assert _v(d, "scr[P]") == pytest.approx(0.375)
    assert _v(d, "ssr[P]") == pytest.approx(3.0 / 7.0)
    # cover factors: D: min([0,3,5], [3,2,2]) = [0,2,2] -> 2 kWh; P: 1 + 2 -> 1.5 kWh
    assert _v(d, "cover_factor_load[D]") == pytest.approx(4.0 / 7.0)
    assert _v(d, "cover_factor_supply[D]") == pytest.approx(0.5)
    assert _v(d, "cover_factor_load[P]") == pytest.approx(3.0 / 7.0)
    assert _v(d, "cover_factor_supply[P]") == pytest.approx(0.375)
    assert _v(d, "lolp[D]") == pytest.approx(1.0 / 3.0)
    assert _v(d, "lolp[P]") == pytest.approx(2.0 / 3.0)
    assert _v(d, "p_no_grid_interaction[D]") == 0.0
    # x - m = [-3, 1, 3] -> [-1, 1/3, 1], population std = sqrt(56)/9
    assert _v(d, "gii[D]") == pytest.approx(math.sqrt(56.0) / 9.0)
    assert _v(d, "gii[P]") == pytest.approx(math.sqrt(56.0) / 9.0)
    assert _v(d, "p_import_peak_kw[D]") == 3.0
    assert _v(d, "p_export_peak_kw[D]") == 3.0
    assert _v(d, "p_import_peak_kw[P]") == 3.0
    assert _v(d, "p_export_peak_kw[P]") == 3.0
    assert _v(d, "p_import_peak_1pct_kw[D]") == 3.0
    assert _v(d, "p_export_peak_1pct_kw[D]") == 3.0
    assert _v(d, "p_export_peak_1pct_kw[P]") == 3.0
    assert _v(d, "p_no_grid_interaction[P]") == 0.0
    assert _v(d, "load_match_index[D]") == pytest.approx(2.0 / 3.0)
    assert _v(d, "cf_pv[D]") == pytest.approx(4.0 / (7.0 * 1.5))
    assert _v(d, "cf_import[D]") == pytest.approx(0.1)
    assert _v(d, "cf_export[D]") == pytest.approx(2.0 / 15.0)


def test_one_percent_peak_uses_ceil_of_one_percent():
    # 150 steps -> ceil(1.5) = 2 largest imports: 9 and 7 -> 8
    load = np.ones(150)
    load[10], load[20] = 9.0, 7.0
    f = Flows(load_kw=load, generation_kw=np.zeros(150), dt_h=1.0)
    d = _d(kpis_load_matching(f, views=("D",)))
    assert _v(d, "p_import_peak_1pct_kw[D]") == pytest.approx(8.0)
    assert _v(d, "p_import_peak_kw[D]") == 9.0


def test_storage_case():
    # l = [1, 1], g = [2, 0], s = [1, -0.9] -> n = [0, 0.1]
    f = Flows(load_kw=[1.0, 1.0], generation_kw=[2.0, 0.0], storage_kw=[1.0, -0.9], dt_h=1.0)
    d = _d(kpis_energy_balance(f, views=("D",)) + kpis_load_matching(f, views=("D",)))
    assert _v(d, "e_storage_net_kwh[D]") == pytest.approx(0.1)
    assert _v(d, "e_import_kwh[D]") == pytest.approx(0.1)
    assert _v(d, "scr[D]") == pytest.approx(1.0)
    assert _v(d, "ssr[D]") == pytest.approx(2.0 / 2.1)
    # min(g - s, l) = [1, 0.9]
    assert _v(d, "cover_factor_load[D]") == pytest.approx(0.95)
    assert _v(d, "cover_factor_supply[D]") == pytest.approx(0.95)


def test_zero_generation():
    f = Flows(load_kw=[1.0, 2.0], generation_kw=[0.0, 0.0], dt_h=1.0)
    d = _d(kpis_load_matching(f, p_pv_nom_kw=0.0))
    for view in ("D", "P"):
        assert d[f"scr[{view}]"]["value"] is None
        assert d[f"scr[{view}]"]["reason"] == "zero generation"
        assert _v(d, f"ssr[{view}]") == 0.0
        assert d[f"cover_factor_supply[{view}]"]["value"] is None
        assert _v(d, f"cover_factor_load[{view}]") == 0.0
    assert d["cf_pv[D]"]["reason"] == "zero PV nominal power"
    assert _v(d, "load_match_index[D]") == 0.0


def test_zero_demand():
    f = Flows(load_kw=[0.0, 0.0], generation_kw=[1.0, 0.0], dt_h=1.0)
    d = _d(kpis_load_matching(f))
    for view in ("D", "P"):
        assert d[f"ssr[{view}]"]["value"] is None
        assert d[f"ssr[{view}]"]["reason"] == "zero demand"
        assert _v(d, f"scr[{view}]") == 0.0
        assert d[f"cover_factor_load[{view}]"]["value"] is None
    assert _v(d, "load_match_index[D]") == 1.0  # l = 0 counts 1


def test_constant_power_and_no_exchange():
    f = Flows(load_kw=[2.0, 2.0, 2.0], generation_kw=[0.0, 0.0, 0.0], dt_h=1.0)
    d = _d(kpis_load_matching(f, views=("D",)))
    assert _v(d, "gii[D]") == 0.0
    assert _v(d, "lolp[D]") == 1.0
    f = Flows(load_kw=[1.0, 2.0], generation_kw=[1.0, 2.0], dt_h=1.0)
    d = _d(kpis_load_matching(f, views=("D",)))
    assert d["gii[D]"]["value"] is None
    assert d["gii[D]"]["reason"] == "no grid exchange"
    assert _v(d, "p_no_grid_interaction[D]") == 1.0
    assert _v(d, "scr[D]") == 1.0
    assert _v(d, "ssr[D]") == 1.0


def test_missing_capacity_inputs_give_nan_with_reason():
    d = _d(kpis_load_matching(_case_a()))
    assert d["cf_pv[D]"]["reason"] == "missing input: p_pv_nom_kw"
    assert d["cf_import[D]"]["reason"] == "missing input: p_conn_kw"


def test_weighted_balance_and_positivity():
    d = _d(
        kpis_weighted_balance(
            {"el": 100.0, "gas": 50.0}, {"el": 120.0}, {"el": 2.42, "gas": 1.05}, period="annual"
        )
    )
    # B = 2.42 * 120 - 2.42 * 100 - 1.05 * 50 = -4.1
    assert _v(d, "b_weighted_kwh_pe[D]") == pytest.approx(-4.1)
    assert _v(d, "ped_positive[D]") == 0.0
    d = _d(
        kpis_weighted_balance(
            {"el": 100.0},
            {"el": 120.0},
            {"el": 2.0},
            {"el": 1.0},
            b_target_kwh_pe=-80.0,
            period="annual",
        )
    )
    assert _v(d, "b_weighted_kwh_pe[D]") == pytest.approx(-80.0)
    assert _v(d, "ped_positive[D]") == 1.0
    d = _d(
        kpis_positivity_ratio(
            {"el": 300.0}, {"el": 200.0, "gas": 100.0}, {"el": 2.0, "gas": 1.0}, period="annual"
        )
    )
    assert _v(d, "positivity_ratio[D]") == pytest.approx(1.2)
    d = _d(kpis_positivity_ratio({"el": 3.0}, {"el": 0.0}, {"el": 2.0}, period="annual"))
    assert d["positivity_ratio[D]"]["reason"] == "zero weighted energy use"
