"""Price and CO2-intensity signals on the simulation's step grid.

Files are hourly CSV tables with two columns: ``datetime_utc`` (start of the hour in UTC,
``YYYY-MM-DD HH:MM``) and the value, whose column name carries the unit
(``price_eur_per_mwh``, ``co2_kg_per_kwh``). Hours must be consecutive over the requested
period. A run's clock is local standard time ``UTC + utc_offset_h`` (SimBench profiles:
CET, ``+1``); values are re-stepped to exact step means (a value at step ``t`` is the mean
over ``[t, t + dt)``) by :func:`pedsim.timeseries.step_means`.

Shipped data (sources and licences in ``pedsim/data/prices`` and ``pedsim/data/co2``):

* :data:`PRICE_FILE`: Dutch day-ahead prices (ENTSO-E) for 2015-2017 and 2022, as packaged
  in EV2Gym (MIT). The default price signal; no German series is shipped.
* CO2 intensity, ``source="de-2016-uba"`` (default): the constant
  :data:`CO2_DE_2016_KG_PER_KWH`, the Umweltbundesamt's figure for the German electricity
  mix of 2016. Chosen as default because the reference district is German and no measured
  hourly German series is available; a constant makes the CO2 objective proportional to the
  imported energy.
* ``source="citylearn-2022-us"``: the hourly carbon intensity of the CityLearn Challenge 2022
  data set (MIT), a **US grid** series (southern California), arranged as a typical year by
  hour of the year. Use it only where a time-varying intensity with a realistic daily shape
  matters (e.g. to exercise CO2-aware control); it does not describe a European grid.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from pedsim.timeseries import step_means

from .interface import ControlParameterError, check_number

__all__ = [
    "CO2_CITYLEARN_FILE",
    "CO2_DE_2016_KG_PER_KWH",
    "CO2_SOURCES",
    "PRICE_FILE",
    "SignalError",
    "co2_intensity_series",
    "price_series",
    "read_hourly_csv",
    "to_steps",
]

FloatArray = npt.NDArray[np.float64]
DATA_DIR = Path(__file__).resolve().parents[1] / "data"
#: Dutch day-ahead prices, EUR/MWh, hourly, UTC years 2015-2017 and 2022.
PRICE_FILE = DATA_DIR / "prices" / "nl_day_ahead_2015-2017_2022.csv"  # + 2021-12-31 23:00
#: CityLearn 2022 carbon intensity (US grid), kg/kWh, typical year by hour of the year.
CO2_CITYLEARN_FILE = DATA_DIR / "co2" / "citylearn_2022_carbon_intensity_typical_year.csv"
#: Germany 2016, kg CO2 per kWh of electricity consumed: Umweltbundesamt estimate of 527 g/kWh
#: (press release of 30 May 2017 on the specific CO2 emission factor of the German electricity
#: mix). Later UBA editions revise the figure for 2016 slightly; check before quoting.
CO2_DE_2016_KG_PER_KWH = 0.527
CO2_SOURCES = ("de-2016-uba", "citylearn-2022-us")
_HOUR = pd.Timedelta(hours=1)


class SignalError(ControlParameterError):
    """A signal file or request is invalid (file, column, period not covered)."""


def read_hourly_csv(
    path: str | Path, value_column: str, *, time_column: str = "datetime_utc"
) -> pd.Series:
    """Read an hourly signal file.

    Parameters
    ----------
    path : str or pathlib.Path
        CSV file with ``time_column`` and ``value_column``.
    value_column : str
        Column of the values.
    time_column : str
        Column of the hour starts (UTC).

    Returns
    -------
    pandas.Series
        Values indexed by naive UTC timestamps, strictly increasing.

    Raises
    ------
    SignalError
        For a missing file or column, unparsable times, NaN values or unsorted times.
    """
    p = Path(path)
    try:
        df = pd.read_csv(p)
    except (OSError, pd.errors.ParserError) as exc:
        raise SignalError(f"{p}: cannot be read ({exc}); expected a CSV file") from exc
    for col in (time_column, value_column):
        if col not in df.columns:
            raise SignalError(f"{p}: column {col!r} missing; columns are {list(df.columns)}")
    try:
        idx = pd.to_datetime(df[time_column], format="%Y-%m-%d %H:%M")
    except ValueError as exc:
        raise SignalError(f"{p}: column {time_column!r}: expected 'YYYY-MM-DD HH:MM'") from exc
    values = pd.to_numeric(df[value_column], errors="coerce")
    if values.isna().any():
        i = int(np.flatnonzero(values.isna())[0])
        raise SignalError(
            f"{p}, row {i + 2}: {value_column}={df[value_column].iloc[i]!r}; expected a number"
        )
    if not idx.is_monotonic_increasing or idx.duplicated().any():
        raise SignalError(f"{p}: column {time_column!r}: expected strictly increasing times")
    return pd.Series(values.to_numpy(dtype=float), index=pd.DatetimeIndex(idx), name=value_column)


def to_steps(
    series: pd.Series,
    start: pd.Timestamp | str,
    dt_s: int,
    n_steps: int,
    *,
    utc_offset_h: float = 1.0,
) -> FloatArray:
    """Step means of an hourly UTC series over a period in the run's clock.

    Parameters
    ----------
    series : pandas.Series
        Hourly values indexed by naive UTC hour starts (as from :func:`read_hourly_csv`).
    start : pandas.Timestamp or str
        First step, naive, in the run's clock (local standard time).
    dt_s : int
        Step length (s).
    n_steps : int
        Number of steps.
    utc_offset_h : float
        Offset of the run's clock from UTC in hours (CET: 1).

    Returns
    -------
    numpy.ndarray
        Shape (n_steps,).

    Raises
    ------
    SignalError
        If the period is not covered by consecutive hours of the series.
    """
    check_number("dt_s", dt_s, lo=0.0, lo_open=True)
    check_number("n_steps", n_steps, lo=1)
    check_number("utc_offset_h", utc_offset_h, lo=-14.0, hi=14.0)
    t0 = pd.Timestamp(start) - pd.Timedelta(hours=utc_offset_h)
    t1 = t0 + pd.Timedelta(seconds=int(dt_s) * int(n_steps))
    src0 = t0.floor("h")
    hours = pd.date_range(src0, t1.ceil("h"), freq="h", inclusive="left")
    values = series.reindex(hours)
    if values.isna().any():
        gap = values.index[values.isna()][0]
        raise SignalError(
            f"period [{start}, +{int(dt_s) * int(n_steps)} s) (UTC {t0} - {t1}): hour {gap} "
            f"(UTC) missing from the series {series.name!r} "
            f"({series.index[0]} - {series.index[-1]})"
        )
    return step_means(values.to_numpy(), src0, 3600, t0, int(dt_s), int(n_steps))


def price_series(
    start: pd.Timestamp | str,
    dt_s: int,
    n_steps: int,
    *,
    path: str | Path | None = None,
    utc_offset_h: float = 1.0,
    adder_eur_per_kwh: float = 0.0,
) -> FloatArray:
    """Import price per step in EUR/kWh from an hourly price file.

    Parameters
    ----------
    start, dt_s, n_steps, utc_offset_h
        Period in the run's clock, as in :func:`to_steps`.
    path : str or pathlib.Path, optional
        CSV with ``datetime_utc`` and ``price_eur_per_mwh``; default :data:`PRICE_FILE`.
    adder_eur_per_kwh : float
        Constant added to every step (network charges, levies, taxes).

    Returns
    -------
    numpy.ndarray
        EUR/kWh, shape (n_steps,).
    """
    series = read_hourly_csv(PRICE_FILE if path is None else path, "price_eur_per_mwh")
    adder = check_number("adder_eur_per_kwh", adder_eur_per_kwh)
    return to_steps(series, start, dt_s, n_steps, utc_offset_h=utc_offset_h) / 1e3 + adder


def _typical_year(start: pd.Timestamp, dt_s: int, n_steps: int) -> FloatArray:
    """CityLearn series by hour of the year in the run's clock (29 February repeats the 28th)."""
    df = pd.read_csv(CO2_CITYLEARN_FILE)
    by_hour = df["co2_kg_per_kwh"].to_numpy(dtype=float)
    src0 = start.floor("h")
    end = start + pd.Timedelta(seconds=dt_s * n_steps)
    hours = pd.date_range(src0, end.ceil("h"), freq="h", inclusive="left")
    doy = hours.dayofyear.to_numpy() - 1
    leap = hours.is_leap_year & (doy >= 59)  # from 29 February on
    doy = np.where(leap, doy - 1, doy)
    values = by_hour[doy * 24 + hours.hour.to_numpy()]
    return step_means(values, src0, 3600, start, dt_s, n_steps)


def co2_intensity_series(
    start: pd.Timestamp | str,
    dt_s: int,
    n_steps: int,
    *,
    source: str | Path = "de-2016-uba",
    utc_offset_h: float = 1.0,
) -> FloatArray:
    """CO2 intensity of grid electricity per step in kg/kWh.

    Parameters
    ----------
    start, dt_s, n_steps, utc_offset_h
        Period in the run's clock, as in :func:`to_steps`.
    source : str or pathlib.Path
        ``"de-2016-uba"`` (constant, default), ``"citylearn-2022-us"`` (hourly US series as a
        typical year, by local hour of the year; ``utc_offset_h`` is not used) or a CSV file
        with ``datetime_utc`` and ``co2_kg_per_kwh``.

    Returns
    -------
    numpy.ndarray
        kg/kWh, shape (n_steps,).
    """
    check_number("dt_s", dt_s, lo=0.0, lo_open=True)
    check_number("n_steps", n_steps, lo=1)
    if source == "de-2016-uba":
        return np.full(int(n_steps), CO2_DE_2016_KG_PER_KWH)
    if source == "citylearn-2022-us":
        return _typical_year(pd.Timestamp(start), int(dt_s), int(n_steps))
    if isinstance(source, str) and not source.lower().endswith(".csv"):
        raise SignalError(f"source={source!r}: expected one of {CO2_SOURCES} or a .csv file")
    series = read_hourly_csv(source, "co2_kg_per_kwh")
    return to_steps(series, start, dt_s, n_steps, utc_offset_h=utc_offset_h)
