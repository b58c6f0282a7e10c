"""The README's KPI reference lists every KPI the library can emit.

Every KPI function runs on a small synthetic district with all its inputs present (and a
synthetic results file with every recorded series), and every KPI name it returns must
appear, in backquotes, in the README section "## KPI reference".
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pedsim.analysis import kpi
from pedsim.analysis.report import kpis_from_results
from pedsim.results import Results

README = Path(__file__).resolve().parents[1] / "README.md"
N_STEPS = 8 * 24 * 4  # eight days of 15-minute steps: EN 50160 needs a whole week
DT_H = 0.25


def _index() -> pd.DatetimeIndex:
    return pd.date_range("2016-01-04", periods=N_STEPS, freq="15min")


def _synthetic_results() -> Results:
    """An in-memory run with every series the results-file KPIs read."""
    rng = np.random.default_rng(1)
    idx = _index()
    hour = idx.hour.to_numpy() + idx.minute.to_numpy() / 60.0
    sun = np.clip(np.sin((hour - 6.0) / 12.0 * np.pi), 0.0, None)

    def frame(values: np.ndarray, columns: list[str]) -> pd.DataFrame:
        return pd.DataFrame(values, index=idx, columns=columns)

    loads = ["l1", "l2", "l3"]
    series: dict[str, pd.DataFrame | pd.Series] = {
        "loads/p_kw": frame(rng.uniform(0.2, 2.0, (N_STEPS, 3)), loads),
        "heat_pumps/p_kw": frame(rng.uniform(0.0, 1.5, (N_STEPS, 2)), ["hp1", "hp2"]),
        "ev/p_kw": frame(rng.uniform(-1.0, 3.0, (N_STEPS, 1)), ["ev1"]),
        "pv/p_kw": frame(-6.0 * sun[:, None], ["pv1"]),
        "storage/p_kw": frame(rng.uniform(-2.0, 2.0, (N_STEPS, 1)), ["b1"]),
        "ev/e_unmet_kwh": frame(
            np.where(np.arange(N_STEPS) % 96 == 30, 1.0, 0.0)[:, None], ["ev1"]
        ),
        "ev/n_departures": frame(
            np.where(np.arange(N_STEPS) % 48 == 30, 1.0, 0.0)[:, None], ["ev1"]
        ),
        "buildings/q_heat_w": frame(rng.uniform(0.0, 4000.0, (N_STEPS, 2)), ["b1", "b2"]),
        "buildings/q_dhw_w": frame(rng.uniform(0.0, 500.0, (N_STEPS, 2)), ["b1", "b2"]),
        "buildings/q_unmet_w": frame(rng.uniform(0.0, 50.0, (N_STEPS, 2)), ["b1", "b2"]),
        "buildings/t_zone_degc": frame(rng.uniform(18.0, 23.0, (N_STEPS, 2)), ["b1", "b2"]),
        "grid/vm_pu": frame(rng.uniform(0.93, 1.07, (N_STEPS, 4)), ["0", "1", "2", "3"]),
        "grid/loading_line_percent": frame(rng.uniform(0.0, 110.0, (N_STEPS, 3)), ["a", "b", "c"]),
        "grid/loading_trafo_percent": frame(rng.uniform(0.0, 90.0, (N_STEPS, 1)), ["t"]),
        "grid/p_loss_kw": pd.Series(rng.uniform(0.0, 0.3, N_STEPS), index=idx),
        "grid/p_trafo_kw": frame(rng.uniform(-3.0, 8.0, (N_STEPS, 1)), ["t"]),
        "control/price_eur_per_kwh": pd.Series(rng.uniform(0.1, 0.4, N_STEPS), index=idx),
        "control/feed_in_eur_per_kwh": pd.Series(np.full(N_STEPS, 0.08), index=idx),
        "control/co2_kg_per_kwh": pd.Series(np.full(N_STEPS, 0.5), index=idx),
        "control/fallback": pd.Series(np.zeros(N_STEPS), index=idx),
        "control/solve_time_s": pd.Series(rng.uniform(0.1, 0.5, N_STEPS), index=idx),
        "control/limit_kept": pd.Series(np.ones(N_STEPS), index=idx),
    }
    labels = {
        "loads_bus": ["1", "2", "3"],
        "heat_pumps_bus": ["1", "2"],
        "ev_bus": ["2"],
        "pv_bus": ["3"],
        "storage_bus": ["3"],
    }
    attrs = {
        "step_s": 900,
        "p_pv_nom_kw": 6.0,
        "p_conn_kw": 250.0,
        "storage_capacity_kwh": [10.0],
    }
    return Results(Path("synthetic.h5"), attrs, "", {}, {}, idx, series, labels)


def _library_kpis() -> tuple[list[kpi.KPI], set[str]]:
    """KPIs of every ``kpis_*`` function of :mod:`pedsim.analysis.kpi`; and the functions."""
    rng = np.random.default_rng(2)
    idx = _index()
    hour = idx.hour.to_numpy() + idx.minute.to_numpy() / 60.0
    sun = np.clip(np.sin((hour - 6.0) / 12.0 * np.pi), 0.0, None)
    load = rng.uniform(0.2, 2.0, (N_STEPS, 3))
    flows = kpi.Flows(
        load_kw=load,
        generation_kw=np.outer(sun, [4.0, 0.0, 2.0]),
        storage_kw=rng.uniform(-0.5, 0.5, (N_STEPS, 3)),
        ev_kw=0.3 * load,
        heat_kw=0.4 * load,
        dt_h=DT_H,
        index=idx,
        building_ids=["a", "b", "c"],
    )
    period = flows.period
    p_net = flows.net_kw.sum(axis=1)
    signal = rng.uniform(20.0, 200.0, N_STEPS)
    up, down = kpi.battery_flexibility_envelope(
        rng.uniform(0.2, 0.8, N_STEPS),
        np.zeros(N_STEPS),
        capacity_kwh=10.0,
        p_ch_max_kw=5.0,
        p_dis_max_kw=5.0,
        dt_h=DT_H,
    )
    calls = {
        "kpis_energy_balance": lambda: kpi.kpis_energy_balance(flows),
        "kpis_load_matching": lambda: kpi.kpis_load_matching(
            flows, p_pv_nom_kw=6.0, p_conn_kw=250.0
        ),
        "kpis_weighted_balance": lambda: kpi.kpis_weighted_balance(
            {"electricity": 10.0, "gas": 5.0},
            {"electricity": 3.0},
            {"electricity": 2.42, "gas": 1.1},
            period=period,
        ),
        "kpis_positivity_ratio": lambda: kpi.kpis_positivity_ratio(
            {"electricity": 8.0}, {"electricity": 10.0}, {"electricity": 2.42}, period=period
        ),
        "kpis_emissions_primary_energy": lambda: kpi.kpis_emissions_primary_energy(
            flows, 0.4, kpi.PrimaryEnergyFactors(nren=1.95, tot=2.42)
        ),
        "kpi_marginal_emission_effect": lambda: kpi.kpi_marginal_emission_effect(
            p_net, p_net + 0.1, 0.5, DT_H, idx
        ),
        "kpis_community": lambda: kpi.kpis_community(
            flows, zonal_price_eur_mwh=signal, plant_size_kw=6.0, region="north"
        ),
        "kpis_flexibility": lambda: kpi.kpis_flexibility(
            p_net, p_net + rng.normal(0.0, 0.2, N_STEPS), signal, DT_H, idx, windows=[(10, 50)]
        ),
        "kpis_ramping": lambda: kpi.kpis_ramping(p_net, DT_H, idx),
        "kpis_load_factor": lambda: kpi.kpis_load_factor(flows.import_kw("D"), DT_H, idx),
        "kpis_flexibility_envelope": lambda: kpi.kpis_flexibility_envelope(up, down, DT_H, idx),
        "kpis_grid": lambda: kpi.kpis_grid(
            rng.uniform(0.93, 1.07, (N_STEPS, 4)),
            loading_line_percent=rng.uniform(0.0, 110.0, (N_STEPS, 3)),
            loading_trafo_percent=rng.uniform(0.0, 90.0, (N_STEPS, 1)),
            p_loss_kw=rng.uniform(0.0, 0.3, N_STEPS),
            p_trafo_kw=-p_net,
            dt_h=DT_H,
            index=idx,
            e_load_kwh=100.0,
        ),
        "kpis_comfort": lambda: kpi.kpis_comfort(
            rng.uniform(18.0, 23.0, (N_STEPS, 2)), 20.0, 26.0, DT_H, index=idx
        ),
        "kpis_ev_service": lambda: kpi.kpis_ev_service(
            [10.0, 20.0, 5.0], [10.0, 15.0, 5.0], [1.0, 0.0, 2.0], period=period
        ),
        "kpis_battery": lambda: kpi.kpis_battery(rng.uniform(-2.0, 2.0, N_STEPS), 10.0, DT_H, idx),
    }
    out: list[kpi.KPI] = []
    for fn in calls.values():
        out += fn()
    return out, set(calls)


@cache
def all_kpis() -> tuple[kpi.KPI, ...]:
    """Every KPI record the library emits, with all inputs present."""
    res = _synthetic_results()
    return (*_library_kpis()[0], *kpis_from_results(res, reference=res))


def readme_kpi_reference() -> str:
    """Text of the README section "## KPI reference" (up to the next level-2 heading)."""
    text = README.read_text(encoding="utf-8")
    match = re.search(r"^## KPI reference\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    assert match, "README.md has no '## KPI reference' section"
    return match.group(1)


def test_every_kpi_function_is_exercised() -> None:
    public = {n for n in kpi.__all__ if n.startswith(("kpis_", "kpi_"))}
    public -= {"kpis_to_frame", "kpis_to_json_dict"}
    assert public <= _library_kpis()[1], f"add to this test: {sorted(public - _library_kpis()[1])}"


def test_synthetic_case_has_all_inputs() -> None:
    # NaN for a missing input would still name the KPI, but a reason other than the
    # period-bound ones means the synthetic case lacks an input the test should give.
    missing = [k for k in all_kpis() if k.reason and k.reason.startswith("missing input")]
    assert not missing, [(k.name, k.reason) for k in missing]


@pytest.mark.parametrize("name", sorted({k.name for k in all_kpis()}))
def test_kpi_is_in_readme(name: str) -> None:
    tokens = set(re.findall(r"`([^`]+)`", readme_kpi_reference()))
    names = {t for tok in tokens for t in re.split(r"[\s,]+", tok)}
    assert name in names, f"KPI {name!r} is missing from the README's KPI reference"


def _rows_naming(name: str) -> list[list[str]]:
    """Cells of the README table rows whose first cell names ``name``."""
    rows = []
    for line in readme_kpi_reference().splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if name in re.findall(r"`([^`]+)`", cells[0]):
            rows.append(cells)
    return rows


_UNIT_TEXT = {"-": "–", "K.h": "K·h"}


@pytest.mark.parametrize(
    "record",
    sorted({(k.name, k.unit, k.view) for k in all_kpis()}),
    ids=lambda r: f"{r[0]}[{r[2]}]",
)
def test_readme_unit_and_view(record: tuple[str, str, str]) -> None:
    name, unit, view = record
    rows = _rows_naming(name)
    assert len(rows) == 1, f"KPI {name!r}: expected one row of the README's KPI tables"
    _, units, views, *_ = rows[0]
    assert _UNIT_TEXT.get(unit, unit) in [u.strip() for u in units.split(",")], (name, unit)
    if view.startswith("building:"):
        view = "`building:<id>`"
    assert view in views or views == "as given", (name, view, views)
