"""One conformance suite for every pedsim mosaik simulator.

Each case builds a simulator with small inputs; the same checks run on all of them:
valid META, every attribute registered with a unit, ``step`` returns the next time,
``get_data`` answers every declared output, and identical set-ups give identical output.
"""

from collections.abc import Callable

import numpy as np
import pandapower.networks as pn
import pytest

from pedsim.sims.base import PedsimSimulator
from pedsim.sims.grid import GridSim
from pedsim.sims.profiles import ProfileSim
from pedsim.sims.recorder import RecorderSim
from pedsim.units import QUANTITIES

STEP = 900
COMMON = {"step_s": STEP, "start": "2016-01-01T00:00:00"}


class _Sink:
    def __init__(self):
        self.rows = []

    def append(self, t, values):
        self.rows.append((t, values))


def _profile() -> tuple[PedsimSimulator, dict, dict]:
    sim = ProfileSim()
    sim.init("profiles", 1.0, **COMMON)
    p = np.arange(12.0).reshape(4, 3)
    sim.create(1, "Profile", p_kw=p, q_kvar=p / 10, bus_pos=np.array([0, 2, 2]), n_bus=4)
    return sim, {}, {}


def _grid() -> tuple[PedsimSimulator, dict, dict]:
    net = pn.simple_four_bus_system()
    sim = GridSim()
    sim.init("grid", 1.0, net=net, **COMMON)
    sim.create(1, "Grid")
    n = len(net.bus)
    inputs = {"p_kw": {"a.x": np.full(n, 5.0)}, "q_kvar": {"a.x": np.full(n, 1.0)}}
    return sim, inputs, {}


def _recorder() -> tuple[PedsimSimulator, dict, dict]:
    sim = RecorderSim()
    sink = _Sink()
    sim.init("recorder", 1.0, writer=sink, **COMMON)
    sim.create(1, "Recorder")
    return sim, {"vm_pu": {"grid.grid": np.ones(3)}}, {"sink": sink}


CASES: dict[str, Callable[[], tuple[PedsimSimulator, dict, dict]]] = {
    "profile": _profile,
    "grid": _grid,
    "recorder": _recorder,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_meta(name):
    sim, _, _ = CASES[name]()
    meta = sim.meta
    assert meta["api_version"].startswith("3.")
    assert meta["type"] == "time-based"
    (model,) = meta["models"].values()
    assert model["public"] is True
    for attr in model["attrs"]:
        assert attr in QUANTITIES, f"{attr} has no registered unit"
        assert QUANTITIES[attr].unit


@pytest.mark.parametrize("name", sorted(CASES))
def test_step_and_outputs(name):
    sim, inputs, _ = CASES[name]()
    model = sim.meta["models"][sim.MODEL]
    for k in range(2):
        assert sim.step(k * STEP, {sim.eid: inputs}, 10**9) == (k + 1) * STEP
        data = sim.get_data({sim.eid: list(sim.OUTPUTS)})
        assert set(data[sim.eid]) == set(sim.OUTPUTS)
        assert set(sim.OUTPUTS) <= set(model["attrs"])
        for value in data[sim.eid].values():
            assert np.all(np.isfinite(value))


@pytest.mark.parametrize("name", sorted(CASES))
def test_deterministic(name):
    outs = []
    for _ in range(2):
        sim, inputs, _ = CASES[name]()
        sim.step(0, {sim.eid: inputs}, 10**9)
        outs.append(sim.get_data({sim.eid: list(sim.OUTPUTS)})[sim.eid])
    for attr in outs[0]:
        np.testing.assert_array_equal(outs[0][attr], outs[1][attr])


@pytest.mark.parametrize("name", sorted(CASES))
def test_one_entity_only(name):
    sim, _, _ = CASES[name]()
    with pytest.raises(ValueError, match="exactly one"):
        sim.create(1, sim.MODEL)


def test_time_resolution_must_be_seconds():
    with pytest.raises(ValueError, match="time_resolution=1"):
        ProfileSim().init("p", 60.0, **COMMON)


def test_profile_nan_names_unit_and_time():
    sim, _, _ = _profile()
    sim.p[1, 2] = np.nan
    with pytest.raises(RuntimeError, match=r"unit 2 at 2016-01-01T00:15:00"):
        sim.step(STEP, {}, 10**9)


def test_grid_nan_names_bus_and_source():
    sim, inputs, _ = _grid()
    inputs["p_kw"]["loads.profile"] = np.array([0.0, np.nan, 0.0, 0.0])
    with pytest.raises(RuntimeError, match=r"bus 1 .* 2016-01-01T00:00:00 \(from loads.profile\)"):
        sim.step(0, {sim.eid: inputs}, 10**9)
