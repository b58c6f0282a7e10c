"""Tests of pedsim.physics.weather: TRY2010, TMY3 and EPW loading and exact resampling."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pvlib
import pytest

from pedsim.physics import weather as wx
from pedsim.physics.weather import (
    DATA_COLUMNS,
    TRY2010_STATIONS,
    Weather,
    WeatherError,
    load_epw,
    load_tmy3,
    load_try2010,
    resample,
)

PVLIB_DATA = Path(pvlib.__file__).parent / "data"
TMY3 = PVLIB_DATA / "723170TYA.CSV"  # Greensboro NC, shipped with pvlib
SUMMED = ["ghi_w_m2", "dni_w_m2", "dhi_w_m2", "t_air_degc", "wind_speed_m_s"]


@pytest.fixture(scope="module")
def potsdam() -> Weather:
    return load_try2010(4, 2010)


def test_station_table_matches_try_file_headers() -> None:
    for region, st in TRY2010_STATIONS.items():
        head = wx._try_path(region).read_text(encoding="utf-8").splitlines()[:3]
        assert f"Station: {st.station}" in head[1]
        assert int(re.search(r"WMO-Nummer:\s*(\d+)", head[1]).group(1)) == st.wmo
        lat_d, lat_m, lon_d, lon_m, alt = map(
            int, re.search(r"(\d+)°(\d+)'N.*?(\d+)°(\d+)'O.*?(\d+) Meter", head[2]).groups()
        )
        assert st.latitude_deg == pytest.approx(lat_d + lat_m / 60, abs=1e-4)
        assert st.longitude_deg == pytest.approx(lon_d + lon_m / 60, abs=1e-4)
        assert st.altitude_m == alt


def _lit_in_darkness(region: int, end_shift_s: np.ndarray | float) -> int:
    """Rows with irradiance whose hour, ending at HH MEZ + shift, lies wholly in darkness."""
    rows = wx._read_try_file(wx._try_path(region), region)
    st = TRY2010_STATIONS[region]
    label = pd.date_range("2010-01-01 01:00", periods=8760, freq="h", tz="Etc/GMT-1")
    end = label + pd.to_timedelta(end_shift_s, unit="s")
    noon = (end - pd.Timedelta(minutes=30)).normalize() + pd.Timedelta(hours=12)
    days = pd.DatetimeIndex(noon.unique())
    sun = pvlib.solarposition.sun_rise_set_transit_spa(days, st.latitude_deg, st.longitude_deg)
    rise = pd.DatetimeIndex(sun["sunrise"].reindex(noon)).asi8
    sets = pd.DatetimeIndex(sun["sunset"].reindex(noon)).asi8
    dark = (end.asi8 <= rise) | (end.asi8 - 3600 * 10**9 >= sets)
    lit = (rows["b_hor_w_m2"] + rows["dhi_w_m2"]).to_numpy() > 0
    return int((lit & dark).sum())


@pytest.mark.parametrize("region", [3, 4, 12])
def test_try_irradiance_hours_end_in_true_solar_time(region: int) -> None:
    """Read as hours ending at HH true solar time, no TRY hour is lit in darkness.

    True solar time = MEZ - (15 - longitude) * 4 min + equation of time, so the hour ends
    at HH MEZ + (15 - longitude) * 240 s - EoT. Read in MEZ, hours ending at HH leave
    Hamburg (3) and Mannheim (12), hours centred on HH Potsdam (4) with lit hours before
    sunrise or after sunset.
    """
    st = TRY2010_STATIONS[region]
    doy = (pd.date_range("2010-01-01 00:30", periods=8760, freq="h")).dayofyear.to_numpy()
    eot_s = 60.0 * pvlib.solarposition.equation_of_time_spencer71(doy)
    assert _lit_in_darkness(region, (15.0 - st.longitude_deg) * 240.0 - eot_s) == 0
    assert _lit_in_darkness(region, 0.0 if region != 4 else 1800.0) > 10


def test_try_loads_as_interval_means(potsdam: Weather) -> None:
    d = potsdam.data
    assert list(d.columns) == list(DATA_COLUMNS)
    assert len(d) == 8760 and str(d.index.tz) == "Etc/GMT-1" and potsdam.dt_s == 3600
    assert d.index[0] == pd.Timestamp("2010-01-01 00:00", tz="Etc/GMT-1")
    rows = wx._read_try_file(wx._try_path(4), 4)
    # the shift to clock time keeps the annual irradiation (nights at the year boundary)
    total = (rows["b_hor_w_m2"] + rows["dhi_w_m2"]).sum()
    assert d["ghi_w_m2"].sum() == pytest.approx(total, rel=1e-12)
    assert d["ghi_w_m2"].sum() == pytest.approx(1074.5e3, rel=1e-3)  # kWh/m2 -> Wh/m2
    # DNI from direct horizontal keeps GHI = DHI + DNI cos(z) and stays below the ETR
    cosz = np.cos(np.radians(d["solar_apparent_zenith_deg"].clip(upper=90.0)))
    closure = d["ghi_w_m2"] - d["dhi_w_m2"] - d["dni_w_m2"] * cosz
    assert np.abs(closure).max() < 1e-9
    assert (d["dni_w_m2"] <= pvlib.irradiance.get_extra_radiation(d.index) + 1e-9).all()
    # spot temperatures: the hourly mean is the mean of the two bounding observations
    s = potsdam.samples["t_air_degc"].to_numpy()
    np.testing.assert_allclose(d["t_air_degc"], 0.5 * (s[:-1] + s[1:]), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(s[1:], rows["t_air_degc"].to_numpy())
    assert d["t_air_degc"].mean() == pytest.approx(9.5, abs=0.1)  # Potsdam TRY2010


def test_leap_year_repeats_28_february() -> None:
    leap, common = load_try2010(4, 2012), load_try2010(4, 2011)
    assert len(leap.data) == 8784
    t = leap.samples["t_air_degc"]  # spot values at the hour ends
    feb28 = t.loc["2012-02-28 01:00":"2012-02-29 00:00"].to_numpy()
    np.testing.assert_array_equal(t.loc["2012-02-29 01:00":"2012-03-01 00:00"], feb28)
    np.testing.assert_array_equal(
        t.loc["2012-03-01 01:00":].to_numpy(), common.samples["t_air_degc"].loc["2011-03-01 01:00":]
    )
    # irradiance: the same source hours; only the solar-time shift (EoT) differs by seconds
    day = leap.data["ghi_w_m2"].resample("D").sum()
    assert day["2012-02-29"] == pytest.approx(day["2012-02-28"], rel=2e-3)
    march = common.data["ghi_w_m2"].resample("D").sum().loc["2011-03-01":].to_numpy()
    np.testing.assert_allclose(day.loc["2012-03-01":].to_numpy(), march, rtol=5e-3, atol=1.0)


def test_resample_round_trip_conserves_daily_energy(potsdam: Weather) -> None:
    w = potsdam
    fine = resample(w, w.data.index[0], w.stop, 900)
    assert len(fine.data) == 4 * 8760 and fine.dt_s == 900
    hourly_day = w.data[SUMMED].resample("D").mean()
    fine_day = fine.data[SUMMED].resample("D").mean()
    np.testing.assert_allclose(fine_day, hourly_day, rtol=1e-12, atol=1e-9)
    back = resample(fine, fine.data.index[0], fine.stop, 3600)
    np.testing.assert_allclose(back.data[SUMMED], w.data[SUMMED], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(back.data["solar_zenith_deg"], w.data["solar_zenith_deg"], atol=1e-9)
    daily = resample(w, "2010-03-01", "2010-04-01", 86400)
    np.testing.assert_allclose(
        daily.data[SUMMED], hourly_day.loc["2010-03-01":"2010-03-31"], rtol=1e-12, atol=1e-9
    )


def test_resample_integrates_spot_values_linearly(potsdam: Weather) -> None:
    w = resample(potsdam, "2010-07-01 00:00", "2010-07-02 00:00", 900)
    knots = potsdam.samples["t_air_degc"].loc["2010-07-01 00:00":"2010-07-02 00:00"].to_numpy()
    frac = (np.arange(4) + 0.5) / 4.0  # quarter-hour midpoints within each hour
    expected = (knots[:-1, None] + frac[None, :] * np.diff(knots)[:, None]).ravel()
    np.testing.assert_allclose(w.data["t_air_degc"], expected, atol=1e-9)
    # irradiance is piecewise constant within the source hour
    ghi = w.data["ghi_w_m2"].to_numpy().reshape(24, 4)
    np.testing.assert_allclose(ghi, ghi[:, :1].repeat(4, axis=1), atol=1e-9)
    mid = w.data.index + pd.Timedelta(seconds=450)
    site = potsdam.site
    sp = pvlib.solarposition.get_solarposition(
        mid, site.latitude_deg, site.longitude_deg, altitude=site.altitude_m
    )
    np.testing.assert_allclose(w.data["solar_zenith_deg"], sp["zenith"], atol=1e-9)


def test_to_pvlib_and_solar_position(potsdam: Weather) -> None:
    pv = potsdam.to_pvlib()
    assert list(pv.columns) == ["ghi", "dni", "dhi", "temp_air", "wind_speed"]
    np.testing.assert_array_equal(pv["ghi"], potsdam.data["ghi_w_m2"])
    sp = potsdam.solar_position()
    assert set(sp.columns) == {"zenith", "apparent_zenith", "azimuth"}


def test_tmy3_from_pvlib_loads_hour_ending_rows() -> None:
    w = load_tmy3(TMY3, 2010)
    raw, meta = pvlib.iotools.read_tmy3(TMY3, map_variables=True)
    assert (w.site.latitude_deg, w.site.longitude_deg) == (meta["latitude"], meta["longitude"])
    assert str(w.data.index.tz) == "Etc/GMT+5" and len(w.data) == 8760
    # row i of the file is the hour ending at its time stamp -> our interval i starts 1 h earlier
    np.testing.assert_array_equal(w.data["ghi_w_m2"], raw["ghi"].to_numpy())
    np.testing.assert_array_equal(w.data["dni_w_m2"], raw["dni"].to_numpy())
    np.testing.assert_array_equal(w.samples["t_air_degc"].to_numpy()[1:], raw["temp_air"])
    night = w.data["solar_apparent_zenith_deg"] > 100
    assert (w.data.loc[night, "ghi_w_m2"] == 0).all()


def _write_epw(
    path: Path, tmy: Weather, raw: pd.DataFrame, ghi_override: float | None = None
) -> None:
    """Write an EPW (EnergyPlus Weather Converter layout) with the TMY3 values."""
    head = ["LOCATION,Greensboro,NC,USA,TMY3,723170,36.1,-79.95,-5.0,273.0"]
    head += ["DESIGN CONDITIONS,0", "TYPICAL/EXTREME PERIODS,0", "GROUND TEMPERATURES,0",
             "HOLIDAYS/DAYLIGHT SAVINGS,No,0,0,0", "COMMENTS 1,test", "COMMENTS 2,test",
             "DATA PERIODS,1,1,Data,Sunday,1/1,12/31"]  # fmt: skip
    start = tmy.data.index.tz_localize(None)
    lines = []
    for i, t in enumerate(start):
        ghi = raw["ghi"].iloc[i] if ghi_override is None or i != 12 else ghi_override
        dni, dhi, temp, wind = (raw[k].iloc[i] for k in ("dni", "dhi", "temp_air", "wind_speed"))
        f = [1999, t.month, t.day, t.hour + 1, 60, "?", temp, 0, 50, 101000, 0, 0, 300, ghi,
             dni, dhi, 0, 0, 0, 0, 180, wind, 5, 5, 9999, 99999, 9, 999999999, 10, 0.1, 0, 88,
             0.2, 0, 1]  # fmt: skip
        lines.append(",".join(str(x) for x in f))
    path.write_text("\n".join(head + lines) + "\n")


def test_epw_matches_tmy3_written_as_epw(tmp_path: Path) -> None:
    tmy = load_tmy3(TMY3, 2011)
    raw, _ = pvlib.iotools.read_tmy3(TMY3, map_variables=True)
    _write_epw(tmp_path / "gso.epw", tmy, raw)
    epw = load_epw(tmp_path / "gso.epw", 2011)
    assert str(epw.data.index.tz) == "Etc/GMT+5"
    pd.testing.assert_frame_equal(epw.data, tmy.data, check_exact=False, rtol=1e-12)


def test_bad_inputs_raise_weather_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for region in (0, 16, "4", True, 4.0):
        with pytest.raises(WeatherError, match="region"):
            load_try2010(region, 2010)
    with pytest.raises(WeatherError, match="year"):
        load_try2010(4, 10)
    with pytest.raises(WeatherError, match=r"missing\.epw.*does not exist"):
        load_epw(tmp_path / "missing.epw", 2010)
    raw, _ = pvlib.iotools.read_tmy3(TMY3, map_variables=True)
    _write_epw(tmp_path / "bad.epw", load_tmy3(TMY3, 2010), raw, ghi_override=9999)
    with pytest.raises(WeatherError, match=r"bad\.epw: field 'ghi_w_m2' row 12 has value 9999"):
        load_epw(tmp_path / "bad.epw", 2010)
    text = wx._try_path(4).read_text(encoding="utf-8").splitlines()
    i = next(k for k, line in enumerate(text) if line.startswith("***")) + 5
    text[i] = text[i].replace("    -3.3", "  -333.3")  # 1 Jan 05:00 temperature
    bad = tmp_path / "TRY2010_04_Jahr.dat"
    bad.write_text("\n".join(text), encoding="utf-8")
    monkeypatch.setattr(wx, "_try_path", lambda region: bad)
    with pytest.raises(WeatherError, match=r"TRY2010_04_Jahr\.dat: field 't_air_degc' row 4"):
        load_try2010(4, 2010)


def test_resample_rejects_bad_ranges(potsdam: Weather) -> None:
    with pytest.raises(WeatherError, match="outside"):
        resample(potsdam, "2009-12-31 23:00", "2010-01-02", 3600)
    with pytest.raises(WeatherError, match="multiple"):
        resample(potsdam, "2010-01-01", "2010-01-01 01:00", 7000)
    with pytest.raises(WeatherError, match="dt_s"):
        resample(potsdam, "2010-01-01", "2010-01-02", 0)
