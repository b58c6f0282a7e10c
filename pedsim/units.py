"""Nomenclature: every exchanged or recorded quantity with its unit and sign convention.

One table, from which the simulators' mosaik META, the results-file attributes and the
documentation are generated.  A name ends with its unit (``p_kw``, ``vm_pu``,
``loading_percent``); power at a grid connection is positive when drawn from the grid.
"""

from __future__ import annotations

from dataclasses import dataclass

LOAD_SIGN = "positive when drawn from the grid (load convention)"
GEN_SIGN = "positive when generated (fed towards the grid)"


@dataclass(frozen=True)
class Quantity:
    """A named physical quantity.

    Parameters
    ----------
    unit : str
        Unit symbol, e.g. ``"kW"``.
    description : str
        What the value means, including its averaging convention.
    sign : str
        Sign convention, empty when not applicable.
    """

    unit: str
    description: str
    sign: str = ""


QUANTITIES: dict[str, Quantity] = {
    # Injections (per unit and per bus)
    "p_kw": Quantity("kW", "active power, mean over the step", LOAD_SIGN),
    "q_kvar": Quantity("kvar", "reactive power, mean over the step", LOAD_SIGN),
    "p_bus_kw": Quantity("kW", "active power aggregated per grid bus", LOAD_SIGN),
    "q_bus_kvar": Quantity("kvar", "reactive power aggregated per grid bus", LOAD_SIGN),
    "p_gen_kw": Quantity("kW", "generated active power (PV AC output)", GEN_SIGN),
    # Grid results
    "vm_pu": Quantity("pu", "bus voltage magnitude"),
    "va_degree": Quantity("degree", "bus voltage angle"),
    "loading_line_percent": Quantity("%", "line loading (current over rated current)"),
    "loading_trafo_percent": Quantity("%", "transformer loading"),
    "p_trafo_kw": Quantity("kW", "active power into the transformer high-voltage side", LOAD_SIGN),
    "q_trafo_kvar": Quantity(
        "kvar", "reactive power into the transformer high-voltage side", LOAD_SIGN
    ),
    "p_ext_grid_kw": Quantity("kW", "active power drawn from the external grid", LOAD_SIGN),
    "pl_line_kw": Quantity("kW", "active losses per line"),
    "pl_trafo_kw": Quantity("kW", "active losses per transformer"),
    "p_loss_kw": Quantity("kW", "total active losses of lines and transformers"),
    # Buildings and heat pumps
    "t_zone_degc": Quantity("degC", "zone air temperature, mean over the step"),
    "t_out_degc": Quantity("degC", "outdoor air temperature, mean over the step"),
    "t_mass_degc": Quantity("degC", "5R1C mass-node temperature at the end of the step"),
    "q_heat_w": Quantity("W", "space heat delivered to the zone, mean over the step"),
    "q_dhw_w": Quantity("W", "domestic hot-water heat delivered, mean over the step"),
    "q_unmet_w": Quantity("W", "heat demand not met (space heating and hot water), step mean"),
    "cop": Quantity("-", "heat-pump coefficient of performance: heat out / electricity in"),
    "t_set_offset_k": Quantity(
        "K", "shift of the heating set point (controller input)", "positive raises the set point"
    ),
    "p_hp_cap_kw": Quantity("kW", "cap on heat-pump electric power (controller input)"),
    # EVs and batteries
    "soc": Quantity("-", "state of charge (0-1 of the usable capacity) at the end of the step"),
    "plugged": Quantity("-", "fraction of the step an EV is plugged in (0-1)"),
    "e_required_kwh": Quantity(
        "kWh", "stored energy the plugged-in EV still needs for its departure, end of step"
    ),
    "e_unmet_kwh": Quantity("kWh", "stored energy missing at the departures in the step"),
    "n_departures": Quantity("-", "number of charging sessions that ended in the step"),
    "p_ev_set_kw": Quantity(
        "kW", "EV charging power set-point, step mean (controller input)", LOAD_SIGN
    ),
    "p_bat_set_kw": Quantity(
        "kW", "battery power set-point, step mean (controller input)", LOAD_SIGN
    ),
    "p_net_bus_kw": Quantity(
        "kW", "net active power per grid bus of the other units (storage input)", LOAD_SIGN
    ),
    "e_throughput_kwh": Quantity(
        "kWh", "cell-side energy charged plus discharged since the start (cumulative)"
    ),
    "efc": Quantity("-", "equivalent full cycles since the start: throughput / (2 capacity)"),
    # District controller (pedsim.sims.controller)
    "solve_time_s": Quantity("s", "wall time of the optimisation solved in the step (NaN: none)"),
    "control_status": Quantity(
        "-", "controller status code (pedsim.sims.controller.STATUS_CODES), -1: no decision"
    ),
    "fallback": Quantity("-", "1 when the optimising strategy fell back to its rule this step"),
    "limit_kept": Quantity(
        "-", "1/0: the controller's estimated transformer power is within its limits (NaN: none)"
    ),
    "control_passes": Quantity(
        "-", "passes of the same-time control loop in the step (1 with loop time_shifted)"
    ),
    "loop_converged": Quantity(
        "-", "1: the last pass of the step left the set-points unchanged; 0: pass limit hit"
    ),
    "p_trafo_expected_kw": Quantity(
        "kW", "transformer power the controller expects for the next step", LOAD_SIGN
    ),
    "price_eur_per_kwh": Quantity("EUR/kWh", "import energy price, mean over the step"),
    "feed_in_eur_per_kwh": Quantity("EUR/kWh", "remuneration of exported energy"),
    "co2_kg_per_kwh": Quantity("kg/kWh", "CO2 intensity of imported electricity, step mean"),
}


def quantity(name: str) -> Quantity:
    """Return the registered quantity ``name``.

    Parameters
    ----------
    name : str
        Attribute name, e.g. ``"vm_pu"``.

    Returns
    -------
    Quantity
        Its unit, description and sign convention.

    Raises
    ------
    KeyError
        If the name is not registered (every exchanged attribute must be).
    """
    try:
        return QUANTITIES[name]
    except KeyError:
        raise KeyError(f"quantity {name!r} is not registered in pedsim.units") from None
