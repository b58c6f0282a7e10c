"""Scenario errors: every problem of a scenario file, reported together."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One problem in a scenario file.

    Parameters
    ----------
    file : Path
        The scenario file.
    field : str
        Dotted field path, e.g. ``"grid.simbench_code"`` (``"<root>"`` for the whole file).
    value : object
        The offending value as given.
    expected : str
        What was expected instead.
    """

    file: Path
    field: str
    value: object
    expected: str

    def __str__(self) -> str:
        value = "<missing>" if self.value is _MISSING else repr(self.value)
        return f"{self.file}: {self.field}: got {value}; expected {self.expected}"


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING = _Missing()
MISSING: object = _MISSING


class ScenarioError(ValueError):
    """A scenario file has one or more problems; ``problems`` lists all of them."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in scenario"
        super().__init__(head + ":\n" + "\n".join(f"  - {p}" for p in self.problems))
