"""Grids of 10, 100 and 1000 buildings for the scaling benchmark, cut from SimBench grids.

pedsim makes one building per in-service SimBench household load (profile ``H...``), and
SimBench has no grid with about 10 or about 1000 of them: its LV grids have 3-113
household loads, its ``1-MVLV-<type>-all-0-sw`` grids (MV grid with every LV grid below
it) 4,623-10,225. :func:`cut_net` therefore keeps the buses a depth-first walk from the
external grid reaches first, until the wanted number of household loads is reached, and
drops the rest (buses, their lines, transformers, loads and generators); the last bus
kept may add a few more household loads than asked for. Depth-first keeps whole LV
feeders (and, in an MV/LV grid, whole LV grids below their MV/LV transformers) together;
the last one is cut part-way. Static generators that are not PV (MV wind, biomass,
hydro) are dropped, since the scaling worlds model PV with pvlib. The SimBench profiles
stay attached (``net.profiles``), so the result is a valid ``grid.pandapower_json`` for
a scenario.

``python -m benchmarks.grids`` writes the three grids of :data:`SIZES` and prints their
size.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

OUT = Path("benchmarks/out/grids")

#: Wanted buildings -> (SimBench code it is cut from, household loads to keep; None: all).
SIZES: dict[int, tuple[str, int | None]] = {
    10: ("1-LV-urban6--0-sw", 10),
    100: ("1-LV-urban6--0-sw", None),
    1000: ("1-MVLV-urban-all-0-sw", 1000),
}


def _households(net: Any) -> Any:
    load = net.load
    return load.in_service.astype(bool) & load.profile.astype(str).str.startswith("H")


def cut_net(code: str, n_households: int | None) -> Any:
    """Return SimBench grid ``code`` cut to its first ``n_households`` household loads.

    Parameters
    ----------
    code : str
        SimBench code.
    n_households : int or None
        Household loads to keep (None: the whole grid; non-PV generators still dropped).

    Returns
    -------
    pandapower.pandapowerNet
        The cut grid, with the SimBench ``profiles`` of the original.
    """
    import networkx as nx
    import pandapower.toolbox as pp
    import pandapower.topology as top
    import simbench

    net = simbench.get_simbench_net(code)
    sgen = net.sgen
    kinds = (sgen.type.astype(str) + " " + sgen.profile.astype(str)).str.upper()
    pp.drop_elements_simple(net, "sgen", sgen.index[~kinds.str.contains("PV")])
    if n_households is None:
        return net
    graph = top.create_nxgraph(net, respect_switches=True)
    house_bus = net.load.bus[_households(net)].value_counts()
    keep: list[int] = []
    count = 0
    for bus in nx.dfs_preorder_nodes(graph, int(net.ext_grid.bus.iloc[0])):
        if count >= n_households:  # a prefix of the walk: connected
            break
        keep.append(int(bus))
        count += int(house_bus.get(bus, 0))
    drop = net.bus.index.difference(keep)
    pp.drop_buses(net, drop, drop_elements=True)
    for element in ("line", "trafo", "switch"):  # elements left without both ends
        table = net[element]
        if table.empty:
            continue
        cols = {"line": ("from_bus", "to_bus"), "trafo": ("hv_bus", "lv_bus")}.get(element)
        if cols is None:
            bad = ~table.bus.isin(net.bus.index)
        else:
            bad = ~(table[cols[0]].isin(net.bus.index) & table[cols[1]].isin(net.bus.index))
        if bad.any():
            pp.drop_elements(net, element, table.index[bad])
    return net


def grid_path(n: int) -> Path:
    """Return the JSON file of the ``n``-building grid, writing it first when missing.

    Parameters
    ----------
    n : int
        A key of :data:`SIZES`.

    Returns
    -------
    pathlib.Path
        Absolute path of the pandapower JSON file.
    """
    import pandapower as pp

    code, keep = SIZES[n]
    path = (OUT / f"{code}-{keep or 'all'}.json").absolute()
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        net = cut_net(code, keep)
        pp.to_json(net, str(path))
    return path


def describe(path: Path) -> dict[str, Any]:
    """Size of a grid file: buses, lines, transformers, household loads, PV plants.

    Parameters
    ----------
    path : pathlib.Path
        pandapower JSON file.

    Returns
    -------
    dict
        Counts.
    """
    import pandapower as pp

    net = pp.from_json(str(path))
    return {
        "buses": len(net.bus),
        "lines": len(net.line),
        "trafos": len(net.trafo),
        "loads": len(net.load),
        "households": int(_households(net).sum()),
        "pv": len(net.sgen),
        "voltages_kv": sorted(float(v) for v in np.unique(net.bus.vn_kv)),
        "profiles": bool(getattr(net, "profiles", None)),
    }


if __name__ == "__main__":
    for size in [int(a) for a in sys.argv[1:]] or SIZES:
        p = grid_path(size)
        print(size, SIZES[size][0], p.name, describe(p))
