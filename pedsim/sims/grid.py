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
from numba import njit

from pedsim.physics.powerflow import FastPowerFlow, PowerFlowError
from pedsim.sims.base import PedsimSimulator, SimulationError, sum_inputs


@njit(cache=True)
def _first_nonfinite(values: tuple, live: tuple) -> int:
    """Index of the first array in ``values`` with a non-finite entry where ``live``, or -1."""
    for j in range(len(values)):
        x, m = values[j], live[j]
        for i in range(x.shape[0]):
            if m[i] and not np.isfinite(x[i]):
                return j
    return -1


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
        # every checked output, in the order of self.outputs, with its live mask
        sizes = {
            "vm_pu": self.n_bus, "va_degree": self.n_bus,
            "loading_line_percent": idle.line_loading_percent.size,
            "loading_trafo_percent": idle.trafo_loading_percent.size,
            "pl_line_kw": idle.line_pl_kw.size, "pl_trafo_kw": idle.trafo_pl_kw.size,
            "p_trafo_kw": idle.trafo_p_hv_kw.size, "q_trafo_kvar": idle.trafo_q_hv_kvar.size,
            "p_ext_grid_kw": idle.p_ext_grid_kw.size,
        }  # fmt: skip
        self._checked = tuple(sizes)
        self._live_masks = tuple(
            self.live.get(name, np.ones(size, dtype=bool)) for name, size in sizes.items()
        )
        _first_nonfinite(
            tuple(np.zeros(size) for size in sizes.values()), self._live_masks
        )  # compile or load now rather than in the first step

    def save_state(self) -> tuple[np.ndarray, int]:
        """Return the solver's warm start and the fallback count before the step."""
        return self.pf.warm_start, self.fallbacks

    def restore_state(self, state: tuple[np.ndarray, int]) -> None:
        """Put back what :meth:`save_state` returned.

        A repeated step solves from the same start, so its result does not depend on the
        passes before it.
        """
        self.pf.warm_start, self.fallbacks = state[0], state[1]

    def advance(self, time: int, inputs: Mapping[str, Mapping[str, Any]]) -> None:
        """Solve the power flow for the summed injections."""
        p = sum_inputs(inputs.get("p_kw", {}), self.n_bus)
        q = sum_inputs(inputs.get("q_kvar", {}), self.n_bus)
        if not np.isfinite(p.sum() + q.sum()):  # fast test; the loop names the culprit
            self._check_inputs(time, inputs, p, q)
        try:
            res = self.pf.solve(p, q)
        except PowerFlowError as exc:
            raise SimulationError(
                f"{self.sid}: power flow failed at {self.when(time)}: {exc.element}: {exc.detail}"
            ) from exc
        self.fallbacks += int(res.used_fallback)
        values = (
            res.vm_pu, res.va_degree, res.line_loading_percent, res.trafo_loading_percent,
            res.line_pl_kw, res.trafo_pl_kw, res.trafo_p_hv_kw, res.trafo_q_hv_kvar,
            res.p_ext_grid_kw,
        )  # fmt: skip
        bad = _first_nonfinite(values, self._live_masks)
        if bad >= 0 or not np.isfinite(res.p_loss_kw):
            name = self._checked[bad] if bad >= 0 else "p_loss_kw"
            raise SimulationError(
                f"{self.sid}: power-flow result {name} is not finite at {self.when(time)}"
            )
        self.outputs = dict(zip(self._checked, values, strict=True))
        self.outputs["p_loss_kw"] = float(res.p_loss_kw)

    def _check_inputs(
        self, time: int, inputs: Mapping[str, Mapping[str, Any]], p: np.ndarray, q: np.ndarray
    ) -> None:
        """Fail naming the bus and the sources of the first non-finite injection."""
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
