"""How good is a churn score: AUC, PR-AUC, top-decile lift, and the baselines to beat.

:func:`churn_baselines` gives the simple scores every model must beat: recency alone, the
Pareto/NBD and BG/NBD expected purchases and the BG/NBD P(alive).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from sklearn.metrics import average_precision_score, roc_auc_score

from shopguide.errors import DataError


def top_decile_lift(y_true: ArrayLike, score: ArrayLike, fraction: float = 0.1) -> float:
    """Positive rate among the top ``fraction`` by score divided by the overall positive rate.

    Ties at the boundary are broken by order of appearance after a stable sort.
    """
    y = np.asarray(y_true, dtype="float64")
    s = np.asarray(score, dtype="float64")
    base = y.mean()
    if base == 0:
        return float("nan")
    k = max(1, round(fraction * len(y)))
    top = np.argsort(-s, kind="stable")[:k]
    return float(y[top].mean() / base)


def evaluate_churn_scores(y_true: ArrayLike, score: ArrayLike) -> dict[str, float]:
    """AUC, PR-AUC (average precision), top-decile lift and base churn rate of a churn score."""
    y = np.asarray(y_true, dtype="int64")
    s = np.asarray(score, dtype="float64")
    if len(np.unique(y)) < 2:
        raise DataError("evaluation needs both churners and non-churners")
    return {
        "auc": float(roc_auc_score(y, s)),
        "pr_auc": float(average_precision_score(y, s)),
        "lift_top_decile": top_decile_lift(y, s),
        "churn_rate": float(y.mean()),
        "n_users": len(y),
    }


def churn_baselines(X: pd.DataFrame) -> dict[str, NDArray[np.float64]]:
    """Simple churn scores (higher = more likely to churn) from a :func:`churn_features` frame."""
    out: dict[str, NDArray[np.float64]] = {"recency": X["recency_days"].to_numpy(dtype="float64")}
    if "pnbd_expected" in X:
        out["pareto_nbd_expected"] = -X["pnbd_expected"].to_numpy(dtype="float64")
    if "bgnbd_expected" in X:
        out["bgnbd_expected"] = -X["bgnbd_expected"].to_numpy(dtype="float64")
    if "bgnbd_p_alive" in X:
        out["bgnbd_p_alive"] = 1.0 - X["bgnbd_p_alive"].to_numpy(dtype="float64")
    return out
