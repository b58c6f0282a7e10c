"""Price and CO2 signals from the shipped files, re-stepped to the simulation grid; forecasts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from pedsim.control import ControlParameterError, ForecastSource, heat_pump_cop
from pedsim.control.signals import (
    CO2_DE_2016_KG_PER_KWH,
    PRICE_FILE,
    SignalError,
    co2_intensity_series,
    price_series,
    read_hourly_csv,
)
from pedsim.physics.heatpump import HeatPumpFleet, params_from_catalogue

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "pedsim" / "data"


def test_price_file_is_the_documented_copy() -> None:
    s = read_hourly_csv(PRICE_FILE, "price_eur_per_mwh")
    assert s.index[0] == pd.Timestamp("2015-01-01 00:00")
    by_year = s.groupby(s.index.year)
    assert by_year.size().to_dict() == {2015: 8760, 2016: 8784, 2017: 8760, 2021: 1, 2022: 8760}
    assert by_year.mean()[2016] == pytest.approx(32.25, abs=0.005)  # documented statistics
    assert (s[s.index.year == 2022] < 0).sum() == 86
    # first hours as in the source file (EV2Gym, Netherlands_day-ahead-2015-2024.csv)
    np.testing.assert_allclose(s.iloc[:4], [34.94, 32.19, 28.05, 28.04])


def test_price_series_in_cet_at_15_min_and_2_h() -> None:
    s = read_hourly_csv(PRICE_FILE, "price_eur_per_mwh")
    p = price_series("2016-01-01 00:00", 900, 8)  # CET = UTC + 1: starts at 23:00 UTC
    hours = s.loc["2015-12-31 23:00":"2016-01-01 00:00"].to_numpy() / 1e3
    np.testing.assert_allclose(p, np.repeat(hours, 4))
    p2 = price_series("2016-07-01 00:30", 7200, 3, utc_offset_h=0.0, adder_eur_per_kwh=0.2)
    h = s.loc["2016-07-01 00:00":"2016-07-01 06:00"].to_numpy() / 1e3
    # [00:30, 02:30) = half of hour 0, hours 1, half of hour 2
    ref = [(0.5 * h[0] + h[1] + 0.5 * h[2]) / 2, (0.5 * h[2] + h[3] + 0.5 * h[4]) / 2,
           (0.5 * h[4] + h[5] + 0.5 * h[6]) / 2]  # fmt: skip
    np.testing.assert_allclose(p2, np.array(ref) + 0.2)
    year = price_series("2016-01-01", 900, 366 * 96)  # the whole SimBench year is covered
    assert year.shape == (366 * 96,) and np.isfinite(year).all()


def test_uncovered_period_names_the_missing_hour() -> None:
    with pytest.raises(SignalError, match=r"hour 2018-01-01 00:00:00 \(UTC\) missing"):
        price_series("2017-12-31 12:00", 3600, 24)


def test_co2_sources() -> None:
    np.testing.assert_allclose(co2_intensity_series("2016-03-01", 900, 5), CO2_DE_2016_KG_PER_KWH)
    raw = pd.read_csv(DATA / "co2" / "citylearn_2022_carbon_intensity_typical_year.csv")
    assert len(raw) == 8760 and (raw["hour_of_year"] == np.arange(8760)).all()
    # the source's second row (1 August, hour 1) is hour 5088 of a non-leap year
    us = co2_intensity_series("2017-08-01 00:00", 3600, 2, source="citylearn-2022-us")
    np.testing.assert_allclose(us, [0.15731905, 0.15450256])
    leap = co2_intensity_series("2016-02-29 05:00", 3600, 1, source="citylearn-2022-us")
    feb28 = co2_intensity_series("2016-02-28 05:00", 3600, 1, source="citylearn-2022-us")
    march = co2_intensity_series("2016-03-01", 900, 4, source="citylearn-2022-us")
    np.testing.assert_allclose(leap, feb28)
    np.testing.assert_allclose(march, co2_intensity_series("2017-03-01", 900, 4,
                                                           source="citylearn-2022-us"))  # fmt: skip
    with pytest.raises(SignalError, match=r"source='uba'"):
        co2_intensity_series("2016-01-01", 900, 4, source="uba")


def test_user_csv_and_its_errors(tmp_path: Path) -> None:
    f = tmp_path / "co2.csv"
    f.write_text("datetime_utc,co2_kg_per_kwh\n2020-01-01 00:00,0.4\n2020-01-01 01:00,0.2\n")
    np.testing.assert_allclose(
        co2_intensity_series("2020-01-01 00:30", 1800, 2, source=f, utc_offset_h=0.0), [0.4, 0.2]
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("datetime_utc,co2_kg_per_kwh\n2020-01-01 00:00,x\n")
    with pytest.raises(SignalError, match=r"row 2: co2_kg_per_kwh='x'"):
        co2_intensity_series("2020-01-01", 3600, 1, source=bad)
    with pytest.raises(SignalError, match=r"column 'price_eur_per_mwh' missing"):
        price_series("2020-01-01", 3600, 1, path=f)


def test_forecast_source_perfect_persistence_and_past_the_end() -> None:
    dt = 3600
    n = 72
    load = np.arange(n, dtype=float)  # value = step index
    src = ForecastSource(dt, {"p_load_kw": np.column_stack([load, load]), "p_pv_kw": -load,
                              "price_eur_per_kwh": load / 100})  # fmt: skip
    f = src.forecast(30 * dt, 6)
    np.testing.assert_allclose(f.p_base_kw, np.arange(30, 36))  # 2 load columns + PV
    np.testing.assert_allclose(f.co2_kg_per_kwh, 0.0)
    per = ForecastSource(dt, {"p_base_kw": load, "price_eur_per_kwh": load}, mode="persistence",
                         overrides={"price_eur_per_kwh": "perfect"})  # fmt: skip
    f = per.forecast(30 * dt, 30)
    # yesterday's value for the next 24 h, the day before yesterday beyond
    np.testing.assert_allclose(f.p_base_kw, np.r_[np.arange(6, 30), np.arange(6, 12)])
    np.testing.assert_allclose(f.price_eur_per_kwh, np.arange(30, 60))
    f = per.forecast(5 * dt, 3)  # first day: no history, true values (noted)
    np.testing.assert_allclose(f.p_base_kw, [5, 6, 7])
    assert per.notes
    end = src.forecast(70 * dt, 4)  # past the end: the last day repeats
    np.testing.assert_allclose(end.p_base_kw, [70, 71, 48, 49])
    with pytest.raises(ControlParameterError, match=r"t_s=1800"):
        src.forecast(1800, 2)
    with pytest.raises(ControlParameterError, match=r"mode of 'p_base_kw'='oracle'"):
        ForecastSource(dt, {"p_base_kw": load}, mode="oracle")
    with pytest.raises(ControlParameterError, match=r"unknown signals \['wind'\]"):
        ForecastSource(dt, {"p_base_kw": load, "wind": load})


def test_heat_pump_cop_matches_the_fleet_model() -> None:
    catalogue = yaml.safe_load((ROOT / "models" / "heat_pumps.yaml").read_text(encoding="utf-8"))
    types = list(catalogue["heat_pump_types"])[:3]
    params = params_from_catalogue(catalogue, types, [8.0] * len(types))
    t_out = np.array([-10.0, 0.0, 7.0, 15.0])
    cop = heat_pump_cop(params, t_out, day_of_year=np.full(4, 30.0))
    assert cop.shape == (4, len(types)) and np.all(cop >= 1.0)
    for k, t in enumerate(t_out):
        step = HeatPumpFleet(params).step(900, t, np.full(len(types), 2000.0), day_of_year=30.0)
        np.testing.assert_allclose(cop[k], step.cop_space, rtol=1e-12)
