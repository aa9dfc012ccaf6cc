"""Why a user is at risk: per-user driver contributions, the driver table, global importance.

Per user, a *median-substitution* contribution: the change in that user's churn probability
when one feature is replaced by the training median, ``p(x) - p(x | x_j = median_j)``. A
positive value means the user's own value of that feature pushes the churn risk up. It is
model-agnostic, cheap (one extra prediction per feature) and easy to explain ("recency 210 days,
typical 35 days, +0.31"), at the price of ignoring interactions between features. The sentences
shown to people come from :mod:`shopguide.retention.churn.reasons`.

Globally, permutation importance: the drop in AUC when one feature is shuffled.

The functions take the model's scoring function (feature matrix to churn probability), so they
work for any model and :class:`~shopguide.retention.churn.model.ChurnModel` calls them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from sklearn.metrics import roc_auc_score

from shopguide.retention.churn.reasons import usable_contributions, worded_drivers

FloatArray = NDArray[np.float64]
#: A model's churn probability for each row of a feature matrix.
Scorer = Callable[[FloatArray], FloatArray]


def median_contributions(
    proba: Scorer, M: FloatArray, feature_names: Sequence[str], medians: pd.Series
) -> FloatArray:
    """Contribution of every feature (column of ``M``) for every row: p(x) - p(x_j = median_j)."""
    base = proba(M)
    out = np.empty_like(M)
    for j, name in enumerate(feature_names):
        alt = M.copy()
        alt[:, j] = medians[name]
        out[:, j] = base - proba(alt)
    return out


def driver_table(
    X: pd.DataFrame,
    proba: FloatArray,
    contrib: FloatArray,
    medians: pd.Series,
    n_drivers: int = 3,
    currency: str = "",
) -> pd.DataFrame:
    """Churn probability plus the ``n_drivers`` features that raise each user's risk most.

    ``X`` holds the model's features in the model's order, ``proba`` and ``contrib`` its churn
    probabilities and :func:`median_contributions` for those rows, ``medians`` the training
    medians. Columns and order as :meth:`~shopguide.retention.churn.model.ChurnModel.explain`
    documents them, highest risk first.
    """
    out = pd.DataFrame({"churn_probability": proba}, index=X.index)
    names = np.asarray(list(X.columns))
    # a feature that does not tell this buyer apart is never one of their drivers
    c = usable_contributions(X, contrib, medians)
    order = np.argsort(-c, axis=1, kind="stable")[:, :n_drivers]
    xv = X.to_numpy(dtype="float64")
    rows = np.arange(len(X))
    for k in range(min(n_drivers, len(names))):
        idx = order[:, k]
        # no driver where nothing usable raises the risk
        out[f"driver_{k + 1}"] = pd.Series(names[idx], index=X.index).where(c[rows, idx] > 0, None)
        out[f"driver_{k + 1}_value"] = xv[rows, idx]
        out[f"driver_{k + 1}_median"] = medians.to_numpy()[idx]
        out[f"driver_{k + 1}_contribution"] = c[rows, idx]
    out["reasons"] = worded_drivers(list(X.columns), xv, medians, c, order, currency)
    return out.sort_values("churn_probability", ascending=False, kind="stable")


def permutation_importance(
    proba: Scorer, M: FloatArray, y: ArrayLike, random_state: int, n_repeats: int = 5
) -> FloatArray:
    """Mean drop of the AUC of ``proba`` when one column of ``M`` is shuffled, per column.

    Each column is shuffled ``n_repeats`` times with a generator seeded by ``random_state``.
    """
    yy = np.asarray(y, dtype="int64")
    rng = np.random.default_rng(random_state)
    ref = roc_auc_score(yy, proba(M))
    drops = np.zeros(M.shape[1])
    for j in range(M.shape[1]):
        for _ in range(n_repeats):
            alt = M.copy()
            alt[:, j] = rng.permutation(alt[:, j])
            drops[j] += ref - roc_auc_score(yy, proba(alt))
    return np.asarray(drops / n_repeats, dtype="float64")
