"""Realistic simulated Jefferson Scale of Empathy (JSE) survey data, for demos and tests.

:func:`simulate` returns what a medical school accumulates after a few years of surveying its
students once a year: several entering cohorts, each followed over up to four training years
(the latest cohorts only for the years that have already happened), with attrition,
nonresponse, sporadic missing answers, a few careless respondents and a few invalid codes.
:func:`write_demo` writes such a data set to ``jse_demo.csv`` with a short codebook.

The data are generated from a latent continuous model with thresholds (a graded,
ordinal-probit factor model) that reproduces the published three-factor structure of the JSE,
its ceiling-skewed item distributions, a decline across training years of a chosen shape and
size, and the usual gender difference. Everything is vectorised and seeded: the same
arguments give an identical frame.

The numbers are *plausible*, not copied from any real cohort: typical totals have a mean of
about 116 and an SD of about 11 (compare Hojat et al. 2018, first-year US osteopathic
students: 116.5 ± 10.9).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from ._distributions import norm_cdf, norm_ppf
from .errors import InputError
from .instruments import Instrument, load_instrument

__all__ = ["simulate", "write_demo", "DECLINE_PATTERNS", "DEMO_FILENAME"]

#: Named decline patterns accepted by :func:`simulate` (see its ``decline`` parameter).
DECLINE_PATTERNS = ("none", "year3", "linear")

#: File name of the demo data written by :func:`write_demo`.
DEMO_FILENAME = "jse_demo.csv"

# ------------------------------------------------------------------------- model constants
# Standardised loadings of the latent item responses on their factor, by published item
# number. Chosen to be plausible, not copied from a published table: moderate loadings
# (about .5-.6, compassionate care a little lower) that give Cronbach's alpha of the total
# near the published .82 (Hojat et al. 2018), and a weak item 18, as found in several
# samples outside the US.
_LOADINGS = {
    # perspective taking
    2: 0.58, 4: 0.54, 5: 0.56, 9: 0.59, 10: 0.51, 13: 0.61, 15: 0.53, 16: 0.60, 17: 0.48,
    20: 0.59,
    # compassionate care
    1: 0.48, 7: 0.52, 8: 0.58, 11: 0.47, 12: 0.54, 14: 0.53, 18: 0.28, 19: 0.49,
    # standing in the patient's shoes
    3: 0.60, 6: 0.63,
}
# Item locations in latent SD units (positive = harder to endorse, lower item mean).
_LOCATIONS = {
    1: 0.10, 2: -0.15, 3: 0.35, 4: -0.20, 5: 0.05, 6: 0.25, 7: 0.00, 8: -0.10, 9: -0.05,
    10: 0.20, 11: 0.15, 12: -0.05, 13: -0.10, 14: 0.10, 15: -0.25, 16: -0.20, 17: 0.10,
    18: 0.30, 19: 0.05, 20: -0.15,
}
# P(keyed answer >= k), k = 2..7, for an item at location 0 and a respondent population at
# latent mean 0: answers pile up at 6 and 7 as in real JSE data (item mean about 5.85).
_P_AT_LEAST = np.array([0.993, 0.981, 0.952, 0.880, 0.700, 0.371])
_BASE_THRESHOLDS = norm_ppf(1.0 - _P_AT_LEAST)
# The three published factors, in this order, and their (chosen, moderate) correlations.
_FACTORS = ("perspective_taking", "compassionate_care", "standing_in_patients_shoes")
_FACTOR_CORR = np.array([
    [1.00, 0.55, 0.45],
    [0.55, 1.00, 0.40],
    [0.45, 0.40, 1.00],
])
# Careless respondents: the code a straightliner gives to every item.
_STRAIGHT_CODES = np.array([7, 4, 6, 5, 1])
_STRAIGHT_P = np.array([0.40, 0.25, 0.15, 0.10, 0.10])


class _Model:
    """The measurement model for one instrument with the JSE structure."""

    def __init__(self, inst: Instrument) -> None:
        self.inst = inst
        numbers = [it.number for it in inst.items]
        subscales = {name: set(ids) for name, ids in inst.subscales.items()}
        membership = [sum(it.id in ids for ids in subscales.values()) for it in inst.items]
        if (len(inst.items) != 20 or sorted(n for n in numbers if n) != list(range(1, 21))
                or set(subscales) != set(_FACTORS) or membership != [1] * 20
                or (inst.response_min, inst.response_max) != (1, 7)):
            raise InputError(
                f"simulate needs an instrument with the Jefferson Scale structure (20 items "
                f"numbered 1-20, codes 1-7, the three JSE subscales); '{inst.id}' is not one",
                hint="use instrument='jse-s' (or 'jse-hp', 'jse-hps')",
            )
        self.item_ids = inst.item_ids
        self.reverse = np.array([it.reverse for it in inst.items])
        self.loadings = np.array([_LOADINGS[n] for n in numbers])
        self.factor = np.array([
            next(_FACTORS.index(f) for f in _FACTORS if it.id in subscales[f])
            for it in inst.items
        ])
        self.thresholds = _BASE_THRESHOLDS[None, :] + np.array(
            [_LOCATIONS[n] for n in numbers])[:, None]
        self.residual_sd = np.sqrt(1.0 - self.loadings**2)

    def codes(self, eta: np.ndarray, eps: np.ndarray) -> np.ndarray:
        """Keyed codes 1..7 from latent factors ``(..., 3)`` and item residuals ``(..., 20)``."""
        ystar = eta[..., self.factor] * self.loadings + eps * self.residual_sd
        return 1 + (ystar[..., None] > self.thresholds).sum(axis=-1)

    @property
    def key(self) -> tuple[tuple[int, int], ...]:
        """(item number, factor) pairs: all that the calibration depends on."""
        return tuple((int(it.number), int(f)) for it, f in zip(self.inst.items, self.factor,
                                                                strict=True))


@lru_cache(maxsize=8)
def _calibration(key: tuple[tuple[int, int], ...]) -> tuple[np.ndarray, np.ndarray, float]:
    """Loadings, thresholds and the keyed total's SD at latent mean 0 for a structure ``key``.

    The SD comes from a fixed-seed Monte Carlo of 40 000 respondents (independent of the
    user's seed, so the calibration is identical in every call).
    """
    numbers = np.array([n for n, _ in key])
    factor = np.array([f for _, f in key])
    loadings = np.array([_LOADINGS[n] for n in numbers])
    thresholds = _BASE_THRESHOLDS[None, :] + np.array([_LOCATIONS[n] for n in numbers])[:, None]
    rng = np.random.default_rng(20260101)
    eta = rng.standard_normal((40_000, 3)) @ np.linalg.cholesky(_FACTOR_CORR).T
    ystar = eta[:, factor] * loadings + rng.standard_normal((40_000, numbers.size)) * np.sqrt(
        1.0 - loadings**2)
    totals = (1 + (ystar[..., None] > thresholds).sum(axis=-1)).sum(axis=1)
    return loadings, thresholds, float(totals.std(ddof=1))


def _expected_total(loadings: np.ndarray, thresholds: np.ndarray, shift: float) -> float:
    """Expected keyed total when every factor mean is ``shift`` (factor variances 1)."""
    z = shift * loadings[:, None] - thresholds
    return float(loadings.size + norm_cdf(z).sum())


def _latent_shift(key: tuple[tuple[int, int], ...], d: float) -> float:
    """Latent mean shift that moves the expected total by ``d`` total-score SDs."""
    if d == 0:
        return 0.0
    loadings, thresholds, sd = _calibration(key)
    base = _expected_total(loadings, thresholds, 0.0)
    return float(optimize.brentq(
        lambda s: _expected_total(loadings, thresholds, s) - base - d * sd, -6.0, 6.0,
        xtol=1e-12))


def _decline_shifts(decline: str | Mapping[int, float], size: float, n_years: int
                    ) -> np.ndarray:
    """Mean shift (in total-score SD units) of each training year 1..n_years."""
    years = np.arange(1, n_years + 1)
    if isinstance(decline, Mapping):
        bad = [y for y in decline if int(y) not in set(years.tolist())]
        if bad:
            raise InputError(f"decline names training year(s) {bad} outside 1..{n_years}",
                             hint="give a mapping training year -> shift in SD units")
        return np.array([float(decline.get(int(y), decline.get(str(y), 0.0))) for y in years])
    if decline == "none":
        return np.zeros(n_years)
    if decline == "year3":
        return np.where(years >= 3, -size, 0.0)
    if decline == "linear":
        return -size * (years - 1) / max(n_years - 1, 1)
    raise InputError(f"unknown decline pattern {decline!r}",
                     hint=f"use one of {', '.join(DECLINE_PATTERNS)} or a mapping "
                          "training year -> shift in SD units, e.g. {3: -0.4, 4: -0.4}")


def _check_probability(name: str, value: float) -> float:
    value = float(value)
    if not 0.0 <= value < 1.0:
        raise InputError(f"{name} must be a probability in [0, 1), got {value}")
    return value


def _count(name: str, value: int, minimum: int = 1) -> int:
    if isinstance(value, bool) or int(value) != value or value < minimum:
        raise InputError(f"{name} must be a whole number of at least {minimum}, got {value!r}")
    return int(value)


def simulate(
    n_per_cohort: int = 200,
    n_cohorts: int = 4,
    n_years: int = 4,
    *,
    decline: str | Mapping[int, float] = "year3",
    decline_size: float = 0.4,
    seed: int | np.random.Generator | None = 2026,
    instrument: str | Instrument = "jse-s",
    current_year: int = 2025,
    first_cohort: int | None = None,
    gender_gap: float = 0.35,
    p_female: float = 0.55,
    stability: float = 0.7,
    cohort_sd: float = 0.05,
    attrition: float = 0.04,
    response_rate: float | Sequence[float] = (0.92, 0.87, 0.80, 0.76),
    p_missing_item: float = 0.004,
    p_breakoff: float = 0.008,
    p_careless: float = 0.01,
    p_out_of_range: float = 0.006,
) -> pd.DataFrame:
    """Simulate a program's accumulated yearly JSE survey exports (long format).

    Parameters
    ----------
    n_per_cohort
        Students entering in each cohort.
    n_cohorts
        Entering cohorts, one a year from ``first_cohort`` on.
    n_years
        Training years of the program (each cohort is surveyed once a year).
    decline
        Change of the mean across training years, in SD units of the total score (a
        cross-section's SD at year 1): ``"year3"`` (default; a drop of ``decline_size`` from
        year 3 on, "the devil is in the third year"), ``"linear"`` (a steady decline reaching
        ``-decline_size`` in the last year), ``"none"``, or a mapping training year -> shift
        (e.g. ``{3: -0.4, 4: -0.5}``; years not named have shift 0).
    decline_size
        Size of the named decline patterns in SD units (default 0.4).
    seed
        Seed (or a :class:`numpy.random.Generator`). Same seed and arguments, same frame.
    instrument
        An instrument with the JSE structure: ``"jse-s"`` (default), ``"jse-hp"``, ``"jse-hps"``.
    current_year
        The calendar year of the latest survey; cohort ``c`` is observed in training years
        ``1 .. min(n_years, current_year - c + 1)``.
    first_cohort
        Entering year of the first cohort (default ``current_year - n_cohorts + 1``, so the
        latest cohort has just finished year 1). Give an earlier year to follow every cohort
        through all its years, e.g. ``n_cohorts=1, first_cohort=2022, current_year=2025``.
    gender_gap
        Mean difference women - men in SD units of the total (default 0.35, as 116.2 vs 112.3
        with SD about 10 in Hojat & Gonnella 2015).
    p_female
        Share of women; about 1.5 % of students have gender not stated (missing).
    stability
        Share of each occasion's latent variance that is a stable person trait (the rest is
        occasion-specific); sets the year-to-year correlation of a student's scores.
    cohort_sd
        SD of random entering-cohort mean differences, in SD units of the total.
    attrition
        Probability that a student leaves the program before each following year.
    response_rate
        Probability that an enrolled student answers the survey, per training year (a single
        value for all years; a sequence shorter than ``n_years`` repeats its last value).
    p_missing_item
        Probability that any single answer is skipped.
    p_breakoff
        Probability that a response stops early (the last 5-15 items missing).
    p_careless
        Probability that a response is a straightliner (the same code for every item).
    p_out_of_range
        Probability that a response contains one invalid code (8 or 0, a typing or export
        error).

    Returns
    -------
    pandas.DataFrame
        One row per survey response, ordered by survey (calendar) year, cohort and student:
        ``student_id`` (e.g. ``"S2023-017"``, repeated across a student's years),
        ``cohort`` (entering calendar year), ``year`` (training year 1..n_years),
        ``gender`` (``"female"``, ``"male"`` or missing), and the item columns (``JSE1`` ...
        ``JSE20``) holding the raw codes as answered (reverse-keyed items not reversed; floats
        with ``NaN`` for skipped answers). ``frame.attrs["simulation"]`` records the arguments.

    Notes
    -----
    *Generating model.* For student ``i`` in cohort ``c`` at training year ``t`` the three
    latent factors (perspective taking, compassionate care, standing in the patient's shoes)
    are

    .. math:: \\eta_{it} = \\delta_t + \\gamma_{g(i)} + \\kappa_c
              + \\sqrt{s}\\,u_i + \\sqrt{1-s}\\,v_{it},
              \\qquad u_i, v_{it} \\sim N_3(0, \\Phi),

    with ``s = stability``, factor correlations ``Φ`` (.55, .45, .40), the decline
    ``δ_t``, gender effect ``γ`` (±half the gap) and cohort effect ``κ_c ~ N(0, cohort_sd²)``,
    all three shifts applied equally to the three factors. Item ``j`` of factor ``f(j)`` has
    the latent response ``y*_ijt = λ_j η_{it,f(j)} + √(1−λ_j²) ε_ijt``, ``ε ~ N(0, 1)``, with
    standardised loadings ``λ`` of .47–.63 (item 18: .28) and the keyed answer is
    ``1 + #{k : y* > τ_jk}``. The six thresholds ``τ_jk`` put about 37 % of answers at 7,
    32 % at 6 and 18 % at 5, shifted per item so that item means range over about 5.4–6.2;
    reverse-keyed items are then stored as answered, ``8 − keyed``. With these values a
    year's totals have a mean of about 117 and an SD of about 11–12, and Cronbach's alpha
    of the total is about .82.

    Shifts given in SD units of the total are converted to latent units exactly for the mean:
    the expected keyed total ``Σ_j (1 + Σ_k Φ(λ_j m − τ_jk))`` at latent mean ``m`` is solved
    for the requested change, against the total's SD at ``m = 0`` (a fixed-seed Monte Carlo
    of 40 000 respondents). Because the scale has a ceiling the relation is slightly
    non-linear; a decline of 0.4 SD is about 4.4 points.

    *Sampling.* Each cohort enters with ``n_per_cohort`` students; before each later year a
    student leaves with probability ``attrition``; an enrolled student answers with the
    year's ``response_rate`` (missing at random). Data-quality problems are then added to
    the answered surveys: straightliners, break-offs, skipped items and invalid codes, at the
    given rates. A straightliner's answers replace the model's; invalid codes replace one
    answer.

    Assumptions and simplifications: nonresponse and attrition do not depend on empathy;
    the decline and gender effects are the same for every factor and cohort; nobody repeats
    a year. These keep the true values known, which is what demo and test data need.

    Examples
    --------
    >>> from empathy_metrics.simulate import simulate
    >>> df = simulate(n_per_cohort=50, seed=1)
    >>> sorted(df["cohort"].unique().tolist()), sorted(df["year"].unique().tolist())
    ([2022, 2023, 2024, 2025], [1, 2, 3, 4])
    >>> df.equals(simulate(n_per_cohort=50, seed=1))
    True
    """
    n_per_cohort = _count("n_per_cohort", n_per_cohort)
    n_cohorts = _count("n_cohorts", n_cohorts)
    n_years = _count("n_years", n_years)
    current_year = _count("current_year", current_year, minimum=0)
    if first_cohort is None:
        first_cohort = current_year - n_cohorts + 1
    first_cohort = _count("first_cohort", first_cohort, minimum=0)
    if first_cohort + n_cohorts - 1 > current_year:
        raise InputError(
            f"the last of {n_cohorts} cohorts from {first_cohort} enters after current_year "
            f"{current_year}", hint="choose an earlier first_cohort or a later current_year")
    for name, value in (("attrition", attrition), ("p_missing_item", p_missing_item),
                        ("p_breakoff", p_breakoff), ("p_careless", p_careless),
                        ("p_out_of_range", p_out_of_range), ("p_female", p_female)):
        _check_probability(name, value)
    if not 0.0 <= float(stability) <= 1.0:
        raise InputError(f"stability must be between 0 and 1, got {stability}")
    if float(cohort_sd) < 0:
        raise InputError(f"cohort_sd must not be negative, got {cohort_sd}")
    rates = np.atleast_1d(np.asarray(response_rate, dtype=float))
    if rates.size == 0 or np.any((rates <= 0) | (rates > 1)):
        raise InputError(f"response_rate must be in (0, 1], got {response_rate!r}")
    rates = np.concatenate([rates, np.repeat(rates[-1], max(n_years - rates.size, 0))])[:n_years]

    inst = load_instrument(instrument)
    model = _Model(inst)
    key = model.key
    shifts_sd = _decline_shifts(decline, float(decline_size), n_years)
    to_latent = np.vectorize(lambda d: _latent_shift(key, float(d)), otypes=[float])
    delta = to_latent(shifts_sd)
    half_gap = _latent_shift(key, float(gender_gap) / 2.0)
    per_sd = _latent_shift(key, 1.0)  # latent units per total SD, for the cohort effects

    rng = np.random.default_rng(seed)
    n_students = n_per_cohort * n_cohorts
    cohorts = np.arange(first_cohort, first_cohort + n_cohorts)
    cohort_of = np.repeat(cohorts, n_per_cohort)
    chol = np.linalg.cholesky(_FACTOR_CORR).T

    # every random draw is made for the full student x year grid, in a fixed order
    g = rng.random(n_students)
    gender = np.where(g < 0.015, None, np.where(g < 0.015 + p_female * 0.985, "female", "male"))
    gamma = np.where(gender == "female", half_gap, np.where(gender == "male", -half_gap, 0.0))
    kappa = rng.standard_normal(n_cohorts) * float(cohort_sd) * per_sd
    u = rng.standard_normal((n_students, 3)) @ chol
    v = rng.standard_normal((n_students, n_years, 3)) @ chol
    eps = rng.standard_normal((n_students, n_years, 20))
    leave = rng.random((n_students, n_years)) < attrition
    answer = rng.random((n_students, n_years)) < rates[None, :]
    careless = rng.random((n_students, n_years)) < p_careless
    careless_code = rng.choice(_STRAIGHT_CODES, size=(n_students, n_years), p=_STRAIGHT_P)
    breakoff = rng.random((n_students, n_years)) < p_breakoff
    breakoff_len = rng.integers(5, 16, size=(n_students, n_years))
    skipped = rng.random((n_students, n_years, 20)) < p_missing_item
    invalid = rng.random((n_students, n_years)) < p_out_of_range
    invalid_item = rng.integers(0, 20, size=(n_students, n_years))
    invalid_code = np.where(rng.random((n_students, n_years)) < 0.7, 8.0, 0.0)

    eta = (delta[None, :, None] + gamma[:, None, None]
           + kappa[np.repeat(np.arange(n_cohorts), n_per_cohort)][:, None, None]
           + np.sqrt(stability) * u[:, None, :] + np.sqrt(1.0 - stability) * v)
    keyed = model.codes(eta, eps).astype(float)
    raw = np.where(model.reverse, 8.0 - keyed, keyed)

    years = np.arange(1, n_years + 1)
    happened = (cohort_of[:, None] + years[None, :] - 1) <= current_year
    leave[:, 0] = False  # everyone enrolled is there in year 1
    enrolled = ~np.logical_or.accumulate(leave, axis=1)
    observed = happened & enrolled & answer

    raw = np.where(careless[..., None], careless_code[..., None].astype(float), raw)
    position = np.arange(20)
    cut = (position[None, None, :] >= 20 - breakoff_len[..., None]) & breakoff[..., None]
    raw[cut | skipped] = np.nan
    hit = invalid[..., None] & (position[None, None, :] == invalid_item[..., None])
    raw = np.where(hit, invalid_code[..., None], raw)

    si, ti = np.nonzero(observed)
    within = np.arange(n_students) % n_per_cohort + 1
    width = max(3, len(str(n_per_cohort)))
    ids = np.array([f"S{c}-{k:0{width}d}" for c, k in zip(cohort_of, within, strict=True)])
    frame = pd.DataFrame({
        "student_id": ids[si],
        "cohort": cohort_of[si].astype(np.int64),
        "year": years[ti].astype(np.int64),
        "gender": pd.Series(gender[si], dtype=object),
    })
    items = pd.DataFrame(raw[si, ti], columns=model.item_ids)
    frame = pd.concat([frame, items], axis=1)
    order = np.lexsort((within[si], frame["cohort"].to_numpy(),
                        frame["cohort"].to_numpy() + frame["year"].to_numpy()))
    frame = frame.iloc[order].reset_index(drop=True)
    frame.attrs["simulation"] = {
        "generator": "empathy_metrics.simulate.simulate",
        "instrument": inst.id, "n_per_cohort": n_per_cohort, "n_cohorts": n_cohorts,
        "n_years": n_years, "decline": (dict(decline) if isinstance(decline, Mapping)
                                        else decline),
        "decline_sd": shifts_sd.tolist(), "gender_gap": float(gender_gap),
        "current_year": current_year, "first_cohort": first_cohort,
        "seed": seed if isinstance(seed, int) else None,
    }
    return frame


_CODEBOOK = """\
Simulated Jefferson Scale of Empathy (JSE-S) survey data - demo file
====================================================================

{csv}: {n} survey responses from {students} students, entering cohorts {c0}-{c1},
training years 1-{years}, generated by empathy_metrics.simulate.simulate (seed {seed}).
THESE ARE SIMULATED DATA: no real student is described.

Columns
  student_id   student identifier, repeated across the student's training years
  cohort       calendar year the student entered the program
  year         training year at the survey (1-{years})
  gender       female / male (empty = not stated)
  JSE1-JSE20   raw answers 1 = Strongly disagree ... 7 = Strongly agree, as answered:
               reverse-keyed items (1, 3, 6, 7, 8, 11, 12, 14, 18, 19) are NOT reversed.
               Empty = skipped. A few invalid codes (0, 8) and straightliners are included
               on purpose, so that data-quality checks have something to find.

What is built in (the "truth" an analysis should recover)
  - three correlated factors: perspective taking, compassionate care, standing in the
    patient's shoes (item 18 loads weakly);
  - typical totals of about 116 (SD about 11), answers piled up at 6 and 7;
  - decline pattern '{decline}'; mean shift by training year in SD units of the total:
    {shifts};
  - women score about {gap} SD higher than men;
  - attrition and nonresponse, so later years have fewer responses.

Try:  empathy report {csv} -i jse-s --time year --id student_id --cohort cohort \\
        --group gender -o report.html
"""


def write_demo(outdir: str | Path, *, seed: int = 2026, **options: Any) -> Path:
    """Write the demo data set ``jse_demo.csv`` (and ``jse_demo_README.txt``) to ``outdir``.

    Parameters
    ----------
    outdir
        Folder to write to; created (with its parents) when it does not exist. An existing
        folder must be empty or one the tool created (it holds the manifest of
        :mod:`empathy_metrics.outputs`); other files in it are kept.
    seed
        Seed passed to :func:`simulate`.
    **options
        Further arguments of :func:`simulate` (e.g. ``n_per_cohort``, ``decline``).

    Returns
    -------
    pathlib.Path
        Path of the CSV file. Both files are written atomically (see
        :func:`empathy_metrics._files.atomic_path`); an existing demo file is replaced.
    """
    from ._files import atomic_path
    from .outputs import check_outputs, claim_folder

    outdir = Path(outdir)
    check_outputs(folders=[outdir])  # the output rule: new, empty, or an earlier demo folder
    claim_folder(outdir, [DEMO_FILENAME, "jse_demo_README.txt"])
    frame = simulate(seed=seed, **options)
    csv_path = outdir / DEMO_FILENAME
    with atomic_path(csv_path) as tmp:
        # item codes are whole numbers: write 6, not 6.0; skipped answers as empty cells
        frame.to_csv(tmp, index=False, float_format="%.0f")
    info = frame.attrs["simulation"]
    text = _CODEBOOK.format(
        csv=DEMO_FILENAME, n=len(frame), students=frame["student_id"].nunique(),
        c0=int(frame["cohort"].min()), c1=int(frame["cohort"].max()), years=info["n_years"],
        seed=seed, decline=info["decline"],
        shifts=", ".join(f"year {i + 1}: {s:+.2f}" for i, s in enumerate(info["decline_sd"])),
        gap=f"{info['gender_gap']:.2f}",
    )
    with atomic_path(outdir / "jse_demo_README.txt") as tmp:
        tmp.write_text(text, encoding="utf-8")
    return csv_path

