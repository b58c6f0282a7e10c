"""The compiled storage step equals StorageSim.setpoints + Battery.step bit for bit."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from pedsim.physics.battery import Battery
from pedsim.physics.battery_kernel import pairwise_sum
from pedsim.sims.storage import StorageSim


@pytest.mark.parametrize("n", [*range(0, 140), 255, 256, 257, 1000, 1023, 4099])
def test_pairwise_sum_is_numpy_sum(n: int) -> None:
    rng = np.random.default_rng(n)
    a = rng.normal(size=n) * 10 ** rng.uniform(-5, 5, size=n)
    assert np.float64(pairwise_sum(a)).tobytes() == np.sum(a).tobytes()


def _sim(battery: Battery, **kw: object) -> StorageSim:
    sim = StorageSim()
    sim.init("storage", step_s=900, start="2016-01-01")
    sim.create(1, "Storage", battery=battery, **kw)
    return sim


@pytest.mark.parametrize("seed", range(40))
def test_kernel_equals_setpoints_and_battery_step(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, n_bus = int(rng.integers(1, 12)), int(rng.integers(1, 140))
    battery = Battery(
        rng.uniform(1, 100, n), rng.uniform(0, 20, n), rng.uniform(0, 20, n),
        eta_charge=rng.uniform(0.8, 1, n), eta_discharge=rng.uniform(0.8, 1, n),
        soc_min=rng.uniform(0, 0.2, n), soc_max=rng.uniform(0.8, 1, n),
        self_discharge_per_day=rng.choice([0.0, 0.001, 0.01], n), soc_init=0.5,
    )  # fmt: skip
    kw = {
        "community": rng.random(n) < 0.3,
        "local": rng.random(n) < 0.8,
        "bus_pos": rng.integers(0, n_bus, n),
        "n_bus": n_bus,
    }
    sim, ref = _sim(battery, **kw), _sim(copy.deepcopy(battery), **kw)
    for t in range(40):
        net = rng.normal(size=n_bus) * 10
        net[rng.random(n_bus) < 0.2] = 0.0
        inputs: dict = {"p_net_bus_kw": {"a": net}}
        ctl = None
        if seed % 2:
            ctl = rng.normal(size=n) * 10
            ctl[rng.random(n) < 0.5] = np.nan
            ctl[rng.random(n) < 0.05] = np.inf
            inputs["p_bat_set_kw"] = {"c": ctl}
        sim.advance(t * 900, inputs)
        b = ref.battery
        res = b.step(ref.setpoints(net, ctl), 900)
        expected = {
            "p_kw": res.p_kw,
            "soc": res.soc,
            "e_throughput_kwh": b.throughput_total_kwh,
            "efc": b.equivalent_full_cycles_total,
            "p_bus_kw": np.bincount(ref.bus_pos, res.p_kw, n_bus),
        }
        for name, value in expected.items():
            np.testing.assert_array_equal(sim.outputs[name], value, err_msg=name)
        np.testing.assert_array_equal(sim.battery.e_kwh, b.e_kwh)
