"""Weather input for the district simulation: DWD TRY2010, EPW and TMY3.

All loaders return a :class:`Weather` on a regular hourly grid of one calendar year in
the site's local *standard* time (no daylight saving). Following the project convention,
the value at index ``t`` is the mean over ``[t, t + dt)``.

Time-stamp conventions of the sources (all hourly, hour label ``h`` in 1..24):

* DWD TRY2010 (``TRY2010_XX_Jahr.dat`` shipped with demandlib, DWD/BBR 2011): the header
  gives ``HH`` as the hour in MEZ (CET, UTC+1). Air temperature and wind speed are taken
  as spot values at ``HH`` MEZ. Irradiance ``B`` (direct, horizontal) and ``D`` (diffuse,
  horizontal) are read as means over the hour ending at ``HH`` in *true solar time*
  (WOZ, the DWD convention for radiation): in WOZ no hour of any of the 15 files carries
  irradiance while the sun is below the horizon throughout, whereas hours ending, or
  centred, at ``HH`` MEZ give about 60 and 70 such hours (Mannheim, Hamburg, Potsdam). The
  irradiance is integrated exactly from these hours, which end at
  ``HH + (15° - longitude) * 4 min/° - equation of time`` MEZ, onto the MEZ grid.
* EPW (EnergyPlus Auxiliary Programs, "Weather Converter"): irradiance fields are the
  energy received over the hour ending at the hour label, temperature is the value at
  the hour label. ``pvlib.iotools.read_epw`` indexes each row at the interval *start*.
* TMY3 (NREL/TP-581-43156): irradiance is the energy over the 60 minutes ending at the
  time stamp, temperature and wind are values at the time stamp.
  ``pvlib.iotools.read_tmy3`` indexes each row at the interval *end*.

Spot values are joined by straight lines (the first interval of the year uses the last
value of the typical year, which is cyclic), interval means are piecewise constant;
:func:`resample` integrates both representations exactly, so means over any interval
and daily energies are conserved. Solar position is evaluated with pvlib at the middle
of each interval. Typical years have 365 days: for a leap calendar year 29 February
repeats 28 February. Where a source gives direct *horizontal* irradiance (TRY), direct
normal irradiance is ``B / cos(apparent zenith)`` at the interval middle; below a solar
elevation of ``90 - DNI_ZENITH_LIMIT_DEG`` degrees, and above the extraterrestrial DNI,
the beam (or its excess) is booked as diffuse so that GHI is kept.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pvlib

__all__ = ["DATA_COLUMNS", "DNI_ZENITH_LIMIT_DEG", "TRY2010_STATIONS", "Site", "TryStation"]
__all__ += ["Weather", "WeatherError", "load_epw", "load_tmy3", "load_try2010", "resample"]
__all__ += ["try_site"]

IRRADIANCE_COLUMNS = ("ghi_w_m2", "dni_w_m2", "dhi_w_m2")
STATE_COLUMNS = ("t_air_degc", "wind_speed_m_s")
SOLAR_COLUMNS = ("solar_zenith_deg", "solar_azimuth_deg", "solar_apparent_zenith_deg")
DATA_COLUMNS = ("t_air_degc", *IRRADIANCE_COLUMNS, "wind_speed_m_s", *SOLAR_COLUMNS)
DNI_ZENITH_LIMIT_DEG = 87.0
_PVLIB_NAMES = {"ghi_w_m2": "ghi", "dni_w_m2": "dni", "dhi_w_m2": "dhi"}
_PVLIB_NAMES |= {"t_air_degc": "temp_air", "wind_speed_m_s": "wind_speed"}
_SOLAR_NAMES = dict(zip(SOLAR_COLUMNS, ("zenith", "azimuth", "apparent_zenith"), strict=True))
_RANGES = {c: (0.0, 1500.0) for c in (*IRRADIANCE_COLUMNS, "b_hor_w_m2")}
_RANGES |= {"t_air_degc": (-70.0, 60.0), "wind_speed_m_s": (0.0, 75.0)}
_HOUR = pd.Timedelta(hours=1)


class WeatherError(ValueError):
    """Invalid weather input; the message names file, field, value and expectation."""


@dataclass(frozen=True)
class Site:
    """Location of a weather station or district.

    WGS84 ``latitude_deg``/``longitude_deg`` (north/east positive), ``altitude_m`` above sea
    level, ``tz`` the time zone of the weather index (local standard time, e.g.
    ``"Etc/GMT-1"`` = CET) and a human-readable ``name``.
    """

    latitude_deg: float
    longitude_deg: float
    altitude_m: float
    tz: str
    name: str


@dataclass(frozen=True)
class TryStation:
    """Reference station of a DWD TRY2010 climate region."""

    region: int
    station: str
    wmo: int
    latitude_deg: float
    longitude_deg: float
    altitude_m: float


# Reference stations of the 15 TRY2010 climate regions: region | station | WMO number |
# latitude N (deg min) | longitude E (deg min) | altitude (m a.s.l.). Source: the header
# lines "Station" and "Lage" of the files TRY2010_01..15_Jahr.dat (DWD/BBR, November 2010)
# shipped with demandlib; the same stations are listed in the DWD/BBR handbook
# "Testreferenzjahre von Deutschland fuer mittlere und extreme Witterungsverhaeltnisse"
# (2011). Region 4 (Potsdam) is the reference climate of the German TABULA typology.
_TRY2010_TABLE = """
1|Bremerhaven|10129|53 32|8 35|7
2|Rostock|10170|54 11|12 05|4
3|Hamburg|10147|53 38|10 00|13
4|Potsdam|10379|52 23|13 04|81
5|Essen|10410|51 24|6 58|152
6|Bad Marienberg|10526|50 40|7 58|547
7|Kassel|10438|51 18|9 27|231
8|Braunlage|10452|51 44|10 36|607
9|Chemnitz|10577|50 48|12 52|418
10|Hof|10685|50 19|11 53|567
11|Fichtelberg|10578|50 26|12 57|1213
12|Mannheim|10729|49 31|8 33|96
13|Muehldorf|10875|48 17|12 30|405
14|Stoetten|10836|48 40|9 52|734
15|Garmisch-Partenkirchen|10963|47 29|11 04|719
"""


def _parse_stations(table: str) -> dict[int, TryStation]:
    out = {}
    for line in table.strip().splitlines():
        reg, name, wmo, lat, lon, alt = line.split("|")
        (lat_d, lat_m), (lon_d, lon_m) = (map(int, lat.split()), map(int, lon.split()))
        out[int(reg)] = TryStation(
            int(reg), name, int(wmo), round(lat_d + lat_m / 60, 4), round(lon_d + lon_m / 60, 4),
            float(alt),
        )  # fmt: skip
    return out


TRY2010_STATIONS: dict[int, TryStation] = _parse_stations(_TRY2010_TABLE)


@dataclass(frozen=True, eq=False)
class Weather:
    """Weather time series of one site on a regular grid.

    Attributes
    ----------
    site : Site
        Location; ``site.tz`` is the time zone of the index.
    data : pandas.DataFrame
        tz-aware ``DatetimeIndex`` at the step; the value at ``t`` is the mean over
        ``[t, t + dt)``. Columns :data:`DATA_COLUMNS` (°C, W/m², m/s and the solar angles
        in degrees at the middle of each interval).
    source : str
        Human-readable provenance.
    samples : pandas.DataFrame or None
        Spot values of ``t_air_degc`` and ``wind_speed_m_s`` at their observation times
        (the knots of the piecewise-linear representation used by :func:`resample`).
    """

    site: Site
    data: pd.DataFrame
    source: str
    samples: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        missing = [c for c in DATA_COLUMNS if c not in self.data.columns]
        if missing:
            raise WeatherError(f"Weather.data: missing columns {missing}; expected {DATA_COLUMNS}")
        idx = self.data.index
        step = np.diff(idx.asi8) if isinstance(idx, pd.DatetimeIndex) else np.zeros(0)
        regular = step.size > 0 and step[0] > 0 and (step == step[0]).all()
        if getattr(idx, "tz", None) is None or not regular:
            raise WeatherError("Weather.data: index must be a tz-aware, increasing regular grid")

    @property
    def dt_s(self) -> int:
        """Step of the grid in seconds."""
        return int((self.data.index[1] - self.data.index[0]).total_seconds())

    @property
    def stop(self) -> pd.Timestamp:
        """End of the last interval (exclusive)."""
        return self.data.index[-1] + pd.Timedelta(seconds=self.dt_s)

    def to_pvlib(self) -> pd.DataFrame:
        """Return the meteorological columns with pvlib names.

        Returns
        -------
        pandas.DataFrame
            Columns ``ghi``, ``dni``, ``dhi`` (W/m²), ``temp_air`` (°C) and
            ``wind_speed`` (m/s) on the same index (interval start; values are means over
            ``[t, t + dt)``). Use :meth:`solar_position` for the sun at the interval
            middles rather than letting pvlib evaluate it at the interval starts.
        """
        return self.data[list(_PVLIB_NAMES)].rename(columns=_PVLIB_NAMES)

    def solar_position(self) -> pd.DataFrame:
        """Solar angles at the interval middles with pvlib names.

        Returns
        -------
        pandas.DataFrame
            Columns ``zenith``, ``apparent_zenith`` and ``azimuth`` in degrees.
        """
        return self.data[list(SOLAR_COLUMNS)].rename(columns=_SOLAR_NAMES)


def try_site(region: int) -> Site:
    """Site of the reference station of TRY2010 climate region ``region`` (1..15)."""
    ok = isinstance(region, int | np.integer) and not isinstance(region, bool)
    if not ok or region not in TRY2010_STATIONS:
        raise WeatherError(f"TRY2010: region={region!r} unknown; expected int 1..15")
    s = TRY2010_STATIONS[int(region)]
    name = f"TRY2010 region {s.region} ({s.station}, WMO {s.wmo})"
    return Site(s.latitude_deg, s.longitude_deg, float(s.altitude_m), "Etc/GMT-1", name)


def _check_year(year: int) -> int:
    if isinstance(year, bool) or not isinstance(year, int | np.integer) or not 1900 <= year <= 2200:
        raise WeatherError(f"year={year!r} is not a calendar year; expected int 1900..2200")
    return int(year)


def _check_ranges(frame: pd.DataFrame, where: str) -> None:
    for col, (lo, hi) in _RANGES.items():
        if col not in frame.columns:
            continue
        v = frame[col].to_numpy(dtype=float)
        bad = ~np.isfinite(v) | (v < lo) | (v > hi)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise WeatherError(
                f"{where}: field {col!r} row {i} has value {float(v[i])!r}; expected"
                f" {lo} <= value <= {hi} ({int(bad.sum())} bad rows)"
            )


def _typical_calendar() -> pd.DataFrame:
    days = pd.date_range("2001-01-01", "2001-12-31", freq="D")
    return pd.DataFrame(
        {
            "month": np.repeat(days.month.to_numpy(), 24),
            "day": np.repeat(days.day.to_numpy(), 24),
            "hour_end": np.tile(np.arange(1, 25), len(days)),
        }
    )


def _check_calendar(rows: pd.DataFrame, where: str) -> None:
    ref = _typical_calendar()
    if len(rows) != len(ref):
        raise WeatherError(f"{where}: {len(rows)} hourly rows; expected 8760 (365 days x 24 h)")
    for col in ("month", "day", "hour_end"):
        got = rows[col].to_numpy(dtype=int)
        bad = got != ref[col].to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise WeatherError(
                f"{where}: field {col!r} row {i} has value {got[i]}; expected {ref[col].iloc[i]}"
                " (rows must run 1 Jan hour 1 .. 31 Dec hour 24)"
            )


def _put_solar(frame: pd.DataFrame, site: Site, dt: pd.Timedelta) -> None:
    """Add the solar angles at the interval middles ``frame.index + dt / 2``."""
    sp = pvlib.solarposition.get_solarposition(
        frame.index + dt / 2, site.latitude_deg, site.longitude_deg, altitude=site.altitude_m
    )
    for ours, theirs in _SOLAR_NAMES.items():
        frame[ours] = sp[theirs].to_numpy()


def _solar_time_shift_s(index: pd.DatetimeIndex, site: Site) -> np.ndarray:
    """Clock (site standard time) minus true solar time, in seconds, for each stamp."""
    utc_offset_s = index[0].utcoffset().total_seconds()
    eot_min = pvlib.solarposition.equation_of_time_spencer71(index.dayofyear.to_numpy())
    return utc_offset_s - site.longitude_deg * 240.0 - eot_min * 60.0


def _from_typical_year(
    rows: pd.DataFrame, site: Site, year: int, source: str, where: str, *, solar_time: bool = False
) -> Weather:
    """Map a 365-day typical year (hour-ending rows) onto calendar ``year``.

    With ``solar_time`` the irradiance rows end at ``HH`` true solar time and are
    integrated (piecewise constant) onto the clock-time grid.
    """
    _check_calendar(rows, where)
    _check_ranges(rows, where)
    days = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")
    doy = days.dayofyear.to_numpy() - 1
    if days.is_leap_year[0]:
        doy = np.where(doy >= 59, doy - 1, doy)  # 29 Feb (doy 59) repeats 28 Feb
    take = (doy[:, None] * 24 + np.arange(24)[None, :]).ravel()
    src = rows.iloc[take].reset_index(drop=True)
    start = pd.Timestamp(f"{year}-01-01").tz_localize(site.tz)
    index = pd.date_range(start, periods=len(src), freq="h")
    # spot values: the knot at the year start repeats the last hour of the typical year
    knots = pd.DataFrame(
        {
            c: np.concatenate(([rows[c].iloc[-1]], src[c].to_numpy(dtype=float)))
            for c in STATE_COLUMNS
        },
        index=pd.DatetimeIndex([start]).append(index + _HOUR),
    )
    data = pd.DataFrame(index=index)
    for c in STATE_COLUMNS:
        k = knots[c].to_numpy()
        data[c] = 0.5 * (k[:-1] + k[1:])
    _put_solar(data, site, _HOUR)
    if solar_time:  # true interval ends in clock time; two cyclic rows of padding each side
        irr = [c for c in (*IRRADIANCE_COLUMNS, "b_hor_w_m2") if c in src.columns]
        pad = pd.concat([rows.iloc[-2:], src, rows.iloc[:2]], ignore_index=True)[irr]
        ends = _ns(index) + 3600e9 + _solar_time_shift_s(index, site) * 1e9
        ends = np.concatenate((ends[0] - [2 * 3600e9, 3600e9], ends, ends[-1] + [3600e9, 7200e9]))
        edges, x = np.concatenate(([ends[0] - 3600e9], ends)), _ns(index.append(index[-1:] + _HOUR))
        for c in irr:
            src[c] = np.diff(_integral_constant(edges, pad[c].to_numpy(float), x)) / 3600e9
    dhi = src["dhi_w_m2"].to_numpy(dtype=float)
    if "b_hor_w_m2" in src.columns:
        b = src["b_hor_w_m2"].to_numpy(dtype=float)
        ghi = b + dhi
        z = data["solar_apparent_zenith_deg"].to_numpy()
        cosz = np.cos(np.radians(np.minimum(z, DNI_ZENITH_LIMIT_DEG)))
        dni_extra = pvlib.irradiance.get_extra_radiation(index).to_numpy()
        dni = np.where(z < DNI_ZENITH_LIMIT_DEG, np.minimum(b / cosz, dni_extra), 0.0)
        dhi = ghi - dni * np.where(z < DNI_ZENITH_LIMIT_DEG, cosz, 0.0)
    else:
        ghi = src["ghi_w_m2"].to_numpy(dtype=float)
        dni = src["dni_w_m2"].to_numpy(dtype=float)
    data["ghi_w_m2"] = ghi
    data["dni_w_m2"] = dni
    data["dhi_w_m2"] = dhi
    return Weather(site=site, data=data[list(DATA_COLUMNS)], source=source, samples=knots)


def _try_path(region: int) -> Path:
    base = importlib.resources.files("demandlib") / "vdi" / "resources_weather"
    return Path(str(base / f"TRY2010_{region:02d}_Jahr.dat"))


def _read_try_file(path: Path, region: int) -> pd.DataFrame:
    where = f"TRY2010 file {path.name}"
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise WeatherError(f"{where}: cannot be read ({exc}); expected a DWD TRY2010 file") from exc
    star = next((i for i, line in enumerate(lines) if line.startswith("***")), None)
    if star is None or star == 0:
        raise WeatherError(
            f"{where}: no '***' line after the column header; expected DWD TRY2010 format"
        )
    names = lines[star - 1].split()
    need = ["RG", "MM", "DD", "HH", "WG", "t", "B", "D"]
    if any(n not in names for n in need):
        raise WeatherError(f"{where}: header {names}; expected columns {need}")
    try:
        values = np.array([line.split() for line in lines[star + 1 :] if line.strip()], dtype=float)
    except ValueError as exc:
        raise WeatherError(f"{where}: non-numeric data ({exc}); expected numbers") from exc
    if values.ndim != 2 or values.shape[1] != len(names):
        raise WeatherError(f"{where}: rows do not have {len(names)} fields; expected TRY2010 rows")
    raw = pd.DataFrame(values, columns=names)
    rg = raw["RG"].to_numpy()
    if (rg != region).any():
        raise WeatherError(
            f"{where}: field 'RG' has value {rg[rg != region][0]:g}; expected {region}"
        )
    return pd.DataFrame(
        {
            "month": raw["MM"].astype(int),
            "day": raw["DD"].astype(int),
            "hour_end": raw["HH"].astype(int),
            "t_air_degc": raw["t"],
            "wind_speed_m_s": raw["WG"],
            "b_hor_w_m2": raw["B"],
            "dhi_w_m2": raw["D"],
        }
    )


def load_try2010(region: int, year: int) -> Weather:
    """Load the DWD test reference year TRY2010 of a climate region shipped with demandlib.

    Parameters
    ----------
    region : int
        TRY climate region 1..15; its reference station is in :data:`TRY2010_STATIONS`.
    year : int
        Calendar year to map the typical year onto (29 February repeats 28 February).

    Returns
    -------
    Weather
        Hourly weather in CET (``Etc/GMT-1``) covering ``[year-01-01, year+1-01-01)``.

    Raises
    ------
    WeatherError
        For an unknown region, an invalid year or a malformed file.
    """
    site = try_site(region)
    year = _check_year(year)
    path = _try_path(int(region))
    rows = _read_try_file(path, int(region))
    src = f"DWD TRY2010 {site.name}, file {path.name} (demandlib), mapped onto {year}"
    return _from_typical_year(rows, site, year, src, f"TRY2010 file {path.name}", solar_time=True)


def _tz_from_offset(offset_h: float, where: str) -> str:
    if not float(offset_h).is_integer() or not -12 <= offset_h <= 14:
        raise WeatherError(
            f"{where}: field 'TZ' has value {offset_h!r}; expected whole hours -12..14"
        )
    return "UTC" if offset_h == 0 else f"Etc/GMT{-int(offset_h):+d}"


def _read_with(
    reader: Callable[[Path], tuple[pd.DataFrame, dict]], path: str | Path, kind: str
) -> tuple[pd.DataFrame, dict]:
    p = Path(path)
    if not p.is_file():
        raise WeatherError(
            f"{kind} file {str(p)!r} does not exist; expected a readable {kind} file"
        )
    try:
        return reader(p)
    except Exception as exc:  # pvlib raises assorted parser errors
        raise WeatherError(
            f"{kind} file {p.name}: cannot be parsed ({exc}); expected {kind} format"
        ) from exc


def _pvlib_rows(data: pd.DataFrame, month: object, day: object, hour_end: object) -> pd.DataFrame:
    rows = pd.DataFrame({"month": month, "day": day, "hour_end": hour_end})
    for ours, theirs in _PVLIB_NAMES.items():
        rows[ours] = data[theirs].to_numpy(dtype=float)
    leap = (rows["month"] == 2) & (rows["day"] == 29)  # a typical year has 365 days
    return rows[~leap.to_numpy()].reset_index(drop=True)


def _pvlib_site(meta: dict, where: str, name: str) -> Site:
    tz = _tz_from_offset(float(meta["TZ"]), where)
    lat, lon, alt = (float(meta[k]) for k in ("latitude", "longitude", "altitude"))
    return Site(lat, lon, alt, tz, name)


def load_epw(path: str | Path, year: int) -> Weather:
    """Load an EnergyPlus weather (EPW) file via :func:`pvlib.iotools.read_epw`.

    Parameters
    ----------
    path : str or pathlib.Path
        EPW file with one typical year of 8760 hourly rows (a 29 February is dropped).
    year : int
        Calendar year to map the typical year onto.

    Returns
    -------
    Weather
        Hourly weather in the file's standard time zone.

    Raises
    ------
    WeatherError
        For a missing or malformed file or out-of-range values (e.g. missing-data codes).
    """
    year = _check_year(year)
    data, meta = _read_with(pvlib.iotools.read_epw, path, "EPW")
    where = f"EPW file {Path(path).name}"
    site = _pvlib_site(meta, where, f"{meta.get('city', '')} (WMO {meta.get('WMO_code', '')})")
    rows = _pvlib_rows(
        data, data["month"].to_numpy(), data["day"].to_numpy(), data["hour"].to_numpy()
    )
    src = f"EPW {Path(path).name} ({site.name}), mapped onto {year}"
    return _from_typical_year(rows, site, year, src, where)


def load_tmy3(path: str | Path, year: int) -> Weather:
    """Load an NREL TMY3 file via :func:`pvlib.iotools.read_tmy3`.

    Parameters
    ----------
    path : str or pathlib.Path
        TMY3 csv file (8760 hourly rows; a 29 February is dropped).
    year : int
        Calendar year to map the typical year onto.

    Returns
    -------
    Weather
        Hourly weather in the file's standard time zone.

    Raises
    ------
    WeatherError
        For a missing or malformed file or out-of-range values.
    """
    year = _check_year(year)
    data, meta = _read_with(lambda p: pvlib.iotools.read_tmy3(p, map_variables=True), path, "TMY3")
    where = f"TMY3 file {Path(path).name}"
    site = _pvlib_site(
        meta, where, f"{str(meta.get('Name', '')).strip(chr(34))} (USAF {meta.get('USAF', '')})"
    )
    # raw date and hour-ending time columns (pvlib's index moves 24:00 and 29 Feb)
    date = pd.to_datetime(data["Date (MM/DD/YYYY)"], format="%m/%d/%Y")
    hour_end = data["Time (HH:MM)"].str.split(":").str[0].astype(int).to_numpy()
    rows = _pvlib_rows(data, date.dt.month.to_numpy(), date.dt.day.to_numpy(), hour_end)
    src = f"TMY3 {Path(path).name} ({site.name}), mapped onto {year}"
    return _from_typical_year(rows, site, year, src, where)


def _ns(t: pd.DatetimeIndex | pd.Timestamp) -> np.ndarray:
    return np.asarray(
        pd.DatetimeIndex([t]).asi8 if isinstance(t, pd.Timestamp) else t.asi8, dtype=float
    )


def _integral_constant(edges: np.ndarray, values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Integral from ``edges[0]`` to ``x`` of a piecewise-constant function."""
    cum = np.concatenate(([0.0], np.cumsum(values * np.diff(edges))))
    return np.interp(x, edges, cum)


def _integral_linear(knots: np.ndarray, values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Integral from ``knots[0]`` to ``x`` of the piecewise-linear interpolant."""
    h = np.diff(knots)
    cum = np.concatenate(([0.0], np.cumsum(0.5 * (values[:-1] + values[1:]) * h)))
    j = np.clip(np.searchsorted(knots, x, side="right") - 1, 0, len(h) - 1)
    s = x - knots[j]
    slope = (values[j + 1] - values[j]) / h[j]
    return cum[j] + values[j] * s + 0.5 * slope * s * s


def _as_site_time(t: pd.Timestamp | str, site: Site, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(t)
    except (ValueError, TypeError) as exc:
        raise WeatherError(f"resample: {name}={t!r} is not a time stamp") from exc
    return ts.tz_localize(site.tz) if ts.tz is None else ts.tz_convert(site.tz)


def resample(weather: Weather, start: pd.Timestamp, stop: pd.Timestamp, dt_s: int) -> Weather:
    """Resample to a regular grid; the value at ``t`` is the exact mean over ``[t, t + dt)``.

    Interval means (irradiance) are integrated as piecewise-constant functions, spot
    values (temperature, wind; from ``weather.samples`` when present) as piecewise-linear
    functions. Solar angles are recomputed at the middle of each new interval.

    Parameters
    ----------
    weather : Weather
        Source series; ``[start, stop)`` must lie within its coverage.
    start, stop : pandas.Timestamp
        Range of the new grid; tz-naive stamps are read in ``weather.site.tz``.
    dt_s : int
        New step in seconds; ``stop - start`` must be a multiple of it.

    Returns
    -------
    Weather
        Resampled weather (``samples`` are carried over unchanged).

    Raises
    ------
    WeatherError
        For a non-positive step, a range not divisible by the step or outside the source.
    """
    if isinstance(dt_s, bool) or not isinstance(dt_s, int | np.integer) or dt_s <= 0:
        raise WeatherError(
            f"resample: dt_s={dt_s!r}; expected a positive integer number of seconds"
        )
    site = weather.site
    t0, t1 = _as_site_time(start, site, "start"), _as_site_time(stop, site, "stop")
    span = (t1 - t0).total_seconds()
    if span <= 0 or span % dt_s:
        raise WeatherError(
            f"resample: stop - start = {span:g} s; expected a positive multiple of dt_s={dt_s}"
        )
    first, end = weather.data.index[0], weather.stop
    if t0 < first or t1 > end:
        raise WeatherError(
            f"resample: range [{t0}, {t1}) is outside the weather coverage [{first}, {end});"
            " expected a range inside it"
        )
    index = pd.date_range(t0, periods=int(span // dt_s), freq=pd.Timedelta(seconds=int(dt_s)))
    x = np.concatenate((_ns(index), _ns(index[-1:] + pd.Timedelta(seconds=int(dt_s)))))
    width = np.diff(x)
    edges = np.concatenate((_ns(weather.data.index), _ns(end)))
    out = pd.DataFrame(index=index)
    for col in (*IRRADIANCE_COLUMNS, *STATE_COLUMNS):
        samples = weather.samples
        if col in STATE_COLUMNS and samples is not None and col in samples.columns:
            knots = _ns(samples.index)
            cum = _integral_linear(knots, samples[col].to_numpy(dtype=float), x)
        else:
            cum = _integral_constant(edges, weather.data[col].to_numpy(dtype=float), x)
        out[col] = np.diff(cum) / width
    for col in IRRADIANCE_COLUMNS:  # remove round-off below zero
        out[col] = out[col].clip(lower=0.0)
    _put_solar(out, site, pd.Timedelta(seconds=int(dt_s)))
    src = f"{weather.source}; resampled to {dt_s} s means over [{t0}, {t1})"
    return Weather(site=site, data=out[list(DATA_COLUMNS)], source=src, samples=weather.samples)
