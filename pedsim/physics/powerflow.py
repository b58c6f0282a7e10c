r"""Fast repeated AC power flow for distribution grids given as pandapower nets.

:class:`FastPowerFlow` takes the admittance model that pandapower builds for a net (bus-branch
model after merging buses joined by closed bus-bus switches and dropping isolated and
out-of-service elements: ``Ybus``, ``Yf``, ``Yt`` of ``net._ppc["internal"]``) once, and then
solves the balanced AC power flow for new per-bus injections without going through
:func:`pandapower.runpp` again.

Method
------
With the slack buses ``S`` (external grids) and all other buses ``L``, the power-flow equations
``Y_LL V_L + Y_LS V_S = conj(S_L / V_L)`` are solved by the implicit Z-bus (Gauss) fixed point

.. math:: V_L^{k+1} = V_L^k + Y_{LL}^{-1}\left(\overline{S_L / V_L^k} - (Y V^k)_L\right),

where ``Y_LL`` is factorised once (sparse LU, fill-reducing ordering) and the residual is
evaluated with the exact ``Ybus``, so the factorisation only affects the rate of convergence,
not the solution [1]_. Iteration stops when the largest voltage update is below ``tol_pu``.
Branch flows, currents and loadings follow pandapower's ``res_*`` conventions exactly
(currents from ``|S| / (sqrt(3) |V| V_base)`` at each end, line loading against
``max_i_ka * df * parallel``, transformer loading with ``trafo_loading="current"``).
If the fixed point does not converge, the injections are handed to :func:`pandapower.runpp`
on an internal copy of the net; if that fails too, :class:`PowerFlowError` is raised.

Conventions and limitations
---------------------------
* ``p_kw``/``q_kvar`` are per bus in the load convention and replace the p/q of all ``load``,
  ``sgen``, ``storage`` and ``gen`` elements (gens become plain PQ injections, their voltage
  set-point is not enforced). Other constant-power elements (e.g. ``ward``) are kept.
* Injections at out-of-service or isolated buses are ignored, as in pandapower; their results
  are NaN.
* The topology, switch states, taps and set-points are frozen at construction; any change to
  the net needs a new :class:`FastPowerFlow`.
* Voltage-controlled elements other than external grids (``xward``, ``dcline``, FACTS) are
  not supported.

References
----------
.. [1] T.-H. Chen, M.-S. Chen, K.-J. Hwang, P. Kotas and E. A. Chebli, "Distribution system
   power flow analysis - a rigid approach", IEEE Trans. Power Delivery 6(3), 1146-1152, 1991,
   doi:10.1109/61.85860.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pandapower as pp
import scipy.sparse as sp
from numba import njit
from numpy.typing import ArrayLike
from pandapower.pypower.idx_brch import F_BUS, T_BUS
from pandapower.pypower.idx_bus import BASE_KV, PD, QD
from scipy.sparse.linalg import splu

__all__ = ["FastPowerFlow", "PowerFlowError", "PowerFlowInputError", "PowerFlowResult"]

#: Element tables whose p/q are replaced by the per-bus injections.
_REPLACED_TABLES = ("load", "sgen", "storage", "gen")
#: Internal (ppc) tables of voltage-controlling devices the fast path cannot represent.
_UNSUPPORTED_DEVICES = ("svc", "ssc", "vsc", "tcsc")
_INJECTION_NAME = "FastPowerFlow injection"
_SQRT3 = float(np.sqrt(3.0))


class PowerFlowInputError(ValueError):
    """Raised for invalid constructor options, bus ids or injection vectors."""


class PowerFlowError(RuntimeError):
    """Raised when a power flow cannot be solved or its inputs are not finite.

    Parameters
    ----------
    element : str
        The offending element, e.g. ``"bus 17 (LV6.201 Bus 12)"``.
    detail : str
        What went wrong.
    """

    def __init__(self, element: str, detail: str) -> None:
        super().__init__(f"{element}: {detail}")
        self.element = element
        self.detail = detail


@dataclass(frozen=True)
class PowerFlowResult:
    """Result of one power flow; arrays follow the index order of :class:`FastPowerFlow`.

    Attributes
    ----------
    vm_pu, va_degree : numpy.ndarray
        Bus voltage magnitude and angle, ``(n_bus,)``; NaN at out-of-service/isolated buses.
    line_loading_percent, line_i_ka, line_pl_kw : numpy.ndarray
        As ``res_line.loading_percent``, ``res_line.i_ka`` (max of both ends) and
        ``1000 * res_line.pl_mw``, ``(n_line,)``.
    trafo_loading_percent, trafo_p_hv_kw, trafo_q_hv_kvar, trafo_pl_kw : numpy.ndarray
        As ``res_trafo`` (``p_hv`` positive when drawn from the upstream grid), ``(n_trafo,)``.
    p_ext_grid_kw, q_ext_grid_kvar : numpy.ndarray
        Supply of each external grid, positive when drawn from it (as ``res_ext_grid``).
    p_loss_kw : float
        Total active losses of lines and two-winding transformers.
    iterations : int
        Fixed-point iterations, or pandapower's Newton iterations for a fallback result.
    used_fallback : bool
        True when :func:`pandapower.runpp` produced this result.
    """

    vm_pu: np.ndarray
    va_degree: np.ndarray
    line_loading_percent: np.ndarray
    line_i_ka: np.ndarray
    line_pl_kw: np.ndarray
    trafo_loading_percent: np.ndarray
    trafo_p_hv_kw: np.ndarray
    trafo_q_hv_kvar: np.ndarray
    trafo_pl_kw: np.ndarray
    p_ext_grid_kw: np.ndarray
    q_ext_grid_kvar: np.ndarray
    p_loss_kw: float
    iterations: int
    used_fallback: bool


@njit(cache=True)
def _injections(p_kw, q_kvar, bus_ppci, s_base, scale):
    """Sum per-bus load-convention injections into per-unit generator-convention ``S``."""
    s = s_base.copy()
    for i in range(p_kw.shape[0]):
        if not (np.isfinite(p_kw[i]) and np.isfinite(q_kvar[i])):
            return s, i
        k = bus_ppci[i]
        if k >= 0:
            s[k] -= complex(p_kw[i], q_kvar[i]) * scale
    return s, -1


@njit(cache=True)
def _lu_solve(b, lu, work, out):
    """Solve ``A x = b`` with SuperLU factors ``Pr A Pc = L U`` (CSC, diagonals separate)."""
    perm_r, perm_c, l_ptr, l_idx, l_val, l_diag, u_ptr, u_idx, u_val, u_diag = lu
    n = b.shape[0]
    for i in range(n):
        work[perm_r[i]] = b[i]
    for j in range(n):
        xj = work[j] / l_diag[j]
        work[j] = xj
        for k in range(l_ptr[j], l_ptr[j + 1]):
            work[l_idx[k]] -= l_val[k] * xj
    for j in range(n - 1, -1, -1):
        xj = work[j] / u_diag[j]
        work[j] = xj
        for k in range(u_ptr[j], u_ptr[j + 1]):
            work[u_idx[k]] -= u_val[k] * xj
    for i in range(n):
        out[i] = work[perm_c[i]]


@njit(cache=True)
def _iterate(v, s, non_slack, ybus, lu, tol, max_iter):
    """Run the Z-bus fixed point in place on ``v``; return iterations, negative if failed."""
    y_ptr, y_idx, y_val = ybus
    n = non_slack.shape[0]
    mis = np.empty(n, np.complex128)
    dv = np.empty(n, np.complex128)
    work = np.empty(n, np.complex128)
    tol2 = tol * tol
    previous = np.inf
    for it in range(1, max_iter + 1):
        for a in range(n):
            i = non_slack[a]
            acc = 0j
            for k in range(y_ptr[i], y_ptr[i + 1]):
                acc += y_val[k] * v[y_idx[k]]
            vi = v[i]
            mis[a] = np.conj(s[i]) * vi / (vi.real * vi.real + vi.imag * vi.imag) - acc
        _lu_solve(mis, lu, work, dv)
        worst = 0.0
        for a in range(n):
            d = dv[a]
            v[non_slack[a]] += d
            d2 = d.real * d.real + d.imag * d.imag
            if not d2 <= worst:
                worst = d2
        # converged, or stalled at round-off level (updates no longer shrinking) near the target
        if worst <= tol2 or (worst <= 1e4 * tol2 and worst >= 0.25 * previous):
            return it
        if not worst < 1e6:  # diverged or NaN
            return -it
        previous = worst
    return -max_iter


@njit(cache=True)
def _end_flows(v, y, end_bus, base_mva, base_kv):
    """Complex power (MVA) into each branch end and the current magnitude (kA) there."""
    y_ptr, y_idx, y_val = y
    n_br = y_ptr.shape[0] - 1
    s = np.empty(n_br, np.complex128)
    i_ka = np.empty(n_br)
    for r in range(n_br):
        acc = 0j
        for k in range(y_ptr[r], y_ptr[r + 1]):
            acc += np.conj(y_val[k] * v[y_idx[k]]) * base_mva
        b = end_bus[r]
        s[r] = acc * v[b]
        i_ka[r] = abs(s[r]) / (abs(v[b]) * base_kv[b]) / _SQRT3
    return s, i_ka


@njit(cache=True)
def _results(v, s, ybus, yf, yt, br_f, br_t, base_mva, base_kv, bus_ppci, line, trafo, eg):
    """Bus, line, transformer and external-grid results in pandapower conventions."""
    nan = np.nan
    n_bus = bus_ppci.shape[0]
    vm = np.full(n_bus, nan)
    va = np.full(n_bus, nan)
    for i in range(n_bus):
        k = bus_ppci[i]
        if k >= 0:
            vm[i] = abs(v[k])
            va[i] = np.angle(v[k]) * (180.0 / np.pi)
    sf, i_f = _end_flows(v, yf, br_f, base_mva, base_kv)
    st, i_t = _end_flows(v, yt, br_t, base_mva, base_kv)

    line_br, line_nan, i_max = line
    n_line = line_br.shape[0]
    l_load = np.empty(n_line)
    l_i = np.empty(n_line)
    l_pl = np.zeros(n_line)
    p_loss = 0.0
    for j in range(n_line):
        r = line_br[j]
        if r >= 0:
            l_i[j] = max(i_f[r], i_t[r])
            l_pl[j] = (sf[r].real + st[r].real) * 1e3
            p_loss += l_pl[j]
        else:
            l_i[j] = nan if line_nan[j] else 0.0
        l_load[j] = l_i[j] / i_max[j] * 100.0 if i_max[j] != 0.0 else np.inf

    trafo_br, trafo_nan, k_hv, k_lv = trafo
    n_trafo = trafo_br.shape[0]
    t_load = np.empty(n_trafo)
    t_p = np.zeros(n_trafo)
    t_q = np.zeros(n_trafo)
    t_pl = np.zeros(n_trafo)
    for j in range(n_trafo):
        r = trafo_br[j]
        if r >= 0:
            t_load[j] = max(i_f[r] * k_hv[j], i_t[r] * k_lv[j])
            t_p[j] = sf[r].real * 1e3
            t_q[j] = sf[r].imag * 1e3
            t_pl[j] = (sf[r].real + st[r].real) * 1e3
            p_loss += t_pl[j]
        else:
            t_load[j] = nan if trafo_nan[j] else 0.0

    eg_bus, eg_share = eg
    y_ptr, y_idx, y_val = ybus
    n_eg = eg_bus.shape[0]
    p_eg = np.zeros(n_eg)
    q_eg = np.zeros(n_eg)
    for j in range(n_eg):
        k = eg_bus[j]
        if k >= 0:
            acc = 0j
            for m in range(y_ptr[k], y_ptr[k + 1]):
                acc += y_val[m] * v[y_idx[m]]
            supply = (v[k] * np.conj(acc) - s[k]) * (base_mva * 1e3 * eg_share[j])
            p_eg[j] = supply.real
            q_eg[j] = supply.imag
    return vm, va, l_load, l_i, l_pl, t_load, t_p, t_q, t_pl, p_eg, q_eg, p_loss


def _csr_parts(mat: sp.spmatrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``indptr``, ``indices`` and ``data`` of a canonical CSR copy."""
    csr = sp.csr_matrix(mat, dtype=np.complex128, copy=True)
    csr.sum_duplicates()
    csr.sort_indices()
    return csr.indptr.astype(np.int64), csr.indices.astype(np.int64), csr.data


def _split_triangular(tri: sp.spmatrix, n: int) -> tuple[np.ndarray, ...]:
    """Split a CSC triangular factor into off-diagonal CSC parts and its diagonal."""
    csc = sp.csc_matrix(tri, dtype=np.complex128)
    csc.sum_duplicates()
    rows = csc.indices
    cols = np.repeat(np.arange(n), np.diff(csc.indptr))
    on_diag = rows == cols
    diag = np.zeros(n, dtype=np.complex128)
    diag[cols[on_diag]] = csc.data[on_diag]
    off = sp.csc_matrix(
        (csc.data[~on_diag], (rows[~on_diag], cols[~on_diag])), shape=(n, n), dtype=np.complex128
    )
    off.sort_indices()
    return off.indptr.astype(np.int64), off.indices.astype(np.int64), off.data, diag


def _factorise(y_ll: sp.spmatrix) -> tuple[np.ndarray, ...]:
    """Sparse LU factors of ``Y_LL`` in the tuple layout used by ``_lu_solve``."""
    n = y_ll.shape[0]
    try:
        lu = splu(sp.csc_matrix(y_ll), permc_spec="MMD_AT_PLUS_A", options={"SymmetricMode": True})
    except RuntimeError as exc:
        raise PowerFlowInputError(f"net: the bus admittance matrix is singular ({exc})") from exc
    return (
        lu.perm_r.astype(np.int64),
        lu.perm_c.astype(np.int64),
        *_split_triangular(lu.L, n),
        *_split_triangular(lu.U, n),
    )


class FastPowerFlow:
    """Repeated balanced AC power flow of a fixed pandapower net.

    Parameters
    ----------
    net : pandapower.pandapowerNet
        The grid. It is copied; later changes to ``net`` are not seen.
    max_iter : int, optional
        Iteration limit of the fixed point before falling back to :func:`pandapower.runpp`.
    tol_pu : float, optional
        Convergence threshold on the largest complex voltage update (per unit).

    Raises
    ------
    PowerFlowInputError
        For invalid options, a net pandapower cannot solve without load, or unsupported
        voltage-controlling elements.

    Attributes
    ----------
    bus_index, line_index, trafo_index, ext_grid_index : numpy.ndarray
        pandapower ids in result order (all rows of the tables, in and out of service).
    """

    def __init__(self, net: pp.pandapowerNet, *, max_iter: int = 100, tol_pu: float = 1e-12):
        if not (isinstance(max_iter, int | np.integer) and max_iter >= 1):
            raise PowerFlowInputError(f"max_iter={max_iter!r}: expected an integer >= 1")
        if not (np.isfinite(tol_pu) and tol_pu > 0.0):
            raise PowerFlowInputError(f"tol_pu={tol_pu!r}: expected a positive finite number")
        self._max_iter = int(max_iter)
        self._tol = float(tol_pu)
        if not (net.ext_grid["in_service"].astype(bool)).any():
            raise PowerFlowInputError("net: expected at least one in-service ext_grid (slack)")
        model = copy.deepcopy(net)
        model.pop("profiles", None)
        for table in _REPLACED_TABLES:
            if len(model[table]):
                model[table]["in_service"] = False
        self.bus_index = model.bus.index.to_numpy(dtype=np.int64)
        self.line_index = model.line.index.to_numpy(dtype=np.int64)
        self.trafo_index = model.trafo.index.to_numpy(dtype=np.int64)
        self.ext_grid_index = model.ext_grid.index.to_numpy(dtype=np.int64)
        self._bus_order = np.argsort(self.bus_index, kind="stable")
        self._bus_names = model.bus["name"].to_numpy(dtype=object)
        self._inj_loads = np.asarray(
            pp.create_loads(model, self.bus_index, p_mw=0.0, q_mvar=0.0, name=_INJECTION_NAME)
        )
        try:
            with np.errstate(all="ignore"):
                pp.runpp(model, numba=False)  # numba would compile anew every run
        except pp.LoadflowNotConverged as exc:
            raise PowerFlowInputError(f"net: no-load power flow does not converge ({exc})") from exc
        self._model = model
        self._build(model)

    def _build(self, model: pp.pandapowerNet) -> None:
        """Extract the admittance model and all index maps from a solved internal net."""
        ppc = model._ppc
        internal = ppc["internal"]
        lookups = model._pd2ppc_lookups
        if "ref" not in internal or len(internal["ref"]) == len(internal["bus"]):
            raise PowerFlowInputError("net: expected at least one supplied bus besides the slack")
        if len(internal["pv"]) or any(len(internal.get(d, ())) for d in _UNSUPPORTED_DEVICES):
            raise PowerFlowInputError(
                "net: voltage-controlled elements besides ext_grid (e.g. xward, dcline, FACTS) "
                "are not supported"
            )
        ybus = sp.csr_matrix(internal["Ybus"])
        n_ppci = ybus.shape[0]
        self._base_mva = float(internal["baseMVA"])
        bus_table = internal["bus"]
        self._base_kv = np.ascontiguousarray(bus_table[:, BASE_KV].real, dtype=np.float64)
        self._s_base = -(bus_table[:, PD] + 1j * bus_table[:, QD]).astype(np.complex128) / (
            self._base_mva
        )
        lookup = np.asarray(lookups["bus"], dtype=np.int64)[self.bus_index]
        self._bus_ppci = np.where((lookup >= 0) & (lookup < n_ppci), lookup, -1)

        ref = np.asarray(internal["ref"], dtype=np.int64)
        self._non_slack = np.setdiff1d(np.arange(n_ppci), ref).astype(np.int64)
        self._v0 = np.asarray(internal["V"], dtype=np.complex128).copy()
        self._v_warm = self._v0.copy()
        self._ybus = _csr_parts(ybus)
        self._lu = _factorise(ybus[self._non_slack][:, self._non_slack])

        branch_is = np.asarray(internal["branch_is"], dtype=bool)
        ppci_row = np.cumsum(branch_is) - 1
        ends = ppc["branch"][:, [F_BUS, T_BUS]].real.astype(np.int64)
        br_ppci = internal["branch"][:, [F_BUS, T_BUS]].real.astype(np.int64)
        self._br_f = np.ascontiguousarray(br_ppci[:, 0])
        self._br_t = np.ascontiguousarray(br_ppci[:, 1])
        self._yf = _csr_parts(internal["Yf"])
        self._yt = _csr_parts(internal["Yt"])

        def rows(element: str, count: int) -> tuple[np.ndarray, np.ndarray]:
            start, _ = lookups["branch"].get(element, (0, 0))
            r = np.arange(start, start + count, dtype=np.int64)
            active = branch_is[r]
            no_bus = (ends[r] >= n_ppci).any(axis=1)
            return np.where(active, ppci_row[r], -1), ~active & no_bus

        line = model.line
        i_max = (line["max_i_ka"] * line["df"] * line["parallel"]).to_numpy(dtype=np.float64)
        self._line = (*rows("line", len(line)), i_max)
        trafo = model.trafo
        k = _SQRT3 * 100.0 / (trafo["sn_mva"] * trafo["parallel"] * trafo["df"])
        self._trafo = (
            *rows("trafo", len(trafo)),
            (trafo["vn_hv_kv"] * k).to_numpy(dtype=np.float64),
            (trafo["vn_lv_kv"] * k).to_numpy(dtype=np.float64),
        )
        self._ext_grid = self._ext_grid_shares(model, n_ppci, set(ref.tolist()))

    def _ext_grid_shares(
        self, model: pp.pandapowerNet, n_ppci: int, ref: set[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the internal slack bus of every ext_grid and its share of that bus's supply."""
        eg = model.ext_grid
        lookup = np.asarray(model._pd2ppc_lookups["bus"], dtype=np.int64)
        eg_bus = lookup[eg["bus"].to_numpy(dtype=np.int64)]
        active = eg["in_service"].to_numpy(dtype=bool) & (eg_bus >= 0) & (eg_bus < n_ppci)
        eg_bus = np.where(active, eg_bus, -1)
        weight = eg["slack_weight"].fillna(1.0).to_numpy(dtype=np.float64)
        share = np.zeros(len(eg))
        for k in set(eg_bus[active].tolist()):
            at = eg_bus == k
            if k not in ref:
                raise PowerFlowInputError(f"net: ext_grid at internal bus {k} is not a slack bus")
            share[at] = weight[at] / weight[at].sum() if weight[at].sum() > 0 else 1.0 / at.sum()
        return eg_bus, share

    def bus_position(self, bus_ids: ArrayLike) -> np.ndarray:
        """Positions of pandapower bus ids in :attr:`bus_index`.

        Parameters
        ----------
        bus_ids : array_like of int
            pandapower bus ids.

        Returns
        -------
        numpy.ndarray
            Integer positions, same shape as ``bus_ids``.

        Raises
        ------
        PowerFlowInputError
            If any id is not a bus of the net.
        """
        ids = np.asarray(bus_ids)
        if ids.size and not np.issubdtype(ids.dtype, np.integer):
            raise PowerFlowInputError(f"bus_ids has dtype {ids.dtype}: expected integer bus ids")
        order = self._bus_order
        sorted_ids = self.bus_index[order]
        pos = np.clip(np.searchsorted(sorted_ids, ids), 0, max(len(sorted_ids) - 1, 0))
        found = sorted_ids[pos] == ids if len(sorted_ids) else np.zeros(ids.shape, dtype=bool)
        if not np.all(found):
            missing = np.unique(ids[~found]).tolist()
            raise PowerFlowInputError(f"bus_ids: unknown pandapower bus ids {missing[:10]}")
        return order[pos]

    def _bus_label(self, position: int) -> str:
        """Human-readable name of the bus at ``position`` of :attr:`bus_index`."""
        name = self._bus_names[position]
        suffix = f" ({name})" if isinstance(name, str) and name else ""
        return f"bus {self.bus_index[position]}{suffix}"

    def _vector(self, values: ArrayLike, name: str) -> np.ndarray:
        """Validate one per-bus injection vector."""
        arr = np.ascontiguousarray(values, dtype=np.float64)
        if arr.shape != self.bus_index.shape:
            raise PowerFlowInputError(
                f"{name} has shape {arr.shape}: expected ({len(self.bus_index)},), one value per "
                "bus in bus_index order"
            )
        return arr

    def solve(self, p_kw: np.ndarray, q_kvar: np.ndarray) -> PowerFlowResult:
        """Solve the power flow for per-bus injections.

        Parameters
        ----------
        p_kw, q_kvar : numpy.ndarray
            Active/reactive power per bus in :attr:`bus_index` order, load convention
            (positive = drawn from the grid).

        Returns
        -------
        PowerFlowResult
            The solution; the fixed point is warm-started from the previous one.

        Raises
        ------
        PowerFlowInputError
            If an input does not have one value per bus.
        PowerFlowError
            For non-finite inputs, or if neither the fast path nor pandapower converges.
        """
        p = self._vector(p_kw, "p_kw")
        q = self._vector(q_kvar, "q_kvar")
        s, bad = _injections(p, q, self._bus_ppci, self._s_base, 1e-3 / self._base_mva)
        if bad >= 0:
            raise PowerFlowError(
                self._bus_label(bad), f"non-finite injection p_kw={p[bad]}, q_kvar={q[bad]}"
            )
        v = self._v_warm.copy()
        iterations = _iterate(
            v, s, self._non_slack, self._ybus, self._lu, self._tol, self._max_iter
        )
        if iterations < 0:
            return self._fallback(p, q, v, s)
        self._v_warm = v
        out = _results(
            v, s, self._ybus, self._yf, self._yt, self._br_f, self._br_t, self._base_mva,
            self._base_kv, self._bus_ppci, self._line, self._trafo, self._ext_grid,
        )  # fmt: skip
        return PowerFlowResult(*out[:11], float(out[11]), iterations, False)

    @property
    def warm_start(self) -> np.ndarray:
        """Complex bus voltages the next :meth:`solve` starts from (internal bus order)."""
        return self._v_warm.copy()

    @warm_start.setter
    def warm_start(self, v: np.ndarray) -> None:
        v = np.asarray(v, dtype=np.complex128)
        if v.shape != self._v0.shape:
            raise ValueError(f"warm_start has shape {v.shape}; expected {self._v0.shape}")
        self._v_warm = v.copy()

    def _fallback(
        self, p: np.ndarray, q: np.ndarray, v: np.ndarray, s: np.ndarray
    ) -> PowerFlowResult:
        """Solve with :func:`pandapower.runpp` on the internal net, or raise."""
        self._v_warm = self._v0.copy()
        model = self._model
        model.load.loc[self._inj_loads, "p_mw"] = p * 1e-3
        model.load.loc[self._inj_loads, "q_mvar"] = q * 1e-3
        try:
            with np.errstate(all="ignore"):
                pp.runpp(model, tolerance_mva=1e-10, max_iteration=50)
        except (pp.LoadflowNotConverged, np.linalg.LinAlgError, ValueError) as exc:
            label, kva = self._worst_mismatch(v, s)
            raise PowerFlowError(
                label,
                f"power flow did not converge (worst mismatch {kva:.3g} kVA after "
                f"{self._max_iter} fixed-point iterations; pandapower: {exc})",
            ) from exc
        line, trafo, eg = model.res_line, model.res_trafo, model.res_ext_grid
        line_pl = line["pl_mw"].to_numpy(dtype=np.float64) * 1e3
        trafo_pl = trafo["pl_mw"].to_numpy(dtype=np.float64) * 1e3
        return PowerFlowResult(
            vm_pu=model.res_bus["vm_pu"].to_numpy(dtype=np.float64),
            va_degree=model.res_bus["va_degree"].to_numpy(dtype=np.float64),
            line_loading_percent=line["loading_percent"].to_numpy(dtype=np.float64),
            line_i_ka=line["i_ka"].to_numpy(dtype=np.float64),
            line_pl_kw=line_pl,
            trafo_loading_percent=trafo["loading_percent"].to_numpy(dtype=np.float64),
            trafo_p_hv_kw=trafo["p_hv_mw"].to_numpy(dtype=np.float64) * 1e3,
            trafo_q_hv_kvar=trafo["q_hv_mvar"].to_numpy(dtype=np.float64) * 1e3,
            trafo_pl_kw=trafo_pl,
            p_ext_grid_kw=eg["p_mw"].to_numpy(dtype=np.float64) * 1e3,
            q_ext_grid_kvar=eg["q_mvar"].to_numpy(dtype=np.float64) * 1e3,
            p_loss_kw=float(np.nansum(line_pl) + np.nansum(trafo_pl)),
            iterations=int(model._ppc.get("iterations", 0)),
            used_fallback=True,
        )

    def _worst_mismatch(self, v: np.ndarray, s: np.ndarray) -> tuple[str, float]:
        """Name the non-slack bus with the largest power mismatch at voltage ``v``."""
        ptr, idx, val = self._ybus
        ybus = sp.csr_matrix((val, idx, ptr), shape=(len(v), len(v)))
        with np.errstate(all="ignore"):
            mismatch = np.abs(v * np.conj(ybus @ v) - s)[self._non_slack]
        mismatch[~np.isfinite(mismatch)] = np.inf
        worst = int(self._non_slack[np.argmax(mismatch)])
        at = np.flatnonzero(self._bus_ppci == worst)
        label = self._bus_label(int(at[0])) if len(at) else f"internal bus {worst}"
        return label, float(mismatch.max()) * self._base_mva * 1e3
