"""Tests of EV session sampling, trip tables and the EV catalogue (pedsim.physics.ev_sessions)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import pedsim
from pedsim.physics.ev import EVFleet
from pedsim.physics.ev_sessions import (
    EVCatalogueError,
    SessionSamplingError,
    TripTableError,
    load_elaadnl,
    load_ev_types,
    load_trip_table,
    sample_sessions,
)

DATA = Path(pedsim.__file__).parent / "data" / "elaadnl"
COLUMN = {"home": "private", "workplace": "workplace", "public": "public"}
ALPHA = 0.01


def reference_arrival_cdf(kind: str, weekend: bool):
    """CDF of the time of day straight from the CSV: percent per 15-min bin, uniform within."""
    name = "distribution-of-arrival-weekend.csv" if weekend else "distribution-of-arrival.csv"
    pct = pd.read_csv(DATA / name, encoding="utf-8-sig")[COLUMN[kind]].to_numpy()
    cdf = np.concatenate(([0.0], np.cumsum(pct) / 100.0))
    return lambda x: np.interp(x, np.arange(97) * 900.0, cdf), pct / 100.0


def reference_curve(fname: str, kind: str, positive_tail: bool) -> tuple[np.ndarray, np.ndarray]:
    """Exceedance curve (percent of events, value) from the CSV.

    With ``positive_tail`` the zeros before 100 % (durations rounded to 0 h) are replaced by a
    straight line from the last positive point to 0 at 100 %, as documented for sampling.
    """
    df = pd.read_csv(DATA / fname, encoding="utf-8-sig")
    pct, val = df.iloc[:, 0].to_numpy(float), df[COLUMN[kind]].to_numpy(float)
    if positive_tail:
        z = int(np.flatnonzero(val == 0)[0])
        val[z - 1 :] = np.interp(pct[z - 1 :], [pct[z - 1], 100.0], [val[z - 1], 0.0])
    return pct, val


def chisquare_against_curve(x: np.ndarray, pct: np.ndarray, val: np.ndarray):
    """Chi-square over the percentile segments of an exceedance curve.

    Segment [p, p + 1] of the curve holds 1 % of the events: values strictly between its end
    values, or exactly its value where the curve is flat (flat runs are merged). Unlike the
    KS test this stays valid with the probability masses that flat segments create.
    """
    cats: list[tuple[float, float, float]] = []  # (lo, hi, mass); lo == hi for a mass point
    for i in range(len(pct) - 1):
        lo, hi = val[i + 1], val[i]
        if cats and lo == hi and cats[-1][0] == cats[-1][1] == lo:
            cats[-1] = (lo, hi, cats[-1][2] + 0.01)
        else:
            cats.append((lo, hi, 0.01))
    counts = np.zeros(len(cats))
    for j, (lo, hi, _) in enumerate(cats):
        counts[j] = np.sum(x == lo) if lo == hi else np.sum((x > lo) & (x < hi))
    assert counts.sum() >= x.size - 2  # only grid values of zero probability are left out
    mass = np.array([c[2] for c in cats])
    return stats.chisquare(counts, mass / mass.sum() * counts.sum())


@pytest.fixture(scope="module")
def four_weeks() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(20240501)
    return {
        kind: sample_sessions(rng, 1000, "2024-03-04", "2024-03-31", kind, session_probability=1.0)
        for kind in ("home", "public", "workplace")
    }


@pytest.mark.parametrize(
    ("kind", "weekend"),
    [("home", False), ("home", True), ("public", False), ("public", True), ("workplace", False)],
)
def test_arrivals_reproduce_elaadnl(four_weeks, kind: str, weekend: bool) -> None:
    df = four_weeks[kind]
    sel = (df["arrival"].dt.dayofweek >= 5) == weekend
    tod = (df["arrival"][sel] - df["arrival"][sel].dt.normalize()).dt.total_seconds().to_numpy()
    assert tod.size > 5000
    cdf, p_bin = reference_arrival_cdf(kind, weekend)
    ks = stats.kstest(tod, cdf)
    counts = np.bincount((tod // 900).astype(int), minlength=96)
    nz = p_bin > 0
    assert counts[~nz].sum() == 0
    chi = stats.chisquare(counts[nz], p_bin[nz] / p_bin[nz].sum() * counts.sum())
    print(f"{kind} weekend={weekend}: n={tod.size} KS D={ks.statistic:.4f} p={ks.pvalue:.3f}; "
          f"chi2={chi.statistic:.1f} p={chi.pvalue:.3f}")  # fmt: skip
    assert ks.pvalue > ALPHA
    assert chi.pvalue > ALPHA


def test_no_workplace_sessions_at_weekends(four_weeks) -> None:
    assert (four_weeks["workplace"]["arrival"].dt.dayofweek < 5).all()


@pytest.mark.parametrize("kind", ["home", "public", "workplace"])
def test_connection_time_and_energy_distributions(kind: str) -> None:
    # one day only: no later arrival truncates a connection; large batteries: no energy cap
    big = {"big": load_ev_types()["Tesla Model 3"].__class__(
        "big", 200.0, 11.0, 50.0, False, False, False, 0.0, 0.0, 1, "test")}  # fmt: skip
    df = sample_sessions(
        np.random.default_rng(7), 6000, "2024-03-05", "2024-03-06", kind, big,
        session_probability=1.0,
    )  # fmt: skip
    for col, fname in (
        ("connection_h", "distribution-of-connection-time.csv"),
        ("e_demand_kwh", "distribution-of-energy-demand.csv"),
    ):
        pct, val = reference_curve(fname, kind, positive_tail=col == "connection_h")
        chi = chisquare_against_curve(df[col].to_numpy(), pct, val)
        print(f"{kind} {col}: chi2={chi.statistic:.1f} p={chi.pvalue:.3f}")
        assert chi.pvalue > ALPHA
    assert (df["connection_h"] > 0).all()


def test_same_seed_identical_different_seed_differs() -> None:
    args = (50, "2024-01-01", "2024-01-15", "home")
    a = sample_sessions(np.random.default_rng(3), *args)
    b = sample_sessions(np.random.default_rng(3), *args)
    c = sample_sessions(np.random.default_rng(4), *args)
    pd.testing.assert_frame_equal(a, b)
    assert len(a) != len(c) or not a["arrival"].equals(c["arrival"])


def test_session_invariants() -> None:
    start, stop = pd.Timestamp("2024-01-01 06:00"), pd.Timestamp("2024-03-01")
    df = sample_sessions(np.random.default_rng(11), 300, start, stop, "home")
    assert ((df["arrival"] >= start) & (df["arrival"] < stop)).all()
    assert (df["departure"] > df["arrival"]).all()
    g = df.groupby("ev_id")
    nxt = g["arrival"].shift(-1)
    assert (df["departure"][nxt.notna()] <= nxt[nxt.notna()]).all()  # no overlap
    assert not df.assign(day=df["arrival"].dt.date).duplicated(["ev_id", "day"]).any()
    assert (g["ev_type"].nunique() == 1).all()
    assert (df["e_demand_kwh"] <= df["battery_kwh"] + 1e-12).all()
    assert (df["e_arrival_kwh"] >= 0).all()
    np.testing.assert_allclose(df["e_arrival_kwh"] + df["e_demand_kwh"], df["battery_kwh"])
    # skip probability: 0.3 sessions per EV and day (arrivals before 06:00 on day 1 fall
    # outside the window, at most 2 % of a day), binomial 5-sigma band
    n_days = 300 * 60
    assert abs(len(df) / n_days - 0.3) < 5 * np.sqrt(0.3 * 0.7 / n_days) + 0.3 * 0.02 / 60
    # EV types follow the registration weights (chi-square at 1 %)
    cat = load_ev_types()
    types = df.drop_duplicates("ev_id")["ev_type"].value_counts().reindex(list(cat), fill_value=0)
    w = np.array([t.registrations for t in cat.values()], float)
    assert stats.chisquare(types.to_numpy(), w / w.sum() * types.sum()).pvalue > ALPHA
    # the sampled frame drives the fleet model directly
    fleet = EVFleet.from_sessions(df, t0="2024-01-01", charger_kw=11.0, mode="delayed")
    res = [fleet.step(900.0) for _ in range(4 * 24 * 7)]
    assert sum(r.n_departures.sum() for r in res) > 0


def test_energy_units_are_kwh() -> None:
    """The exceedance curves read as kWh agree with the per-arrival mean demand (kWh)."""
    data = load_elaadnl()
    avg_cap = 58.15  # registration-weighted mean battery of the catalogue
    for kind in ("home", "public", "workplace"):
        mean_curve = np.trapezoid(data.energy_kwh[kind], data.percent) / 100.0
        md = data.mean_energy_by_arrival_kwh[kind]
        w = data.arrival_weekday[kind].reshape(48, 2).sum(axis=1)
        ok = ~np.isnan(md)
        mean_arrival = (w[ok] * md[ok]).sum() / w[ok].sum()
        assert 0.7 < mean_curve / mean_arrival < 1.1
        if kind == "home":  # the "% of battery capacity" reading does not fit
            assert mean_curve * avg_cap / 100.0 / mean_arrival < 0.6
    cat = load_ev_types()
    w = np.array([t.registrations for t in cat.values()], float)
    cap = np.array([t.battery_kwh for t in cat.values()])
    assert (w * cap).sum() / w.sum() == pytest.approx(avg_cap, abs=0.01)


def test_catalogue_matches_ev_specs() -> None:
    specs = json.loads((DATA / "ev_specs.json").read_text())
    cat = load_ev_types()
    assert list(cat) == list(specs)
    for name, s in specs.items():
        t = cat[name]
        assert t.battery_kwh == s["battery_capacity"]
        assert t.ac_charge_kw == s["max_ac_charge_power"]
        assert t.registrations == s["number_of_registrations"]
        assert t.v2g == (s["ac_v2g"] == "yes" or s["dc_v2g"] == "yes")
    assert cat["Nissan Leaf"].v2g_discharge_kw == 7.0


def test_catalogue_validation(tmp_path: Path) -> None:
    good = (Path(pedsim.__file__).parents[1] / "models" / "ev_types.yaml").read_text()
    f = tmp_path / "ev.yaml"
    for old, new, match in [
        ("battery_kwh: 57.5", "battery_kwh: -1", "battery_kwh"),
        ("v2g_dc: true\n    v2g: true", "v2g_dc: true\n    v2g: false", "v2g"),
        ("registrations: 45545", "registrations: many", "registrations"),
        ("    ac_charge_kw: 11.0\n", "", "keys"),
    ]:
        f.write_text(good.replace(old, new, 1))
        with pytest.raises(EVCatalogueError, match=match):
            load_ev_types(f)
    with pytest.raises(EVCatalogueError, match="cannot read"):
        load_ev_types(tmp_path / "none.yaml")


def test_bad_sampling_arguments() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(SessionSamplingError, match="charger_kind"):
        sample_sessions(rng, 5, "2024-01-01", "2024-01-02", "garage")
    with pytest.raises(SessionSamplingError, match="stop"):
        sample_sessions(rng, 5, "2024-01-02", "2024-01-01", "home")
    with pytest.raises(SessionSamplingError, match="tz-naive"):
        sample_sessions(rng, 5, "2024-01-01 00:00+01:00", "2024-01-02", "home")
    with pytest.raises(SessionSamplingError, match="Generator"):
        sample_sessions(np.random.RandomState(0), 5, "2024-01-01", "2024-01-02", "home")


TRIPS = """ev_id,ev_type,arrival,departure,soc_arrival,soc_departure_required
car1,Nissan Leaf,2024-01-01 18:00,2024-01-02 07:30,0.3,0.9
car2,Tesla Model 3,2024-01-01 08:10,2024-01-01 17:00,0.5,1.0
car1,Nissan Leaf,2024-01-02 18:30,2024-01-03 07:00,0.4,0.9
"""


def test_load_trip_table(tmp_path: Path) -> None:
    f = tmp_path / "trips.csv"
    f.write_text(TRIPS)
    df = load_trip_table(f, known_ev_ids=["car1", "car2"])
    assert list(df["ev_id"]) == ["car1", "car1", "car2"]
    assert df["battery_kwh"].tolist() == [39.0, 39.0, 57.5]
    np.testing.assert_allclose(df["e_arrival_kwh"], [0.3 * 39.0, 0.4 * 39.0, 0.5 * 57.5])
    fleet = EVFleet.from_sessions(df, t0="2024-01-01")
    assert fleet.n_ev == 2


@pytest.mark.parametrize(
    ("old", "new", "line", "column", "expected"),
    [
        ("2024-01-01 17:00,0.5", "2024-01-01 07:00,0.5", 3, "departure", "after the arrival"),
        ("07:30,0.3,0.9", "07:30,1.3,0.9", 2, "soc_arrival", "between 0 and 1"),
        ("07:30,0.3,0.9", "07:30,0.3,-0.1", 2, "soc_departure_required", "between 0 and 1"),
        ("2024-01-02 18:30", "2024-01-02 07:00", 4, "arrival", "no overlap"),
        ("car2,Tesla", "car9,Tesla", 3, "ev_id", "known EV"),
        ("Tesla Model 3", "Trabant", 3, "ev_type", "EV type"),
        ("2024-01-01 08:10", "yesterday", 3, "arrival", "ISO 8601"),
        ("2024-01-01 08:10", "2024-01-01T08:10+01:00", 3, "arrival", "tz-naive"),
        ("0.5,1.0", ",1.0", 3, "soc_arrival", "empty cell"),
    ],
)
def test_trip_table_errors(tmp_path, old, new, line, column, expected) -> None:
    f = tmp_path / "trips.csv"
    f.write_text(TRIPS.replace(old, new, 1))
    with pytest.raises(TripTableError) as err:
        load_trip_table(f, known_ev_ids=["car1", "car2"])
    e = err.value
    assert (e.line, e.column) == (line, column)
    msg = str(e)
    assert str(f) in msg and f"line {line}" in msg and f"'{column}'" in msg and expected in msg
    assert isinstance(e, ValueError)


def test_trip_table_missing_column_and_energy(tmp_path: Path) -> None:
    f = tmp_path / "t.csv"
    f.write_text("ev_id,arrival,departure\n1,0,100\n")
    with pytest.raises(TripTableError, match="soc_departure_required"):
        load_trip_table(f)
    f.write_text("ev_id,arrival,departure,e_arrival_kwh,battery_kwh,soc_departure_required\n"
                 "1,0,3600,50,40,1\n")  # fmt: skip
    with pytest.raises(TripTableError, match="at most battery_kwh"):
        load_trip_table(f)
