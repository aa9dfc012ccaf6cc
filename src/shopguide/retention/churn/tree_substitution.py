"""The booster's raw scores with one feature at a time set to a reference value, re-evaluating
only the trees that split on that feature.

The per-user reasons of a churn score replace each of the ~28 features by its training median
and score the buyer again (:func:`~shopguide.retention.churn.drivers.median_contributions`).
Scoring the whole booster once per feature costs 29 full predictions: at 400k buyers and 100
trees, over a minute and a half. A tree that does not split on feature ``j`` gives the same leaf
whatever ``j`` holds, so here each tree's leaf values are computed once, and for feature ``j``
only the few trees that split on it are evaluated again. The raw score is then summed tree by
tree in the booster's own order, from the same baseline, so every value is the one
``HistGradientBoostingClassifier`` itself gives, to the last bit (checked on the first rows
before it is used; :func:`substituted_raw_scores` returns ``None`` when the check fails or the
booster is not the kind this understands, and the caller scores the slow way).

It reads the fitted booster's predictors (scikit-learn's private attributes of
``HistGradientBoostingClassifier``: ``_predictors``, ``_baseline_prediction``, ``_bin_mapper``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.ensemble import HistGradientBoostingClassifier

FloatArray = NDArray[np.float64]

#: Rows scored at a time (bounds the per-tree leaf values held: trees x rows x 8 bytes).
CHUNK_ROWS = 65_536
#: Rows on which the result is compared with the booster's own prediction before use.
CHECK_ROWS = 1_024


def _parts(booster: HistGradientBoostingClassifier) -> tuple[list[Any], float, Any, Any] | None:
    """(one predictor per iteration, the baseline, known-category bitsets, feature map), or
    ``None`` for a booster this module does not handle (several trees per iteration, say)."""
    try:
        predictors = [trees[0] for trees in booster._predictors]
        if any(len(trees) != 1 for trees in booster._predictors):
            return None
        baseline = np.asarray(booster._baseline_prediction, dtype="float64").ravel()
        if baseline.size != 1:
            return None
        bitsets, f_idx_map = booster._bin_mapper.make_known_categories_bitsets()
    except AttributeError:
        return None
    return predictors, float(baseline[0]), bitsets, f_idx_map


def _split_features(predictor: Any) -> set[int]:
    nodes = predictor.nodes
    return {int(f) for f in nodes["feature_idx"][nodes["is_leaf"] == 0]}


def substituted_raw_scores(
    booster: HistGradientBoostingClassifier, M: FloatArray, reference: FloatArray, n_threads: int
) -> FloatArray | None:
    """Raw scores (log-odds before the link) of every row of ``M``: column 0 as it is,
    column ``j + 1`` with feature ``j`` set to ``reference[j]``; ``None`` when this booster
    cannot be scored this way (the caller then predicts each substituted matrix in full).

    Equal, bit for bit, to ``booster._raw_predict`` of the substituted matrices.
    """
    parts = _parts(booster)
    if parts is None:
        return None
    predictors, baseline, bitsets, f_idx_map = parts
    X = np.ascontiguousarray(M, dtype="float64")
    n, k = X.shape
    if n == 0:  # scikit-learn refuses to predict no rows: let the caller say so
        return None
    uses = [_split_features(p) for p in predictors]
    trees_of = [[t for t, used in enumerate(uses) if j in used] for j in range(k)]

    def predict(p: Any, rows: FloatArray) -> FloatArray:
        return np.asarray(p.predict(rows, bitsets, f_idx_map, n_threads), dtype="float64")

    def block(rows: FloatArray) -> FloatArray:
        leaves = [predict(p, rows) for p in predictors]
        out = np.empty((len(rows), k + 1), dtype="float64")
        out[:, 0] = _sum_in_order(baseline, leaves, len(rows))
        for j in range(k):
            if not trees_of[j]:
                out[:, j + 1] = out[:, 0]
                continue
            alt = rows.copy()
            alt[:, j] = reference[j]
            changed = list(leaves)
            for t in trees_of[j]:
                changed[t] = predict(predictors[t], alt)
            out[:, j + 1] = _sum_in_order(baseline, changed, len(rows))
        return out

    head = X[:CHECK_ROWS]
    if not np.array_equal(block(head)[:, 0], booster._raw_predict(head).ravel()):
        return None
    return np.concatenate([block(X[i : i + CHUNK_ROWS]) for i in range(0, n, CHUNK_ROWS)])


def _sum_in_order(baseline: float, leaves: list[FloatArray], n: int) -> FloatArray:
    """The booster's raw score: zeros plus the baseline, then each tree's leaf values added in
    iteration order (the order scikit-learn adds them in, so the float sums agree)."""
    raw = np.zeros(n, dtype="float64")
    raw += baseline
    for values in leaves:
        raw += values
    return raw
