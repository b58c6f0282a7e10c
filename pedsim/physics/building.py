"""Thermal zones after EN ISO 13790:2008 Annex C (hourly 5R1C network), vectorised.

Each of N zones is the network of ISO 13790 Fig. C.1: air node ``θ_air``, central
(surface) node ``θ_s`` and mass node ``θ_m``; conductances ``H_ve`` (air - supply),
``H_tr,is`` (air - surface), ``H_tr,w`` (surface - outside), ``H_tr,ms`` (surface - mass),
``H_tr,em`` (mass - outside); one capacitance ``C_m``. Gains are split by eqs. C.1-C.3,
heating/cooling enters the air node. Air and surface nodes carry no heat capacity, so
the network has one state: ``C_m dθ_m/dt = Φ_m,tot - (H_tr,3 + H_tr,em) θ_m`` (eq. C.4 in
continuous form), time constant ``τ = C_m / (H_tr,3 + H_tr,em)``.

Inputs are constant within a (sub-)step; ``scheme="exact"`` integrates the linear ODE
exactly, ``scheme="crank_nicolson"`` uses eq. C.4 as printed. Steps longer than
``max_substep_s`` (default 3600 s, the resolution of the ISO method and of the heating
control) are split into equal sub-steps. Temperatures and powers are means over the step
(project convention); ``t_m_end_degc`` is the state at its end. Ideal heating/cooling
follows C.4.2: the air temperature without heating and with 10 W/m² is computed, the
power reaching the set point interpolated (the model is linear) and limited. The energy
balance of every step closes to round-off::

    phi_hc + phi_int + phi_sol = q_ve + q_tr_w + q_tr_em + q_gain_window + q_storage

where ``q_gain_window = H_tr,w / (9.1 A_t) (Φ_int / 2 + Φ_sol)`` is the part of the gains
that eqs. C.2-C.3 assign to no node (it leaves through the windows).

References: EN ISO 13790:2008, Annex C and clauses 7.2.2.2, 12.2.2, 12.3.1 (Table 12);
TABULA method (IWU) for the archetype boundary conditions in ``models/buildings``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import numpy as np
import pandas as pd
import pvlib
import yaml

if TYPE_CHECKING:
    from pedsim.physics.weather import Site

__all__ = ["HEAT_CAPACITY_CLASSES", "Archetype", "Building5R1C", "BuildingError", "RC5Params"]
__all__ += ["StepResult", "Windows", "load_archetypes", "simulate_5r1c", "solar_gains_w"]
__all__ += ["step_5r1c"]

#: ISO 13790:2008 Table 12: class -> (A_m / A_f, C_m / A_f in J/(m² K)).
HEAT_CAPACITY_CLASSES = {"very_light": (2.5, 80e3), "light": (2.5, 110e3), "medium": (2.5, 165e3)}
HEAT_CAPACITY_CLASSES |= {"heavy": (3.0, 260e3), "very_heavy": (3.5, 370e3)}
H_IS_W_M2K = 3.45  # ISO 13790 7.2.2.2: h_is, air - surface node
LAMBDA_AT = 4.5  # ISO 13790 7.2.2.2: A_t = 4.5 A_f
H_MS_W_M2K = 9.1  # ISO 13790 12.2.2: h_ms, surface - mass node
TRIAL_W_M2 = 10.0  # ISO 13790 C.4.2: trial heating power per m² of A_f
#: Window orientation -> (tilt, azimuth) in degrees, azimuth clockwise from north.
ORIENTATIONS = {"horizontal": (0.0, 180.0), "east": (90.0, 90.0), "south": (90.0, 180.0)}
ORIENTATIONS |= {"west": (90.0, 270.0), "north": (90.0, 0.0)}
_SCHEMES = ("exact", "crank_nicolson")


class BuildingError(ValueError):
    """Invalid building input; the message names the parameter, value and expectation."""


def _arr(name: str, value: object, n: int | None = None, *, lo: float = -np.inf) -> np.ndarray:
    a = np.array(value, dtype=float)
    a = a.reshape(-1) if n is None else np.broadcast_to(a, (n,)).copy() if a.ndim == 0 else a
    if n is not None and a.shape != (n,):
        raise BuildingError(f"{name}: shape {a.shape}; expected a scalar or shape ({n},)")
    if a.size and (np.isnan(a).any() or (a < lo).any()):
        bad = a[np.isnan(a) | (a < lo)][0]
        raise BuildingError(f"{name}: value {float(bad)!r}; expected numbers >= {lo}")
    return a


@dataclass(frozen=True, eq=False)
class RC5Params:
    """5R1C parameters of N zones; every field is an array of shape (N,).

    Attributes
    ----------
    a_f_m2, a_m_m2, a_t_m2 : numpy.ndarray
        Conditioned floor area, effective mass area and area of all surfaces facing the
        zone (m²).
    c_m_j_k : numpy.ndarray
        Internal heat capacity (J/K).
    h_tr_w_w_k, h_tr_em_w_k, h_tr_ms_w_k, h_tr_is_w_k, h_ve_w_k : numpy.ndarray
        Conductances (W/K): windows and doors, opaque outer part, surface - mass,
        air - surface, ventilation (incl. infiltration; must be > 0).
    t_set_heat_degc, t_set_cool_degc, p_heat_max_w, p_cool_max_w : numpy.ndarray
        Default air-temperature set points (°C) and available power (W, >= 0; 0 disables).
    names : tuple of str
        Zone labels.
    """

    a_f_m2: np.ndarray
    a_m_m2: np.ndarray
    a_t_m2: np.ndarray
    c_m_j_k: np.ndarray
    h_tr_w_w_k: np.ndarray
    h_tr_em_w_k: np.ndarray
    h_tr_ms_w_k: np.ndarray
    h_tr_is_w_k: np.ndarray
    h_ve_w_k: np.ndarray
    t_set_heat_degc: np.ndarray
    t_set_cool_degc: np.ndarray
    p_heat_max_w: np.ndarray
    p_cool_max_w: np.ndarray
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        n = np.size(self.a_f_m2)
        for f in fields(self)[:-1]:
            positive = f.name.startswith(("a_", "c_m", "h_")) and f.name != "h_tr_w_w_k"
            lo = 0.0 if f.name.startswith(("p_", "h_")) else -273.15
            a = _arr(f"RC5Params.{f.name}", getattr(self, f.name), n, lo=1e-12 if positive else lo)
            object.__setattr__(self, f.name, a)
        if (self.t_set_heat_degc > self.t_set_cool_degc).any():
            raise BuildingError("RC5Params: t_set_heat_degc > t_set_cool_degc; expected <=")
        names = tuple(self.names) or tuple(f"zone{i}" for i in range(n))
        if len(names) != n:
            raise BuildingError(f"RC5Params.names: {len(names)} names; expected {n}")
        object.__setattr__(self, "names", names)

    @property
    def n(self) -> int:
        """Number of zones."""
        return self.a_f_m2.size

    @property
    def h_tr_op_w_k(self) -> np.ndarray:
        """Opaque transmission H_tr,op = H_tr,em and H_tr,ms in series (ISO 13790 eq. 63)."""
        return 1.0 / (1.0 / self.h_tr_em_w_k + 1.0 / self.h_tr_ms_w_k)

    @property
    def h_tr_steady_w_k(self) -> np.ndarray:
        """Steady-state transmission of the network from the air node to outside (W/K).

        ``H_tr,is`` in series with ``H_tr,w + H_tr,op``; the network's steady heat loss is
        ``(H_tr + H_ve) (θ_air - θ_e)``.
        """
        return 1.0 / (1.0 / self.h_tr_is_w_k + 1.0 / (self.h_tr_w_w_k + self.h_tr_op_w_k))

    @property
    def time_constant_s(self) -> np.ndarray:
        """Time constant ``C_m / (H_tr,3 + H_tr,em)`` of the mass node (s)."""
        h1 = 1.0 / (1.0 / self.h_ve_w_k + 1.0 / self.h_tr_is_w_k)
        h3 = 1.0 / (1.0 / (h1 + self.h_tr_w_w_k) + 1.0 / self.h_tr_ms_w_k)
        return self.c_m_j_k / (h3 + self.h_tr_em_w_k)

    @classmethod
    def from_envelope(
        cls, a_f_m2: object, h_tr_op_w_k: object, h_tr_w_w_k: object, h_ve_w_k: object,
        heat_capacity_class: str | Sequence[str] = "medium", *, t_set_heat_degc: object = 20.0,
        t_set_cool_degc: object = 26.0, p_heat_max_w: object = np.inf,
        p_cool_max_w: object = 0.0, names: Sequence[str] = (),
    ) -> RC5Params:  # fmt: skip
        """Derive the network from envelope data with ISO 13790 defaults.

        ``A_m`` and ``C_m`` follow Table 12, ``A_t = 4.5 A_f``, ``H_tr,is = 3.45 A_t``,
        ``H_tr,ms = 9.1 A_m`` and ``H_tr,em = 1 / (1/H_tr,op - 1/H_tr,ms)`` (eq. 63).
        """
        a_f = _arr("a_f_m2", a_f_m2, lo=1e-12)
        n = a_f.size
        hcc = heat_capacity_class
        classes = [hcc] * n if isinstance(hcc, str) else list(hcc)
        if len(classes) != n or any(c not in HEAT_CAPACITY_CLASSES for c in classes):
            msg = f"expected one of {sorted(HEAT_CAPACITY_CLASSES)} (or one per zone)"
            raise BuildingError(f"heat_capacity_class: {hcc!r}; {msg}")
        f_m, c_m = (np.array([HEAT_CAPACITY_CLASSES[c][i] for c in classes]) for i in (0, 1))
        a_m, a_t = f_m * a_f, LAMBDA_AT * a_f
        h_ms = H_MS_W_M2K * a_m
        h_op = _arr("h_tr_op_w_k", h_tr_op_w_k, n, lo=1e-12)
        if (h_op >= h_ms).any():
            bad = h_op[h_op >= h_ms][0]
            raise BuildingError(f"h_tr_op_w_k: {bad:.4g} W/K; expected < H_tr,ms = 9.1 A_m")
        return cls(
            a_f, a_m, a_t, c_m * a_f, h_tr_w_w_k, 1.0 / (1.0 / h_op - 1.0 / h_ms), h_ms,
            H_IS_W_M2K * a_t, h_ve_w_k, t_set_heat_degc, t_set_cool_degc, p_heat_max_w,
            p_cool_max_w, tuple(names),
        )  # fmt: skip

    @classmethod
    def from_archetypes(cls, archetypes: Sequence[Archetype], **kwargs: object) -> RC5Params:
        """Derive the network of each archetype (keywords as :meth:`from_envelope`)."""
        kwargs.setdefault("heat_capacity_class", [a.heat_capacity_class for a in archetypes])
        kwargs.setdefault("names", [a.code for a in archetypes])
        cols = ("a_ref_m2", "h_tr_op_w_k", "h_tr_w_w_k", "h_ve_w_k")
        return cls.from_envelope(*([getattr(a, c) for a in archetypes] for c in cols), **kwargs)


@dataclass(frozen=True)
class Archetype:
    """Residential archetype (one TABULA building variant), units as in the field names.

    ``opaque`` holds ``(name, area_m2, u_w_m2k, b_factor)``; ``windows_by_orientation_m2``
    holds ``(orientation, area_m2)``; ``boundary`` the catalogue's boundary conditions.
    """

    code: str
    variant: str
    description: str
    building_type: str
    year_from: int
    year_to: int
    a_ref_m2: float
    heat_capacity_class: str
    n_air_infiltration_1_h: float
    delta_u_thermal_bridging_w_m2k: float
    g_gl_n: float
    opaque: tuple[tuple[str, float, float, float], ...]
    window_area_m2: float
    window_u_w_m2k: float
    door_area_m2: float
    door_u_w_m2k: float
    windows_by_orientation_m2: tuple[tuple[str, float], ...]
    q_h_nd_kwh_m2a: float
    published: dict = field(default_factory=dict)
    boundary: dict = field(default_factory=dict)

    @property
    def envelope_area_m2(self) -> float:
        """Area of all envelope elements (m²)."""
        return sum(e[1] for e in self.opaque) + self.window_area_m2 + self.door_area_m2

    @property
    def h_tr_w_w_k(self) -> float:
        """Windows and doors (light elements), W/K."""
        return self.window_area_m2 * self.window_u_w_m2k + self.door_area_m2 * self.door_u_w_m2k

    @property
    def h_tr_op_w_k(self) -> float:
        """Opaque elements with b-factors plus thermal bridges on the whole envelope, W/K."""
        h = sum(a * u * b for _, a, u, b in self.opaque)
        return h + self.delta_u_thermal_bridging_w_m2k * self.envelope_area_m2

    @property
    def h_ve_w_k(self) -> float:
        """Ventilation and infiltration, ``c_air (n_use + n_inf) h_room A_ref``, W/K."""
        b = self.boundary
        n = b["n_air_use_1_h"] + self.n_air_infiltration_1_h
        return b["c_air_wh_m3k"] * n * b["room_height_m"] * self.a_ref_m2  # Wh/(m³K) * m³/h


_ARCH_NUM = ("year_from", "year_to", "a_ref_m2", "n_air_infiltration_1_h", "g_gl_n")
_ARCH_NUM += ("delta_u_thermal_bridging_w_m2k",)
_BOUNDARY = ("theta_i_degc", "phi_int_w_m2", "n_air_use_1_h", "room_height_m", "c_air_wh_m3k")
_BOUNDARY += ("f_sh_vert", "f_sh_hor", "frame_fraction", "f_w")


def _fail(where: str, value: object, expected: str) -> NoReturn:
    raise BuildingError(f"{where} = {value!r}; expected {expected}")


def _num(where: str, value: object, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        _fail(where, value, f"a number in [{lo}, {hi}]")
    return float(value)


_AUB = ((0.0, 1e6), (0.0, 10.0), (0.0, 1.0))  # area m², U W/(m² K), b-factor


def _nums(where: str, value: object, limits: tuple) -> tuple[float, ...]:
    if not isinstance(value, list) or len(value) != len(limits):
        _fail(where, value, f"a list of {len(limits)} numbers")
    return tuple(_num(f"{where}[{i}]", v, *limits[i]) for i, v in enumerate(value))


def load_archetypes(path: str | Path) -> dict[str, Archetype]:
    """Load and validate an archetype catalogue (see ``models/buildings/tabula_de.yaml``).

    Parameters
    ----------
    path : str or pathlib.Path
        YAML file with ``boundary_conditions`` and ``archetypes``.

    Returns
    -------
    dict of str to Archetype
        Archetypes by code, in file order.

    Raises
    ------
    BuildingError
        Naming file, field and value for a missing file, missing field or bad value.
    """
    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise BuildingError(f"{p}: cannot be read as YAML ({exc}); expected a catalogue") from exc
    f = p.name
    if not isinstance(doc, dict) or not isinstance(doc.get("archetypes"), dict):
        raise BuildingError(f"{f}: field 'archetypes' missing; expected a mapping of archetypes")
    bc = doc.get("boundary_conditions")
    if not isinstance(bc, dict):
        raise BuildingError(f"{f}: field 'boundary_conditions' missing; expected a mapping")
    boundary = {k: _num(f"{f}: boundary_conditions.{k}", bc.get(k), -50, 1e4) for k in _BOUNDARY}
    out = {}
    for code, a in doc["archetypes"].items():
        w = f"{f}: archetypes.{code}"
        if not isinstance(a, dict):
            _fail(w, a, "a mapping")
        nums = {k: _num(f"{w}.{k}", a.get(k), 0.0, 1e6) for k in _ARCH_NUM}
        cls_ = a.get("heat_capacity_class")
        if cls_ not in HEAT_CAPACITY_CLASSES:
            _fail(f"{w}.heat_capacity_class", cls_, f"one of {sorted(HEAT_CAPACITY_CLASSES)}")
        opaque = a.get("opaque") if isinstance(a.get("opaque"), dict) else {}
        triples = [(str(k), *_nums(f"{w}.opaque.{k}", v, _AUB)) for k, v in opaque.items()]
        if not triples:
            _fail(f"{w}.opaque", a.get("opaque"), "a mapping of opaque elements")
        pair = {k: _nums(f"{w}.{k}", a.get(k), _AUB[:2]) for k in ("window", "door")}
        orient = a.get("windows_by_orientation_m2")
        if not isinstance(orient, dict) or any(k not in ORIENTATIONS for k in orient):
            _fail(f"{w}.windows_by_orientation_m2", orient, f"keys of {list(ORIENTATIONS)}")
        pub = a.get("published") or {}
        q = _num(f"{w}.published.q_h_nd_kwh_m2a", pub.get("q_h_nd_kwh_m2a"), 0, 2000)
        out[str(code)] = Archetype(
            str(code), str(a.get("variant", code)), str(a.get("description", "")),
            str(a.get("building_type", "")), int(nums["year_from"]), int(nums["year_to"]),
            nums["a_ref_m2"], cls_, nums["n_air_infiltration_1_h"],
            nums["delta_u_thermal_bridging_w_m2k"], nums["g_gl_n"], tuple(triples),
            *pair["window"], *pair["door"],
            tuple((k, _num(f"{w}.windows_by_orientation_m2.{k}", v, 0, 1e6)) for k, v in
                  orient.items()), q, dict(pub), dict(boundary),
        )  # fmt: skip
    return out


@dataclass(frozen=True, eq=False)
class Windows:
    """Windows of N zones in K orientations for :func:`solar_gains_w`.

    ``area_m2`` (N, K): window area incl. frame; ``tilt_deg``, ``azimuth_deg`` (K,): their
    orientation (azimuth clockwise from north); ``g_gl_n`` (N,): solar transmittance at
    normal incidence; ``frame_fraction`` (N,): F_F; ``shading_factor`` (N, K): F_sh;
    ``f_w``: correction for non-perpendicular incidence (ISO 13790 11.4.2), g = F_w g_n.
    """

    area_m2: np.ndarray
    tilt_deg: np.ndarray
    azimuth_deg: np.ndarray
    g_gl_n: np.ndarray
    frame_fraction: np.ndarray
    shading_factor: np.ndarray
    f_w: float = 0.9

    @classmethod
    def from_archetypes(cls, archetypes: Sequence[Archetype]) -> Windows:
        """Windows per orientation with the catalogue's g, frame and shading factors."""
        keys, b = list(ORIENTATIONS), [a.boundary for a in archetypes]
        area = np.array(
            [[dict(a.windows_by_orientation_m2).get(k, 0.0) for k in keys] for a in archetypes]
        )
        tilt, az = np.array([ORIENTATIONS[k] for k in keys]).T
        f_sh = np.array([[x["f_sh_hor" if t == 0 else "f_sh_vert"] for t in tilt] for x in b])
        g, ff = np.array([a.g_gl_n for a in archetypes]), [x["frame_fraction"] for x in b]
        return cls(area, tilt, az, g, np.array(ff), f_sh, float(b[0]["f_w"]))

    def effective_area_m2(self) -> np.ndarray:
        """Solar collecting area ``F_sh (1 - F_F) F_w g_gl,n A`` of shape (N, K), m²."""
        factor = (1.0 - self.frame_fraction) * self.f_w * self.g_gl_n
        return np.asarray(self.area_m2, float) * self.shading_factor * factor[:, None]


def solar_gains_w(
    weather_frame: pd.DataFrame, site: Site, windows: Windows, *, model: str = "haydavies",
    albedo: float = 0.2,
) -> np.ndarray:  # fmt: skip
    """Solar heat gains through the windows, shape (T, N), W.

    Parameters
    ----------
    weather_frame : pandas.DataFrame
        ``Weather.data``: irradiance means and solar angles at the interval middles.
    site : Site
        Location (altitude used for the air mass of the Perez model).
    windows : Windows
        Window areas and factors.
    model : str
        Sky-diffuse model of :func:`pvlib.irradiance.get_total_irradiance`.
    albedo : float
        Ground reflectance.
    """
    d = weather_frame
    need = ("ghi_w_m2", "dni_w_m2", "dhi_w_m2", "solar_apparent_zenith_deg", "solar_azimuth_deg")
    if any(c not in d.columns for c in need):
        raise BuildingError(f"weather_frame: columns {list(d.columns)}; expected {need}")
    zen, azi = d["solar_apparent_zenith_deg"], d["solar_azimuth_deg"]
    extra = {"dni_extra": pvlib.irradiance.get_extra_radiation(d.index)}
    if model == "perez":
        pressure = pvlib.atmosphere.alt2pres(site.altitude_m)
        am = pvlib.atmosphere.get_relative_airmass(zen)
        extra["airmass"] = pvlib.atmosphere.get_absolute_airmass(am, pressure)
    poa = np.column_stack([
        pvlib.irradiance.get_total_irradiance(
            t, a, zen, azi, d["dni_w_m2"], d["ghi_w_m2"], d["dhi_w_m2"],
            albedo=albedo, model=model, **extra,
        )["poa_global"].fillna(0.0).clip(lower=0.0).to_numpy()
        for t, a in zip(windows.tilt_deg, windows.azimuth_deg, strict=True)
    ])  # fmt: skip
    return poa @ windows.effective_area_m2().T


@dataclass(frozen=True, eq=False)
class StepResult:
    """Means over a step (arrays of shape (N,), or (T, N) from :func:`simulate_5r1c`).

    Temperatures in °C, powers in W; ``t_m_end_degc`` is the mass temperature at the end of
    the step, ``phi_hc_demand_w`` the ideal power before the power limits.
    """

    t_air_degc: np.ndarray
    t_s_degc: np.ndarray
    t_m_degc: np.ndarray
    t_op_degc: np.ndarray
    t_m_end_degc: np.ndarray
    phi_hc_w: np.ndarray
    phi_hc_demand_w: np.ndarray
    phi_int_w: np.ndarray
    phi_sol_w: np.ndarray
    q_ve_w: np.ndarray
    q_tr_w_w: np.ndarray
    q_tr_em_w: np.ndarray
    q_gain_window_w: np.ndarray
    q_storage_w: np.ndarray

    def balance_residual_w(self) -> np.ndarray:
        """Heat delivered and gained minus losses and storage (zero up to round-off)."""
        losses = self.q_ve_w + self.q_tr_w_w + self.q_tr_em_w + self.q_gain_window_w
        return self.phi_hc_w + self.phi_int_w + self.phi_sol_w - losses - self.q_storage_w


def _substep(
    p: RC5Params, tm0: np.ndarray, x: dict, phi_hc: object, h: float, *, exact: bool
) -> np.ndarray:
    """One sub-step with constant inputs; returns rows (θm_end, θm_mean, θs, θair)."""
    te, tsup, phi_int, phi_sol = x["t_out_degc"], x["t_supply_degc"], x["phi_int_w"], x["phi_sol_w"]
    h1 = 1.0 / (1.0 / p.h_ve_w_k + 1.0 / p.h_tr_is_w_k)
    h2 = h1 + p.h_tr_w_w_k
    h3 = 1.0 / (1.0 / h2 + 1.0 / p.h_tr_ms_w_k)
    g = 0.5 * phi_int + phi_sol
    phi_ia = 0.5 * phi_int + phi_hc
    phi_m = p.a_m_m2 / p.a_t_m2 * g  # eq. C.2
    phi_st = (1.0 - p.a_m_m2 / p.a_t_m2 - p.h_tr_w_w_k / (H_MS_W_M2K * p.a_t_m2)) * g  # C.3
    supply = tsup + phi_ia / p.h_ve_w_k
    phi_mtot = phi_m + p.h_tr_em_w_k * te + h3 * (phi_st + p.h_tr_w_w_k * te + h1 * supply) / h2
    hx = h3 + p.h_tr_em_w_k
    if exact:
        t_inf = phi_mtot / hx
        k = hx * h / p.c_m_j_k
        tm1 = t_inf + (tm0 - t_inf) * np.exp(-k)
        tm = t_inf + (tm0 - t_inf) * (-np.expm1(-k) / k)
    else:  # eq. C.4 and C.9
        a = p.c_m_j_k / h
        tm1 = (tm0 * (a - 0.5 * hx) + phi_mtot) / (a + 0.5 * hx)
        tm = 0.5 * (tm0 + tm1)
    ts = (p.h_tr_ms_w_k * tm + phi_st + p.h_tr_w_w_k * te + h1 * supply) / (
        p.h_tr_ms_w_k + p.h_tr_w_w_k + h1
    )  # eq. C.10
    tair = (p.h_tr_is_w_k * ts + p.h_ve_w_k * tsup + phi_ia) / (p.h_tr_is_w_k + p.h_ve_w_k)  # C.11
    return np.stack((tm1, tm, ts, tair))


def _advance(p: RC5Params, x: dict, dt_s: float, exact: bool, max_substep_s: float) -> StepResult:
    te, tsup, phi_int, phi_sol = x["t_out_degc"], x["t_supply_degc"], x["phi_int_w"], x["phi_sol_w"]
    tset_h, tset_c, pmax_h, pmax_c = (
        x[k] for k in ("t_set_heat_degc", "t_set_cool_degc", "p_heat_max_w", "p_cool_max_w")
    )
    n_sub = max(1, int(np.ceil(dt_s / max_substep_s - 1e-9)))
    h = dt_s / n_sub
    trial = TRIAL_W_M2 * p.a_f_m2
    acc = np.zeros((9, p.n))
    tm = x["t_m0_degc"]
    for _ in range(n_sub):
        s0 = _substep(p, tm, x, 0.0, h, exact=exact)
        s10 = _substep(p, tm, x, trial, h, exact=exact)
        per_w = (s10[3] - s0[3]) / trial  # K of air temperature per W (C.4.2 step 2)
        heat = (s0[3] < tset_h) & (pmax_h > 0.0)
        cool = (s0[3] > tset_c) & (pmax_c > 0.0) & ~heat
        demand = np.where(heat, tset_h - s0[3], np.where(cool, tset_c - s0[3], 0.0)) / per_w
        phi = np.where(
            heat, np.minimum(demand, pmax_h), np.where(cool, np.maximum(demand, -pmax_c), 0.0)
        )
        s = s0 + (phi / trial) * (s10 - s0)
        q = (p.h_ve_w_k * (s[3] - tsup), p.h_tr_w_w_k * (s[2] - te), p.h_tr_em_w_k * (s[1] - te))
        acc += np.stack((s[3], s[2], s[1], phi, demand, *q, p.c_m_j_k * (s[0] - tm) / h))
        tm = s[0]
    m = acc / n_sub
    q_gw = p.h_tr_w_w_k / (H_MS_W_M2K * p.a_t_m2) * (0.5 * phi_int + phi_sol)
    return StepResult(
        m[0], m[1], m[2], 0.3 * m[0] + 0.7 * m[1], tm, m[3], m[4],
        np.broadcast_to(phi_int, (p.n,)).copy(), np.broadcast_to(phi_sol, (p.n,)).copy(),
        m[5], m[6], m[7], q_gw * np.ones(p.n), m[8],
    )  # fmt: skip


def _inputs(p: RC5Params, dt_s: float, scheme: str, max_substep_s: float, **kw: object) -> dict:
    if not np.isfinite(dt_s) or dt_s <= 0:
        raise BuildingError(f"dt_s: value {dt_s!r}; expected a positive number of seconds")
    if scheme not in _SCHEMES:
        raise BuildingError(f"scheme: value {scheme!r}; expected one of {_SCHEMES}")
    if not max_substep_s > 0:
        raise BuildingError(f"max_substep_s: value {max_substep_s!r}; expected > 0")
    out = {}
    for k, v in kw.items():
        lo = 0.0 if k.startswith("p_") or k == "phi_int_w" else -273.15
        out[k] = _arr(k, v, p.n, lo=lo if k != "phi_sol_w" else 0.0)
    if (out["t_set_heat_degc"] > out["t_set_cool_degc"]).any():
        raise BuildingError("t_set_heat_degc > t_set_cool_degc for some zones; expected <=")
    return out


def step_5r1c(
    params: RC5Params, t_m0_degc: object, t_out_degc: object, phi_int_w: object,
    phi_sol_w: object, dt_s: float, *, t_set_heat_degc: object = None,
    t_set_cool_degc: object = None, p_heat_max_w: object = None, p_cool_max_w: object = None,
    t_supply_degc: object = None, scheme: str = "exact", max_substep_s: float = 3600.0,
) -> StepResult:  # fmt: skip
    """Advance N zones by ``dt_s`` with ideal heating/cooling (ISO 13790 C.4).

    Parameters
    ----------
    params : RC5Params
        Network of the N zones.
    t_m0_degc : array_like
        Mass temperature at the start of the step (°C).
    t_out_degc, phi_int_w, phi_sol_w : array_like
        Means over the step of the outdoor temperature (°C), internal gains (W) and solar
        gains (W), scalars or shape (N,).
    dt_s : float
        Step length (s); split into sub-steps of at most ``max_substep_s``.
    t_set_heat_degc, t_set_cool_degc, p_heat_max_w, p_cool_max_w : array_like, optional
        Set points (°C) and available heating/cooling power (W, >= 0) overriding the
        defaults in ``params``; a controller shifts set points or caps the heating here.
    t_supply_degc : array_like, optional
        Supply-air temperature; default the outdoor temperature.
    scheme : {"exact", "crank_nicolson"}
        Integration of the mass node within a sub-step.
    max_substep_s : float
        Longest sub-step (s).

    Returns
    -------
    StepResult
        Means over the step and the end state ``t_m_end_degc``.
    """
    p = params
    kw = _inputs(
        p, dt_s, scheme, max_substep_s, t_m0_degc=t_m0_degc, t_out_degc=t_out_degc,
        phi_int_w=phi_int_w, phi_sol_w=phi_sol_w,
        t_supply_degc=t_out_degc if t_supply_degc is None else t_supply_degc,
        t_set_heat_degc=p.t_set_heat_degc if t_set_heat_degc is None else t_set_heat_degc,
        t_set_cool_degc=p.t_set_cool_degc if t_set_cool_degc is None else t_set_cool_degc,
        p_heat_max_w=p.p_heat_max_w if p_heat_max_w is None else p_heat_max_w,
        p_cool_max_w=p.p_cool_max_w if p_cool_max_w is None else p_cool_max_w,
    )  # fmt: skip
    return _advance(p, kw, float(dt_s), scheme == "exact", float(max_substep_s))


class Building5R1C:
    """Stateful :func:`step_5r1c` holding the mass temperatures of N zones (°C)."""

    def __init__(self, params: RC5Params, t_m0_degc: object = 20.0, *, scheme: str = "exact",
                 max_substep_s: float = 3600.0) -> None:  # fmt: skip
        self.params = params
        self.t_m_degc = _arr("t_m0_degc", t_m0_degc, params.n, lo=-273.15)
        self.scheme = scheme
        self.max_substep_s = max_substep_s

    def step(self, t_out_degc: object, phi_int_w: object, phi_sol_w: object, dt_s: float,
             **kwargs: object) -> StepResult:  # fmt: skip
        """Advance by ``dt_s`` (keywords as :func:`step_5r1c`) and keep the end state."""
        res = step_5r1c(self.params, self.t_m_degc, t_out_degc, phi_int_w, phi_sol_w, dt_s,
                        scheme=self.scheme, max_substep_s=self.max_substep_s, **kwargs)  # fmt: skip
        self.t_m_degc = res.t_m_end_degc
        return res


def simulate_5r1c(
    params: RC5Params, t_out_degc: object, phi_int_w: object, phi_sol_w: object, dt_s: float,
    *, t_m0_degc: object = 20.0, scheme: str = "exact", max_substep_s: float = 3600.0,
) -> StepResult:  # fmt: skip
    """Run T steps with the default set points and power limits of ``params``.

    ``t_out_degc`` has shape (T,) or (T, N); gains have shape (T, N) or broadcast to it.
    Returns a :class:`StepResult` whose fields have shape (T, N).
    """
    te = np.asarray(t_out_degc, dtype=float)
    te = te[:, None] if te.ndim == 1 else te
    n_t = te.shape[0]
    shape = (n_t, params.n)
    te, gi, gs = (
        np.broadcast_to(np.asarray(x, dtype=float), shape) for x in (te, phi_int_w, phi_sol_w)
    )
    b = Building5R1C(params, t_m0_degc, scheme=scheme, max_substep_s=max_substep_s)
    rows = [b.step(te[i], gi[i], gs[i], dt_s) for i in range(n_t)]
    return StepResult(*(np.stack([getattr(r, f.name) for r in rows]) for f in fields(StepResult)))
