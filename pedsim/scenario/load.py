"""Load and validate scenario files, reporting every problem together before a run starts."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel, ValidationError

from pedsim.scenario.errors import MISSING, Problem, ScenarioError
from pedsim.scenario.flex import check_flex
from pedsim.scenario.schema import Scenario, parse_duration, parse_seconds, resolve_end
from pedsim.scenario.thermal import check_thermal

#: Period covered by SimBench profiles: the year 2016 in 15-minute steps.
SIMBENCH_DATA_START = pd.Timestamp("2016-01-01 00:00")
SIMBENCH_DATA_END = pd.Timestamp("2017-01-01 00:00")


@cache
def simbench_codes() -> frozenset[str]:
    """Return every grid code SimBench knows (cached: the list is static)."""
    import simbench

    return frozenset(simbench.collect_all_simbench_codes())


def load_scenario(path: str | Path, **overrides: Any) -> Scenario:
    """Read, validate and type a scenario file.

    Parameters
    ----------
    path : str or pathlib.Path
        The YAML scenario file.
    **overrides
        Top-level fields replacing those of the file (e.g. ``duration="1 day"``),
        validated like the file's own.

    Returns
    -------
    Scenario
        The validated scenario; ``source_path``/``source_text`` keep the file as given.

    Raises
    ------
    ScenarioError
        With every problem found (file, field path, value, expectation).
    """
    path = Path(path)
    if not path.is_file():
        raise ScenarioError([Problem(path, "<file>", str(path), "an existing scenario file")])
    text = path.read_text(encoding="utf-8")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(
            [Problem(path, "<file>", "<unparsable>", f"valid YAML ({exc})")]
        ) from None
    if not isinstance(raw, dict):
        raise ScenarioError([Problem(path, "<root>", raw, "a mapping of scenario fields")])
    raw.update(overrides)
    return validate_scenario(raw, path, text)


def validate_scenario(raw: dict[str, Any], path: Path, text: str = "") -> Scenario:
    """Validate a scenario given as a mapping.

    Parameters
    ----------
    raw : dict
        Scenario fields as parsed from YAML.
    path : pathlib.Path
        The file they came from (for messages and resolving relative input files).
    text : str
        The file's text, kept with the scenario.

    Returns
    -------
    Scenario
        The validated scenario.

    Raises
    ------
    ScenarioError
        With every problem found.
    """
    problems: list[Problem] = []
    scenario: Scenario | None = None
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_pydantic_problems(exc, path))
    reported = {p.field for p in problems}
    problems.extend(p for p in _cross_checks(raw, path) if p.field not in reported)
    if problems:
        raise ScenarioError(problems)
    assert scenario is not None
    scenario._source_path = path
    scenario._source_text = text
    return scenario


def resolve_input(scenario_path: Path | None, value: Path) -> Path:
    """Resolve an input file named in a scenario relative to the scenario file."""
    if value.is_absolute() or scenario_path is None:
        return value
    return scenario_path.parent / value


def _pydantic_problems(exc: ValidationError, path: Path) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "<root>"
        kind = err["type"]
        if kind == "extra_forbidden":
            expected = f"a known key ({_known_keys(err['loc'])})"
            value: object = err["input"]
            loc_field = loc
            problems.append(Problem(path, loc_field, value, expected))
            continue
        if kind == "missing":
            problems.append(Problem(path, loc, MISSING, "a value (the field is required)"))
            continue
        msg = _expectation(err["msg"])
        problems.append(Problem(path, loc, err.get("input"), msg))
    return problems


def _expectation(msg: str) -> str:
    """Turn a pydantic message into an expectation ("greater than 0", "a valid number")."""
    msg = msg.removeprefix("Value error, ")
    msg = msg.replace("String should match pattern", "a string matching the pattern")
    return msg.removeprefix("Input should be ")


def _known_keys(loc: tuple[Any, ...]) -> str:
    model: type[BaseModel] = Scenario
    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        ann = getattr(field, "annotation", None)
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            return "see the scenario reference in the README"
        model = ann
    return ", ".join(sorted(model.model_fields))


def _safe(func: Any, *args: Any) -> Any:
    try:
        return func(*args)
    except (ValueError, TypeError):
        return None


def _cross_checks(raw: dict[str, Any], path: Path) -> list[Problem]:
    """Check across fields, on whatever parts of ``raw`` parse."""
    problems: list[Problem] = []
    step = _safe(parse_seconds, raw.get("step", 900))
    if step is not None and step <= 0:
        problems.append(Problem(path, "step", raw.get("step"), "a positive duration"))
        step = None

    duration, end = raw.get("duration"), raw.get("end")
    if duration is None and end is None:
        problems.append(Problem(path, "duration", MISSING, "a duration or an end"))
    if duration is not None and end is not None:
        problems.append(Problem(path, "end", end, "either duration or end, not both"))
    start_ts = _safe(pd.Timestamp, raw.get("start")) if raw.get("start") is not None else None
    end_ts = None
    if start_ts is not None and not pd.isna(start_ts):
        try:
            dur_value = parse_duration(duration) if duration is not None else None
            end_value = pd.Timestamp(end) if (end is not None and duration is None) else None
            end_ts = resolve_end(start_ts, dur_value, end_value)
        except (ValueError, TypeError):
            end_ts = None
    if end_ts is not None and start_ts is not None:
        field = "duration" if duration is not None else "end"
        value = duration if duration is not None else end
        if end_ts <= start_ts:
            problems.append(
                Problem(path, field, value, f"an end after the start ({start_ts.isoformat()})")
            )
        elif step is not None and int((end_ts - start_ts).total_seconds()) % step:
            problems.append(Problem(path, field, value, f"a whole number of steps of {step} s"))
        problems.extend(_data_period_checks(raw, path, start_ts, end_ts))
    problems.extend(_grid_checks(raw, path))
    problems.extend(check_thermal(raw, path))
    problems.extend(check_flex(raw, path))
    return problems


def _grid_checks(raw: dict[str, Any], path: Path) -> list[Problem]:
    grid = raw.get("grid")
    if not isinstance(grid, dict):
        return []
    code, js = grid.get("simbench_code"), grid.get("pandapower_json")
    problems = []
    if (code is None) == (js is None):
        problems.append(
            Problem(path, "grid", grid, "exactly one of simbench_code or pandapower_json")
        )
    if isinstance(code, str) and code not in simbench_codes():
        lv = sorted(c for c in simbench_codes() if c.startswith("1-LV-"))
        problems.append(
            Problem(
                path,
                "grid.simbench_code",
                code,
                f"a SimBench code, e.g. one of the LV grids {', '.join(lv[:6])}",
            )
        )
    if isinstance(js, str) and not resolve_input(path, Path(js)).is_file():
        problems.append(
            Problem(
                path,
                "grid.pandapower_json",
                js,
                f"an existing file (looked for {resolve_input(path, Path(js))})",
            )
        )
    return problems


def _data_period_checks(
    raw: dict[str, Any], path: Path, start: pd.Timestamp, end: pd.Timestamp
) -> list[Problem]:
    profiles = raw.get("profiles") or {}
    source = profiles.get("source", "simbench") if isinstance(profiles, dict) else "simbench"
    if source != "simbench":
        return []
    problems = []
    if not SIMBENCH_DATA_START <= start < SIMBENCH_DATA_END:
        problems.append(
            Problem(
                path,
                "start",
                raw.get("start"),
                f"a start inside the SimBench profile period "
                f"[{SIMBENCH_DATA_START.isoformat()}, {SIMBENCH_DATA_END.isoformat()})",
            )
        )
    elif end > SIMBENCH_DATA_END:
        field = "duration" if raw.get("duration") is not None else "end"
        problems.append(
            Problem(
                path,
                field,
                raw.get(field),
                f"a period ending by {SIMBENCH_DATA_END.isoformat()} (end of the SimBench "
                f"profiles); this one ends {end.isoformat()}",
            )
        )
    return problems


def limit_period(scenario: Scenario, until: str | int) -> Scenario:
    """Return ``scenario`` shortened to its first ``until`` (no change if longer).

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.
    until : str or int
        A duration (``"2 days"``, seconds), a positive whole number of steps.

    Returns
    -------
    Scenario
        The shortened scenario, keeping its source file and text.

    Raises
    ------
    ValueError
        If ``until`` is not a positive whole number of steps.
    """
    seconds = parse_seconds(until)
    if seconds <= 0 or seconds % scenario.step:
        raise ValueError(
            f"got {until!r}; expected a positive whole number of steps of {scenario.step} s"
        )
    period = int((scenario.end_ts - scenario.start_ts).total_seconds())
    if seconds >= period:
        return scenario
    limited = scenario.model_copy(update={"duration": seconds, "end": None})
    limited._source_path = scenario.source_path
    limited._source_text = scenario.source_text
    return limited
