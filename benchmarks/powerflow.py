"""Grid power flow per step: pedsim's kernel against pandapower.runpp on the same steps."""

from __future__ import annotations

import time

import numpy as np
import pandapower as pp
import simbench

from pedsim.physics.powerflow import FastPowerFlow

LV_GRIDS = [f"1-LV-{g}--0-sw" for g in ("rural1", "rural2", "rural3", "semiurb4", "semiurb5")]
LV_GRIDS.append("1-LV-urban6--0-sw")


def bench_grid(code: str, n_fast: int = 2000, n_runpp: int = 40) -> dict[str, float]:
    """Time both solvers on consecutive SimBench profile steps of one grid."""
    net = simbench.get_simbench_net(code)
    prof = simbench.get_absolute_values(net, profiles_instead_of_study_cases=True)
    bus = net.bus.index
    pos = {b: i for i, b in enumerate(bus)}
    lp = np.array([pos[b] for b in net.load.bus])
    sp = np.array([pos[b] for b in net.sgen.bus])
    p_load, q_load = prof[("load", "p_mw")].to_numpy(), prof[("load", "q_mvar")].to_numpy()
    p_sgen = prof[("sgen", "p_mw")].to_numpy()

    def injections(k: int) -> tuple[np.ndarray, np.ndarray]:
        p = np.bincount(lp, p_load[k], len(bus)) - np.bincount(sp, p_sgen[k], len(bus))
        return 1000 * p, 1000 * np.bincount(lp, q_load[k], len(bus))

    pf = FastPowerFlow(net)
    pf.solve(*injections(0))  # compile and warm up
    t0 = time.perf_counter()
    for k in range(n_fast):
        res = pf.solve(*injections(k))
    fast = (time.perf_counter() - t0) / n_fast
    worst = 0.0
    t_pp = 0.0
    for k in range(0, n_runpp * 50, 50):
        net.load["p_mw"], net.load["q_mvar"] = p_load[k], q_load[k]
        net.sgen["p_mw"] = p_sgen[k]
        t0 = time.perf_counter()
        pp.runpp(net)
        t_pp += time.perf_counter() - t0
        res = pf.solve(*injections(k))
        worst = max(worst, float(np.nanmax(np.abs(res.vm_pu - net.res_bus.vm_pu.to_numpy()))))
    slow = t_pp / n_runpp
    return {"fast_us": fast * 1e6, "runpp_ms": slow * 1e3, "ratio": slow / fast, "dvm": worst}


def main() -> None:
    """Print the power-flow table."""
    print("Grid power flow per step: pedsim kernel vs pandapower.runpp (same steps)")
    print(f"{'grid':<22} {'kernel µs':>10} {'runpp ms':>9} {'speed-up':>9} {'max|Δvm| pu':>12}")
    for code in LV_GRIDS:
        r = bench_grid(code)
        print(
            f"{code:<22} {r['fast_us']:>10.1f} {r['runpp_ms']:>9.1f} {r['ratio']:>8.0f}x "
            f"{r['dvm']:>12.1e}"
        )


if __name__ == "__main__":
    main()
