"""Photovoltaic plants: AC output of many fixed-tilt plants from pvlib-style weather.

The chain follows the PVWatts v5 model as implemented in pvlib [1]_, [2]_:

1. solar position at the mid-point of every weather interval
   (:func:`pvlib.solarposition.get_solarposition`, NREL SPA, refraction corrected
   with the local pressure and air temperature);
2. plane-of-array irradiance with a sky-diffuse transposition model
   (:func:`pvlib.irradiance.get_total_irradiance`, default Perez 1990 "allsitescomposite1990"
   coefficients, extraterrestrial irradiance from :func:`pvlib.irradiance.get_extra_radiation`
   and the Kasten-Young relative air mass), isotropic ground reflection;
3. reflection losses of the beam component with the physical (Fresnel/Snell) incidence angle
   modifier (:func:`pvlib.iam.physical`), as pvlib's ``ModelChain`` does for PVWatts;
4. cell temperature with the SAPM or PVsyst model and the parameters of
   :data:`pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS`;
5. DC power with :func:`pvlib.pvsystem.pvwatts_dc`, system losses (PVWatts style, in per cent,
   see :func:`pvwatts_total_losses_percent`) and the PVWatts inverter
   (:func:`pvlib.inverter.pvwatts`) sized by the DC/AC ratio.

A value at step ``t`` is the mean over ``[t, t + dt)``; the sun is therefore placed at
``t + dt / 2``. Generation is returned positive (generator convention); the sign flip to the
load convention used at grid connections is left to the caller.

References
----------
.. [1] A. P. Dobos, "PVWatts Version 5 Manual", NREL/TP-6A20-62641, 2014,
   doi:10.2172/1158421.
.. [2] K. S. Anderson et al., "pvlib python: 2023 project update", Journal of Open Source
   Software 8(92), 5994, 2023, doi:10.21105/joss.05994.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pvlib

__all__ = [
    "TRANSPOSITION_MODELS",
    "PVParameterError",
    "PVPlants",
    "pv_ac_power_kw",
    "pvwatts_total_losses_percent",
]

#: Sky-diffuse transposition models accepted by :func:`pv_ac_power_kw`.
TRANSPOSITION_MODELS = ("isotropic", "haydavies", "perez")

_REQUIRED_COLUMNS = ("ghi", "dni", "dhi", "temp_air", "wind_speed")

#: Reference efficiency of the PVWatts inverter model (PVWatts v5 manual, eq. 6.2).
_ETA_INV_REF = 0.9637


class PVParameterError(ValueError):
    """Raised for invalid PV plant parameters or weather input."""


def _as_plant_array(name: str, value: object, n: int | None) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(value, dtype=float))
    if arr.ndim != 1:
        raise PVParameterError(f"{name} must be a scalar or 1-D array, got shape {arr.shape}")
    if n is not None and arr.size not in (1, n):
        raise PVParameterError(f"{name} has {arr.size} values, expected 1 or {n} (one per plant)")
    if not np.all(np.isfinite(arr)):
        raise PVParameterError(f"{name} must be finite, got {arr!r}")
    return arr


def _temperature_model(name: str) -> tuple[str, dict[str, float]]:
    for model in ("sapm", "pvsyst"):
        prefix = model + "_"
        if name.startswith(prefix):
            config = name[len(prefix) :]
            params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS[model].get(config)
            if params is not None:
                return model, dict(params)
    known = [
        f"{model}_{config}"
        for model, configs in pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS.items()
        for config in configs
    ]
    raise PVParameterError(
        f"temperature_model={name!r} is unknown; expected one of {', '.join(sorted(known))}"
    )


@dataclass(frozen=True, eq=False)
class PVPlants:
    """Parameters of ``n`` fixed-tilt PV plants (arrays over plants).

    Scalars are broadcast to the number of plants, which is the largest array length.

    Parameters
    ----------
    p_kwp : numpy.ndarray
        DC nameplate power at standard test conditions [kWp], > 0.
    tilt_deg : numpy.ndarray
        Surface tilt from horizontal [deg], 0-90.
    azimuth_deg : numpy.ndarray
        Surface azimuth, pvlib convention (clockwise from north, 180 = south) [deg], 0-360.
    losses_percent : numpy.ndarray
        Total DC system losses (soiling, shading, mismatch, wiring, ...) [%], 0 <= x < 100.
        PVWatts' default is 14.08 %, see :func:`pvwatts_total_losses_percent`.
    inverter_eff : numpy.ndarray
        Nominal inverter efficiency ``eta_inv_nom`` (0-1].
    temperature_model : str
        Key ``"<model>_<configuration>"`` of
        :data:`pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS`, e.g.
        ``"sapm_open_rack_glass_glass"`` or ``"pvsyst_freestanding"``; shared by all plants.
    gamma_pdc_per_k : float, default -0.0037
        Temperature coefficient of DC power [1/K] (PVWatts default for standard modules).
    dc_ac_ratio : numpy.ndarray or float, default 1.1
        DC nameplate over inverter AC rating; the AC output is clipped at
        ``p_kwp / dc_ac_ratio``.

    Raises
    ------
    PVParameterError
        If a parameter is outside its range or the array lengths do not match.
    """

    p_kwp: np.ndarray
    tilt_deg: np.ndarray
    azimuth_deg: np.ndarray
    losses_percent: np.ndarray
    inverter_eff: np.ndarray
    temperature_model: str
    gamma_pdc_per_k: float = -0.0037
    dc_ac_ratio: np.ndarray | float = 1.1
    _temp_params: dict[str, float] = field(init=False, repr=False, compare=False)
    _temp_kind: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = ("p_kwp", "tilt_deg", "azimuth_deg", "losses_percent", "inverter_eff")
        names += ("dc_ac_ratio",)
        raw = {name: _as_plant_array(name, getattr(self, name), None) for name in names}
        sizes = {name: arr.size for name, arr in raw.items() if arr.size != 1}
        if len(set(sizes.values())) > 1:
            raise PVParameterError(f"per-plant array lengths differ: {sizes}")
        n = max(sizes.values(), default=1)
        for name in names:
            arr = _as_plant_array(name, raw[name], n)
            object.__setattr__(self, name, np.broadcast_to(arr, (n,)).copy())
        checks = (
            ("p_kwp", self.p_kwp > 0, "> 0"),
            ("tilt_deg", (self.tilt_deg >= 0) & (self.tilt_deg <= 90), "within [0, 90]"),
            ("azimuth_deg", (self.azimuth_deg >= 0) & (self.azimuth_deg <= 360), "within [0, 360]"),
            (
                "losses_percent",
                (self.losses_percent >= 0) & (self.losses_percent < 100),
                "within [0, 100)",
            ),
            ("inverter_eff", (self.inverter_eff > 0) & (self.inverter_eff <= 1), "within (0, 1]"),
            ("dc_ac_ratio", self.dc_ac_ratio > 0, "> 0"),
        )
        for name, ok, expected in checks:
            if not np.all(ok):
                bad = getattr(self, name)[~ok]
                raise PVParameterError(f"{name} must be {expected}, got {bad.tolist()}")
        gamma = float(self.gamma_pdc_per_k)
        if not (np.isfinite(gamma) and -0.02 <= gamma <= 0.0):
            raise PVParameterError(f"gamma_pdc_per_k must be within [-0.02, 0] 1/K, got {gamma}")
        object.__setattr__(self, "gamma_pdc_per_k", gamma)
        if not isinstance(self.temperature_model, str):
            raise PVParameterError(
                f"temperature_model must be a string, got {self.temperature_model!r}"
            )
        kind, params = _temperature_model(self.temperature_model)
        object.__setattr__(self, "_temp_kind", kind)
        object.__setattr__(self, "_temp_params", params)

    @property
    def n(self) -> int:
        """Number of plants."""
        return int(self.p_kwp.size)

    @property
    def p_ac_max_kw(self) -> np.ndarray:
        """AC rating of each plant's inverter, ``p_kwp / dc_ac_ratio`` [kW]."""
        return self.p_kwp / self.dc_ac_ratio


def pvwatts_total_losses_percent(**components: float) -> float:
    """Total system losses from PVWatts loss components.

    Thin wrapper of :func:`pvlib.pvsystem.pvwatts_losses`, which combines the components
    multiplicatively; all defaults (14.08 % in total) come from PVWatts v5.

    Parameters
    ----------
    **components : float
        Any of ``soiling, shading, snow, mismatch, wiring, connections, lid,
        nameplate_rating, age, availability`` [%].

    Returns
    -------
    float
        Total losses [%], usable as :attr:`PVPlants.losses_percent`.
    """
    return float(pvlib.pvsystem.pvwatts_losses(**components))


def _interval_midpoints(index: pd.DatetimeIndex, dt_s: float | None) -> pd.DatetimeIndex:
    if dt_s is not None:
        if not (np.isfinite(dt_s) and dt_s > 0):
            raise PVParameterError(f"dt_s must be a positive number of seconds, got {dt_s}")
        return index + pd.Timedelta(seconds=float(dt_s) / 2.0)
    if len(index) < 2:
        raise PVParameterError("dt_s is required when the weather has fewer than two rows")
    step = np.diff(index.asi8)
    if np.any(step <= 0):
        raise PVParameterError("weather index must be strictly increasing")
    step = np.append(step, step[-1])
    return index + pd.to_timedelta(step // 2, unit="ns")


def _check_weather(weather: pd.DataFrame) -> None:
    if not isinstance(weather, pd.DataFrame):
        raise PVParameterError(f"weather must be a pandas DataFrame, got {type(weather)}")
    missing = [c for c in _REQUIRED_COLUMNS if c not in weather.columns]
    if missing:
        raise PVParameterError(
            f"weather lacks columns {missing}; expected pvlib names {list(_REQUIRED_COLUMNS)}"
        )
    if not isinstance(weather.index, pd.DatetimeIndex) or weather.index.tz is None:
        raise PVParameterError("weather must have a time-zone-aware DatetimeIndex")


def pv_ac_power_kw(
    weather: pd.DataFrame,
    latitude_deg: float,
    longitude_deg: float,
    altitude_m: float,
    plants: PVPlants,
    *,
    transposition_model: str = "perez",
    albedo: float = 0.25,
    dt_s: float | None = None,
) -> np.ndarray:
    """AC output of each plant over a whole period.

    Parameters
    ----------
    weather : pandas.DataFrame
        Time-zone-aware DatetimeIndex; a row at ``t`` holds means over ``[t, t + dt)``.
        Columns (pvlib names): ``ghi, dni, dhi`` [W/m2], ``temp_air`` [degC],
        ``wind_speed`` [m/s]; optional ``pressure`` [Pa] (else derived from the altitude)
        and ``albedo`` [-] (overrides the ``albedo`` argument).
    latitude_deg, longitude_deg : float
        Site position [deg], north and east positive.
    altitude_m : float
        Site altitude above sea level [m].
    plants : PVPlants
        Plant parameters (``n`` plants).
    transposition_model : {"perez", "haydavies", "isotropic"}, default "perez"
        Sky-diffuse model of :func:`pvlib.irradiance.get_total_irradiance`; Perez (1990) is
        the model of PVWatts v5 and of pvlib's PVWatts ``ModelChain`` configuration.
    albedo : float, default 0.25
        Ground reflectance (pvlib's default), used when ``weather`` has no ``albedo`` column.
    dt_s : float, optional
        Interval length [s]. By default it is taken from the spacing of the index (the
        last row uses the preceding spacing).

    Returns
    -------
    numpy.ndarray
        AC power, shape ``(n_steps, n_plants)`` [kW], >= 0 (generator convention: generation
        is positive). Zero while the sun is below the horizon; NaN where the weather is NaN.

    Raises
    ------
    PVParameterError
        For missing weather columns, a naive or non-increasing index, an unknown
        transposition model or an invalid albedo or location.
    """
    _check_weather(weather)
    if transposition_model not in TRANSPOSITION_MODELS:
        raise PVParameterError(
            f"transposition_model={transposition_model!r} is unknown; "
            f"expected one of {TRANSPOSITION_MODELS}"
        )
    if not -90.0 <= float(latitude_deg) <= 90.0:
        raise PVParameterError(f"latitude_deg must be within [-90, 90], got {latitude_deg}")
    if not -180.0 <= float(longitude_deg) <= 360.0:
        raise PVParameterError(f"longitude_deg must be within [-180, 360], got {longitude_deg}")
    if not np.isfinite(altitude_m):
        raise PVParameterError(f"altitude_m must be finite, got {altitude_m}")
    if "albedo" in weather.columns:
        alb = weather["albedo"].to_numpy(dtype=float)[:, None]
    else:
        alb = float(albedo)
    if not np.all((np.asarray(alb) >= 0) & (np.asarray(alb) <= 1)):
        raise PVParameterError("albedo must be within [0, 1]")

    times = _interval_midpoints(weather.index, dt_s)
    temp_air = weather["temp_air"].to_numpy(dtype=float)
    wind = weather["wind_speed"].to_numpy(dtype=float)
    pressure = weather["pressure"].to_numpy(dtype=float) if "pressure" in weather else None
    solpos = pvlib.solarposition.get_solarposition(
        times,
        float(latitude_deg),
        float(longitude_deg),
        altitude=float(altitude_m),
        pressure=pressure,
        temperature=temp_air,
    )
    zenith = solpos["apparent_zenith"].to_numpy()[:, None]
    azimuth = solpos["azimuth"].to_numpy()[:, None]
    airmass = pvlib.atmosphere.get_relative_airmass(zenith, model="kastenyoung1989")
    dni_extra = pvlib.irradiance.get_extra_radiation(times).to_numpy()[:, None]

    def column(name: str) -> np.ndarray:
        return weather[name].to_numpy(dtype=float)[:, None]

    ghi, dni, dhi = column("ghi"), column("dni"), column("dhi")
    poa = pvlib.irradiance.get_total_irradiance(
        plants.tilt_deg,
        plants.azimuth_deg,
        zenith,
        azimuth,
        dni,
        ghi,
        dhi,
        dni_extra=dni_extra,
        airmass=airmass,
        albedo=alb,
        model=transposition_model,
    )
    aoi = pvlib.irradiance.aoi(plants.tilt_deg, plants.azimuth_deg, zenith, azimuth)
    iam = pvlib.iam.physical(aoi)
    poa_direct = np.asarray(poa["poa_direct"], dtype=float)
    poa_diffuse = np.asarray(poa["poa_diffuse"], dtype=float)
    poa_global = np.asarray(poa["poa_global"], dtype=float)

    # Some terms are undefined although the weather is valid (no air mass with the sun below
    # the horizon, Perez's sky clearness for dhi = 0): there is no such irradiance then.
    valid = np.isfinite(ghi) & np.isfinite(dni) & np.isfinite(dhi)
    poa_direct = np.where(valid, np.nan_to_num(poa_direct, nan=0.0), np.nan)
    poa_diffuse = np.where(valid, np.nan_to_num(poa_diffuse, nan=0.0), np.nan)
    poa_global = np.where(valid, np.nan_to_num(poa_global, nan=0.0), np.nan)
    effective = poa_direct * np.nan_to_num(iam, nan=0.0) + poa_diffuse

    ta, ws = temp_air[:, None], wind[:, None]
    p = plants._temp_params
    if plants._temp_kind == "sapm":
        temp_cell = pvlib.temperature.sapm_cell(poa_global, ta, ws, p["a"], p["b"], p["deltaT"])
    else:
        temp_cell = pvlib.temperature.pvsyst_cell(poa_global, ta, ws, u_c=p["u_c"], u_v=p["u_v"])

    pdc0_w = plants.p_kwp * 1000.0
    pdc_w = pvlib.pvsystem.pvwatts_dc(effective, temp_cell, pdc0_w, plants.gamma_pdc_per_k)
    pdc_w = pdc_w * (1.0 - plants.losses_percent / 100.0)
    # PVWatts inverter: its DC rating is the AC rating over the nominal efficiency.
    pdc0_inv_w = pdc0_w / plants.dc_ac_ratio / plants.inverter_eff
    pac_w = pvlib.inverter.pvwatts(
        pdc_w, pdc0_inv_w, eta_inv_nom=plants.inverter_eff, eta_inv_ref=_ETA_INV_REF
    )
    pac_w = np.where(np.isnan(pdc_w), np.nan, pac_w)
    return np.asarray(pac_w, dtype=float) / 1000.0
