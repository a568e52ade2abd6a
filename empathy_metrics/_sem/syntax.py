"""lavaan model syntax (the measurement-model subset) -> :class:`ModelSpec`.

Supported, as in lavaan (Rosseel 2012, section 4; ``?model.syntax``):

* ``F =~ x1 + x2 + x3`` -- factor definitions (a factor may be continued on later lines);
* ``x1 ~~ x2`` -- residual covariances; ``x ~~ x`` (residual variance), ``F1 ~~ F2`` and
  ``F ~~ F`` (factor (co)variances) are accepted to carry a modifier;
* modifiers before a variable: a number fixes the parameter (``1*x1``, ``F1 ~~ 0*F2``), ``NA``
  frees it (``NA*x1``: a free marker loading), a name is a label and parameters with the same
  label are constrained equal (``a*x2 + a*x3``; in a multi-group model a label also holds the
  parameter equal across groups);
* ``#`` / ``!`` comments, ``;`` or new lines between statements, a formula continued after a
  trailing ``+`` or operator.

Identification (lavaan's ``auto.fix.first`` / ``std.lv``) is applied later, by the parameter
layout: the first indicator's loading is fixed to 1 unless it carries a modifier, or, with
``std_lv``, every factor variance is fixed to 1 and all loadings are free.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ..errors import InputError

__all__ = ["ModelSpec", "parse_model", "Key"]

_NAME = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_UNSUPPORTED_OPS = ("<~", ":=", "==", "~*~", "|", "<", ">")

#: A parameter in syntax terms: ``(lhs, op, rhs)`` with ``op`` ``"=~"`` or ``"~~"``.
Key = tuple[str, str, str]


@dataclass
class ModelSpec:
    """A measurement model: factors, their indicators, residual covariances, modifiers.

    Attributes
    ----------
    factors
        Factor names in order of definition.
    indicators
        Factor -> its observed indicators (the first is the marker unless ``std_lv``).
    observed
        Observed variables in order of first appearance.
    residual_covariances
        Pairs of observed variables whose residuals covary (lavaan ``x1 ~~ x2``).
    fixed
        ``(lhs, op, rhs)`` -> value for parameters fixed in the syntax (``1*x1``).
    labels
        ``(lhs, op, rhs)`` -> label; equal labels mean equal parameters.
    free
        Parameters freed with ``NA*`` (a marker loading, a variance fixed by ``std_lv``).
    factor_covariances
        Factor pairs written as ``F1 ~~ F2`` (free by default anyway; listed so that a
        modifier can be shown again by :meth:`to_syntax`).
    std_lv
        Identify factors by fixing their variances to 1 (lavaan ``std.lv = TRUE``) instead of
        the first loading.
    """

    factors: list[str]
    indicators: dict[str, list[str]]
    observed: list[str]
    residual_covariances: list[tuple[str, str]] = field(default_factory=list)
    fixed: dict[Key, float] = field(default_factory=dict)
    labels: dict[Key, str] = field(default_factory=dict)
    free: set[Key] = field(default_factory=set)
    factor_covariances: list[tuple[str, str]] = field(default_factory=list)
    std_lv: bool = False

    def modifier(self, key: Key) -> str:
        """The modifier of a parameter as written in syntax (``''`` when none)."""
        if key in self.fixed:
            return f"{self.fixed[key]:g}*"
        if key in self.free:
            return "NA*"
        if key in self.labels:
            return f"{self.labels[key]}*"
        return ""

    def to_syntax(self) -> str:
        """The model in lavaan syntax (modifiers included; ``std_lv`` is an option, not
        syntax)."""
        lines = [f"{f} =~ " + " + ".join(self.modifier((f, "=~", x)) + x
                                         for x in self.indicators[f]) for f in self.factors]
        done = set()
        for a, b in self.residual_covariances + self.factor_covariances:
            lines.append(f"{a} ~~ {self.modifier((a, '~~', b))}{b}")
            done.add((a, b))
        for key in list(self.fixed) + list(self.labels) + sorted(self.free):
            lhs, op, rhs = key
            if op == "~~" and (lhs, rhs) not in done:
                lines.append(f"{lhs} ~~ {self.modifier(key)}{rhs}")
                done.add((lhs, rhs))
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


class _Parser:
    """State of one parse: collects factors, indicators, covariances and modifiers."""

    def __init__(self, source: str | None) -> None:
        self.source = source
        self.factors: list[str] = []
        self.indicators: dict[str, list[str]] = {}
        self.observed: list[str] = []
        self.covs: list[tuple[int, str, str, str | None]] = []
        self.loading_mods: list[tuple[int, Key, str]] = []

    def fail(self, lineno: int, message: str, hint: str | None = None) -> InputError:
        return InputError(f"model line {lineno}: {message}", file=self.source, hint=hint)

    def terms(self, lineno: int, rhs: str, op: str) -> list[tuple[str | None, str]]:
        """``[(modifier or None, variable)]`` of a right-hand side."""
        terms = [t.strip() for t in rhs.split("+")]
        if any(not t for t in terms):
            raise self.fail(lineno, f"empty term on the right of '{op}'",
                            hint="write terms as 'x1 + x2 + x3'")
        out = []
        for t in terms:
            mod = None
            if "*" in t:
                parts = [s.strip() for s in t.split("*")]
                if len(parts) != 2 or not parts[0]:
                    raise self.fail(lineno, f"cannot read the modifier in '{t}'",
                                    hint="one modifier per term: 1*x1, NA*x1 or a*x1")
                mod, t = parts
                if not (mod == "NA" or _NUMBER.match(mod) or _NAME.match(mod)):
                    raise self.fail(
                        lineno, f"modifier '{mod}' in '{mod}*{t}' is not supported",
                        hint="use a number (fixed value), NA (free) or a label; start(), "
                             "c(...) per group and other modifiers are not supported")
            if not _NAME.match(t):
                raise self.fail(lineno, f"'{t}' is not a variable name")
            out.append((mod, t))
        return out

    def loading(self, lineno: int, stmt: str) -> None:
        lhs, rhs = stmt.split("=~", 1)
        lhs = lhs.strip()
        if not _NAME.match(lhs):
            raise self.fail(lineno, f"'{lhs}' is not a valid factor name")
        if lhs not in self.indicators:
            self.factors.append(lhs)
            self.indicators[lhs] = []
        for mod, t in self.terms(lineno, rhs, "=~"):
            if t in self.indicators[lhs]:
                raise self.fail(lineno, f"indicator '{t}' is listed twice for factor '{lhs}'")
            self.indicators[lhs].append(t)
            if t not in self.observed:
                self.observed.append(t)
            if mod is not None:
                self.loading_mods.append((lineno, (lhs, "=~", t), mod))

    def covariance(self, lineno: int, stmt: str) -> None:
        lhs, rhs = stmt.split("~~", 1)
        lhs = lhs.strip()
        if not _NAME.match(lhs):
            raise self.fail(lineno, f"'{lhs}' is not a variable name")
        for mod, t in self.terms(lineno, rhs, "~~"):
            self.covs.append((lineno, lhs, t, mod))


def _apply(spec: ModelSpec, lineno: int, key: Key, mod: str, fail) -> None:
    """Record one modifier on ``spec`` (a number fixes, NA frees, a name labels)."""
    if key in spec.fixed or key in spec.free or key in spec.labels:
        raise fail(lineno, f"'{key[0]} {key[1]} {key[2]}' has more than one modifier")
    if mod == "NA":
        spec.free.add(key)
    elif _NUMBER.match(mod):
        value = float(mod)
        if not math.isfinite(value):
            raise fail(lineno, f"fixed value '{mod}' is not a finite number")
        spec.fixed[key] = value
    else:
        spec.labels[key] = mod


def parse_model(text: str, *, source: str | None = None) -> ModelSpec:
    """Parse lavaan-style measurement-model syntax (see the module docstring for the subset).

    Raises
    ------
    InputError
        Naming the line of the model for any syntax it cannot read (regressions ``~``,
        unsupported modifiers such as ``start(.5)*x1``, higher-order factors, ...).
    """
    if not isinstance(text, str):
        raise InputError("the model must be a string of lavaan syntax", file=source)
    ps = _Parser(source)
    for lineno, stmt in _statements(text):
        if "=~" in stmt:
            ps.loading(lineno, stmt)
        elif "~~" in stmt:
            ps.covariance(lineno, stmt)
        else:
            op = next((o for o in _UNSUPPORTED_OPS if o in stmt), "~" if "~" in stmt else None)
            if op is None:
                raise ps.fail(lineno, f"cannot read '{stmt}': no operator",
                              hint="expected 'factor =~ item1 + item2 + ...' or 'x1 ~~ x2'")
            raise ps.fail(lineno, f"operator '{op}' is not supported in '{stmt}'",
                          hint="only measurement models: '=~' (loadings) and '~~' "
                               "(covariances)")
    for f in ps.factors:
        if f in ps.observed:
            raise InputError(f"factor '{f}' is also used as an indicator; higher-order "
                             "factors are not supported", file=source)
    spec = ModelSpec(ps.factors, ps.indicators, ps.observed)
    for lineno, key, mod in ps.loading_mods:
        _apply(spec, lineno, key, mod, ps.fail)
    _covariances(spec, ps)
    spec.check(source)
    return spec


def _covariances(spec: ModelSpec, ps: _Parser) -> None:
    """Sort ``~~`` statements into residual / factor (co)variances and record modifiers."""
    lat = set(spec.factors)
    obs_pos = {v: i for i, v in enumerate(spec.observed)}
    lat_pos = {v: i for i, v in enumerate(spec.factors)}
    for lineno, a, b, mod in ps.covs:
        for v in (a, b):
            if v not in lat and v not in obs_pos:
                raise ps.fail(lineno, f"'{v}' in '{a} ~~ {b}' is neither a factor nor an "
                              "indicator of any factor",
                              hint="covariances are between factors or between indicators")
        if (a in lat) != (b in lat):
            raise ps.fail(lineno, f"'{a} ~~ {b}' mixes a factor and an observed variable")
        pos = lat_pos if a in lat else obs_pos
        if pos[a] > pos[b]:
            a, b = b, a  # one canonical order per pair
        if a != b:
            pairs = spec.factor_covariances if a in lat else spec.residual_covariances
            if (a, b) in pairs:
                raise ps.fail(lineno, f"'{a} ~~ {b}' is given twice")
            pairs.append((a, b))
        if mod is not None:
            _apply(spec, lineno, (a, "~~", b), mod, ps.fail)

