"""KPI record, Flows validation, period labels and the KPI table/JSON exports."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from pedsim.analysis.kpi import (
    KPI,
    Flows,
    KPIInputError,
    kpis_energy_balance,
    kpis_to_frame,
    kpis_to_json_dict,
    period_label,
    ratio,
)


def test_ratio_of_sums_and_zero_denominator():
    assert ratio(1.0, 4.0, "zero x") == (0.25, None)
    value, reason = ratio(0.0, 0.0, "zero x")
    assert math.isnan(value)
    assert reason == "zero x"
    value, reason = ratio(1.0, math.inf, "zero x")
    assert math.isnan(value)
    assert reason == "non-finite sum"


def test_kpi_nan_needs_reason():
    with pytest.raises(KPIInputError):
        KPI(name="scr", value=math.nan, unit="-", view="D", period="1 h")
    k = KPI(name="scr", value=math.nan, unit="-", view="D", period="1 h", reason="zero generation")
    assert k.reason == "zero generation"


def test_period_label():
    assert period_label(8760, 1.0) == "annual"
    assert period_label(8784, 1.0) == "annual"
    assert period_label(35040, 0.25) == "annual"
    assert period_label(8760, 0.25) == "2190 h"
    idx = pd.date_range("2016-01-01", periods=168, freq="h")
    assert period_label(168, 1.0, idx) == "2016-01-01T00:00/2016-01-08T00:00 (168 h)"


def test_flows_from_dataframes_takes_ids_index_and_dt():
    idx = pd.date_range("2016-01-01", periods=3, freq="30min")
    load = pd.DataFrame({"a": [2.0, 1.0, 0.0], "b": [1.0, 1.0, 2.0]}, index=idx)
    gen = pd.DataFrame({"a": [0.0, 3.0, 1.0], "b": [0.0, 0.0, 4.0]}, index=idx)
    f = Flows(load_kw=load, generation_kw=gen)
    assert f.building_ids == ("a", "b")
    assert f.dt_h == 0.5
    assert f.n_steps == 3
    assert f.horizon_h == 1.5
    assert f.period == "2016-01-01T00:00/2016-01-01T01:30 (1.5 h)"
    np.testing.assert_allclose(f.import_kw("D"), [3.0, 0.0, 0.0])
    np.testing.assert_allclose(f.import_kw("P"), [3.0, 1.0, 0.0])
    np.testing.assert_allclose(f.export_kw("P"), [0.0, 2.0, 3.0])


def test_flows_aligns_dataframe_columns():
    load = pd.DataFrame({"a": [1.0], "b": [5.0]})
    gen = pd.DataFrame({"b": [2.0], "a": [0.0]})  # other column order
    f = Flows(load_kw=load, generation_kw=gen, dt_h=1.0)
    np.testing.assert_allclose(f.net_kw, [[1.0, 3.0]])
    with pytest.raises(KPIInputError, match="columns"):
        Flows(load_kw=load, generation_kw=pd.DataFrame({"a": [0.0], "c": [0.0]}), dt_h=1.0)
    with pytest.raises(KPIInputError, match="index"):
        Flows(load_kw=load, generation_kw=gen.set_axis([7]), dt_h=1.0)


def test_flows_one_dimensional_is_one_building():
    f = Flows(load_kw=[1.0, 2.0], generation_kw=[0.0, 3.0], dt_h=1.0)
    assert f.n_buildings == 1
    np.testing.assert_allclose(f.export_kw("D"), [0.0, 1.0])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"load_kw": [1.0, 2.0], "generation_kw": [0.0], "dt_h": 1.0}, "generation_kw"),
        ({"load_kw": [1.0, np.nan], "generation_kw": [0.0, 0.0], "dt_h": 1.0}, "non-finite"),
        ({"load_kw": [1.0, 2.0], "generation_kw": [0.0, -1.0], "dt_h": 1.0}, "g >= 0"),
        ({"load_kw": [1.0, 2.0], "generation_kw": [0.0, 0.0], "dt_h": 0.0}, "dt_h"),
        ({"load_kw": [1.0, 2.0], "generation_kw": [0.0, 0.0]}, "dt_h=None"),
        (
            {
                "load_kw": [1.0, 2.0],
                "generation_kw": [0.0, 0.0],
                "dt_h": 1.0,
                "index": pd.date_range("2020-01-01", periods=2, freq="15min"),
            },
            "spacing",
        ),
        (
            {
                "load_kw": [[1.0, 2.0]],
                "generation_kw": [[0.0, 0.0]],
                "dt_h": 1.0,
                "building_ids": ["a", "a"],
            },
            "unique",
        ),
        (
            {"load_kw": [1.0], "generation_kw": [0.0], "storage_kw": [1, 2], "dt_h": 1.0},
            "storage_kw",
        ),
    ],
)
def test_flows_rejects_bad_input(kwargs, match):
    with pytest.raises(KPIInputError, match=match) as err:
        Flows(**kwargs)
    assert isinstance(err.value, ValueError)


def test_view_must_be_d_or_p():
    f = Flows(load_kw=[1.0], generation_kw=[0.0], dt_h=1.0)
    with pytest.raises(KPIInputError, match="view"):
        f.import_kw("X")
    with pytest.raises(KPIInputError, match="views"):
        kpis_energy_balance(f, views=("X",))


def test_frame_and_json_export():
    f = Flows(load_kw=[1.0, 0.0], generation_kw=[0.0, 0.0], dt_h=1.0)
    kpis = kpis_energy_balance(f)
    frame = kpis_to_frame(kpis)
    assert list(frame.columns) == [
        "name",
        "value",
        "unit",
        "view",
        "period",
        "reason",
        "source",
        "note",
    ]
    assert set(frame["view"]) == {"D", "P"}
    d = kpis_to_json_dict(kpis)
    assert d["e_import_kwh[D]"]["value"] == 1.0
    assert d["e_import_kwh[P]"]["unit"] == "kWh"
    assert d["e_import_kwh[P]"]["period"] == "2 h"
    json.dumps(d, allow_nan=False)  # valid JSON


def test_json_nan_becomes_none_and_duplicates():
    k1 = KPI("scr", math.nan, "-", "D", "1 h", reason="zero generation")
    k2 = KPI("e_shifted_kwh", 1.0, "kWh", "D", "w1")
    k3 = KPI("e_shifted_kwh", 2.0, "kWh", "D", "w2")
    d = kpis_to_json_dict([k1, k2, k3])
    assert d["scr[D]"]["value"] is None
    assert d["scr[D]"]["reason"] == "zero generation"
    assert d["e_shifted_kwh[D|w1]"]["value"] == 1.0
    assert d["e_shifted_kwh[D|w2]"]["value"] == 2.0
    with pytest.raises(KPIInputError, match="duplicate"):
        kpis_to_json_dict([k2, k2])
