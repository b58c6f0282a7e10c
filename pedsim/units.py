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
