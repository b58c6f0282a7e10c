"""Scenario sections for weather, PV plants and thermal buildings with heat pumps.

Example (all keys optional except where a section is wanted at all)::

    weather:
      source: try2010          # try2010 (DWD test reference year, demandlib) | epw | tmy3
      try_region: 4            # TRY2010 climate region 1..15 (4: Potsdam)
      # file: weather/site.epw # EPW/TMY3 file, relative to the scenario file
    pv:
      source: pvlib            # simbench: SimBench PV profiles | pvlib: from the weather
      plants: simbench         # one plant per SimBench static generator (kWp = p_mw * 1000)
      tilt_deg: 35             # defaults for plants that give none
      azimuth_deg: 180         # clockwise from north, 180 = south
      temperature_model: roof_mount
      # plants:                # or declare them (instead of the SimBench generators)
      #   - {bus: 12, p_kwp: 9.8, tilt_deg: 30, azimuth_deg: 200, name: roof 1}
    buildings:
      archetypes: {DE.N.SFH.05.Gen: 0.3, DE.N.SFH.08.Gen: 0.4, DE.N.SFH.12.Gen: 0.3}
      archetype_by_load: {"LV1.101 Load 2": DE.N.SFH.12.Gen}
      heat_pumps: {ashp_radiator: 0.7, gshp_floor: 0.3}
      sizing_factor: 1.0
      t_set_heat_degc: 20.0
      comfort_band_degc: [20.0, 26.0]

Archetype names are the codes of ``models/buildings/tabula_de.yaml``, heat-pump types the
keys ``heat_pump_types`` of ``models/heat_pumps.yaml`` and PV defaults come from
``models/pv_defaults.yaml``; ``models/`` is the folder next to the ``pedsim`` package.
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BeforeValidator, Field, field_validator

import pedsim
from pedsim.scenario.errors import MISSING, Problem
from pedsim.scenario.schema_base import StrictModel

#: Share sums within this of 1 are accepted.
SHARE_TOLERANCE = 1e-6


class CatalogueError(ValueError):
    """A parameter catalogue under ``models/`` is missing or unreadable."""


def models_dir() -> Path:
    """Return the catalogue folder ``models/`` next to the ``pedsim`` package.

    Raises
    ------
    CatalogueError
        If the folder does not exist (e.g. pedsim installed without its catalogues).
    """
    path = Path(pedsim.__file__).resolve().parents[1] / "models"
    if not path.is_dir():
        raise CatalogueError(
            f"catalogue folder {path} is missing; expected the repository's models/ folder "
            "next to the pedsim package"
        )
    return path


def catalogue_path(*parts: str) -> Path:
    """Return the path of a catalogue file under ``models/``, which must exist.

    Raises
    ------
    CatalogueError
        If the folder or the file is missing.
    """
    path = models_dir().joinpath(*parts)
    if not path.is_file():
        raise CatalogueError(f"catalogue {path} is missing; expected models/{'/'.join(parts)}")
    return path


@cache
def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogueError(f"catalogue {path} cannot be read ({exc})") from None
    if not isinstance(doc, dict):
        raise CatalogueError(f"catalogue {path}: expected a mapping at the top level")
    return doc


def heat_pump_catalogue() -> dict[str, Any]:
    """Return the parsed ``models/heat_pumps.yaml``."""
    return _read_yaml(catalogue_path("heat_pumps.yaml"))


def pv_defaults() -> dict[str, Any]:
    """Return the parsed ``models/pv_defaults.yaml``."""
    return _read_yaml(catalogue_path("pv_defaults.yaml"))


def archetype_codes() -> list[str]:
    """Archetype codes of ``models/buildings/tabula_de.yaml`` in file order."""
    doc = _read_yaml(catalogue_path("buildings", "tabula_de.yaml"))
    return [str(k) for k in doc.get("archetypes", {})]


def _known(kind: str, names: Any, known: list[str]) -> None:
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"{kind} among {', '.join(known)} (unknown: {', '.join(unknown)})")


def _shares(kind: str, shares: dict[str, float], known: list[str]) -> dict[str, float]:
    if not shares:
        raise ValueError(f"at least one {kind} with a share")
    _known(f"{kind} names", shares, known)
    bad = {k: v for k, v in shares.items() if not (math.isfinite(v) and v >= 0.0)}
    if bad:
        raise ValueError(f"shares >= 0 (got {bad})")
    total = sum(shares.values())
    if abs(total - 1.0) > SHARE_TOLERANCE:
        raise ValueError(f"shares summing to 1 (they sum to {total:.6g})")
    return shares


class WeatherConfig(StrictModel):
    """Weather driving PV and buildings, mapped onto the scenario's calendar year(s)."""

    source: Literal["try2010", "epw", "tmy3"] = Field(
        "try2010", description="DWD test reference year 2010 (demandlib), or a user file."
    )
    try_region: int = Field(4, ge=1, le=15, description="TRY2010 region (4: Potsdam).")
    file: Path | None = Field(None, description="EPW/TMY3 file, relative to the scenario.")


class PVPlantConfig(StrictModel):
    """One declared PV plant; unset angles and losses take the section's defaults."""

    bus: int = Field(ge=0, description="pandapower bus id of the grid connection.")
    p_kwp: float = Field(gt=0.0, description="DC nameplate power (kWp).")
    tilt_deg: float | None = Field(None, ge=0.0, le=90.0, description="Tilt from horizontal.")
    azimuth_deg: float | None = Field(
        None, ge=0.0, le=360.0, description="Azimuth clockwise from north (180: south)."
    )
    losses_percent: float | None = Field(None, ge=0.0, lt=100.0, description="DC losses (%).")
    name: str | None = Field(None, description="Label (default 'PV <n> bus <bus>').")


def _simbench_plants(value: Any) -> Any:
    """Map ``plants: simbench`` to None (the SimBench generators); lists pass on."""
    if isinstance(value, str):
        if value != "simbench":
            raise ValueError("'simbench' or a list of plants")
        return None
    return value


class PVConfig(StrictModel):
    """Where PV output comes from and, with pvlib, the plants and their defaults."""

    source: Literal["simbench", "pvlib"] = Field(
        "simbench", description="SimBench profiles, or pvlib from the scenario's weather."
    )
    plants: Annotated[list[PVPlantConfig] | None, BeforeValidator(_simbench_plants)] = Field(
        None,
        description="'simbench' (or absent): one plant per SimBench static generator "
        "(kWp = p_mw * 1000); or a list of plants (source pvlib only).",
    )
    tilt_deg: float = Field(35.0, ge=0.0, le=90.0, description="Default tilt (deg).")
    azimuth_deg: float = Field(180.0, ge=0.0, le=360.0, description="Default azimuth (deg).")
    losses_percent: float | None = Field(
        None, ge=0.0, lt=100.0, description="DC losses (%); default PVWatts components (14.08)."
    )
    inverter_eff: float | None = Field(
        None, gt=0.0, le=1.0, description="Nominal inverter efficiency; default 0.96."
    )
    dc_ac_ratio: float | None = Field(None, gt=0.0, description="DC/AC ratio; default 1.1.")
    temperature_model: str = Field(
        "roof_mount",
        description="Mounting of models/pv_defaults.yaml (open_rack, roof_mount, insulated) "
        "or a pvlib key such as 'sapm_open_rack_glass_glass'.",
    )
    transposition_model: Literal["perez", "haydavies", "isotropic"] | None = Field(
        None, description="Sky-diffuse model; default perez (PVWatts v5)."
    )
    albedo: float | None = Field(None, ge=0.0, le=1.0, description="Ground reflectance.")

    @field_validator("temperature_model")
    @classmethod
    def _temperature_model(cls, value: str) -> str:
        mountings = list(pv_defaults().get("temperature_model", {}))
        if value in mountings:
            return value
        import pvlib

        params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS
        keys = [f"{m}_{c}" for m, configs in params.items() for c in configs]
        if value not in keys:
            raise ValueError(f"a mounting ({', '.join(mountings)}) or one of {', '.join(keys)}")
        return value


class BuildingsConfig(StrictModel):
    """Thermal buildings with heat pumps at the household loads."""

    archetypes: dict[str, float] = Field(
        default_factory=lambda: {"DE.N.SFH.08.Gen": 1.0},
        description="Archetype code -> share of the household loads (shares sum to 1).",
    )
    archetype_by_load: dict[str, str] = Field(
        default_factory=dict,
        description="Load name -> archetype code; overrides the shares for these loads.",
    )
    heat_pumps: dict[str, float] = Field(
        default_factory=lambda: {"ashp_radiator": 1.0},
        description="Heat-pump type of models/heat_pumps.yaml -> share (shares sum to 1).",
    )
    heat_pump_by_load: dict[str, str] = Field(
        default_factory=dict, description="Load name -> heat-pump type; overrides the shares."
    )
    sizing_factor: float = Field(
        1.0, gt=0.0, le=10.0, description="Heat-pump rating / (design heat load + DHW mean)."
    )
    design_t_out_degc: float | None = Field(
        None,
        ge=-60.0,
        le=20.0,
        description="Design outdoor temperature; default the lowest 48-h mean of the weather.",
    )
    t_set_heat_degc: float = Field(20.0, ge=5.0, le=30.0, description="Heating set point.")
    comfort_band_degc: tuple[float, float] = Field(
        (20.0, 26.0), description="Comfort band [low, high] of the zone air temperature."
    )
    internal_gains_w_m2: float | None = Field(
        None, ge=0.0, le=50.0, description="Mean internal gains; default the catalogue's (3.0)."
    )
    dhw_kwh_m2a: float = Field(
        0.0, ge=0.0, le=100.0, description="Hot-water heat need (0: none; 12.5 DIN V 4701-10)."
    )
    buffer_tank_l_per_kw: float = Field(
        0.0, ge=0.0, le=500.0, description="Buffer-tank litres per kW of heat-pump rating."
    )
    cos_phi: float = Field(
        1.0, gt=0.0, le=1.0, description="Heat-pump power factor (inductive); 1: no Q."
    )

    @field_validator("archetypes")
    @classmethod
    def _archetype_shares(cls, value: dict[str, float]) -> dict[str, float]:
        return _shares("archetype", value, archetype_codes())

    @field_validator("heat_pumps")
    @classmethod
    def _heat_pump_shares(cls, value: dict[str, float]) -> dict[str, float]:
        return _shares("heat-pump type", value, list(heat_pump_catalogue()["heat_pump_types"]))

    @field_validator("archetype_by_load")
    @classmethod
    def _archetype_list(cls, value: dict[str, str]) -> dict[str, str]:
        _known("archetype names", value.values(), archetype_codes())
        return value

    @field_validator("heat_pump_by_load")
    @classmethod
    def _heat_pump_list(cls, value: dict[str, str]) -> dict[str, str]:
        _known("heat-pump types", value.values(), list(heat_pump_catalogue()["heat_pump_types"]))
        return value

    @field_validator("comfort_band_degc")
    @classmethod
    def _band(cls, value: tuple[float, float]) -> tuple[float, float]:
        if not value[0] < value[1]:
            raise ValueError("a band [low, high] with low < high")
        return value


def check_thermal(raw: dict[str, Any], path: Path) -> list[Problem]:
    """Cross-field checks of the thermal sections (run with all other scenario checks).

    Checks the weather file against the weather source, declared PV plants against the
    PV source, and, when the scenario names loads or buses, that they exist in the grid
    (household loads: SimBench profile starting with ``H``).

    Parameters
    ----------
    raw : dict
        The scenario as parsed from YAML.
    path : pathlib.Path
        The scenario file (for messages and relative paths).

    Returns
    -------
    list of Problem
        Every problem found.
    """
    problems: list[Problem] = []
    weather = raw.get("weather")
    if isinstance(weather, dict):
        problems += _weather_checks(weather, path)
    pv = raw.get("pv")
    plants = pv.get("plants") if isinstance(pv, dict) else None
    if isinstance(plants, list) and pv.get("source", "simbench") != "pvlib":
        problems.append(
            Problem(path, "pv.plants", plants, "plants declared only with pv.source: pvlib")
        )
    buildings = raw.get("buildings")
    by_load: dict[str, Any] = {}
    if isinstance(buildings, dict):
        for key in ("archetype_by_load", "heat_pump_by_load"):
            if isinstance(buildings.get(key), dict):
                by_load |= {f"buildings.{key}": buildings[key]}
    plant_list = plants if isinstance(plants, list) else []
    buses = [p.get("bus") for p in plant_list if isinstance(p, dict)]
    if not (any(by_load.values()) or buses):
        return problems
    info = _grid_info(raw.get("grid"), path)
    if info is None:
        return problems  # the grid itself is reported by the grid checks
    households, all_buses = info
    for field, mapping in by_load.items():
        unknown = [n for n in mapping if n not in households]
        if unknown:
            sample = ", ".join(sorted(households)[:5])
            problems.append(
                Problem(
                    path,
                    field,
                    unknown,
                    f"names of household loads of the grid (SimBench profile 'H...'), "
                    f"e.g. {sample}",
                )
            )
    bad = [b for b in buses if isinstance(b, int) and b not in all_buses]
    if bad:
        problems.append(
            Problem(path, "pv.plants", bad, f"bus ids of the grid ({min(all_buses)}..)")
        )
    return problems


def _weather_checks(weather: dict[str, Any], path: Path) -> list[Problem]:
    source, file = weather.get("source", "try2010"), weather.get("file")
    if source in ("epw", "tmy3"):
        if file is None:
            return [Problem(path, "weather.file", MISSING, f"a weather file with source {source}")]
        resolved = Path(str(file)) if Path(str(file)).is_absolute() else path.parent / str(file)
        if not resolved.is_file():
            return [
                Problem(path, "weather.file", file, f"an existing file (looked for {resolved})")
            ]
    elif source == "try2010" and file is not None:
        return [
            Problem(path, "weather.file", file, "no file with source try2010 (or source epw/tmy3)")
        ]
    return []


def _grid_info(grid: Any, path: Path) -> tuple[frozenset[str], frozenset[int]] | None:
    """Household load names and bus ids of the scenario's grid (None if it cannot load)."""
    if not isinstance(grid, dict):
        return None
    try:
        if isinstance(grid.get("simbench_code"), str):
            return _simbench_info(grid["simbench_code"])
        if isinstance(grid.get("pandapower_json"), str):
            import pandapower as pp

            js = Path(grid["pandapower_json"])
            return _net_info(pp.from_json(str(js if js.is_absolute() else path.parent / js)))
    except Exception:  # an unloadable grid is reported by the grid checks
        return None
    return None


@cache
def _simbench_info(code: str) -> tuple[frozenset[str], frozenset[int]]:
    from pedsim.gridmodel import simbench_net  # here: gridmodel imports the scenario

    return _net_info(simbench_net(code))


def _net_info(net: Any) -> tuple[frozenset[str], frozenset[int]]:
    load = net.load
    profile = load.profile if "profile" in load.columns else load.name.map(lambda _: "")
    house = load.in_service.astype(bool) & profile.astype(str).str.startswith("H")
    return frozenset(load.name[house].astype(str)), frozenset(int(b) for b in net.bus.index)
