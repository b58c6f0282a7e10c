"""Interoperability: the CityLearn Challenge 2022 data set through the KPI engine.

The 17 homes' ``non_shiftable_load`` (kWh per hour = mean kW) is the load and
``solar_generation`` (W per kW of PV) times the PV size from ``schema.json`` / 1000 is the
generation; no storage. Reference values are derived here with plain numpy on the raw
columns. Data: tests/data/citylearn (MIT licence, see LICENSE-AND-SOURCE.md there).
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pedsim.analysis.kpi import (
    Flows,
    kpis_community,
    kpis_emissions_primary_energy,
    kpis_energy_balance,
    kpis_load_matching,
    kpis_to_json_dict,
)

DATA = Path(__file__).parent / "data" / "citylearn"


@pytest.fixture(scope="module")
def raw():
    schema = json.loads((DATA / "schema.json").read_text())
    names = [b for b, spec in schema["buildings"].items() if spec["include"]]
    load, gen = [], []
    for b in names:
        df = pd.read_csv(DATA / schema["buildings"][b]["energy_simulation"])
        load.append(df["non_shiftable_load"].to_numpy())
        kwp = schema["buildings"][b]["pv"]["attributes"]["nominal_power"]
        gen.append(df["solar_generation"].to_numpy() * kwp / 1000.0)
    ci = pd.read_csv(DATA / "carbon_intensity.csv")["carbon_intensity"].to_numpy()
    return names, np.column_stack(load), np.column_stack(gen), ci


@pytest.fixture(scope="module")
def kpis(raw):
    names, load, gen, ci = raw
    flows = Flows(load_kw=load, generation_kw=gen, dt_h=1.0, building_ids=names)
    out = (
        kpis_energy_balance(flows)
        + kpis_load_matching(flows)
        + kpis_emissions_primary_energy(flows, ci)
        + kpis_community(flows)
    )
    return {k: v["value"] for k, v in kpis_to_json_dict(out).items()}, kpis_to_json_dict(out)


def test_data_shape(raw):
    names, load, gen, ci = raw
    assert len(names) == 17
    assert load.shape == gen.shape == (8760, 17)
    assert ci.shape == (8760,)


def test_district_view_against_numpy(raw, kpis):
    _, load, gen, _ = raw
    v, d = kpis
    net_d = load.sum(axis=1) - gen.sum(axis=1)
    imp = net_d[net_d > 0].sum()
    exp = -net_d[net_d < 0].sum()
    g = gen.sum()
    assert d["scr[D]"]["period"] == "annual"
    assert v["e_import_kwh[D]"] == pytest.approx(imp, rel=1e-12)
    assert v["e_export_kwh[D]"] == pytest.approx(exp, rel=1e-12)
    assert v["scr[D]"] == pytest.approx((g - exp) / g, rel=1e-12)
    assert v["ssr[D]"] == pytest.approx((load.sum() - imp) / load.sum(), rel=1e-12)
    assert v["p_import_peak_kw[D]"] == pytest.approx(net_d.max(), rel=1e-12)
    assert v["p_export_peak_kw[D]"] == pytest.approx(-net_d.min(), rel=1e-12)
    top = np.sort(np.maximum(net_d, 0.0))[-88:]  # ceil(0.01 * 8760) = 88
    assert v["p_import_peak_1pct_kw[D]"] == pytest.approx(top.mean(), rel=1e-12)
    assert 0.0 < v["scr[D]"] < 1.0
    assert 0.0 < v["ssr[D]"] < 1.0


def test_pod_view_and_citylearn_style_emissions(raw, kpis):
    _, load, gen, ci = raw
    v, _ = kpis
    net = load - gen
    imp_b = np.clip(net, 0.0, None)
    exp_b = np.clip(-net, 0.0, None)
    g = gen.sum()
    assert v["e_import_kwh[P]"] == pytest.approx(imp_b.sum(), rel=1e-12)
    assert v["e_export_kwh[P]"] == pytest.approx(exp_b.sum(), rel=1e-12)
    assert v["scr[P]"] == pytest.approx((g - exp_b.sum()) / g, rel=1e-12)
    assert v["ssr[P]"] == pytest.approx((load.sum() - imp_b.sum()) / load.sum(), rel=1e-12)
    assert v["p_import_peak_kw[P]"] == pytest.approx(imp_b.sum(axis=1).max(), rel=1e-12)
    # CityLearn's emissions: per building, clipped at zero, no export credit (view P, k = 0)
    assert v["co2e_kexp0_kg[P]"] == pytest.approx((imp_b * ci[:, None]).sum(), rel=1e-12)
    # netting between buildings can only lower import and export
    assert v["e_import_kwh[D]"] <= v["e_import_kwh[P]"]
    assert v["scr[D]"] >= v["scr[P]"]


def test_community_identity_on_real_data(kpis):
    v, _ = kpis
    assert v["e_shared_kwh[P]"] == pytest.approx(
        v["e_export_kwh[P]"] - v["e_export_kwh[D]"], rel=1e-12
    )
