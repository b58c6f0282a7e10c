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
from pedsim.sims.building import BuildingSim
from pedsim.sims.grid import GridSim
from pedsim.sims.profiles import ProfileSim
from pedsim.sims.pv import PVSim
from pedsim.sims.recorder import RecorderSim
from pedsim.units import QUANTITIES

STEP = 900
COMMON = {"step_s": STEP, "start": "2016-01-01T00:00:00"}


class _Sink:
    def __init__(self):
        self.rows = []

    def append(self, t, values):
        self.rows.append((t, values))


def _profile(common=COMMON) -> tuple[PedsimSimulator, dict, dict]:
    sim = ProfileSim()
    sim.init("profiles", 1.0, **common)
    p = np.arange(12.0).reshape(4, 3)
    sim.create(1, "Profile", p_kw=p, q_kvar=p / 10, bus_pos=np.array([0, 2, 2]), n_bus=4)
    return sim, {}, {}


def _grid(common=COMMON) -> tuple[PedsimSimulator, dict, dict]:
    net = pn.simple_four_bus_system()
    sim = GridSim()
    sim.init("grid", 1.0, net=net, **common)
    sim.create(1, "Grid")
    n = len(net.bus)
    inputs = {"p_kw": {"a.x": np.full(n, 5.0)}, "q_kvar": {"a.x": np.full(n, 1.0)}}
    return sim, inputs, {}


def _recorder(common=COMMON) -> tuple[PedsimSimulator, dict, dict]:
    sim = RecorderSim()
    sink = _Sink()
    sim.init("recorder", 1.0, writer=sink, **common)
    sim.create(1, "Recorder")
    return sim, {"vm_pu": {"grid.grid": np.ones(3)}}, {"sink": sink}


def _pv(common=COMMON) -> tuple[PedsimSimulator, dict, dict]:
    import pandas as pd

    from pedsim.physics.pv import PVPlants
    from pedsim.physics.weather import Site

    index = pd.date_range("2016-06-21 10:00", periods=8, freq="450s", tz="Etc/GMT-1")
    weather = pd.DataFrame(
        {"ghi": 700.0, "dni": 600.0, "dhi": 150.0, "temp_air": 20.0, "wind_speed": 2.0},
        index=index,
    )
    plants = PVPlants(
        p_kwp=np.array([5.0, 3.0]), tilt_deg=30.0, azimuth_deg=np.array([180.0, 90.0]),
        losses_percent=14.0, inverter_eff=0.96, temperature_model="sapm_close_mount_glass_glass",
    )  # fmt: skip
    sim = PVSim()
    sim.init("pv", 1.0, **common)
    site = Site(52.38, 13.07, 81.0, "Etc/GMT-1", "Potsdam")
    sim.create(1, "PV", weather=weather, site=site, plants=plants, bus_pos=np.array([0, 2]),
               n_bus=3, n_sub=2)  # fmt: skip
    return sim, {}, {}


def _building(common=COMMON) -> tuple[PedsimSimulator, dict, dict]:
    from pedsim.physics.building import RC5Params, load_archetypes
    from pedsim.physics.heatpump import params_from_catalogue
    from pedsim.scenario.thermal import catalogue_path, heat_pump_catalogue

    catalogue = load_archetypes(catalogue_path("buildings", "tabula_de.yaml"))
    zones = RC5Params.from_archetypes(
        [catalogue["DE.N.SFH.05.Gen"], catalogue["DE.N.SFH.12.Gen"]], p_cool_max_w=0.0
    )
    hp = params_from_catalogue(heat_pump_catalogue(), ["ashp_radiator", "gshp_floor"], [8.0, 4.0])
    sim = BuildingSim()
    sim.init("buildings", 1.0, **common)
    t_out = np.array([-5.0, -4.0, -3.0, -6.0])
    sim.create(1, "Buildings", zones=zones, heat_pumps=hp, t_out_degc=t_out,
               phi_int_w=np.full((4, 2), 400.0), phi_sol_w=np.array([[0.0], [100.0], [300.0],
               [0.0]]), bus_pos=np.array([1, 1]), n_bus=3, n_sub=2, q_dhw_w=200.0)  # fmt: skip
    inputs = {
        "t_set_offset_k": {"ctrl.c": np.array([0.5, -1.0])},
        "p_hp_cap_kw": {"ctrl.c": np.array([np.inf, 1.0])},
    }
    return sim, inputs, {}


def _ev(common=COMMON) -> tuple[PedsimSimulator, dict, dict]:
    from pedsim.physics.ev import EVFleet
    from pedsim.sims.ev import EVSim

    fleet = EVFleet([40.0, 60.0, 50.0], [11.0, 22.0, 11.0], mode=["controlled", "uncontrolled",
                    "delayed"])  # fmt: skip
    fleet.set_sessions([0, 1, 2], [0.0, 300.0, -600.0], [3000.0, 5000.0, 1500.0], [1.0, 0.8, 0.9],
                       soc_arrival=[0.2, 0.5, 0.7])  # fmt: skip
    sim = EVSim()
    sim.init("ev", 1.0, **common)
    sim.create(1, "EVFleet", fleet=fleet, bus_pos=np.array([0, 2, 2]), n_bus=3)
    return sim, {"p_ev_set_kw": {"ctrl.c": np.array([5.0, np.nan, 0.0])}}, {}


def _storage(common=COMMON) -> tuple[PedsimSimulator, dict, dict]:
    from pedsim.physics.battery import Battery
    from pedsim.sims.storage import StorageSim

    battery = Battery([10.0, 100.0, 5.0], [5.0, 50.0, 2.5], self_discharge_per_day=0.001)
    sim = StorageSim()
    sim.init("storage", 1.0, **common)
    roles = {"community": np.array([False, True, False]), "local": np.ones(3, dtype=bool)}
    sim.create(1, "Storage", battery=battery, bus_pos=np.array([1, 0, 2]), n_bus=3, **roles)
    inputs = {
        "p_net_bus_kw": {"loads.profile": np.array([1.0, 3.0, 2.0]), "pv.profile": -np.ones(3) * 4},
        "p_bat_set_kw": {"ctrl.c": np.array([np.nan, np.nan, 1.0])},
    }
    return sim, inputs, {}


class _FixedStrategy:
    """Finite set-points for every unit (the conformance checks need finite outputs)."""

    def decide(self, m, forecast):
        from pedsim.control import Setpoints

        return Setpoints(
            p_bat_set_kw=np.full(m.n_bat, 1.0), p_ev_set_kw=np.full(m.n_ev, 2.0),
            p_hp_cap_kw=np.full(m.n_hp, 3.0), t_set_offset_k=np.full(m.n_hp, 0.5),
            p_trafo_expected_kw=m.p_trafo_kw, limit_kept=True, status="optimal",
            solve_time_s=0.01,
        )  # fmt: skip


def _controller(common=COMMON) -> tuple[PedsimSimulator, dict, dict]:
    from pedsim.sims.controller import ControllerSim, ControlSetup

    one = np.ones(2)
    setup = ControlSetup(
        strategy=_FixedStrategy(), n_bus=3,
        signals={"price_eur_per_kwh": np.full(4, 0.3), "feed_in_eur_per_kwh": np.full(4, 0.1),
                 "co2_kg_per_kwh": np.full(4, 0.5)},
        bat={"bat_capacity_kwh": 10 * one, "bat_p_charge_max_kw": 5 * one,
             "bat_p_discharge_max_kw": 5 * one, "bat_eta_charge": 0.95 * one,
             "bat_eta_discharge": 0.95 * one, "bat_bus": np.array([0, 2])},
        n_ev=2, ev_controlled=np.array([0, 1]),
        ev={"ev_battery_kwh": 50 * one, "ev_p_max_kw": 11 * one},
        ev_sessions=(np.array([0, 1]), np.array([-100.0, 0.0]), np.array([5000.0, 9000.0])),
        hp={"hp_bus": np.array([1, 1]), "t_comfort_low_degc": 20 * one,
            "t_comfort_high_degc": 24 * one, "t_set_heat_degc": 20 * one},
        hp_p_max_kw=np.full((4, 2), 4.0),
        sources={"storage": "storage.batteries", "ev": "ev.fleet", "buildings": "b.buildings"},
    )  # fmt: skip
    sim = ControllerSim()
    sim.init("controller", 1.0, **common)
    sim.create(1, "Controller", setup=setup)
    inputs = {
        "p_trafo_kw": {"grid.grid": np.array([12.0])},
        "p_net_bus_kw": {"loads.profile": np.array([1.0, 2.0, -3.0])},
        "p_kw": {"storage.batteries": np.zeros(2), "ev.fleet": np.array([3.0, 0.0]),
                 "b.buildings": np.array([1.0, 2.0])},
        "soc": {"storage.batteries": np.array([0.5, 0.2]), "ev.fleet": np.array([0.3, 0.9])},
        "plugged": {"ev.fleet": np.array([1.0, 0.5])},
        "e_required_kwh": {"ev.fleet": np.array([10.0, 0.0])},
        "t_zone_degc": {"b.buildings": np.array([20.5, 21.0])},
        "t_mass_degc": {"b.buildings": np.array([20.0, 20.5])},
    }  # fmt: skip
    return sim, inputs, {}


CASES: dict[str, Callable[[], tuple[PedsimSimulator, dict, dict]]] = {
    "profile": _profile,
    "grid": _grid,
    "recorder": _recorder,
    "pv": _pv,
    "building": _building,
    "ev": _ev,
    "storage": _storage,
    "controller": _controller,
}


#: Simulators that can be members of a same-time control loop.
LOOP_MEMBERS = ("building", "controller", "ev", "grid", "storage")


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


def _other_inputs(inputs: dict) -> dict:
    """The same inputs with every array changed (another pass of a same-time loop)."""
    return {
        attr: {src: np.asarray(v, dtype=float) * 0.5 + 0.25 for src, v in by_src.items()}
        for attr, by_src in inputs.items()
    }


@pytest.mark.parametrize("name", LOOP_MEMBERS)
def test_loop_member_meta_and_repeated_step(name):
    """As a loop member: hybrid, inputs trigger, and a second step at the same time repeats
    that step from the state before it (equal to a fresh simulator stepped once)."""
    sim, inputs, _ = CASES[name](COMMON | {"loop_member": True})
    model = sim.meta["models"][sim.MODEL]
    assert sim.meta["type"] == "hybrid"
    assert set(model["trigger"]) == set(sim.INPUTS)
    assert set(model["persistent"]) | set(model["non-persistent"]) == set(model["attrs"])
    other = _other_inputs(inputs)
    for k in range(3):  # a step, then two passes of the next one
        sim.step(min(k, 1) * STEP, {sim.eid: inputs if k < 2 else other}, 10**9)
    repeated = sim.get_data({sim.eid: list(sim.OUTPUTS)})[sim.eid]
    fresh, _, _ = CASES[name](COMMON | {"loop_member": True})
    fresh.step(0, {fresh.eid: inputs}, 10**9)
    fresh.step(STEP, {fresh.eid: other}, 10**9)
    expected = fresh.get_data({fresh.eid: list(fresh.OUTPUTS)})[fresh.eid]
    assert set(repeated) == set(expected)
    for attr in expected:
        np.testing.assert_array_equal(repeated[attr], expected[attr], err_msg=attr)


@pytest.mark.parametrize("name", ["profile", "pv", "recorder"])
def test_not_loop_members_refuse_to_repeat(name):
    sim, _, _ = CASES[name](COMMON | {"loop_member": True})
    with pytest.raises(NotImplementedError, match="cannot repeat a step"):
        sim.step(0, {sim.eid: {}}, 10**9)
        sim.step(0, {sim.eid: {}}, 10**9)
