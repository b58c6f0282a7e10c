"""Scenario files: typed schema, loading and validation."""

from pedsim.scenario.errors import Problem, ScenarioError
from pedsim.scenario.load import load_scenario, resolve_input, validate_scenario
from pedsim.scenario.schema import Scenario

__all__ = [
    "Problem",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "resolve_input",
    "validate_scenario",
]
