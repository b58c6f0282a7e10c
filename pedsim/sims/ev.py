"""EV simulator: a whole EV fleet as one mosaik entity, stepped by the vectorised EVFleet.

Charging physics, modes and sessions are those of :class:`pedsim.physics.ev.EVFleet`
(arrivals and departures inside a step are handled there without losing energy); this
module only adapts it to mosaik: one step of the fleet per mosaik step, outputs per EV and
per grid bus.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from pedsim.physics.ev import EVFleet, EVParameterError
from pedsim.sims.base import PedsimSimulator, SimulationError, sum_inputs


class EVSim(PedsimSimulator):
    """One entity ``fleet`` holding every EV of the district.

    Entity parameters: ``fleet`` (an :class:`~pedsim.physics.ev.EVFleet` whose session
    times are seconds from the scenario start, ``t_s = 0``), ``bus_pos`` (grid-bus position
    of each EV's charge point) and ``n_bus``.

    Input ``p_ev_set_kw`` (optional, from a controller): mean AC power per EV for the step
    (+ charging), followed by EVs in ``controlled``/``v2g`` mode within what is feasible and
    what their departure still needs. Without it (or where it is NaN) each EV behaves as
    its mode does locally: ``uncontrolled`` and ``delayed`` EVs never take set-points,
    ``controlled``/``v2g`` EVs charge just enough to meet their departure (the step-wise
    ``delayed``). Several connected set-point sources are summed.

    Outputs per EV: ``p_kw`` (load convention: + charging), ``soc`` (end of step),
    ``plugged`` (plugged-in fraction of the step), ``e_required_kwh`` (stored energy still
    needed at the end of the step by the session then plugged in), ``e_unmet_kwh`` (missing
    at departures in the step) and ``n_departures``; per bus ``p_bus_kw`` and ``q_bus_kvar``
    (charging at unity power factor: zero).
    """

    MODEL: ClassVar[str] = "EVFleet"
    EID: ClassVar[str] = "fleet"
    PARAMS: ClassVar[list[str]] = ["fleet", "bus_pos", "n_bus"]
    INPUTS: ClassVar[list[str]] = ["p_ev_set_kw"]
    OUTPUTS: ClassVar[list[str]] = [
        "p_kw",
        "soc",
        "plugged",
        "e_required_kwh",
        "e_unmet_kwh",
        "n_departures",
        "p_bus_kw",
        "q_bus_kvar",
    ]

    def create_entity(self, *, fleet: EVFleet, bus_pos: np.ndarray, n_bus: int) -> None:
        """Keep the fleet and where its EVs are connected (see class docstring)."""
        self.fleet = fleet
        self.bus_pos = np.asarray(bus_pos, dtype=np.int64)
        self.n_bus = int(n_bus)
        if self.bus_pos.shape != (fleet.n_ev,):
            raise ValueError(
                f"{self.sid}: bus_pos has shape {self.bus_pos.shape}; expected ({fleet.n_ev},)"
            )
        if self.bus_pos.size and (self.bus_pos.min() < 0 or self.bus_pos.max() >= self.n_bus):
            raise ValueError(f"{self.sid}: bus_pos outside 0 ... {self.n_bus - 1}")
        if fleet.t_s != 0.0:
            raise ValueError(f"{self.sid}: the fleet must start at t_s = 0 (got {fleet.t_s})")
        self.q_bus = np.zeros(self.n_bus)
        if self.step_s > 0:
            fleet._advance(self.step_s, None)  # compile or load the kernel now, not in a step

    def save_state(self) -> tuple[float, np.ndarray, np.ndarray]:
        """Return the fleet time, stored energies and session state before the step."""
        return self.fleet.get_state()

    def restore_state(self, state: tuple[float, np.ndarray, np.ndarray]) -> None:
        """Put back what :meth:`save_state` returned."""
        self.fleet.set_state(state)

    def advance(self, time: int, inputs: Mapping[str, Mapping[str, Any]]) -> None:
        """Step the fleet over ``[time, time + step)``."""
        if time != self.fleet.t_s:
            raise SimulationError(
                f"{self.sid}: asked for {self.when(time)} but the fleet is at "
                f"{self.when(int(self.fleet.t_s))}"
            )
        p_set = None
        if inputs.get("p_ev_set_kw"):
            p_set = sum_inputs(inputs["p_ev_set_kw"], self.fleet.n_ev)
            p_set[np.isnan(p_set)] = 0.0  # NaN: no set-point for that EV
        try:
            out, bad = self.fleet.step_arrays(self.step_s, p_set)
        except EVParameterError as exc:
            raise SimulationError(f"{self.sid}: at {self.when(time)}: {exc}") from exc
        if bad >= 0:
            raise SimulationError(f"{self.sid}: non-finite power of EV {bad} at {self.when(time)}")
        p_kw = out[0]
        self.outputs = {
            "p_kw": p_kw,
            "soc": out[1],
            "plugged": out[2],
            "e_required_kwh": out[3],
            "e_unmet_kwh": out[4],
            "n_departures": out[5],
            "p_bus_kw": np.bincount(self.bus_pos, p_kw, self.n_bus),
            "q_bus_kvar": self.q_bus,
        }
