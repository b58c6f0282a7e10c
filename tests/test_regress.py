"""Regression checks against golden KPI files: diff logic, golden files, CLI, reference run."""

import json
import math
import re
from pathlib import Path

import pytest

from pedsim.analysis.kpi import KPI
from pedsim.analysis.regress import (
    GoldenFileError,
    check_kpis,
    format_report,
    golden_from_kpis,
    read_golden,
    write_golden,
)
from pedsim.cli import main
from pedsim.run.runner import run_scenario
from pedsim.scenario import load_scenario
from pedsim.scenario.load import limit_period
from pedsim.testing import assert_kpis_match

ROOT = Path(__file__).parents[1]
GOLDEN = ROOT / "tests" / "golden" / "reference-1day.yaml"
PERIOD = "24 h"
HEAD = "format: pedsim-golden-kpis\nformat_version: 1\n"


def kpi(name, value, unit="kWh", view="D", reason=None):
    if reason is None and math.isnan(value):
        reason = "zero generation"
    return KPI(name=name, value=value, unit=unit, view=view, period=PERIOD, reason=reason)


def golden(kpis, default=None):
    return {"default_tolerance": default or {}, "kpis": kpis, "source": {}}


def verdicts(report):
    return {c.key: c.verdict for c in report.checks}


# -- diff logic on hand-made KPI lists ---------------------------------------------------


def test_pass_within_default_tolerance():
    g = golden({"e_import_kwh[D]": {"expected": 100.0}}, {"rel": 1e-6})
    report = check_kpis([kpi("e_import_kwh", 100.00005)], g)
    assert report.passed and verdicts(report) == {"e_import_kwh[D]": "pass"}
    assert report.checks[0].tolerance == pytest.approx(1e-4)
    assert format_report(report).startswith("PASS: 1 passed, 0 failed")


def test_fail_abs():
    g = golden({"p_import_peak_kw[D]": {"expected": 10.0, "abs": 0.01}})
    assert check_kpis([kpi("p_import_peak_kw", 10.009, "kW")], g).passed
    report = check_kpis([kpi("p_import_peak_kw", 10.02, "kW")], g)
    assert not report.passed
    (c,) = report.failures
    assert (c.key, c.expected, c.got, c.verdict) == ("p_import_peak_kw[D]", 10.0, 10.02, "FAIL")
    assert c.tolerance == pytest.approx(0.01)
    text = format_report(report)
    for word in ("KPI", "expected", "got", "tolerance", "verdict", "p_import_peak_kw[D]", "FAIL"):
        assert word in text
    assert "abs 0.01" in text and "off by +0.02" in text


def test_fail_rel_and_per_kpi_override_of_default():
    g = golden(
        {"e_load_kwh[D]": {"expected": 1000.0, "rel": 1e-3}, "e_import_kwh[D]": {"expected": 1.0}},
        {"rel": 1e-6, "abs": 0.5},
    )
    # e_load: rel 1e-3 of 1000 = 1 (beats abs 0.5); 1000.9 passes, 1001.1 fails.
    ok = check_kpis([kpi("e_load_kwh", 1000.9), kpi("e_import_kwh", 1.4)], g)
    assert ok.passed
    bad = check_kpis([kpi("e_load_kwh", 1001.1), kpi("e_import_kwh", 1.6)], g)
    assert verdicts(bad) == {"e_load_kwh[D]": "FAIL", "e_import_kwh[D]": "FAIL"}
    assert "rel 0.001, abs 0.5" in format_report(bad)


def test_zero_tolerance_demands_equality():
    g = golden({"lolp[D]": {"expected": 1.0, "unit": "-"}})
    assert check_kpis([kpi("lolp", 1.0, "-")], g).passed
    assert not check_kpis([kpi("lolp", 1.0 + 1e-15, "-")], g).passed


def test_nan_expected_and_nan_got():
    g = golden({"scr[D]": {"expected": math.nan}}, {"rel": 1e-6})
    assert check_kpis([kpi("scr", math.nan, "-")], g).passed
    report = check_kpis([kpi("scr", 0.5, "-")], g)
    assert verdicts(report) == {"scr[D]": "FAIL"}
    assert report.checks[0].detail == "NaN expected"
    g_number = golden({"scr[D]": {"expected": 0.5}}, {"rel": 1.0})
    report = check_kpis([kpi("scr", math.nan, "-", reason="zero generation")], g_number)
    assert verdicts(report) == {"scr[D]": "FAIL"}
    assert "NaN: zero generation" in format_report(report)


def test_missing_kpi_fails_extra_kpi_is_reported():
    g = golden({"e_import_kwh[D]": {"expected": 1.0}, "ssr[D]": {"expected": 0.5}}, {"abs": 1e-9})
    report = check_kpis([kpi("e_import_kwh", 1.0), kpi("e_export_kwh", 2.0)], g)
    assert verdicts(report) == {
        "e_import_kwh[D]": "pass",
        "ssr[D]": "missing",
        "e_export_kwh[D]": "extra",
    }
    assert not report.passed and [c.key for c in report.failures] == ["ssr[D]"]
    text = format_report(report)
    assert "missing" in text and "extra" in text and "1 missing, 1 extra" in text
    # An extra KPI alone is not a failure.
    assert check_kpis([kpi("e_import_kwh", 1.0), kpi("ssr", 0.5, "-"), kpi("x", 1.0)], g).passed


def test_unit_change_fails():
    g = golden({"e_import_kwh[D]": {"expected": 1.0, "unit": "kWh"}})
    report = check_kpis([kpi("e_import_kwh", 1.0, unit="MWh")], g)
    assert verdicts(report) == {"e_import_kwh[D]": "FAIL"}
    assert "unit" in report.checks[0].detail


def test_period_note():
    g = {**golden({"x[D]": {"expected": 1.0}}), "source": {"period": "48 h"}}
    report = check_kpis([kpi("x", 1.0)], g)
    assert report.passed and "the run covers 24 h; the golden file 48 h" in format_report(report)


# -- golden files ------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_golden_round_trip_keeps_tolerances(tmp_path, suffix):
    path = tmp_path / f"g{suffix}"
    first = golden_from_kpis([kpi("e_import_kwh", 3.0), kpi("scr", math.nan, "-")])
    assert first["default_tolerance"] == {"rel": 1e-6, "abs": 1e-9}
    write_golden(first, path)
    read = read_golden(path)
    assert read["kpis"]["e_import_kwh[D]"]["expected"] == 3.0
    assert math.isnan(read["kpis"]["scr[D]"]["expected"])
    assert read["kpis"]["scr[D]"]["reason"] == "zero generation"
    # Hand-set tolerances survive a refresh with new values.
    read["kpis"]["e_import_kwh[D]"]["abs"] = 0.25
    read["default_tolerance"] = {"rel": 1e-3}
    write_golden(read, path)
    again = golden_from_kpis([kpi("e_import_kwh", 4.0), kpi("ssr", 0.1, "-")], read_golden(path))
    write_golden(again, path)
    final = read_golden(path)
    assert final["default_tolerance"] == {"rel": 1e-3}
    assert final["kpis"]["e_import_kwh[D]"] == {"expected": 4.0, "unit": "kWh", "abs": 0.25}
    assert set(final["kpis"]) == {"e_import_kwh[D]", "ssr[D]"}
    if suffix == ".json":
        assert json.loads(path.read_text())["kpis"]["e_import_kwh[D]"]["expected"] == 4.0
    else:
        assert path.read_text().startswith("# Golden KPIs")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("format: other\n", "format: pedsim-golden-kpis"),
        ("format: pedsim-golden-kpis\nformat_version: 2\nkpis: {}\n", "format_version"),
        (f"{HEAD}kpis: {{a: {{expected: x}}}}\n", "number"),
        (f"{HEAD}kpis: {{a: {{expected: 1, rel: -1}}}}\n", ">= 0"),
        (f"{HEAD}kpis: {{a: {{expected: 1, tol: 1}}}}\n", "unknown keys"),
        (f"{HEAD}kpis: [1]\n", "expected a mapping"),
        ("kpis: {a: [\n", "not valid YAML"),
    ],
)
def test_bad_golden_files(tmp_path, text, message):
    path = tmp_path / "g.yaml"
    path.write_text(text)
    with pytest.raises(GoldenFileError, match=message.replace("(", r"\(")):
        read_golden(path)


def test_committed_golden_file_is_well_formed():
    g = read_golden(GOLDEN)
    assert g["default_tolerance"] == {"rel": 1e-6, "abs": 1e-9}
    assert g["source"]["scenario_name"] == "reference"
    assert "--update" in g["header"] and "Tolerances" in g["header"]
    assert len(g["kpis"]) > 40


# -- the reference scenario, one day ---------------------------------------------------


@pytest.fixture(scope="module")
def reference_1day(tmp_path_factory):
    scenario = limit_period(load_scenario(ROOT / "scenarios" / "reference.yaml"), "1 day")
    out = tmp_path_factory.mktemp("regress") / "reference-1day.h5"
    return run_scenario(scenario, out, progress=False).path


def test_reference_run_matches_golden(reference_1day):
    assert_kpis_match(reference_1day, GOLDEN)


def test_assert_kpis_match_raises_with_diff(reference_1day, tmp_path):
    g = read_golden(GOLDEN)
    g["kpis"]["e_import_kwh[D]"]["expected"] *= 1.01
    g["kpis"]["no_such_kpi[D]"] = {"expected": 1.0}
    write_golden(g, tmp_path / "bad.yaml")
    with pytest.raises(AssertionError) as info:
        assert_kpis_match(reference_1day, tmp_path / "bad.yaml")
    text = str(info.value)
    assert "e_import_kwh[D]" in text and "FAIL" in text and "no_such_kpi[D]" in text
    assert "missing" in text and "tolerance" in text


def test_cli_regress(reference_1day, tmp_path, capsys):
    assert main(["regress", str(reference_1day), "--golden", str(GOLDEN)]) == 0
    n = len(read_golden(GOLDEN)["kpis"])
    assert f"PASS: {n} passed, 0 failed" in capsys.readouterr().out
    assert main(["regress", str(reference_1day), "--golden", str(GOLDEN), "--all"]) == 0
    assert "vm_min_pu[grid]" in capsys.readouterr().out

    g = read_golden(GOLDEN)
    g["kpis"]["vm_min_pu[grid]"]["expected"] += 1e-3
    g["kpis"]["vm_min_pu[grid]"]["abs"] = 1e-4
    bad = write_golden(g, tmp_path / "bad.yaml")
    assert main(["regress", str(reference_1day), "--golden", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "vm_min_pu[grid]" in out and "FAIL" in out and "1 failed" in out

    # --update refreshes the values and keeps the header and the tolerances.
    assert main(["regress", str(reference_1day), "--golden", str(bad), "--update"]) == 0
    assert "1 changed beyond tolerance" in capsys.readouterr().out
    assert main(["regress", str(reference_1day), "--golden", str(bad)]) == 0
    refreshed = read_golden(bad)
    assert refreshed["kpis"]["vm_min_pu[grid]"]["abs"] == 1e-4
    assert refreshed["header"] == read_golden(GOLDEN)["header"]

    # --update creates a new file (JSON here).
    new = tmp_path / "sub" / "new.json"
    assert main(["regress", str(reference_1day), "--golden", str(new), "--update"]) == 0
    assert re.search(r"(\d+) KPIs \(\1 added, 0 removed", capsys.readouterr().out)
    assert main(["regress", str(reference_1day), "--golden", str(new)]) == 0
    capsys.readouterr()


def test_cli_regress_invalid_input(reference_1day, tmp_path, capsys):
    assert main(["regress", str(reference_1day), "--golden", str(tmp_path / "none.yaml")]) == 2
    assert "create it with --update" in capsys.readouterr().err
    broken = tmp_path / "broken.yaml"
    broken.write_text("format: nope\n")
    assert main(["regress", str(reference_1day), "--golden", str(broken)]) == 2
    assert main(["regress", str(reference_1day), "--golden", str(broken), "--update"]) == 2
    assert main(["regress", str(tmp_path / "none.h5"), "--golden", str(GOLDEN)]) == 2
    capsys.readouterr()
