"""The compiled EV fleet step equals the former vectorised form bit for bit."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings

from pedsim.physics import ev_kernel
from pedsim.physics.ev import MODES, EVFleet, EVStepResult
from tests.test_ev import build, fleet_case

_UNC, _DEL, _CTL, _V2G = range(4)


def _segments(f: EVFleet, t0: float, t1: float, pos: np.ndarray) -> list[tuple[np.ndarray, ...]]:
    rounds = []
    todo = np.arange(f.n_ev)
    while todo.size:
        todo = todo[pos[todo] < f._stop[todo]]
        s = pos[todo]
        inside = f._arr[s] < t1
        todo, s = todo[inside], s[inside]
        if not todo.size:
            break
        d = f._dep[s]
        rounds.append((todo, s, np.maximum(f._arr[s], t0), np.minimum(d, t1)))
        ended = d <= t1
        pos[todo[ended]] += 1
        todo = todo[ended]
    return rounds


def reference_advance(f: EVFleet, dt_s: float, p_set_kw: np.ndarray | None) -> tuple:
    """The vectorised ``EVFleet._advance`` of pedsim before the compiled kernel."""
    n = f.n_ev
    p_set = np.zeros(n) if p_set_kw is None else np.broadcast_to(np.asarray(p_set_kw, float), (n,))
    t0, t1 = f.t_s, f.t_s + dt_s
    e, active, pos = f.e_kwh.copy(), f._active.copy(), f._ptr.copy()
    rounds = _segments(f, t0, t1, pos)
    plugged_s = np.zeros(n)
    for ev, _, s0, s1 in rounds:
        plugged_s[ev] += s1 - s0
    e_in, e_out, de_tot, unmet, n_dep = (np.zeros(n) for _ in range(5))
    eta_c, eta_d = f.eta_charge, f.eta_discharge
    for ev, s, s0, s1 in rounds:
        new = active[ev] != s
        e[ev[new]] = f._e_arr[s[new]]
        active[ev[new]] = s[new]
        ee, cap, d, req = e[ev], f.battery_kwh[ev], f._dep[s], f._e_req[s]
        h = (s1 - s0) / 3600.0
        rate_c = f.charger_kw[ev] * eta_c[ev]
        hi = np.maximum(np.minimum(rate_c * h, f.soc_max[ev] * cap - ee), 0.0)
        need = np.maximum(req - ee, 0.0)
        t_late = d - need / rate_c * 3600.0
        de_del = np.minimum(
            rate_c * np.maximum(s1 - np.maximum(s0, t_late), 0.0) / 3600.0, np.minimum(need, hi)
        )
        mode = f.mode[ev]
        floor = req - rate_c * (d - s1) / 3600.0 - ee
        v2g = mode == _V2G
        lo_v2g = np.maximum(
            -f.p_discharge_max_kw[ev] / eta_d[ev] * h, np.minimum(f.soc_min[ev] * cap - ee, 0.0)
        )
        lo = np.minimum(np.maximum(floor, np.where(v2g, lo_v2g, 0.0)), hi)
        p_seg = p_set[ev] * dt_s / plugged_s[ev]
        de_set = np.where(p_seg >= 0.0, p_seg * eta_c[ev] * h, p_seg / eta_d[ev] * h)
        de_ctl = np.clip(de_set, lo, hi)
        de = np.select([mode == _UNC, mode == _DEL], [hi, de_del], de_ctl)
        e_ac = np.where(de >= 0.0, de / eta_c[ev], de * eta_d[ev])
        e[ev] = ee + de
        e_in[ev] += np.maximum(e_ac, 0.0)
        e_out[ev] += np.maximum(-e_ac, 0.0)
        de_tot[ev] += de
        ended = d <= t1
        unmet[ev[ended]] += np.maximum(req - e[ev], 0.0)[ended]
        n_dep[ev[ended]] += 1
    e_req_end = np.zeros(n)
    if f._arr.size:
        s_now = np.minimum(pos, f._arr.size - 1)
        at_end = (pos < f._stop) & (f._arr[s_now] < t1)
        e_req_end[at_end] = np.maximum(f._e_req[s_now] - e, 0.0)[at_end]
    dt_h = dt_s / 3600.0
    res = EVStepResult(
        (e_in - e_out) / dt_h, e / f.battery_kwh, plugged_s / dt_s, e_req_end, unmet,
        n_dep.astype(np.int64), e_in, e_out, de_tot, e_in - e_out - de_tot,
    )  # fmt: skip
    return res, e, active, pos


def test_mode_codes_match() -> None:
    assert MODES.index("uncontrolled") == ev_kernel._UNC
    assert MODES.index("delayed") == ev_kernel._DEL
    assert MODES.index("v2g") == ev_kernel._V2G


@settings(max_examples=150, deadline=None)
@given(fleet_case())
def test_kernel_equals_vectorised_form(case: dict) -> None:
    fleet = build(case)
    dt_s = case["dt_s"]
    rng = np.random.default_rng(len(case["p_set"]))
    for k in range(40):
        p_set = None
        if k % 3:
            p_set = rng.choice([*case["p_set"], 0.0, 5.0, -3.0], size=fleet.n_ev)
        ref, e, active, pos = reference_advance(fleet, dt_s, p_set)
        res = fleet.step(dt_s, p_set)
        for name in EVStepResult.__dataclass_fields__:
            np.testing.assert_array_equal(getattr(res, name), getattr(ref, name), err_msg=name)
        np.testing.assert_array_equal(fleet.e_kwh, e)
        np.testing.assert_array_equal(fleet._active, active)
        np.testing.assert_array_equal(fleet._ptr, pos)
