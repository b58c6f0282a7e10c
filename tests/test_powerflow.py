"""FastPowerFlow against pandapower's own Newton-Raphson on the SimBench LV grids."""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass

import numpy as np
import pandapower as pp
import pandas as pd
import pytest
import simbench as sb
import simbench.networks.extract_simbench_grids_from_csv as sbx

from pedsim.physics.powerflow import (
    FastPowerFlow,
    PowerFlowError,
    PowerFlowInputError,
    PowerFlowResult,
)

GRIDS = [f"1-LV-{name}--0-sw" for name in ("rural1", "rural2", "rural3", "semiurb4", "semiurb5")]
GRIDS += ["1-LV-urban6--0-sw"]
ELEMENTS = ("load", "sgen", "storage")
SIGN = {"load": 1.0, "sgen": -1.0, "storage": 1.0}  # to the load convention
REF_TOL_MVA = 1e-11
VM_ATOL = 1e-8
LOADING_ATOL = 1e-4


@dataclass
class Case:
    net: pp.pandapowerNet  # reference net, element p/q overwritten per snapshot
    fpf: FastPowerFlow
    snapshots: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]


@functools.cache
def _cases() -> dict[str, Case]:
    """Load all grids at once: SimBench re-parses its complete CSV data set for every grid
    code, so the parsed tables are shared between the loads (a pure speed-up; without the
    patch target the grids simply load the slow way)."""
    original = getattr(sbx, "read_csv_data", None)
    tables: dict[tuple, pd.DataFrame] = {}

    def read_once(input_path, sep=";", tablename=None, **kwargs):
        if not isinstance(tablename, str) or kwargs:
            return original(input_path, sep=sep, tablename=tablename, **kwargs)
        key = (str(input_path), sep, tablename)
        if key not in tables:
            tables[key] = original(input_path, sep=sep, tablename=tablename)
        return tables[key].copy()

    with pytest.MonkeyPatch.context() as patch:
        if original is not None:
            patch.setattr(sbx, "read_csv_data", read_once)
        return {code: _load_case(code) for code in GRIDS}


def _case(code: str) -> Case:
    return _cases()[code]


def _load_case(code: str) -> Case:
    net = sb.get_simbench_net(code)
    profiles = sb.get_absolute_values(net, profiles_instead_of_study_cases=True)
    net.pop("profiles", None)

    def series(element: str, quantity: str) -> np.ndarray:
        table = profiles.get((element, quantity))
        n = len(net[element])
        if table is None or table.shape[1] != n or len(table) == 0:
            return np.zeros((1, n))
        return table.loc[:, net[element].index].to_numpy(dtype=np.float64)

    load_p, load_q = series("load", "p_mw"), series("load", "q_mvar")
    sgen_p, storage_p = series("sgen", "p_mw"), series("storage", "p_mw")
    rng = np.random.default_rng(20240611)
    steps = {
        "max_load": int(np.argmax(load_p.sum(axis=1))),
        "max_pv": int(np.argmax(sgen_p.sum(axis=1))),
        **{f"random_{k}": int(s) for k, s in enumerate(rng.integers(0, len(load_p), 3))},
    }

    def at(arr: np.ndarray, step: int) -> np.ndarray:
        return arr[min(step, len(arr) - 1)]

    snapshots = {
        name: {
            "load": (at(load_p, step), at(load_q, step)),
            "sgen": (at(sgen_p, step), net.sgen["q_mvar"].to_numpy(dtype=np.float64)),
            "storage": (at(storage_p, step), net.storage["q_mvar"].to_numpy(dtype=np.float64)),
        }
        for name, step in steps.items()
    }
    return Case(net, FastPowerFlow(net), snapshots)


def _per_bus(net: pp.pandapowerNet, fpf: FastPowerFlow, values) -> tuple[np.ndarray, np.ndarray]:
    """Aggregate element p/q (MW, MVAr) to per-bus load-convention kW/kvar."""
    p_kw = np.zeros(len(fpf.bus_index))
    q_kvar = np.zeros(len(fpf.bus_index))
    for element in ELEMENTS:
        table = net[element]
        if not len(table):
            continue
        p, q = values[element]
        weight = SIGN[element] * table["scaling"].to_numpy() * table["in_service"].to_numpy() * 1e3
        pos = fpf.bus_position(table["bus"].to_numpy())
        np.add.at(p_kw, pos, weight * p)
        np.add.at(q_kvar, pos, weight * q)
    return p_kw, q_kvar


def _run_reference_elements(net: pp.pandapowerNet, values) -> None:
    for element in ELEMENTS:
        if len(net[element]):
            net[element]["p_mw"] = values[element][0]
            net[element]["q_mvar"] = values[element][1]
    pp.runpp(net, tolerance_mva=REF_TOL_MVA)


def _reference_bus_injections(net: pp.pandapowerNet, p_kw, q_kvar) -> pp.pandapowerNet:
    ref = copy.deepcopy(net)
    for element in ("load", "sgen", "storage", "gen"):
        ref[element]["in_service"] = False
    pp.create_loads(ref, ref.bus.index, p_mw=p_kw * 1e-3, q_mvar=q_kvar * 1e-3)
    pp.runpp(ref, tolerance_mva=REF_TOL_MVA)
    return ref


def _assert_matches(res: PowerFlowResult, ref: pp.pandapowerNet, p_kw: np.ndarray) -> None:
    close = functools.partial(np.testing.assert_allclose, rtol=0.0)
    close(res.vm_pu, ref.res_bus["vm_pu"], atol=VM_ATOL)
    close(res.va_degree, ref.res_bus["va_degree"], atol=1e-6)
    close(res.line_loading_percent, ref.res_line["loading_percent"], atol=LOADING_ATOL)
    close(res.line_i_ka, ref.res_line["i_ka"], atol=1e-7)
    close(res.line_pl_kw, ref.res_line["pl_mw"] * 1e3, atol=1e-6)
    close(res.trafo_loading_percent, ref.res_trafo["loading_percent"], atol=LOADING_ATOL)
    close(res.trafo_p_hv_kw, ref.res_trafo["p_hv_mw"] * 1e3, atol=1e-5)
    close(res.trafo_q_hv_kvar, ref.res_trafo["q_hv_mvar"] * 1e3, atol=1e-5)
    close(res.trafo_pl_kw, ref.res_trafo["pl_mw"] * 1e3, atol=1e-6)
    # several ext grids at one bus: only the bus total is defined independently of the split
    at_bus = ref.ext_grid["bus"].to_numpy()
    supply = ref.res_ext_grid.groupby(at_bus)[["p_mw", "q_mvar"]].sum() * 1e3
    mine = pd.DataFrame({"p_mw": res.p_ext_grid_kw, "q_mvar": res.q_ext_grid_kvar})
    close(mine.groupby(at_bus).sum(), supply, atol=1e-5)
    loss_kw = (ref.res_line["pl_mw"].sum() + ref.res_trafo["pl_mw"].sum()) * 1e3
    assert res.p_loss_kw == pytest.approx(loss_kw, rel=1e-6, abs=1e-6)
    # power balance over supplied buses: ext grid supply = consumption + losses
    supplied = np.isfinite(res.vm_pu)
    balance = p_kw[supplied].sum() + res.p_loss_kw
    assert res.p_ext_grid_kw.sum() == pytest.approx(balance, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("code", GRIDS)
def test_profile_snapshots_match_runpp(code: str) -> None:
    case = _case(code)
    for name, values in case.snapshots.items():
        p_kw, q_kvar = _per_bus(case.net, case.fpf, values)
        res = case.fpf.solve(p_kw, q_kvar)
        _run_reference_elements(case.net, values)
        assert not res.used_fallback, name
        _assert_matches(res, case.net, p_kw)
    assert case.snapshots["max_pv"]["sgen"][0].sum() > 0.0


@pytest.mark.parametrize("code", GRIDS)
def test_random_injections_match_runpp(code: str) -> None:
    case = _case(code)
    rng = np.random.default_rng(7)
    n = len(case.fpf.bus_index)
    scale_kw = 2e3 * case.snapshots["max_load"]["load"][0].sum() / n
    for _ in range(2):
        p_kw = rng.uniform(-1.5, 1.5, n) * scale_kw
        q_kvar = rng.uniform(-0.5, 0.5, n) * scale_kw
        res = case.fpf.solve(p_kw, q_kvar)
        assert not res.used_fallback
        _assert_matches(res, _reference_bus_injections(case.net, p_kw, q_kvar), p_kw)


@functools.cache
def _topology_net() -> pp.pandapowerNet:
    """rural1 with merged, isolated and out-of-service buses and other pandapower features."""
    net = copy.deepcopy(_case("1-LV-rural1--0-sw").net)
    net.sn_mva = 0.25
    std = net.line["std_type"].iloc[0]
    merged = pp.create_bus(net, 0.4, name="merged")
    pp.create_switch(net, 12, merged, et="b", closed=True)
    isolated = pp.create_bus(net, 0.4, name="isolated")
    open_line = pp.create_line(net, 4, isolated, 0.05, std)
    pp.create_switch(net, 4, open_line, et="l", closed=False)
    oos = pp.create_bus(net, 0.4, name="oos", in_service=False)
    pp.create_line(net, 5, oos, 0.05, std)
    pp.create_line(net, 5, 8, 0.05, std, in_service=False)
    behind_switch = pp.create_bus(net, 0.4, name="behind impedance switch")
    pp.create_switch(net, 10, behind_switch, et="b", closed=True, z_ohm=0.01)
    pp.create_shunt(net, 10, q_mvar=0.01, p_mw=0.001)
    pp.create_ward(net, 7, ps_mw=0.002, qs_mvar=0.001, pz_mw=0.001, qz_mvar=0.0)
    pp.create_gen(net, 9, p_mw=0.02, vm_pu=1.05)
    net.line.loc[3, ["parallel", "df"]] = [2, 0.8]
    net.trafo.loc[0, ["tap_pos", "tap_changer_type"]] = [2, "Ratio"]
    net.ext_grid.loc[0, ["vm_pu", "va_degree", "slack_weight"]] = [1.03, 5.0, 1.0]
    pp.create_ext_grid(net, net.ext_grid.at[0, "bus"], vm_pu=1.03, va_degree=5.0, slack_weight=3.0)
    return net


def test_topology_features_match_runpp() -> None:
    net = _topology_net()
    fpf = FastPowerFlow(net)
    rng = np.random.default_rng(3)
    n = len(fpf.bus_index)
    p_kw = rng.uniform(-10.0, 20.0, n)
    q_kvar = rng.uniform(-3.0, 5.0, n)
    res = fpf.solve(p_kw, q_kvar)
    ref = _reference_bus_injections(net, p_kw, q_kvar)
    ward_kw = 1e3 * (ref.res_ward["p_mw"].sum() + ref.res_shunt["p_mw"].sum())
    switch_kw = 1e3 * ref.res_switch[["p_from_mw", "p_to_mw"]].fillna(0.0).to_numpy().sum()
    p_kw_balance = p_kw.copy()
    p_kw_balance[fpf.bus_position([7])] += ward_kw + switch_kw  # non-branch consumption
    _assert_matches(res, ref, p_kw_balance)
    positions = fpf.bus_position(net.bus.index[net.bus["name"].isin(["isolated", "oos"])])
    assert np.isnan(res.vm_pu[positions]).all()
    assert res.p_ext_grid_kw[1] == pytest.approx(3.0 * res.p_ext_grid_kw[0], rel=1e-12)


def test_warm_start_converges_immediately() -> None:
    case = _case("1-LV-urban6--0-sw")
    p_kw, q_kvar = _per_bus(case.net, case.fpf, case.snapshots["max_load"])
    first = case.fpf.solve(p_kw, q_kvar)
    again = case.fpf.solve(p_kw, q_kvar)
    assert again.iterations == 1
    np.testing.assert_allclose(again.vm_pu, first.vm_pu, rtol=0.0, atol=1e-12)


def test_fallback_when_iteration_limit_is_hit() -> None:
    case = _case("1-LV-semiurb4--0-sw")
    fpf = FastPowerFlow(case.net, max_iter=1)
    values = case.snapshots["max_load"]
    p_kw, q_kvar = _per_bus(case.net, fpf, values)
    res = fpf.solve(p_kw, q_kvar)
    assert res.used_fallback
    assert res.iterations >= 1
    _run_reference_elements(case.net, values)
    _assert_matches(res, case.net, p_kw)


def test_non_finite_input_names_first_bad_bus() -> None:
    fpf = _case("1-LV-urban6--0-sw").fpf
    p_kw = np.zeros(len(fpf.bus_index))
    q_kvar = np.zeros(len(fpf.bus_index))
    p_kw[9] = np.nan
    q_kvar[4] = np.inf
    with pytest.raises(PowerFlowError) as info:
        fpf.solve(p_kw, q_kvar)
    name = _case("1-LV-urban6--0-sw").net.bus["name"].iloc[4]
    assert info.value.element == f"bus {fpf.bus_index[4]} ({name})"
    assert "inf" in info.value.detail


def test_unsolvable_case_raises_power_flow_error() -> None:
    fpf = FastPowerFlow(_case("1-LV-rural1--0-sw").net)
    n = len(fpf.bus_index)
    with pytest.raises(PowerFlowError) as info:
        fpf.solve(np.full(n, 5e3), np.full(n, 2e3))
    assert info.value.element.startswith("bus ")
    assert "did not converge" in info.value.detail
    # the object stays usable afterwards
    assert fpf.solve(np.full(n, 1.0), np.zeros(n)).used_fallback is False


def test_bus_position_and_input_validation() -> None:
    fpf = _case("1-LV-rural1--0-sw").fpf
    ids = fpf.bus_index[[3, 0, 7]]
    np.testing.assert_array_equal(fpf.bus_position(ids), [3, 0, 7])
    assert fpf.bus_position(fpf.bus_index[2]) == 2
    with pytest.raises(PowerFlowInputError, match="unknown pandapower bus ids"):
        fpf.bus_position([fpf.bus_index.max() + 1])
    with pytest.raises(ValueError, match="p_kw has shape"):
        fpf.solve(np.zeros(3), np.zeros(len(fpf.bus_index)))
    with pytest.raises(ValueError, match="max_iter"):
        FastPowerFlow(_case("1-LV-rural1--0-sw").net, max_iter=0)
    no_slack = copy.deepcopy(_case("1-LV-rural1--0-sw").net)
    no_slack.ext_grid["in_service"] = False
    with pytest.raises(PowerFlowInputError, match="ext_grid"):
        FastPowerFlow(no_slack)


def test_voltage_controlled_elements_are_rejected() -> None:
    net = copy.deepcopy(_case("1-LV-rural1--0-sw").net)
    pp.create_xward(net, 5, 0.0, 0.0, 0.0, 0.0, r_ohm=0.1, x_ohm=0.1, vm_pu=1.0)
    with pytest.raises(PowerFlowInputError, match="voltage-controlled"):
        FastPowerFlow(net)
