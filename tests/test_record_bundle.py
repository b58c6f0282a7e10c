"""One recorder connection per simulator: the ``recorded_outputs`` bundle attribute."""

import numpy as np

from pedsim.sims.base import RECORD_ATTR
from pedsim.sims.profiles import ProfileSim
from pedsim.sims.recorder import RecorderSim

COMMON = {"step_s": 900, "start": "2016-01-01T00:00:00"}


def _profiles(record_bundle: bool) -> ProfileSim:
    sim = ProfileSim()
    sim.init("loads", 1.0, record_bundle=record_bundle, **COMMON)
    p = np.arange(6.0).reshape(3, 2)
    sim.create(1, "Profile", p_kw=p, q_kvar=-p, bus_pos=np.array([0, 2]), n_bus=3)
    return sim


def test_bundle_attribute_only_when_asked():
    assert RECORD_ATTR not in _profiles(False).meta["models"]["Profile"]["attrs"]
    assert RECORD_ATTR in _profiles(True).meta["models"]["Profile"]["attrs"]


def test_bundle_is_a_copy_of_all_outputs():
    sim = _profiles(True)
    sim.step(900, {}, 10**9)
    data = sim.get_data({sim.eid: [RECORD_ATTR, "p_kw"]})[sim.eid]
    bundle = data[RECORD_ATTR]
    assert set(bundle) == set(sim.OUTPUTS)
    assert bundle is not sim.outputs
    np.testing.assert_array_equal(bundle["p_kw"], [2.0, 3.0])
    assert data["p_kw"] is sim.outputs["p_kw"]


class _Sink:
    def __init__(self):
        self.rows = []

    def append(self, t, values):
        self.rows.append((t, values))


def test_recorder_unpacks_bundles_and_plain_inputs():
    sink = _Sink()
    rec = RecorderSim()
    rec.init("recorder", 1.0, writer=sink, **COMMON)
    rec.create(1, "Recorder")
    inputs = {
        RECORD_ATTR: {"loads.profile": {"p_kw": 1.0, "q_kvar": 2.0}},
        "vm_pu": {"grid.grid": 3.0},
    }
    rec.step(0, {rec.eid: inputs}, 10**9)
    assert sink.rows == [
        (0, {("loads.profile", "p_kw"): 1.0, ("loads.profile", "q_kvar"): 2.0,
             ("grid.grid", "vm_pu"): 3.0}),
    ]  # fmt: skip
