"""Results files: layout, round trip, and statuses."""

import h5py
import numpy as np
import pytest

from pedsim.results import ResultsWriter, read_results

META = {
    "scenario_name": "t",
    "seed": 3,
    "start": "2016-01-01T00:00:00",
    "step_s": 900,
    "n_steps_planned": 10,
}


def make_writer(path, chunk=4):
    w = ResultsWriter(path, META, "name: t\n", "s.yaml", chunk_steps=chunk)
    lab = w.add_labels("bus", ["b0", "b1"])
    w.add_series(("g", "vm_pu"), "grid/vm_pu", unit="pu", description="v", width=2, columns=lab)
    w.add_series(("g", "p_loss_kw"), "grid/p_loss_kw", unit="kW", description="l", sign="")
    return w


def test_round_trip(tmp_path):
    path = tmp_path / "r.h5"
    w = make_writer(path)
    for k in range(10):
        w.append(900 * k, {("g", "vm_pu"): np.array([1.0, 1.0 - k / 100]), ("g", "p_loss_kw"): k})
    w.close("complete", timings={"grid": 0.5})
    r = read_results(path)
    assert r.status == "complete"
    assert r.attrs["n_steps_done"] == 10
    assert r.attrs["seed"] == 3
    assert r.scenario_text == "name: t\n"
    assert r.timings == {"grid": 0.5}
    assert "pandapower" in r.versions
    vm = r["grid/vm_pu"]
    assert list(vm.columns) == ["b0", "b1"]
    assert vm.attrs["unit"] == "pu"
    assert vm.index[1].isoformat() == "2016-01-01T00:15:00"
    np.testing.assert_allclose(vm["b1"].to_numpy(), 1 - np.arange(10) / 100)
    np.testing.assert_allclose(r["grid/p_loss_kw"].to_numpy(), np.arange(10))


@pytest.mark.parametrize("status", ["failed", "interrupted"])
def test_partial_runs_keep_completed_steps(tmp_path, status):
    path = tmp_path / "r.h5"
    w = make_writer(path, chunk=4)
    for k in range(6):  # one full chunk written, two steps still buffered
        w.append(900 * k, {("g", "vm_pu"): np.ones(2), ("g", "p_loss_kw"): 1.0})
    w.close(status, "boom")
    r = read_results(path)
    assert r.status == status
    assert r.attrs["error"] == "boom"
    assert len(r.index) == 6
    assert len(r["grid/p_loss_kw"]) == 6


def test_file_readable_while_running(tmp_path):
    path = tmp_path / "r.h5"
    w = make_writer(path, chunk=2)
    for k in range(3):
        w.append(900 * k, {("g", "vm_pu"): np.ones(2), ("g", "p_loss_kw"): 1.0})
    with h5py.File(path, "r") as f:  # a crash now would leave this on disk
        assert f.attrs["status"] == "running"
        assert f["time/t_s"].shape == (2,)
    w.close("complete")


def test_not_a_results_file(tmp_path):
    path = tmp_path / "x.h5"
    with h5py.File(path, "w") as f:
        f.attrs["a"] = 1
    with pytest.raises(ValueError, match="not a pedsim results file"):
        read_results(path)
    with pytest.raises(ValueError, match="no such results file"):
        read_results(tmp_path / "none.h5")


def test_bad_status(tmp_path):
    w = make_writer(tmp_path / "r.h5")
    with pytest.raises(ValueError, match="status must be"):
        w.close("done")
    w.close("complete")
