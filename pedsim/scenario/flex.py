"""Scenario sections for EV fleets and batteries, and their cross-field checks.

EVs and batteries come in groups. Every group is placed on grid buses in one of these ways:

* ``buses: [b1, b2, ...]``: one unit per entry (entries may repeat);
* ``bus: b`` with ``count: n`` (default 1): ``n`` units at one bus;
* ``share: x``: one unit on each of ``round(x * H)`` of the ``H`` household buses;
* ``count: n`` alone: ``n`` units on household buses, distinct buses while there are enough.

A bus is a pandapower bus id of the grid or ``trafo_lv`` (low-voltage bus of the first
transformer). Household buses are the buses of loads with a SimBench household profile
(``H0...``); draws use the scenario's seeded random generator. Community batteries without
``share``, ``bus`` or ``buses`` sit at ``trafo_lv`` (``count`` of them, default 1).

EVs are labelled ``<fleet name>.<k>`` (``<fleet name>.<ev_id>`` for trip tables), batteries
``<group name or type>.<k>``, counting on across groups that share a name.

Catalogues (EV types, battery types) default to ``models/`` of the source tree (see
:func:`models_dir`); a scenario may name its own files, relative to the scenario file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, ValidationError

from pedsim.scenario.errors import MISSING, Problem
from pedsim.scenario.schema_base import StrictModel

TRAFO_LV = "trafo_lv"
EV_MODES = ("uncontrolled", "delayed", "controlled", "v2g")

BusRef = Annotated[int, Field(ge=0)] | Literal["trafo_lv"]


class CatalogueError(ValueError):
    """A parameter catalogue cannot be found or read."""


def models_dir() -> Path:
    """Return the folder of pedsim's parameter catalogues (``models/`` of the source tree).

    Returns
    -------
    pathlib.Path
        The folder.

    Raises
    ------
    CatalogueError
        If the folder does not exist (e.g. pedsim installed without its source tree).
    """
    import pedsim

    folder = Path(pedsim.__file__).resolve().parents[1] / "models"
    if not folder.is_dir():
        raise CatalogueError(
            f"parameter catalogues not found: expected the folder {folder} (models/ of the "
            "pedsim source tree); name the catalogue file in the scenario instead"
        )
    return folder


def catalogue_path(given: Path | None, default_name: str, scenario_path: Path | None) -> Path:
    """Resolve a catalogue file: the scenario's own (relative to it) or ``models/<name>``.

    Parameters
    ----------
    given : pathlib.Path or None
        The path named in the scenario.
    default_name : str
        File name in :func:`models_dir` used when ``given`` is None.
    scenario_path : pathlib.Path or None
        The scenario file (relative paths are resolved against its folder).

    Returns
    -------
    pathlib.Path
        The catalogue file.
    """
    if given is None:
        return models_dir() / default_name
    if given.is_absolute() or scenario_path is None:
        return given
    return scenario_path.parent / given


class Placement(StrictModel):
    """Where the units of a group are connected (see the module docstring)."""

    count: int | None = Field(None, ge=0, description="Number of units.")
    share: float | None = Field(
        None, gt=0.0, le=1.0, description="Share of the household buses with one unit each."
    )
    bus: BusRef | None = Field(None, description="One bus for all units of the group.")
    buses: list[BusRef] | None = Field(None, description="One bus per unit.")

    def named_buses(self, where: str) -> Iterator[tuple[str, int]]:
        """Yield ``(field path, bus id)`` of every integer bus named by this group."""
        if isinstance(self.bus, int):
            yield f"{where}.bus", self.bus
        for j, b in enumerate(self.buses or []):
            if isinstance(b, int):
                yield f"{where}.buses.{j}", b


class EVFleetConfig(Placement):
    """A group of EVs with one kind of charge point."""

    name: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]+$", description="Label prefix (default fleet<i>)."
    )
    charger: Literal["home", "workplace", "public"] = Field(
        "home", description="ElaadNL charger kind of the sampled sessions."
    )
    charger_kw: float = Field(11.0, gt=0.0, description="AC charge-point rating (3.7, 11, 22).")
    bidirectional: bool = Field(False, description="Charge points support V2G.")
    v2g_discharge_kw: float | None = Field(
        None, gt=0.0, description="V2G discharge limit (default: the EV type's, <= charger_kw)."
    )
    mode: Literal["uncontrolled", "delayed", "controlled", "v2g"] | None = Field(
        None, description="Charging mode (default: ev.mode)."
    )
    ev_type: str | None = Field(
        None, description="EV catalogue type for all EVs (default: drawn by registrations)."
    )
    trip_table: Path | None = Field(
        None, description="CSV of sessions (relative to the scenario); default: ElaadNL."
    )
    session_probability: float | None = Field(
        None, ge=0.0, le=1.0, description="Sessions per EV and day (ElaadNL sampling)."
    )
    soc_departure_required: float = Field(
        1.0, ge=0.0, le=1.0, description="SoC required at departure (ElaadNL sampling)."
    )


class EVConfig(StrictModel):
    """EV fleets with their chargers and plug-in sessions."""

    mode: Literal["uncontrolled", "delayed", "controlled", "v2g"] = Field(
        "uncontrolled", description="Charging mode of fleets that do not set their own."
    )
    eta_charge: float = Field(0.9, gt=0.0, le=1.0, description="Charging efficiency.")
    eta_discharge: float = Field(0.9, gt=0.0, le=1.0, description="V2G efficiency.")
    soc_min: float = Field(0.0, ge=0.0, le=1.0, description="V2G never discharges below.")
    soc_max: float = Field(1.0, ge=0.0, le=1.0, description="Charging stops at.")
    catalogue: Path | None = Field(None, description="EV types (default models/ev_types.yaml).")
    fleets: list[EVFleetConfig] = Field(default_factory=list, description="EV groups.")


class BatteryGroupConfig(Placement):
    """A group of batteries of one catalogue type (values may be overridden)."""

    name: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]+$", description="Label prefix (default the type)."
    )
    type: str = Field(description="Battery catalogue type.")
    kind: Literal["home", "community"] | None = Field(
        None, description="home: own bus; community: whole district (default: the type's)."
    )
    control: Literal["self_consumption", "idle"] = Field(
        "self_consumption", description="Behaviour without a controller set-point."
    )
    soc_init: float | None = Field(None, ge=0.0, le=1.0, description="Initial SoC.")
    capacity_kwh: float | None = Field(None, gt=0.0)
    p_charge_max_kw: float | None = Field(None, ge=0.0)
    p_discharge_max_kw: float | None = Field(None, ge=0.0)
    eta_charge: float | None = Field(None, gt=0.0, le=1.0)
    eta_discharge: float | None = Field(None, gt=0.0, le=1.0)
    soc_min: float | None = Field(None, ge=0.0, le=1.0)
    soc_max: float | None = Field(None, ge=0.0, le=1.0)
    self_discharge_per_day: float | None = Field(None, ge=0.0, lt=1.0)


#: Battery parameters a group may override (the numeric fields of a catalogue type).
BATTERY_PARAMS = (
    "capacity_kwh",
    "p_charge_max_kw",
    "p_discharge_max_kw",
    "eta_charge",
    "eta_discharge",
    "soc_min",
    "soc_max",
    "self_discharge_per_day",
)


class StorageConfig(StrictModel):
    """Home and community batteries."""

    from_grid: bool = Field(True, description="Include the grid's own storage elements.")
    catalogue: Path | None = Field(
        None, description="Battery types (default models/battery_types.yaml)."
    )
    batteries: list[BatteryGroupConfig] = Field(default_factory=list, description="Battery groups.")


# ----------------------------------------------------------------------------------------------
# cross-field checks
# ----------------------------------------------------------------------------------------------


def check_flex(raw: dict[str, Any], path: Path) -> list[Problem]:
    """Cross-field checks of the EV and storage sections (run with all other checks).

    Checks catalogue types, placements, trip tables (file, line, column), SoC windows and,
    only when a bus is named by its id, that the bus exists in the grid (which loads it).

    Parameters
    ----------
    raw : dict
        Scenario fields as parsed from YAML.
    path : pathlib.Path
        The scenario file.

    Returns
    -------
    list of Problem
        Every problem found (sections that do not parse are left to the schema check).
    """
    problems: list[Problem] = []
    buses: list[tuple[str, int]] = []
    if isinstance(raw.get("ev"), dict):
        problems += _check_ev(raw["ev"], path, buses)
    if isinstance(raw.get("storage"), dict):
        problems += _check_storage(raw["storage"], path, buses)
    if buses:
        problems += _check_buses(raw, path, buses)
    return problems


def _groups(section: dict[str, Any], key: str, model: type[StrictModel]) -> Iterator[Any]:
    items = section.get(key)
    if not isinstance(items, list):
        return
    for i, item in enumerate(items):
        try:
            yield i, model.model_validate(item)
        except ValidationError:
            continue  # reported by the schema check


def _catalogue(
    section: dict[str, Any], field: str, default: str, path: Path, loader: Any
) -> tuple[dict[str, Any] | None, list[Problem]]:
    given = section.get("catalogue")
    try:
        file = catalogue_path(Path(given) if isinstance(given, str) else None, default, path)
        return loader(file), []
    except ValueError as exc:  # CatalogueError and the physics' catalogue errors
        return None, [Problem(path, field, given, f"a readable catalogue ({exc})")]


def _check_ev(ev: dict[str, Any], path: Path, buses: list[tuple[str, int]]) -> list[Problem]:
    from pedsim.physics.ev_sessions import TripTableError, load_ev_types, load_trip_table

    types, problems = _catalogue(ev, "ev.catalogue", "ev_types.yaml", path, load_ev_types)
    smin, smax = ev.get("soc_min", 0.0), ev.get("soc_max", 1.0)
    if _num(smin) and _num(smax) and smin >= smax:
        problems.append(Problem(path, "ev.soc_max", smax, f"a SoC above soc_min ({smin})"))
    default_mode = ev.get("mode", "uncontrolled")
    names: set[str] = set()
    for i, fleet in _groups(ev, "fleets", EVFleetConfig):
        where = f"ev.fleets.{i}"
        label = fleet.name or f"fleet{i}"
        if label in names:
            problems.append(Problem(path, f"{where}.name", fleet.name, "a name no other fleet has"))
        names.add(label)
        if types is not None and fleet.ev_type is not None and fleet.ev_type not in types:
            problems.append(
                Problem(path, f"{where}.ev_type", fleet.ev_type, f"an EV type of {sorted(types)}")
            )
        if (fleet.mode or default_mode) == "v2g" and not fleet.bidirectional:
            problems.append(
                Problem(
                    path,
                    f"{where}.bidirectional",
                    fleet.bidirectional,
                    "true for mode 'v2g' (bidirectional charge points)",
                )
            )
        n_table = None
        if fleet.trip_table is not None:
            file = _resolve(path, fleet.trip_table)
            try:
                table = load_trip_table(file, ev_types=types if types is not None else {})
            except TripTableError as exc:
                problems.append(
                    Problem(path, f"{where}.trip_table", str(fleet.trip_table), f"a valid "
                            f"trip table; {exc}")
                )  # fmt: skip
            else:
                n_table = int(table["ev_id"].nunique())
                if "battery_kwh" not in table.columns and fleet.ev_type is None:
                    problems.append(
                        Problem(
                            path,
                            f"{where}.ev_type",
                            MISSING,
                            "an EV type: the trip table has neither ev_type nor battery_kwh",
                        )
                    )
        needs = fleet.trip_table is None  # a trip table's EVs go to households
        problems += _check_placement(fleet, where, path, n_table, needs=needs)
        buses.extend(fleet.named_buses(where))
    return problems


def _check_storage(
    storage: dict[str, Any], path: Path, buses: list[tuple[str, int]]
) -> list[Problem]:
    from pedsim.physics.battery import Battery, BatteryParameterError, load_battery_types

    types, problems = _catalogue(
        storage, "storage.catalogue", "battery_types.yaml", path, load_battery_types
    )
    for i, group in _groups(storage, "batteries", BatteryGroupConfig):
        where = f"storage.batteries.{i}"
        if types is None:
            continue
        if group.type not in types:
            problems.append(
                Problem(path, f"{where}.type", group.type, f"a battery type of {sorted(types)}")
            )
            continue
        p = battery_parameters(group, types[group.type])
        kind = group.kind or types[group.type].kind
        problems += _check_placement(group, where, path, None, needs=kind == "home")
        buses.extend(group.named_buses(where))
        if p["soc_min"] >= p["soc_max"]:
            field = "soc_max" if group.soc_max is not None else "soc_min"
            problems.append(
                Problem(
                    path,
                    f"{where}.{field}",
                    getattr(group, field),
                    f"soc_min < soc_max (here {p['soc_min']} and {p['soc_max']})",
                )
            )
            continue
        soc0 = group.soc_init
        if soc0 is not None and not p["soc_min"] <= soc0 <= p["soc_max"]:
            problems.append(
                Problem(
                    path,
                    f"{where}.soc_init",
                    soc0,
                    f"a SoC within [soc_min, soc_max] = [{p['soc_min']}, {p['soc_max']}]",
                )
            )
            continue
        try:
            Battery(**{k: p[k] for k in BATTERY_PARAMS}, soc_init=p["soc_min"])
        except BatteryParameterError as exc:
            problems.append(Problem(path, where, group.type, f"valid battery parameters ({exc})"))
    return problems


def battery_parameters(group: BatteryGroupConfig, btype: Any) -> dict[str, float]:
    """Effective parameters of a battery group: catalogue values with the group's overrides.

    Parameters
    ----------
    group : BatteryGroupConfig
        The group.
    btype : pedsim.physics.battery.BatteryType
        Its catalogue type.

    Returns
    -------
    dict
        One value per name of :data:`BATTERY_PARAMS`.
    """
    return {
        k: float(getattr(group, k) if getattr(group, k) is not None else getattr(btype, k))
        for k in BATTERY_PARAMS
    }


def _check_placement(
    g: Placement, where: str, path: Path, n_fixed: int | None, *, needs: bool
) -> list[Problem]:
    """Placement rules of the module docstring; ``n_fixed``: units set by a trip table."""
    problems = []
    given = {k: getattr(g, k) for k in ("share", "bus", "buses") if getattr(g, k) is not None}
    if len(given) > 1:
        problems.append(Problem(path, where, given, "at most one of share, bus and buses"))
    if g.share is not None and g.count is not None:
        problems.append(
            Problem(path, f"{where}.count", g.count, "no count with share (share sets it)")
        )
    if g.share is not None and n_fixed is not None:
        problems.append(
            Problem(path, f"{where}.share", g.share, "no share with a trip table (its EVs count)")
        )
    if g.buses is not None and g.count is not None and g.count != len(g.buses):
        problems.append(
            Problem(path, f"{where}.count", g.count, f"{len(g.buses)} (one per entry of buses)")
        )
    if n_fixed is not None:
        if g.count is not None and g.count != n_fixed:
            problems.append(
                Problem(path, f"{where}.count", g.count, f"{n_fixed} (the trip table's EVs)")
            )
        if g.buses is not None and len(g.buses) != n_fixed:
            problems.append(
                Problem(path, f"{where}.buses", g.buses, f"{n_fixed} buses (one per EV)")
            )
    elif needs and not given and g.count is None:
        problems.append(Problem(path, where, MISSING, "a placement: count, share, bus or buses"))
    return problems


def _check_buses(raw: dict[str, Any], path: Path, named: list[tuple[str, int]]) -> list[Problem]:
    """Check named bus ids against the grid (loads the grid: only called when needed)."""
    grid = raw.get("grid")
    if not isinstance(grid, dict):
        return []
    try:
        net = _load_grid(grid, path)
    except Exception:  # an unreadable grid is reported by the grid checks
        return []
    if net is None:
        return []
    ids = sorted(int(b) for b in net.bus.index)
    shown = ", ".join(str(b) for b in ids[:30]) + (", ..." if len(ids) > 30 else "")
    known = set(ids)
    return [
        Problem(path, field, bus, f"a bus id of the grid ({len(ids)} buses: {shown}) or 'trafo_lv'")
        for field, bus in named
        if bus not in known
    ]


def _load_grid(grid: dict[str, Any], path: Path) -> Any:
    code, js = grid.get("simbench_code"), grid.get("pandapower_json")
    if isinstance(code, str) and js is None:
        from pedsim.scenario.load import simbench_codes

        if code not in simbench_codes():
            return None
        from pedsim.gridmodel import simbench_net  # here: gridmodel imports the scenario

        return simbench_net(code)
    if isinstance(js, str) and code is None:
        file = _resolve(path, Path(js))
        if not file.is_file():
            return None
        import pandapower as pp

        return pp.from_json(str(file))
    return None


def _resolve(scenario_path: Path, value: Path) -> Path:
    return value if value.is_absolute() else scenario_path.parent / value


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and bool(np.isfinite(v))
