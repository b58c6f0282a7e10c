"""Scenario sections for EV fleets and batteries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from pedsim.scenario.errors import Problem
from pedsim.scenario.schema_base import StrictModel


class EVConfig(StrictModel):
    """An EV fleet with its chargers and plug-in sessions."""

    count: int = Field(0, ge=0, description="Number of EVs.")


class StorageConfig(StrictModel):
    """Home and community batteries."""

    community_kwh: float = Field(0.0, ge=0.0, description="Community battery capacity.")


def check_flex(raw: dict[str, Any], path: Path) -> list[Problem]:
    """Cross-field checks of the EV and storage sections (run with all other checks)."""
    del raw, path
    return []
