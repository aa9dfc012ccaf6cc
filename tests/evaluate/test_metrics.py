"""Tests of the ranking metrics: hand-computed values, properties, and a reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from shopguide.evaluate.metrics import (
    ACCURACY_METRICS,
    catalogue_coverage,
    compute_metrics,
    hit_matrix,
    hit_rate_at_n,
    intra_list_diversity,
    map_at_n,
    mrr_at_n,
    ndcg_at_n,
    novelty,
    popularity_bias,
    popularity_percentile,
    precision_at_n,
    recall_at_n,
    recall_capped_at_n,
)


def csr(rows: list[list[int]], n_items: int) -> sp.csr_matrix:
    r = [u for u, items in enumerate(rows) for _ in items]
    c = [i for items in rows for i in items]
    return sp.csr_matrix((np.ones(len(c)), (r, c)), shape=(len(rows), n_items))


# --- hand-computed ---------------------------------------------------------------------------

RECS = np.array([[0, 1, 2], [3, -1, -1], [4, 0, 1]])
REL = csr([[1, 3], [3], []], 5)


def test_hit_matrix() -> None:
    assert hit_matrix(RECS, REL).tolist() == [
        [False, True, False],
        [True, False, False],
        [False, False, False],
    ]


def test_hand_computed_values() -> None:
    l3 = 1 / math.log2(3)
    np.testing.assert_allclose(precision_at_n(RECS, REL, 3)[:2], [1 / 3, 1 / 3])
    np.testing.assert_allclose(recall_at_n(RECS, REL, 3)[:2], [1 / 2, 1])
    np.testing.assert_allclose(recall_capped_at_n(RECS, REL, 3)[:2], [1 / 2, 1])
    np.testing.assert_allclose(ndcg_at_n(RECS, REL, 3)[:2], [l3 / (1 + l3), 1.0])
    np.testing.assert_allclose(map_at_n(RECS, REL, 3)[:2], [(1 / 2) / 2, 1.0])
    np.testing.assert_allclose(hit_rate_at_n(RECS, REL, 3)[:2], [1, 1])
    np.testing.assert_allclose(mrr_at_n(RECS, REL, 3)[:2], [1 / 2, 1])
    # user 2 has no relevant item: undefined
    for f in (precision_at_n, recall_at_n, ndcg_at_n, map_at_n, hit_rate_at_n, mrr_at_n):
        assert np.isnan(f(RECS, REL, 3)[2])
    # at N=1 the first user has no hit
    np.testing.assert_allclose(ndcg_at_n(RECS, REL, 1)[:2], [0, 1])
    np.testing.assert_allclose(precision_at_n(RECS, REL, 1)[:2], [0, 1])
    assert catalogue_coverage(RECS, 5) == 1.0
    assert catalogue_coverage(RECS[:2], 5) == 0.8
    assert catalogue_coverage(RECS[:2, :1], 5) == 0.4


def test_recall_variants_differ_when_many_relevant() -> None:
    recs = np.array([[0, 1]])
    rel = csr([[0, 1, 2, 3]], 5)
    assert recall_at_n(recs, rel, 2)[0] == pytest.approx(0.5)
    assert recall_capped_at_n(recs, rel, 2)[0] == pytest.approx(1.0)
    assert ndcg_at_n(recs, rel, 2)[0] == pytest.approx(1.0)
    assert map_at_n(recs, rel, 2)[0] == pytest.approx(1.0)


def test_map_known_answer() -> None:
    # hits at ranks 1 and 3, |rel| = 3, N = 4: AP = (1/1 + 2/3) / 3
    recs = np.array([[5, 0, 6, 1]])
    rel = csr([[5, 6, 7]], 8)
    assert map_at_n(recs, rel, 4)[0] == pytest.approx((1 + 2 / 3) / 3)
    # NDCG: (1 + 1/log2 4) / (1 + 1/log2 3 + 1/log2 4)
    assert ndcg_at_n(recs, rel, 4)[0] == pytest.approx((1 + 1 / 2) / (1 + 1 / math.log2(3) + 1 / 2))
    assert mrr_at_n(np.array([[0, 1, 5]]), rel, 3)[0] == pytest.approx(1 / 3)


def test_duplicates_in_list_counted_once() -> None:
    recs = np.array([[1, 1, 2]])
    rel = csr([[1]], 3)
    assert hit_matrix(recs, rel).tolist() == [[True, False, False]]
    assert precision_at_n(recs, rel, 3)[0] == pytest.approx(1 / 3)


def test_beyond_accuracy_hand_computed() -> None:
    pop = np.array([8, 4, 2, 0, 1])  # users per item; 8 training users
    recs = np.array([[0, 1, -1], [3, 4, 2]])
    nov = novelty(recs, pop, 8)
    assert nov[0] == pytest.approx((0 + 1) / 2)  # -log2(8/8), -log2(4/8)
    assert nov[1] == pytest.approx((3 + 3 + 2) / 3)  # pop 0 floored to 1
    pct = popularity_percentile(pop)
    np.testing.assert_allclose(pct, [1.0, 0.75, 0.5, 0.0, 0.25])
    pb = popularity_bias(recs, pop)
    np.testing.assert_allclose(pb, [0.875, 0.25])
    cats = np.array([0, 0, 1, -1, 2])
    div = intra_list_diversity(np.array([[0, 1, 2], [0, 3, 4], [3, -1, -1]]), cats)
    assert div[0] == pytest.approx(2 / 3)  # pairs (0,1) same, (0,2) (1,2) differ
    assert div[1] == pytest.approx(1.0)  # unknown category left out: only pair (0,4)
    assert np.isnan(div[2])


def test_compute_metrics_table() -> None:
    rep = compute_metrics(
        RECS,
        REL,
        ns=(1, 3),
        item_popularity=np.array([3, 1, 1, 2, 0]),
        n_train_users=4,
        item_categories=np.array([0, 1, 0, 1, 0]),
        user_ids=["a", "b", "c"],
    )
    assert rep.n_users == 2
    assert list(rep.per_user.index) == ["a", "b", "c"]
    m = rep.means()
    assert m["precision@3"] == pytest.approx(1 / 3)
    assert m["recall@3"] == pytest.approx(0.75)
    assert m["coverage@3"] == pytest.approx(1.0)
    assert m["coverage@1"] == pytest.approx(0.6)
    assert {f"{k}@3" for k in ACCURACY_METRICS} <= set(m)
    assert "novelty@3" in m and "diversity@3" in m and "popularity_bias@3" in m
    with pytest.raises(ValueError, match="need inputs"):
        compute_metrics(RECS, REL, 3, metrics=["novelty"])
    with pytest.raises(ValueError, match="unknown"):
        compute_metrics(RECS, REL, 3, metrics=["nope"])
    with pytest.raises(ValueError, match="larger"):
        compute_metrics(RECS, REL, 4)
    with pytest.raises(ValueError, match="aligned"):
        compute_metrics(RECS, REL[:2], 3)


# --- independent reference implementation ----------------------------------------------------


def reference(recs: list[list[int]], rel: list[set[int]], n: int) -> dict[str, list[float]]:
    """Straightforward per-user loops, written independently of the vectorised code."""
    out: dict[str, list[float]] = {k: [] for k in ACCURACY_METRICS}
    for lst, relevant in zip(recs, rel, strict=True):
        if not relevant:
            for k in out:
                out[k].append(float("nan"))
            continue
        seen: set[int] = set()
        hits = []
        for item in lst[:n]:
            hit = item >= 0 and item in relevant and item not in seen
            seen.add(item)
            hits.append(hit)
        n_hit = sum(hits)
        out["precision"].append(n_hit / n)
        out["recall"].append(n_hit / len(relevant))
        out["recall_capped"].append(n_hit / min(len(relevant), n))
        dcg = sum(1 / math.log2(r + 2) for r, h in enumerate(hits) if h)
        idcg = sum(1 / math.log2(r + 2) for r in range(min(len(relevant), n)))
        out["ndcg"].append(dcg / idcg)
        ap, found = 0.0, 0
        for r, h in enumerate(hits):
            if h:
                found += 1
                ap += found / (r + 1)
        out["map"].append(ap / min(len(relevant), n))
        out["hit_rate"].append(1.0 if n_hit else 0.0)
        first = next((r for r, h in enumerate(hits) if h), None)
        out["mrr"].append(0.0 if first is None else 1 / (first + 1))
    return out


def random_case(seed: int, n_users: int = 300, n_items: int = 60, width: int = 15):
    rng = np.random.default_rng(seed)
    recs = np.full((n_users, width), -1, dtype=np.int64)
    rel_sets = []
    for u in range(n_users):
        length = rng.integers(0, width + 1)
        # allow duplicates sometimes, to exercise the "count once" rule
        recs[u, :length] = rng.integers(0, n_items, length)
        k = rng.integers(0, 12)
        rel_sets.append(set(rng.choice(n_items, size=k, replace=False).tolist()))
    return recs, rel_sets, csr([sorted(s) for s in rel_sets], n_items)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agrees_with_reference(seed: int) -> None:
    recs, rel_sets, rel = random_case(seed)
    rep = compute_metrics(recs, rel, ns=(1, 5, 15))
    for n in (1, 5, 15):
        ref = reference(recs.tolist(), rel_sets, n)
        for name in ACCURACY_METRICS:
            np.testing.assert_allclose(
                rep.per_user[f"{name}@{n}"].to_numpy(), ref[name], err_msg=f"{name}@{n}"
            )
    covered = {i for row in recs.tolist() for i in row[:5] if i >= 0}
    assert rep.catalogue["coverage@5"] == pytest.approx(len(covered) / 60)


def test_vectorised_metrics_hold_at_100k_users() -> None:
    """At a realistic size (100k users, 1M relevant cells, duplicates included) the vectorised
    per-user metrics equal the reference loops for a random sample of users, and the means
    are the means over the users who have relevant items."""
    rng = np.random.default_rng(0)
    n_users, n_items = 100_000, 5_000
    recs = rng.integers(0, n_items, (n_users, 20))
    rows = rng.integers(0, n_users, 1_000_000)
    cols = rng.integers(0, n_items, 1_000_000)
    rel = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n_users, n_items))
    rep = compute_metrics(recs, rel, ns=(10, 20))
    assert len(rep.per_user) == n_users
    sample = np.sort(rng.choice(n_users, 300, replace=False))
    rel_sets = [set(rel[u].indices.tolist()) for u in sample]
    for n in (10, 20):
        ref = reference(recs[sample].tolist(), rel_sets, n)
        for name in ACCURACY_METRICS:
            np.testing.assert_allclose(
                rep.per_user[f"{name}@{n}"].to_numpy()[sample], ref[name], err_msg=f"{name}@{n}"
            )
    has_relevant = np.diff(rel.indptr) > 0
    expected = rep.per_user["ndcg@10"].to_numpy()[has_relevant].mean()
    assert rep.means()["ndcg@10"] == pytest.approx(expected)
    assert rep.n_users == int(has_relevant.sum())


# --- properties ------------------------------------------------------------------------------


@st.composite
def cases(draw):
    n_items = draw(st.integers(1, 12))
    n_users = draw(st.integers(1, 8))
    width = draw(st.integers(1, 6))
    recs = np.array(
        draw(
            st.lists(
                st.lists(st.integers(-1, n_items - 1), min_size=width, max_size=width),
                min_size=n_users,
                max_size=n_users,
            )
        ),
        dtype=np.int64,
    )
    rel_rows = draw(
        st.lists(
            st.sets(st.integers(0, n_items - 1), max_size=n_items),
            min_size=n_users,
            max_size=n_users,
        )
    )
    return recs, csr([sorted(s) for s in rel_rows], n_items), rel_rows, width


@settings(max_examples=80, deadline=None)
@given(case=cases())
def test_property_values_in_unit_interval(case) -> None:
    recs, rel, _, width = case
    rep = compute_metrics(recs, rel, ns=(width,), metrics=[*ACCURACY_METRICS, "coverage"])
    vals = rep.per_user.to_numpy()
    finite = vals[~np.isnan(vals)]
    assert ((finite >= -1e-12) & (finite <= 1 + 1e-12)).all()
    assert 0.0 <= rep.catalogue[f"coverage@{width}"] <= 1.0


@settings(max_examples=80, deadline=None)
@given(case=cases())
def test_property_perfect_ranking_scores_one(case) -> None:
    _, rel, rel_rows, width = case
    n_items = rel.shape[1]
    perfect = np.full((len(rel_rows), width), -1, dtype=np.int64)
    for u, s in enumerate(rel_rows):
        ordered = sorted(s) + [i for i in range(n_items) if i not in s]
        ordered = ordered[:width]
        perfect[u, : len(ordered)] = ordered
    rep = compute_metrics(perfect, rel, ns=(width,))
    has_rel = np.array([len(s) > 0 for s in rel_rows])
    for name in ("ndcg", "map", "hit_rate", "mrr", "recall_capped"):
        np.testing.assert_allclose(rep.per_user[f"{name}@{width}"].to_numpy()[has_rel], 1.0)
    expected_p = [min(len(s), width) / width for s in rel_rows if s]
    np.testing.assert_allclose(rep.per_user[f"precision@{width}"].to_numpy()[has_rel], expected_p)
    small = np.array([0 < len(s) <= width for s in rel_rows])
    np.testing.assert_allclose(rep.per_user[f"recall@{width}"].to_numpy()[small], 1.0)


@settings(max_examples=60, deadline=None)
@given(case=cases(), seed=st.integers(0, 10_000))
def test_property_invariant_to_user_order(case, seed: int) -> None:
    recs, rel, _, width = case
    perm = np.random.default_rng(seed).permutation(recs.shape[0])
    a = compute_metrics(recs, rel, ns=(width,))
    b = compute_metrics(recs[perm], rel[perm], ns=(width,))
    np.testing.assert_allclose(a.per_user.to_numpy()[perm], b.per_user.to_numpy(), equal_nan=True)
    for k, v in a.means().items():
        w = b.means()[k]
        assert (np.isnan(v) and np.isnan(w)) or v == pytest.approx(w)
