"""Results files (HDF5): writing during a run and reading back.

Layout (format version 1), readable with plain h5py::

    /                       attrs: format, format_version, status, error, scenario_name,
                            seed, start, step_s, n_steps_planned, n_steps_done,
                            wall_clock_start, wall_clock_end, time_convention
    /scenario               attrs: text (the scenario YAML as given), path
    /versions               attrs: package name -> version (python, pedsim, mosaik, ...)
    /timings                attrs: simulator id -> wall seconds spent in step()
    /time/t_s               int64 (n,): mosaik time, seconds since start
    /time/timestamp         bytes (n,): ISO 8601 start of each step
    /labels/<kind>          bytes (k,): column labels shared by series of one kind
    /series/<group>/<name>  float64 (n,) or (n, k); attrs unit, description, sign,
                            columns (path of the label dataset, or "")

A value at step t is the mean over [t, t + step_s).  ``status`` is ``running`` while a
run writes, then ``complete``, ``failed`` or ``interrupted``; every completed step is
kept in every case.
"""

from __future__ import annotations

import sys
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

FORMAT = "pedsim-results"
FORMAT_VERSION = 1
STATUSES = ("running", "complete", "failed", "interrupted")
PACKAGES = (
    "pedsim",
    "mosaik",
    "mosaik-api-v3",
    "pandapower",
    "simbench",
    "numpy",
    "pandas",
    "scipy",
    "h5py",
    "pvlib",
    "pydantic",
)


def package_versions() -> dict[str, str]:
    """Return the versions of Python and of the packages a run depends on."""
    out = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def _now() -> str:
    return datetime.now(UTC).astimezone().isoformat(timespec="seconds")


@dataclass
class _Series:
    path: str
    width: int | None  # None: scalar per step
    buffer: np.ndarray


class ResultsWriter:
    """Write a run's time series to HDF5 in chunks.

    Parameters
    ----------
    path : pathlib.Path
        File to create (overwritten if it exists).
    meta : dict
        Root attributes: ``scenario_name``, ``seed``, ``start`` (ISO), ``step_s``,
        ``n_steps_planned``.
    scenario_text : str
        The scenario file as given.
    scenario_path : str
        Where it was read from.
    chunk_steps : int
        Steps buffered in memory between writes.
    """

    def __init__(
        self,
        path: Path,
        meta: Mapping[str, Any],
        scenario_text: str,
        scenario_path: str,
        chunk_steps: int = 672,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.chunk = int(chunk_steps)
        self.step_s = int(meta["step_s"])
        self.start = pd.Timestamp(meta["start"])
        self.file = h5py.File(path, "w")
        self.file.attrs.update(
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "status": "running",
                "error": "",
                "n_steps_done": 0,
                "wall_clock_start": _now(),
                "wall_clock_end": "",
                "time_convention": "value at t is the mean over [t, t + step_s)",
                **meta,
            }
        )
        grp = self.file.create_group("scenario")
        grp.attrs["text"] = scenario_text
        grp.attrs["path"] = scenario_path
        self.file.create_group("versions").attrs.update(package_versions())
        self.file.create_group("timings")
        self.series: dict[Hashable, _Series] = {}
        self._buffers: list[tuple[Hashable, np.ndarray]] = []  # (key, buffer) per series
        self.t_buf = np.zeros(self.chunk, dtype=np.int64)
        self.n_buf = 0
        self.n_done = 0
        time = self.file.create_group("time")
        time.create_dataset("t_s", (0,), maxshape=(None,), dtype=np.int64, chunks=(self.chunk,))
        time.create_dataset("timestamp", (0,), maxshape=(None,), dtype="S19", chunks=(self.chunk,))

    def add_labels(self, kind: str, labels: Iterable[str]) -> str:
        """Store column labels for series of one kind; return the label dataset path."""
        path = f"labels/{kind}"
        if path not in self.file:
            self.file.create_dataset(path, data=np.array([str(x) for x in labels], dtype="S"))
        return path

    def add_series(
        self,
        key: Hashable,
        path: str,
        *,
        unit: str,
        description: str,
        sign: str = "",
        width: int | None = None,
        columns: str = "",
    ) -> None:
        """Declare a series.

        Parameters
        ----------
        key : hashable
            What :meth:`append` receives it under (e.g. ``(source id, attribute)``).
        path : str
            ``"<group>/<name>"`` under ``/series``.
        unit, description, sign : str
            Attributes stored with the data.
        width : int or None
            Columns per step; ``None`` for a scalar per step.
        columns : str
            Path of the label dataset for the columns.
        """
        shape = (0,) if width is None else (0, width)
        maxshape = (None,) if width is None else (None, width)
        chunks = (self.chunk,) if width is None else (self.chunk, max(width, 1))
        ds = self.file.create_dataset(
            f"series/{path}", shape, maxshape=maxshape, dtype=np.float64, chunks=chunks
        )
        ds.attrs.update(
            {"unit": unit, "description": description, "sign": sign, "columns": columns}
        )
        buf_shape = (self.chunk,) if width is None else (self.chunk, width)
        self.series[key] = _Series(f"series/{path}", width, np.full(buf_shape, np.nan))
        self._buffers = [(k, s.buffer) for k, s in self.series.items()]

    def append(self, t_s: int, values: Mapping[Hashable, Any]) -> None:
        """Buffer one completed step; write when the buffer is full."""
        i = self.n_buf
        self.t_buf[i] = t_s
        get, nan = values.get, np.nan
        for key, buffer in self._buffers:
            buffer[i] = get(key, nan)
        self.n_buf += 1
        if self.n_buf == self.chunk:
            self.flush()

    def flush(self) -> None:
        """Write buffered steps to the file and flush it to disk."""
        n, m = self.n_done, self.n_buf
        if m:
            f = self.file
            for name in ("time/t_s", "time/timestamp"):
                f[name].resize((n + m,))
            f["time/t_s"][n:] = self.t_buf[:m]
            stamps = self.start + pd.to_timedelta(self.t_buf[:m], unit="s")
            f["time/timestamp"][n:] = np.array(stamps.strftime("%Y-%m-%dT%H:%M:%S"), dtype="S19")
            for s in self.series.values():
                ds = f[s.path]
                ds.resize(n + m, axis=0)
                ds[n:] = s.buffer[:m]
                s.buffer[:m] = np.nan
            self.n_done, self.n_buf = n + m, 0
            f.attrs["n_steps_done"] = self.n_done
        self.file.flush()

    def close(
        self,
        status: str,
        error: str = "",
        timings: Mapping[str, float] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Write what is buffered, set the final status and close the file."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        if not self.file.id.valid:
            return
        self.flush()
        self.file.attrs.update(
            {"status": status, "error": error, "wall_clock_end": _now(), **(extra or {})}
        )
        if timings:
            self.file["timings"].attrs.update({k: float(v) for k, v in timings.items()})
        self.file.close()


@dataclass
class Results:
    """A results file read into memory.

    Attributes
    ----------
    path : pathlib.Path
        The file.
    attrs : dict
        Root attributes (status, seed, start, step_s, ...).
    scenario_text : str
        The scenario as given.
    versions, timings : dict
        Package versions; wall seconds per simulator.
    index : pandas.DatetimeIndex
        Start of each completed step.
    series : dict
        ``"<group>/<name>"`` -> DataFrame (or Series for scalars), with ``.attrs`` unit,
        description, sign.
    labels : dict
        Label kind -> labels (``bus``, ``loads``, ``loads_bus`` (bus id of each load), ...).
    """

    path: Path
    attrs: dict[str, Any]
    scenario_text: str
    versions: dict[str, str]
    timings: dict[str, float]
    index: pd.DatetimeIndex
    series: dict[str, pd.DataFrame | pd.Series] = field(default_factory=dict)
    labels: dict[str, list[str]] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """Run status: complete, failed, interrupted (or running if the writer died)."""
        return str(self.attrs["status"])

    @property
    def step_h(self) -> float:
        """Step length in hours."""
        return float(self.attrs["step_s"]) / 3600.0

    def __getitem__(self, name: str) -> pd.DataFrame | pd.Series:
        """Return the series ``"<group>/<name>"``."""
        try:
            return self.series[name]
        except KeyError:
            raise KeyError(
                f"{self.path}: no series {name!r}; available: {', '.join(sorted(self.series))}"
            ) from None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def read_results(path: str | Path) -> Results:
    """Read a results file written by :class:`ResultsWriter`.

    Parameters
    ----------
    path : str or pathlib.Path
        The HDF5 file.

    Returns
    -------
    Results
        Everything in the file; series are labelled by time and column.

    Raises
    ------
    ValueError
        If the file is not a pedsim results file.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such results file")
    with h5py.File(path, "r") as f:
        if _text(f.attrs.get("format", "")) != FORMAT:
            raise ValueError(f"{path}: not a pedsim results file (attribute 'format' missing)")
        attrs = {k: (_text(v) if isinstance(v, bytes | str) else v) for k, v in f.attrs.items()}
        for key, value in attrs.items():
            if isinstance(value, np.generic):
                attrs[key] = value.item()
        index = pd.DatetimeIndex(
            pd.to_datetime([_text(x) for x in f["time/timestamp"][:]]), name="time"
        )
        labels = {f"labels/{k}": [_text(x) for x in f["labels"][k][:]] for k in f.get("labels", {})}
        out: dict[str, pd.DataFrame | pd.Series] = {}
        for group in f.get("series", {}).values():
            for name, ds in group.items():
                key = f"{group.name.removeprefix('/series/')}/{name}"
                data = ds[:]
                meta = {k: _text(v) for k, v in ds.attrs.items()}
                if data.ndim == 1:
                    obj: pd.DataFrame | pd.Series = pd.Series(data, index=index, name=key)
                else:
                    cols = labels.get(meta.get("columns", ""), list(range(data.shape[1])))
                    obj = pd.DataFrame(data, index=index, columns=cols)
                obj.attrs.update(meta)
                out[key] = obj
        return Results(
            path=path,
            attrs=attrs,
            scenario_text=_text(f["scenario"].attrs["text"]),
            versions={k: _text(v) for k, v in f["versions"].attrs.items()},
            timings={k: float(v) for k, v in f["timings"].attrs.items()},
            index=index,
            series=out,
            labels={k.removeprefix("labels/"): v for k, v in labels.items()},
        )
