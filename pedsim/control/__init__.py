"""District control: rule-based and optimising strategies (pure numpy/scipy, no mosaik).

A strategy turns :class:`Measurements` (and, if it looks ahead, a :class:`Forecast`) into
:class:`Setpoints` each step; :func:`make_strategy` builds one by name:

``none``
    :class:`NoControl`: no set points, units follow their local defaults.
``self_consumption``
    :class:`SelfConsumption` (:class:`SelfConsumptionParams`).
``peak_shaving``
    :class:`PeakShaving` (:class:`PeakShavingParams`).
``optimal``
    :class:`OptimalControl`: receding-horizon MILP (:class:`MilpOptions`) with a linear
    building model (:class:`LinearBuilding`) and a rule-based fallback.

Signals (prices, CO2 intensity) come from :mod:`pedsim.control.signals`, forecasts from
:class:`ForecastSource`, cost-CO2 fronts from :func:`pareto_front`.
"""

from __future__ import annotations

from typing import Any

from pedsim.physics.building import RC5Params

from .forecast import FORECAST_MODES, ForecastSource, heat_pump_cop
from .interface import (
    ControlError,
    ControlParameterError,
    Forecast,
    Measurements,
    Setpoints,
    Strategy,
)
from .linear_building import LinearBuilding
from .milp import OBJECTIVES, DistrictProblem, MilpOptions, MilpResult, solve_milp
from .optimal import OptimalControl, SolveStats, build_problem
from .pareto import ParetoFront, pareto_front
from .rules import (
    NoControl,
    PeakShaving,
    PeakShavingParams,
    SelfConsumption,
    SelfConsumptionParams,
    battery_power_range,
    ev_power_range,
)

__all__ = [
    "FORECAST_MODES",
    "OBJECTIVES",
    "STRATEGIES",
    "ControlError",
    "ControlParameterError",
    "DistrictProblem",
    "Forecast",
    "ForecastSource",
    "LinearBuilding",
    "Measurements",
    "MilpOptions",
    "MilpResult",
    "NoControl",
    "OptimalControl",
    "ParetoFront",
    "PeakShaving",
    "PeakShavingParams",
    "SelfConsumption",
    "SelfConsumptionParams",
    "Setpoints",
    "SolveStats",
    "Strategy",
    "battery_power_range",
    "build_problem",
    "ev_power_range",
    "heat_pump_cop",
    "make_strategy",
    "pareto_front",
    "solve_milp",
]

STRATEGIES = ("none", "self_consumption", "peak_shaving", "optimal")


def make_strategy(
    name: str, building: LinearBuilding | RC5Params | None = None, **params: Any
) -> Strategy:
    """Build a strategy by name.

    Parameters
    ----------
    name : {"none", "self_consumption", "peak_shaving", "optimal"}
        Strategy name.
    building : LinearBuilding or RC5Params, optional
        Zone models (or the 5R1C parameters to identify them from) for ``optimal`` with heat
        pumps.
    **params
        Fields of the strategy's parameter dataclass (:class:`SelfConsumptionParams`,
        :class:`PeakShavingParams` or :class:`MilpOptions`).

    Returns
    -------
    Strategy

    Raises
    ------
    ControlParameterError
        For an unknown name or parameter.
    """
    kinds: dict[str, tuple[type, Any]] = {
        "self_consumption": (SelfConsumptionParams, SelfConsumption),
        "peak_shaving": (PeakShavingParams, PeakShaving),
        "optimal": (MilpOptions, None),
    }
    if name == "none":
        if params:
            raise ControlParameterError(
                f"strategy 'none' takes no parameters; got {sorted(params)}"
            )
        return NoControl()
    if name not in kinds:
        raise ControlParameterError(f"strategy={name!r}: expected one of {STRATEGIES}")
    cls, strategy = kinds[name]
    known = set(cls.__dataclass_fields__)
    unknown = sorted(set(params) - known)
    if unknown:
        raise ControlParameterError(
            f"strategy {name!r}: unknown parameters {unknown}; expected some of {sorted(known)}"
        )
    config = cls(**params)
    if name == "optimal":
        return OptimalControl(config, building=building)
    return strategy(config)
