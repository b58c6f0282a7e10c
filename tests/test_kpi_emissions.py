"""Emissions and primary energy on the hand case of test_kpi_balance_matching (case A).

E_m^D per step = [1.5, 0, 0] kWh, E_x^D = [0, 0.5, 1.5] kWh
E_m^P per step = [1.5, 0.5, 0] kWh, E_x^P = [0, 1.0, 1.5] kWh
"""

import numpy as np
import pytest

from pedsim.analysis.kpi import (
    Flows,
    KPIInputError,
    PrimaryEnergyFactors,
    kpi_marginal_emission_effect,
    kpis_emissions_primary_energy,
    kpis_to_json_dict,
)

LOAD = np.array([[2.0, 1.0], [1.0, 1.0], [0.0, 2.0]])
GEN = np.array([[0.0, 0.0], [3.0, 0.0], [1.0, 4.0]])
EF = [0.5, 0.2, 0.1]
PEF = PrimaryEnergyFactors(nren=1.95, tot=2.42, source="test factors")


def _d(**kw):
    f = Flows(load_kw=LOAD, generation_kw=GEN, dt_h=0.5)
    return {
        k: v["value"] for k, v in kpis_to_json_dict(kpis_emissions_primary_energy(f, **kw)).items()
    }


def test_attributional_emissions_both_views_and_k_exp():
    v = _d(ef_kg_per_kwh=EF)
    assert v["co2e_kexp0_kg[D]"] == pytest.approx(0.75)
    assert v["co2e_kexp1_kg[D]"] == pytest.approx(0.75 - 0.1 - 0.15)
    assert v["co2e_kexp0_kg[P]"] == pytest.approx(0.75 + 0.1)
    assert v["co2e_kexp1_kg[P]"] == pytest.approx(0.85 - 0.2 - 0.15)
    # constant factor
    v = _d(ef_kg_per_kwh=0.4, k_exp=(0.5,))
    assert v["co2e_kexp0p5_kg[D]"] == pytest.approx(0.4 * (1.5 - 0.5 * 2.0))


def test_primary_energy_and_rer():
    v = _d(f_pe_del=PEF)
    assert v["e_pe_nren_kexp0_kwh_pe[D]"] == pytest.approx(1.5 * 1.95)
    assert v["e_pe_tot_kexp0_kwh_pe[D]"] == pytest.approx(1.5 * 2.42)
    assert v["e_pe_nren_kexp1_kwh_pe[D]"] == pytest.approx((1.5 - 2.0) * 1.95)
    assert v["e_pe_tot_kexp1_kwh_pe[P]"] == pytest.approx((2.0 - 2.5) * 2.42)
    # RER (D): on-site PV used on site = 4 - 2 = 2 kWh at factor 1
    assert v["rer[D]"] == pytest.approx((1.5 * 0.47 + 2.0) / (1.5 * 2.42 + 2.0))
    # separate export factors
    v = _d(f_pe_del=PEF, f_pe_exp=PrimaryEnergyFactors(nren=1.0, tot=1.0))
    assert v["e_pe_nren_kexp1_kwh_pe[D]"] == pytest.approx(1.5 * 1.95 - 2.0 * 1.0)


def test_missing_factors_give_nan_with_reason():
    f = Flows(load_kw=LOAD, generation_kw=GEN, dt_h=0.5)
    d = kpis_to_json_dict(kpis_emissions_primary_energy(f))
    assert d["co2e_kexp0_kg[D]"]["reason"] == "missing input: ef_kg_per_kwh"
    assert d["e_pe_tot_kexp1_kwh_pe[P]"]["reason"] == "missing input: f_pe_del"
    assert d["rer[D]"]["value"] is None


def test_bad_inputs():
    f = Flows(load_kw=LOAD, generation_kw=GEN, dt_h=0.5)
    with pytest.raises(KPIInputError, match="k_exp"):
        kpis_emissions_primary_energy(f, EF, k_exp=(2.0,))
    with pytest.raises(KPIInputError, match="ef_kg_per_kwh"):
        kpis_emissions_primary_energy(f, [0.1, 0.2])


def test_marginal_effect():
    d = kpis_to_json_dict(kpi_marginal_emission_effect([1.0, 2.0], [2.0, 2.0], [0.3, 0.1], 0.5))
    assert d["co2e_control_effect_kg[D]"]["value"] == pytest.approx(-0.15)
    assert d["co2e_control_effect_kg[D]"]["period"] == "1 h"
