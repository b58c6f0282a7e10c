"""Building simulator: 5R1C zones heated by heat pumps, all buildings in one entity.

Each building is an EN ISO 13790 5R1C zone (:mod:`pedsim.physics.building`) with a heat
pump (:mod:`pedsim.physics.heatpump`, optional hot water and buffer tank). Within a step
the model runs on sub-steps of ``step_s / n_sub`` seconds, each with its own weather and
gains (the driving series are given at the sub-step resolution), so results do not
depend on the step size except through the controller inputs, held over the step.

Coupling in every sub-step:

1. the zone is stepped with unlimited heating to find the heat needed to hold the set
   point (``t_set_heat + t_set_offset_k``, ISO 13790 C.4.2 ideal heating; no cooling);
2. the heat pumps step with that space-heating demand and the hot-water demand (hot water
   first, then space heating, within the thermal rating and the electric limit
   ``min(p_el_max, p_hp_cap_kw)``);
3. where the heat pump delivered less, the zone is stepped again with heating limited to
   what was delivered; the shortfall is reported as unmet heat.

Space heat delivered to the zone equals the heat pump's space-heating output (from the
buffer tank where there is one) exactly. The zone's energy balance
``q_heat + phi_int + phi_sol = losses + C_m dθ_m/dt`` is checked every step (1e-6
relative). Reactive power is ``P tan(arccos(cos_phi))``, inductive (positive, load
convention); ``cos_phi = 1`` gives none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from pedsim.physics.building import RC5Params
from pedsim.physics.heatpump import HeatPumpFleet, HeatPumpParams
from pedsim.physics.zone_kernel import ZoneKernel
from pedsim.sims.base import PedsimSimulator, SimulationError, sum_inputs

#: Energy-balance residual allowed per step, relative to the largest term.
BALANCE_RTOL = 1e-6
#: Steps whose heat-pump operating points (weather only) are computed at once.
CHUNK_STEPS = 672


class BuildingSim(PedsimSimulator):
    """One entity for N buildings (zone + heat pump each).

    Entity parameters
    -----------------
    zones : RC5Params
        5R1C networks of the N zones; ``t_set_heat_degc`` is the base heating set point,
        ``p_cool_max_w`` should be 0 (no cooling).
    heat_pumps : HeatPumpParams
        The N heat pumps.
    t_out_degc : array_like
        Outdoor temperature per sub-step, shape ``(n_fine,)`` with
        ``n_fine = n_steps * n_sub``.
    phi_int_w, phi_sol_w : array_like
        Internal and solar gains per sub-step and building, ``(n_fine, N)`` W.
    bus_pos : numpy.ndarray
        Grid-bus position of each building.
    n_bus : int
        Number of grid buses.
    n_sub : int
        Sub-steps per step.
    q_dhw_w : array_like
        Hot-water heat demand, W: scalar, ``(N,)`` or ``(n_fine, N)``.
    t_m0_degc : array_like, optional
        Initial mass temperature; default the heating set point.
    cos_phi : float
        Power factor of the heat pumps.

    Inputs ``t_set_offset_k`` (per building, summed over sources; default 0) and
    ``p_hp_cap_kw`` (per building, the lowest over sources; default none, ``inf`` or NaN
    for no cap). Outputs per building ``t_zone_degc`` (air), ``p_kw`` (heat-pump electric
    power), ``q_kvar``, ``q_heat_w`` (space heat delivered), ``q_dhw_w``, ``cop`` (heat out
    over electricity in during the step; the operating-point COP when off) and
    ``q_unmet_w``; per bus ``p_bus_kw`` and ``q_bus_kvar``; the step's outdoor temperature
    ``t_out_degc`` (scalar).
    """

    MODEL: ClassVar[str] = "Buildings"
    EID: ClassVar[str] = "buildings"
    PARAMS: ClassVar[list[str]] = [
        "zones",
        "heat_pumps",
        "t_out_degc",
        "phi_int_w",
        "phi_sol_w",
        "bus_pos",
        "n_bus",
        "n_sub",
        "q_dhw_w",
        "t_m0_degc",
        "cos_phi",
    ]
    INPUTS: ClassVar[list[str]] = ["t_set_offset_k", "p_hp_cap_kw"]
    OUTPUTS: ClassVar[list[str]] = [
        "t_zone_degc",
        "p_kw",
        "q_kvar",
        "q_heat_w",
        "q_dhw_w",
        "cop",
        "q_unmet_w",
        "t_mass_degc",
        "t_out_degc",
        "p_bus_kw",
        "q_bus_kvar",
    ]

    def create_entity(
        self,
        *,
        zones: RC5Params,
        heat_pumps: HeatPumpParams,
        t_out_degc: Any,
        phi_int_w: Any,
        phi_sol_w: Any,
        bus_pos: Any,
        n_bus: int,
        n_sub: int = 1,
        q_dhw_w: Any = 0.0,
        t_m0_degc: Any = None,
        cos_phi: float = 1.0,
    ) -> None:
        """Check the inputs and set the initial state (see class docstring)."""
        n = zones.n
        self.n_sub = int(n_sub)
        if self.n_sub < 1 or self.step_s % self.n_sub:
            raise ValueError(f"{self.sid}: n_sub={n_sub}; expected a divisor of {self.step_s}")
        if heat_pumps.n != n:
            raise ValueError(f"{self.sid}: {heat_pumps.n} heat pumps; expected {n}, one a zone")
        self.zones = zones
        self.fleet = HeatPumpFleet(heat_pumps)
        self.t_out = np.asarray(t_out_degc, dtype=float).reshape(-1)
        n_fine = self.t_out.size
        if n_fine % self.n_sub:
            raise ValueError(f"{self.sid}: {n_fine} sub-steps; expected a multiple of {n_sub}")
        self.n_steps = n_fine // self.n_sub
        shape = (n_fine, n)
        self.phi_int = self._series("phi_int_w", phi_int_w, shape)
        self.phi_sol = self._series("phi_sol_w", phi_sol_w, shape)
        self.q_dhw = self._series("q_dhw_w", q_dhw_w, shape)
        self.bus_pos = np.asarray(bus_pos, dtype=np.int64)
        if self.bus_pos.shape != (n,):
            raise ValueError(f"{self.sid}: bus_pos has shape {self.bus_pos.shape}; expected ({n},)")
        self.n_bus = int(n_bus)
        if not 0.0 < cos_phi <= 1.0:
            raise ValueError(f"{self.sid}: cos_phi={cos_phi}; expected 0 < cos_phi <= 1")
        self.tan_phi = float(np.tan(np.arccos(cos_phi)))
        t0 = zones.t_set_heat_degc if t_m0_degc is None else t_m0_degc
        self.t_m_degc = np.broadcast_to(np.asarray(t0, dtype=float), (n,)).copy()
        self.h_s = self.step_s / self.n_sub
        mid = self.start + pd.to_timedelta((np.arange(n_fine) + 0.5) * self.h_s, unit="s")
        frac = (mid - mid.normalize()).total_seconds().to_numpy() / 86400.0
        self.day_of_year = mid.dayofyear.to_numpy() + frac  # 1.0 = 1 January 00:00
        self.balance: dict[str, np.ndarray] = {}
        self.kernel = ZoneKernel(zones, self.h_s)
        self.t_out_step = self.t_out.reshape(self.n_steps, self.n_sub).mean(axis=1)
        self._no_offset, self._no_cap = np.zeros(n), np.full(n, np.inf)
        self._no_target = np.full(n, np.nan)
        self._no_cap_w = 1e3 * self._no_cap
        self._zeros_bus = np.zeros(self.n_bus)
        self._t_set0 = zones.t_set_heat_degc + self._no_offset
        self._t_cool0 = np.maximum(zones.t_set_cool_degc, self._t_set0)
        self._op_start, self._op = -1, ()

    def _series(self, name: str, value: Any, shape: tuple[int, int]) -> np.ndarray:
        arr = np.asarray(value, dtype=float)
        try:
            arr = np.broadcast_to(arr, shape)
        except ValueError:
            raise ValueError(
                f"{self.sid}: {name} has shape {arr.shape}; expected one broadcastable to {shape}"
            ) from None
        if not np.isfinite(arr).all() or (arr < 0).any():
            raise ValueError(f"{self.sid}: {name} has negative or non-finite values")
        return arr

    def _controls(self, time: int, inputs: Mapping[str, Mapping[str, Any]]) -> tuple:
        n = self.zones.n
        if not inputs:
            return self._no_offset, self._no_cap
        offset = sum_inputs(inputs.get("t_set_offset_k", {}), n)
        cap = self._no_cap
        for value in inputs.get("p_hp_cap_kw", {}).values():
            arr = value
            if not (isinstance(arr, np.ndarray) and arr.dtype == np.float64 and arr.shape == (n,)):
                arr = np.broadcast_to(np.asarray(value, dtype=float), (n,))
            cap = np.fmin(cap, arr)  # NaN: no cap, so never NaN
        if not np.isfinite(offset).all():
            self._fail(time, "t_set_offset_k", offset, ~np.isfinite(offset), "a finite offset")
        if (cap < 0).any():
            self._fail(time, "p_hp_cap_kw", cap, cap < 0, "a cap >= 0 (inf or NaN: none)")
        return offset, cap

    def _fail(self, time: int, name: str, arr: np.ndarray, bad: np.ndarray, expected: str) -> None:
        """Raise for the first bad value of input ``name``."""
        i = int(np.flatnonzero(bad)[0])
        raise SimulationError(
            f"{self.sid}: input {name} of building {i} is {arr[i]!r} at "
            f"{self.when(time)}; expected {expected}"
        )

    def _operating_points(self, i: int) -> tuple[np.ndarray, ...]:
        """Heat-pump operating points of sub-step ``i`` (computed a chunk at a time)."""
        j = i - self._op_start
        if self._op_start < 0 or not 0 <= j < len(self._op[0]):
            i1 = min(i + CHUNK_STEPS * self.n_sub, self.t_out.size)
            self._op = self.fleet.operating_points(
                self.t_out[i:i1, None], self.day_of_year[i:i1, None]
            )
            self._op_start, j = i, 0
        return tuple(x[j] for x in self._op)

    def save_state(self) -> tuple[np.ndarray, np.ndarray]:
        """Return thermal-mass and hot-water tank temperatures before the step."""
        return self.t_m_degc.copy(), self.fleet.t_tank_degc

    def restore_state(self, state: tuple[np.ndarray, np.ndarray]) -> None:
        """Put back what :meth:`save_state` returned."""
        self.t_m_degc, self.fleet.t_tank_degc = state[0].copy(), state[1]

    def advance(self, time: int, inputs: Mapping[str, Mapping[str, Any]]) -> None:
        """Step zones and heat pumps over the step's sub-steps."""
        k = time // self.step_s
        if k >= self.n_steps:
            raise SimulationError(f"{self.sid}: no weather for step {self.when(time)}")
        offset, cap = self._controls(time, inputs)
        z, h, kern = self.zones, self.h_s, self.kernel
        if offset is self._no_offset:
            t_set, t_cool = self._t_set0, self._t_cool0
        else:
            t_set = z.t_set_heat_degc + offset
            t_cool = np.maximum(z.t_set_cool_degc, t_set)
        cap_w = self._no_cap_w if cap is self._no_cap else 1e3 * cap  # cap is never NaN
        tm_start = self.t_m_degc
        rows = []
        for j in range(self.n_sub):
            i = k * self.n_sub + j
            te, gi, gs = float(self.t_out[i]), self.phi_int[i], self.phi_sol[i]
            s = kern.trial(self.t_m_degc, te, gi, gs)
            phi, _ = kern.demand(s, t_set, t_cool, z.p_heat_max_w, z.p_cool_max_w)
            demand = np.maximum(phi, 0.0)
            hp = self.fleet.operate(
                h, demand, self.q_dhw[i], cap_w, self._no_target, *self._operating_points(i)
            )
            if (hp.q_space_w < demand).any():  # heat pump short: step again with its heat
                phi, _ = kern.demand(s, t_set, t_cool, hp.q_space_w, z.p_cool_max_w)
            st, q = kern.apply(s, phi, te)
            self.t_m_degc = st[0]
            g = 0.5 * gi + gs
            rows.append((
                st[3], phi, hp.q_dhw_w, hp.p_el_kw, hp.q_hp_space_w + hp.q_dhw_w,
                hp.q_unmet_space_w + hp.q_unmet_dhw_w, hp.cop_space,
                q[0] + q[1] + q[2] + kern.f_gw * g, gi, gs,
            ))  # fmt: skip
        keys = ("t_air", "q_heat", "q_dhw", "p_el", "q_out", "unmet", "cop_op", "loss")
        keys += ("int", "sol")
        if self.n_sub == 1:
            m = dict(zip(keys, rows[0], strict=True))
        else:
            m = {key: sum(r[c] for r in rows) / self.n_sub for c, key in enumerate(keys)}
        self._check_balance(time, m, tm_start)
        p = m["p_el"]
        el_w = 1e3 * p
        on = el_w > 0
        cop = np.where(on, m["q_out"] / np.where(on, el_w, 1.0), m["cop_op"])
        q = p * self.tan_phi
        self.outputs = {
            "t_zone_degc": m["t_air"],
            "p_kw": p,
            "q_kvar": q,
            "q_heat_w": m["q_heat"],
            "q_dhw_w": m["q_dhw"],
            "cop": cop,
            "q_unmet_w": m["unmet"],
            "t_mass_degc": self.t_m_degc.copy(),  # end of step (controller input)
            "t_out_degc": float(self.t_out_step[k]),
            "p_bus_kw": np.bincount(self.bus_pos, p, self.n_bus),
            "q_bus_kvar": (
                np.bincount(self.bus_pos, q, self.n_bus) if self.tan_phi else self._zeros_bus
            ),
        }

    def _check_balance(self, time: int, m: dict[str, np.ndarray], tm_start: np.ndarray) -> None:
        """Store the step's zone balance and fail if it does not close."""
        storage = self.zones.c_m_j_k * (self.t_m_degc - tm_start) / self.step_s
        self.balance = {
            "q_heat_w": m["q_heat"],
            "phi_int_w": m["int"],
            "phi_sol_w": m["sol"],
            "q_loss_w": m["loss"],
            "q_storage_w": storage,
        }
        residual = m["q_heat"] + m["int"] + m["sol"] - m["loss"] - storage
        scale = np.maximum(np.maximum(np.abs(m["q_heat"]), m["int"]), m["sol"])
        scale = np.maximum(scale, np.abs(m["loss"]))
        bad = np.abs(residual) > BALANCE_RTOL * np.maximum(scale, 1.0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise SimulationError(
                f"{self.sid}: energy balance of building {i} does not close at "
                f"{self.when(time)} (residual {residual[i]:.3g} W)"
            )
