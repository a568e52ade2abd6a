"""Small-cell suppression: primary, complementary, and no recovery by subtraction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from empathy_metrics.errors import InputError
from empathy_metrics.suppression import recoverable_cells, suppress, suppressed_label

MIN_CELL = 10


def _membership(table: pd.DataFrame, margins: list[list[str]]) -> np.ndarray:
    rows = []
    for spec in margins:
        if not spec:
            rows.append(np.ones(len(table)))
            continue
        for _, idx in table.groupby(spec).indices.items():
            r = np.zeros(len(table))
            r[idx] = 1
            rows.append(r)
    return np.vstack(rows)


def test_single_small_cell_gets_a_complement():
    t = pd.DataFrame({"year": [1, 2, 3, 4], "n": [40, 7, 25, 30], "mean": [110.0, 101, 108, 99]})
    out = suppress(t, "n", MIN_CELL, keys=["year"])
    assert out["suppressed"].tolist() == [False, True, True, False]
    assert out["primary_suppressed"].tolist() == [False, True, False, False]
    assert out.loc[out.suppressed, ["n", "mean"]].isna().all().all()
    assert out["year"].tolist() == [1, 2, 3, 4]  # keys are never blanked


def test_no_small_cell_no_suppression_and_threshold_configurable():
    t = pd.DataFrame({"g": list("ab"), "n": [12, 15], "mean": [1.0, 2.0]})
    assert not suppress(t, "n", MIN_CELL, keys=["g"])["suppressed"].any()
    assert suppress(t, "n", 13, keys=["g"])["suppressed"].all()


def test_two_way_table_each_margin_protected():
    t = pd.DataFrame({"time": [1, 1, 1, 2, 2, 2], "group": list("abcabc"),
                      "n": [30, 3, 40, 35, 20, 50]})
    out = suppress(t, "n", MIN_CELL, margins=[["time"], ["group"]])
    sup = out["suppressed"].to_numpy()
    assert sup[1]
    mem = _membership(t, [["time"], ["group"]])
    assert not recoverable_cells(sup, mem).any()


def test_errors_name_the_problem():
    t = pd.DataFrame({"n": [1, 2]})
    with pytest.raises(InputError, match="count column 'm'"):
        suppress(t, "m")
    with pytest.raises(InputError, match="margin column 'x'"):
        suppress(t, "n", margins=[["x"]])
    with pytest.raises(InputError, match="min_cell"):
        suppress(t, "n", 0)


def test_labels_tell_small_and_complementary_cells_apart():
    from empathy_metrics.suppression import suppression_kind, with_kinds

    assert suppressed_label(10) == "suppressed: fewer than 10 respondents"
    assert suppressed_label(10, "complementary") == (
        "hidden so that a small group cannot be worked out")
    kinds = suppression_kind([True, True, False, None], [True, False, False, None])
    assert kinds.tolist() == ["small", "complementary", False, False]
    frame = pd.DataFrame({"n": [3, None, 40], "suppressed": [True, True, False],
                          "primary_suppressed": [True, False, False]})
    out = with_kinds(frame)
    assert out["suppressed"].tolist() == ["small", "complementary", False]
    assert "primary_suppressed" not in out and frame["suppressed"].dtype == bool


@settings(max_examples=150, deadline=None)
@given(
    n_rows=st.integers(1, 5), n_cols=st.integers(1, 5),
    counts=st.lists(st.integers(0, 40), min_size=25, max_size=25),
    min_cell=st.integers(1, 15),
)
def test_no_suppressed_cell_is_recoverable_from_margins(n_rows, n_cols, counts, min_cell):
    cells = [(r, c) for r in range(n_rows) for c in range(n_cols)]
    t = pd.DataFrame({"row": [r for r, _ in cells], "col": [c for _, c in cells],
                      "n": counts[: len(cells)]})
    t["value"] = t["n"] * 1.5
    margins = [["row"], ["col"], []]
    out = suppress(t, "n", min_cell, margins=margins)
    sup = out["suppressed"].to_numpy()
    # every small cell is hidden; nothing shown is below the threshold
    assert np.all(sup[t["n"].to_numpy() < min_cell])
    shown = out.loc[~out.suppressed, "n"].astype(int)
    assert (shown >= min_cell).all()
    # hidden values are blanked
    assert out.loc[out.suppressed, ["n", "value"]].isna().all().all()
    # the published margins: every row/column/grand total except those whose cells are all
    # hidden (suppress documents that such a total must not be shown, which is how the
    # callers use it). From the shown cells and these totals no hidden cell is determined,
    # checked exactly as a linear system (a hidden cell x_i is recoverable iff e_i lies in the
    # row space of the margin equations restricted to the hidden cells).
    mem = _membership(t, margins)
    published = mem[[not sup[m > 0].all() for m in mem]]
    if len(published):
        assert not recoverable_cells(sup, published).any()
    # brute force, independent of recoverable_cells: no published margin holds exactly one
    # hidden cell (which would be its total minus the shown cells)
    for m in published:
        assert sup[m > 0].sum() != 1


def test_recoverable_cells_detects_a_lone_hidden_cell():
    # guard against a check that can never fire: one hidden cell in a published row is found
    mem = np.array([[1.0, 1.0, 1.0]])
    assert recoverable_cells(np.array([False, True, False]), mem).tolist() == [False, True, False]
    assert not recoverable_cells(np.array([False, True, True]), mem).any()


def test_complement_first_picks_the_marked_cell_and_still_protects():
    table = pd.DataFrame({"to": [2, 2, 2], "category": ["decline", "no_change", "improvement"],
                          "count": [33, 120, 4]})
    default = suppress(table, "count", 10, margins=[["to"]], keys=["to", "category"])
    assert default["suppressed"].tolist() == [True, False, True]  # the smallest other cell
    marked = table.assign(least=table["category"] == "no_change")
    out = suppress(marked, "count", 10, margins=[["to"]], keys=["to", "category"],
                   complement_first="least")
    assert out["suppressed"].tolist() == [False, True, True]
    assert "least" not in out.columns
    assert not recoverable_cells(out["suppressed"].to_numpy(),
                                 np.ones((1, 3))).any()


# ---------------------------------------------------------------------------- least loss
def _table(n_rows: int, n_cols: int, counts: list[int]) -> pd.DataFrame:
    cells = [(r, c) for r in range(n_rows) for c in range(n_cols)]
    return pd.DataFrame({"row": [r for r, _ in cells], "col": [c for _, c in cells],
                         "n": counts[: len(cells)]})


def _brute_force_least_loss(counts: np.ndarray, primary: np.ndarray, mem: np.ndarray) -> float:
    """The fewest respondents any set of complements can hide with no cell recoverable,
    by trying every set (independent of the search in suppress)."""
    import itertools

    free = np.flatnonzero(~primary)
    best = np.inf
    for k in range(free.size + 1):
        for extra in itertools.combinations(free, k):
            sup = primary.copy()
            sup[list(extra)] = True
            if not recoverable_cells(sup, mem).any():
                best = min(best, counts[list(extra)].sum())
    return best


@settings(max_examples=60, deadline=None)
@given(n_rows=st.integers(1, 3), n_cols=st.integers(1, 3),
       counts=st.lists(st.integers(0, 40), min_size=9, max_size=9),
       min_cell=st.integers(1, 15))
def test_complements_lose_the_least_possible(n_rows, n_cols, counts, min_cell):
    t = _table(n_rows, n_cols, counts)
    margins = [["row"], ["col"], []]
    out = suppress(t, "n", min_cell, margins=margins)
    sup = out["suppressed"].to_numpy(dtype=bool)
    n = t["n"].to_numpy(dtype=float)
    mem = _membership(t, margins)
    optimum = _brute_force_least_loss(n, n < min_cell, mem)
    if np.isfinite(optimum):  # some set of complements protects every cell
        assert not recoverable_cells(sup, mem).any()
        assert n[sup & (n >= min_cell)].sum() == optimum


@settings(max_examples=80, deadline=None)
@given(n_rows=st.integers(1, 4), n_cols=st.integers(1, 4),
       counts=st.lists(st.integers(0, 60), min_size=16, max_size=16),
       min_cell=st.integers(1, 15), order=st.permutations([0, 1, 2]))
def test_never_more_loss_than_greedy_and_margin_order_does_not_matter(
        n_rows, n_cols, counts, min_cell, order):
    from empathy_metrics.suppression import _greedy

    t = _table(n_rows, n_cols, counts)
    margins = [["row"], ["col"], []]
    n = t["n"].to_numpy(dtype=float)
    primary = n < min_cell
    mem = _membership(t, margins)
    out = suppress(t, "n", min_cell, margins=margins)
    sup = out["suppressed"].to_numpy(dtype=bool)
    shuffled = suppress(t, "n", min_cell, margins=[margins[i] for i in order])
    assert shuffled["suppressed"].tolist() == sup.tolist()
    for margin_order in ([0, 1, 2], order):  # the old greedy, in either order of margins
        greedy = _greedy(n, primary, _membership(t, [margins[i] for i in margin_order]),
                         np.zeros(len(t), dtype=bool))
        if not recoverable_cells(greedy, mem).any():
            assert not recoverable_cells(sup, mem).any()
            assert n[sup & ~primary].sum() <= n[greedy & ~primary].sum()


def test_least_loss_beats_the_greedy_choice_whatever_the_order_of_margins():
    """year 1: a 40, b 48, c 1 (small); year 2: a 48, b 28, c 30. The greedy NCES choice
    hides a (40, the next-smallest of year 1) and then a and c of year 2: 118 respondents
    with year margins first, all 194 with group margins first. Hiding b and c in both years
    protects c1 with 106."""
    from empathy_metrics.suppression import _greedy

    t = pd.DataFrame({"year": [1, 1, 1, 2, 2, 2], "group": list("abcabc"),
                      "n": [40, 48, 1, 48, 28, 30]})
    n = t["n"].to_numpy(dtype=float)
    greedy = [_greedy(n, n < 10, _membership(t, m), np.zeros(6, dtype=bool))
              for m in ([["year"], ["group"]], [["group"], ["year"]])]
    assert [int(n[g & (n >= 10)].sum()) for g in greedy] == [118, 194]
    for margins in ([["year"], ["group"]], [["group"], ["year"]]):
        out = suppress(t, "n", 10, margins=margins)
        assert out["suppressed"].tolist() == [False, True, True, False, True, True]
        assert out["primary_suppressed"].tolist() == [False, False, True, False, False, False]
        assert not recoverable_cells(out["suppressed"].to_numpy(),
                                     _membership(t, margins)).any()


# ---------------------------------------------------------------------------- array core
@settings(max_examples=40, deadline=None)
@given(n_rows=st.integers(2, 4), n_cols=st.integers(2, 4),
       counts=st.lists(st.integers(0, 40), min_size=16, max_size=16),
       min_cell=st.integers(3, 12), first=st.lists(st.booleans(), min_size=16, max_size=16))
def test_suppress_counts_is_suppress_on_arrays(n_rows, n_cols, counts, min_cell, first):
    """suppress_counts (with membership_matrix) gives the pattern suppress() gives the table."""
    from empathy_metrics.suppression import membership_matrix, suppress_counts

    k = n_rows * n_cols
    t = pd.DataFrame({"r": np.repeat(np.arange(n_rows), n_cols),
                      "c": np.tile([f"c{j}" for j in range(n_cols)], n_rows),
                      "n": counts[:k], "first": first[:k]})
    margins = [["r"], ["c"], []]
    want = suppress(t, "n", min_cell, margins=margins, keys=["r", "c"],
                    complement_first="first")
    member = membership_matrix(t, margins)
    # the same margins as the groupby construction (rows in order of first appearance)
    assert sorted(map(tuple, member.tolist())) == sorted(
        map(tuple, _membership(t, margins).tolist()))
    sup, primary = suppress_counts(t["n"].to_numpy(), min_cell, member, first=first[:k])
    assert sup.tolist() == want["suppressed"].tolist()
    assert primary.tolist() == want["primary_suppressed"].tolist()


def test_membership_matrix_rows_in_order_of_first_appearance():
    from empathy_metrics.suppression import key_membership, membership_matrix

    t = pd.DataFrame({"to": [3, 2, 3, 2, 4], "g": ["b", "a", "b", "b", "a"]})
    assert membership_matrix(t, [["to"]]).tolist() == [[1, 0, 1, 0, 0], [0, 1, 0, 1, 0],
                                                      [0, 0, 0, 0, 1]]
    # several columns: one margin per distinct combination, as text
    assert membership_matrix(t, [["to", "g"]]).tolist() == [
        [1, 0, 1, 0, 0], [0, 1, 0, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1]]
    assert membership_matrix(t, [[]]).tolist() == [[1, 1, 1, 1, 1]]
    # 1 and "1" are one key (the margins are the texts of the values)
    assert key_membership(np.array(["1", "2", "1"], dtype=object)).tolist() == [[1, 0, 1],
                                                                              [0, 1, 0]]
    assert membership_matrix(pd.DataFrame({"k": [1, "1", 2]}), [["k"]]).tolist() == [
        [1, 1, 0], [0, 0, 1]]
