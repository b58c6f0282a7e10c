"""Forecasts over a horizon from series known for the whole run: perfect or persistence.

A :class:`ForecastSource` holds each signal on the run's step grid (index ``i`` is the mean
over ``[t0 + i dt, t0 + (i + 1) dt)``) and cuts :class:`~pedsim.control.interface.Forecast`
objects from it:

``perfect``
    The true future values.
``persistence``
    The value one period (default one day) earlier, or several periods earlier until the
    value lies before the decision time, i.e. was known then. During the first period of a
    run, where no earlier value exists, the true value is used (stated in
    :attr:`ForecastSource.notes`).

A horizon that runs past the end of the series repeats the last period of the series.
Day-ahead prices are known in advance, so a realistic set-up forecasts prices perfectly and
loads, PV and weather by persistence: ``mode="persistence", overrides={"price_eur_per_kwh":
"perfect"}``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from pedsim.physics.heatpump import (
    HeatPumpFleet,
    HeatPumpParams,
    cop_quadratic,
    heating_curve_supply_degc,
)

from .interface import ControlParameterError, Forecast, check_number

__all__ = ["FORECAST_MODES", "SIGNALS", "ForecastSource", "heat_pump_cop"]

FORECAST_MODES = ("perfect", "persistence")
#: Signals a source may hold (``Forecast`` fields); ``p_load_kw`` + ``p_pv_kw`` may replace
#: ``p_base_kw``.
SIGNALS = (
    "p_base_kw", "p_load_kw", "p_pv_kw", "price_eur_per_kwh", "co2_kg_per_kwh",
    "feed_in_eur_per_kwh", "t_out_degc", "phi_int_w", "phi_sol_w", "hp_cop",
)  # fmt: skip


class ForecastSource:
    """Cuts forecasts from series known for the whole run.

    Parameters
    ----------
    dt_s : int
        Step of the series (s); forecasts use the same step.
    series : mapping of str to array_like
        Signals of :data:`SIGNALS`, each of shape (N,) or (N, k) with one common N. Either
        ``p_base_kw`` or ``p_load_kw`` (and optionally ``p_pv_kw``) is required; 2-D load and
        PV arrays (per bus) are summed. ``price_eur_per_kwh`` and ``co2_kg_per_kwh`` default
        to zeros.
    t0_s : int
        Time of index 0 (s since the run start).
    mode : {"perfect", "persistence"}
        Default forecast mode.
    overrides : mapping of str to str, optional
        Mode per signal, overriding ``mode``.
    period_s : int
        Persistence period (s), a multiple of ``dt_s``; default one day.

    Raises
    ------
    ControlParameterError
        For unknown signals or modes, shapes that differ or periods that are not whole steps.
    """

    def __init__(
        self,
        dt_s: int,
        series: Mapping[str, npt.ArrayLike],
        *,
        t0_s: int = 0,
        mode: str = "perfect",
        overrides: Mapping[str, str] | None = None,
        period_s: int = 86400,
    ) -> None:
        self.dt_s = int(check_number("dt_s", dt_s, lo=0.0, lo_open=True))
        self.t0_s = int(check_number("t0_s", t0_s))
        check_number("period_s", period_s, lo=0.0, lo_open=True)
        if period_s % self.dt_s:
            raise ControlParameterError(
                f"period_s={period_s!r}: expected a multiple of dt_s={self.dt_s}"
            )
        self.period_steps = int(period_s // self.dt_s)
        unknown = sorted(set(series) - set(SIGNALS))
        if unknown:
            raise ControlParameterError(f"series: unknown signals {unknown}; expected {SIGNALS}")
        data = {k: np.asarray(v, dtype=float) for k, v in series.items()}
        if "p_base_kw" not in data:
            if "p_load_kw" not in data:
                raise ControlParameterError("series: expected 'p_base_kw' or 'p_load_kw'")
            load = data.pop("p_load_kw")
            pv = data.pop("p_pv_kw", np.zeros(load.shape[0]))
            total = (load.sum(axis=1) if load.ndim == 2 else load) + (
                pv.sum(axis=1) if pv.ndim == 2 else pv
            )
            data["p_base_kw"] = total
        lengths = {k: v.shape[0] if v.ndim else 0 for k, v in data.items()}
        n = lengths["p_base_kw"]
        if n < 1 or any(v != n for v in lengths.values()):
            raise ControlParameterError(f"series: lengths {lengths}; expected one common N >= 1")
        for k, v in data.items():
            if not np.isfinite(v).all():
                raise ControlParameterError(f"series[{k!r}]: contains NaN or inf")
        data.setdefault("price_eur_per_kwh", np.zeros(n))
        data.setdefault("co2_kg_per_kwh", np.zeros(n))
        self.series = data
        self.n = n
        modes = dict.fromkeys(data, mode) | dict(overrides or {})
        for k, m in modes.items():
            if m not in FORECAST_MODES:
                raise ControlParameterError(
                    f"mode of {k!r}={m!r}: expected one of {FORECAST_MODES}"
                )
            if k not in data and k not in ("p_load_kw", "p_pv_kw"):
                raise ControlParameterError(f"overrides: signal {k!r} is not in the series")
        self.modes = modes
        self.notes: list[str] = []

    def _index(self, i_now: int, n_steps: int, mode: str) -> np.ndarray:
        p = self.period_steps
        j = i_now + np.arange(n_steps)
        past_end = j > self.n - 1
        j = np.where(past_end, j - p * np.ceil((j - (self.n - 1)) / p).astype(np.int64), j)
        if mode == "persistence":
            back = j - p * np.ceil((j - i_now + 1) / p).astype(np.int64)
            j = np.where(back >= 0, back, j)
            if (back < 0).any() and not self.notes:
                self.notes.append("persistence: true values used where no earlier period exists")
        return np.clip(j, 0, self.n - 1)

    def forecast(self, t_s: int, n_steps: int) -> Forecast:
        """Forecast for ``n_steps`` steps from ``t_s``.

        Parameters
        ----------
        t_s : int
            Decision time (s since the run start), on the step grid of the series.
        n_steps : int
            Horizon length in steps (>= 1).

        Returns
        -------
        Forecast
        """
        check_number("n_steps", n_steps, lo=1)
        off = t_s - self.t0_s
        if off % self.dt_s or not 0 <= off // self.dt_s < self.n:
            raise ControlParameterError(
                f"t_s={t_s!r}: expected a step time of the series (t0_s={self.t0_s}, "
                f"dt_s={self.dt_s}, {self.n} steps)"
            )
        i_now = int(off // self.dt_s)
        values = {
            k: v[self._index(i_now, int(n_steps), self.modes[k])] for k, v in self.series.items()
        }
        return Forecast(t_s=int(t_s), dt_s=self.dt_s, **values)


def heat_pump_cop(
    params: HeatPumpParams,
    t_out_degc: npt.ArrayLike,
    day_of_year: npt.ArrayLike | None = None,
) -> npt.NDArray[np.float64]:
    """Space-heating COP of each heat pump per step, for a forecast of the outdoor temperature.

    The COP of :class:`~pedsim.physics.heatpump.HeatPumpFleet` for direct space heating (sink
    on the heating curve, no tank), which the MILP holds fixed within each step.

    Parameters
    ----------
    params : HeatPumpParams
        The units.
    t_out_degc : array_like
        Outdoor temperature per step, shape (T,).
    day_of_year : array_like, optional
        Fractional day of the year per step (required for ground sources).

    Returns
    -------
    numpy.ndarray
        Shape (T, n).
    """
    t_out = np.atleast_1d(np.asarray(t_out_degc, dtype=float))
    fleet = HeatPumpFleet(params)
    doy = None if day_of_year is None else np.broadcast_to(day_of_year, t_out.shape)
    t_src = np.stack([
        fleet.source_temperature_degc(t, None if doy is None else float(doy[k]))
        for k, t in enumerate(t_out)
    ])  # fmt: skip
    p = params
    sink = heating_curve_supply_degc(
        t_out[:, None], p.hc_t_out_design_degc, p.hc_t_supply_design_degc,
        p.hc_t_out_limit_degc, p.hc_t_supply_limit_degc,
    )  # fmt: skip
    return cop_quadratic(sink - t_src, p.cop_a, p.cop_b, p.cop_c,
                         delta_t_min_k=p.delta_t_min_k, correction=p.cop_correction)  # fmt: skip
