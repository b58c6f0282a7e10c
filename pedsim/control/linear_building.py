"""Linear discrete-time model of 5R1C zones for optimising control.

The ISO 13790 5R1C network (:mod:`pedsim.physics.building`) is linear once the heating power
is an input instead of the output of the ideal thermostat: the air and surface nodes carry no
heat capacity, so the network has one state, the mass temperature ``θ_m``, and for a step of
length ``dt`` with inputs constant over the step

``θ_m[k+1] = a θ_m[k] + b · u[k]``, ``θ_air[k] = c θ_m[k] + d · u[k]``,

with ``u = (θ_e, Φ_int, Φ_sol, Φ_HC)`` (outdoor temperature, internal and solar gains,
heating power into the air node) and ``θ_air[k]`` the mean air temperature over the step.
The coefficients are identified from the 5R1C model itself: :meth:`LinearBuilding.from_rc5`
runs :func:`~pedsim.physics.building.step_5r1c` once per input (unit responses of the
affine map) with the thermostat disabled (or forced to a given heating power), so the model
reproduces the 5R1C step exactly, including its sub-steps and integration scheme, whenever
the heating power is the one the 5R1C zone receives. The supply-air temperature is the
outdoor temperature (the default of ``step_5r1c``); cooling is not modelled.

No reduced-order fit is needed: the 5R1C network already has a single state, so a fitted
1R1C/2R2C model would be no smaller and less accurate. ``tests/test_control_building.py``
compares the model with the 5R1C simulation over a week with heating switched on and off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pedsim.physics.building import RC5Params, step_5r1c

from .interface import ControlParameterError, check_number

__all__ = ["LinearBuilding"]

FloatArray = npt.NDArray[np.float64]
_PROBE_W = 1000.0  # probing amplitude for the gains and the heating power (W)
_HOT_DEGC = 1.0e4  # set point that forces the ideal heater to its limit when probing


@dataclass(frozen=True, eq=False)
class LinearBuilding:
    """One-state linear model of N zones for one step length.

    Attributes
    ----------
    dt_s : float
        Step length the coefficients belong to (s).
    a, c : numpy.ndarray
        Shape (N,): state transition and state-to-mean-air-temperature coefficients.
    b, d : numpy.ndarray
        Shape (N, 4): input coefficients for ``(t_out_degc, phi_int_w, phi_sol_w, phi_hc_w)``
        (K per K and K per W).
    names : tuple of str
        Zone labels.
    """

    dt_s: float
    a: FloatArray
    b: FloatArray
    c: FloatArray
    d: FloatArray
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        n = np.size(self.a)
        shapes = {"a": (n,), "c": (n,), "b": (n, 4), "d": (n, 4)}
        for name, shape in shapes.items():
            arr = np.asarray(getattr(self, name), dtype=float)
            if arr.shape != shape or not np.isfinite(arr).all():
                raise ControlParameterError(
                    f"LinearBuilding.{name}: shape {arr.shape}; expected finite values, {shape}"
                )
            object.__setattr__(self, name, arr)
        if ((self.a <= 0.0) | (self.a >= 1.0)).any():
            raise ControlParameterError(
                f"LinearBuilding.a={self.a!r}: expected values in (0, 1) (a stable zone)"
            )

    @property
    def n(self) -> int:
        """Number of zones."""
        return int(self.a.size)

    @classmethod
    def from_rc5(
        cls,
        params: RC5Params,
        dt_s: float,
        *,
        scheme: str = "exact",
        max_substep_s: float = 3600.0,
    ) -> LinearBuilding:
        """Identify the model of every zone of ``params`` for steps of ``dt_s``.

        Parameters
        ----------
        params : RC5Params
            5R1C network of N zones.
        dt_s : float
            Step length (s).
        scheme, max_substep_s
            As in :func:`~pedsim.physics.building.step_5r1c` (use the simulation's values).

        Returns
        -------
        LinearBuilding
        """
        check_number("dt_s", dt_s, lo=0.0, lo_open=True)
        n = params.n
        zeros = np.zeros(n)

        def run(tm0: float, te: float, gi: float, gs: float, hc: float) -> np.ndarray:
            heat = hc > 0.0
            res = step_5r1c(
                params, zeros + tm0, zeros + te, zeros + gi, zeros + gs, dt_s,
                t_set_heat_degc=_HOT_DEGC if heat else 0.0, t_set_cool_degc=_HOT_DEGC,
                p_heat_max_w=hc, p_cool_max_w=0.0, scheme=scheme, max_substep_s=max_substep_s,
            )  # fmt: skip
            return np.stack((res.t_m_end_degc, res.t_air_degc))

        base = run(0.0, 0.0, 0.0, 0.0, 0.0)
        r_m = run(1.0, 0.0, 0.0, 0.0, 0.0) - base
        r_u = [
            run(0.0, 1.0, 0.0, 0.0, 0.0) - base,
            (run(0.0, 0.0, _PROBE_W, 0.0, 0.0) - base) / _PROBE_W,
            (run(0.0, 0.0, 0.0, _PROBE_W, 0.0) - base) / _PROBE_W,
            (run(0.0, 0.0, 0.0, 0.0, _PROBE_W) - base) / _PROBE_W,
        ]
        b = np.stack([r[0] for r in r_u], axis=1)
        d = np.stack([r[1] for r in r_u], axis=1)
        return cls(float(dt_s), r_m[0], b, r_m[1], d, tuple(params.names))

    def _inputs(
        self,
        t_out_degc: object,
        phi_int_w: object,
        phi_sol_w: object,
        phi_hc_w: object,
        *,
        series: bool = False,
    ) -> FloatArray:
        """Stack inputs to shape (..., N, 4); with ``series`` a 1-D outdoor temperature is (T,)."""
        parts = [np.asarray(x, dtype=float) for x in (t_out_degc, phi_int_w, phi_sol_w, phi_hc_w)]
        if series and parts[0].ndim == 1:
            parts[0] = parts[0][:, None]
        shape = np.broadcast_shapes(*(p.shape for p in parts), (self.n,))
        return np.stack([np.broadcast_to(p, shape) for p in parts], axis=-1)

    def step(
        self,
        t_m_degc: object,
        t_out_degc: object,
        phi_int_w: object,
        phi_sol_w: object,
        phi_hc_w: object,
    ) -> tuple[FloatArray, FloatArray]:
        """Advance one step.

        Parameters
        ----------
        t_m_degc : array_like
            Mass temperature at the start of the step, shape (N,).
        t_out_degc, phi_int_w, phi_sol_w, phi_hc_w : array_like
            Step means of the inputs, scalars or shape (N,).

        Returns
        -------
        t_m_end_degc, t_air_degc : numpy.ndarray
            Mass temperature at the end of the step and mean air temperature over it.
        """
        tm = np.broadcast_to(np.asarray(t_m_degc, dtype=float), (self.n,))
        u = self._inputs(t_out_degc, phi_int_w, phi_sol_w, phi_hc_w)
        return self.a * tm + (self.b * u).sum(-1), self.c * tm + (self.d * u).sum(-1)

    def simulate(
        self,
        t_m0_degc: object,
        t_out_degc: object,
        phi_int_w: object,
        phi_sol_w: object,
        phi_hc_w: object,
    ) -> tuple[FloatArray, FloatArray]:
        """Run T steps from ``t_m0_degc``.

        Parameters
        ----------
        t_m0_degc : array_like
            Initial mass temperature, shape (N,) or scalar.
        t_out_degc : array_like
            Shape (T,) or (T, N).
        phi_int_w, phi_sol_w, phi_hc_w : array_like
            Shape (T, N) or broadcastable to it.

        Returns
        -------
        t_m_end_degc, t_air_degc : numpy.ndarray
            Shape (T, N) each.
        """
        u = self._inputs(t_out_degc, phi_int_w, phi_sol_w, phi_hc_w, series=True)
        if u.ndim != 3:
            raise ControlParameterError(f"inputs: shape {u.shape[:-1]}; expected (T, {self.n})")
        forced = (self.b * u).sum(-1)
        air_forced = (self.d * u).sum(-1)
        tm = np.broadcast_to(np.asarray(t_m0_degc, dtype=float), (self.n,)).copy()
        t_end = np.empty(forced.shape)
        t_air = np.empty(forced.shape)
        for k in range(forced.shape[0]):
            t_air[k] = self.c * tm + air_forced[k]
            tm = self.a * tm + forced[k]
            t_end[k] = tm
        return t_end, t_air

    def t_mass_from_air(
        self,
        t_air_degc: object,
        t_out_degc: object,
        phi_int_w: object,
        phi_sol_w: object,
        phi_hc_w: object,
    ) -> FloatArray:
        """Mass temperature at the start of a step that gives a mean air temperature.

        Inverts ``θ_air = c θ_m + d · u`` for one step with known inputs; used to estimate
        the state when only the air temperature is measured.

        Parameters
        ----------
        t_air_degc : array_like
            Mean air temperature of the step, shape (N,).
        t_out_degc, phi_int_w, phi_sol_w, phi_hc_w : array_like
            Step means of the inputs of that step.

        Returns
        -------
        numpy.ndarray
            Shape (N,).
        """
        u = self._inputs(t_out_degc, phi_int_w, phi_sol_w, phi_hc_w)
        t_air = np.broadcast_to(np.asarray(t_air_degc, dtype=float), (self.n,))
        return (t_air - (self.d * u).sum(-1)) / self.c

    def subset(self, index: npt.ArrayLike) -> LinearBuilding:
        """Model of the zones at ``index`` (in that order)."""
        i = np.asarray(index, dtype=np.int64)
        names = tuple(self.names[j] for j in i) if self.names else ()
        return LinearBuilding(self.dt_s, self.a[i], self.b[i], self.c[i], self.d[i], names)
