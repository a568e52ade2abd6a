"""Parameter layout of a (multi-group) CFA: which matrix entries are free, fixed or equal.

For group :math:`g` with loadings :math:`\\Lambda_g` (``p x m``), factor covariances
:math:`\\Phi_g`, residual covariances :math:`\\Theta_g`, intercepts :math:`\\nu_g` and latent
means :math:`\\alpha_g`:

.. math:: \\Sigma_g = \\Lambda_g \\Phi_g \\Lambda_g' + \\Theta_g, \\qquad
          \\mu_g = \\nu_g + \\Lambda_g \\alpha_g .

Equality constraints (``group.equal``, syntax labels) are imposed by letting several matrix
entries share one element of the free-parameter vector, which is equivalent to lavaan's
constrained estimation and gives the same df.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from .syntax import ModelSpec

__all__ = ["Structure", "Param", "KINDS"]

KINDS = ("lambda", "phi", "theta", "nu", "alpha")


@dataclass
class Param:
    """One free matrix entry: ``kind`` (lambda, phi, theta, nu, alpha), group, row, column
    (``row >= col`` for symmetric matrices) and its index in the free-parameter vector."""

    kind: str
    group: int
    row: int
    col: int
    free: int


class Structure:
    """Parameter layout of ``spec`` in ``n_groups`` groups.

    Parameters
    ----------
    spec
        The model (modifiers and ``std_lv`` included).
    n_groups
        Number of groups.
    meanstructure
        Model intercepts (free) and latent means (0, or free in groups after the first when
        intercepts are held equal).
    equal
        Parameter kinds held equal across groups: ``"loadings"``, ``"intercepts"``,
        ``"residuals"``, ``"lv.variances"``, ``"lv.covariances"`` (lavaan's ``group.equal``).
    partial
        Entries ``(kind, row, col)`` exempt from ``equal`` (lavaan's ``group.partial``).
    """

    #: matrix kinds of the model (subclasses add more)
    kinds: tuple[str, ...] = KINDS

    _EQUAL_KIND = {"loadings": "lambda", "intercepts": "nu", "residuals": "theta",
                   "residual.covariances": "theta", "lv.variances": "phi",
                   "lv.covariances": "phi"}

    def __init__(self, spec: ModelSpec, n_groups: int, *, meanstructure: bool,
                 equal: tuple[str, ...] = (), partial: frozenset = frozenset()) -> None:
        self.spec = spec
        self.p = len(spec.observed)
        self.m = len(spec.factors)
        self.G = n_groups
        self.meanstructure = meanstructure
        self.equal = tuple(equal)
        self.partial = frozenset(partial)
        self.params: list[Param] = []
        self.fixed: list[list[tuple[str, int, int, float]]] = [[] for _ in range(n_groups)]
        self._shared: dict[tuple, int] = {}
        self.q = 0
        for g in range(n_groups):
            self._layout_group(g)
        self.by_group = [[k for k, prm in enumerate(self.params) if prm.group == g]
                         for g in range(n_groups)]
        self._build_index()

    # ----------------------------------------------------------------------------------------
    # layout
    # ----------------------------------------------------------------------------------------

    def _equal(self, kind: str, r: int, c: int) -> bool:
        if (kind, r, c) in self.partial:
            return False
        if kind == "alpha":
            return False
        for name in self.equal:
            if self._EQUAL_KIND.get(name) != kind:
                continue
            if kind == "theta" and (name == "residuals") != (r == c):
                continue
            if kind == "phi" and (name == "lv.variances") != (r == c):
                continue
            return True
        return False

    def _add(self, kind: str, g: int, r: int, c: int, key: tuple | None) -> None:
        """A free entry; entries with the same sharing ``key`` get one parameter."""
        if key is not None and key in self._shared:
            idx = self._shared[key]
        else:
            idx = self.q
            self.q += 1
            if key is not None:
                self._shared[key] = idx
        self.params.append(Param(kind, g, r, c, idx))

    def _entry(self, kind: str, g: int, r: int, c: int, syntax_key: tuple | None,
               default: float | None) -> None:
        """Place one entry: fixed by syntax, labelled, free, or fixed by default."""
        spec = self.spec
        if syntax_key is not None and syntax_key in spec.fixed:
            self.fixed[g].append((kind, r, c, spec.fixed[syntax_key]))
            return
        explicit_free = syntax_key is not None and syntax_key in spec.free
        label = spec.labels.get(syntax_key) if syntax_key is not None else None
        if default is not None and not explicit_free:
            if label is not None:
                raise InputError(
                    f"label '{label}' is on '{' '.join(syntax_key)}', which is fixed at "
                    f"{default:g} for identification, so every parameter labelled the same "
                    "would be fixed too",
                    hint=f"free it with NA*{syntax_key[2]} (and identify the factor "
                         "otherwise), or label only the other parameters")
            self.fixed[g].append((kind, r, c, default))
            return
        if label is not None:
            key: tuple | None = ("label", label)
        elif self._equal(kind, r, c):
            key = (kind, r, c)
        else:
            key = None
        self._add(kind, g, r, c, key)

    def _layout_group(self, g: int) -> None:
        self._layout_loadings(g)
        self._layout_residuals(g, variances=True)
        self._layout_factors(g)
        if self.meanstructure:
            for i, v in enumerate(self.spec.observed):
                self._entry("nu", g, i, 0, (v, "~1", ""), None)
            free_means = "intercepts" in self.equal and g > 0
            for j, f in enumerate(self.spec.factors):
                self._entry("alpha", g, j, 0, (f, "~1", ""), None if free_means else 0.0)

    def _layout_loadings(self, g: int) -> None:
        spec = self.spec
        pos = {v: i for i, v in enumerate(spec.observed)}
        for j, f in enumerate(spec.factors):
            for k, item in enumerate(spec.indicators[f]):
                default = 1.0 if (k == 0 and not spec.std_lv) else None
                self._entry("lambda", g, pos[item], j, (f, "=~", item), default)

    def _layout_residuals(self, g: int, *, variances: bool) -> None:
        """Residual variances (unless ``variances`` is false) and residual covariances."""
        spec = self.spec
        pos = {v: i for i, v in enumerate(spec.observed)}
        if variances:
            for i, v in enumerate(spec.observed):
                self._entry("theta", g, i, i, (v, "~~", v), None)
        for a, b in spec.residual_covariances:
            i, k = sorted((pos[a], pos[b]), reverse=True)
            self._entry("theta", g, i, k, (a, "~~", b), None)

    def _layout_factors(self, g: int) -> None:
        """Factor variances (1 under std.lv, free in later groups with equal loadings) and
        covariances."""
        spec = self.spec
        std_lv = spec.std_lv
        fpos = {f: j for j, f in enumerate(spec.factors)}
        for j, f in enumerate(spec.factors):
            free_var = std_lv and g > 0 and "loadings" in self.equal
            default = 1.0 if (std_lv and not free_var) else None
            self._entry("phi", g, j, j, (f, "~~", f), default)
        for j in range(self.m):
            for k in range(j):
                a, b = spec.factors[k], spec.factors[j]
                key = (a, "~~", b) if fpos[a] < fpos[b] else (b, "~~", a)
                self._entry("phi", g, j, k, key, None)

    def _build_index(self) -> None:
        """Per group and kind: (rows, cols, free indices) for vectorised scatter."""
        self._index = []
        self._base = []
        for g in range(self.G):
            entry: dict[str, Any] = {}
            for kind in self.kinds:
                sel = [prm for prm in (self.params[k] for k in self.by_group[g])
                       if prm.kind == kind]
                entry[kind] = (np.array([x.row for x in sel], dtype=int),
                               np.array([x.col for x in sel], dtype=int),
                               np.array([x.free for x in sel], dtype=int))
            cols = np.unique(np.array([self.params[k].free for k in self.by_group[g]],
                                      dtype=int))
            entry["cols"] = cols
            entry["local"] = {int(c): i for i, c in enumerate(cols)}
            self._index.append(entry)
            base = self._empty_base()
            for kind, r, c, v in self.fixed[g]:
                if base[kind].ndim == 1:
                    base[kind][r] = v
                else:
                    base[kind][r, c] = v
                    if kind in ("phi", "theta"):
                        base[kind][c, r] = v
            self._base.append(base)

    def _empty_base(self) -> dict[str, np.ndarray]:
        """Zero matrices of every kind, to receive the fixed values."""
        return {"lambda": np.zeros((self.p, self.m)), "phi": np.zeros((self.m, self.m)),
                "theta": np.zeros((self.p, self.p)), "nu": np.zeros(self.p),
                "alpha": np.zeros(self.m)}

    # ----------------------------------------------------------------------------------------
    # model-implied moments and their derivatives
    # ----------------------------------------------------------------------------------------

    @property
    def n_moments(self) -> int:
        per = self.p * (self.p + 1) // 2 + (self.p if self.meanstructure else 0)
        return self.G * per

    def free_of(self, g: int) -> dict[tuple[str, int, int], int]:
        """``(kind, row, col)`` -> free index for group ``g``."""
        return {(p.kind, p.row, p.col): p.free for p in (self.params[k]
                                                         for k in self.by_group[g])}

    def _filled(self, name: str, theta: np.ndarray, g: int, *,
                symmetric: bool = False) -> np.ndarray:
        """Group ``g``'s matrix (or vector) ``name``: fixed values, free ones from ``theta``."""
        out = self._base[g][name].copy()
        r, c, f = self._index[g][name]
        if out.ndim == 1:
            out[r] = theta[f]
        else:
            out[r, c] = theta[f]
            if symmetric:
                out[c, r] = theta[f]
        return out

    def matrices(self, theta: np.ndarray, g: int):
        """Lambda, Phi, Theta, nu, alpha of group ``g`` at parameter vector ``theta``."""
        lam = self._filled("lambda", theta, g)
        phi = self._filled("phi", theta, g, symmetric=True)
        th = self._filled("theta", theta, g, symmetric=True)
        nu = self._filled("nu", theta, g)
        alpha = self._filled("alpha", theta, g)
        return lam, phi, th, nu, alpha

    def implied(self, theta: np.ndarray, g: int) -> tuple[np.ndarray, np.ndarray]:
        """Model-implied covariance matrix and mean vector of group ``g``."""
        lam, phi, th, nu, alpha = self.matrices(theta, g)
        sigma = lam @ phi @ lam.T + th
        return (sigma + sigma.T) / 2.0, nu + lam @ alpha

    def jacobian(self, theta: np.ndarray, g: int, *, sigma: bool = True
                 ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
        """Derivatives of Sigma_g (``k x p x p``; ``None`` with ``sigma=False``) and mu_g
        (``p x k``) with respect to the ``k`` free parameters that group ``g`` uses (returned
        third, as global indices)."""
        p = self.p
        ix = self._index[g]
        cols, local = ix["cols"], ix["local"]
        k = len(cols)
        lam, phi, th, nu, alpha = self.matrices(theta, g)
        d_mu = np.zeros((p, k))

        def loc(f: np.ndarray) -> np.ndarray:
            return np.array([local[int(x)] for x in f], dtype=int)

        r, c, f = ix["lambda"]
        if len(f):
            np.add.at(d_mu, (r, loc(f)), alpha[c])
        r, _, f = ix["nu"]
        if len(f):
            np.add.at(d_mu, (r, loc(f)), 1.0)
        r, _, f = ix["alpha"]
        if len(f):
            np.add.at(d_mu, (slice(None), loc(f)), lam[:, r])
        if not sigma:
            return None, d_mu, cols
        lp = lam @ phi
        d_sig = np.zeros((k, p, p))
        r, c, f = ix["lambda"]
        if len(f):
            a = loc(f)
            np.add.at(d_sig, (a, r), lp[:, c].T)
            np.add.at(d_sig, (a, slice(None), r), lp[:, c].T)
        r, c, f = ix["phi"]
        if len(f):
            a = loc(f)
            outer = lam[:, r].T[:, :, None] * lam[:, c].T[:, None, :]
            off = (r != c)[:, None, None]
            np.add.at(d_sig, a, outer + off * outer.transpose(0, 2, 1))
        r, c, f = ix["theta"]
        if len(f):
            a = loc(f)
            np.add.at(d_sig, (a, r, c), 1.0)
            o = r != c
            np.add.at(d_sig, (a[o], c[o], r[o]), 1.0)
        return d_sig, d_mu, cols

    # ----------------------------------------------------------------------------------------
    # starting values
    # ----------------------------------------------------------------------------------------

    def _start_group(self, g: int, cov: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Loadings, factor covariances and residual variances from one-factor eigen
        solutions per factor, scaled to the identification (fixed loading or variance)."""
        spec = self.spec
        pos = {v: i for i, v in enumerate(spec.observed)}
        sd = np.sqrt(np.diag(cov))
        lam = np.zeros((self.p, self.m))
        fsd = np.ones(self.m)
        base = self._base[g]
        for j, f in enumerate(spec.factors):
            idx = [pos[v] for v in spec.indicators[f]]
            block = cov[np.ix_(idx, idx)] / np.outer(sd[idx], sd[idx])
            vals, vecs = np.linalg.eigh(block)
            v = vecs[:, -1] * (1.0 if vecs[0, -1] >= 0 else -1.0)
            std = np.sign(v) * np.clip(np.abs(v) * math.sqrt(max(vals[-1], 0.0)), 0.2, 0.95)
            std[std == 0] = 0.2
            load = std * sd[idx]  # loadings of a unit-variance factor
            fixed = [(k, base["lambda"][i, j]) for k, i in enumerate(idx)
                     if any(kd == "lambda" and r == i and c == j
                            for kd, r, c, _ in self.fixed[g]) and base["lambda"][i, j] != 0]
            if fixed:
                k, value = fixed[0]
                scale = load[k] / value
            elif any(kd == "phi" and r == j and c == j for kd, r, c, _ in self.fixed[g]):
                scale = math.sqrt(max(base["phi"][j, j], 1e-8))
            else:
                scale = 1.0
            lam[idx, j] = load / scale
            fsd[j] = scale
        comp = np.zeros((self.p, self.m))
        for j, f in enumerate(spec.factors):
            comp[[pos[v] for v in spec.indicators[f]], j] = 1.0
        ccov = comp.T @ cov @ comp
        cd = np.sqrt(np.diag(ccov))
        phi = 0.8 * ccov / np.outer(cd, cd) * np.outer(fsd, fsd)
        np.fill_diagonal(phi, fsd**2)
        common = np.diag(lam @ phi @ lam.T)
        resid = np.maximum(np.diag(cov) - common, 0.3 * np.diag(cov))
        return lam, phi, resid

    def start(self, covs: list[np.ndarray], means: list[np.ndarray]) -> np.ndarray:
        """Starting values, averaged over groups for shared parameters."""
        sums = np.zeros(self.q)
        counts = np.zeros(self.q)
        for g in range(self.G):
            lam, phi, resid = self._start_group(g, covs[g])
            values = {"lambda": lam, "phi": phi}
            for k in self.by_group[g]:
                prm = self.params[k]
                if prm.kind in values:
                    v = values[prm.kind][prm.row, prm.col]
                elif prm.kind == "theta":
                    v = resid[prm.row] if prm.row == prm.col else 0.0
                elif prm.kind == "nu":
                    v = means[g][prm.row]
                else:
                    v = 0.0
                sums[prm.free] += v
                counts[prm.free] += 1
        return sums / np.maximum(counts, 1)
