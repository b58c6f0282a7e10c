"""Typed scenario schema (pydantic): what a scenario YAML file may contain.

Durations are given as pandas/ISO 8601 strings (``15min``, ``7 days``, ``P7D``,
``PT15M``), as whole seconds, or, for ``duration`` only, as calendar years (``1y``).
Timestamps are naive, in the clock of the input data (SimBench: 2016, standard time).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
from pydantic import BeforeValidator, Field, PrivateAttr

from pedsim.scenario.control import ControlConfig
from pedsim.scenario.flex import EVConfig, StorageConfig
from pedsim.scenario.schema_base import StrictModel
from pedsim.scenario.thermal import BuildingsConfig, PVConfig, WeatherConfig

_YEARS = re.compile(r"^\s*(\d+)\s*(y|yr|year|years)\s*$", re.IGNORECASE)


def parse_seconds(value: object) -> int:
    """Parse a duration into whole seconds.

    Parameters
    ----------
    value : object
        An ``int`` (seconds), or a string understood by :class:`pandas.Timedelta`
        (``"15min"``, ``"1 day"``, ``"PT15M"``).

    Returns
    -------
    int
        The duration in seconds (may be zero or negative; range checks are separate).

    Raises
    ------
    ValueError
        If the value is not a duration or not a whole number of seconds.
    """
    if isinstance(value, bool):
        raise ValueError("a duration such as '15min', '7 days', 'PT15M' or whole seconds")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, str):
        raise ValueError("a duration such as '15min', '7 days', 'PT15M' or whole seconds")
    try:
        td = pd.Timedelta(value)
    except (ValueError, TypeError):
        raise ValueError("a duration such as '15min', '7 days', 'PT15M' or whole seconds") from None
    if pd.isna(td):
        raise ValueError("a duration, not NaT")
    seconds = td.total_seconds()
    if not float(seconds).is_integer():
        raise ValueError("a whole number of seconds")
    return int(seconds)


def parse_duration(value: object) -> int | str:
    """Parse a period length: :func:`parse_seconds` forms or calendar years (``"1y"``).

    Parameters
    ----------
    value : object
        The value as given.

    Returns
    -------
    int or str
        Seconds, or the normalised years string.
    """
    if isinstance(value, str) and _YEARS.match(value):
        return value.strip().lower()
    return parse_seconds(value)


Seconds = Annotated[int, BeforeValidator(parse_seconds)]
Duration = Annotated[int | str, BeforeValidator(parse_duration)]


class GridConfig(StrictModel):
    """The low-voltage grid: a SimBench code or a pandapower JSON file (exactly one)."""

    simbench_code: str | None = Field(
        None, description="SimBench grid code, e.g. '1-LV-urban6--0-sw'."
    )
    pandapower_json: Path | None = Field(
        None,
        description="pandapower net saved with pandapower.to_json, carrying SimBench-format "
        "profiles (net.profiles); relative to the scenario file.",
    )


class ProfilesConfig(StrictModel):
    """Where the loads' and PV plants' time series come from."""

    source: Literal["simbench"] = Field(
        "simbench", description="SimBench profiles of the grid (15-min, year 2016)."
    )
    load_scaling: float = Field(1.0, ge=0.0, description="Factor on every load profile.")
    pv_scaling: float = Field(1.0, ge=0.0, description="Factor on every PV profile.")


class OutputConfig(StrictModel):
    """Where and how results are written."""

    path: Path = Field(
        Path("results/{name}.h5"),
        description="Results file; '{name}' is replaced by the scenario name; relative to "
        "the working directory.",
    )
    chunk_steps: int = Field(
        672, gt=0, description="Steps buffered in memory between writes to the file."
    )


class SimulationConfig(StrictModel):
    """How mosaik steps the co-simulation."""

    lazy_stepping: bool = Field(True, description="mosaik's lazy stepping (see README).")


class Scenario(StrictModel):
    """A pedsim scenario: one co-simulation run, fully specified."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="Run name (file-name safe).")
    description: str = ""
    seed: int = Field(ge=0, description="Seed of every random draw in the run.")
    start: datetime = Field(description="First step, e.g. 2016-01-01T00:00:00 (naive).")
    duration: Duration | None = Field(
        None, description="Simulated period ('7 days', '1y', ...); or give 'end'."
    )
    end: datetime | None = Field(None, description="End of the period (exclusive).")
    step: Seconds = Field(900, description="Step size ('15min', 900, ...).")
    grid: GridConfig
    profiles: ProfilesConfig = ProfilesConfig()
    output: OutputConfig = OutputConfig()
    simulation: SimulationConfig = SimulationConfig()
    weather: WeatherConfig = WeatherConfig()
    pv: PVConfig = PVConfig()
    buildings: BuildingsConfig | None = Field(
        None, description="Thermal buildings with heat pumps (absent: none)."
    )
    ev: EVConfig | None = Field(None, description="EV fleet (absent: none).")
    storage: StorageConfig | None = Field(None, description="Batteries (absent: none).")
    control: ControlConfig | None = Field(None, description="District controller (absent: none).")

    _source_path: Path | None = PrivateAttr(None)
    _source_text: str = PrivateAttr("")

    @property
    def source_path(self) -> Path | None:
        """The scenario file this scenario was loaded from, if any."""
        return self._source_path

    @property
    def source_text(self) -> str:
        """The scenario file's text exactly as given."""
        return self._source_text

    @property
    def start_ts(self) -> pd.Timestamp:
        """Start as a pandas timestamp."""
        return pd.Timestamp(self.start)

    @property
    def end_ts(self) -> pd.Timestamp:
        """End (exclusive) as a pandas timestamp."""
        return resolve_end(self.start_ts, self.duration, self.end)

    @property
    def n_steps(self) -> int:
        """Number of steps in the period."""
        return int((self.end_ts - self.start_ts).total_seconds()) // self.step

    @property
    def output_path(self) -> Path:
        """The results path with ``{name}`` substituted."""
        return Path(str(self.output.path).replace("{name}", self.name))


def resolve_end(
    start: pd.Timestamp, duration: int | str | None, end: datetime | None
) -> pd.Timestamp:
    """Return the exclusive end of the period.

    Parameters
    ----------
    start : pandas.Timestamp
        First step.
    duration : int or str or None
        Seconds, or calendar years as ``"<n>y"``.
    end : datetime or None
        Explicit end, used when ``duration`` is None.

    Returns
    -------
    pandas.Timestamp
        The end of the period.
    """
    if duration is None:
        if end is None:
            raise ValueError("either duration or end is required")
        return pd.Timestamp(end)
    if isinstance(duration, str):
        match = _YEARS.match(duration)
        if match is None:
            raise ValueError(f"not a duration: {duration!r}")
        return start + pd.DateOffset(years=int(match.group(1)))
    return start + pd.Timedelta(seconds=duration)
