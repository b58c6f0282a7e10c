"""Profile simulator: loads or PV plants replayed from precomputed step means."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from pedsim.sims.base import PedsimSimulator, SimulationError


class ProfileSim(PedsimSimulator):
    """Replays per-unit P and Q series and aggregates them per grid bus.

    Entity parameters: ``p_kw`` and ``q_kvar`` (arrays ``(n_steps, n_units)``, load
    convention), ``bus_pos`` (grid-bus position of each unit) and ``n_bus``.
    """

    MODEL: ClassVar[str] = "Profile"
    PARAMS: ClassVar[list[str]] = ["p_kw", "q_kvar", "bus_pos", "n_bus"]
    OUTPUTS: ClassVar[list[str]] = ["p_kw", "q_kvar", "p_bus_kw", "q_bus_kvar"]

    def create_entity(
        self, *, p_kw: np.ndarray, q_kvar: np.ndarray, bus_pos: np.ndarray, n_bus: int
    ) -> None:
        """Store the series (see class docstring)."""
        self.p = np.asarray(p_kw, dtype=float)
        self.q = np.asarray(q_kvar, dtype=float)
        self.bus_pos = np.asarray(bus_pos, dtype=np.int64)
        self.n_bus = int(n_bus)
        if self.p.shape != self.q.shape or self.p.shape[1:] != self.bus_pos.shape:
            raise ValueError(f"{self.sid}: p_kw, q_kvar and bus_pos shapes do not match")

    def advance(self, time: int, inputs: Mapping[str, Mapping[str, Any]]) -> None:
        """Look up the step's values."""
        k = time // self.step_s
        if k >= self.p.shape[0]:
            raise SimulationError(f"{self.sid}: no profile data for step {self.when(time)}")
        p, q = self.p[k], self.q[k]
        if not (np.isfinite(p).all() and np.isfinite(q).all()):
            bad = int(np.flatnonzero(~(np.isfinite(p) & np.isfinite(q)))[0])
            raise SimulationError(
                f"{self.sid}: non-finite power of unit {bad} at {self.when(time)}"
            )
        self.outputs = {
            "p_kw": p,
            "q_kvar": q,
            "p_bus_kw": np.bincount(self.bus_pos, p, self.n_bus),
            "q_bus_kvar": np.bincount(self.bus_pos, q, self.n_bus),
        }
