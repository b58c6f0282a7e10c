"""Scenario loading and validation: every error names file, field, value and expectation."""

from pathlib import Path

import pytest

from pedsim.scenario import ScenarioError, load_scenario
from pedsim.scenario.load import limit_period

GOOD = """\
name: t
seed: 1
start: 2016-03-01T00:00:00
duration: 2 days
step: 15min
grid:
  simbench_code: 1-LV-rural1--0-sw
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


def problems(tmp_path: Path, text: str) -> dict[str, str]:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    out = {}
    for p in info.value.problems:
        assert p.file == path
        out[p.field] = str(p)
    return out


def test_good_scenario(tmp_path):
    s = load_scenario(write(tmp_path, GOOD))
    assert s.n_steps == 192
    assert s.step == 900
    assert s.source_text == GOOD
    assert s.output_path == Path("results/t.h5")


def test_reference_scenario_is_valid():
    s = load_scenario(Path(__file__).parents[1] / "scenarios" / "reference.yaml")
    assert s.grid.simbench_code == "1-LV-urban6--0-sw"


@pytest.mark.parametrize(
    ("replace", "field", "fragment"),
    [
        (("seed: 1", "seed: 1\nfoo: 3"), "foo", "a known key"),
        (("  simbench_code", "  colour: red\n  simbench_code"), "grid.colour", "a known key"),
        (("seed: 1", "seed: one"), "seed", "'one'"),
        (("step: 15min", "step: -15min"), "step", "a positive duration"),
        (("step: 15min", "step: 0"), "step", "a positive duration"),
        (("step: 15min", "step: soon"), "step", "a duration such as"),
        (("duration: 2 days", "duration: -2 days"), "duration", "an end after the start"),
        (("duration: 2 days", "end: 2016-02-01"), "end", "an end after the start"),
        (("duration: 2 days", "duration: 400 days"), "duration", "end of the SimBench"),
        (("start: 2016-03-01T00:00:00", "start: 2015-06-01"), "start", "SimBench profile period"),
        (("1-LV-rural1--0-sw", "1-LV-nowhere"), "grid.simbench_code", "a SimBench code"),
        (("duration: 2 days", "duration: 100min"), "duration", "whole number of steps"),
        (("name: t", "name: a b"), "name", "pattern"),
    ],
)
def test_each_error_is_reported(tmp_path, replace, field, fragment):
    found = problems(tmp_path, GOOD.replace(*replace))
    assert field in found, found
    assert fragment in found[field]
    assert str(tmp_path / "s.yaml") in found[field]


def test_missing_json_file(tmp_path):
    text = GOOD.replace("simbench_code: 1-LV-rural1--0-sw", "pandapower_json: nope.json")
    found = problems(tmp_path, text)
    assert "an existing file" in found["grid.pandapower_json"]


def test_missing_scenario_file(tmp_path):
    with pytest.raises(ScenarioError, match="an existing scenario file"):
        load_scenario(tmp_path / "absent.yaml")


def test_all_errors_reported_together(tmp_path):
    text = (
        GOOD.replace("seed: 1", "seed: -1\nfoo: 1")
        .replace("step: 15min", "step: 0")
        .replace("1-LV-rural1--0-sw", "bogus")
    )
    found = problems(tmp_path, text)
    assert {"seed", "foo", "step", "grid.simbench_code"} <= set(found)


def test_required_fields(tmp_path):
    found = problems(tmp_path, "name: x\n")
    assert {"seed", "start", "grid", "duration"} <= set(found)
    assert "required" in found["seed"]


def test_both_duration_and_end(tmp_path):
    found = problems(tmp_path, GOOD + "end: 2016-03-02\n")
    assert "not both" in found["end"]


def test_not_yaml(tmp_path):
    found = problems(tmp_path, "name: [unclosed\n")
    assert "valid YAML" in found["<file>"]


def test_limit_period(tmp_path):
    s = load_scenario(write(tmp_path, GOOD))
    assert limit_period(s, "1 day").n_steps == 96
    assert limit_period(s, "10 days").n_steps == 192
    with pytest.raises(ValueError, match="whole number of steps"):
        limit_period(s, "10min")


def test_year_duration(tmp_path):
    text = GOOD.replace("duration: 2 days", "duration: 1y").replace("2016-03-01", "2016-01-01")
    assert load_scenario(write(tmp_path, text)).n_steps == 366 * 96
