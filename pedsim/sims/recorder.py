"""Recorder simulator: hands every connected series to the results writer each step."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pedsim.sims.base import PedsimSimulator


class RecorderSim(PedsimSimulator):
    """Accepts any inputs and appends them to a :class:`pedsim.results.ResultsWriter`.

    Simulator parameter ``writer``: the open results writer (in-process object).
    """

    MODEL: ClassVar[str] = "Recorder"

    def __init__(self) -> None:
        super().__init__()
        self.meta["models"]["Recorder"]["any_inputs"] = True

    def setup(self, *, writer: Any) -> None:
        """Keep the writer."""
        self.writer = writer

    def advance(self, time: int, inputs: Mapping[str, Mapping[str, Any]]) -> None:
        """Append the step's values: one row per series."""
        self.writer.append(
            time, {(src, attr): v for attr, by_src in inputs.items() for src, v in by_src.items()}
        )
        self.outputs = {}
