"""Scenario sections for weather, PV plants and thermal buildings with heat pumps."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from pedsim.scenario.errors import Problem
from pedsim.scenario.schema_base import StrictModel


class WeatherConfig(StrictModel):
    """Weather driving PV and buildings."""

    source: Literal["try2010", "epw", "tmy3"] = Field(
        "try2010", description="DWD test reference year 2010 (demandlib), or a user file."
    )
    try_region: int = Field(4, ge=1, le=15, description="TRY2010 region (4: Potsdam).")
    file: Path | None = Field(None, description="EPW/TMY3 file, relative to the scenario.")


class PVConfig(StrictModel):
    """Where PV output comes from."""

    source: Literal["simbench", "pvlib"] = Field(
        "simbench", description="SimBench profiles, or pvlib from the scenario's weather."
    )


class BuildingsConfig(StrictModel):
    """Thermal buildings with heat pumps at the household loads."""

    archetypes: dict[str, float] = Field(
        default_factory=lambda: {"DE.N.SFH.08.Gen": 1.0},
        description="Archetype name -> share of the household loads.",
    )


def check_thermal(raw: dict[str, Any], path: Path) -> list[Problem]:
    """Cross-field checks of the thermal sections (run with all other scenario checks)."""
    del raw, path
    return []
