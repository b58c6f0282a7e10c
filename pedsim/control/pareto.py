"""Cost-CO2 Pareto front of a district MILP instance by the epsilon-constraint method.

1. Cost extreme: minimise cost, then minimise CO2 with the cost held at its minimum (a
   lexicographic optimum, so the point is not dominated).
2. CO2 extreme: minimise CO2, then minimise cost with the CO2 held at its minimum.
3. Between them: minimise cost subject to ``CO2 <= eps`` for ``eps`` evenly spaced between
   the two extremes' CO2.

"Cost" and "CO2" are those of the grid exchange (``MilpResult.cost_eur``, ``co2_kg``); the
objectives also carry the instance's penalties (comfort, EV shortfall, limits). Points are
returned sorted by CO2 (ascending), so cost does not increase along the front; dominated
points (possible only within the solver's tolerances) are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .interface import ControlError, check_number
from .milp import DistrictProblem, MilpOptions, MilpResult, solve_milp

__all__ = ["ParetoFront", "pareto_front"]

FloatArray = npt.NDArray[np.float64]


@dataclass(eq=False)
class ParetoFront:
    """Non-dominated (CO2, cost) points, sorted by CO2 ascending.

    Attributes
    ----------
    co2_kg, cost_eur : numpy.ndarray
        CO2 and cost of each point; the first point is the CO2 extreme, the last the cost
        extreme.
    eps_kg : numpy.ndarray
        CO2 bound of each point (``inf`` for the cost extreme).
    results : list of MilpResult
        Solution of each point.
    n_dropped : int
        Points removed as dominated.
    """

    co2_kg: FloatArray
    cost_eur: FloatArray
    eps_kg: FloatArray
    results: list[MilpResult] = field(default_factory=list)
    n_dropped: int = 0


def _tol(value: float, rel: float) -> float:
    return rel * max(1.0, abs(value))


def _solve(problem: DistrictProblem, options: MilpOptions, **kw: object) -> MilpResult:
    res = solve_milp(problem, options, **kw)
    if not res.success:
        raise ControlError(f"Pareto sweep: a solve ended with status {res.status!r} ({kw})")
    return res


def pareto_front(
    problem: DistrictProblem,
    options: MilpOptions | None = None,
    n_points: int = 7,
    *,
    rel_tol: float = 1e-6,
) -> ParetoFront:
    """Sweep cost against CO2 for one MILP instance.

    Parameters
    ----------
    problem : DistrictProblem
        The instance.
    options : MilpOptions, optional
        Limits, penalties and solver settings (the objective is set by the sweep). A small
        ``mip_rel_gap`` keeps the front monotone.
    n_points : int
        Points including both extremes (>= 2).
    rel_tol : float
        Relative slack on the held objective in the lexicographic steps (> 0).

    Returns
    -------
    ParetoFront

    Raises
    ------
    ControlError
        If a solve finds no feasible schedule.
    """
    o = options or MilpOptions(mip_rel_gap=1e-9)
    check_number("n_points", n_points, lo=2)
    check_number("rel_tol", rel_tol, lo=0.0, lo_open=True, hi=1.0)
    c_min = _solve(problem, o, objective="cost")
    cap = c_min.cost_eur + _tol(c_min.cost_eur, rel_tol)
    a = _solve(problem, o, objective="co2", cost_cap_eur=cap)
    e_min = _solve(problem, o, objective="co2")
    b = _solve(problem, o, objective="cost", co2_cap_kg=e_min.co2_kg + _tol(e_min.co2_kg, rel_tol))
    interior = []
    for eps in np.linspace(b.co2_kg, a.co2_kg, int(n_points))[1:-1]:
        r = _solve(problem, o, objective="cost", co2_cap_kg=float(eps))
        interior.append((r.co2_kg, r.cost_eur, float(eps), r))
    interior.sort(key=lambda q: (q[0], q[1]))
    kept = [(b.co2_kg, b.cost_eur, b.co2_kg, b)]
    for q in interior:  # ascending CO2: keep a point only if strictly between its neighbours
        if kept[-1][1] - _tol(kept[-1][1], rel_tol) > q[1] > a.cost_eur + _tol(a.cost_eur, rel_tol):
            kept.append(q)
    kept.append((a.co2_kg, a.cost_eur, np.inf, a))
    co2, cost, eps, res = (list(x) for x in zip(*kept, strict=True))
    n_drop = len(interior) + 2 - len(kept)
    return ParetoFront(np.array(co2), np.array(cost), np.array(eps), res, n_drop)
