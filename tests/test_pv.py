"""Tests of pedsim.physics.pv against pvlib's ModelChain and hand calculations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pvlib
import pytest
import yaml

from pedsim.physics.pv import (
    PVParameterError,
    PVPlants,
    pv_ac_power_kw,
    pvwatts_total_losses_percent,
)

TEMP_PARAMS = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS
LOSSES = pvwatts_total_losses_percent()  # PVWatts default loss components, 14.08 %


def _modelchain_ac_kw(
    weather: pd.DataFrame,
    location: pvlib.location.Location,
    plants: PVPlants,
    j: int,
    albedo: float = 0.25,
) -> np.ndarray:
    """pvlib's own PVWatts ModelChain for plant ``j``, with equivalent parameters.

    ``weather`` is labelled at interval starts; ModelChain evaluates the sun at the index,
    so it gets the interval mid-points.
    """
    kind, config = plants.temperature_model.split("_", 1)
    eta = float(plants.inverter_eff[j])
    system = pvlib.pvsystem.PVSystem(
        surface_tilt=float(plants.tilt_deg[j]),
        surface_azimuth=float(plants.azimuth_deg[j]),
        albedo=albedo,
        module_parameters={"pdc0": plants.p_kwp[j] * 1e3, "gamma_pdc": plants.gamma_pdc_per_k},
        inverter_parameters={
            "pdc0": plants.p_kwp[j] * 1e3 / plants.dc_ac_ratio[j] / eta,
            "eta_inv_nom": eta,
        },
        temperature_model_parameters=TEMP_PARAMS[kind][config],
        losses_parameters={},  # PVWatts default components, total = LOSSES
    )
    mc = pvlib.modelchain.ModelChain.with_pvwatts(system, location, temperature_model=kind)
    shifted = weather.copy()
    step = weather.index[1] - weather.index[0]
    shifted.index = weather.index + step / 2
    mc.run_model(shifted)
    return mc.results.ac.to_numpy() / 1e3


@pytest.fixture(scope="module")
def tmy3() -> tuple[pd.DataFrame, dict]:
    path = Path(pvlib.__file__).parent / "data" / "723170TYA.CSV"
    data, meta = pvlib.iotools.read_tmy3(path, coerce_year=1990, map_variables=True)
    weather = data[["ghi", "dni", "dhi", "temp_air", "wind_speed"]].astype(float)
    # TMY3 values are labelled at the end of the hour; pedsim labels at the start.
    weather.index = weather.index - pd.Timedelta(hours=1)
    return weather, meta


@pytest.fixture(scope="module")
def berlin_clearsky() -> tuple[pd.DataFrame, pvlib.location.Location]:
    loc = pvlib.location.Location(52.52, 13.405, tz="Europe/Berlin", altitude=34.0)
    index = pd.date_range("2023-01-01", "2024-01-01", freq="1h", tz=loc.tz, inclusive="left")
    mid = index + pd.Timedelta(minutes=30)
    cs = loc.get_clearsky(mid, model="ineichen")
    doy = mid.dayofyear.to_numpy()
    hour = mid.hour.to_numpy() + mid.minute.to_numpy() / 60
    temp = (
        9.5 - 9.0 * np.cos(2 * np.pi * (doy - 20) / 365) - 4.0 * np.cos(2 * np.pi * (hour - 3) / 24)
    )
    wind = 3.0 + 1.5 * np.sin(2 * np.pi * doy / 365)
    weather = pd.DataFrame(
        {
            "ghi": cs["ghi"].to_numpy(),
            "dni": cs["dni"].to_numpy(),
            "dhi": cs["dhi"].to_numpy(),
            "temp_air": temp,
            "wind_speed": wind,
        },
        index=index,
    )
    return weather, loc


def test_annual_yield_matches_modelchain_tmy3(tmy3):
    weather, meta = tmy3
    plants = PVPlants(
        p_kwp=np.array([5.0, 10.0, 7.5]),
        tilt_deg=np.array([30.0, 20.0, 45.0]),
        azimuth_deg=np.array([180.0, 135.0, 250.0]),
        losses_percent=LOSSES,
        inverter_eff=np.array([0.96, 0.97, 0.95]),
        temperature_model="sapm_open_rack_glass_glass",
        dc_ac_ratio=np.array([1.1, 1.3, 1.0]),
    )
    ours = pv_ac_power_kw(weather, meta["latitude"], meta["longitude"], meta["altitude"], plants)
    assert ours.shape == (len(weather), plants.n)
    loc = pvlib.location.Location(
        meta["latitude"], meta["longitude"], tz="Etc/GMT+5", altitude=meta["altitude"]
    )
    for j in range(plants.n):
        ref = _modelchain_ac_kw(weather, loc, plants, j)
        yield_ours = ours[:, j].sum() / plants.p_kwp[j]
        yield_ref = ref.sum() / plants.p_kwp[j]
        assert 1000 < yield_ref < 1700  # kWh/kWp in North Carolina
        assert yield_ours == pytest.approx(yield_ref, rel=5e-3)
        np.testing.assert_allclose(ours[:, j], ref, rtol=0, atol=1e-6 * plants.p_kwp[j])


def test_annual_yield_matches_modelchain_clearsky_germany(berlin_clearsky):
    weather, loc = berlin_clearsky
    plants = PVPlants(
        p_kwp=np.array([10.0, 4.0, 99.0]),
        tilt_deg=np.array([35.0, 90.0, 10.0]),
        azimuth_deg=np.array([180.0, 90.0, 200.0]),
        losses_percent=LOSSES,
        inverter_eff=0.96,
        temperature_model="pvsyst_freestanding",
        dc_ac_ratio=np.array([1.2, 1.0, 1.5]),
    )
    ours = pv_ac_power_kw(weather, loc.latitude, loc.longitude, loc.altitude, plants)
    for j in range(plants.n):
        ref = _modelchain_ac_kw(weather, loc, plants, j)
        assert ours[:, j].sum() == pytest.approx(ref.sum(), rel=5e-3)
        np.testing.assert_allclose(ours[:, j], ref, rtol=0, atol=1e-6 * plants.p_kwp[j])
    # Clear-sky yield of an optimally tilted south plant in Berlin: well above real-sky yields.
    assert 1300 < ours[:, 0].sum() / 10.0 < 1900
    # The 1.5 DC/AC plant clips at its AC rating.
    assert ours[:, 2].max() == pytest.approx(99.0 / 1.5, rel=1e-12)


def _single_step_weather(ghi: float, dni: float, dhi: float, temp_air: float, wind: float):
    index = pd.DatetimeIndex([pd.Timestamp("2023-06-21 12:30", tz="Europe/Berlin")])
    return pd.DataFrame(
        {"ghi": ghi, "dni": dni, "dhi": dhi, "temp_air": temp_air, "wind_speed": wind},
        index=index,
    )


def _pvwatts_inverter_by_hand(pdc: float, pdc0_inv: float, eta_nom: float) -> float:
    zeta = pdc / pdc0_inv
    eta = eta_nom / 0.9637 * (-0.0162 * zeta - 0.0059 / zeta + 0.9858)
    return min(eta * pdc, eta_nom * pdc0_inv)


@pytest.mark.parametrize("model", ["isotropic", "haydavies", "perez"])
def test_stc_hand_calculation(model):
    # Horizontal plane under 1000 W/m2 of purely diffuse light: every sky model gives
    # POA = DHI (no circumsolar share on a horizontal plane, no ground view), and the IAM
    # applies to the beam only. Air temperature chosen so that the SAPM cell is at 25 degC.
    p = TEMP_PARAMS["sapm"]["open_rack_glass_glass"]
    wind = 2.0
    temp_air = 25.0 - (1000.0 * np.exp(p["a"] + p["b"] * wind) + p["deltaT"])
    weather = _single_step_weather(1000.0, 0.0, 1000.0, temp_air, wind)
    plants = PVPlants(
        p_kwp=np.array([10.0, 10.0]),
        tilt_deg=0.0,
        azimuth_deg=180.0,
        losses_percent=np.array([14.0, 0.0]),
        inverter_eff=0.96,
        temperature_model="sapm_open_rack_glass_glass",
        dc_ac_ratio=np.array([1.1, 1.5]),
    )
    ac = pv_ac_power_kw(weather, 52.52, 13.405, 34.0, plants, transposition_model=model, dt_s=60)
    pdc0_inv = 10.0 / 1.1 / 0.96
    expected = _pvwatts_inverter_by_hand(10.0 * 0.86, pdc0_inv, 0.96)
    assert expected == pytest.approx(8.2636, abs=1e-4)  # 8.6 kW DC at 96.09 % efficiency
    assert ac[0, 0] == pytest.approx(expected, rel=1e-9)
    assert ac[0, 1] == pytest.approx(10.0 / 1.5, rel=1e-12)  # clipped at AC rating


def test_pvsyst_cell_temperature_by_hand():
    # PVsyst: T_cell = T_air + alpha * E * (1 - eta_m) / (u_c + u_v * ws), pvlib defaults
    # alpha = 0.9, eta_m = 0.1; freestanding u_c = 29, u_v = 0.
    weather = _single_step_weather(800.0, 0.0, 800.0, 10.0, 1.0)
    plants = PVPlants(
        p_kwp=1.0,
        tilt_deg=0.0,
        azimuth_deg=180.0,
        losses_percent=0.0,
        inverter_eff=1.0,
        temperature_model="pvsyst_freestanding",
        gamma_pdc_per_k=-0.004,
        dc_ac_ratio=0.5,  # inverter far from clipping
    )
    ac = pv_ac_power_kw(weather, 52.52, 13.405, 34.0, plants, dt_s=900)
    t_cell = 10.0 + 0.9 * 800.0 * 0.9 / 29.0
    pdc = 0.8 * (1 - 0.004 * (t_cell - 25.0))
    assert ac[0, 0] == pytest.approx(_pvwatts_inverter_by_hand(pdc, 2.0, 1.0), rel=1e-9)


def test_zero_at_night_and_nan_propagation(berlin_clearsky):
    weather, loc = berlin_clearsky
    weather = weather.iloc[: 24 * 7].copy()
    weather.iloc[30, weather.columns.get_loc("ghi")] = np.nan
    plants = PVPlants(
        p_kwp=[3.0, 6.0],
        tilt_deg=[30.0, 60.0],
        azimuth_deg=[180.0, 0.0],
        losses_percent=LOSSES,
        inverter_eff=0.96,
        temperature_model="sapm_close_mount_glass_glass",
    )
    ac = pv_ac_power_kw(weather, loc.latitude, loc.longitude, loc.altitude, plants)
    mid = weather.index + pd.Timedelta(minutes=30)
    elevation = loc.get_solarposition(mid)["apparent_elevation"].to_numpy()
    night = elevation < 0
    assert night.sum() > 24 * 7 / 2
    assert np.all(ac[night & ~np.isnan(ac[:, 0])] == 0.0)
    assert np.all(np.isnan(ac[30]))
    finite = np.delete(ac, 30, axis=0)
    assert np.all(np.isfinite(finite)) and np.all(finite >= 0)
    assert ac[~night & (weather["ghi"].to_numpy() > 100), 0].min() > 0


def test_vectorised_equals_per_plant_loop(tmy3):
    weather, meta = tmy3
    weather = weather.iloc[4000:4400]
    kw = {
        "p_kwp": np.array([2.0, 5.0, 8.0, 30.0]),
        "tilt_deg": np.array([0.0, 25.0, 50.0, 90.0]),
        "azimuth_deg": np.array([180.0, 100.0, 260.0, 180.0]),
        "losses_percent": np.array([10.0, 14.0, 20.0, 5.0]),
        "inverter_eff": np.array([0.95, 0.96, 0.97, 0.98]),
        "dc_ac_ratio": np.array([1.0, 1.1, 1.2, 1.4]),
    }
    site = (meta["latitude"], meta["longitude"], meta["altitude"])
    model = "sapm_insulated_back_glass_polymer"
    together = pv_ac_power_kw(weather, *site, PVPlants(**kw, temperature_model=model))
    for j in range(4):
        one = PVPlants(**{k: v[j] for k, v in kw.items()}, temperature_model=model)
        np.testing.assert_allclose(together[:, j], pv_ac_power_kw(weather, *site, one)[:, 0])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"p_kwp": 0.0}, "p_kwp"),
        ({"p_kwp": [1.0, -2.0]}, "p_kwp"),
        ({"tilt_deg": 95.0}, "tilt_deg"),
        ({"tilt_deg": -1.0}, "tilt_deg"),
        ({"inverter_eff": 0.0}, "inverter_eff"),
        ({"inverter_eff": 1.2}, "inverter_eff"),
        ({"losses_percent": 100.0}, "losses_percent"),
        ({"temperature_model": "sapm_floating"}, "temperature_model"),
        ({"temperature_model": "faiman"}, "temperature_model"),
        ({"dc_ac_ratio": 0.0}, "dc_ac_ratio"),
        ({"p_kwp": [1.0, 2.0], "tilt_deg": [1.0, 2.0, 3.0]}, "lengths differ"),
        ({"gamma_pdc_per_k": 0.01}, "gamma_pdc_per_k"),
    ],
)
def test_bad_parameters_raise(kwargs, match):
    base = {
        "p_kwp": 1.0,
        "tilt_deg": 30.0,
        "azimuth_deg": 180.0,
        "losses_percent": 14.0,
        "inverter_eff": 0.96,
        "temperature_model": "sapm_open_rack_glass_glass",
    }
    with pytest.raises(ValueError, match=match):
        PVPlants(**(base | kwargs))


def test_bad_weather_raises():
    plants = PVPlants(1.0, 30.0, 180.0, 14.0, 0.96, "pvsyst_insulated")
    good = _single_step_weather(500.0, 300.0, 200.0, 20.0, 1.0)
    with pytest.raises(PVParameterError, match="wind_speed"):
        pv_ac_power_kw(good.drop(columns="wind_speed"), 50.0, 10.0, 0.0, plants, dt_s=60)
    with pytest.raises(PVParameterError, match="time-zone"):
        pv_ac_power_kw(good.tz_localize(None), 50.0, 10.0, 0.0, plants, dt_s=60)
    with pytest.raises(PVParameterError, match="dt_s"):
        pv_ac_power_kw(good, 50.0, 10.0, 0.0, plants)
    with pytest.raises(PVParameterError, match="transposition_model"):
        pv_ac_power_kw(good, 50.0, 10.0, 0.0, plants, dt_s=60, transposition_model="king")


def test_defaults_file_matches_pvwatts():
    path = Path(__file__).resolve().parents[1] / "models" / "pv_defaults.yaml"
    with path.open(encoding="utf-8") as fh:
        defaults = yaml.safe_load(fh)
    total = pvwatts_total_losses_percent(**defaults["loss_components_percent"])
    assert total == pytest.approx(14.08, abs=0.005)  # PVWatts v5 default system losses
    for model in defaults["temperature_model"].values():
        PVPlants(
            p_kwp=1.0,
            tilt_deg=30.0,
            azimuth_deg=180.0,
            losses_percent=total,
            inverter_eff=defaults["inverter_eff"],
            temperature_model=model,
            gamma_pdc_per_k=defaults["gamma_pdc_per_k"],
            dc_ac_ratio=defaults["dc_ac_ratio"],
        )
