"""Inputs of the thermal assets of a scenario: weather, PV plants, buildings and heat pumps.

Time
    Scenario times are naive in the clock of the SimBench data: 2016 in CET *standard*
    time, UTC+1 all year (no daylight saving). They are localised as ``Etc/GMT-1``
    (:data:`SCENARIO_TZ`). Weather files carry their own standard time zone (TRY2010: CET;
    EPW/TMY3: the file's ``TZ``); the weather of a step is taken at the same physical
    instant, converted from the file's zone. A typical year is mapped onto every calendar
    year the period touches, and resampled so that the value at t is the exact mean over
    ``[t, t + dt)`` (:func:`pedsim.physics.weather.resample`).
Sub-steps
    PV output, solar gains and the zone model are computed on sub-steps of
    :func:`fine_step_s` (the largest divisor of the step not above 15 min) and averaged.
Buildings
    Every in-service household load (SimBench profile name starting with ``H``) is one
    building at its bus, its load profile stays its household electricity. Archetypes and
    heat-pump types are assigned per load name where the scenario lists them; the other
    loads get them by share: the counts are the shares times the number of loads rounded
    by largest remainder, their order a permutation drawn from the scenario's generator
    (archetypes first, then heat-pump types).
Heat-pump size
    Thermal rating = ``sizing_factor * (H (θ_set - θ_design) + mean hot-water demand)``
    with ``H`` the steady loss coefficient of the zone (transmission in series with the
    surface node, plus ventilation; internal and solar gains neglected, as EN 12831) and
    ``θ_design`` the scenario's design temperature or, by default, the lowest 48-hour mean
    outdoor temperature of the weather year(s) (EN 12831 defines the design temperature
    as a lowest two-day mean).
Internal gains
    Hourly shape of EN ISO 13790:2008 Table G.8 (residential, occupants and appliances,
    weekdays and weekends; living room and kitchen taken as half of the floor area),
    scaled to the mean given in the scenario or the catalogue's boundary condition
    (TABULA DE: 3 W/m² of reference floor area).
Hot water
    A constant demand of ``dhw_kwh_m2a`` per m² of reference floor area and year
    (12.5 kWh/(m² a) is the value of DIN V 4701-10); the hot-water cylinder is taken to
    smooth the tapping so that the heat pump sees its mean reheating demand.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pedsim.physics.building import RC5Params, Windows, load_archetypes, solar_gains_w
from pedsim.physics.heatpump import HeatPumpParams, params_from_catalogue
from pedsim.physics.pv import PVPlants, pvwatts_total_losses_percent
from pedsim.physics.weather import Weather, load_epw, load_tmy3, load_try2010, resample
from pedsim.scenario import Scenario, resolve_input
from pedsim.scenario.thermal import (
    BuildingsConfig,
    catalogue_path,
    heat_pump_catalogue,
    pv_defaults,
)
from pedsim.timeseries import step_means

#: Time zone of naive scenario times: the SimBench clock, CET standard time (UTC+1).
SCENARIO_TZ = "Etc/GMT-1"
#: Longest sub-step of PV, solar gains and zones (s).
MAX_SUBSTEP_S = 900
#: EN ISO 13790:2008 Table G.8, W/m²: (from hour, to hour, living+kitchen, other rooms),
#: Monday-Friday and Saturday-Sunday.
ISO13790_G8_WEEKDAY = ((7, 17, 8.0, 1.0), (17, 23, 20.0, 1.0), (23, 31, 2.0, 6.0))
ISO13790_G8_WEEKEND = ((7, 17, 8.0, 2.0), (17, 23, 20.0, 4.0), (23, 31, 2.0, 6.0))
LIVING_SHARE = 0.5


def fine_step_s(step_s: int) -> int:
    """Return the largest divisor of ``step_s`` that is at most :data:`MAX_SUBSTEP_S`."""
    step_s = int(step_s)
    return next(d for d in range(min(step_s, MAX_SUBSTEP_S), 0, -1) if step_s % d == 0)


def scenario_period(scenario: Scenario) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Start and exclusive end of the run, localised in :data:`SCENARIO_TZ`."""
    return scenario.start_ts.tz_localize(SCENARIO_TZ), scenario.end_ts.tz_localize(SCENARIO_TZ)


@dataclass(frozen=True)
class ScenarioWeather:
    """Weather of a run.

    Attributes
    ----------
    weather : Weather
        Means over sub-steps of ``dt_s`` covering the run period.
    hourly : Weather
        The source weather over the calendar years touched by the period.
    """

    weather: Weather
    hourly: Weather


def _load_year(scenario: Scenario, year: int) -> Weather:
    cfg = scenario.weather
    if cfg.source == "try2010":
        return load_try2010(cfg.try_region, year)
    if cfg.file is None:
        raise ValueError(f"weather.file: missing; expected a {cfg.source.upper()} file")
    path = resolve_input(scenario.source_path, Path(cfg.file))
    return (load_epw if cfg.source == "epw" else load_tmy3)(path, year)


def _concat(years: list[Weather]) -> Weather:
    if len(years) == 1:
        return years[0]
    data = pd.concat([w.data for w in years])
    samples = None
    if all(w.samples is not None for w in years):
        samples = pd.concat([w.samples for w in years])
        samples = samples[~samples.index.duplicated(keep="first")]
    source = "; ".join(w.source for w in years)
    return Weather(site=years[0].site, data=data, source=source, samples=samples)


def load_weather(scenario: Scenario, dt_s: int) -> ScenarioWeather:
    """Load the scenario's weather and resample it onto the run period.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario (``weather`` section).
    dt_s : int
        Interval of the resampled weather (a divisor of the step).

    Returns
    -------
    ScenarioWeather
        Resampled and source weather.
    """
    start, end = scenario_period(scenario)
    first = _load_year(scenario, start.year)
    tz = first.site.tz
    y0, y1 = start.tz_convert(tz).year, (end - pd.Timedelta(1, "ns")).tz_convert(tz).year
    years = [first if y == start.year else _load_year(scenario, y) for y in range(y0, y1 + 1)]
    hourly = _concat(years)
    return ScenarioWeather(resample(hourly, start, end, int(dt_s)), hourly)


@dataclass(frozen=True)
class PVSetup:
    """PV plants of a run: labels, grid buses, parameters and irradiance options."""

    names: list[str]
    bus_ids: np.ndarray
    plants: PVPlants
    transposition_model: str
    albedo: float


def pv_setup(scenario: Scenario, net: object) -> PVSetup | None:
    """Build the PV plants of a scenario with ``pv.source: pvlib``.

    Plants are the in-service SimBench static generators (kWp = ``p_mw * 1000``, the
    section's tilt and azimuth) or the declared plants; unset parameters come from
    ``models/pv_defaults.yaml`` (PVWatts v5).

    Returns
    -------
    PVSetup or None
        None when there is no plant.

    Raises
    ------
    ValueError
        If a SimBench static generator is not PV (pvlib would model it as PV).
    """
    cfg, defaults = scenario.pv, pv_defaults()
    default_losses = cfg.losses_percent
    if default_losses is None:
        default_losses = pvwatts_total_losses_percent(**defaults["loss_components_percent"])
    if cfg.plants is None:  # the SimBench generators
        sgen = net.sgen[net.sgen.in_service.astype(bool) & (net.sgen.p_mw > 0)]
        kinds = (sgen.type.astype(str) + " " + sgen.profile.astype(str)).str.upper()
        not_pv = sgen.name[~kinds.str.contains("PV")]
        if len(not_pv):
            raise ValueError(
                f"pv.source: pvlib models every static generator as PV, but "
                f"{', '.join(map(str, not_pv))} is not PV; expected PV generators only"
            )
        names = sgen.name.astype(str).tolist()
        bus_ids = sgen.bus.to_numpy(dtype=np.int64)
        kwp = sgen.p_mw.to_numpy(float) * 1000.0
        tilt = np.full(len(names), cfg.tilt_deg)
        azimuth = np.full(len(names), cfg.azimuth_deg)
        losses = np.full(len(names), default_losses)
    else:
        plants = cfg.plants
        names = [p.name or f"PV {i + 1} bus {p.bus}" for i, p in enumerate(plants)]
        bus_ids = np.array([p.bus for p in plants], dtype=np.int64)
        kwp = np.array([p.p_kwp for p in plants])
        tilt = np.array([cfg.tilt_deg if p.tilt_deg is None else p.tilt_deg for p in plants])
        azimuth = np.array([cfg.azimuth_deg if p.azimuth_deg is None else p.azimuth_deg
                            for p in plants])  # fmt: skip
        losses = np.array([default_losses if p.losses_percent is None else p.losses_percent
                           for p in plants])  # fmt: skip
    if not names:
        return None
    mounting = defaults.get("temperature_model", {})
    pv = PVPlants(
        p_kwp=kwp,
        tilt_deg=tilt,
        azimuth_deg=azimuth,
        losses_percent=losses,
        inverter_eff=cfg.inverter_eff if cfg.inverter_eff is not None else defaults["inverter_eff"],
        temperature_model=mounting.get(cfg.temperature_model, cfg.temperature_model),
        gamma_pdc_per_k=defaults["gamma_pdc_per_k"],
        dc_ac_ratio=cfg.dc_ac_ratio if cfg.dc_ac_ratio is not None else defaults["dc_ac_ratio"],
    )
    return PVSetup(
        names=names,
        bus_ids=bus_ids,
        plants=pv,
        transposition_model=cfg.transposition_model or defaults["transposition_model"],
        albedo=float(cfg.albedo if cfg.albedo is not None else defaults["albedo"]),
    )


def household_loads(net: object) -> tuple[list[str], np.ndarray]:
    """Names and buses of the in-service household loads (profile ``H...``), in net order.

    Raises
    ------
    ValueError
        If the net's loads carry no SimBench ``profile`` column.
    """
    load = net.load
    if "profile" not in load.columns:
        raise ValueError(
            "buildings: the grid's loads have no SimBench 'profile' column; expected "
            "SimBench profile names (household loads start with 'H')"
        )
    house = load.in_service.astype(bool) & load.profile.astype(str).str.startswith("H")
    return load.name[house].astype(str).tolist(), load.bus[house].to_numpy(dtype=np.int64)


def assign(
    names: list[str],
    shares: dict[str, float],
    by_name: dict[str, str],
    rng: np.random.Generator,
    what: str,
) -> list[str]:
    """Assign a category to every name: listed names as listed, the others by share.

    Parameters
    ----------
    names : list of str
        Load names.
    shares : dict
        Category -> share (summing to 1).
    by_name : dict
        Load name -> category; these loads are not drawn.
    rng : numpy.random.Generator
        Draws the order of the categories among the unlisted loads (one permutation).
    what : str
        Field name for messages, e.g. ``"buildings.archetype_by_load"``.

    Returns
    -------
    list of str
        One category per name.

    Raises
    ------
    ValueError
        For a listed name that is not among ``names``.
    """
    unknown = sorted(set(by_name) - set(names))
    if unknown:
        raise ValueError(f"{what}: got {unknown}; expected household load names of the grid")
    rest = [n for n in names if n not in by_name]
    keys = list(shares)
    exact = np.array([shares[k] for k in keys], dtype=float)
    exact *= len(rest) / exact.sum()
    counts = np.floor(exact + 1e-9).astype(int)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: len(rest) - counts.sum()]] += 1
    drawn = np.repeat(np.array(keys, dtype=object), counts)[rng.permutation(len(rest))]
    it = iter(drawn.tolist())
    return [by_name[n] if n in by_name else next(it) for n in names]


@dataclass(frozen=True)
class BuildingSetup:
    """Buildings of a run: one per household load.

    Attributes
    ----------
    names : list of str
        Load names (one building each).
    bus_ids : numpy.ndarray
        pandapower bus of each building.
    archetypes, heat_pump_types : list of str
        Assigned archetype code and heat-pump type.
    zones : RC5Params
        5R1C networks with the scenario's set point, no cooling.
    heat_pumps : HeatPumpParams
        Heat pumps sized by the rule of the module docstring.
    windows : Windows
        Window areas and factors for the solar gains.
    design_t_out_degc : float
        Design outdoor temperature used for sizing.
    design_heat_load_w, q_dhw_w, phi_int_mean_w : numpy.ndarray
        Design heat load, mean hot-water demand and mean internal gains per building.
    """

    names: list[str]
    bus_ids: np.ndarray
    archetypes: list[str]
    heat_pump_types: list[str]
    zones: RC5Params
    heat_pumps: HeatPumpParams
    windows: Windows
    design_t_out_degc: float
    design_heat_load_w: np.ndarray
    q_dhw_w: np.ndarray
    phi_int_mean_w: np.ndarray


def building_setup(
    cfg: BuildingsConfig, net: object, hourly: Weather, rng: np.random.Generator
) -> BuildingSetup:
    """Assign, parametrise and size one building with a heat pump per household load.

    Parameters
    ----------
    cfg : BuildingsConfig
        The scenario's ``buildings`` section.
    net : pandapower.pandapowerNet
        The grid (SimBench-format loads with ``profile``).
    hourly : Weather
        Source weather (for the default design temperature).
    rng : numpy.random.Generator
        The run's generator.

    Returns
    -------
    BuildingSetup
        Everything the building simulator needs apart from the driving series.

    Raises
    ------
    ValueError
        If the grid has no household load or a listed load name is unknown.
    """
    names, bus_ids = household_loads(net)
    if not names:
        raise ValueError(
            "buildings: the grid has no in-service household load (SimBench profile 'H...'); "
            "expected at least one"
        )
    codes = assign(names, cfg.archetypes, cfg.archetype_by_load, rng, "buildings.archetype_by_load")
    types = assign(names, cfg.heat_pumps, cfg.heat_pump_by_load, rng, "buildings.heat_pump_by_load")
    catalogue = load_archetypes(catalogue_path("buildings", "tabula_de.yaml"))
    archs = [catalogue[c] for c in codes]
    t_set = cfg.t_set_heat_degc
    zones = RC5Params.from_archetypes(
        archs,
        t_set_heat_degc=t_set,
        t_set_cool_degc=max(cfg.comfort_band_degc[1], t_set),
        p_heat_max_w=np.inf,
        p_cool_max_w=0.0,
        names=names,
    )
    t_design = cfg.design_t_out_degc
    if t_design is None:
        t_design = float(hourly.data["t_air_degc"].rolling(48).mean().min())
    h_loss = zones.h_tr_steady_w_k + zones.h_ve_w_k
    design = h_loss * max(t_set - t_design, 0.0)
    q_dhw = cfg.dhw_kwh_m2a * zones.a_f_m2 * 1000.0 / 8760.0
    p_th_kw = cfg.sizing_factor * (design + q_dhw) / 1000.0
    p_th_kw = np.maximum(p_th_kw, 1e-3)  # a positive rating even without any demand
    hp = params_from_catalogue(
        heat_pump_catalogue(), types, p_th_kw, tank_volume_l=cfg.buffer_tank_l_per_kw * p_th_kw
    )
    phi_int = np.array(
        [
            cfg.internal_gains_w_m2 if cfg.internal_gains_w_m2 is not None
            else a.boundary["phi_int_w_m2"]
            for a in archs
        ]
    ) * zones.a_f_m2  # fmt: skip
    return BuildingSetup(
        names=names,
        bus_ids=bus_ids,
        archetypes=codes,
        heat_pump_types=types,
        zones=zones,
        heat_pumps=hp,
        windows=Windows.from_archetypes(archs),
        design_t_out_degc=float(t_design),
        design_heat_load_w=design,
        q_dhw_w=q_dhw,
        phi_int_mean_w=phi_int,
    )


def internal_gains_shape(start: pd.Timestamp, n: int, dt_s: int) -> np.ndarray:
    """Relative internal gains (weekly mean 1) of EN ISO 13790 Table G.8, means over steps.

    Parameters
    ----------
    start : pandas.Timestamp
        Start of the first step (naive, scenario clock; weekdays and hours from it).
    n : int
        Number of steps.
    dt_s : int
        Step length (s).

    Returns
    -------
    numpy.ndarray
        Shape ``(n,)``: exact means over each step of the hourly profile.
    """
    hours = np.zeros((2, 24))
    for row, table in enumerate((ISO13790_G8_WEEKDAY, ISO13790_G8_WEEKEND)):
        for h0, h1, living, other in table:
            value = LIVING_SHARE * living + (1.0 - LIVING_SHARE) * other
            hours[row, np.arange(h0, h1) % 24] = value
    week = np.concatenate([hours[0]] * 5 + [hours[1]] * 2)  # Monday 00:00 onwards
    week /= week.mean()
    t0 = start.floor("h")
    n_h = int(np.ceil(((start - t0).total_seconds() + n * dt_s) / 3600.0)) + 1
    stamps = t0 + pd.to_timedelta(np.arange(n_h), unit="h")
    hourly = week[(stamps.dayofweek * 24 + stamps.hour).to_numpy()]
    return step_means(hourly, t0, 3600, start, int(dt_s), n)


def building_drivers(
    setup: BuildingSetup, weather: Weather, start: pd.Timestamp, dt_s: int
) -> dict[str, np.ndarray]:
    """Driving series of the building simulator on sub-steps of ``dt_s``.

    Returns
    -------
    dict
        ``t_out_degc`` ``(n,)``, ``phi_int_w`` and ``phi_sol_w`` ``(n, N)`` in W.
    """
    n = len(weather.data)
    shape = internal_gains_shape(pd.Timestamp(start).tz_localize(None), n, dt_s)
    return {
        "t_out_degc": weather.data["t_air_degc"].to_numpy(dtype=float),
        "phi_int_w": shape[:, None] * setup.phi_int_mean_w[None, :],
        "phi_sol_w": solar_gains_w(weather.data, weather.site, setup.windows),
    }
