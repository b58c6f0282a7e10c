"""Exact step means conserve energy for any step size."""

import numpy as np
import pandas as pd
import pytest

from pedsim.timeseries import step_means

T0 = pd.Timestamp("2016-01-01")


@pytest.mark.parametrize(
    ("offset_s", "dt_s", "n"),
    [(0, 900, 8), (0, 3600, 2), (300, 600, 5), (0, 60, 100), (450, 1350, 3)],
)
def test_energy_conserved(offset_s, dt_s, n):
    rng = np.random.default_rng(0)
    values = rng.random((12, 3))
    got = step_means(values, T0, 900, T0 + pd.Timedelta(seconds=offset_s), dt_s, n)
    # Reference: integrate on a 1-second grid.
    fine = np.repeat(values, 900, axis=0)[offset_s : offset_s + n * dt_s]
    expected = fine.reshape(n, dt_s, 3).mean(axis=1)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_outside_data():
    with pytest.raises(ValueError, match="outside the data"):
        step_means(np.zeros(4), T0, 900, T0, 900, 5)
