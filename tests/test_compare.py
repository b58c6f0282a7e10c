"""Scenario comparison, flexibility KPIs against a reference run, comparison charts, CLI."""

import dataclasses
import json
import math
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml

from pedsim.analysis.compare import (
    PeriodMismatchError,
    compare_kpis,
    compare_runs,
    comparison_to_json,
    format_comparison,
    kpis_against_reference,
    run_labels,
)
from pedsim.analysis.compare_plots import plot_comparison
from pedsim.analysis.kpi import KPI
from pedsim.analysis.report import kpis_from_results
from pedsim.cli import main
from pedsim.results import read_results
from pedsim.run.runner import run_scenario
from pedsim.scenario import load_scenario
from pedsim.scenario.load import limit_period

ROOT = Path(__file__).parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def pv_runs(tmp_path_factory):
    """The reference scenario for two days (PV produces on 2 January) at PV scaling 1 and 3."""
    tmp = tmp_path_factory.mktemp("compare")
    base = yaml.safe_load((ROOT / "scenarios" / "reference.yaml").read_text())
    paths = {}
    for name, scaling in (("pv1", 1.0), ("pv3", 3.0)):
        body = {**base, "name": name, "profiles": {**base["profiles"], "pv_scaling": scaling}}
        scenario_path = tmp / f"{name}.yaml"
        scenario_path.write_text(yaml.safe_dump(body))
        scenario = limit_period(load_scenario(scenario_path), "2 days")
        paths[name] = run_scenario(scenario, tmp / f"{name}.h5", progress=False).path
    return paths


@pytest.fixture(scope="module")
def pv_results(pv_runs):
    return {k: read_results(p) for k, p in pv_runs.items()}


def kpi(name, value, unit="kWh", view="D", reason=None):
    if reason is None and math.isnan(value):
        reason = "zero generation"
    return KPI(name=name, value=value, unit=unit, view=view, period="24 h", reason=reason)


# -- comparison logic on hand-made KPI lists ---------------------------------------------


def test_compare_kpis_diffs_relative_and_reasons():
    comp = compare_kpis(
        {
            "a": [kpi("e_import_kwh", 200.0), kpi("ssr", 0.25, "-"), kpi("scr", math.nan, "-")],
            "b": [kpi("e_import_kwh", 150.0), kpi("ssr", 0.5, "-"), kpi("scr", 0.9, "-")],
            "c": [kpi("e_import_kwh", 200.0 + 1e-14), kpi("e_export_kwh", 3.0)],
        }
    )
    rows = {r.key: r for r in comp.rows}
    assert list(rows) == ["e_import_kwh[D]", "ssr[D]", "scr[D]", "e_export_kwh[D]"]
    imp = rows["e_import_kwh[D]"]
    assert imp.diff == {"b": -50.0, "c": 0.0}  # 1e-14 on 200 is rounding noise
    assert imp.rel_percent == {"b": pytest.approx(-25.0), "c": 0.0}
    # Ratios: absolute difference only.
    assert rows["ssr[D]"].diff["b"] == pytest.approx(0.25)
    assert rows["ssr[D]"].rel_percent["b"] is None
    # NaN and missing values carry their reason and have no difference.
    scr = rows["scr[D]"]
    assert scr.reasons == {"a": "zero generation", "c": "not computed for this run"}
    assert scr.diff == {"b": None, "c": None}
    assert rows["e_export_kwh[D]"].values == {"a": None, "b": None, "c": 3.0}

    data = comparison_to_json(comp)
    assert data["scr[D]"]["values"] == {"a": None, "b": 0.9, "c": None}
    assert set(data["e_import_kwh[D]"]) >= {"unit", "view", "values", "diff"}
    json.dumps(data, allow_nan=False)

    text = format_comparison(comp)
    assert "b - a" in text and "c - a" in text and "-50 (-25 %)" in text
    assert "scr[D] (a): zero generation" in text


def test_compare_kpis_zero_base_has_no_relative_difference():
    comp = compare_kpis({"a": [kpi("e_export_kwh", 0.0)], "b": [kpi("e_export_kwh", 2.0)]})
    assert comp.rows[0].diff == {"b": 2.0} and comp.rows[0].rel_percent == {"b": None}
    with pytest.raises(ValueError, match="at least one run"):
        compare_kpis({})


def test_run_labels_fall_back_to_file_stems(pv_results):
    a = pv_results["pv1"]
    same_name = dataclasses.replace(a, attrs={**a.attrs, "scenario_name": "pv1"})
    b = dataclasses.replace(same_name, path=Path("x") / "other.h5")
    assert run_labels([a, pv_results["pv3"]]) == ["pv1", "pv3"]
    assert run_labels([a, b]) == [a.path.stem, "other"]
    c = dataclasses.replace(same_name, path=Path("y") / a.path.name)
    assert run_labels([a, c]) == [str(a.path), str(c.path)]
    assert run_labels([a, a]) == [f"{a.path}#1", f"{a.path}#2"]


# -- two runs of the reference scenario -------------------------------------------------


def test_more_pv_means_more_generation_and_less_import(pv_results):
    comp, runs = compare_runs([pv_results["pv1"], pv_results["pv3"]])
    assert comp.labels == ["pv1", "pv3"] and list(runs) == ["pv1", "pv3"]
    rows = {r.key: r for r in comp.rows}
    gen = rows["e_generation_kwh[D]"]
    assert gen.values["pv1"] > 10.0  # PV produces on 2 January
    assert gen.diff["pv3"] == pytest.approx(2.0 * gen.values["pv1"], rel=1e-9)
    assert gen.rel_percent["pv3"] == pytest.approx(200.0, rel=1e-9)
    for view in ("D", "P"):
        assert rows[f"e_import_kwh[{view}]"].diff["pv3"] < 0.0
        assert rows[f"ssr[{view}]"].diff["pv3"] > 0.0
    assert rows["e_load_kwh[D]"].diff["pv3"] == 0.0
    # In view D all PV is used inside the district in January: import falls by the extra PV.
    assert rows["e_import_kwh[D]"].diff["pv3"] == pytest.approx(-gen.diff["pv3"], rel=1e-9)
    assert rows["e_loss_kwh[grid]"].diff["pv3"] < 0.0


def test_flexibility_against_reference(pv_results):
    flex, ref = pv_results["pv3"], pv_results["pv1"]
    kpis = {k.name: k for k in kpis_against_reference(flex, ref)}
    # Independent reference: district net power from the recorded unit powers.
    n_flex = flex["loads/p_kw"].sum(axis=1) + flex["pv/p_kw"].sum(axis=1)
    n_ref = ref["loads/p_kw"].sum(axis=1) + ref["pv/p_kw"].sum(axis=1)
    dt_h = 0.25
    shifted = float(np.clip(n_ref - n_flex, 0.0, None).sum()) * dt_h
    assert kpis["e_shifted_kwh"].value == pytest.approx(shifted, rel=1e-12)
    assert kpis["c_storage_like_kwh"].value == pytest.approx(
        float((n_flex - n_ref).sum()) * dt_h, rel=1e-12
    )
    index = 1.0 - float((n_ref * n_flex).sum()) / float((n_ref * n_ref).sum())
    assert kpis["flexibility_index"].value == pytest.approx(index, rel=1e-12)
    assert kpis["flexibility_index"].value > 0.0  # less net power when residual load is high
    for name in ("e_rebound_kwh", "eta_storage_like", "flexibility_factor"):
        assert math.isnan(kpis[name].value) and kpis[name].reason
    # Against itself: nothing shifted, index 0.
    same = {k.name: k.value for k in kpis_against_reference(ref, ref)}
    assert same["e_shifted_kwh"] == 0.0 and same["flexibility_index"] == pytest.approx(0.0)
    # Through kpis_from_results: the plain KPIs plus the flexibility ones.
    names = [k.name for k in kpis_from_results(flex, reference=ref)]
    assert "e_import_kwh" in names and names[-6:] == list(kpis)


def test_reference_with_another_period_is_an_error(pv_results):
    ref = pv_results["pv1"]
    short = dataclasses.replace(ref, index=ref.index + pd.Timedelta(days=1))
    with pytest.raises(PeriodMismatchError, match="same scenario period"):
        kpis_against_reference(pv_results["pv3"], short)


# -- charts ---------------------------------------------------------------------------


def test_flexibility_envelope_chart_when_recorded(pv_results, tmp_path):
    a, b = pv_results["pv1"], pv_results["pv3"]
    n = len(b.index)
    series = dict(b.series)
    for direction, level in (("up", 4.0), ("down", 2.0)):
        series[f"storage/p_flex_{direction}_kw"] = pd.DataFrame(
            {"b1": np.full(n, level), "b2": np.linspace(0.0, 1.0, n)}, index=b.index
        )
    b = dataclasses.replace(b, series=series)
    written, notes = plot_comparison({"pv1": a, "pv3": b}, tmp_path / "charts")
    assert [p.name for p in written] == [
        "energy_balance.png",
        "trafo_duration_curve.png",
        "voltage_envelope.png",
        "flexibility_envelope.png",
    ]
    assert all(p.read_bytes()[:8] == PNG_MAGIC for p in written)
    assert notes == ["flexibility envelope: run pv1 records no flexibility envelope"]


# -- command line -----------------------------------------------------------------------


def test_cli_compare_table_json_and_plots(pv_runs, tmp_path, capsys):
    a, b = str(pv_runs["pv1"]), str(pv_runs["pv3"])
    assert main(["compare", a, b]) == 0
    out = capsys.readouterr().out
    assert "pv3 - pv1" in out and "e_generation_kwh" in out and "(+200 %)" in out
    assert "en50160_compliant[grid]: period too short" in out

    assert main(["compare", a, b, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    row = data["e_import_kwh[D]"]
    assert row["unit"] == "kWh" and row["view"] == "D"
    assert set(row["values"]) == {"pv1", "pv3"} and set(row["diff"]) == {"pv3"}
    assert row["diff"]["pv3"] == pytest.approx(row["values"]["pv3"] - row["values"]["pv1"])
    assert data["en50160_compliant[grid]"]["values"] == {"pv1": None, "pv3": None}
    assert "period too short" in data["en50160_compliant[grid]"]["reasons"]["pv1"]

    charts = tmp_path / "charts"
    assert main(["compare", a, b, "--json", "--plot", str(charts)]) == 0
    captured = capsys.readouterr()
    json.loads(captured.out)  # the notes do not spoil the JSON on stdout
    assert "no run records flexibility envelopes" in captured.err
    files = sorted(p.name for p in charts.iterdir())
    assert files == ["energy_balance.png", "trafo_duration_curve.png", "voltage_envelope.png"]
    for p in charts.iterdir():
        assert p.stat().st_size > 10_000 and p.read_bytes()[:8] == PNG_MAGIC


def test_cli_kpi_reference_and_reasons(pv_runs, tmp_path, capsys):
    a, b = str(pv_runs["pv1"]), str(pv_runs["pv3"])
    assert main(["kpi", a]) == 0
    out = capsys.readouterr().out
    assert "en50160_compliant" in out and "(period too short" in out
    assert main(["kpi", b, "--reference", a, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["e_shifted_kwh[D]"]["value"] > 0.0
    assert data["e_rebound_kwh[D]"]["value"] is None
    assert "whole run" in data["e_rebound_kwh[D]"]["reason"]
    assert data["en50160_compliant[grid]"]["reason"].startswith("period too short")
    assert main(["kpi", b, "--reference", a]) == 0
    assert "flexibility_index" in capsys.readouterr().out

    # A reference over another period is invalid input.
    shifted = tmp_path / "shifted.h5"
    shifted.write_bytes(Path(a).read_bytes())
    with h5py.File(shifted, "r+") as f:
        stamps = pd.to_datetime([s.decode() for s in f["time/timestamp"][:]])
        moved = (stamps + pd.Timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
        f["time/timestamp"][:] = np.array(moved, dtype="S19")
    assert main(["kpi", b, "--reference", str(shifted)]) == 2
    assert "same scenario period" in capsys.readouterr().err


def test_cli_compare_invalid_input(pv_runs, tmp_path, capsys):
    a = str(pv_runs["pv1"])
    assert main(["compare", a]) == 2
    assert main(["compare", a, str(tmp_path / "none.h5")]) == 2
    assert main(["kpi", a, "--reference", str(tmp_path / "none.h5")]) == 2
    capsys.readouterr()
