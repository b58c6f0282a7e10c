"""Scenario section ``control``: the district controller, its strategy and its signals.

Example::

    control:
      strategy: optimal            # none | self_consumption | peak_shaving | optimal
      loop: time_shifted           # time_shifted: set-points decided from step t act from
                                   # t + step; same_time: passes of step t until they settle
      max_passes: 5                # same_time: most passes per step
      parameters:                  # fields of the strategy's parameter set (see below)
        objective: cost
        import_limit_kw: 250
      forecast: perfect            # perfect | persistence (optimal: over the horizon, prices
                                   # always perfect; rules: the next step's loads and PV)
      signals:
        price_file: null           # hourly CSV (datetime_utc, price_eur_per_mwh); null: the
                                   # shipped Dutch day-ahead prices
        price_adder_eur_per_kwh: 0.20   # network charges, levies, taxes on every kWh bought
        feed_in_eur_per_kwh: 0.08
        co2: de-2016-uba           # de-2016-uba | citylearn-2022-us | CSV file
                                   # (datetime_utc, co2_kg_per_kwh)

``parameters`` are the fields of :class:`~pedsim.control.SelfConsumptionParams`,
:class:`~pedsim.control.PeakShavingParams` or :class:`~pedsim.control.MilpOptions` (for
``optimal``; defaults chosen for speed: ``plan_step_s: 3600``, ``horizon_steps: 24``,
``replan_every_steps: 4``, and the feed-in tariff of ``signals``). Files are relative to the
scenario file. ``loop: same_time`` is for the rule strategies (``optimal`` plans ahead on
the time-shifted loop); see :mod:`pedsim.sims.controller` for what one pass does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from pedsim.scenario.schema_base import StrictModel

STRATEGY_NAMES = ("none", "self_consumption", "peak_shaving", "optimal")

#: Defaults of the ``optimal`` strategy's MILP options (overridable in ``parameters``).
OPTIMAL_DEFAULTS: dict[str, Any] = {
    "plan_step_s": 3600,
    "horizon_steps": 24,
    "replan_every_steps": 4,
    "time_limit_s": 20.0,
    "mip_rel_gap": 1e-4,
}


class SignalsConfig(StrictModel):
    """Price and CO2-intensity signals of the controller and the cost KPIs."""

    price_file: Path | None = Field(
        None,
        description="Hourly CSV (datetime_utc, price_eur_per_mwh), relative to the scenario "
        "file; null: the shipped Dutch day-ahead prices (2015-2017, 2022).",
    )
    price_adder_eur_per_kwh: float = Field(
        0.0, description="Added to every step's import price (charges, levies, taxes)."
    )
    feed_in_eur_per_kwh: float = Field(0.0, description="Remuneration of exported energy.")
    co2: str = Field(
        "de-2016-uba",
        description="CO2 intensity: 'de-2016-uba' (constant), 'citylearn-2022-us' or a CSV "
        "file (datetime_utc, co2_kg_per_kwh) relative to the scenario file.",
    )
    utc_offset_h: float = Field(1.0, ge=-14.0, le=14.0, description="Run clock minus UTC.")


class ControlConfig(StrictModel):
    """The district controller (absent: no controller)."""

    strategy: Literal["none", "self_consumption", "peak_shaving", "optimal"] = Field(
        description="Control strategy."
    )
    loop: Literal["time_shifted", "same_time"] = Field(
        "time_shifted",
        description="How the loop closes. 'time_shifted': set-points decided from the "
        "measurements of step t act from t + step. 'same_time': step t is simulated again "
        "with the set-points decided from it until they no longer change (rule strategies).",
    )
    max_passes: int = Field(
        5,
        ge=2,
        le=50,
        description="'same_time': most passes of the loop per step (the first runs every unit "
        "on its local behaviour).",
    )
    parameters: dict[str, Any] = Field(
        default_factory=dict, description="Fields of the strategy's parameter set."
    )
    forecast: Literal["perfect", "persistence"] | None = Field(
        None,
        description="Forecast of loads, PV and weather. 'optimal' (default perfect): over its "
        "horizon, prices always perfect. Rule strategies (default persistence): 'perfect' "
        "gives them the next step's loads and PV, 'persistence' the last measured step.",
    )
    comfort_margin_k: float = Field(
        0.0,
        ge=0.0,
        le=5.0,
        description="'optimal' plans the zones this much above the comfort band's low bound, "
        "a margin for the difference between plan and simulation (K).",
    )
    signals: SignalsConfig = SignalsConfig()

    @model_validator(mode="after")
    def _check_loop(self) -> ControlConfig:
        if self.loop == "same_time" and self.strategy == "optimal":
            raise ValueError(
                "loop 'same_time' is for the rule strategies (none, self_consumption, "
                "peak_shaving); 'optimal' plans ahead and needs loop 'time_shifted'"
            )
        return self

    @model_validator(mode="after")
    def _check_parameters(self) -> ControlConfig:
        from pedsim.control import ControlParameterError, make_strategy

        if self.strategy == "optimal":
            params = self.milp_parameters()
        else:
            params = dict(self.parameters)
        try:
            if self.strategy == "optimal":
                from pedsim.control import MilpOptions

                MilpOptions(**params)
            else:
                make_strategy(self.strategy, **params)
        except (ControlParameterError, TypeError) as exc:
            raise ValueError(f"parameters of strategy {self.strategy!r}: {exc}") from None
        return self

    def milp_parameters(self) -> dict[str, Any]:
        """MILP options of ``optimal``: :data:`OPTIMAL_DEFAULTS`, feed-in, then ``parameters``."""
        base = OPTIMAL_DEFAULTS | {"feed_in_tariff_eur_per_kwh": self.signals.feed_in_eur_per_kwh}
        return base | dict(self.parameters)

    def limits_kw(self) -> tuple[float, float]:
        """Import and export limits named in ``parameters`` (``inf``: none)."""
        p = self.parameters
        return (
            float(p.get("import_limit_kw", float("inf"))),
            float(p.get("export_limit_kw", float("inf"))),
        )


__all__ = ["OPTIMAL_DEFAULTS", "STRATEGY_NAMES", "ControlConfig", "SignalsConfig"]
