"""Exact step means of piecewise-constant time series.

A value at step t is the mean over [t, t + dt).  Input series are treated as
piecewise constant over their own steps (a SimBench value at 00:15 is the mean power
over [00:15, 00:30)), so re-stepping conserves energy exactly for any step size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def step_means(
    values: np.ndarray,
    src_start: pd.Timestamp,
    src_dt_s: int,
    start: pd.Timestamp,
    dt_s: int,
    n_steps: int,
) -> np.ndarray:
    """Return the mean of a piecewise-constant series over each target step.

    Parameters
    ----------
    values : numpy.ndarray
        Source values, shape ``(n_src,)`` or ``(n_src, k)``; row i holds the mean over
        ``[src_start + i·src_dt_s, src_start + (i+1)·src_dt_s)``.
    src_start : pandas.Timestamp
        Start of the first source interval.
    src_dt_s : int
        Source step in seconds.
    start : pandas.Timestamp
        Start of the first target step.
    dt_s : int
        Target step in seconds.
    n_steps : int
        Number of target steps.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_steps,)`` or ``(n_steps, k)``, float64.

    Raises
    ------
    ValueError
        If the target period is not covered by the source data.
    """
    values = np.asarray(values, dtype=float)
    offset_s = (start - src_start).total_seconds()
    end_s = offset_s + n_steps * dt_s
    if offset_s < 0 or end_s > values.shape[0] * src_dt_s:
        stop = start + pd.Timedelta(seconds=n_steps * dt_s)
        src_stop = src_start + pd.Timedelta(seconds=values.shape[0] * src_dt_s)
        raise ValueError(
            f"period [{start}, {stop}) lies outside the data [{src_start}, {src_stop})"
        )
    if offset_s % src_dt_s == 0 and dt_s % src_dt_s == 0:  # aligned block means: fast path
        i0, k = int(offset_s // src_dt_s), dt_s // src_dt_s
        block = values[i0 : i0 + n_steps * k]
        return block.reshape(n_steps, k, *values.shape[1:]).mean(axis=1)
    # General case: integrate the step function and difference at the target edges.
    cum = np.concatenate([np.zeros((1, *values.shape[1:])), np.cumsum(values, axis=0)]) * src_dt_s
    edges = offset_s + dt_s * np.arange(n_steps + 1, dtype=float)
    idx = np.minimum((edges // src_dt_s).astype(np.int64), values.shape[0] - 1)
    frac = edges - idx * src_dt_s
    integral = cum[idx] + (values[idx].T * frac).T
    return np.diff(integral, axis=0) / dt_s
