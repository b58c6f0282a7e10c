"""End-to-end runs: energy balance, agreement with pandapower, statuses, CLI."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pandapower as pp
import pytest

from pedsim.cli import main
from pedsim.gridmodel import load_net
from pedsim.results import read_results
from pedsim.run.runner import RunFailedError, run_scenario
from pedsim.scenario import load_scenario

ROOT = Path(__file__).parents[1]
GRIDS = ["1-LV-rural1--0-sw", "1-LV-semiurb4--0-sw", "1-LV-urban6--0-sw"]


def scenario_file(tmp_path: Path, code: str, **extra: str) -> Path:
    body = {
        "name": "t",
        "seed": "7",
        "start": "2016-06-20T00:00:00",
        "duration": "1 day",
        "step": "1h",
        **extra,
    }
    text = "\n".join(f"{k}: {v}" for k, v in body.items())
    text += f"\ngrid:\n  simbench_code: {code}\n"
    path = tmp_path / f"{code}.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module", params=GRIDS)
def grid_run(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(request.param)
    scenario = load_scenario(scenario_file(tmp, request.param))
    summary = run_scenario(scenario, tmp / "r.h5", progress=False)
    return scenario, summary, read_results(summary.path)


def test_run_completes(grid_run):
    scenario, summary, res = grid_run
    assert summary.status == "complete" == res.status
    assert len(res.index) == scenario.n_steps == 24
    assert res.attrs["seed"] == 7
    assert res.scenario_text == scenario.source_text
    assert set(res.timings) == {"grid", "loads", "pv", "recorder"}


def test_energy_balance_every_step(grid_run):
    """Power at the transformer = sum loads - sum PV + losses, within 1e-6 relative."""
    _, _, res = grid_run
    p_trafo = res["grid/p_trafo_kw"].to_numpy().sum(axis=1)
    total = (
        res["loads/p_kw"].to_numpy().sum(axis=1)
        + res["pv/p_kw"].to_numpy().sum(axis=1)
        + res["grid/p_loss_kw"].to_numpy()
    )
    scale = np.maximum(np.abs(p_trafo), 1.0)
    assert np.all(np.abs(p_trafo - total) / scale <= 1e-6)
    losses = res["grid/pl_line_kw"].to_numpy().sum(1) + res["grid/pl_trafo_kw"].to_numpy().sum(1)
    np.testing.assert_allclose(losses, res["grid/p_loss_kw"].to_numpy(), rtol=1e-12)


def test_grid_matches_runpp(grid_run):
    """Recorded voltages and loadings equal pandapower.runpp on the recorded injections."""
    scenario, _, res = grid_run
    net = load_net(scenario)
    loads, pv = res["loads/p_kw"], res["pv/p_kw"]
    loads_q, pv_q = res["loads/q_kvar"], res["pv/q_kvar"]
    worst_vm = worst_loading = 0.0
    for k in (0, 12, 18):  # night, noon (PV), evening peak
        net.load["p_mw"] = loads.iloc[k].to_numpy() / 1000
        net.load["q_mvar"] = loads_q.iloc[k].to_numpy() / 1000
        net.sgen["p_mw"] = -pv.iloc[k].to_numpy() / 1000
        net.sgen["q_mvar"] = -pv_q.iloc[k].to_numpy() / 1000
        pp.runpp(net, tolerance_mva=1e-11)
        vm = res["grid/vm_pu"].iloc[k].to_numpy()
        worst_vm = max(worst_vm, np.abs(vm - net.res_bus.vm_pu.to_numpy()).max())
        lines = res["grid/loading_line_percent"].iloc[k].to_numpy()
        trafo = res["grid/loading_trafo_percent"].iloc[k].to_numpy()
        worst_loading = max(
            worst_loading,
            np.abs(lines - net.res_line.loading_percent.to_numpy()).max(),
            np.abs(trafo - net.res_trafo.loading_percent.to_numpy()).max(),
        )
    assert worst_vm <= 1e-6
    assert worst_loading <= 1e-4


def test_same_seed_same_results(tmp_path):
    scenario = load_scenario(scenario_file(tmp_path, GRIDS[0], duration="6h"))
    first, second = (
        read_results(run_scenario(scenario, tmp_path / f"{k}.h5", progress=False).path)
        for k in range(2)
    )
    assert first.attrs["seed"] == second.attrs["seed"] == 7
    for name, frame in first.series.items():
        np.testing.assert_array_equal(frame.to_numpy(), second[name].to_numpy())


def test_failed_run_keeps_steps_and_names_time(tmp_path):
    # Overloading the grid at noon on the 2nd step makes the power flow diverge.
    path = scenario_file(tmp_path, GRIDS[0], start="2016-01-01T00:00:00", duration="6h")
    text = path.read_text() + "profiles:\n  load_scaling: 60\n"
    path.write_text(text)
    with pytest.raises(RunFailedError, match=r"2016-01-01T00:00:00.*bus") as info:
        run_scenario(load_scenario(path), tmp_path / "f.h5", progress=False)
    res = read_results(info.value.path)
    assert res.status == "failed"
    assert "did not converge" in res.attrs["error"]
    assert res.attrs["n_steps_done"] == len(res.index)


def steps_written(path: Path) -> int:
    """Steps already flushed to a results file that is still being written."""
    try:
        with h5py.File(path, "r", locking=False) as f:
            return int(f.attrs["n_steps_done"])
    except (OSError, KeyError):
        return 0


@pytest.mark.slow
def test_interrupted_run(tmp_path):
    """Ctrl-C: the file is marked interrupted and keeps the completed steps."""
    path = scenario_file(
        tmp_path, GRIDS[0], start="2016-01-01T00:00:00", duration="300 days", step="15min"
    )
    out = tmp_path / "i.h5"
    path.write_text(path.read_text() + "output:\n  chunk_steps: 96\n")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pedsim.cli", "run", str(path), "--out", str(out), "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and steps_written(out) < 96:
        time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err.decode()
    res = read_results(out)
    assert res.status == "interrupted"
    assert 0 < len(res.index) < 300 * 96
    assert res.attrs["n_steps_done"] == len(res.index)


def test_cli_run_and_kpi(tmp_path, capsys):
    path = scenario_file(tmp_path, GRIDS[0])
    out = tmp_path / "c.h5"
    assert main(["run", str(path), "--out", str(out), "--until", "6h", "--no-progress"]) == 0
    table = capsys.readouterr().out
    assert "ssr" in table and "e_import_kwh" in table
    assert main(["kpi", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    key = "e_import_kwh[D]"
    assert data[key]["unit"] == "kWh" and data[key]["view"] == "D"
    res = read_results(out)
    assert len(res.index) == 6
    expected = res["loads/p_kw"].to_numpy().sum(1) + res["pv/p_kw"].to_numpy().sum(1)
    assert data[key]["value"] == pytest.approx(np.clip(expected, 0, None).sum(), rel=1e-9)


def test_cli_errors(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nseed: 1\n")
    assert main(["validate", str(bad)]) == 2
    assert "grid" in capsys.readouterr().err
    assert main(["validate", str(ROOT / "scenarios" / "reference.yaml")]) == 0
    assert main(["run", str(bad)]) == 2
    assert main(["kpi", str(tmp_path / "none.h5")]) == 2
    good = scenario_file(tmp_path, GRIDS[0])
    assert main(["run", str(good), "--until", "7min"]) == 2
