"""Recorder simulator: hands every connected series to the results writer each step."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, ClassVar

from pedsim.sims.base import RECORD_ATTR, PedsimSimulator


class RecorderSim(PedsimSimulator):
    """Accepts any inputs and appends them to a :class:`pedsim.results.ResultsWriter`.

    A value of attribute ``attr`` from source ``src`` is handed to the writer under key
    ``(src, attr)``; a :data:`~pedsim.sims.base.RECORD_ATTR` input (all outputs of a
    source in one dict) is unpacked into one such key per output.

    Simulator parameters: ``writer``, the open results writer (in-process object), and
    optionally ``stop``, a :class:`threading.Event`; once it is set, the recorder ends the
    run right after recording the current step.
    """

    MODEL: ClassVar[str] = "Recorder"

    def __init__(self) -> None:
        super().__init__()
        self.meta["models"]["Recorder"]["any_inputs"] = True

    def setup(self, *, writer: Any, stop: threading.Event | None = None) -> None:
        """Keep the writer and the stop request flag."""
        self.writer = writer
        self.stop = stop

    def advance(self, time: int, inputs: Mapping[str, Mapping[str, Any]]) -> None:
        """Append the step's values: one row per series."""
        values: dict[tuple[str, str], Any] = {}
        for attr, by_src in inputs.items():
            if attr == RECORD_ATTR:
                for src, outputs in by_src.items():
                    for name, v in outputs.items():
                        values[src, name] = v
            else:
                for src, v in by_src.items():
                    values[src, attr] = v
        self.writer.append(time, values)
        self.outputs = {}
        if self.stop is not None and self.stop.is_set():
            raise KeyboardInterrupt("stop requested after a recorded step")
