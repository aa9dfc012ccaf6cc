"""Ranking metrics over the full item catalogue (no sampled negatives).

Inputs are the same for every metric:

``recommended``
    Integer array ``[n_users, N]`` of item column indices, best first; ``-1`` pads lists that
    are shorter than ``N``. Padding is never a hit and never counts as a recommended item.
``relevant``
    A ``scipy.sparse`` matrix ``[n_users, n_items]`` (CSR preferred); row ``u``'s stored
    non-zero entries are the items relevant to user ``u`` (binary relevance: the value is
    ignored). Row ``u`` of ``relevant`` belongs to row ``u`` of ``recommended``.

Accuracy metrics (precision, recall, NDCG, MAP, hit rate, MRR) return one value per user and
``NaN`` for users with no relevant item (undefined there); means skip those users. All are
vectorised: the hit matrix is found with one ``searchsorted`` over ``user * n_items + item``
keys, so 100,000 users × top-100 takes well under a second.

Exact formulas: ``docs/metrics.md``. Two recall variants exist: :func:`recall_at_n` divides
by ``|relevant|`` (can be below 1 for a perfect list when ``|relevant| > N``) and
:func:`recall_capped_at_n` divides by ``min(|relevant|, N)`` (1 for a perfect list).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.stats import rankdata

__all__ = [
    "ACCURACY_METRICS",
    "BEYOND_ACCURACY_METRICS",
    "MetricsReport",
    "catalogue_coverage",
    "compute_metrics",
    "hit_matrix",
    "hit_rate_at_n",
    "intra_list_diversity",
    "map_at_n",
    "mrr_at_n",
    "ndcg_at_n",
    "novelty",
    "popularity_bias",
    "popularity_percentile",
    "precision_at_n",
    "recall_at_n",
    "recall_capped_at_n",
]

#: Per-user accuracy metrics computed at every cut-off N.
ACCURACY_METRICS = ("precision", "recall", "recall_capped", "ndcg", "map", "hit_rate", "mrr")
#: Metrics that need no relevance (coverage is catalogue-level, the rest per user).
BEYOND_ACCURACY_METRICS = ("coverage", "novelty", "diversity", "popularity_bias")


def _as_recs(recommended: np.ndarray) -> np.ndarray:
    recs = np.asarray(recommended)
    if recs.ndim != 2:
        raise ValueError(f"recommended must be a 2-d array [users, N], got shape {recs.shape}")
    if recs.size and not np.issubdtype(recs.dtype, np.integer):
        raise ValueError(f"recommended must hold integer item indices, got {recs.dtype}")
    return recs.astype(np.int64, copy=False)


def _as_relevant(relevant: sp.spmatrix | sp.sparray, n_users: int) -> sp.csr_matrix:
    rel = sp.csr_matrix(relevant)
    if rel.shape[0] != n_users:
        raise ValueError(
            f"relevant has {rel.shape[0]} rows but recommended has {n_users}; "
            "they must be aligned user by user"
        )
    rel = rel.copy()
    rel.eliminate_zeros()
    rel.sum_duplicates()  # also sorts the indices
    rel.sort_indices()
    return rel


def hit_matrix(recommended: np.ndarray, relevant: sp.spmatrix | sp.sparray) -> np.ndarray:
    """Boolean ``[n_users, N]``: is the item at each rank relevant to its user.

    Padding (``-1``) and out-of-range indices are never hits. A list that repeats a relevant
    item is credited only at its first position (duplicates are not double-counted).
    """
    recs = _as_recs(recommended)
    rel = _as_relevant(relevant, recs.shape[0])
    n_users, n = recs.shape
    n_items = rel.shape[1]
    if n_users == 0 or n == 0 or rel.nnz == 0:
        return np.zeros((n_users, n), dtype=bool)
    # keys of relevant pairs are sorted because CSR rows are in order with sorted indices
    rel_rows = np.repeat(np.arange(n_users, dtype=np.int64), np.diff(rel.indptr))
    rel_keys = rel_rows * n_items + rel.indices.astype(np.int64)
    valid = (recs >= 0) & (recs < n_items)
    rec_keys = np.arange(n_users, dtype=np.int64)[:, None] * n_items + np.where(valid, recs, 0)
    pos = np.searchsorted(rel_keys, rec_keys)
    pos = np.minimum(pos, len(rel_keys) - 1)
    hits = valid & (rel_keys[pos] == rec_keys)
    if n > 1:
        # credit a repeated item only once: mark later duplicates within a row as misses
        order = np.argsort(np.where(valid, recs, -1 - np.arange(n)), axis=1, kind="stable")
        sorted_items = np.take_along_axis(recs, order, axis=1)
        dup_sorted = np.zeros_like(valid)
        dup_sorted[:, 1:] = (sorted_items[:, 1:] == sorted_items[:, :-1]) & (
            sorted_items[:, 1:] >= 0
        )
        dup = np.zeros_like(valid)
        np.put_along_axis(dup, order, dup_sorted, axis=1)
        hits &= ~dup
    return hits


def _n_relevant(relevant: sp.spmatrix | sp.sparray, n_users: int) -> np.ndarray:
    rel = _as_relevant(relevant, n_users)
    return np.diff(rel.indptr).astype(np.float64)


def _check_n(n: int, width: int) -> int:
    if n < 1:
        raise ValueError(f"N must be >= 1, got {n}")
    if n > width:
        raise ValueError(f"N={n} is larger than the recommendation lists ({width} columns)")
    return n


def _undefined_to_nan(values: np.ndarray, n_rel: np.ndarray) -> np.ndarray:
    values = values.astype(np.float64)
    values[n_rel == 0] = np.nan
    return values


# ---- accuracy metrics from a hit matrix (shared by the public functions) ------------------


def _precision(hits: np.ndarray, n_rel: np.ndarray, n: int) -> np.ndarray:
    return _undefined_to_nan(hits[:, :n].sum(axis=1) / n, n_rel)


def _recall(hits: np.ndarray, n_rel: np.ndarray, n: int) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return _undefined_to_nan(hits[:, :n].sum(axis=1) / n_rel, n_rel)


def _recall_capped(hits: np.ndarray, n_rel: np.ndarray, n: int) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return _undefined_to_nan(hits[:, :n].sum(axis=1) / np.minimum(n_rel, n), n_rel)


def _discounts(n: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, n + 2, dtype=np.float64))


def _ndcg(hits: np.ndarray, n_rel: np.ndarray, n: int) -> np.ndarray:
    disc = _discounts(n)
    dcg = hits[:, :n] @ disc
    ideal_cum = np.r_[0.0, np.cumsum(disc)]
    idcg = ideal_cum[np.minimum(n_rel, n).astype(np.int64)]
    with np.errstate(invalid="ignore", divide="ignore"):
        return _undefined_to_nan(dcg / idcg, n_rel)


def _map(hits: np.ndarray, n_rel: np.ndarray, n: int) -> np.ndarray:
    h = hits[:, :n].astype(np.float64)
    prec_at_rank = np.cumsum(h, axis=1) / np.arange(1, n + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _undefined_to_nan((prec_at_rank * h).sum(axis=1) / np.minimum(n_rel, n), n_rel)


def _hit_rate(hits: np.ndarray, n_rel: np.ndarray, n: int) -> np.ndarray:
    return _undefined_to_nan(np.asarray(hits[:, :n].any(axis=1), dtype=np.float64), n_rel)


def _mrr(hits: np.ndarray, n_rel: np.ndarray, n: int) -> np.ndarray:
    h = hits[:, :n]
    first = np.argmax(h, axis=1)
    rr = np.where(h.any(axis=1), 1.0 / (first + 1.0), 0.0)
    return _undefined_to_nan(rr, n_rel)


_ACCURACY_FUNCS = {
    "precision": _precision,
    "recall": _recall,
    "recall_capped": _recall_capped,
    "ndcg": _ndcg,
    "map": _map,
    "hit_rate": _hit_rate,
    "mrr": _mrr,
}


def _accuracy(
    name: str, recommended: np.ndarray, relevant: sp.spmatrix | sp.sparray, n: int | None
) -> np.ndarray:
    recs = _as_recs(recommended)
    n = recs.shape[1] if n is None else _check_n(n, recs.shape[1])
    hits = hit_matrix(recs[:, :n], relevant)
    return _ACCURACY_FUNCS[name](hits, _n_relevant(relevant, recs.shape[0]), n)


def precision_at_n(
    recommended: np.ndarray, relevant: sp.spmatrix | sp.sparray, n: int | None = None
) -> np.ndarray:
    """Per user: relevant items among the first ``n`` / ``n`` (padding counts as a miss)."""
    return _accuracy("precision", recommended, relevant, n)


def recall_at_n(
    recommended: np.ndarray, relevant: sp.spmatrix | sp.sparray, n: int | None = None
) -> np.ndarray:
    """Per user: relevant items among the first ``n`` / ``|relevant|``."""
    return _accuracy("recall", recommended, relevant, n)


def recall_capped_at_n(
    recommended: np.ndarray, relevant: sp.spmatrix | sp.sparray, n: int | None = None
) -> np.ndarray:
    """Per user: relevant items among the first ``n`` / ``min(|relevant|, n)``."""
    return _accuracy("recall_capped", recommended, relevant, n)


def ndcg_at_n(
    recommended: np.ndarray, relevant: sp.spmatrix | sp.sparray, n: int | None = None
) -> np.ndarray:
    """Per user: binary-relevance DCG@n over the ideal DCG of ``min(|relevant|, n)`` hits."""
    return _accuracy("ndcg", recommended, relevant, n)


def map_at_n(
    recommended: np.ndarray, relevant: sp.spmatrix | sp.sparray, n: int | None = None
) -> np.ndarray:
    """Per user: average precision at the hit ranks, divided by ``min(|relevant|, n)``."""
    return _accuracy("map", recommended, relevant, n)


def hit_rate_at_n(
    recommended: np.ndarray, relevant: sp.spmatrix | sp.sparray, n: int | None = None
) -> np.ndarray:
    """Per user: 1 if any of the first ``n`` items is relevant, else 0."""
    return _accuracy("hit_rate", recommended, relevant, n)


def mrr_at_n(
    recommended: np.ndarray, relevant: sp.spmatrix | sp.sparray, n: int | None = None
) -> np.ndarray:
    """Per user: 1 / rank of the first relevant item within the first ``n`` (0 if none)."""
    return _accuracy("mrr", recommended, relevant, n)


# ---- beyond accuracy -----------------------------------------------------------------------


def catalogue_coverage(recommended: np.ndarray, n_items: int) -> float:
    """Share of the catalogue's ``n_items`` items recommended to at least one user."""
    recs = _as_recs(recommended)
    if n_items <= 0:
        raise ValueError("n_items must be positive")
    valid = recs[(recs >= 0) & (recs < n_items)]
    return float(np.unique(valid).size / n_items)


def _row_mean(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    counts = valid.sum(axis=1)
    sums = np.where(valid, values, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def novelty(recommended: np.ndarray, item_popularity: np.ndarray, n_users: int) -> np.ndarray:
    """Per user: mean self-information ``-log2(p_i)`` of the recommended items, in bits.

    ``p_i = max(pop_i, 1) / n_users`` where ``pop_i`` is the number of training users who
    interacted with item ``i`` (``item_popularity``) and ``n_users`` the number of training
    users; the floor of 1 keeps never-seen items finite (``log2(n_users)`` bits).
    ``NaN`` for users with an empty list.
    """
    recs = _as_recs(recommended)
    pop = np.asarray(item_popularity, dtype=np.float64)
    if n_users <= 0:
        raise ValueError("n_users must be positive")
    info = -np.log2(np.maximum(pop, 1.0) / n_users)
    valid = (recs >= 0) & (recs < pop.size)
    return _row_mean(info[np.where(valid, recs, 0)], valid)


def popularity_percentile(item_popularity: np.ndarray) -> np.ndarray:
    """Each item's popularity percentile in ``[0, 1]``: ``(average rank - 1) / (n_items - 1)``
    of its popularity among all items (ties share their average rank; least popular is 0)."""
    pop = np.asarray(item_popularity, dtype=np.float64)
    if pop.size <= 1:
        return np.zeros(pop.size)
    return (rankdata(pop, method="average") - 1.0) / (pop.size - 1.0)


def popularity_bias(recommended: np.ndarray, item_popularity: np.ndarray) -> np.ndarray:
    """Per user: mean popularity percentile (see :func:`popularity_percentile`) of the
    recommended items; 0.5 is neutral, 1 means only the most popular items. ``NaN`` for an
    empty list."""
    recs = _as_recs(recommended)
    pct = popularity_percentile(item_popularity)
    valid = (recs >= 0) & (recs < pct.size)
    return _row_mean(pct[np.where(valid, recs, 0)], valid)


def intra_list_diversity(recommended: np.ndarray, item_categories: np.ndarray) -> np.ndarray:
    """Per user: share of pairs of recommended items whose categories differ.

    ``item_categories`` gives an integer category code per item (``-1`` = unknown). Pairs
    involving padding or an unknown category are left out; ``NaN`` when a list has fewer than
    two items with a known category.
    """
    recs = _as_recs(recommended)
    cats = np.asarray(item_categories, dtype=np.int64)
    valid = (recs >= 0) & (recs < cats.size)
    c = np.where(valid, cats[np.where(valid, recs, 0)], -1)
    known = c >= 0
    n = recs.shape[1]
    iu, ju = np.triu_indices(n, k=1)
    pair_ok = known[:, iu] & known[:, ju]
    differ = (c[:, iu] != c[:, ju]) & pair_ok
    n_pairs = pair_ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_pairs > 0, differ.sum(axis=1) / np.maximum(n_pairs, 1), np.nan)


# ---- all at once ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricsReport:
    """Per-user metric values and their means.

    Attributes
    ----------
    per_user:
        One row per evaluated user (same order as the inputs), columns ``"<metric>@<N>"`` for
        accuracy and per-user beyond-accuracy metrics; ``NaN`` where undefined.
    catalogue:
        Catalogue-level values (``"coverage@N"``).
    n_users:
        Users with at least one relevant item (those the accuracy means are taken over).
    """

    per_user: pd.DataFrame
    catalogue: dict[str, float]
    n_users: int

    def means(self) -> dict[str, float]:
        """Mean of every per-user column over the users where it is defined, plus the
        catalogue-level values."""
        out = {str(k): float(v) for k, v in self.per_user.mean(skipna=True).items()}
        out.update(self.catalogue)
        return out

    def stds(self) -> dict[str, float]:
        """Standard deviation over users of every per-user column."""
        return {str(k): float(v) for k, v in self.per_user.std(skipna=True, ddof=0).items()}


def compute_metrics(
    recommended: np.ndarray,
    relevant: sp.spmatrix | sp.sparray,
    ns: int | Sequence[int] = (10,),
    *,
    metrics: Iterable[str] | None = None,
    item_popularity: np.ndarray | None = None,
    n_train_users: int | None = None,
    item_categories: np.ndarray | None = None,
    user_ids: Sequence[object] | np.ndarray | None = None,
) -> MetricsReport:
    """Compute many metrics at several cut-offs from one top-``max(ns)`` list.

    Parameters
    ----------
    recommended, relevant:
        See the module docstring. ``recommended`` needs at least ``max(ns)`` columns.
    ns:
        Cut-offs N; each metric is reported as ``"<name>@<N>"``.
    metrics:
        Names from :data:`ACCURACY_METRICS` and :data:`BEYOND_ACCURACY_METRICS`; default: all
        that the given inputs allow (novelty needs ``item_popularity`` and ``n_train_users``,
        popularity bias ``item_popularity``, diversity ``item_categories``).
    item_popularity:
        Per item, the number of training users who interacted with it.
    n_train_users:
        Number of users in training (novelty's denominator).
    item_categories:
        Per item, an integer category code (``-1`` unknown).
    user_ids:
        Optional labels for the rows of ``per_user``.
    """
    recs = _as_recs(recommended)
    ns_list = [ns] if isinstance(ns, int) else sorted(set(ns))
    width = recs.shape[1]
    for n in ns_list:
        _check_n(n, width)
    available = [*ACCURACY_METRICS, "coverage"]
    if item_popularity is not None:
        available.append("popularity_bias")
        if n_train_users is not None:
            available.append("novelty")
    if item_categories is not None:
        available.append("diversity")
    wanted = list(available) if metrics is None else list(metrics)
    unknown = set(wanted) - set(ACCURACY_METRICS) - set(BEYOND_ACCURACY_METRICS)
    if unknown:
        raise ValueError(f"unknown metric(s): {sorted(unknown)}")
    missing = set(wanted) - set(available)
    if missing:
        raise ValueError(f"metric(s) {sorted(missing)} need inputs that were not given")

    rel = _as_relevant(relevant, recs.shape[0])
    n_rel = np.diff(rel.indptr).astype(np.float64)
    max_n = max(ns_list)
    hits = hit_matrix(recs[:, :max_n], rel)
    columns: dict[str, np.ndarray] = {}
    catalogue: dict[str, float] = {}
    for n in ns_list:
        for name in ACCURACY_METRICS:
            if name in wanted:
                columns[f"{name}@{n}"] = _ACCURACY_FUNCS[name](hits, n_rel, n)
        top = recs[:, :n]
        if "coverage" in wanted:
            catalogue[f"coverage@{n}"] = catalogue_coverage(top, rel.shape[1])
        if "novelty" in wanted:
            assert item_popularity is not None and n_train_users is not None
            columns[f"novelty@{n}"] = novelty(top, item_popularity, n_train_users)
        if "diversity" in wanted:
            assert item_categories is not None
            columns[f"diversity@{n}"] = intra_list_diversity(top, item_categories)
        if "popularity_bias" in wanted:
            assert item_popularity is not None
            columns[f"popularity_bias@{n}"] = popularity_bias(top, item_popularity)
    index = (
        pd.Index(np.asarray(user_ids, dtype=object), name="user") if user_ids is not None else None
    )
    per_user = pd.DataFrame(columns, index=index)
    return MetricsReport(per_user=per_user, catalogue=catalogue, n_users=int((n_rel > 0).sum()))
