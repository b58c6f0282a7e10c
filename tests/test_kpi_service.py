"""Comfort, EV service and battery KPIs."""

import numpy as np
import pandas as pd
import pytest

from pedsim.analysis.kpi import (
    KPIInputError,
    kpis_battery,
    kpis_comfort,
    kpis_ev_service,
    kpis_to_json_dict,
)


def test_comfort_hand_case():
    # building a: T = [19, 21, 23, 25], band 20-24, occupied [1, 1, 1, 0]
    #   -> 1 K for 0.5 h while occupied (the 25 degC step is unoccupied); 1 of 3 steps
    # building b: T = [20, 20, 26, 20], always occupied -> 2 K for 0.5 h; 1 of 4 steps
    t = pd.DataFrame({"a": [19.0, 21.0, 23.0, 25.0], "b": [20.0, 20.0, 26.0, 20.0]})
    occ = np.array([[1, 1], [1, 1], [1, 1], [0, 1]])
    d = kpis_to_json_dict(kpis_comfort(t, 20.0, 24.0, 0.5, occ))
    assert d["discomfort_degree_hours_kh[building:a]"]["value"] == pytest.approx(0.5)
    assert d["discomfort_share[building:a]"]["value"] == pytest.approx(1.0 / 3.0)
    assert d["discomfort_degree_hours_kh[building:b]"]["value"] == pytest.approx(1.0)
    assert d["discomfort_share[building:b]"]["value"] == pytest.approx(0.25)
    assert d["discomfort_degree_hours_kh[D]"]["value"] == pytest.approx(1.5)
    assert d["discomfort_share[D]"]["value"] == pytest.approx(2.0 / 7.0)
    assert d["discomfort_share[D]"]["unit"] == "-"
    assert d["discomfort_degree_hours_kh[D]"]["unit"] == "K.h"


def test_comfort_time_varying_band_and_no_occupancy():
    t = np.array([18.0, 18.0])
    d = kpis_to_json_dict(kpis_comfort(t, [17.0, 19.0], 24.0, 1.0, building_ids=["x"]))
    assert d["discomfort_degree_hours_kh[building:x]"]["value"] == pytest.approx(1.0)
    d = kpis_to_json_dict(kpis_comfort(t, 20.0, 24.0, 1.0, [0, 0]))
    assert d["discomfort_share[D]"]["reason"] == "no occupied steps"
    assert d["discomfort_degree_hours_kh[D]"]["value"] == 0.0
    with pytest.raises(KPIInputError, match="t_low"):
        kpis_comfort(t, [1.0, 2.0, 3.0], 24.0, 1.0)


def test_ev_service():
    d = kpis_to_json_dict(
        kpis_ev_service([10.0, 20.0, 5.0], [10.0, 15.0, 5.0005], [1.0, 2.5], period="168 h")
    )
    assert d["ev_departures_served_share[D]"]["value"] == pytest.approx(2.0 / 3.0)
    assert d["e_ev_unmet_kwh[D]"]["value"] == pytest.approx(5.0)
    assert d["e_v2g_kwh[D]"]["value"] == pytest.approx(3.5)
    d = kpis_to_json_dict(kpis_ev_service([], [], period="1 h"))
    assert d["ev_departures_served_share[D]"]["reason"] == "no departures"
    assert d["e_v2g_kwh[D]"]["reason"] == "missing input: e_v2g_discharged_kwh"
    with pytest.raises(KPIInputError):
        kpis_ev_service([1.0], [1.0, 2.0], period="1 h")


def test_battery():
    d = kpis_to_json_dict(kpis_battery([2.0, -1.0, 0.0, -1.0], 2.0, 0.5))
    assert d["e_battery_charged_kwh[D]"]["value"] == pytest.approx(1.0)
    assert d["e_battery_discharged_kwh[D]"]["value"] == pytest.approx(1.0)
    assert d["e_battery_throughput_kwh[D]"]["value"] == pytest.approx(2.0)
    assert d["battery_efc[D]"]["value"] == pytest.approx(0.5)
    d = kpis_to_json_dict(kpis_battery([[1.0, -1.0]], [0.0, 0.0], 1.0))
    assert d["battery_efc[D]"]["reason"] == "zero capacity"
