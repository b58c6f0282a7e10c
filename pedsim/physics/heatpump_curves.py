"""Heat-pump characteristic curves: COP regression, heating curve, ground temperature.

Sources as in :mod:`pedsim.physics.heatpump` (Ruhnau et al. 2019; EN 14825; Kusuda &
Achenbach 1965).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

_DAY_S = 86400.0
_YEAR_DAYS = 365.0


def cop_quadratic(
    delta_t_k: ArrayLike,
    a: ArrayLike,
    b: ArrayLike,
    c: ArrayLike,
    *,
    delta_t_min_k: ArrayLike = 15.0,
    correction: ArrayLike = 1.0,
) -> np.ndarray:
    """COP from a quadratic regression in the sink-source temperature lift.

    Parameters
    ----------
    delta_t_k : array_like
        Temperature lift ``T_sink - T_source`` [K].
    a, b, c : array_like
        Regression coefficients, ``COP = a + b dT + c dT^2``.
    delta_t_min_k : array_like, default 15.0
        Lower bound of the lift, below which the regression is not used (15 K in [1]_).
    correction : array_like, default 1.0
        Multiplicative correction (e.g. 0.85 for field conditions in [1]_).

    Returns
    -------
    numpy.ndarray
        COP, at least 1.
    """
    dt = np.maximum(np.asarray(delta_t_k, dtype=float), delta_t_min_k)
    cop = np.asarray(correction) * (np.asarray(a) + np.asarray(b) * dt + np.asarray(c) * dt**2)
    return np.maximum(cop, 1.0)


def heating_curve_supply_degc(
    t_out_degc: ArrayLike,
    t_out_design_degc: ArrayLike,
    t_supply_design_degc: ArrayLike,
    t_out_limit_degc: ArrayLike,
    t_supply_limit_degc: ArrayLike,
) -> np.ndarray:
    """Supply temperature of a heating curve through two points, constant outside them.

    Parameters
    ----------
    t_out_degc : array_like
        Outdoor temperature [degC].
    t_out_design_degc, t_supply_design_degc : array_like
        Design point: supply temperature at the design outdoor temperature [degC].
    t_out_limit_degc, t_supply_limit_degc : array_like
        Heating-limit point, ``t_out_limit_degc > t_out_design_degc`` [degC].

    Returns
    -------
    numpy.ndarray
        Supply temperature [degC].
    """
    x0, y0 = np.asarray(t_out_design_degc, float), np.asarray(t_supply_design_degc, float)
    x1, y1 = np.asarray(t_out_limit_degc, float), np.asarray(t_supply_limit_degc, float)
    x = np.clip(np.asarray(t_out_degc, dtype=float), x0, x1)
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


def ground_temperature_degc(
    day_of_year: ArrayLike,
    *,
    t_mean_degc: ArrayLike,
    amplitude_k: ArrayLike,
    depth_m: ArrayLike,
    diffusivity_m2_per_s: ArrayLike,
    day_min_surface: ArrayLike,
) -> np.ndarray:
    """Undisturbed ground temperature, Kusuda & Achenbach (1965).

    ``T(z, t) = T_m - A exp(-z / d) cos(2 pi / 365 (t - t_0 - z / d * 365 / (2 pi)))`` with the
    damping depth ``d = sqrt(2 alpha / omega)``.

    Parameters
    ----------
    day_of_year : array_like
        Day of the year, fractional (1 = 1 January 00:00) [d].
    t_mean_degc : array_like
        Annual mean surface temperature [degC].
    amplitude_k : array_like
        Amplitude of the annual surface-temperature wave [K].
    depth_m : array_like
        Depth [m].
    diffusivity_m2_per_s : array_like
        Thermal diffusivity of the soil [m2/s], > 0.
    day_min_surface : array_like
        Day of the year of the minimum surface temperature [d].

    Returns
    -------
    numpy.ndarray
        Ground temperature [degC].
    """
    omega = 2.0 * np.pi / (_YEAR_DAYS * _DAY_S)
    d = np.sqrt(2.0 * np.asarray(diffusivity_m2_per_s, dtype=float) / omega)
    z = np.asarray(depth_m, dtype=float) / d
    phase = 2.0 * np.pi / _YEAR_DAYS * (np.asarray(day_of_year) - day_min_surface) - z
    return np.asarray(t_mean_degc) - np.asarray(amplitude_k) * np.exp(-z) * np.cos(phase)
