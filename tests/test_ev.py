"""Tests of the EV fleet charging model (pedsim.physics.ev)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pedsim.physics.ev import MODES, EVFleet, EVParameterError, EVSessionError, aggregate_by_bus

TOL = 1e-9


@st.composite
def fleet_case(draw: st.DrawFn) -> dict:
    n = draw(st.integers(1, 5))
    fl = st.floats
    evs = []
    sessions = []
    for i in range(n):
        bidir = draw(st.booleans())
        mode = draw(st.sampled_from(MODES if bidir else MODES[:3]))
        evs.append(
            {
                "battery_kwh": draw(fl(5.0, 120.0)),
                "charger_kw": draw(st.one_of(st.sampled_from([3.7, 11.0, 22.0]), fl(0.5, 50.0))),
                "bidirectional": bidir,
                "eta_charge": draw(fl(0.7, 1.0)),
                "eta_discharge": draw(fl(0.7, 1.0)),
                "soc_min": draw(fl(0.0, 0.4)),
                "soc_max": draw(fl(0.6, 1.0)),
                "mode": mode,
            }
        )
        t = draw(fl(0.0, 4000.0))
        for _ in range(draw(st.integers(0, 3))):
            a = t + draw(st.one_of(st.just(0.0), fl(0.0, 10000.0)))
            d = a + draw(st.one_of(fl(1.0, 1800.0), fl(1.0, 30000.0)))
            sessions.append((i, a, d, draw(fl(0.0, 1.0)), draw(fl(0.0, 1.0))))
            t = d
    dt_s = draw(st.sampled_from([300.0, 900.0, 1000.7, 3600.0]))
    p_set = draw(st.lists(st.one_of(fl(-60.0, 60.0), st.sampled_from([0.0, np.inf, -np.inf]))))
    return {"evs": evs, "sessions": sessions, "dt_s": dt_s, "p_set": p_set}


def build(case: dict) -> EVFleet:
    cols = {k: [ev[k] for ev in case["evs"]] for k in case["evs"][0]}
    fleet = EVFleet(
        cols["battery_kwh"],
        cols["charger_kw"],
        bidirectional=cols["bidirectional"],
        eta_charge=cols["eta_charge"],
        eta_discharge=cols["eta_discharge"],
        soc_min=cols["soc_min"],
        soc_max=cols["soc_max"],
        mode=cols["mode"],
    )
    s = case["sessions"]
    fleet.set_sessions(
        [x[0] for x in s],
        [x[1] for x in s],
        [x[2] for x in s],
        [x[4] for x in s],
        soc_arrival=[x[3] for x in s],
    )
    return fleet


@settings(max_examples=120, deadline=None)
@given(fleet_case())
def test_properties_bounds_accounting_limits_departures(case: dict) -> None:
    fleet = build(case)
    n, dt_s, dt_h = fleet.n_ev, case["dt_s"], case["dt_s"] / 3600.0
    sessions = case["sessions"]
    t_end = max([x[2] for x in sessions], default=0.0) + dt_s
    n_steps = int(np.ceil(t_end / dt_s)) + 1
    unmet, n_dep = np.zeros(n), np.zeros(n, dtype=int)
    p_set_seq = case["p_set"] or [0.0]
    rate = fleet.charger_kw * fleet.eta_charge
    soc_arr_max = np.zeros(n)
    for ev, _, _, soc_a, _ in sessions:
        soc_arr_max[ev] = max(soc_arr_max[ev], soc_a)
    s_ev = np.array([x[0] for x in sessions], dtype=int)
    s_arr, s_dep = (np.array([x[i] for x in sessions], dtype=float) for i in (1, 2))
    for k in range(n_steps):
        t0, t1 = k * dt_s, (k + 1) * dt_s
        p_set = np.full(n, p_set_seq[k % len(p_set_seq)])
        p_lo, p_hi = fleet.feasible_power_kw(dt_s)
        soc0 = fleet.soc.copy()
        res = fleet.step(dt_s, p_set)
        # SoC bounds: never below 0 (and not below soc_min by discharging), never above soc_max
        # unless the EV arrived above it
        assert np.all(res.soc >= -1e-12)
        assert np.all(res.soc <= np.maximum(fleet.soc_max, soc_arr_max) + 1e-12)
        # plugged fraction: independent overlap of the sessions with the step
        overlap = np.maximum(0.0, np.minimum(s_dep, t1) - np.maximum(s_arr, t0)) / dt_s
        plug = np.bincount(s_ev, weights=overlap, minlength=n)
        arrived = np.bincount(s_ev, weights=(s_arr >= t0) & (s_arr < t1), minlength=n) > 0
        np.testing.assert_allclose(res.plugged, plug, rtol=1e-12, atol=1e-12)
        # V2G never discharges below soc_min (checked where no new session began in the step)
        assert np.all((res.p_kw >= 0) | (res.soc >= fleet.soc_min - 1e-12) | arrived)
        # power limits (mean over the step scales with the plugged fraction); absolute slack
        # 1e-9 kW: splitting a step at a departure leaves round-off of order 1e-12 kW
        assert np.all(res.p_kw <= fleet.charger_kw * plug * (1 + 1e-12) + 1e-9)
        assert np.all(res.p_kw >= -fleet.p_discharge_max_kw * plug * (1 + 1e-12) - 1e-9)
        assert np.all((res.p_kw >= 0) | (fleet.mode == MODES.index("v2g")))
        assert np.all(p_lo <= res.p_kw + 1e-9) and np.all(res.p_kw <= p_hi + 1e-9)
        # energy accounting: AC in = stored change + losses + AC out, losses from efficiencies
        e_in, e_out = res.e_charged_kwh, res.e_discharged_kwh
        np.testing.assert_allclose(res.p_kw * dt_h, e_in - e_out, rtol=1e-12, atol=TOL)
        assert np.all(np.abs(e_in - res.e_stored_delta_kwh - res.e_loss_kwh - e_out) <= TOL)
        loss = e_in * (1 - fleet.eta_charge) + e_out * (1 / fleet.eta_discharge - 1)
        np.testing.assert_allclose(res.e_loss_kwh, loss, rtol=1e-9, atol=TOL)
        de_state = (res.soc - soc0) * fleet.battery_kwh
        np.testing.assert_allclose(
            res.e_stored_delta_kwh[~arrived], de_state[~arrived], rtol=0, atol=TOL
        )
        unmet += res.e_unmet_kwh
        n_dep += res.n_departures
    # every departure reported; feasible needs met, infeasible ones report their shortfall
    exp_unmet = np.zeros(n)
    for ev, a, d, soc_a, soc_req in sessions:
        cap = fleet.battery_kwh[ev]
        need = max(min(soc_req, fleet.soc_max[ev]) * cap - soc_a * cap, 0.0)
        exp_unmet[ev] += max(need - rate[ev] * (d - a) / 3600.0, 0.0)
    np.testing.assert_array_equal(n_dep, np.bincount([x[0] for x in sessions], minlength=n))
    np.testing.assert_allclose(unmet, exp_unmet, rtol=0, atol=TOL * (1 + n_dep.max(initial=0)))


def single(mode: str, a: float, d: float, soc_a: float, soc_req: float, **kw) -> EVFleet:
    f = EVFleet(50.0, 11.0, eta_charge=0.9, mode=mode, **kw)
    f.set_sessions([0], [a], [d], [soc_req], soc_arrival=[soc_a])
    return f


def run(f: EVFleet, n: int, dt_s: float = 900.0, p_set: float | None = None) -> pd.DataFrame:
    rows = [f.step(dt_s, p_set) for _ in range(n)]
    return pd.DataFrame({k: [getattr(r, k)[0] for r in rows] for k in ("p_kw", "soc", "plugged")})


def test_uncontrolled_partial_first_step_and_full_stop() -> None:
    f = single("uncontrolled", 1000.0, 20000.0, 0.5, 0.8)
    out = run(f, 12)
    assert out.p_kw[0] == 0.0
    assert out.p_kw[1] == pytest.approx(11.0 * (1800.0 - 1000.0) / 900.0, rel=1e-12)
    # 25 kWh to full at 9.9 kW stored: full after 1000 s + 25/9.9 h
    t_full = 1000.0 + 25.0 / 9.9 * 3600.0
    k = int(t_full // 900.0)
    assert out.p_kw[k] == pytest.approx(11.0 * (t_full - k * 900.0) / 900.0, rel=1e-9)
    assert (out.p_kw[k + 1 :] == 0.0).all()
    assert out.soc.iloc[-1] == pytest.approx(1.0, abs=1e-12)


def test_delayed_latest_start_exact() -> None:
    a, d = 1000.3, 30000.7
    f = single("delayed", a, d, 0.4, 0.8)
    out = run(f, 36)
    t_ls = d - 20.0 / 9.9 * 3600.0  # 20 kWh needed at 11 kW x 0.9
    k0, k1 = int(t_ls // 900.0), int(d // 900.0)
    expected = np.zeros(36)
    expected[k0] = 11.0 * ((k0 + 1) * 900.0 - t_ls) / 900.0
    expected[k0 + 1 : k1] = 11.0
    expected[k1] = 11.0 * (d - k1 * 900.0) / 900.0
    np.testing.assert_allclose(out.p_kw, expected, rtol=1e-9, atol=1e-9)
    assert f.soc[0] == pytest.approx(0.8, abs=1e-12)


def test_infeasible_session_reports_unmet_energy() -> None:
    for mode in ("uncontrolled", "delayed", "controlled"):
        f = single(mode, 450.0, 450.0 + 3600.0, 0.1, 0.9)  # 40 kWh needed, 9.9 kWh possible
        unmet = sum(f.step(900.0, -5.0).e_unmet_kwh[0] for _ in range(6))
        assert unmet == pytest.approx(40.0 - 9.9, abs=1e-9)


def test_controlled_setpoint_floor_and_feasible_range() -> None:
    f = single("controlled", 0.0, 4 * 3600.0, 0.5, 0.9)  # 20 kWh in 4 h at 9.9 kW
    lo, hi = f.feasible_power_kw(900.0)
    assert lo[0] == pytest.approx(0.0) and hi[0] == pytest.approx(11.0)
    assert f.step(900.0, 4.0).p_kw[0] == pytest.approx(4.0, rel=1e-12)  # followed
    assert f.step(900.0, 50.0).p_kw[0] == pytest.approx(11.0, rel=1e-12)  # clipped
    out = run(f, 14, p_set=0.0)  # a zero setpoint is raised to the floor
    assert f.soc[0] == pytest.approx(0.9, abs=1e-12)
    assert (out.p_kw.iloc[-1] > 0.0) and (out.p_kw.iloc[0] == 0.0)


def test_v2g_discharges_but_departs_with_required_soc() -> None:
    f = single("v2g", 0.0, 8 * 3600.0, 0.8, 0.8, bidirectional=True, soc_min=0.2)
    out = run(f, 40, p_set=-11.0)
    assert out.p_kw.min() == pytest.approx(-11.0, rel=1e-12)
    assert f.soc[0] == pytest.approx(0.8, abs=1e-9)
    # the trough is where the remaining time at full charging power just covers the need
    assert out.soc.min() >= 0.2 - 1e-12
    with pytest.raises(EVParameterError, match="bidirectional"):
        EVFleet(50.0, 11.0, mode="v2g")


def test_two_sessions_in_one_step() -> None:
    f = EVFleet(50.0, 10.0, eta_charge=1.0)
    f.set_sessions([0, 0], [100.0, 500.0], [400.0, 800.0], [1.0, 1.0], soc_arrival=[0.2, 0.3])
    res = f.step(900.0)
    assert res.plugged[0] == pytest.approx(600.0 / 900.0)
    assert res.e_charged_kwh[0] == pytest.approx(10.0 * 600.0 / 3600.0, rel=1e-12)
    assert res.n_departures[0] == 2
    assert res.e_unmet_kwh[0] == pytest.approx((40.0 - 10 / 12) + (35.0 - 10 / 12), rel=1e-12)


def test_required_energy_output_and_session_before_start() -> None:
    f = EVFleet([50.0, 50.0], 11.0, eta_charge=1.0, mode="delayed", t_start_s=3600.0)
    f.set_sessions([0, 1], [0.0, 100.0], [7200.0, 1000.0], [0.6, 1.0], soc_arrival=[0.5, 0.5])
    res = f.step(900.0)  # EV 1's session is over before the start and ignored
    assert res.e_required_kwh[0] == pytest.approx(5.0)
    assert res.plugged[1] == 0.0 and res.e_required_kwh[1] == 0.0


def test_aggregate_by_bus() -> None:
    p = np.array([1.0, 2.0, 3.0, 4.5])
    np.testing.assert_array_equal(aggregate_by_bus(p, [0, 2, 0, 2], 4), [4.0, 0.0, 6.5, 0.0])
    with pytest.raises(EVParameterError):
        aggregate_by_bus(p, [0, 1, 2], 3)
    with pytest.raises(EVParameterError):
        aggregate_by_bus(p, [0, 1, 2, 3], 3)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([0, 0], [0.0, 100.0], [200.0, 300.0], [1.0, 1.0]), "overlap"),
        (([0], [100.0], [100.0], [1.0]), "departure"),
        (([2], [0.0], [100.0], [1.0]), "unknown EV"),
        (([0], [0.0], [100.0], [1.2]), "soc_departure_required"),
    ],
)
def test_session_validation(args: tuple, match: str) -> None:
    f = EVFleet([50.0, 40.0], 11.0)
    with pytest.raises(EVSessionError, match=match):
        f.set_sessions(*args, soc_arrival=[0.5] * len(args[0]))
    with pytest.raises(EVSessionError, match="battery"):
        f.set_sessions([1], [0.0], [10.0], [1.0], e_arrival_kwh=[45.0])
    with pytest.raises(EVParameterError, match="mode"):
        EVFleet(50.0, 11.0, mode="smart")
    with pytest.raises(EVParameterError, match="charger_kw"):
        EVFleet(50.0, 0.0)


def test_from_sessions_frame() -> None:
    t0 = pd.Timestamp("2024-03-04")
    df = pd.DataFrame(
        {
            "ev_id": ["a", "b", "a"],
            "battery_kwh": [60.0, 40.0, 60.0],
            "ac_charge_kw": [11.0, 3.6, 11.0],
            "v2g": [False, True, False],
            "arrival": t0 + pd.to_timedelta([18, 19, 42], unit="h"),
            "departure": t0 + pd.to_timedelta([31, 20, 50], unit="h"),
            "soc_arrival": [0.5, 0.5, 0.2],
            "soc_departure_required": [1.0, 1.0, 1.0],
        }
    )
    f = EVFleet.from_sessions(df, t0=t0, charger_kw=7.4, mode="v2g")
    assert list(f.ev_ids) == ["a", "b"]
    np.testing.assert_array_equal(f.charger_kw, [7.4, 3.6])
    assert [MODES[m] for m in f.mode] == ["controlled", "v2g"]
    n_dep = sum(f.step(3600.0).n_departures for _ in range(60))
    np.testing.assert_array_equal(n_dep, [2, 1])
