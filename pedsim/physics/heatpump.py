"""Air- and ground-source heat pumps with domestic hot water and a buffer tank.

COP model
    ``COP = k * (a + b * dT + c * dT**2)`` with ``dT = T_sink - T_source`` [K], ``dT`` clipped
    below at ``delta_t_min_k`` and the result at 1. The coefficients of the catalogue are the
    regressions of Ruhnau, Hirth & Praktiknjo [1]_ on manufacturer data (air, ground and
    groundwater sources); ``k`` is their field-measurement correction (0.85) or 1 for
    test-bench (EN 14511 rating) conditions. For ground sources the regression uses the brine
    temperature, which [1]_ takes 5 K below the ground temperature (``source_offset_k``).
Heating curve
    Supply (sink) temperature linear in the outdoor temperature between a design point and a
    heating-limit point, constant outside. [1]_ uses ``40 - T_out`` (radiators) and
    ``30 - 0.5 T_out`` (floor heating) and 50 degC for hot water.
Ground temperature
    Annual sine damped and delayed with depth (Kusuda & Achenbach [2]_); zero amplitude gives a
    constant (groundwater, deep boreholes).
Operation
    Power means over a step of ``dt_s``. Hot water has priority (usual domestic control); it and
    space heating share the thermal rating ``p_th_max_kw`` and the electric limit
    ``min(p_el_max_kw, p_el_cap_kw)`` (time-sharing within the step). Heat that cannot be
    delivered is reported as unmet. With a buffer tank (fully mixed water volume) the heat pump
    charges the tank towards a target temperature and the space-heating load draws from the
    heat stored above the tank's lower bound; standing losses are the exact free-cooling loss
    over the step from the start-of-step temperature.

References
----------
.. [1] O. Ruhnau, L. Hirth, A. Praktiknjo, "Time series of heat demand and heat pump
   efficiency for energy system modeling", Scientific Data 6, 189, 2019,
   doi:10.1038/s41597-019-0199-y (code and parameters: github.com/oruhnau/when2heat).
.. [2] T. Kusuda, P. R. Achenbach, "Earth temperature and thermal diffusivity at selected
   stations in the United States", ASHRAE Transactions 71(1), 61-75, 1965.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import ArrayLike

from pedsim.physics.heatpump_curves import (
    cop_quadratic,
    ground_temperature_degc,
    heating_curve_supply_degc,
)

__all__ = [
    "WATER_HEAT_CAPACITY_J_PER_LK",
    "HeatPumpFleet",
    "HeatPumpParameterError",
    "HeatPumpParams",
    "HeatPumpStep",
    "cop_quadratic",
    "ground_temperature_degc",
    "heating_curve_supply_degc",
    "params_from_catalogue",
]

#: Volumetric heat capacity of water at 40 degC (992.2 kg/m3 x 4179 J/(kg K)) [J/(l K)].
WATER_HEAT_CAPACITY_J_PER_LK = 4146.4

_SOURCES = ("air", "ground")


class HeatPumpParameterError(ValueError):
    """Raised for invalid heat-pump parameters or step inputs."""


@dataclass(frozen=True, eq=False)
class HeatPumpParams:
    """Parameters of ``n`` heat pumps (arrays over units; scalars are broadcast).

    Parameters
    ----------
    source : sequence of str
        ``"air"`` (outdoor air) or ``"ground"`` (ground or groundwater via brine).
    cop_a, cop_b, cop_c : array_like
        COP regression coefficients, see :func:`cop_quadratic`.
    p_th_max_kw : array_like
        Thermal rating, the maximum heat output [kW], > 0.
    hc_t_out_design_degc, hc_t_supply_design_degc, hc_t_out_limit_degc, hc_t_supply_limit_degc
        Heating curve, see :func:`heating_curve_supply_degc` [degC].
    p_el_max_kw : array_like, default inf
        Maximum electric input [kW], > 0.
    delta_t_min_k : array_like, default 15.0
        Lower clip of the temperature lift [K].
    cop_correction : array_like, default 1.0
        COP correction factor in (0, 1.5].
    source_offset_k : array_like, default 0.0
        Source temperature below the air/ground temperature (brine: 5 K) [K].
    t_dhw_degc : array_like, default 50.0
        Hot-water sink temperature [degC].
    ground_t_mean_degc, ground_amplitude_k, ground_depth_m, ground_diffusivity_m2_per_s,
    ground_day_min : array_like
        Ground model, see :func:`ground_temperature_degc` (used for ground sources only).
    tank_volume_l : array_like, default 0.0
        Buffer tank volume [l]; 0 means no tank.
    tank_t_min_degc, tank_t_max_degc : array_like
        Tank temperature bounds [degC]; heat above ``tank_t_min_degc`` is usable.
    tank_t_set_degc : array_like, optional
        Default charging target [degC]; defaults to ``tank_t_min_degc``.
    tank_ua_w_per_k : array_like, default 2.0
        Standing-loss coefficient of the tank [W/K].
    tank_t_ambient_degc : array_like, default 20.0
        Temperature around the tank [degC].
    """

    source: Sequence[str]
    cop_a: ArrayLike
    cop_b: ArrayLike
    cop_c: ArrayLike
    p_th_max_kw: ArrayLike
    hc_t_out_design_degc: ArrayLike
    hc_t_supply_design_degc: ArrayLike
    hc_t_out_limit_degc: ArrayLike
    hc_t_supply_limit_degc: ArrayLike
    p_el_max_kw: ArrayLike = np.inf
    delta_t_min_k: ArrayLike = 15.0
    cop_correction: ArrayLike = 1.0
    source_offset_k: ArrayLike = 0.0
    t_dhw_degc: ArrayLike = 50.0
    ground_t_mean_degc: ArrayLike = 10.0
    ground_amplitude_k: ArrayLike = 0.0
    ground_depth_m: ArrayLike = 1.5
    ground_diffusivity_m2_per_s: ArrayLike = 6.0e-7
    ground_day_min: ArrayLike = 20.0
    tank_volume_l: ArrayLike = 0.0
    tank_t_min_degc: ArrayLike = 35.0
    tank_t_max_degc: ArrayLike = 55.0
    tank_t_set_degc: ArrayLike | None = None
    tank_ua_w_per_k: ArrayLike = 2.0
    tank_t_ambient_degc: ArrayLike = 20.0

    def __post_init__(self) -> None:
        src = np.atleast_1d(np.asarray(self.source, dtype=str))
        if self.tank_t_set_degc is None:
            object.__setattr__(self, "tank_t_set_degc", self.tank_t_min_degc)
        numeric = [f.name for f in fields(self) if f.name != "source"]
        values = {name: np.atleast_1d(np.asarray(getattr(self, name), float)) for name in numeric}
        sizes = {k: v.size for k, v in ({"source": src} | values).items() if v.size != 1}
        if len(set(sizes.values())) > 1 or any(v.ndim != 1 for v in values.values()):
            raise HeatPumpParameterError(f"per-unit array lengths differ: {sizes}")
        n = max(sizes.values(), default=1)
        object.__setattr__(self, "source", np.broadcast_to(src, (n,)).copy())
        for name, arr in values.items():
            if np.any(np.isnan(arr)) or (name != "p_el_max_kw" and not np.all(np.isfinite(arr))):
                raise HeatPumpParameterError(f"{name} must be finite, got {arr.tolist()}")
            object.__setattr__(self, name, np.broadcast_to(arr, (n,)).copy())
        self._validate()

    def _validate(self) -> None:
        bad_src = sorted(set(self.source.tolist()) - set(_SOURCES))
        if bad_src:
            raise HeatPumpParameterError(f"source must be one of {_SOURCES}, got {bad_src}")
        checks = (
            ("p_th_max_kw", self.p_th_max_kw > 0, "> 0"),
            ("p_el_max_kw", self.p_el_max_kw > 0, "> 0"),
            ("cop_correction", (self.cop_correction > 0) & (self.cop_correction <= 1.5), "(0,1.5]"),
            ("delta_t_min_k", self.delta_t_min_k >= 0, ">= 0"),
            ("source_offset_k", self.source_offset_k >= 0, ">= 0"),
            ("hc_t_out_limit_degc", self.hc_t_out_limit_degc > self.hc_t_out_design_degc,
             "> hc_t_out_design_degc"),
            ("hc_t_supply_design_degc", self.hc_t_supply_design_degc >= self.hc_t_supply_limit_degc,
             ">= hc_t_supply_limit_degc"),
            ("ground_depth_m", self.ground_depth_m >= 0, ">= 0"),
            ("ground_amplitude_k", self.ground_amplitude_k >= 0, ">= 0"),
            ("ground_diffusivity_m2_per_s", self.ground_diffusivity_m2_per_s > 0, "> 0"),
            ("tank_volume_l", self.tank_volume_l >= 0, ">= 0"),
            ("tank_t_max_degc", self.tank_t_max_degc > self.tank_t_min_degc, "> tank_t_min_degc"),
            ("tank_t_set_degc",
             (self.tank_t_set_degc >= self.tank_t_min_degc)
             & (self.tank_t_set_degc <= self.tank_t_max_degc),
             "within [tank_t_min_degc, tank_t_max_degc]"),
            ("tank_ua_w_per_k", self.tank_ua_w_per_k >= 0, ">= 0"),
        )  # fmt: skip
        for name, ok, expected in checks:
            if not np.all(ok):
                bad = getattr(self, name)[~ok]
                raise HeatPumpParameterError(f"{name} must be {expected}, got {bad.tolist()}")

    @property
    def n(self) -> int:
        """Number of units."""
        return int(self.source.size)

    @property
    def is_ground(self) -> np.ndarray:
        """True for ground-source units."""
        return self.source == "ground"

    @property
    def tank_capacity_j_per_k(self) -> np.ndarray:
        """Heat capacity of each tank [J/K] (0 without tank)."""
        return self.tank_volume_l * WATER_HEAT_CAPACITY_J_PER_LK


def params_from_catalogue(
    catalogue: Mapping, types: Sequence[str], p_th_max_kw: ArrayLike, **overrides: ArrayLike
) -> HeatPumpParams:
    """Build :class:`HeatPumpParams` from a parsed catalogue such as ``models/heat_pumps.yaml``.

    Parameters
    ----------
    catalogue : Mapping
        Parsed catalogue with sections ``heat_pump_types``, ``cop_models``,
        ``heating_curves`` and ``ground_models``.
    types : sequence of str
        One key of ``heat_pump_types`` per unit.
    p_th_max_kw : array_like
        Thermal rating of each unit [kW].
    **overrides : array_like
        Any other :class:`HeatPumpParams` field, overriding the catalogue values.

    Returns
    -------
    HeatPumpParams
        Parameters of ``len(types)`` units.

    Raises
    ------
    HeatPumpParameterError
        For an unknown type, model name or field.
    """

    def section(name: str, key: str | None) -> Mapping:
        entries = catalogue.get(name, {})
        if key not in entries:
            raise HeatPumpParameterError(f"{name}: unknown entry {key!r}; known: {list(entries)}")
        return entries[key]

    allowed = {f.name for f in fields(HeatPumpParams)}
    unknown = sorted(set(overrides) - allowed)
    if unknown:
        raise HeatPumpParameterError(f"unknown heat-pump parameters {unknown}")
    rows: list[dict[str, object]] = []
    for name in types:
        spec = section("heat_pump_types", name)
        cop = section("cop_models", spec.get("cop_model"))
        curve = section("heating_curves", spec.get("heating_curve"))
        row: dict[str, object] = {
            "source": cop["source"],
            "cop_a": cop["a"],
            "cop_b": cop["b"],
            "cop_c": cop["c"],
            "delta_t_min_k": cop.get("delta_t_min_k", 15.0),
            "source_offset_k": cop.get("source_offset_k", 0.0),
        }
        row |= {f"hc_{k}": v for k, v in curve.items() if k.startswith("t_")}
        if cop["source"] == "ground":
            ground = section("ground_models", spec.get("ground_model"))
            row |= {f"ground_{k}": v for k, v in ground.items() if k != "reference"}
        row |= {k: v for k, v in spec.items() if k in allowed}
        rows.append(row)
    columns = {key for row in rows for key in row}
    kwargs: dict[str, object] = {}
    for key in columns:
        default = HeatPumpParams.__dataclass_fields__[key].default
        kwargs[key] = [row.get(key, default) for row in rows]
    return HeatPumpParams(**(kwargs | {"p_th_max_kw": p_th_max_kw} | overrides))


@dataclass(frozen=True, eq=False)
class HeatPumpStep:
    """Results of one step (means over the step; arrays over units).

    Attributes
    ----------
    p_el_kw : numpy.ndarray
        Electric input [kW], positive = drawn from the grid.
    q_space_w, q_dhw_w : numpy.ndarray
        Heat delivered to the space-heating load and to hot water [W].
    q_unmet_space_w, q_unmet_dhw_w : numpy.ndarray
        Demand not delivered [W].
    q_hp_space_w : numpy.ndarray
        Heat produced for the space-heating circuit (into the tank if there is one) [W].
    q_tank_loss_w : numpy.ndarray
        Standing loss of the tank [W].
    cop_space, cop_dhw : numpy.ndarray
        COP of the step's operating points (also when the unit is off).
    t_source_degc, t_sink_space_degc : numpy.ndarray
        Source temperature and space-heating sink temperature [degC].
    t_tank_start_degc, t_tank_degc : numpy.ndarray
        Tank temperature at the start and end of the step [degC] (NaN without tank).
    """

    p_el_kw: np.ndarray
    q_space_w: np.ndarray
    q_dhw_w: np.ndarray
    q_unmet_space_w: np.ndarray
    q_unmet_dhw_w: np.ndarray
    q_hp_space_w: np.ndarray
    q_tank_loss_w: np.ndarray
    cop_space: np.ndarray
    cop_dhw: np.ndarray
    t_source_degc: np.ndarray
    t_sink_space_degc: np.ndarray
    t_tank_start_degc: np.ndarray
    t_tank_degc: np.ndarray


class HeatPumpFleet:
    """State and stepping of ``n`` heat pumps.

    Parameters
    ----------
    params : HeatPumpParams
        Unit parameters.
    t_tank_init_degc : array_like, optional
        Initial tank temperatures [degC] within the tank bounds; default the set temperature.
    """

    def __init__(self, params: HeatPumpParams, t_tank_init_degc: ArrayLike | None = None):
        self.params = params
        init = params.tank_t_set_degc if t_tank_init_degc is None else t_tank_init_degc
        t0 = np.broadcast_to(np.asarray(init, dtype=float), (params.n,)).copy()
        self.has_tank = params.tank_volume_l > 0
        ok = (t0 >= params.tank_t_min_degc) & (t0 <= params.tank_t_max_degc) | ~self.has_tank
        if not np.all(ok):
            raise HeatPumpParameterError(
                f"t_tank_init_degc must be within the tank bounds, got {t0[~ok].tolist()}"
            )
        self._t_tank = np.where(self.has_tank, t0, np.nan)

    @property
    def t_tank_degc(self) -> np.ndarray:
        """Tank temperatures [degC] (NaN without tank)."""
        return self._t_tank.copy()

    @t_tank_degc.setter
    def t_tank_degc(self, value: np.ndarray) -> None:
        """Put back tank temperatures read from :attr:`t_tank_degc` (to repeat a step)."""
        value = np.asarray(value, dtype=float)
        if value.shape != self._t_tank.shape:
            raise HeatPumpParameterError(
                f"t_tank_degc has shape {value.shape}; expected {self._t_tank.shape}"
            )
        self._t_tank = value.copy()

    @property
    def e_tank_kwh(self) -> np.ndarray:
        """Usable heat stored above the tank's lower bound [kWh] (0 without tank)."""
        dt = np.where(self.has_tank, self._t_tank - self.params.tank_t_min_degc, 0.0)
        return self.params.tank_capacity_j_per_k * dt / 3.6e6

    def source_temperature_degc(
        self, t_out_degc: ArrayLike, day_of_year: float | None = None
    ) -> np.ndarray:
        """Source temperature of each unit [degC] (air, or brine for ground sources).

        ``t_out_degc`` and ``day_of_year`` may carry leading dimensions (e.g. ``(T, 1)``
        for T steps), giving ``(T, n)``.
        """
        p = self.params
        t_out = np.asarray(t_out_degc, dtype=float)
        t_src = np.broadcast_to(t_out, np.broadcast_shapes(t_out.shape, (p.n,)))
        if np.any(p.is_ground):
            if day_of_year is None:
                raise HeatPumpParameterError("day_of_year is required for ground-source units")
            t_ground = ground_temperature_degc(
                day_of_year,
                t_mean_degc=p.ground_t_mean_degc,
                amplitude_k=p.ground_amplitude_k,
                depth_m=p.ground_depth_m,
                diffusivity_m2_per_s=p.ground_diffusivity_m2_per_s,
                day_min_surface=p.ground_day_min,
            )
            t_src = np.where(p.is_ground, t_ground, t_src)
        return t_src - p.source_offset_k

    def step(
        self,
        dt_s: float,
        t_out_degc: ArrayLike,
        q_space_demand_w: ArrayLike,
        *,
        q_dhw_demand_w: ArrayLike | None = None,
        p_el_cap_kw: ArrayLike | None = None,
        t_tank_target_degc: ArrayLike | None = None,
        day_of_year: float | None = None,
    ) -> HeatPumpStep:
        """Advance all units by one step.

        Parameters
        ----------
        dt_s : float
            Step length [s], > 0.
        t_out_degc : array_like
            Outdoor air temperature, mean over the step [degC].
        q_space_demand_w : array_like
            Space-heating demand [W], >= 0.
        q_dhw_demand_w : array_like, optional
            Hot-water demand [W], >= 0; default none.
        p_el_cap_kw : array_like, optional
            Electric cap set by a controller [kW], >= 0; ``inf`` or NaN means no cap.
        t_tank_target_degc : array_like, optional
            Charging target of the tank [degC], clipped to the tank bounds; default the set
            temperature. Ignored for units without tank.
        day_of_year : float, optional
            Fractional day of the year at the step mid-point; required for ground sources.

        Returns
        -------
        HeatPumpStep
            Powers, COPs, unmet heat and tank state of the step.

        Raises
        ------
        HeatPumpParameterError
            For a non-positive step, negative demands or caps, or NaN inputs.
        """
        p = self.params
        n = p.n
        if not (np.isfinite(dt_s) and dt_s > 0):
            raise HeatPumpParameterError(f"dt_s must be > 0, got {dt_s}")

        def unit_array(name: str, value: ArrayLike | None, default: float) -> np.ndarray:
            arr = np.asarray(default if value is None else value, dtype=float)
            try:
                return np.broadcast_to(arr, (n,)).astype(float)
            except ValueError:
                raise HeatPumpParameterError(
                    f"{name} has shape {arr.shape}, expected a scalar or ({n},)"
                ) from None

        t_out = unit_array("t_out_degc", t_out_degc, 0.0)
        q_sh_dem = unit_array("q_space_demand_w", q_space_demand_w, 0.0)
        q_dhw_dem = unit_array("q_dhw_demand_w", q_dhw_demand_w, 0.0)
        cap_kw = unit_array("p_el_cap_kw", p_el_cap_kw, np.inf)
        cap_w = 1e3 * np.where(np.isnan(cap_kw), np.inf, cap_kw)
        if not np.all(np.isfinite(t_out)):
            raise HeatPumpParameterError(f"t_out_degc must be finite, got {t_out.tolist()}")
        for name, arr in (("q_space_demand_w", q_sh_dem), ("q_dhw_demand_w", q_dhw_dem)):
            if np.any(~np.isfinite(arr) | (arr < 0)):
                raise HeatPumpParameterError(f"{name} must be finite and >= 0, got {arr.tolist()}")
        if np.any(cap_w < 0):
            raise HeatPumpParameterError(f"p_el_cap_kw must be >= 0, got {(cap_w / 1e3).tolist()}")

        target = unit_array("t_tank_target_degc", t_tank_target_degc, np.nan)
        t_src, t_sink, cop_sh, cop_dhw = self.operating_points(t_out, day_of_year, target)
        op = (t_src, t_sink, cop_sh, cop_dhw)
        return self.operate(dt_s, q_sh_dem, q_dhw_dem, cap_w, target, *op)

    def operating_points(
        self,
        t_out_degc: np.ndarray,
        day_of_year: ArrayLike | None = None,
        t_tank_target_degc: ArrayLike | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Source and space-heating sink temperatures and COPs (space heating, hot water).

        They depend on the weather (and the tank target) only, so a caller may compute them
        for many steps at once: ``t_out_degc`` of shape ``(T, 1)`` and ``day_of_year`` of
        shape ``(T, 1)`` give arrays of shape ``(T, n)``, the same values as ``T`` calls of
        :meth:`step`. No input checks (see :meth:`step`).
        """
        p = self.params
        t_out = np.asarray(t_out_degc, dtype=float)
        t_src = self.source_temperature_degc(t_out, day_of_year)
        t_supply = heating_curve_supply_degc(
            t_out,
            p.hc_t_out_design_degc,
            p.hc_t_supply_design_degc,
            p.hc_t_out_limit_degc,
            p.hc_t_supply_limit_degc,
        )
        target = np.nan if t_tank_target_degc is None else t_tank_target_degc
        target = np.where(np.isnan(target), p.tank_t_set_degc, target)
        target = np.clip(target, p.tank_t_min_degc, p.tank_t_max_degc)
        # Charging the tank, the heat pump works against the target temperature.
        t_sink = np.where(self.has_tank, np.maximum(t_supply, target), t_supply)

        def cop(t_sink_degc: np.ndarray) -> np.ndarray:
            dt_k = t_sink_degc - t_src
            return cop_quadratic(
                dt_k,
                p.cop_a,
                p.cop_b,
                p.cop_c,
                delta_t_min_k=p.delta_t_min_k,
                correction=p.cop_correction,
            )

        return t_src, t_sink, cop(t_sink), cop(p.t_dhw_degc)

    def operate(
        self,
        dt_s: float,
        q_sh_dem: np.ndarray,
        q_dhw_dem: np.ndarray,
        cap_w: np.ndarray,
        target: np.ndarray,
        t_src: np.ndarray,
        t_sink: np.ndarray,
        cop_sh: np.ndarray,
        cop_dhw: np.ndarray,
    ) -> HeatPumpStep:
        """Advance all units by one step at given operating points (no input checks).

        The second half of :meth:`step`: ``q_sh_dem``, ``q_dhw_dem`` [W], ``cap_w`` (electric
        cap [W], ``inf`` for none), ``target`` (tank target [degC], NaN: set temperature) of
        shape ``(n,)``; operating points from :meth:`operating_points`.
        """
        p = self.params
        q_th_max = p.p_th_max_kw * 1e3
        p_el_avail = np.minimum(p.p_el_max_kw * 1e3, cap_w)

        # Hot water first, then space heating with what remains of both limits.
        q_dhw = np.minimum(np.minimum(q_dhw_dem, q_th_max), p_el_avail * cop_dhw)
        q_th_rem = np.maximum(q_th_max - q_dhw, 0.0)
        p_el_rem = np.maximum(p_el_avail - q_dhw / cop_dhw, 0.0)
        q_hp_limit = np.minimum(q_th_rem, p_el_rem * cop_sh)

        tank = self.has_tank
        t0 = self._t_tank
        if not tank.any():  # the general formulas below, without tanks
            q_loss = np.zeros(p.n)
            q_hp = np.minimum(np.maximum(q_sh_dem, 0.0), q_hp_limit)
            q_sh = np.clip(q_hp, 0.0, q_sh_dem)
            t_new = t0  # all NaN
        else:
            target = np.where(np.isnan(target), p.tank_t_set_degc, target)
            target = np.clip(target, p.tank_t_min_degc, p.tank_t_max_degc)
            cap = p.tank_capacity_j_per_k
            t0z = np.where(tank, t0, p.tank_t_ambient_degc)
            decay = np.where(
                tank, -np.expm1(-p.tank_ua_w_per_k * dt_s / np.where(tank, cap, 1.0)), 0
            )
            q_loss = np.where(tank, cap * (t0z - p.tank_t_ambient_degc) * decay / dt_s, 0.0)
            e_usable = np.where(tank, cap * (t0z - p.tank_t_min_degc), 0.0)
            e_target = np.where(tank, cap * (target - p.tank_t_min_degc), 0.0)
            q_want = np.where(tank, q_sh_dem + q_loss + (e_target - e_usable) / dt_s, q_sh_dem)
            q_hp = np.minimum(np.maximum(q_want, 0.0), q_hp_limit)
            q_avail = np.where(tank, (e_usable / dt_s + q_hp - q_loss), q_hp)
            q_sh = np.clip(q_avail, 0.0, q_sh_dem)
            t_new = np.where(
                tank, t0z + (q_hp - q_sh - q_loss) * dt_s / np.where(tank, cap, 1.0), np.nan
            )
        self._t_tank = t_new

        p_el_w = q_dhw / cop_dhw + q_hp / cop_sh
        return HeatPumpStep(
            p_el_kw=p_el_w / 1e3,
            q_space_w=q_sh,
            q_dhw_w=q_dhw,
            q_unmet_space_w=q_sh_dem - q_sh,
            q_unmet_dhw_w=q_dhw_dem - q_dhw,
            q_hp_space_w=q_hp,
            q_tank_loss_w=q_loss,
            cop_space=cop_sh,
            cop_dhw=cop_dhw,
            t_source_degc=t_src,
            t_sink_space_degc=t_sink,
            t_tank_start_degc=t0.copy(),
            t_tank_degc=t_new.copy(),
        )
