"""Builder for EV fleets and batteries: start their simulators, connect and record them.

EVs feed their per-bus power into the grid. Batteries read the per-bus power of every unit
already connected to the grid (loads, PV, heat pumps, EVs: builders that add such units run
before this one) to decide their default self-consumption set-points, and feed the grid
themselves; they never read the grid, so there is no same-time cycle.

Random draws (placements on household buses, ElaadNL sessions) come from ``ctx.rng`` in a
fixed order: EV fleets in scenario order (placement, then sessions), then battery groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pedsim.physics.battery import Battery, load_battery_types
from pedsim.physics.ev import EVFleet
from pedsim.physics.ev_sessions import load_elaadnl, load_ev_types, load_trip_table, sample_sessions
from pedsim.scenario import Scenario, resolve_input
from pedsim.scenario.flex import (
    TRAFO_LV,
    BatteryGroupConfig,
    Placement,
    battery_parameters,
    catalogue_path,
)

if TYPE_CHECKING:
    from pedsim.run.world import BuildContext

EV_SERIES = ("p_kw", "soc", "plugged", "e_required_kwh", "e_unmet_kwh", "n_departures")
STORAGE_SERIES = ("p_kw", "soc", "e_throughput_kwh", "efc")


@dataclass(frozen=True)
class FleetSetup:
    """An EV fleet ready to simulate.

    Attributes
    ----------
    fleet : EVFleet
        The fleet; session times in seconds from the scenario start.
    names : list of str
        One label per EV (``<fleet>.<k>`` or ``<fleet>.<ev_id>`` for trip tables).
    bus_ids : numpy.ndarray
        pandapower bus of each EV's charge point.
    sessions : pandas.DataFrame
        Every session: ``ev`` (position in the fleet), ``arrival_s``, ``departure_s``,
        ``e_arrival_kwh``, ``soc_departure_required``.
    """

    fleet: EVFleet
    names: list[str]
    bus_ids: np.ndarray
    sessions: pd.DataFrame


@dataclass(frozen=True)
class StorageSetup:
    """Batteries ready to simulate (same order in every array).

    Attributes
    ----------
    battery : Battery
        All units.
    names : list of str
        Labels.
    bus_ids : numpy.ndarray
        pandapower bus of each unit.
    community : numpy.ndarray
        True for community batteries.
    local : numpy.ndarray
        True for self-consumption control without a set-point (else idle).
    """

    battery: Battery
    names: list[str]
    bus_ids: np.ndarray
    community: np.ndarray
    local: np.ndarray


def household_buses(net: Any) -> np.ndarray:
    """Buses of in-service household loads (SimBench profile ``H0...``; all loads if unknown).

    Parameters
    ----------
    net : pandapower.pandapowerNet
        The grid.

    Returns
    -------
    numpy.ndarray
        Sorted unique pandapower bus ids.
    """
    loads = net.load[net.load.in_service.astype(bool)]
    if "profile" in loads.columns:
        loads = loads[loads.profile.astype(str).str.startswith("H0")]
    return np.unique(loads.bus.to_numpy(dtype=np.int64))


def trafo_lv_bus(net: Any) -> int:
    """Low-voltage bus of the first in-service transformer (``trafo_lv`` in scenarios)."""
    trafos = net.trafo[net.trafo.in_service.astype(bool)]
    if trafos.empty:
        raise ValueError("bus 'trafo_lv' named, but the grid has no in-service transformer")
    return int(trafos.lv_bus.iloc[0])


def place(
    group: Placement,
    n: int | None,
    net: Any,
    rng: np.random.Generator,
    *,
    default_bus: str | None = None,
) -> np.ndarray:
    """Buses of a group's units (rules in :mod:`pedsim.scenario.flex`).

    Parameters
    ----------
    group : Placement
        The group's placement fields.
    n : int or None
        Number of units when fixed by other data (a trip table).
    net : pandapower.pandapowerNet
        The grid.
    rng : numpy.random.Generator
        Draws household buses.
    default_bus : str, optional
        Bus used when the group names no bus, buses or share (``trafo_lv`` for community
        batteries).

    Returns
    -------
    numpy.ndarray
        pandapower bus id per unit.
    """

    def ref(bus: int | str) -> int:
        return trafo_lv_bus(net) if bus == TRAFO_LV else int(bus)

    count = n if n is not None else group.count
    if group.buses is not None:
        return np.array([ref(b) for b in group.buses], dtype=np.int64)
    bus = group.bus if group.bus is not None else (default_bus if group.share is None else None)
    if bus is not None:
        return np.full(1 if count is None else count, ref(bus), dtype=np.int64)
    homes = household_buses(net)
    if homes.size == 0:
        raise ValueError("units placed on household buses, but the grid has no household loads")
    if group.share is not None:
        k = round(group.share * homes.size)
        return np.sort(rng.choice(homes, size=k, replace=False))
    count = int(count or 0)
    rounds = -(-count // homes.size)
    drawn = [rng.permutation(homes) for _ in range(rounds)]
    return np.sort(np.concatenate([np.zeros(0, np.int64), *drawn])[:count])


# ----------------------------------------------------------------------------------------------
# EVs
# ----------------------------------------------------------------------------------------------


def build_fleet(scenario: Scenario, net: Any, rng: np.random.Generator) -> FleetSetup | None:
    """Create the scenario's EV fleet: placements, sessions, parameters.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario with an ``ev`` section.
    net : pandapower.pandapowerNet
        The grid.
    rng : numpy.random.Generator
        The run's generator.

    Returns
    -------
    FleetSetup or None
        None when the scenario has no EVs.
    """
    cfg = scenario.ev
    if cfg is None:
        return None
    types = load_ev_types(catalogue_path(cfg.catalogue, "ev_types.yaml", scenario.source_path))
    start, end = scenario.start_ts, scenario.end_ts
    elaad = None
    cols: dict[str, list[Any]] = {k: [] for k in ("cap", "kw", "v2g_kw", "bidi")}
    names: list[str] = []
    buses: list[np.ndarray] = []
    modes: list[str] = []
    parts: list[pd.DataFrame] = []
    for i, g in enumerate(cfg.fleets):
        label = g.name or f"fleet{i}"
        fixed = types[g.ev_type] if g.ev_type is not None else None
        if g.trip_table is not None:
            file = resolve_input(scenario.source_path, g.trip_table)
            table = load_trip_table(file, ev_types=types)
            ids = list(pd.unique(table["ev_id"]))
            local = pd.Index(ids).get_indexer(table["ev_id"])
            ev_names = [f"{label}.{x}" for x in ids]
        else:
            n = len(g.buses) if g.buses is not None else None
            ev_bus = place(g, n, net, rng)
            ids = list(range(ev_bus.size))
            elaad = elaad or load_elaadnl()
            table = sample_sessions(
                rng, len(ids), start, end, g.charger,
                {g.ev_type: fixed} if fixed is not None else types,
                session_probability=g.session_probability,
                soc_departure_required=g.soc_departure_required, data=elaad,
            )  # fmt: skip
            local = table["ev_id"].to_numpy(dtype=np.int64)
            ev_names = [f"{label}.{k}" for k in ids]
        if g.trip_table is not None:
            ev_bus = place(g, len(ids), net, rng)
        offset = len(names)
        what = (label, table, local, ids)
        cap = _per_ev(what, "battery_kwh", fixed.battery_kwh if fixed else np.nan)
        cols["cap"].append(np.where(np.isnan(cap), 1.0, cap))  # EVs without sessions
        ac = _per_ev(what, "ac_charge_kw", fixed.ac_charge_kw if fixed else g.charger_kw)
        cols["kw"].append(np.minimum(g.charger_kw, ac))
        v2g_ok = _per_ev(what, "v2g", float(fixed.v2g) if fixed else 0.0) > 0.5
        v2g_kw = _per_ev(what, "v2g_discharge_kw", fixed.v2g_discharge_kw if fixed else 0.0)
        if g.v2g_discharge_kw is not None:
            v2g_kw = np.minimum(v2g_kw, g.v2g_discharge_kw)
        bidi = g.bidirectional & v2g_ok & (v2g_kw > 0)
        cols["bidi"].append(bidi)
        cols["v2g_kw"].append(np.where(bidi, np.minimum(v2g_kw, cols["kw"][-1]), 0.0))
        mode = g.mode or cfg.mode
        modes += ["controlled" if (mode == "v2g" and not b) else mode for b in bidi]
        names += ev_names
        buses.append(ev_bus)
        if "e_arrival_kwh" in table.columns:
            e_arr = table["e_arrival_kwh"].to_numpy(dtype=float)
        else:  # trip table with SoCs only: capacity of the fleet's EV type
            e_arr = table["soc_arrival"].to_numpy(dtype=float) * cap[local]
        parts.append(_sessions_seconds(table, local + offset, start, e_arr))
    if not names:
        return None
    fleet = EVFleet(
        np.concatenate(cols["cap"]),
        np.concatenate(cols["kw"]),
        p_discharge_max_kw=np.concatenate(cols["v2g_kw"]),
        bidirectional=np.concatenate(cols["bidi"]),
        eta_charge=cfg.eta_charge,
        eta_discharge=cfg.eta_discharge,
        soc_min=cfg.soc_min,
        soc_max=cfg.soc_max,
        mode=modes,
    )
    sessions = pd.concat(parts, ignore_index=True)
    fleet.set_sessions(
        sessions["ev"].to_numpy(),
        sessions["arrival_s"].to_numpy(),
        sessions["departure_s"].to_numpy(),
        sessions["soc_departure_required"].to_numpy(),
        e_arrival_kwh=sessions["e_arrival_kwh"].to_numpy(),
    )
    fleet.ev_ids = np.asarray(names)
    return FleetSetup(fleet, names, np.concatenate(buses), sessions)


_GroupTable = tuple[str, pd.DataFrame, np.ndarray, list[Any]]


def _per_ev(what: _GroupTable, col: str, default: float) -> np.ndarray:
    """One value per EV of a group from its session table (``default`` where absent)."""
    label, table, local, ids = what
    out = np.full(len(ids), default, dtype=float)
    if col in table.columns:
        values = table[col].to_numpy(dtype=float)
        out[local] = values
        bad = values != out[local]
        if bad.any():
            raise ValueError(
                f"fleet {label!r}: {col} differs between the sessions of EV "
                f"{ids[local[np.flatnonzero(bad)[0]]]!r}; expected one value per EV"
            )
    return out


def _sessions_seconds(
    table: pd.DataFrame, ev: np.ndarray, start: pd.Timestamp, e_arr: np.ndarray
) -> pd.DataFrame:
    """Sessions on the fleet's time base (seconds from the scenario start)."""
    arr, dep = table["arrival"], table["departure"]
    if pd.api.types.is_datetime64_any_dtype(arr):
        a_s = ((arr - start) / pd.Timedelta(seconds=1)).to_numpy(dtype=float)
        d_s = ((dep - start) / pd.Timedelta(seconds=1)).to_numpy(dtype=float)
    else:
        a_s, d_s = arr.to_numpy(dtype=float), dep.to_numpy(dtype=float)
    return pd.DataFrame(
        {
            "ev": ev.astype(np.int64),
            "arrival_s": a_s,
            "departure_s": d_s,
            "e_arrival_kwh": e_arr,
            "soc_departure_required": table["soc_departure_required"].to_numpy(dtype=float),
        }
    )


# ----------------------------------------------------------------------------------------------
# batteries
# ----------------------------------------------------------------------------------------------


def build_storage(scenario: Scenario, net: Any, rng: np.random.Generator) -> StorageSetup | None:
    """Create the scenario's batteries: the grid's storage elements, then the scenario's groups.

    The grid's storage elements (SimBench ``net.storage``) become home batteries with
    capacity ``max_e_mwh``, power ``sn_mva`` (or the largest of ``|p_mw|``, ``|min_p_mw|``,
    ``|max_p_mw|``), ``efficiency_percent`` as the one-way efficiency of charging and of
    discharging, ``self-discharge_percent_per_day``, ``soc_min = min_e_mwh / max_e_mwh`` and
    the initial ``soc_percent``.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario with a ``storage`` section.
    net : pandapower.pandapowerNet
        The grid.
    rng : numpy.random.Generator
        The run's generator.

    Returns
    -------
    StorageSetup or None
        None when there is no battery.
    """
    cfg = scenario.storage
    if cfg is None:
        return None
    rows: list[dict[str, Any]] = []
    if cfg.from_grid and "storage" in net and len(net.storage):
        rows += _grid_storage(net)
    if cfg.batteries:
        file = catalogue_path(cfg.catalogue, "battery_types.yaml", scenario.source_path)
        types = load_battery_types(file)
        used: dict[str, int] = {}  # label -> units so far: groups sharing a label continue it
        for g in cfg.batteries:
            label = g.name or g.type
            new = _group_rows(g, types[g.type], net, rng, label, used.get(label, 0))
            used[label] = used.get(label, 0) + len(new)
            rows += new
    if not rows:
        return None
    df = pd.DataFrame(rows)
    params = {k: df[k].to_numpy(dtype=float) for k in df.columns if k not in _ROLE_KEYS}
    return StorageSetup(
        battery=Battery(**params),
        names=df["name"].astype(str).tolist(),
        bus_ids=df["bus"].to_numpy(dtype=np.int64),
        community=df["community"].to_numpy(dtype=bool),
        local=df["local"].to_numpy(dtype=bool),
    )


_ROLE_KEYS = ("name", "bus", "community", "local")


def _group_rows(
    g: BatteryGroupConfig, btype: Any, net: Any, rng: np.random.Generator, label: str, first: int
) -> list[dict[str, Any]]:
    kind = g.kind or btype.kind
    bus = place(g, None, net, rng, default_bus=TRAFO_LV if kind == "community" else None)
    p = battery_parameters(g, btype)
    soc0 = g.soc_init if g.soc_init is not None else min(max(0.5, p["soc_min"]), p["soc_max"])
    return [
        {"name": f"{label}.{first + k}", "bus": int(b), "community": kind == "community",
         "local": g.control == "self_consumption", **p, "soc_init": soc0}
        for k, b in enumerate(bus)
    ]  # fmt: skip


def _grid_storage(net: Any) -> list[dict[str, Any]]:
    st = net.storage[net.storage.in_service.astype(bool)]

    def col(name: str, default: float) -> np.ndarray:
        if name not in st.columns:
            return np.full(len(st), default)
        return st[name].fillna(default).to_numpy(dtype=float)

    cap = col("max_e_mwh", 0.0) * 1000.0 * col("scaling", 1.0)
    power = col("sn_mva", 0.0)
    for name in ("p_mw", "min_p_mw", "max_p_mw"):
        power = np.where(power > 0.0, power, np.maximum(power, np.abs(col(name, 0.0))))
    eta = col("efficiency_percent", 1.0)
    eta = np.where(eta > 1.0, eta / 100.0, eta)
    soc_min = np.where(cap > 0, col("min_e_mwh", 0.0) * 1000.0 / np.where(cap > 0, cap, 1), 0.0)
    soc0 = np.clip(col("soc_percent", 0.0) / 100.0, soc_min, 1.0)
    rows = []
    for j, (idx, row) in enumerate(st.iterrows()):
        name = row.get("name")
        rows.append(
            {
                "name": str(name) if isinstance(name, str) and name else f"storage{idx}",
                "bus": int(row["bus"]),
                "community": False,
                "local": True,
                "capacity_kwh": cap[j],
                "p_charge_max_kw": power[j] * 1000.0,
                "p_discharge_max_kw": power[j] * 1000.0,
                "eta_charge": eta[j],
                "eta_discharge": eta[j],
                "soc_min": soc_min[j],
                "soc_max": 1.0,
                "self_discharge_per_day": col("self-discharge_percent_per_day", 0.0)[j] / 100.0,
                "soc_init": soc0[j],
            }
        )
    return rows


# ----------------------------------------------------------------------------------------------
# builder
# ----------------------------------------------------------------------------------------------


def add_flex(ctx: BuildContext) -> None:
    """Add the scenario's EV fleet and batteries to the world (asset builder).

    Parameters
    ----------
    ctx : BuildContext
        The world being built; units already connected to the grid are in
        ``ctx.grid_sources``.
    """
    net = ctx.district.net
    setup = build_fleet(ctx.scenario, net, ctx.rng)
    if setup is not None:
        sim = ctx.world.start("EV", sim_id="ev", **ctx.start_kw)
        ent = sim.EVFleet.create(
            1, fleet=setup.fleet, bus_pos=ctx.bus_positions(setup.bus_ids), n_bus=ctx.n_bus
        )[0]
        ctx.connect_to_grid(ent)
        _labels(ctx, "ev", setup.names, setup.bus_ids)
        for attr in EV_SERIES:
            ctx.record(ent, "ev", attr, "ev", len(setup.names))
    bats = build_storage(ctx.scenario, net, ctx.rng)
    if bats is not None:
        sim = ctx.world.start("Storage", sim_id="storage", **ctx.start_kw)
        ent = sim.Storage.create(
            1,
            battery=bats.battery,
            community=bats.community,
            local=bats.local,
            bus_pos=ctx.bus_positions(bats.bus_ids),
            n_bus=ctx.n_bus,
        )[0]
        for source in list(ctx.grid_sources):
            ctx.world.connect(source, ent, ("p_bus_kw", "p_net_bus_kw"))
        ctx.connect_to_grid(ent)
        _labels(ctx, "storage", bats.names, bats.bus_ids)
        ctx.writer.file.attrs["storage_capacity_kwh"] = bats.battery.capacity_kwh
        for attr in STORAGE_SERIES:
            ctx.record(ent, "storage", attr, "storage", len(bats.names))


def _labels(ctx: BuildContext, kind: str, names: list[str], bus_ids: np.ndarray) -> None:
    ctx.writer.add_labels(kind, names)
    ctx.writer.add_labels(f"{kind}_bus", [str(int(b)) for b in bus_ids])


__all__ = [
    "FleetSetup",
    "StorageSetup",
    "add_flex",
    "build_fleet",
    "build_storage",
    "household_buses",
    "place",
    "trafo_lv_bus",
]
