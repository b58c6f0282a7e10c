"""Buildings with heat pumps and pvlib PV: end-to-end runs, simulator physics, validation."""

from pathlib import Path

import numpy as np
import pandapower as pp
import pandas as pd
import pytest
import simbench
import yaml

from pedsim.analysis.plots import plot_week
from pedsim.analysis.thermal import kpis_thermal
from pedsim.physics.building import RC5Params, load_archetypes, simulate_5r1c
from pedsim.physics.heatpump import params_from_catalogue
from pedsim.physics.pv import pv_ac_power_kw
from pedsim.physics.weather import load_tmy3, resample
from pedsim.results import Results, read_results
from pedsim.run.runner import run_scenario
from pedsim.run.thermal_inputs import (
    assign,
    fine_step_s,
    internal_gains_shape,
    load_weather,
    pv_setup,
)
from pedsim.scenario import ScenarioError, load_scenario
from pedsim.scenario.thermal import catalogue_path, heat_pump_catalogue
from pedsim.sims.base import SimulationError
from pedsim.sims.building import BuildingSim

GRID = "1-LV-rural1--0-sw"  # 3 household loads, 4 PV generators
BASE = {
    "name": "thermal",
    "seed": 11,
    "start": "2016-01-04T00:00:00",  # the coldest days of TRY2010 region 4
    "duration": "2 days",
    "step": "1h",
    "grid": {"simbench_code": GRID},  # replaced by a JSON copy in the tests (faster to read)
    "pv": {"source": "pvlib"},
    "buildings": {
        "archetypes": {"DE.N.SFH.05.Gen": 0.5, "DE.N.SFH.12.Gen": 0.5},
        "heat_pumps": {"ashp_radiator": 0.5, "gshp_floor": 0.5},
        "sizing_factor": 2.5,
        "dhw_kwh_m2a": 12.5,
    },
}


@pytest.fixture(scope="module")
def net():
    return simbench.get_simbench_net(GRID)


@pytest.fixture(scope="module")
def grid_json(net, tmp_path_factory) -> Path:
    """The SimBench grid saved once with pandapower: reading it is 4x faster than SimBench."""
    path = tmp_path_factory.mktemp("grid") / "grid.json"
    pp.to_json(net, str(path))
    return path


def write(tmp_path: Path, body: dict, grid_json: Path, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    body = {**body, "grid": {"pandapower_json": str(grid_json)}}
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory, grid_json):
    tmp = tmp_path_factory.mktemp("thermal")
    scenario = load_scenario(write(tmp, BASE, grid_json))
    summary = run_scenario(scenario, tmp / "r.h5", progress=False)
    return scenario, summary, read_results(summary.path)


def test_run_completes_with_pvlib_instead_of_profiles(run, net):
    scenario, summary, res = run
    assert summary.status == "complete" == res.status
    assert len(res.index) == scenario.n_steps == 48
    assert set(res.timings) == {"grid", "loads", "pv", "buildings", "recorder"}
    assert res.labels["pv"] == net.sgen.name.tolist()
    assert res.labels["pv_bus"] == [str(b) for b in net.sgen.bus]
    house = net.load[net.load.profile.str.startswith("H")]
    assert res.labels["buildings"] == res.labels["heat_pumps"] == house.name.tolist()
    assert res.labels["heat_pumps_bus"] == [str(b) for b in house.bus]
    assert res.attrs["p_pv_nom_kw"] == pytest.approx(1000 * net.sgen.p_mw.sum(), rel=1e-12)
    # PV: pvlib from the weather, 15-min sub-steps averaged to the hour, load convention
    weather = load_weather(scenario, 900).weather
    plants = pv_setup(scenario, net)
    ref = pv_ac_power_kw(
        weather.to_pvlib(), weather.site.latitude_deg, weather.site.longitude_deg,
        weather.site.altitude_m, plants.plants, dt_s=900,
    ).reshape(48, 4, -1).mean(axis=1)  # fmt: skip
    np.testing.assert_allclose(-res["pv/p_kw"].to_numpy(), ref, rtol=1e-12, atol=1e-12)
    assert (res["pv/p_kw"].to_numpy() <= 0).all() and res["pv/p_kw"].to_numpy().min() < -1.0
    assert (res["heat_pumps/p_kw"].to_numpy() > 0).all()


def test_energy_balance_at_transformer(run):
    """p_trafo = loads + heat pumps + PV + losses every step, within 1e-6 relative."""
    _, _, res = run
    p_trafo = res["grid/p_trafo_kw"].to_numpy().sum(axis=1)
    units = sum(res[f"{g}/p_kw"].to_numpy().sum(axis=1) for g in ("loads", "heat_pumps", "pv"))
    total = units + res["grid/p_loss_kw"].to_numpy()
    assert np.all(np.abs(p_trafo - total) <= 1e-6 * np.maximum(np.abs(p_trafo), 1.0))


def test_comfort_band_held_by_large_heat_pumps(run):
    _, _, res = run
    t = res["buildings/t_zone_degc"].to_numpy()
    assert t.min() >= 20.0 - 1e-6 and t.max() <= 26.0
    assert np.abs(res["buildings/q_unmet_w"].to_numpy()).max() <= 1e-6
    assert res["weather/t_out_degc"].min() < -8.0  # a cold spell indeed
    cop = res["buildings/cop"].to_numpy()
    assert ((cop > 1.5) & (cop < 7.0)).all()


def test_kpis_and_plot(run, tmp_path):
    _, _, res = run
    k = {x.name: x for x in kpis_thermal(res)}
    e_el = res["heat_pumps/p_kw"].to_numpy().sum()  # 1-h steps: kW = kWh
    assert k["e_hp_el_kwh"].value == pytest.approx(e_el, rel=1e-12)
    heat = (res["buildings/q_heat_w"].to_numpy() + res["buildings/q_dhw_w"].to_numpy()).sum()
    assert k["scop"].value == pytest.approx(heat / 1000 / e_el, rel=1e-12)
    assert k["pv_yield_kwh_kwp"].value == pytest.approx(
        -res["pv/p_kw"].to_numpy().sum() / res.attrs["p_pv_nom_kw"], rel=1e-12
    )
    assert k["discomfort_degree_hours_kh"].value == pytest.approx(0.0, abs=1e-4)
    empty = Results(res.path, dict(res.attrs), "", {}, {}, res.index, {}, {})
    missing = {x.name: x for x in kpis_thermal(empty)}
    assert np.isnan(missing["scop"].value) and "heat_pumps/p_kw" in missing["scop"].reason
    png = plot_week(res, out=tmp_path / "w.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_same_seed_same_results(run, tmp_path):
    scenario, _, first = run
    second = read_results(run_scenario(scenario, tmp_path / "again.h5", progress=False).path)
    assert second.labels == first.labels
    for name, frame in first.series.items():
        np.testing.assert_array_equal(frame.to_numpy(), second[name].to_numpy())


# --- assignment ------------------------------------------------------------------------


def test_assignment_by_share_is_seeded_and_by_list_exact():
    names = [f"L{i}" for i in range(10)]
    shares = {"a": 0.25, "b": 0.25, "c": 0.5}

    def draw(seed, by_name=None):
        return assign(names, shares, by_name or {}, np.random.default_rng(seed), "f")

    first = draw(1)
    assert first == draw(1)
    assert first != draw(2)
    # largest remainder: 2.5, 2.5, 5 -> 3, 2, 5 (ties in the given order)
    assert [first.count(x) for x in "abc"] == [3, 2, 5]
    listed = {"L0": "c", "L7": "a"}
    mixed = draw(1, listed)
    assert mixed[0] == "c" and mixed[7] == "a"
    rest = [x for i, x in enumerate(mixed) if i not in (0, 7)]
    assert [rest.count(x) for x in "abc"] == [2, 2, 4]
    everyone = {n: "b" for n in names}
    assert draw(5, everyone) == ["b"] * 10
    with pytest.raises(ValueError, match=r"f: got \['nope'\]"):
        draw(1, {"nope": "a"})


def test_internal_gains_follow_iso13790_g8():
    monday = pd.Timestamp("2016-01-04 00:00")
    week = internal_gains_shape(monday, 7 * 24, 3600)
    assert week.mean() == pytest.approx(1.0, rel=1e-12)
    day = week[:24] * (week.mean() / 1.0)
    # living+kitchen / other rooms averaged 50:50: 14 W/m2 evening vs 4 W/m2 night
    assert day[18] / day[2] == pytest.approx((0.5 * 20 + 0.5 * 1) / (0.5 * 2 + 0.5 * 6))
    quarter = internal_gains_shape(monday + pd.Timedelta("10min"), 6, 600)
    np.testing.assert_allclose(quarter[:5], week[0], rtol=1e-12)
    assert fine_step_s(3600) == 900 and fine_step_s(600) == 600 and fine_step_s(1000) == 500


# --- building simulator ----------------------------------------------------------------


def _building_sim(step_s, n_sub, p_th_kw, n_steps=24, seed=0, **hp_kw):
    """Three archetypes, ASHP/GSHP/ASHP, random winter weather on 15-min sub-steps."""
    rng = np.random.default_rng(seed)
    cat = load_archetypes(catalogue_path("buildings", "tabula_de.yaml"))
    codes = ["DE.N.SFH.05.Gen", "DE.N.SFH.08.Gen", "DE.N.SFH.12.Gen"]
    zones = RC5Params.from_archetypes([cat[c] for c in codes], p_cool_max_w=0.0)
    types = ["ashp_radiator", "gshp_floor", "ashp_floor"]
    q_dhw = hp_kw.pop("q_dhw_w", 0.0)
    hp = params_from_catalogue(heat_pump_catalogue(), types, p_th_kw, **hp_kw)
    n_fine = n_steps * n_sub
    drivers = {
        "t_out_degc": rng.uniform(-12.0, 8.0, n_fine),
        "phi_int_w": rng.uniform(0.0, 800.0, (n_fine, 3)),
        "phi_sol_w": rng.uniform(0.0, 3000.0, (n_fine, 3)),
    }
    sim = BuildingSim()
    sim.init("buildings", 1.0, step_s=step_s, start="2016-01-01T00:00:00")
    sim.create(1, "Buildings", zones=zones, heat_pumps=hp, bus_pos=np.array([0, 1, 1]),
               n_bus=2, n_sub=n_sub, q_dhw_w=q_dhw, **drivers)  # fmt: skip
    return sim, zones, drivers


def test_building_energy_balance_through_simulator():
    """Heat delivered = losses - gains + C_m dθ_m/dt every step: capped, hot water, tanks."""
    tanks = {"tank_volume_l": [200.0, 0.0, 300.0], "q_dhw_w": [300.0, 0.0, 250.0]}
    sim, zones, _ = _building_sim(3600, 4, [4.0, 3.0, 2.0], **tanks)
    rng = np.random.default_rng(3)
    for k in range(24):
        inputs = {
            "t_set_offset_k": {"c.c": rng.uniform(-3.0, 3.0, 3)},
            "p_hp_cap_kw": {"c.c": np.where(rng.random(3) < 0.5, rng.uniform(0, 2, 3), np.inf)},
        }
        tm0 = sim.t_m_degc.copy()
        sim.step(k * 3600, {sim.eid: inputs}, 10**9)
        out, b = sim.outputs, sim.balance
        storage = zones.c_m_j_k * (sim.t_m_degc - tm0) / 3600.0  # independent of the sim
        residual = out["q_heat_w"] - (b["q_loss_w"] - b["phi_int_w"] - b["phi_sol_w"] + storage)
        scale = np.abs(out["q_heat_w"]) + b["q_loss_w"] + b["phi_int_w"] + b["phi_sol_w"]
        assert (np.abs(residual) <= 1e-6 * scale).all()
        cap = inputs["p_hp_cap_kw"]["c.c"]
        assert (out["p_kw"] <= np.minimum(cap, np.inf) + 1e-12).all()
        assert (out["q_unmet_w"] >= 0).all()
    assert out["p_bus_kw"] == pytest.approx([out["p_kw"][0], out["p_kw"][1:].sum()], rel=1e-12)


def test_building_simulator_matches_5r1c_and_is_step_independent():
    """Unlimited heat pumps: the zones follow pedsim.physics.building on the sub-steps."""
    big = [500.0, 500.0, 500.0]
    hourly, zones, drivers = _building_sim(3600, 4, big)
    quarter, _, _ = _building_sim(900, 1, big, n_steps=96)
    out_h, out_q = [], []
    for k in range(24):
        hourly.step(k * 3600, {}, 10**9)
        out_h.append({a: np.copy(v) for a, v in hourly.outputs.items()})
        for j in range(4):
            quarter.step((4 * k + j) * 900, {}, 10**9)
            out_q.append({a: np.copy(v) for a, v in quarter.outputs.items()})
    ref = simulate_5r1c(zones, drivers["t_out_degc"], drivers["phi_int_w"],
                        drivers["phi_sol_w"], 900.0)  # fmt: skip
    heat = np.array([o["q_heat_w"] for o in out_q])
    np.testing.assert_allclose(heat, ref.phi_hc_w, rtol=1e-9, atol=1e-6)
    t_zone = np.array([o["t_zone_degc"] for o in out_q])
    np.testing.assert_allclose(t_zone, ref.t_air_degc, rtol=0, atol=1e-9)
    for attr in ("q_heat_w", "p_kw", "t_zone_degc", "q_unmet_w"):
        h = np.array([o[attr] for o in out_h])
        q = np.array([o[attr] for o in out_q]).reshape(24, 4, 3).mean(axis=1)
        np.testing.assert_allclose(h, q, rtol=1e-9, atol=1e-9)


def test_building_controller_inputs():
    sim, _, _ = _building_sim(3600, 4, [20.0, 20.0, 20.0])
    offset = {"t_set_offset_k": {"c.c": np.array([2.0, 0.0, -20.0])}}
    for k in range(6):
        sim.step(k * 3600, {sim.eid: offset}, 10**9)
    assert sim.outputs["t_zone_degc"][0] == pytest.approx(22.0, abs=1e-9)
    assert sim.outputs["q_heat_w"][2] == 0.0 and sim.outputs["p_kw"][2] == 0.0
    capped = {"p_hp_cap_kw": {"a.a": np.array([0.5, np.inf, 0.0]), "b.b": np.full(3, 1.0)}}
    sim.step(6 * 3600, {sim.eid: capped}, 10**9)
    assert sim.outputs["p_kw"][0] == pytest.approx(0.5, rel=1e-12)  # lowest cap wins
    assert sim.outputs["p_kw"][1] <= 1.0 + 1e-12
    assert sim.outputs["q_unmet_w"][0] > 0
    for bad in ({"p_hp_cap_kw": {"a.a": np.array([-1.0, 1, 1])}},
                {"t_set_offset_k": {"a.a": np.array([np.nan, 0, 0])}}):  # fmt: skip
        with pytest.raises(SimulationError, match=r"building 0 .* 2016-01-01T07:00:00"):
            sim.step(7 * 3600, {sim.eid: bad}, 10**9)


# --- validation ------------------------------------------------------------------------


def test_validation_lists_every_problem(tmp_path, grid_json):
    body = {
        **BASE,
        "weather": {"source": "epw"},
        "pv": {"source": "simbench", "plants": [{"bus": 9999, "p_kwp": 5.0}]},
        "buildings": {
            "archetypes": {"DE.N.SFH.05.Gen": 0.5, "DE.X.Castle": 0.4},
            "archetype_by_load": {"nope": "DE.N.SFH.12.Gen", "LV1.101 Load 1": "DE.N.SFH.12.Gen"},
            "heat_pumps": {"ashp_radiator": 0.6, "gshp_floor": 0.3},
            "heat_pump_by_load": {"LV1.101 Load 2": "steam_engine"},
            "comfort_band_degc": [24.0, 20.0],
        },
    }
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, body, grid_json))
    found = {p.field: p for p in info.value.problems}
    assert "unknown: DE.X.Castle" in found["buildings.archetypes"].expected
    assert "summing to 1 (they sum to 0.9)" in found["buildings.heat_pumps"].expected
    assert "unknown: steam_engine" in found["buildings.heat_pump_by_load"].expected
    assert "low < high" in found["buildings.comfort_band_degc"].expected
    assert found["weather.file"].expected == "a weather file with source epw"
    # Load 1 is a commercial load (SimBench profile L2-A), 'nope' does not exist
    assert found["buildings.archetype_by_load"].value == ["nope", "LV1.101 Load 1"]
    assert "household loads" in found["buildings.archetype_by_load"].expected
    plants = [p for p in info.value.problems if p.field == "pv.plants"]
    assert {p.expected.split(" (")[0] for p in plants} == {
        "plants declared only with pv.source: pvlib",
        "bus ids of the grid",
    }
    assert str(tmp_path / "s.yaml") in str(info.value)


def test_declared_pv_plants_and_weather_file_errors(tmp_path, net, grid_json):
    plants = [{"bus": 7, "p_kwp": 4.5}, {"bus": 12, "p_kwp": 9.0, "azimuth_deg": 90, "name": "e"}]
    body = {**BASE, "pv": {"source": "pvlib", "tilt_deg": 20, "plants": plants}}
    scenario = load_scenario(write(tmp_path, body, grid_json))
    setup = pv_setup(scenario, net)
    assert setup.names == ["PV 1 bus 7", "e"]
    np.testing.assert_array_equal(setup.plants.p_kwp, [4.5, 9.0])
    np.testing.assert_array_equal(setup.plants.tilt_deg, [20.0, 20.0])
    np.testing.assert_array_equal(setup.plants.azimuth_deg, [180.0, 90.0])
    assert setup.plants.losses_percent[0] == pytest.approx(14.08, abs=0.01)
    bad = {**BASE, "weather": {"source": "tmy3", "file": "missing.csv"}}
    with pytest.raises(ScenarioError, match=r"weather.file: got 'missing.csv'; expected an "):
        load_scenario(write(tmp_path, bad, grid_json, "b.yaml"))
    also = {**BASE, "weather": {"file": "x.epw"}, "pv": {"temperature_model": "on_the_moon"}}
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, also, grid_json, "c.yaml"))
    fields = {p.field for p in info.value.problems}
    assert fields == {"weather.file", "pv.temperature_model"}


def test_weather_file_in_another_time_zone_spans_two_years(tmp_path, grid_json):
    """TMY3 Greensboro (UTC-5), relative to the scenario: 2016-01-01 00:00 CET is 2015 there."""
    import shutil

    import pvlib

    src = Path(pvlib.__file__).parent / "data" / "723170TYA.CSV"
    shutil.copyfile(src, tmp_path / "gso.csv")
    body = {**BASE, "start": "2016-01-01T00:00:00", "duration": "12h",
            "weather": {"source": "tmy3", "file": "gso.csv"}}  # fmt: skip
    scenario = load_scenario(write(tmp_path, body, grid_json))
    got = load_weather(scenario, 900).weather.data
    assert got.index[0] == pd.Timestamp("2016-01-01 00:00", tz="Etc/GMT-1")
    assert len(got) == 48
    for year, part in ((2015, slice(0, 24)), (2016, slice(24, 48))):
        w = load_tmy3(tmp_path / "gso.csv", year)
        t0 = got.index[part.start].tz_convert(w.site.tz)
        ref = resample(w, t0, t0 + pd.Timedelta(hours=6), 900).data
        for col in ("t_air_degc", "ghi_w_m2", "dni_w_m2"):
            np.testing.assert_allclose(got[col].to_numpy()[part], ref[col].to_numpy(), rtol=1e-12)
