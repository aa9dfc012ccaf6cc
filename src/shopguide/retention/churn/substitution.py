"""The churn model's parts scored with one feature at a time set to a reference value, without
scoring everything again for each feature, to the same bits as scoring in full.

The per-user reasons of a churn score replace each of the ~28 features by its training median
and score the buyer again (:func:`~shopguide.retention.churn.drivers.median_contributions`).
Scoring the whole model once per feature costs 29 full predictions: at 400k buyers, minutes.

- **The booster** (:func:`substituted_raw_scores`): a tree that does not split on feature ``j``
  gives the same leaf whatever ``j`` holds, so each tree's leaf values are computed once, and
  for feature ``j`` only the few trees that split on it are evaluated again. The raw score is
  summed tree by tree in the booster's own order, from the same baseline, so it is the value
  ``HistGradientBoostingClassifier`` itself gives.
- **The logistic regression** (:func:`substituted_logistic_proba`): imputing and scaling work
  column by column, so the prepared matrix is made once and, for feature ``j``, only its column
  is replaced by the prepared reference value before the regression scores it.

Both check their result against the model's own prediction on the first rows before it is
used, and return ``None`` when the check fails or the model is not of the kind they understand;
the caller then scores each substituted matrix in full. The booster part reads scikit-learn's
private attributes of ``HistGradientBoostingClassifier`` (``_predictors``,
``_baseline_prediction``, ``_bin_mapper``), hence the check.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

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
            kept = rows[:, j].copy()
            rows[:, j] = reference[j]  # substituted in place, restored below
            changed = list(leaves)
            for t in trees_of[j]:
                changed[t] = predict(predictors[t], rows)
            rows[:, j] = kept
            out[:, j + 1] = _sum_in_order(baseline, changed, len(rows))
        return out

    head = X[:CHECK_ROWS].copy()
    got = block(head.copy())
    for j in range(-1, k):
        alt = head.copy()
        if j >= 0:
            alt[:, j] = reference[j]
        if not np.array_equal(got[:, j + 1], booster._raw_predict(alt).ravel()):
            return None
    if X is M:  # the blocks are changed (and restored) in place: never the caller's matrix
        X = X.copy()
    return np.concatenate([block(X[i : i + CHUNK_ROWS]) for i in range(0, n, CHUNK_ROWS)])


def _sum_in_order(baseline: float, leaves: list[FloatArray], n: int) -> FloatArray:
    """The booster's raw score: zeros plus the baseline, then each tree's leaf values added in
    iteration order (the order scikit-learn adds them in, so the float sums agree)."""
    raw = np.zeros(n, dtype="float64")
    raw += baseline
    for values in leaves:
        raw += values
    return raw


def substituted_logistic_proba(
    pipeline: Pipeline, M: FloatArray, reference: FloatArray
) -> FloatArray | None:
    """The logistic pipeline's churn probability of every row of ``M``: column 0 as it is,
    column ``j + 1`` with feature ``j`` set to ``reference[j]``; ``None`` when the pipeline is
    not median imputation, standard scaling and a logistic regression keeping every column
    (the caller then scores each substituted matrix in full).

    Equal, bit for bit, to ``pipeline.predict_proba`` of ``M`` and of the substituted
    matrices made as ``alt = M.copy(); alt[:, j] = reference[j]``.
    """
    steps = [step for _, step in pipeline.steps]
    kinds = (SimpleImputer, StandardScaler, LogisticRegression)
    if len(steps) != 3 or not all(isinstance(s, k) for s, k in zip(steps, kinds, strict=True)):
        return None
    prepare, final = pipeline[:-1], steps[-1]
    n, k = M.shape
    if n == 0:
        return None

    def score(rows: FloatArray) -> FloatArray:
        prepared = np.asarray(prepare.transform(rows), dtype="float64")
        if prepared.shape != rows.shape:  # a column dropped (all missing in training)
            raise _NotColumnwise
        out = np.empty((len(rows), k + 1), dtype="float64")
        out[:, 0] = final.predict_proba(prepared)[:, 1]
        # the substituted matrices are copies of ``M`` (C order, as ``M.copy()`` makes them);
        # the regression's matrix product can round differently in another memory order
        if not rows.flags.c_contiguous:
            prepared = np.asarray(prepare.transform(rows.copy()), dtype="float64")
        for j in range(k):
            one = rows[:1].copy()
            one[0, j] = reference[j]
            value = np.asarray(prepare.transform(one))[0, j]
            kept = prepared[:, j].copy()
            prepared[:, j] = value  # substituted in place, restored below
            out[:, j + 1] = final.predict_proba(prepared)[:, 1]
            prepared[:, j] = kept
        return out

    try:
        head = M[:CHECK_ROWS]
        got = score(head)
        if not np.array_equal(got[:, 0], pipeline.predict_proba(head)[:, 1]):
            return None
        for j in range(k):
            alt = head.copy()
            alt[:, j] = reference[j]
            if not np.array_equal(got[:, j + 1], pipeline.predict_proba(alt)[:, 1]):
                return None
        return score(M)
    except _NotColumnwise:
        return None


class _NotColumnwise(Exception):
    """The pipeline's preparation does not keep one output column per input column."""
