"""End-to-end runs with EV fleets and batteries; scenario validation of their sections."""

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pedsim.analysis.flex import kpis_flex
from pedsim.results import read_results
from pedsim.run.runner import run_scenario
from pedsim.scenario import ScenarioError, load_scenario

ROOT = Path(__file__).parents[1]
CODE = "1-LV-rural1--0-sw"
START = pd.Timestamp("2016-06-20T00:00:00")
STEP_H = 0.25

BASE = """\
name: flex
seed: {seed}
start: 2016-06-20T00:00:00
duration: {duration}
step: {step}
grid:
  simbench_code: {code}
"""

FLEX = """\
ev:
  fleets:
    - name: home
      count: 4
      charger_kw: 11
    - name: work
      bus: 9
      count: 2
      charger: workplace
      charger_kw: 22
      mode: delayed
      session_probability: 1.0
    - name: log
      bus: 13
      trip_table: trips.csv
      ev_type: Renault Zoe
      charger_kw: 11
storage:
  batteries:
    - name: comm
      type: community_100kwh
    - name: home
      type: home_liion_5kwh
      buses: [7, 10, 10, 12]
"""

# Renault Zoe: 52 kWh; 11 kW charge point; 0.9 charging efficiency (the EV default).
TRIPS = """\
ev_id,arrival,departure,soc_arrival,soc_departure_required
a,2016-06-20T07:10:00,2016-06-20T09:05:00,0.2,1.0
a,2016-06-20T18:00:00,2016-06-21T12:05:00,0.5,0.9
a,2016-06-21T12:10:00,2016-06-22T06:00:00,0.3,0.8
b,2016-06-19T20:00:00,2016-06-20T06:20:00,0.1,1.0
"""
ZOE_KWH, CHARGER_KW, ETA = 52.0, 11.0, 0.9


def write_scenario(tmp: Path, seed: int = 7, duration: str = "2 days", step: str = "15min",
                   body: str = FLEX) -> Path:  # fmt: skip
    (tmp / "trips.csv").write_text(TRIPS)
    path = tmp / f"flex{seed}.yaml"
    path.write_text(BASE.format(seed=seed, duration=duration, step=step, code=CODE) + body)
    return path


pytestmark = pytest.mark.usefixtures("simbench_nets_cached")


@pytest.fixture(scope="module")
def flex_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("flex")
    scenario = load_scenario(write_scenario(tmp))
    summary = run_scenario(scenario, tmp / "r.h5", progress=False)
    return scenario, summary, read_results(summary.path)


def _cols(res, group, prefix):
    return [c for c in res[f"{group}/p_kw"].columns if c.startswith(prefix)]


def test_run_completes(flex_run):
    scenario, summary, res = flex_run
    assert summary.status == "complete" == res.status
    assert len(res.index) == scenario.n_steps == 192
    assert {"ev", "storage"} <= set(res.timings)
    assert len(res.labels["ev"]) == 4 + 2 + 2
    assert res.labels["ev"][-2:] == ["log.a", "log.b"]
    assert res.labels["ev_bus"][-4:] == ["9", "9", "13", "13"]
    # 4 home EVs on the 3 household buses: every one used before any is used twice
    assert set(res.labels["ev_bus"][:4]) == {"7", "10", "12"}
    assert res.labels["storage"] == ["comm.0", "home.0", "home.1", "home.2", "home.3"]
    assert res.labels["storage_bus"] == ["3", "7", "10", "10", "12"]  # trafo_lv of rural1: 3
    np.testing.assert_array_equal(res.attrs["storage_capacity_kwh"], [100.0, 5, 5, 5, 5])
    for name in ("ev/p_kw", "ev/soc", "ev/plugged", "storage/p_kw", "storage/soc"):
        assert np.isfinite(res[name].to_numpy()).all(), name
    assert res["ev/p_kw"].attrs["unit"] == "kW" and res["storage/efc"].attrs["unit"] == "-"


def test_energy_balance_every_step(flex_run):
    """p_trafo = sum of every recorded unit power (loads, PV, EVs, batteries) + losses."""
    _, _, res = flex_run
    p_trafo = res["grid/p_trafo_kw"].to_numpy().sum(axis=1)
    units = sum(res[f"{g}/p_kw"].to_numpy().sum(axis=1) for g in ("loads", "pv", "ev", "storage"))
    total = units + res["grid/p_loss_kw"].to_numpy()
    assert np.all(np.abs(p_trafo - total) / np.maximum(np.abs(p_trafo), 1.0) <= 1e-6)
    assert res["ev/p_kw"].to_numpy().max() > 1.0  # EVs and batteries do take part
    assert np.abs(res["storage/p_kw"].to_numpy()).max() > 1.0


def _stored(e_arr, a_s, t_s, rate, cap):
    """Stored energy of an uncontrolled session at time t (charging from max(a, 0))."""
    return np.minimum(e_arr + rate * max(t_s - max(a_s, 0.0), 0.0) / 3600.0, cap)


def test_ev_energy_accounting_trip_table(flex_run):
    """Trip-table EVs against an analytic reference, including sessions inside steps."""
    _, _, res = flex_run
    trips = pd.read_csv(io.StringIO(TRIPS))
    t = (res.index - START).total_seconds().to_numpy()
    dt = STEP_H * 3600.0
    rate = CHARGER_KW * ETA  # stored kW
    for ev in ("a", "b"):
        p_exp = np.zeros(t.size)
        unmet_exp = np.zeros(t.size)
        for _, s in trips[trips.ev_id == ev].iterrows():
            a = (pd.Timestamp(s.arrival) - START).total_seconds()
            d = (pd.Timestamp(s.departure) - START).total_seconds()
            e0 = s.soc_arrival * ZOE_KWH
            for j, t0 in enumerate(t):
                lo, hi = max(t0, a), min(t0 + dt, d)
                if hi > lo:
                    de = _stored(e0, a, hi, rate, ZOE_KWH) - _stored(e0, a, lo, rate, ZOE_KWH)
                    p_exp[j] += de / ETA / STEP_H
                if t0 <= d < t0 + dt:
                    need = s.soc_departure_required * ZOE_KWH - _stored(e0, a, d, rate, ZOE_KWH)
                    unmet_exp[j] += max(need, 0.0)
        np.testing.assert_allclose(res["ev/p_kw"][f"log.{ev}"], p_exp, atol=1e-9)
        np.testing.assert_allclose(res["ev/e_unmet_kwh"][f"log.{ev}"], unmet_exp, atol=1e-9)
    # a: 07:10-09:05 at 9.9 kW stored from 20 % of 52 kWh; 22.625 kWh missing at 09:05
    assert res["ev/e_unmet_kwh"]["log.a"].sum() == pytest.approx(41.6 - 1.9166667 * 9.9, 1e-6)
    assert res["ev/plugged"]["log.a"].loc["2016-06-20 07:00"] == pytest.approx(1 / 3)
    assert res["ev/p_kw"]["log.a"].loc["2016-06-20 07:00"] == pytest.approx(11.0 / 3)
    # the step 12:00-12:15 of day 2 holds a departure (12:05) and a new arrival (12:10)
    k = res.index.get_loc(pd.Timestamp("2016-06-21 12:00"))
    assert res["ev/plugged"]["log.a"].iloc[k] == pytest.approx(10 / 15)
    assert res["ev/n_departures"]["log.a"].sum() == 2  # the third session departs later
    assert res["ev/e_required_kwh"]["log.a"].iloc[-1] == 0.0  # 80 % reached before the end


def test_ev_fleet_bounds_and_kpis(flex_run):
    _, _, res = flex_run
    p, plugged = res["ev/p_kw"].to_numpy(), res["ev/plugged"].to_numpy()
    assert (p >= -1e-12).all()  # no V2G in this scenario
    assert (p[plugged == 0.0] == 0.0).all()
    assert (p <= 22.0 * plugged + 1e-9).all()
    assert ((0 <= plugged) & (plugged <= 1)).all()
    soc = res["ev/soc"].to_numpy()
    assert ((soc >= 0) & (soc <= 1 + 1e-12)).all()
    kpis = {k.name: k for k in kpis_flex(res)}
    charged = np.clip(p, 0, None).sum() * STEP_H
    assert kpis["e_ev_charged_kwh"].value == pytest.approx(charged, rel=1e-12)
    unmet = res["ev/e_unmet_kwh"].to_numpy().sum()
    assert kpis["e_ev_unmet_kwh"].value == pytest.approx(unmet, rel=1e-12)
    deps = res["ev/n_departures"].to_numpy()
    served = ((deps > 0) & (res["ev/e_unmet_kwh"].to_numpy() <= 1e-3)).sum()
    assert kpis["ev_departures_served_share"].value == pytest.approx(served / deps.sum())
    assert kpis["e_v2g_kwh"].value == 0.0
    bat = res["storage/p_kw"].to_numpy()
    through = np.abs(bat).sum() * STEP_H
    assert kpis["e_battery_throughput_kwh"].value == pytest.approx(through, rel=1e-12)
    assert kpis["battery_efc"].value == pytest.approx(through / (2 * 120.0), rel=1e-12)


def _bus_net(res, bus):
    """Net power at one bus of every recorded unit except the batteries."""
    total = 0.0
    for group in ("loads", "pv", "ev"):
        frame = res[f"{group}/p_kw"]
        at = np.asarray(res.labels[f"{group}_bus"]) == bus
        total = total + frame.to_numpy()[:, at].sum(axis=1)
    return total


def test_home_battery_self_consumption(flex_run):
    """Home batteries charge only from their bus's surplus and cover only its deficit."""
    _, _, res = flex_run
    bat = res["storage/p_kw"].to_numpy()
    buses = np.asarray(res.labels["storage_bus"])
    tol = 1e-4  # holding soc_min against self-discharge takes ~1e-5 kW
    charged = 0.0
    for bus in ("7", "10", "12"):
        net = _bus_net(res, bus)
        p = bat[:, (buses == bus) & (np.arange(len(buses)) > 0)].sum(axis=1)
        assert np.all((p <= tol) | ((net < 0) & (p <= -net + tol))), bus
        assert np.all((p >= -tol) | ((net > 0) & (-p <= net + tol))), bus
        # it does shave: where it is not at a limit it zeroes the exchange
        charged += np.clip(p, 0, None).sum() * STEP_H
    assert charged > 1.0
    soc = res["storage/soc"].to_numpy()
    assert (soc[:, 1:] >= 0.05 - 1e-9).all() and (soc[:, 1:] <= 0.95 + 1e-9).all()
    # both batteries of bus 10 follow the same (capacity-shared) set-point
    np.testing.assert_allclose(bat[:, 2], bat[:, 3], atol=1e-12)


def test_community_battery_district_self_consumption(flex_run):
    _, _, res = flex_run
    bat = res["storage/p_kw"].to_numpy()
    net = sum(res[f"{g}/p_kw"].to_numpy().sum(axis=1) for g in ("loads", "pv", "ev"))
    net = net + bat[:, 1:].sum(axis=1)
    p = bat[:, 0]
    tol = 1e-3  # holding soc_min against self-discharge takes ~4e-4 kW
    assert np.all((p <= tol) | ((net < 0) & (p <= -net + tol)))
    assert np.all((p >= -tol) | ((net > 0) & (-p <= net + tol)))
    free = (np.abs(p) < 50 - 1e-6) & (res["storage/soc"].to_numpy()[:, 0] > 0.1 + 1e-6)
    free &= res["storage/soc"].to_numpy()[:, 0] < 0.9 - 1e-6
    np.testing.assert_allclose(p[free], -net[free], atol=1e-6)  # unconstrained: net zero


SMALL = """\
ev:
  fleets:
    - count: 6
      session_probability: 1.0
storage:
  batteries:
    - type: community_100kwh
"""


def test_same_seed_same_results_other_seed_other_sessions(tmp_path):
    runs = []
    for k, seed in enumerate((7, 7, 8)):
        path = write_scenario(tmp_path, seed=seed, duration="1 day", step="1h", body=SMALL)
        scenario = load_scenario(path)
        runs.append(read_results(run_scenario(scenario, tmp_path / f"{k}.h5", progress=False).path))
    first, second, other = runs
    for name, frame in first.series.items():
        np.testing.assert_array_equal(frame.to_numpy(), second[name].to_numpy(), err_msg=name)
    assert first.labels["ev_bus"] == second.labels["ev_bus"]
    assert not np.array_equal(first["ev/plugged"].to_numpy(), other["ev/plugged"].to_numpy())


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------

BAD = """\
ev:
  fleets:
    - count: 2
      ev_type: Trabant
    - trip_table: bad_trips.csv
      ev_type: Renault Zoe
    - bus: 999
    - share: 0.5
      count: 3
    - count: 1
      mode: v2g
    - name: fleet0
      count: 1
storage:
  batteries:
    - type: home_liion_5kwh
      count: 1
      capacity_kwh: -5
    - type: home_liion_5kwh
      count: 1
      soc_max: 1.5
    - type: flux_capacitor
      count: 1
    - type: home_liion_10kwh
      buses: [7, 777]
    - type: home_liion_10kwh
      count: 1
      soc_min: 0.6
      soc_max: 0.5
    - type: home_liion_10kwh
    - type: community_100kwh
      soc_init: 0.05
"""

BAD_TRIPS = """\
ev_id,arrival,departure,soc_arrival,soc_departure_required
x,2016-06-20T07:00:00,2016-06-20T09:00:00,0.2,1.0
x,2016-06-20T18:00:00,2016-06-20T17:00:00,0.2,1.0
"""


def test_each_flex_error_is_reported(tmp_path):
    path = write_scenario(tmp_path, body=BAD)
    (tmp_path / "bad_trips.csv").write_text(BAD_TRIPS)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    found = {p.field: str(p) for p in info.value.problems}
    assert all(p.file == path for p in info.value.problems)
    expected = {
        "ev.fleets.0.ev_type": "an EV type of",
        "ev.fleets.1.trip_table": "bad_trips.csv, line 3, column 'departure'",
        "ev.fleets.2.bus": "a bus id of the grid",
        "ev.fleets.3.count": "no count with share",
        "ev.fleets.4.bidirectional": "true for mode 'v2g'",
        "ev.fleets.5.name": "a name no other fleet has",
        "storage.batteries.0.capacity_kwh": "greater than 0",
        "storage.batteries.1.soc_max": "less than or equal to 1",
        "storage.batteries.2.type": "a battery type of",
        "storage.batteries.3.buses.1": "a bus id of the grid",
        "storage.batteries.4.soc_max": "soc_min < soc_max",
        "storage.batteries.5": "a placement",
        "storage.batteries.6.soc_init": "within [soc_min, soc_max]",
    }
    for field, fragment in expected.items():
        assert field in found, (field, found)
        assert fragment in found[field], found[field]
    assert "got 999" in found["ev.fleets.2.bus"] and "got 'Trabant'" in found["ev.fleets.0.ev_type"]
    assert "a time after the arrival" in found["ev.fleets.1.trip_table"]
    assert len(found) == len(expected), sorted(set(found) - set(expected))


def test_catalogue_errors(tmp_path, monkeypatch):
    import pedsim
    from pedsim.scenario.flex import CatalogueError, catalogue_path

    body = "ev:\n  catalogue: nope.yaml\n  fleets:\n    - count: 1\n"
    path = write_scenario(tmp_path, body=body)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    (problem,) = info.value.problems
    assert problem.field == "ev.catalogue" and "a readable catalogue" in str(problem)
    monkeypatch.setattr(pedsim, "__file__", str(tmp_path / "site" / "pedsim" / "__init__.py"))
    with pytest.raises(CatalogueError, match=r"models/ of the pedsim source tree"):
        catalogue_path(None, "ev_types.yaml", path)


def test_named_buses_are_only_checked_when_named(tmp_path, monkeypatch):
    """Without a bus id the grid is not loaded for validation."""
    import simbench

    def fail(*args, **kwargs):
        raise AssertionError("the grid was loaded")

    monkeypatch.setattr(simbench, "get_simbench_net", fail)
    body = SMALL.replace("    - type", "    - bus: trafo_lv\n      type")
    s = load_scenario(write_scenario(tmp_path, body=body))
    assert s.storage.batteries[0].bus == "trafo_lv"
    assert s.ev.fleets[0].count == 6


@pytest.mark.parametrize("name", ["district-ev.yaml", "district-ev-year.yaml"])
def test_shipped_scenarios_are_valid(name):
    s = load_scenario(ROOT / "scenarios" / name)
    assert s.grid.simbench_code == "1-LV-urban6--0-sw"
    assert s.ev.fleets[0].count == 30 and s.ev.fleets[0].charger_kw == 11.0
    assert s.ev.mode == "uncontrolled"


# ---------------------------------------------------------------------------------------------
# simulators, grid storage elements, KPIs without series
# ---------------------------------------------------------------------------------------------

COMMON = {"step_s": 900, "start": "2016-06-20T00:00:00"}


def _storage_sim(community, local, bus_pos, **battery):
    from pedsim.physics.battery import Battery
    from pedsim.sims.storage import StorageSim

    sim = StorageSim()
    sim.init("storage", 1.0, **COMMON)
    params = {"capacity_kwh": 10.0, "p_charge_max_kw": 5.0, "soc_init": 0.5} | battery
    sim.create(1, "Storage", battery=Battery(**params), community=np.asarray(community),
               local=np.asarray(local), bus_pos=np.asarray(bus_pos), n_bus=3)  # fmt: skip
    return sim


def test_storage_setpoints_nan_means_local_and_clipping():
    sizes = {"capacity_kwh": [10.0, 10.0, 100.0], "p_charge_max_kw": [5.0, 5.0, 50.0]}
    sim = _storage_sim([False, False, True], [True, False, True], [1, 1, 0], **sizes)
    net = {"loads.p": np.array([2.0, -3.0, 1.0])}
    sim.step(0, {sim.eid: {"p_net_bus_kw": net}}, 10**9)
    p = sim.outputs["p_kw"]
    # home battery 0: bus 1 surplus of 3 kW; battery 1 idle; community: district net
    # 2 - 3 + 1 + 3 (home) = 3 kW deficit -> discharges 3 kW
    np.testing.assert_allclose(p, [3.0, 0.0, -3.0], atol=1e-12)
    set_in = {"ctl.c": np.array([np.nan, 100.0, np.nan])}
    sim.step(900, {sim.eid: {"p_net_bus_kw": net, "p_bat_set_kw": set_in}}, 10**9)
    p = sim.outputs["p_kw"]
    np.testing.assert_allclose(p[:2], [3.0, 5.0], atol=1e-12)  # clipped to 5 kW
    np.testing.assert_allclose(p[2], -(2 - 3 + 1 + 8.0), atol=1e-12)
    assert sim.outputs["e_throughput_kwh"][0] > 0 and sim.outputs["efc"][0] > 0
    np.testing.assert_allclose(sim.outputs["p_bus_kw"], [p[2], p[0] + p[1], 0.0])


def test_ev_sim_setpoint_and_time_check():
    from pedsim.physics.ev import EVFleet
    from pedsim.sims.base import SimulationError
    from pedsim.sims.ev import EVSim

    fleet = EVFleet([40.0, 40.0], [11.0, 11.0], mode=["controlled", "uncontrolled"])
    fleet.set_sessions([0, 1], [0.0, 0.0], [36000.0, 36000.0], [0.5, 0.5], soc_arrival=[0.2, 0.2])
    sim = EVSim()
    sim.init("ev", 1.0, **COMMON)
    sim.create(1, "EVFleet", fleet=fleet, bus_pos=np.array([2, 2]), n_bus=3)
    sim.step(0, {sim.eid: {"p_ev_set_kw": {"ctl.c": np.array([4.0, 1.0])}}}, 10**9)
    np.testing.assert_allclose(sim.outputs["p_kw"], [4.0, 11.0])  # uncontrolled ignores it
    np.testing.assert_allclose(sim.outputs["p_bus_kw"], [0.0, 0.0, 15.0])
    sim.step(900, {sim.eid: {}}, 10**9)  # no set-point: controlled EV at its floor (0 here)
    assert sim.outputs["p_kw"][0] == 0.0
    with pytest.raises(SimulationError, match="2016-06-20T01:00:00"):
        sim.step(3600, {sim.eid: {}}, 10**9)


def test_grid_storage_elements_become_home_batteries(tmp_path):
    import pandapower as pp
    import pandapower.networks as pn

    from pedsim.run.flex import build_storage

    net = pn.simple_four_bus_system()
    pp.create_storage(net, 3, p_mw=-0.005, max_e_mwh=0.01, sn_mva=0.005, min_e_mwh=0.001,
                      soc_percent=50.0, name="st")  # fmt: skip
    net.storage["efficiency_percent"] = 0.95
    net.storage["self-discharge_percent_per_day"] = 0.13
    body = "storage:\n  batteries:\n    - type: community_100kwh\n"
    scenario = load_scenario(write_scenario(tmp_path, body=body))
    setup = build_storage(scenario, net, np.random.default_rng(0))
    assert setup.names == ["st", "community_100kwh.0"]
    b = setup.battery
    np.testing.assert_allclose(b.capacity_kwh, [10.0, 100.0])
    np.testing.assert_allclose(b.p_charge_max_kw[0], 5.0)
    np.testing.assert_allclose(b.soc_min[0], 0.1)
    np.testing.assert_allclose(b.soc, [0.5, 0.5])
    np.testing.assert_allclose(b.self_discharge_per_day[0], 0.0013)
    assert list(setup.community) == [False, True] and list(setup.local) == [True, True]
    assert setup.bus_ids[1] == int(net.trafo.lv_bus.iloc[0])


def test_flex_kpis_are_nan_with_reason_without_series():
    from pedsim.results import Results

    index = pd.date_range("2016-06-20", periods=4, freq="15min")
    res = Results(Path("none.h5"), {"step_s": 900}, "", {}, {}, index)
    kpis = kpis_flex(res)
    assert len(kpis) == 8
    assert all(np.isnan(k.value) and "missing input" in k.reason for k in kpis)
