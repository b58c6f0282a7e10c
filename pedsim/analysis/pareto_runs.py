"""Cost-CO2 Pareto front of whole co-simulation runs with the optimal strategy.

:func:`pareto_runs` runs a scenario ``N`` times with ``control.strategy: optimal`` and the
weighted objective ``cost + w CO2``, for a tiny ``w`` (:data:`W_TIE_EUR_PER_KG`: the cost
extreme, with ties in cost broken towards less CO2, i.e. the lexicographic optimum) and
``N - 1`` weights spaced geometrically up to ``w_max`` (by default large enough for the CO2
term to dominate any price difference: the CO2 extreme). Every run is closed-loop
(receding horizon, the simulated district), so each point is the cost and CO2 the run
actually incurred (:func:`pedsim.analysis.control.kpis_control`), not a planned value.
Points are sorted by CO2; a point that another point beats in both cost and CO2 is flagged
``dominated`` (the closed loop does not guarantee a monotone front, unlike a single MILP sweep).

Written: ``pareto.csv`` (one row per run) and ``pareto.png`` in the output folder, plus
each run's results file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pedsim.scenario import Scenario

#: Largest CO2 weight of the sweep (EUR/kg): 10 EUR/kg is 5 EUR/kWh at 0.5 kg/kWh.
W_MAX_EUR_PER_KG = 10.0
#: Smallest weight of the geometric part of the sweep (EUR/kg).
W_MIN_EUR_PER_KG = 0.02
#: Weight of the cost extreme (EUR/kg): breaks ties in cost without trading cost for CO2.
W_TIE_EUR_PER_KG = 1e-4
#: MIP gap of the sweep's runs unless the scenario sets one (closer optima, a cleaner front).
MIP_REL_GAP = 1e-7


@dataclass(frozen=True)
class ParetoRuns:
    """Result of a sweep.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per run, sorted by CO2: ``co2_weight_eur_per_kg``, ``cost_energy_eur``,
        ``co2_import_kg``, ``discomfort_degree_hours_kh``, ``control_fallbacks``,
        ``dominated``, ``results``.
    csv, png : pathlib.Path
        Files written.
    """

    table: pd.DataFrame
    csv: Path
    png: Path


def sweep_weights(n_points: int, w_max: float = W_MAX_EUR_PER_KG) -> np.ndarray:
    """CO2 weights of a sweep: the tie-breaker, then ``n_points - 1`` steps up to ``w_max``.

    Parameters
    ----------
    n_points : int
        Number of runs (>= 2).
    w_max : float
        Largest weight, EUR/kg (> the smallest, :data:`W_MIN_EUR_PER_KG`).

    Returns
    -------
    numpy.ndarray
        Weights in EUR/kg, ascending.

    Raises
    ------
    ValueError
        For fewer than two points or a bad ``w_max``.
    """
    if int(n_points) != n_points or n_points < 2:
        raise ValueError(f"n_points={n_points!r}: expected an integer >= 2")
    if not w_max > W_MIN_EUR_PER_KG:
        raise ValueError(f"w_max={w_max!r}: expected a weight > {W_MIN_EUR_PER_KG} EUR/kg")
    steps = np.geomspace(W_MIN_EUR_PER_KG, w_max, int(n_points) - 1)
    return np.concatenate([[W_TIE_EUR_PER_KG], steps])


def _variant(scenario: Scenario, weight: float, out: Path) -> Scenario:
    cfg = scenario.control
    params = {"mip_rel_gap": MIP_REL_GAP} | dict(cfg.parameters)
    params |= {"objective": "weighted", "co2_weight_eur_per_kg": weight}
    control = cfg.model_copy(update={"strategy": "optimal", "parameters": params})
    name = f"{scenario.name}-w{weight:.4g}"
    output = scenario.output.model_copy(update={"path": out / f"{name}.h5"})
    return scenario.model_copy(update={"control": control, "name": name, "output": output})


def dominated(cost: np.ndarray, co2: np.ndarray, rel_tol: float = 1e-9) -> np.ndarray:
    """Flag points that another point beats in both objectives (and strictly in one).

    Parameters
    ----------
    cost, co2 : numpy.ndarray
        Objectives of each point.
    rel_tol : float
        Relative tolerance of the comparisons.

    Returns
    -------
    numpy.ndarray
        Boolean per point.
    """
    c, e = np.asarray(cost, float), np.asarray(co2, float)
    tc = rel_tol * np.maximum(np.abs(c), 1.0)
    te = rel_tol * np.maximum(np.abs(e), 1.0)
    le = (c[None, :] <= c[:, None] + tc[:, None]) & (e[None, :] <= e[:, None] + te[:, None])
    lt = (c[None, :] < c[:, None] - tc[:, None]) | (e[None, :] < e[:, None] - te[:, None])
    return (le & lt).any(axis=1)


def pareto_runs(
    scenario: Scenario,
    n_points: int,
    out_dir: Path,
    *,
    w_max: float = W_MAX_EUR_PER_KG,
    progress: bool = False,
) -> ParetoRuns:
    """Run the weighted sweep of the optimal strategy and write the front.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario with a ``control`` section (its parameters, signals and
        forecast are kept; strategy and objective are set by the sweep).
    n_points : int
        Runs (>= 2), including both extremes.
    out_dir : pathlib.Path
        Folder for the results files, ``pareto.csv`` and ``pareto.png``.
    w_max : float
        Largest CO2 weight (EUR/kg).
    progress : bool
        Show mosaik's progress bar.

    Returns
    -------
    ParetoRuns

    Raises
    ------
    ValueError
        Without a ``control`` section, or for a bad ``n_points``/``w_max``.
    """
    from pedsim.analysis.control import kpis_control
    from pedsim.analysis.thermal import kpis_thermal
    from pedsim.results import read_results
    from pedsim.run.runner import run_scenario

    if scenario.control is None:
        raise ValueError(f"scenario {scenario.name!r} has no control section; expected one")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for w in sweep_weights(n_points, w_max):
        variant = _variant(scenario, float(w), out)
        summary = run_scenario(variant, variant.output_path, progress=progress)
        res = read_results(summary.path)
        kpis = {k.name: k.value for k in [*kpis_control(res), *kpis_thermal(res)]}
        rows.append({
            "co2_weight_eur_per_kg": float(w),
            "cost_energy_eur": kpis["cost_energy_eur"],
            "co2_import_kg": kpis["co2_import_kg"],
            "discomfort_degree_hours_kh": kpis.get("discomfort_degree_hours_kh", np.nan),
            "control_fallbacks": kpis["control_fallbacks"],
            "results": summary.path.name,
        })  # fmt: skip
    table = pd.DataFrame(rows).sort_values(["co2_import_kg", "cost_energy_eur"])
    table["dominated"] = dominated(table["cost_energy_eur"], table["co2_import_kg"])
    table = table.reset_index(drop=True)
    csv = out / "pareto.csv"
    table.to_csv(csv, index=False)
    png = out / "pareto.png"
    plot_front(table, png, title=scenario.name)
    return ParetoRuns(table, csv, png)


def plot_front(table: pd.DataFrame, path: Path, title: str = "") -> Path:
    """Plot cost against CO2 (front as a line, dominated points hollow) to a PNG file.

    Parameters
    ----------
    table : pandas.DataFrame
        As :attr:`ParetoRuns.table`.
    path : pathlib.Path
        PNG file.
    title : str
        Figure title.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 4.5), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    front = table[~table["dominated"]]
    ax.plot(front["co2_import_kg"], front["cost_energy_eur"], "o-", color="C0", label="front")
    dom = table[table["dominated"]]
    if len(dom):
        ax.plot(dom["co2_import_kg"], dom["cost_energy_eur"], "o", mfc="none", color="C3",
                label="dominated")  # fmt: skip
    for _, r in table.iterrows():
        ax.annotate(f"w={r['co2_weight_eur_per_kg']:.3g}", (r["co2_import_kg"],
                    r["cost_energy_eur"]), fontsize=7, xytext=(4, 4),
                    textcoords="offset points")  # fmt: skip
    ax.set_xlabel("CO2 of imported electricity [kg]")
    ax.set_ylabel("energy cost [EUR]")
    ax.set_title(f"Cost-CO2 front (weighted sweep){': ' + title if title else ''}")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    return path


__all__ = ["ParetoRuns", "dominated", "pareto_runs", "plot_front", "sweep_weights"]
