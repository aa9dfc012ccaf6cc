"""Train a churn model on the latest fully labelled window, score users, cross-fit scores."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from sklearn.metrics import roc_auc_score

from shopguide.columns import Columns
from shopguide.retention.churn.features import churn_dataset
from shopguide.retention.churn.labels import _day
from shopguide.retention.churn.model import ChurnModel


def cross_fitted_churn_scores(
    X: pd.DataFrame, y: ArrayLike, n_folds: int = 2, random_state: int = 0, **model_params: Any
) -> NDArray[np.float64]:
    """Out-of-fold churn probabilities: each fold of users is scored by a model fit on the rest.

    The honest evaluation when only one labelled period exists (e.g. CDNOW with its 39-week
    holdout): the features are as of the cut-off, and no user is scored by a model that saw
    their label.
    """
    yy = np.asarray(y, dtype="int64")
    rng = np.random.default_rng(random_state)
    folds = rng.permutation(len(yy)) % n_folds
    out = np.empty(len(yy), dtype="float64")
    for f in range(n_folds):
        test = folds == f
        m = ChurnModel(random_state=random_state, **model_params).fit_features(X[~test], yy[~test])
        out[test] = m.predict_proba_features(X[test])
    return out


def train_churn(
    events: pd.DataFrame,
    horizon_days: int = 90,
    as_of: str | pd.Timestamp | None = None,
    **model_params: Any,
) -> ChurnModel:
    """Train on the latest fully observed window before ``as_of`` (default: the last event day).

    Features as of ``as_of - horizon_days``, labels from the ``horizon_days`` after that, so
    the labels are fully observed. ``report_`` holds the training cut-off, label rate and the
    in-sample AUC of the model and of recency alone (a sanity check; use
    :func:`evaluate_churn_scores` on a later period for an honest figure).
    """
    end = (
        _day(as_of)
        if as_of is not None
        else pd.to_datetime(events[Columns.TIMESTAMP]).max().floor("D")
    )
    train_cut = end - pd.Timedelta(days=horizon_days)
    model = ChurnModel(horizon_days=horizon_days, **model_params)
    X, y = churn_dataset(events, train_cut, horizon_days, with_btyd=model.with_btyd)
    model.fit_features(X, y)
    model.cutoff_ = train_cut
    model.report_ = {
        "train_cutoff": str(train_cut.date()),
        "horizon_days": horizon_days,
        "train_users": len(y),
        "train_churn_rate": float(y.mean()),
        "train_auc_model": float(roc_auc_score(y, model.predict_proba_features(X))),
        "train_auc_recency": float(roc_auc_score(y, X["recency_days"])),
    }
    return model


def train_and_score_churn(
    events: pd.DataFrame,
    horizon_days: int = 90,
    as_of: str | pd.Timestamp | None = None,
    **model_params: Any,
) -> tuple[ChurnModel, pd.DataFrame, dict[str, Any]]:
    """:func:`train_churn`, then score every user with a purchase by ``as_of``.

    Returns the model, the scores (:meth:`ChurnModel.explain` columns, highest risk first) and
    a report: the model's ``report_`` plus ``as_of`` and ``scored_users``.
    """
    end = (
        _day(as_of)
        if as_of is not None
        else pd.to_datetime(events[Columns.TIMESTAMP]).max().floor("D")
    )
    model = train_churn(events, horizon_days, end, **model_params)
    scores = model.score_users(events, end)
    report = {**model.report_, "as_of": str(end.date()), "scored_users": len(scores)}
    return model, scores, report
