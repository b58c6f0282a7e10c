"""PV simulator: AC output of all PV plants of the district from weather, with pvlib.

PV plants have no state, so the whole period is computed once when the entity is created
(:func:`pedsim.physics.pv.pv_ac_power_kw`, PVWatts v5 chain) and replayed step by step.
The weather may be finer than the step (``n_sub`` intervals per step): the power is then
computed on the fine intervals and averaged, so that the value at step t is the mean over
``[t, t + step)`` also for long steps. Output is at unity power factor (Q = 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from pedsim.physics.pv import PVPlants, pv_ac_power_kw
from pedsim.physics.weather import Site
from pedsim.sims.base import PedsimSimulator, SimulationError


class PVSim(PedsimSimulator):
    """One entity for all plants; per-plant and per-bus power in the load convention.

    Entity parameters
    -----------------
    weather : pandas.DataFrame
        pvlib columns ``ghi, dni, dhi, temp_air, wind_speed`` on a tz-aware index that
        starts at mosaik time 0; row i is the mean over its interval of
        ``step_s / n_sub`` seconds.
    site : Site
        Location of the plants.
    plants : PVPlants
        The plants (kWp, tilt, azimuth, losses, inverter, temperature model).
    bus_pos : numpy.ndarray
        Grid-bus position of each plant.
    n_bus : int
        Number of grid buses.
    n_sub : int
        Weather intervals per step.
    transposition_model : str
        Sky-diffuse model (``perez``, ``haydavies``, ``isotropic``).
    albedo : float
        Ground reflectance.

    Outputs: ``p_kw`` and ``q_kvar`` per plant (generation negative), ``p_bus_kw`` and
    ``q_bus_kvar`` per grid bus.
    """

    MODEL: ClassVar[str] = "PV"
    PARAMS: ClassVar[list[str]] = [
        "weather",
        "site",
        "plants",
        "bus_pos",
        "n_bus",
        "n_sub",
        "transposition_model",
        "albedo",
    ]
    OUTPUTS: ClassVar[list[str]] = ["p_kw", "q_kvar", "p_bus_kw", "q_bus_kvar"]

    def create_entity(
        self,
        *,
        weather: pd.DataFrame,
        site: Site,
        plants: PVPlants,
        bus_pos: np.ndarray,
        n_bus: int,
        n_sub: int = 1,
        transposition_model: str = "perez",
        albedo: float = 0.25,
    ) -> None:
        """Compute the AC output of every plant over the whole period."""
        n_sub = int(n_sub)
        if n_sub < 1 or self.step_s % n_sub:
            raise ValueError(f"{self.sid}: n_sub={n_sub}; expected a divisor of {self.step_s}")
        if len(weather) % n_sub:
            raise ValueError(
                f"{self.sid}: {len(weather)} weather rows; expected a multiple of n_sub={n_sub}"
            )
        self.bus_pos = np.asarray(bus_pos, dtype=np.int64)
        self.n_bus = int(n_bus)
        if self.bus_pos.shape != (plants.n,):
            raise ValueError(f"{self.sid}: bus_pos has shape {self.bus_pos.shape}; "
                             f"expected ({plants.n},), one per plant")  # fmt: skip
        p_ac = pv_ac_power_kw(
            weather,
            site.latitude_deg,
            site.longitude_deg,
            site.altitude_m,
            plants,
            transposition_model=transposition_model,
            albedo=albedo,
            dt_s=self.step_s / n_sub,
        )
        self.p = -p_ac.reshape(-1, n_sub, plants.n).mean(axis=1)  # load convention
        self.p_kwp = plants.p_kwp.copy()

    def advance(self, time: int, inputs: Mapping[str, Mapping[str, Any]]) -> None:
        """Look up the step's power."""
        k = time // self.step_s
        if k >= self.p.shape[0]:
            raise SimulationError(f"{self.sid}: no weather for step {self.when(time)}")
        p = self.p[k]
        if not np.isfinite(p).all():
            bad = int(np.flatnonzero(~np.isfinite(p))[0])
            raise SimulationError(
                f"{self.sid}: non-finite power of plant {bad} at {self.when(time)} "
                "(weather missing?)"
            )
        q = np.zeros_like(p)
        self.outputs = {
            "p_kw": p,
            "q_kvar": q,
            "p_bus_kw": np.bincount(self.bus_pos, p, self.n_bus),
            "q_bus_kvar": np.zeros(self.n_bus),
        }
