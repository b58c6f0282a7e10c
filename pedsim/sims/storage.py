"""Storage simulator: every battery of the district as one mosaik entity.

Battery physics (power limits, efficiencies, SoC window, self-discharge, clipping of
set-points to what is feasible) is :class:`pedsim.physics.battery.Battery`; this module
decides the set-points and adapts the model to mosaik.

Set-points, per battery and step:

1. a controller's ``p_bat_set_kw`` where given (not NaN);
2. otherwise, for batteries in ``self_consumption`` control:

   * a **home** battery maximises self-consumption at its own bus: it charges from the
     bus's surplus and discharges to cover its deficit
     (:func:`~pedsim.physics.battery.self_consumption_setpoint`), where the bus's net power
     is the sum of the ``p_net_bus_kw`` inputs (the per-bus power of every other unit:
     loads, PV, heat pumps, EVs) at that bus; several home batteries at one bus share it in
     proportion to their capacities;
   * a **community** battery does the same for the whole district: the net power summed
     over all buses, including what the other batteries take in this step;

3. otherwise (``idle``) zero, apart from the small charge that holds ``soc_min`` against
   self-discharge.

The net power is that of the same step; the storage reads only the units, never the grid,
so there is no same-time cycle (units -> storage -> grid).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from pedsim.physics.battery import Battery, self_consumption_setpoint
from pedsim.physics.battery_kernel import storage_step
from pedsim.sims.base import PedsimSimulator, SimulationError, sum_inputs


class StorageSim(PedsimSimulator):
    """One entity ``batteries`` holding every battery (see the module docstring).

    Entity parameters: ``battery`` (a :class:`~pedsim.physics.battery.Battery` with all
    units), ``community`` (bool per unit: community rather than home battery), ``local``
    (bool per unit: self-consumption control without a set-point, else idle), ``bus_pos``
    (grid-bus position of each unit) and ``n_bus``.

    Inputs: ``p_net_bus_kw`` (per-bus power of the other units, summed over sources) and
    ``p_bat_set_kw`` (optional controller set-point per battery, + charging; NaN: none).

    Outputs per battery: ``p_kw`` (power actually delivered, load convention: + charging),
    ``soc`` (end of step), ``e_throughput_kwh`` (cumulative cell-side energy charged plus
    discharged) and ``efc`` (cumulative equivalent full cycles); per bus ``p_bus_kw`` and
    ``q_bus_kvar`` (zero: unity power factor).
    """

    MODEL: ClassVar[str] = "Storage"
    EID: ClassVar[str] = "batteries"
    PARAMS: ClassVar[list[str]] = ["battery", "community", "local", "bus_pos", "n_bus"]
    INPUTS: ClassVar[list[str]] = ["p_net_bus_kw", "p_bat_set_kw"]
    OUTPUTS: ClassVar[list[str]] = [
        "p_kw",
        "soc",
        "e_throughput_kwh",
        "efc",
        "p_bus_kw",
        "q_bus_kvar",
    ]

    def create_entity(
        self,
        *,
        battery: Battery,
        community: np.ndarray,
        local: np.ndarray,
        bus_pos: np.ndarray,
        n_bus: int,
    ) -> None:
        """Keep the batteries and their roles (see class docstring)."""
        n = battery.n
        self.battery = battery
        self.community = np.broadcast_to(np.asarray(community, dtype=bool), (n,)).copy()
        self.local = np.broadcast_to(np.asarray(local, dtype=bool), (n,)).copy()
        self.bus_pos = np.asarray(bus_pos, dtype=np.int64)
        self.n_bus = int(n_bus)
        if self.bus_pos.shape != (n,):
            raise ValueError(f"{self.sid}: bus_pos has shape {self.bus_pos.shape}; expected ({n},)")
        if self.bus_pos.min() < 0 or self.bus_pos.max() >= self.n_bus:
            raise ValueError(f"{self.sid}: bus_pos outside 0 ... {self.n_bus - 1}")
        self.q_bus = np.zeros(self.n_bus)
        self._no_setpoints = self._roles(np.zeros(n, dtype=bool))
        self._no_ctl = np.full(n, np.nan)
        # parameter-only terms of the compiled step (storage_step)
        self._dt_h = float(self.step_s) / 3600.0
        b = battery
        self._par = np.vstack((
            b.capacity_kwh, b.p_charge_max_kw, b.p_discharge_max_kw, b.eta_charge,
            b.eta_discharge, b.soc_min, b.soc_max, *b._decay(self._dt_h),
        ))  # fmt: skip
        self._roles_int = np.vstack((self.local, self.community, self.bus_pos)).astype(np.int64)
        # compile or load the kernel now rather than in the first step
        e, thr = b.e_kwh, b.throughput_total_kwh
        storage_step(self.q_bus, self._no_ctl, e, thr, self._par, self._roles_int, self._dt_h)

    def _roles(self, has_set: np.ndarray) -> tuple[np.ndarray, ...]:
        """Self-consumption units without a set-point: indices, buses and capacity shares."""
        cap = self.battery.capacity_kwh
        home = np.flatnonzero(self.local & ~self.community & ~has_set)
        pos = self.bus_pos[home]
        home_share = cap[home] / np.bincount(pos, cap[home], self.n_bus)[pos]
        comm = np.flatnonzero(self.local & self.community & ~has_set)
        others = np.ones(self.battery.n, dtype=bool)
        others[comm] = False
        return home, pos, home_share, comm, cap[comm] / cap[comm].sum(), others

    def setpoints(self, net_bus_kw: np.ndarray, p_set_kw: np.ndarray | None) -> np.ndarray:
        """Set-points of the step (before the battery clips them), kW, + charging.

        Parameters
        ----------
        net_bus_kw : numpy.ndarray
            Net power per bus of the other units, load convention.
        p_set_kw : numpy.ndarray or None
            Controller set-points (NaN: none), or None without a controller.

        Returns
        -------
        numpy.ndarray
            One set-point per battery.
        """
        b = self.battery
        if p_set_kw is None:
            p_set = np.zeros(b.n)
            home, pos, home_share, comm, comm_share, others = self._no_setpoints
        else:
            ctl = np.asarray(p_set_kw, dtype=float)
            has_set = ~np.isnan(ctl)
            p_set = np.where(has_set, ctl, 0.0)
            home, pos, home_share, comm, comm_share, others = self._roles(has_set)
        if home.size:
            p_set[home] = self_consumption_setpoint(
                net_bus_kw[pos] * home_share, b.p_charge_max_kw[home], b.p_discharge_max_kw[home]
            )
        if comm.size:
            p_min, p_max = b.feasible_power_kw(self.step_s)
            p_others = np.clip(p_set[others], p_min[others], p_max[others]).sum()
            p_set[comm] = self_consumption_setpoint(
                (net_bus_kw.sum() + p_others) * comm_share,
                b.p_charge_max_kw[comm],
                b.p_discharge_max_kw[comm],
            )
        return p_set

    def save_state(self) -> tuple[np.ndarray, np.ndarray]:
        """Return stored energy and throughput before the step (to repeat it)."""
        b = self.battery
        return b.e_kwh.copy(), np.array(b.throughput_total_kwh, copy=True)

    def restore_state(self, state: tuple[np.ndarray, np.ndarray]) -> None:
        """Put back what :meth:`save_state` returned."""
        self.battery.e_kwh, self.battery.throughput_total_kwh = (a.copy() for a in state)

    def advance(self, time: int, inputs: Mapping[str, Mapping[str, Any]]) -> None:
        """Decide set-points and step the batteries over ``[time, time + step)``."""
        net = sum_inputs(inputs.get("p_net_bus_kw", {}), self.n_bus)
        ctl = self._no_ctl
        if inputs.get("p_bat_set_kw"):
            ctl = sum_inputs(inputs["p_bat_set_kw"], self.battery.n)
        # the compiled form of setpoints() followed by Battery.step (identical results)
        b = self.battery
        out, p_bus, bad = storage_step(
            net, ctl, b.e_kwh, b.throughput_total_kwh, self._par, self._roles_int, self._dt_h
        )
        if bad >= 0:
            raise SimulationError(
                f"{self.sid}: net power at bus position {bad} is not finite at {self.when(time)}"
            )
        b.e_kwh, b.throughput_total_kwh = out[2], out[3]
        self.outputs = {
            "p_kw": out[0],
            "soc": out[1],
            "e_throughput_kwh": out[3],
            "efc": out[4],
            "p_bus_kw": p_bus,
            "q_bus_kvar": self.q_bus,
        }
