"""Sparse assembly of linear programmes and their solution with HiGHS (via SciPy)."""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import coo_array, vstack

__all__ = ["LinearModel"]

FloatArray = npt.NDArray[np.float64]


def _arr(x: npt.ArrayLike, shape: tuple[int, ...]) -> FloatArray:
    return np.broadcast_to(np.asarray(x, dtype=float), shape).copy()


class LinearModel:
    """Variable blocks with bounds and costs, and vectorised constraint rows ``lo <= A x <= hi``."""

    def __init__(self) -> None:
        self.lb: list[FloatArray] = []
        self.ub: list[FloatArray] = []
        self.c: list[FloatArray] = []
        self.integ: list[FloatArray] = []
        self.n = 0
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self.rlo: list[FloatArray] = []
        self.rhi: list[FloatArray] = []
        self.m = 0

    def add_vars(
        self,
        shape: tuple[int, ...],
        lb: object = 0.0,
        ub: object = np.inf,
        cost: object = 0.0,
        integer: bool = False,
    ) -> np.ndarray:
        """Add a block of variables; returns their indices in the given shape."""
        size = int(np.prod(shape))
        idx = self.n + np.arange(size).reshape(shape)
        self.n += size
        for store, v in ((self.lb, lb), (self.ub, ub), (self.c, cost)):
            store.append(_arr(v, shape).reshape(-1))
        self.integ.append(np.full(size, 1.0 if integer else 0.0))
        return idx

    def add_rows(self, terms: list[tuple[np.ndarray, object]], lo: object, hi: object) -> None:
        """Add one row per element of the broadcast shape of the terms' index arrays."""
        shape = np.broadcast_shapes(*(np.shape(i) for i, _ in terms))
        size = int(np.prod(shape))
        r = self.m + np.arange(size)
        for idx, coef in terms:
            self.rows.append(r)
            self.cols.append(np.broadcast_to(idx, shape).reshape(-1))
            self.vals.append(_arr(coef, shape).reshape(-1))
        self.rlo.append(_arr(lo, shape).reshape(-1))
        self.rhi.append(_arr(hi, shape).reshape(-1))
        self.m += size

    def add_row(self, terms: list[tuple[np.ndarray, object]], lo: float, hi: float) -> None:
        """Add one row summing every element of every term (coefficients broadcast)."""
        for idx, coef in terms:
            flat = np.asarray(idx).reshape(-1)
            self.rows.append(np.full(flat.size, self.m))
            self.cols.append(flat)
            self.vals.append(_arr(coef, (flat.size,)))
        self.rlo.append(np.array([lo], dtype=float))
        self.rhi.append(np.array([hi], dtype=float))
        self.m += 1

    def add_step_rows(self, terms: list[tuple[np.ndarray, float]], lo: object, hi: object) -> None:
        """One row per step (axis 0) summing every unit (axis 1) of each term."""
        t = np.shape(terms[0][0])[0]
        r = self.m + np.arange(t)
        for idx, coef in terms:
            block = np.asarray(idx).reshape(t, -1)
            self.rows.append(np.repeat(r, block.shape[1]))
            self.cols.append(block.reshape(-1))
            self.vals.append(np.full(block.size, float(coef)))
        self.rlo.append(_arr(lo, (t,)))
        self.rhi.append(_arr(hi, (t,)))
        self.m += t

    def solve(self, time_limit: float, gap: float, lp_method: str) -> tuple[object, float]:
        """Solve with HiGHS: ``linprog`` without integers, else ``milp``; returns (result, s)."""
        a = coo_array(
            (np.concatenate(self.vals), (np.concatenate(self.rows), np.concatenate(self.cols))),
            shape=(self.m, self.n),
        ).tocsr()
        lo, hi = np.concatenate(self.rlo), np.concatenate(self.rhi)
        c = np.concatenate(self.c)
        lb, ub = np.concatenate(self.lb), np.concatenate(self.ub)
        integ = np.concatenate(self.integ)
        opts: dict[str, object] = {"disp": False, "presolve": True}
        if np.isfinite(time_limit):
            opts["time_limit"] = time_limit
        t0 = time.perf_counter()
        if integ.any():
            cons = LinearConstraint(a, lo, hi)
            res = milp(c, integrality=integ, bounds=Bounds(lb, ub), constraints=cons,
                       options=opts | {"mip_rel_gap": gap})  # fmt: skip
            return res, time.perf_counter() - t0
        eq = lo == hi
        up, down = ~eq & np.isfinite(hi), ~eq & np.isfinite(lo)
        a_ub = vstack([a[up], -a[down]]) if (up.any() or down.any()) else None
        b_ub = np.concatenate([hi[up], -lo[down]]) if a_ub is not None else None
        res = linprog(
            c, A_ub=a_ub, b_ub=b_ub, A_eq=a[eq] if eq.any() else None,
            b_eq=lo[eq] if eq.any() else None, bounds=np.column_stack([lb, ub]),
            method=f"highs-{'ipm' if lp_method == 'ipm' else 'ds'}", options=opts,
        )  # fmt: skip
        if res.status != 0:  # an LP stopped early has no usable (feasible) solution
            res.x = None
        return res, time.perf_counter() - t0
