"""Grid simulator: AC power flow of a pandapower net, every step.

Inputs are per-bus P and Q arrays (load convention) from any number of connected
entities, summed.  The power flow is :class:`pedsim.physics.powerflow.FastPowerFlow`
(pandapower's admittance model, factorised once, warm-started), which falls back to
``pandapower.runpp`` when it does not converge.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from pedsim.physics.powerflow import FastPowerFlow, PowerFlowError
from pedsim.sims.base import PedsimSimulator, SimulationError, sum_inputs


class GridSim(PedsimSimulator):
    """One entity ``grid`` carrying the whole net's state.

    Simulator parameter ``net``: the pandapower net (its own load/sgen set-points are
    ignored; the connected entities provide all injections).
    """

    MODEL: ClassVar[str] = "Grid"
    INPUTS: ClassVar[list[str]] = ["p_kw", "q_kvar"]
    OUTPUTS: ClassVar[list[str]] = [
        "vm_pu",
        "va_degree",
        "loading_line_percent",
        "loading_trafo_percent",
        "pl_line_kw",
        "pl_trafo_kw",
        "p_trafo_kw",
        "q_trafo_kvar",
        "p_ext_grid_kw",
        "p_loss_kw",
    ]

    def setup(self, *, net: Any) -> None:
        """Build the power-flow model of ``net``."""
        self.net = net
        self.pf = FastPowerFlow(net)
        self.n_bus = len(self.pf.bus_index)
        self.bus_names = net.bus.name.reindex(self.pf.bus_index).astype(str).to_numpy()
        self.fallbacks = 0
        # Buses and branches without supply (isolated or out of service) give NaN results,
        # as in pandapower; a NaN anywhere else means the power flow went wrong.
        idle = self.pf.solve(np.zeros(self.n_bus), np.zeros(self.n_bus))
        self.live = {
            "vm_pu": np.isfinite(idle.vm_pu),
            "va_degree": np.isfinite(idle.va_degree),
            "loading_line_percent": np.isfinite(idle.line_loading_percent),
            "pl_line_kw": np.isfinite(idle.line_pl_kw),
            "loading_trafo_percent": np.isfinite(idle.trafo_loading_percent),
            "pl_trafo_kw": np.isfinite(idle.trafo_pl_kw),
        }

    def advance(self, time: int, inputs: Mapping[str, Mapping[str, Any]]) -> None:
        """Solve the power flow for the summed injections."""
        p = sum_inputs(inputs.get("p_kw", {}), self.n_bus)
        q = sum_inputs(inputs.get("q_kvar", {}), self.n_bus)
        for name, arr in (("p_kw", p), ("q_kvar", q)):
            src = inputs.get(name, {})
            if not np.isfinite(arr).all():
                pos = int(np.flatnonzero(~np.isfinite(arr))[0])
                culprits = [s for s, v in src.items() if not np.isfinite(v[pos])]
                raise SimulationError(
                    f"{self.sid}: {name} at bus {self.pf.bus_index[pos]} "
                    f"({self.bus_names[pos]}) is not finite at {self.when(time)} "
                    f"(from {', '.join(culprits)})"
                )
        try:
            res = self.pf.solve(p, q)
        except PowerFlowError as exc:
            raise SimulationError(
                f"{self.sid}: power flow failed at {self.when(time)}: {exc.element}: {exc.detail}"
            ) from exc
        self.fallbacks += int(res.used_fallback)
        out = {
            "vm_pu": res.vm_pu,
            "va_degree": res.va_degree,
            "loading_line_percent": res.line_loading_percent,
            "loading_trafo_percent": res.trafo_loading_percent,
            "pl_line_kw": res.line_pl_kw,
            "pl_trafo_kw": res.trafo_pl_kw,
            "p_trafo_kw": res.trafo_p_hv_kw,
            "q_trafo_kvar": res.trafo_q_hv_kvar,
            "p_ext_grid_kw": res.p_ext_grid_kw,
            "p_loss_kw": float(res.p_loss_kw),
        }
        for name, value in out.items():
            checked = np.asarray(value)
            if name in self.live:
                checked = checked[self.live[name]]
            if not np.isfinite(checked).all():
                raise SimulationError(
                    f"{self.sid}: power-flow result {name} is not finite at {self.when(time)}"
                )
        self.outputs = out
