"""Grid KPIs (voltage band, EN 50160 weeks, loading, losses, reverse flow)."""

import numpy as np
import pandas as pd
import pytest

from pedsim.analysis.kpi import (
    KPIInputError,
    en50160_weekly,
    kpis_grid,
    kpis_to_json_dict,
    overload_hours,
    voltage_violation_hours,
)

VM = pd.DataFrame({"A": [1.0, 0.95, 0.89, 1.12], "B": [1.0, 1.0, 1.0, 1.0]})
LINE = np.array([[50.0, 10.0], [120.0, 20.0], [90.0, 30.0], [101.0, 40.0]])
TRAFO = np.array([80.0, 100.0, 100.5, 60.0])
LOSS = np.array([[1.0, 0.5], [2.0, 0.5], [1.0, 0.0], [0.0, 0.0]])
P_TRAFO = np.array([10.0, -5.0, -20.0, 3.0])


def _grid(**kw):
    args = {
        "loading_line_percent": LINE,
        "loading_trafo_percent": TRAFO,
        "p_loss_kw": LOSS,
        "p_trafo_kw": P_TRAFO,
        "dt_h": 1.0,
        "e_load_kwh": 100.0,
    }
    args.update(kw)
    return kpis_to_json_dict(kpis_grid(VM, **args))


def test_grid_kpis_hand_case():
    d = _grid()
    v = {k: x["value"] for k, x in d.items()}
    assert all(x["view"] == "grid" and x["period"] == "4 h" for x in d.values())
    assert v["vm_min_pu[grid]"] == 0.89
    assert v["vm_max_pu[grid]"] == 1.12
    assert v["t_vm_violation_any_h[grid]"] == 2.0
    assert v["t_vm_violation_max_bus_h[grid]"] == 2.0
    assert v["loading_line_max_percent[grid]"] == 120.0
    # line 1 sorted [50, 90, 101, 120]: linear p95 at position 2.85 -> 101 + 0.85 * 19
    assert v["loading_line_p95_percent[grid]"] == pytest.approx(117.15)
    assert v["t_line_overload_max_h[grid]"] == 2.0
    assert v["t_line_overload_any_h[grid]"] == 2.0
    assert v["loading_trafo_max_percent[grid]"] == 100.5
    assert v["loading_trafo_p95_percent[grid]"] == pytest.approx(100.425)
    assert v["t_trafo_overload_max_h[grid]"] == 1.0
    assert v["t_trafo_overload_any_h[grid]"] == 1.0
    assert v["e_loss_kwh[grid]"] == pytest.approx(5.0)
    assert v["loss_ratio_percent[grid]"] == pytest.approx(5.0)
    assert v["t_reverse_flow_h[grid]"] == 2.0
    assert v["e_reverse_flow_kwh[grid]"] == pytest.approx(25.0)
    assert v["p_reverse_flow_peak_kw[grid]"] == 20.0
    # 4 h is shorter than an EN 50160 week
    assert v["en50160_compliant[grid]"] is None
    assert "period too short" in d["en50160_compliant[grid]"]["reason"]


def test_grid_dt_scales_times_and_energies():
    d = _grid(dt_h=0.25)
    assert d["t_vm_violation_any_h[grid]"]["value"] == 0.5
    assert d["e_loss_kwh[grid]"]["value"] == pytest.approx(1.25)
    assert d["e_reverse_flow_kwh[grid]"]["value"] == pytest.approx(6.25)
    assert d["p_reverse_flow_peak_kw[grid]"]["value"] == 20.0


def test_missing_series_give_nan_with_reason():
    d = kpis_to_json_dict(kpis_grid(VM, dt_h=1.0))
    assert d["vm_min_pu[grid]"]["value"] == 0.89
    for key, what in [
        ("loading_line_max_percent[grid]", "loading_line_percent"),
        ("t_trafo_overload_max_h[grid]", "loading_trafo_percent"),
        ("e_loss_kwh[grid]", "p_loss_kw"),
        ("t_reverse_flow_h[grid]", "p_trafo_kw"),
    ]:
        assert d[key]["value"] is None
        assert d[key]["reason"] == f"missing input: {what}"
    d = _grid(e_load_kwh=None)
    assert d["loss_ratio_percent[grid]"]["reason"] == "missing input: e_load_kwh"
    d = _grid(e_load_kwh=0.0)
    assert d["loss_ratio_percent[grid]"]["reason"] == "zero load energy"


def test_grid_input_errors():
    with pytest.raises(KPIInputError, match="at least one"):
        kpis_grid(dt_h=1.0)
    with pytest.raises(KPIInputError, match="steps"):
        kpis_grid(VM, loading_line_percent=LINE[:3], dt_h=1.0)
    with pytest.raises(KPIInputError, match="non-finite"):
        kpis_grid(np.array([1.0, np.nan]), dt_h=1.0)


def test_per_element_helpers():
    pd.testing.assert_series_equal(
        voltage_violation_hours(VM, 0.5),
        pd.Series([1.0, 0.0], index=["A", "B"], name="t_outside_h"),
    )
    np.testing.assert_allclose(overload_hours(LINE, 1.0).to_numpy(), [2.0, 0.0])


def _two_weeks_hourly():
    vm = np.ones((336, 2))
    vm[:8, 0] = 0.89  # week 1, bus A: 8/168 = 4.8 % outside 0.90-1.10 -> pass
    vm[168:177, 0] = 0.89  # week 2, bus A: 9/168 = 5.4 % -> fail
    vm[50, 1] = 0.84  # week 1, bus B: one value below 0.85 -> fail
    return vm


def test_en50160_weekly_hourly_steps():
    weekly, note = en50160_weekly(_two_weeks_hourly(), 1.0)
    assert "each step counts as 6 ten-minute values" in note
    assert list(weekly["compliant"]) == [True, False, False, True]  # (w0,A),(w0,B),(w1,A),(w1,B)
    assert weekly["complete"].all()
    assert weekly["share_outside"].iloc[0] == pytest.approx(8 / 168)
    d = kpis_to_json_dict(kpis_grid(_two_weeks_hourly(), dt_h=1.0))
    assert d["en50160_share_compliant[grid]"]["value"] == 0.5
    assert d["en50160_compliant[grid]"]["value"] == 0.0
    assert "6 ten-minute values" in d["en50160_compliant[grid]"]["note"]


def test_en50160_partial_week_not_counted():
    vm = np.ones((200, 1))
    vm[190:, 0] = 0.80  # only in the incomplete second week
    weekly, _ = en50160_weekly(vm, 1.0)
    assert list(weekly["complete"]) == [True, False]
    assert weekly["hours"].iloc[1] == 32.0
    d = kpis_to_json_dict(kpis_grid(vm, dt_h=1.0))
    assert d["en50160_compliant[grid]"]["value"] == 1.0


def test_en50160_averages_short_steps_to_ten_minutes():
    # 5-min steps alternating 0.86 / 1.00: every 10-min mean is 0.93 -> compliant, although
    # half of the raw steps are outside 0.90-1.10
    n = 7 * 24 * 12
    vm = np.where(np.arange(n) % 2 == 0, 0.86, 1.0)
    idx = pd.date_range("2021-03-01", periods=n, freq="5min")
    weekly, note = en50160_weekly(pd.Series(vm, index=idx))
    assert "10-min means of 2 steps" in note
    assert weekly["compliant"].all()
    assert weekly["share_outside"].iloc[0] == 0.0
    d = kpis_to_json_dict(kpis_grid(pd.Series(vm, index=idx)))
    assert d["en50160_compliant[grid]"]["value"] == 1.0
    assert d["t_vm_violation_max_bus_h[grid]"]["value"] == pytest.approx(84.0)
