"""Engine behind :mod:`empathy_metrics.cfa`: model syntax, ML estimation, fit measures.

Everything here works on summary statistics only (per-group sample covariance matrices and
mean vectors, divided by ``N``), so the cost of a fit does not grow with the number of
respondents once the covariance matrix is computed.

Model
-----
For group :math:`g` with loadings :math:`\\Lambda_g` (``p x m``), factor covariances
:math:`\\Phi_g`, residual covariances :math:`\\Theta_g`, intercepts :math:`\\nu_g` and latent
means :math:`\\alpha_g`:

.. math:: \\Sigma_g = \\Lambda_g \\Phi_g \\Lambda_g' + \\Theta_g, \\qquad
          \\mu_g = \\nu_g + \\Lambda_g \\alpha_g .

Estimation
----------
Maximum likelihood (Joreskog 1969) with lavaan's defaults (Rosseel 2012): the discrepancy

.. math:: F = \\sum_g \\frac{N_g}{N} \\left[\\log|\\Sigma_g| + \\mathrm{tr}(S_g\\Sigma_g^{-1})
          - \\log|S_g| - p + (\\bar y_g - \\mu_g)'\\Sigma_g^{-1}(\\bar y_g - \\mu_g)\\right]

with :math:`S_g` divided by :math:`N_g` is minimised by Fisher scoring (Gauss-Newton on the
expected information, step halving when a step does not decrease :math:`F`), with analytic
derivatives. The expected information
:math:`\\mathcal I = \\sum_g \\tfrac{N_g}{2}[\\Delta_g'(\\Sigma_g^{-1}\\otimes\\Sigma_g^{-1})
\\Delta_g + 2\\Delta_{\\mu g}'\\Sigma_g^{-1}\\Delta_{\\mu g}]` at the estimates gives the standard
errors (lavaan ``se = "standard"``, ``information = "expected"``). Equality constraints across
groups are imposed by sharing one parameter, which is equivalent to lavaan's constrained
estimation.
"""

from __future__ import annotations

import contextlib
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize, stats

from .errors import DataError, DegenerateDataError, InputError

__all__ = [
    "ModelSpec",
    "parse_model",
    "GroupStats",
    "Estimate",
    "fit_model",
    "fit_measures",
]

_NAME = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*$")
_UNSUPPORTED_OPS = ("<~", ":=", "==", "~*~", "|", "<", ">")


# ============================================================================================
# model syntax
# ============================================================================================


@dataclass
class ModelSpec:
    """A measurement model: factors, their indicators, residual covariances.

    Attributes
    ----------
    factors
        Factor names in order of definition.
    indicators
        Factor -> its observed indicators (the first one is the marker, loading fixed to 1).
    observed
        Observed variables in order of first appearance.
    residual_covariances
        Pairs of observed variables whose residuals covary (lavaan ``x1 ~~ x2``).
    """

    factors: list[str]
    indicators: dict[str, list[str]]
    observed: list[str]
    residual_covariances: list[tuple[str, str]] = field(default_factory=list)

    def to_syntax(self) -> str:
        """The model in lavaan syntax."""
        lines = [f"{f} =~ {' + '.join(self.indicators[f])}" for f in self.factors]
        lines += [f"{a} ~~ {b}" for a, b in self.residual_covariances]
        return "\n".join(lines)

    @classmethod
    def from_scales(cls, scales: dict[str, list[str]]) -> ModelSpec:
        """One factor per scale, the scale's items as indicators (first item = marker)."""
        observed: list[str] = []
        for items in scales.values():
            observed += [i for i in items if i not in observed]
        spec = cls(list(scales), {k: list(v) for k, v in scales.items()}, observed)
        spec.check()
        return spec

    def check(self, source: str | None = None) -> None:
        """Structural checks that do not need data (raise :class:`InputError`)."""
        if not self.factors:
            raise InputError("the model defines no factor (no 'F =~ x1 + x2 + ...' line)",
                             file=source, hint="define factors with lavaan's '=~' operator")
        for f in self.factors:
            ind = self.indicators[f]
            if len(ind) < 2:
                raise InputError(
                    f"factor '{f}' has {len(ind)} indicator(s); a factor needs at least 2",
                    file=source, hint="add indicators or drop the factor",
                )
            if len(self.factors) == 1 and len(ind) < 3:
                raise InputError(
                    f"a single factor with {len(ind)} indicators is not identified",
                    file=source, hint="a stand-alone factor needs at least 3 indicators",
                )


def _strip_comment(line: str) -> str:
    for mark in ("#", "!"):
        pos = line.find(mark)
        if pos >= 0:
            line = line[:pos]
    return line.strip()


def _statements(text: str) -> list[tuple[int, str]]:
    """Split model text into (line number, statement); join continued lines as lavaan does."""
    out: list[tuple[int, str]] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        for part in _strip_comment(raw).split(";"):
            part = part.strip()
            if not part:
                continue
            if out and (part.startswith("+") or re.search(r"(\+|=~|~~)$", out[-1][1])):
                out[-1] = (out[-1][0], f"{out[-1][1]} {part}")
            else:
                out.append((lineno, part))
    return out


def parse_model(text: str, *, source: str | None = None) -> ModelSpec:
    """Parse lavaan-style measurement-model syntax.

    Supported: ``F =~ x1 + x2 + x3`` (factor definitions; the first indicator is the marker
    with its loading fixed to 1), ``x1 ~~ x2`` (a residual covariance between observed
    variables; variances and factor covariances are free anyway, so ``x ~~ x`` and
    ``F1 ~~ F2`` are accepted and change nothing), comments after ``#`` or ``!``, statements
    separated by new lines or ``;``, and a formula continued on the next line after a ``+``.

    Raises
    ------
    InputError
        Naming the line of the model for any syntax it cannot read (regressions ``~``,
        modifiers such as ``0.5*x1``, higher-order factors, ...).
    """
    if not isinstance(text, str):
        raise InputError("the model must be a string of lavaan syntax", file=source)
    factors: list[str] = []
    indicators: dict[str, list[str]] = {}
    observed: list[str] = []
    covs: list[tuple[int, str, str]] = []

    def fail(lineno: int, message: str, hint: str | None = None) -> InputError:
        return InputError(f"model line {lineno}: {message}", file=source, hint=hint)

    def names(lineno: int, rhs: str, op: str) -> list[str]:
        terms = [t.strip() for t in rhs.split("+")]
        if any(not t for t in terms):
            raise fail(lineno, f"empty term on the right of '{op}'",
                       hint="write terms as 'x1 + x2 + x3'")
        for t in terms:
            if "*" in t:
                raise fail(lineno, f"modifier in '{t}' is not supported",
                           hint="write plain variable names; the first loading is fixed to 1")
            if not _NAME.match(t):
                raise fail(lineno, f"'{t}' is not a variable name")
        return terms

    for lineno, stmt in _statements(text):
        if "=~" in stmt:
            lhs, rhs = stmt.split("=~", 1)
            lhs = lhs.strip()
            if not _NAME.match(lhs):
                raise fail(lineno, f"'{lhs}' is not a valid factor name")
            terms = names(lineno, rhs, "=~")
            if lhs not in indicators:
                factors.append(lhs)
                indicators[lhs] = []
            for t in terms:
                if t in indicators[lhs]:
                    raise fail(lineno, f"indicator '{t}' is listed twice for factor '{lhs}'")
                indicators[lhs].append(t)
                if t not in observed:
                    observed.append(t)
        elif "~~" in stmt:
            lhs, rhs = stmt.split("~~", 1)
            lhs = lhs.strip()
            if not _NAME.match(lhs):
                raise fail(lineno, f"'{lhs}' is not a variable name")
            for t in names(lineno, rhs, "~~"):
                covs.append((lineno, lhs, t))
        else:
            op = next((o for o in _UNSUPPORTED_OPS if o in stmt), "~" if "~" in stmt else None)
            if op is None:
                raise fail(lineno, f"cannot read '{stmt}': no operator",
                           hint="expected 'factor =~ item1 + item2 + ...' or 'x1 ~~ x2'")
            raise fail(lineno, f"operator '{op}' is not supported in '{stmt}'",
                       hint="only measurement models: '=~' (loadings) and '~~' (covariances)")

    for f in factors:
        if f in observed:
            raise InputError(f"factor '{f}' is also used as an indicator; higher-order "
                             "factors are not supported", file=source)
    residual: list[tuple[str, str]] = []
    for lineno, a, b in covs:
        a_lat, b_lat = a in indicators, b in indicators
        if a_lat and b_lat:
            continue  # factor (co)variances are free already
        if a_lat or b_lat:
            raise fail(lineno, f"'{a} ~~ {b}' mixes a factor and an observed variable")
        for v in (a, b):
            if v not in observed:
                raise fail(lineno, f"'{v}' in '{a} ~~ {b}' is not an indicator of any factor")
        if a == b:
            continue  # residual variances are free already
        pair = (a, b)
        if pair not in residual and (b, a) not in residual:
            residual.append(pair)
    spec = ModelSpec(factors, indicators, observed, residual)
    spec.check(source)
    return spec


# ============================================================================================
# parameters
# ============================================================================================


@dataclass
class _Param:
    kind: str  # lambda, phi, theta, nu, alpha
    group: int
    row: int
    col: int
    free: int  # index into the free-parameter vector


@dataclass
class GroupStats:
    """Summary statistics of one group: ``N``, mean vector, covariance divided by ``N``."""

    label: Any
    n: int
    mean: np.ndarray
    cov: np.ndarray


class _Structure:
    """Parameter layout of a (multi-group) CFA with optional equality constraints."""

    def __init__(self, spec: ModelSpec, n_groups: int, *, meanstructure: bool,
                 equal: tuple[str, ...] = ()) -> None:
        self.spec = spec
        self.p = len(spec.observed)
        self.m = len(spec.factors)
        self.G = n_groups
        self.meanstructure = meanstructure
        pos = {v: i for i, v in enumerate(spec.observed)}
        self.params: list[_Param] = []
        shared: dict[tuple, int] = {}
        counter = [0]

        def add(kind: str, g: int, r: int, c: int, share: bool) -> None:
            key = (kind, r, c)
            if share and key in shared:
                idx = shared[key]
            else:
                idx = counter[0]
                counter[0] += 1
                if share:
                    shared[key] = idx
            self.params.append(_Param(kind, g, r, c, idx))

        self.fixed_loadings = []  # (row, col) fixed to 1
        for j, f in enumerate(spec.factors):
            self.fixed_loadings.append((pos[spec.indicators[f][0]], j))
        for g in range(n_groups):
            for j, f in enumerate(spec.factors):
                for item in spec.indicators[f][1:]:
                    add("lambda", g, pos[item], j, "loadings" in equal)
            for i in range(self.p):
                add("theta", g, i, i, False)
            for a, b in spec.residual_covariances:
                i, k = sorted((pos[a], pos[b]), reverse=True)
                add("theta", g, i, k, False)
            for j in range(self.m):
                for k in range(j + 1):
                    add("phi", g, j, k, False)
            if meanstructure:
                for i in range(self.p):
                    add("nu", g, i, 0, "intercepts" in equal)
                if "intercepts" in equal and g > 0:
                    for j in range(self.m):
                        add("alpha", g, j, 0, False)
        self.q = counter[0]
        self.by_group = [[k for k, prm in enumerate(self.params) if prm.group == g]
                         for g in range(n_groups)]
        # per group and kind: (rows, cols, free indices) for vectorised scatter / derivatives
        self._index = []
        for g in range(n_groups):
            entry = {}
            for kind in ("lambda", "phi", "theta", "nu", "alpha"):
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
        self._fixed_r = np.array([r for r, _ in self.fixed_loadings], dtype=int)
        self._fixed_c = np.array([c for _, c in self.fixed_loadings], dtype=int)

    @property
    def n_moments(self) -> int:
        per = self.p * (self.p + 1) // 2 + (self.p if self.meanstructure else 0)
        return self.G * per

    def matrices(self, theta: np.ndarray, g: int):
        """Lambda, Phi, Theta, nu, alpha of group ``g`` at parameter vector ``theta``."""
        p, m = self.p, self.m
        ix = self._index[g]
        lam = np.zeros((p, m))
        lam[self._fixed_r, self._fixed_c] = 1.0
        r, c, f = ix["lambda"]
        lam[r, c] = theta[f]
        phi = np.zeros((m, m))
        r, c, f = ix["phi"]
        phi[r, c] = theta[f]
        phi[c, r] = theta[f]
        th = np.zeros((p, p))
        r, c, f = ix["theta"]
        th[r, c] = theta[f]
        th[c, r] = theta[f]
        nu = np.zeros(p)
        r, _, f = ix["nu"]
        nu[r] = theta[f]
        alpha = np.zeros(m)
        r, _, f = ix["alpha"]
        alpha[r] = theta[f]
        return lam, phi, th, nu, alpha

    def implied(self, theta: np.ndarray, g: int) -> tuple[np.ndarray, np.ndarray]:
        lam, phi, th, nu, alpha = self.matrices(theta, g)
        sigma = lam @ phi @ lam.T + th
        return (sigma + sigma.T) / 2.0, nu + lam @ alpha

    def jacobian(self, theta: np.ndarray, g: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Derivatives of Sigma_g (``k x p x p``) and mu_g (``p x k``) with respect to the
        ``k`` free parameters that group ``g`` uses (returned third, as global indices)."""
        p = self.p
        ix = self._index[g]
        cols, local = ix["cols"], ix["local"]
        k = len(cols)
        lam, phi, th, nu, alpha = self.matrices(theta, g)
        lp = lam @ phi
        d_sig = np.zeros((k, p, p))
        d_mu = np.zeros((p, k))

        def loc(f: np.ndarray) -> np.ndarray:
            return np.array([local[int(x)] for x in f], dtype=int)

        r, c, f = ix["lambda"]
        if len(f):
            a = loc(f)
            np.add.at(d_sig, (a, r), lp[:, c].T)
            np.add.at(d_sig, (a, slice(None), r), lp[:, c].T)
            np.add.at(d_mu, (r, a), alpha[c])
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
        r, _, f = ix["nu"]
        if len(f):
            np.add.at(d_mu, (r, loc(f)), 1.0)
        r, _, f = ix["alpha"]
        if len(f):
            np.add.at(d_mu, (slice(None), loc(f)), lam[:, r])
        return d_sig, d_mu, cols

    def start(self, groups: list[GroupStats]) -> np.ndarray:
        """Starting values: one-factor eigen solutions per factor, residuals from the rest."""
        sums = np.zeros(self.q)
        counts = np.zeros(self.q)
        pos = {v: i for i, v in enumerate(self.spec.observed)}
        for g, st in enumerate(groups):
            s = st.cov
            sd = np.sqrt(np.diag(s))
            lam = np.zeros((self.p, self.m))
            phi = np.eye(self.m)
            for j, f in enumerate(self.spec.factors):
                idx = [pos[v] for v in self.spec.indicators[f]]
                block = s[np.ix_(idx, idx)] / np.outer(sd[idx], sd[idx])
                vals, vecs = np.linalg.eigh(block)
                v = vecs[:, -1] * (1.0 if vecs[0, -1] >= 0 else -1.0)
                std = np.sign(v) * np.clip(np.abs(v) * math.sqrt(max(vals[-1], 0.0)), 0.2, 0.95)
                std[std == 0] = 0.2
                load = std * sd[idx]
                lam[idx, j] = load / load[0]
                phi[j, j] = load[0] ** 2
            # factor covariances from unit-weighted composites, shrunk towards zero
            comp = np.zeros((self.p, self.m))
            for j, f in enumerate(self.spec.factors):
                comp[[pos[v] for v in self.spec.indicators[f]], j] = 1.0
            ccov = comp.T @ s @ comp
            cd = np.sqrt(np.diag(ccov))
            ccor = ccov / np.outer(cd, cd)
            fsd = np.sqrt(np.diag(phi))
            phi = 0.8 * ccor * np.outer(fsd, fsd)
            np.fill_diagonal(phi, fsd**2)
            common = np.diag(lam @ phi @ lam.T)
            resid = np.maximum(np.diag(s) - common, 0.3 * np.diag(s))
            for k in self.by_group[g]:
                prm = self.params[k]
                if prm.kind == "lambda":
                    v = lam[prm.row, prm.col]
                elif prm.kind == "phi":
                    v = phi[prm.row, prm.col]
                elif prm.kind == "theta":
                    v = resid[prm.row] if prm.row == prm.col else 0.0
                elif prm.kind == "nu":
                    v = st.mean[prm.row]
                else:
                    v = 0.0
                sums[prm.free] += v
                counts[prm.free] += 1
        return sums / np.maximum(counts, 1)


# ============================================================================================
# estimation
# ============================================================================================


@dataclass
class Estimate:
    """A fitted model: estimates, covariance matrix of the estimates, fit quantities."""

    structure: _Structure
    groups: list[GroupStats]
    theta: np.ndarray
    vcov: np.ndarray
    fmin: float  # F_ML summed over groups with weights N_g / N (lavaan's 2 * fmin)
    loglik: float
    converged: bool
    iterations: int
    warnings: list[str]

    @property
    def n(self) -> int:
        return int(sum(st.n for st in self.groups))

    @property
    def df(self) -> int:
        return self.structure.n_moments - self.structure.q

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.maximum(np.diag(self.vcov), 0.0))


def _chol_logdet_inv(sigma: np.ndarray) -> tuple[float, np.ndarray] | None:
    try:
        c = np.linalg.cholesky(sigma)
    except np.linalg.LinAlgError:
        return None
    logdet = 2.0 * float(np.sum(np.log(np.diag(c))))
    ci = np.linalg.inv(c)
    return logdet, ci.T @ ci


def _discrepancy(structure: _Structure, groups: list[GroupStats], theta: np.ndarray,
                 logdet_s: list[float], *, derivatives: int):
    """F (weighted over groups); with ``derivatives >= 1`` its gradient and with
    ``derivatives == 2`` also the expected information (both per unit N, i.e. for the
    weighted F)."""
    n_total = sum(st.n for st in groups)
    p = structure.p
    f = 0.0
    grad = np.zeros(structure.q) if derivatives else None
    info = np.zeros((structure.q, structure.q)) if derivatives == 2 else None
    for g, st in enumerate(groups):
        sigma, mu = structure.implied(theta, g)
        dec = _chol_logdet_inv(sigma)
        if dec is None:
            return math.inf, None, None
        logdet, sinv = dec
        d = st.mean - mu if structure.meanstructure else np.zeros(p)
        w = st.n / n_total
        sid = sinv @ d
        fg = logdet + float(np.sum(st.cov * sinv)) - logdet_s[g] - p + float(d @ sid)
        f += w * fg
        if derivatives:
            d_sig, d_mu, cols = structure.jacobian(theta, g)
            k = len(cols)
            gmat = sinv - sinv @ (st.cov + np.outer(d, d)) @ sinv
            grad[cols] += w * (d_sig.reshape(k, -1) @ gmat.reshape(-1) - 2.0 * (sid @ d_mu))
            if derivatives < 2:
                continue
            m_a = sinv @ d_sig  # k x p x p
            tr = m_a.reshape(k, -1) @ m_a.transpose(0, 2, 1).reshape(k, -1).T
            info[np.ix_(cols, cols)] += w * (tr + 2.0 * d_mu.T @ sinv @ d_mu)
    return f, grad, info


#: Fisher-scoring iterations before switching to Newton steps (finite-difference Hessian).
_NEWTON_AFTER = 20


def _fd_hessian(structure: _Structure, groups: list[GroupStats], theta: np.ndarray,
                grad: np.ndarray, logdet_s: list[float]) -> np.ndarray:
    """Hessian of F by forward differences of the analytic gradient (symmetrised)."""
    q = len(theta)
    hess = np.empty((q, q))
    for a in range(q):
        h = 1e-6 * max(1.0, abs(theta[a]))
        shifted = theta.copy()
        shifted[a] += h
        g = _discrepancy(structure, groups, shifted, logdet_s, derivatives=1)[1]
        if g is None:
            return np.full((q, q), np.nan)
        hess[:, a] = (g - grad) / h
    return (hess + hess.T) / 2.0


def _blas_single_thread():
    """Limit BLAS to one thread while fitting: the matrices are small (p <= ~100), and a
    multi-threaded BLAS on a busy machine is many times slower for them. A no-op when
    ``threadpoolctl`` is not installed."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def fit_model(spec: ModelSpec, groups: list[GroupStats], *, meanstructure: bool,
              equal: tuple[str, ...] = (), max_iter: int = 200, tol: float = 1e-10) -> Estimate:
    """Maximum-likelihood fit (see :func:`_fit_model`), BLAS limited to one thread.

    Improper solutions are reported in ``Estimate.warnings`` (the caller warns).
    """
    with _blas_single_thread():
        return _fit_model(spec, groups, meanstructure=meanstructure, equal=equal,
                          max_iter=max_iter, tol=tol)


def _fit_model(spec: ModelSpec, groups: list[GroupStats], *, meanstructure: bool,
               equal: tuple[str, ...] = (), max_iter: int = 200, tol: float = 1e-10) -> Estimate:
    """Maximum-likelihood fit of ``spec`` to the groups' summary statistics.

    Fisher scoring: :math:`\\theta \\leftarrow \\theta - \\mathcal I^{-1}\\nabla F`, halving the
    step until :math:`F` decreases. Fisher scoring converges fast when the model fits and
    only linearly when it does not, so after ``_NEWTON_AFTER`` iterations Newton steps on a
    finite-difference Hessian (of the analytic gradient) are taken when that Hessian is
    positive definite. Stops when the largest gradient element is below ``tol`` or :math:`F`
    stops changing (relative ``1e-15``) with a gradient below ``1e-6``.

    Raises
    ------
    InputError
        The model has more free parameters than sample moments (negative df).
    DegenerateDataError
        No convergence, or the information matrix is singular (model not identified).
    """
    structure = _Structure(spec, len(groups), meanstructure=meanstructure, equal=equal)
    if structure.n_moments - structure.q < 0:
        raise InputError(
            f"the model has {structure.q} free parameters but the data give only "
            f"{structure.n_moments} variances, covariances and means (df < 0): not identified",
            hint="add indicators or remove residual covariances",
        )
    logdet_s = []
    for st in groups:
        dec = _chol_logdet_inv(st.cov)
        if dec is None:
            raise DegenerateDataError(
                f"the sample covariance matrix{_group_text(st)} is not positive definite",
                hint="an item is constant or a linear combination of others; drop it",
            )
        logdet_s.append(dec[0])

    theta = structure.start(groups)
    f, grad, info = _discrepancy(structure, groups, theta, logdet_s, derivatives=2)
    if not math.isfinite(f):
        # safe start: uncorrelated factors and residual variances as large as the items'
        for prm in structure.params:
            if prm.kind == "phi" and prm.row != prm.col:
                theta[prm.free] = 0.0
            elif prm.kind == "theta":
                cov = groups[prm.group].cov
                theta[prm.free] = cov[prm.row, prm.row] if prm.row == prm.col else 0.0
        f, grad, info = _discrepancy(structure, groups, theta, logdet_s, derivatives=2)
    converged = False
    it = 0
    for step_no in range(1, max_iter + 1):
        it = step_no
        step = None
        if step_no > _NEWTON_AFTER:
            # Fisher scoring converges only linearly when the model misfits: switch to Newton
            # steps on a Hessian from finite differences of the analytic gradient
            hess = _fd_hessian(structure, groups, theta, grad, logdet_s)
            try:
                np.linalg.cholesky(hess)
                step = np.linalg.solve(hess, grad)
            except np.linalg.LinAlgError:
                step = None
        if step is None:
            try:
                step = np.linalg.solve(info, grad)
            except np.linalg.LinAlgError:
                step = np.linalg.lstsq(info, grad, rcond=None)[0]
        t = 1.0
        while True:
            cand = theta - t * step
            f_new = _discrepancy(structure, groups, cand, logdet_s, derivatives=0)[0]
            if math.isfinite(f_new) and f_new <= f + 1e-12 * abs(f):
                break
            t /= 2.0
            if t < 1e-10:
                f_new = math.nan
                break
        if not math.isfinite(f_new):
            # no decrease possible along the step: converged if the gradient is negligible
            converged = bool(np.max(np.abs(grad)) < 1e-7)
            break
        _, g_new, i_new = _discrepancy(structure, groups, cand, logdet_s, derivatives=2)
        change = f - f_new
        theta, f, grad, info = cand, f_new, g_new, i_new
        if np.max(np.abs(grad)) < tol or (0 <= change <= 1e-15 * max(abs(f), 1.0)
                                          and np.max(np.abs(grad)) < 1e-6):
            converged = True
            break
    if not converged:
        raise DegenerateDataError(
            f"the maximum-likelihood estimation did not converge after {it} iterations",
            hint="the model may not fit these data at all (check the items and factors), or "
                 "the sample is too small",
        )
    n_total = sum(st.n for st in groups)
    full_info = n_total / 2.0 * info
    eig = np.linalg.eigvalsh(full_info)
    if eig[0] <= max(eig[-1], 1.0) * 1e-11:
        raise DegenerateDataError(
            "the model is not identified (its information matrix is singular)",
            hint="check that every factor has at least two indicators of its own and that "
                 "no two items are perfectly collinear",
        )
    vcov = np.linalg.inv(full_info)
    loglik = 0.0
    for g, st in enumerate(groups):
        sigma, mu = structure.implied(theta, g)
        logdet, sinv = _chol_logdet_inv(sigma)
        d = st.mean - mu if meanstructure else np.zeros(structure.p)
        loglik += -st.n / 2.0 * (structure.p * math.log(2 * math.pi) + logdet
                                 + float(np.sum(st.cov * sinv)) + float(d @ sinv @ d))
    est = Estimate(structure, groups, theta, (vcov + vcov.T) / 2.0, f, loglik, converged, it, [])
    est.warnings = _admissibility(est)
    return est


def _group_text(st: GroupStats) -> str:
    return "" if st.label is None else f" of group '{st.label}'"


def _admissibility(est: Estimate) -> list[str]:
    """Heywood cases and non-positive-definite factor covariance matrices, as messages."""
    out = []
    s = est.structure
    for g, st in enumerate(est.groups):
        lam, phi, th, _, _ = s.matrices(est.theta, g)
        where = _group_text(st)
        neg = [s.spec.observed[i] for i in range(s.p) if th[i, i] < 0]
        if neg:
            out.append(f"negative residual variance{where} for {', '.join(neg)} (a Heywood "
                       "case): the solution is improper; interpret with caution")
        negf = [s.spec.factors[j] for j in range(s.m) if phi[j, j] <= 0]
        if negf:
            out.append(f"non-positive factor variance{where} for {', '.join(negf)}: the "
                       "solution is improper")
        elif s.m > 1 and np.linalg.eigvalsh(phi)[0] <= 0:
            out.append(f"the factor covariance matrix{where} is not positive definite "
                       "(a factor correlation at or beyond 1): factors may not be distinct")
    return out


# ============================================================================================
# fit measures
# ============================================================================================


def _rmsea_ci(x2: float, df: int, n: int, n_groups: int, level: float = 0.90):
    """lavaan's ``lav_fit_rmsea_ci``: noncentral chi-square bounds on the noncentrality."""
    upper_p = 1 - (1 - level) / 2
    lower_p = (1 - level) / 2

    def cdf(lam: float) -> float:
        return float(stats.chi2.cdf(x2, df) if lam <= 0 else stats.ncx2.cdf(x2, df, lam))

    if df < 1 or not math.isfinite(x2):
        return 0.0, 0.0
    scale = math.sqrt(n_groups)
    if cdf(0.0) - upper_p < 0:
        lo = 0.0
    else:
        lam = optimize.brentq(lambda v: cdf(v) - upper_p, 0.0, max(x2, 1e-8), xtol=1e-12)
        lo = math.sqrt(lam / (n * df)) * scale
    n_rmsea = max(n, 4 * x2)
    if cdf(n_rmsea) - lower_p > 0 or cdf(0.0) - lower_p < 0:
        hi = 0.0
    else:
        lam = optimize.brentq(lambda v: cdf(v) - lower_p, 0.0, n_rmsea, xtol=1e-12)
        hi = math.sqrt(lam / (n * df)) * scale
    return lo, hi


def _srmr(est: Estimate) -> float:
    """lavaan's default ``srmr`` (Bentler type): residual covariances (and, with a mean
    structure, residual means) divided by the observed standard deviations, root mean square
    over the non-duplicated elements, weighted over groups by ``N_g / N``."""
    s = est.structure
    total = 0.0
    low = np.tril_indices(s.p)
    for g, st in enumerate(est.groups):
        sigma, mu = s.implied(est.theta, g)
        sd = np.sqrt(np.diag(st.cov))
        r = (st.cov - sigma) / np.outer(sd, sd)
        vals = list(r[low])
        if s.meanstructure:
            vals += list((st.mean - mu) / sd)
        srmr_g = math.sqrt(float(np.sum(np.square(vals))) / len(vals))
        total += st.n / est.n * srmr_g
    return total


def baseline(groups: list[GroupStats]) -> tuple[float, int]:
    """Chi-square and df of the independence model (free variances, and means, per group)."""
    x2 = 0.0
    df = 0
    for st in groups:
        logdet = np.linalg.slogdet(st.cov)[1]
        x2 += st.n * (float(np.sum(np.log(np.diag(st.cov)))) - logdet)
        p = st.cov.shape[0]
        df += p * (p - 1) // 2
    return x2, df


def fit_measures(est: Estimate) -> dict[str, Any]:
    """chisq, df, pvalue, cfi, tli, rmsea, rmsea_ci, srmr, aic, bic (lavaan definitions).

    * ``chisq`` = :math:`N F_{ML}`, ``pvalue`` from :math:`\\chi^2_{df}`.
    * CFI = :math:`1 - \\max(\\chi^2-df, 0)/\\max(\\chi^2-df, \\chi^2_b-df_b, 0)` and
      TLI = :math:`1 - [(\\chi^2-df)df_b]/[(\\chi^2_b-df_b)df]` against the independence model
      (Bentler 1990; Tucker & Lewis 1973).
    * RMSEA = :math:`\\sqrt{\\max(\\chi^2/(N df) - 1/N, 0)}\\sqrt{G}` with the 90 % interval
      from the noncentral :math:`\\chi^2` (Steiger & Lind 1980; lavaan's ``N``, not ``N-1``).
    * SRMR: Bentler type as lavaan's ``srmr``.
    * AIC = :math:`-2\\ell + 2q`, BIC = :math:`-2\\ell + q\\log N` with the log-likelihood
      :math:`\\ell` of the model and :math:`q` free parameters.
    """
    n = est.n
    x2 = n * est.fmin
    df = est.df
    x2b, dfb = baseline(est.groups)
    q = est.structure.q
    G = len(est.groups)
    # df = 0 (a saturated model): the fit cannot be tested; p is NaN as in lavaan
    pvalue = float(stats.chi2.sf(x2, df)) if df > 0 else math.nan
    t1 = max(x2 - df, 0.0)
    t2 = max(x2 - df, x2b - dfb, 0.0)
    cfi = 1.0 if (abs(t1) < 1e-12 and abs(t2) < 1e-12) else 1.0 - t1 / t2
    u1 = (x2 - df) * dfb
    u2 = (x2b - dfb) * df
    tli = 1.0 - u1 / u2 if (df > 0 and abs(u2) > 0) else 1.0
    rmsea = math.sqrt(max(x2 / n / df - 1.0 / n, 0.0)) * math.sqrt(G) if df > 0 else 0.0
    lo, hi = _rmsea_ci(x2, df, n, G)
    return {
        "chisq": float(x2),
        "df": int(df),
        "pvalue": float(pvalue),
        "cfi": float(cfi),
        "tli": float(tli),
        "rmsea": float(rmsea),
        "rmsea_ci": [float(lo), float(hi)],
        "srmr": float(_srmr(est)),
        "aic": float(-2.0 * est.loglik + 2.0 * q),
        "bic": float(-2.0 * est.loglik + q * math.log(n)),
    }


def group_stats(values: np.ndarray, label: Any = None) -> GroupStats:
    """Mean and covariance (divided by N) of a complete-case matrix."""
    n = values.shape[0]
    mean = values.mean(axis=0)
    centred = values - mean
    cov = centred.T @ centred / n
    return GroupStats(label, n, mean, (cov + cov.T) / 2.0)


def check_sample(values: np.ndarray, names: list[str], label: Any = None) -> None:
    """Enough cases, no constant item, no perfectly collinear items (clear errors)."""
    where = "" if label is None else f" in group '{label}'"
    n, p = values.shape
    if n <= p:
        raise DataError(
            f"{n} complete respondent(s){where} for {p} items: a CFA needs more respondents "
            "than items",
            hint="collect more responses or analyse fewer items",
        )
    sd = values.std(axis=0)
    const = [names[j] for j in range(p) if not sd[j] > 1e-12 * max(1.0, abs(values[0, j]))]
    if const:
        raise DegenerateDataError(
            f"item(s) {', '.join(const)} have no variance{where} (every answer the same)",
            column=const[0], hint="drop constant items from the model",
        )
    corr = np.corrcoef(values, rowvar=False)
    eig = np.linalg.eigvalsh(corr)
    if eig[0] < 1e-10:
        hi = np.argwhere(np.triu(np.abs(corr) > 1 - 1e-10, 1))
        pair = f" (e.g. {names[hi[0][0]]} and {names[hi[0][1]]})" if len(hi) else ""
        raise DegenerateDataError(
            f"the items{where} are perfectly collinear{pair}: their covariance matrix is "
            "singular",
            hint="drop duplicated or derived items",
        )
