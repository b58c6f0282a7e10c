"""The district's grid and its SimBench load and PV profiles, loaded for a scenario.

SimBench grids are parsed from the CSV files shipped with ``simbench`` (several seconds);
:func:`simbench_net` keeps a pickled copy of each parsed grid in a user cache directory
(``$PEDSIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/pedsim``, else ``~/.cache/pedsim``;
sub-directory ``simbench``). A cache file is keyed by the grid code and the versions of
Python, simbench, pandapower, pandas and numpy, so that it is never used by another set of
packages; it is written atomically, ignored (and rebuilt) when unreadable, and safe to
delete at any time. ``PEDSIM_NO_CACHE=1`` disables it.
"""

from __future__ import annotations

import os
import pickle
import re
import sys
import tempfile
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandapower as pp
import pandas as pd

from pedsim.scenario import Scenario, resolve_input
from pedsim.scenario.load import SIMBENCH_DATA_START
from pedsim.timeseries import step_means

SIMBENCH_STEP_S = 900
#: Bump when the content or format of the cached SimBench nets changes.
CACHE_FORMAT = 1


@dataclass(frozen=True)
class ElementSeries:
    """Time series of one kind of grid element (loads or PV plants) over the run.

    Parameters
    ----------
    names : numpy.ndarray
        Element names, one per unit.
    element_ids : numpy.ndarray
        pandapower indices of the elements.
    bus_ids : numpy.ndarray
        pandapower bus of each element.
    p_kw : numpy.ndarray
        Active power, shape ``(n_steps, n_units)``, load convention (generation negative).
    q_kvar : numpy.ndarray
        Reactive power, same shape and sign convention.
    """

    names: np.ndarray
    element_ids: np.ndarray
    bus_ids: np.ndarray
    p_kw: np.ndarray
    q_kvar: np.ndarray


@dataclass(frozen=True)
class District:
    """A grid with the loads and generators stepped by a run.

    Parameters
    ----------
    net : pandapower.pandapowerNet
        The grid; its own load and sgen set-points are not used by the run.
    loads : ElementSeries
        Household and commercial loads.
    pv : ElementSeries
        PV plants (SimBench static generators).
    """

    net: pp.pandapowerNet
    loads: ElementSeries
    pv: ElementSeries


def load_net(scenario: Scenario) -> pp.pandapowerNet:
    """Return the scenario's pandapower net (SimBench code or JSON file).

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.

    Returns
    -------
    pandapower.pandapowerNet
        The grid.
    """
    if scenario.grid.simbench_code is not None:
        return simbench_net(scenario.grid.simbench_code)
    path = resolve_input(scenario.source_path, Path(str(scenario.grid.pandapower_json)))
    return pp.from_json(str(path))


def cache_dir() -> Path | None:
    """Return pedsim's user cache directory, or None when caching is disabled.

    ``$PEDSIM_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/pedsim``, else
    ``~/.cache/pedsim``; ``PEDSIM_NO_CACHE=1`` (or any value but ``""``/``0``) disables it.
    """
    if os.environ.get("PEDSIM_NO_CACHE", "") not in ("", "0"):
        return None
    if os.environ.get("PEDSIM_CACHE_DIR"):
        return Path(os.environ["PEDSIM_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "pedsim"


def _simbench_cache_file(code: str) -> Path | None:
    root = cache_dir()
    if root is None:
        return None
    key = "-".join(
        [
            re.sub(r"[^A-Za-z0-9_.-]", "_", code),
            f"f{CACHE_FORMAT}",
            f"py{sys.version_info.major}.{sys.version_info.minor}",
            *(f"{pkg}{version(pkg)}" for pkg in ("simbench", "pandapower", "pandas", "numpy")),
        ]
    )
    return root / "simbench" / f"{key}.pkl"


def simbench_net(code: str) -> pp.pandapowerNet:
    """Return the SimBench grid ``code`` with its profiles, from the cache when there.

    The first call for a code parses SimBench's CSV files
    (:func:`simbench.get_simbench_net`) and stores a pickled copy in the cache directory
    (see the module docstring); later calls load that copy. Each call returns a new,
    independent net. The cache is optional: any failure to read or write it falls back
    to parsing the CSV files.

    Parameters
    ----------
    code : str
        A SimBench code, e.g. ``"1-LV-urban6--0-sw"``.

    Returns
    -------
    pandapower.pandapowerNet
        The grid, identical to :func:`simbench.get_simbench_net`'s.
    """
    import simbench

    path = _simbench_cache_file(code)
    if path is not None and path.is_file():
        try:
            with path.open("rb") as fh:
                net = pickle.load(fh)
            if isinstance(net, pp.pandapowerNet):
                return net
        except Exception:  # an unreadable cache file is rebuilt
            pass
    net = simbench.get_simbench_net(code)
    if path is not None:
        _write_atomic(path, pickle.dumps(net, protocol=pickle.HIGHEST_PROTOCOL))
    return net


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and a rename; ignore failures."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError:  # read-only or full disk: run without the cache
        pass


def load_district(scenario: Scenario) -> District:
    """Load the grid and the loads' and PV plants' SimBench profiles for the run period.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.

    Returns
    -------
    District
        Grid plus per-element series at the scenario's step (exact step means).

    Raises
    ------
    ValueError
        If the net carries no SimBench profiles.
    """
    import simbench

    net = load_net(scenario)
    if not getattr(net, "profiles", None):
        raise ValueError(
            "the grid has no SimBench profiles (net.profiles); pedsim needs them for loads and PV"
        )
    abs_values = simbench.get_absolute_values(net, profiles_instead_of_study_cases=True)
    args = (SIMBENCH_DATA_START, SIMBENCH_STEP_S, scenario.start_ts, scenario.step)
    n = scenario.n_steps

    def series(element: str, sign: float, scaling: float) -> ElementSeries:
        table = net[element]
        p_df = abs_values.get((element, "p_mw"), pd.DataFrame(index=[], columns=table.index))
        q_df = abs_values.get((element, "q_mvar"))
        ids = table.index.to_numpy()
        p_src = p_df.reindex(columns=ids).to_numpy(dtype=float) if len(p_df) else None
        if p_src is None:  # no profile: constant nominal value
            p_src = np.tile(table.p_mw.to_numpy(float), (35136, 1))
        if q_df is not None and len(q_df):
            q_src = q_df.reindex(columns=ids).to_numpy(dtype=float)
        else:
            q_src = np.tile(table.q_mvar.to_numpy(float), (p_src.shape[0], 1))
        scale = 1000.0 * sign * scaling * table.in_service.to_numpy(float)
        return ElementSeries(
            names=table.name.astype(str).to_numpy(),
            element_ids=ids,
            bus_ids=table.bus.to_numpy(),
            p_kw=step_means(p_src, *args, n) * scale,
            q_kvar=step_means(q_src, *args, n) * scale,
        )

    return District(
        net=net,
        loads=series("load", 1.0, scenario.profiles.load_scaling),
        pv=series("sgen", -1.0, scenario.profiles.pv_scaling),
    )
