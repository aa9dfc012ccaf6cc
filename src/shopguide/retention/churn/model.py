"""The churn classifier: a monotone gradient-boosting model, blended, saved without pickle.

A small, monotone-constrained :class:`~sklearn.ensemble.HistGradientBoostingClassifier`, by
default blended (mean log-odds) with a standardised logistic regression, optionally also with
the Pareto/NBD probability of no purchase (see :class:`ChurnModel`). Per-user drivers and
permutation importance are computed in :mod:`shopguide.retention.churn.drivers`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
from threadpoolctl import threadpool_limits

from shopguide.errors import DataError, ModelFormatError, NotFittedError
from shopguide.model_files import load_state, save_state
from shopguide.retention.churn.drivers import (
    driver_table,
    median_contributions,
    permutation_importance,
)
from shopguide.retention.churn.features import FEATURES, churn_dataset, churn_features
from shopguide.retention.churn.labels import _day
from shopguide.retention.churn.substitution import (
    substituted_logistic_proba,
    substituted_raw_scores,
)

#: ``kind`` and format version of a saved :class:`ChurnModel` (see :meth:`ChurnModel.save`).
CHURN_MODEL_KIND = "shopguide.churn"
CHURN_FORMAT_VERSION = 1

#: Known direction of a feature's effect on churn (+1 more churn, -1 less), used as constraint.
_MONOTONE: dict[str, int] = {
    "recency_days": 1,
    "frequency": -1,
    "purchases_last_90": -1,
    "bgnbd_expected": -1,
    "pnbd_expected": -1,
    "bgnbd_p_zero": 1,
    "pnbd_p_zero": 1,
}


class ChurnModel(BaseEstimator):
    """Gradient-boosting churn classifier on :func:`churn_features`.

    Parameters
    ----------
    horizon_days
        Length of the label window after the cut-off (also the horizon of the BTYD
        expected-purchase features).
    with_btyd
        Include the BG/NBD and Pareto/NBD features.
    max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization
        Passed to :class:`~sklearn.ensemble.HistGradientBoostingClassifier`; the defaults are
        deliberately small and regularised, since churn data sets are often a few thousand users.
    blend_logistic
        Average the booster's log-odds with those of a standardised logistic regression on the
        same features. On small data (CDNOW: 2,357 users) the smooth linear model recovers the
        mostly monotone recency/frequency signal that a small booster chops into steps; the
        booster adds the interactions.
    blend_btyd
        Also average in the log-odds of the Pareto/NBD probability of no purchase in the
        horizon (feature ``pnbd_p_zero``, needs ``with_btyd``): a model-based estimate of the
        very event the label counts, fitted on the as-of data of the scored users themselves,
        so it adapts to the scoring horizon and cohort age where the learned part was trained
        on an earlier, shorter window (see :meth:`fit_windows`).
    monotonic
        Constrain the booster to be monotone in the features whose direction is not in doubt
        (more recency: more churn; more purchases or expected purchases: less churn). It
        regularises and keeps the per-user reasons consistent.
    n_threads
        OpenMP threads for the booster (``None``: all). One thread is the fastest for the
        few-thousand-row data sets churn models usually see, and avoids oversubscription.
    random_state
        Seed of the booster and of the permutation importance.

    Attributes
    ----------
    model_ : HistGradientBoostingClassifier
    logistic_ : Pipeline or None
        The standardised logistic regression when ``blend_logistic``.
    feature_names_ : list of str
    medians_ : Series
        Training medians, the reference of the per-user drivers.
    feature_importances_ : Series or None
        Permutation importance (mean AUC drop) on the data passed to
        :meth:`compute_importance`, highest first.
    report_ : dict
        Facts about the training run (cut-off, label rate, in-sample AUC) that callers such
        as :func:`train_and_score_churn` put there; saved with the model.

    Saving: :meth:`save` / :meth:`load` (skops archive with a format version and the feature
    list; no pickle).
    """

    def __init__(
        self,
        horizon_days: int = 90,
        with_btyd: bool = True,
        max_iter: int = 100,
        learning_rate: float = 0.03,
        max_leaf_nodes: int = 4,
        min_samples_leaf: int = 50,
        l2_regularization: float = 1.0,
        blend_logistic: bool = True,
        blend_btyd: bool = False,
        monotonic: bool = True,
        n_threads: int | None = 1,
        random_state: int = 0,
    ) -> None:
        self.horizon_days = horizon_days
        self.with_btyd = with_btyd
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.blend_logistic = blend_logistic
        self.blend_btyd = blend_btyd
        self.monotonic = monotonic
        self.n_threads = n_threads
        self.random_state = random_state

    # -- training on precomputed features -----------------------------------------------

    def fit_features(self, X: pd.DataFrame, y: ArrayLike) -> ChurnModel:
        """Fit on a feature frame (from :func:`churn_features`) and 0/1 churn labels."""
        if not isinstance(X, pd.DataFrame):
            raise DataError("X must be a DataFrame of churn features")
        yy = np.asarray(y, dtype="int64")
        if len(yy) != len(X):
            raise DataError("X and y must have the same length")
        if len(np.unique(yy)) < 2:
            raise DataError("churn labels need both churners and non-churners to train")
        if self.blend_btyd and "pnbd_p_zero" not in X.columns:
            raise DataError(
                "blend_btyd needs the pnbd_p_zero feature",
                hint="build the features with with_btyd=True or set blend_btyd=False",
            )
        self.feature_names_ = list(X.columns)
        self.medians_ = X.median()
        M = X.to_numpy(dtype="float64")
        cst = [_MONOTONE.get(c, 0) if self.monotonic else 0 for c in self.feature_names_]
        with threadpool_limits(limits=self.n_threads):
            self.model_ = HistGradientBoostingClassifier(
                max_iter=self.max_iter,
                learning_rate=self.learning_rate,
                max_leaf_nodes=self.max_leaf_nodes,
                min_samples_leaf=self.min_samples_leaf,
                l2_regularization=self.l2_regularization,
                monotonic_cst=cst,
                early_stopping=False,
                random_state=self.random_state,
            ).fit(M, yy)
        self.logistic_: Pipeline | None = None
        if self.blend_logistic:
            self.logistic_ = make_pipeline(
                SimpleImputer(strategy="median"),
                StandardScaler(),
                LogisticRegression(C=1.0, max_iter=2000),
            ).fit(M, yy)
        self.churn_rate_ = float(yy.mean())
        self.feature_importances_: pd.Series | None = None
        return self

    def fit(self, events: pd.DataFrame, cutoff: str | pd.Timestamp) -> ChurnModel:
        """Build features as of ``cutoff`` and labels for the following horizon, then fit.

        The events must reach ``cutoff + horizon_days``.
        """
        X, y = churn_dataset(events, cutoff, self.horizon_days, with_btyd=self.with_btyd)
        self.cutoff_ = _day(cutoff)
        return self.fit_features(X, y)

    def fit_windows(
        self, events: pd.DataFrame, windows: Sequence[tuple[str | pd.Timestamp, int]]
    ) -> ChurnModel:
        """Fit on several labelled windows stacked: ``[(cutoff, horizon_days), ...]``.

        Each window contributes every user with a purchase by its cut-off, with features as of
        that cut-off (for that window's horizon) and the label "no purchase in the following
        ``horizon_days``". Use it when the horizon to predict is longer than any fully observed
        window, e.g. a 39-week holdout after a 39-week calibration period: train on windows
        that end inside the calibration period and score with ``horizon_days`` set to the
        target horizon (the horizon-aware features carry the difference).
        """
        if not windows:
            raise DataError("fit_windows needs at least one (cutoff, horizon_days) window")
        parts = [churn_dataset(events, cut, int(h), with_btyd=self.with_btyd) for cut, h in windows]
        X = pd.concat([p[0] for p in parts])
        y = pd.concat([p[1] for p in parts])
        self.cutoff_ = max(_day(cut) for cut, _ in windows)
        self.windows_ = [(str(_day(cut).date()), int(h)) for cut, h in windows]
        return self.fit_features(X, y)

    # -- saving --------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write the fitted model to ``path`` (a skops archive, no pickle; see
        :mod:`shopguide.model_files`) with its format version and feature list."""
        model = self._check()
        cutoff = getattr(self, "cutoff_", None)
        state = {
            "kind": CHURN_MODEL_KIND,
            "format_version": CHURN_FORMAT_VERSION,
            "features": list(self.feature_names_),
            "params": self.get_params(),
            "medians": self.medians_.to_numpy(dtype="float64"),
            "churn_rate": float(self.churn_rate_),
            "cutoff": None if cutoff is None else str(pd.Timestamp(cutoff).date()),
            "windows": [list(w) for w in getattr(self, "windows_", [])],
            "report": dict(getattr(self, "report_", {})),
            "booster": model,
            "logistic": self.logistic_,
        }
        return save_state(state, path)

    @classmethod
    def load(cls, path: str | Path) -> ChurnModel:
        """Read a model written by :meth:`save`.

        Raises :class:`~shopguide.errors.ModelFormatError` (with what to do) when the file is
        not a churn model, has another format version, was trained on features this version
        does not compute, or holds any type outside the trusted list.
        """
        retrain = "retrain and save it again: shopguide churn train"
        state = load_state(
            path, kind=CHURN_MODEL_KIND, format_version=CHURN_FORMAT_VERSION, retrain=retrain
        )
        features = [str(f) for f in state["features"]]
        unknown = [f for f in features if f not in FEATURES]
        booster = state["booster"]
        if (
            unknown
            or not isinstance(booster, HistGradientBoostingClassifier)
            or booster.n_features_in_ != len(features)
            or len(state["medians"]) != len(features)
        ):
            raise ModelFormatError(
                f"{path} does not match this ShopGuide's churn features"
                + (f" (unknown: {', '.join(unknown)})" if unknown else ""),
                hint=retrain,
            )
        logistic = state["logistic"]
        if logistic is not None and not isinstance(logistic, Pipeline):
            raise ModelFormatError(f"{path}: unexpected logistic part", hint=retrain)
        model = cls(**state["params"])
        model.model_ = booster
        model.logistic_ = logistic
        model.feature_names_ = features
        model.medians_ = pd.Series(np.asarray(state["medians"], dtype="float64"), index=features)
        model.churn_rate_ = float(state["churn_rate"])
        model.feature_importances_ = None
        if state["cutoff"] is not None:
            model.cutoff_ = pd.Timestamp(state["cutoff"])
        if state["windows"]:
            model.windows_ = [(str(c), int(h)) for c, h in state["windows"]]
        model.report_ = dict(state.get("report") or {})
        return model

    def _check(self) -> HistGradientBoostingClassifier:
        model = getattr(self, "model_", None)
        if model is None:
            raise NotFittedError(type(self).__name__)
        return model

    def _matrix(self, X: pd.DataFrame) -> NDArray[np.float64]:
        self._check()
        missing = [c for c in self.feature_names_ if c not in X.columns]
        if missing:
            raise DataError(f"features missing: {', '.join(missing)}")
        return X[self.feature_names_].to_numpy(dtype="float64")

    # -- scoring -------------------------------------------------------------------------

    def predict_proba_features(self, X: pd.DataFrame) -> NDArray[np.float64]:
        """Churn probability for each row of a feature frame."""
        return self._proba(self._matrix(X))

    def _proba(
        self,
        M: NDArray[np.float64],
        raw: NDArray[np.float64] | None = None,
        logistic: NDArray[np.float64] | None = None,
        z: NDArray[np.float64] | None = None,
    ) -> NDArray[np.float64]:
        """Blended churn probability of each row of ``M``.

        ``raw`` (the booster's raw score), ``logistic`` (the logistic regression's
        probability) and ``z`` (the ``pnbd_p_zero`` column), when given, stand for what would
        be computed from ``M`` (see :mod:`~shopguide.retention.churn.substitution`).
        """
        model = self._check()
        eps = 1e-9
        if raw is not None:
            booster = model._loss.predict_proba(raw.reshape(-1, 1))[:, 1]
        else:
            with threadpool_limits(limits=self.n_threads):
                booster = model.predict_proba(M)[:, 1]
        p = np.clip(booster, eps, 1 - eps)
        parts = [p]
        if self.logistic_ is not None:
            if logistic is None:
                logistic = self.logistic_.predict_proba(M)[:, 1]
            parts.append(np.clip(logistic, eps, 1 - eps))
        if self.blend_btyd:
            if z is None:
                z = M[:, self.feature_names_.index("pnbd_p_zero")]
            parts.append(np.clip(np.where(np.isnan(z), p, z), eps, 1 - eps))
        logit = np.mean([np.log(q / (1 - q)) for q in parts], axis=0)
        return np.asarray(1.0 / (1.0 + np.exp(-logit)), dtype="float64")

    def score_users(
        self, events: pd.DataFrame, as_of: str | pd.Timestamp, currency: str = ""
    ) -> pd.DataFrame:
        """Churn probability and main drivers of every user with a purchase by ``as_of``.

        Returns a frame indexed by ``user_id`` with ``churn_probability`` and the
        :meth:`drivers` columns, highest risk first.
        """
        self._check()
        X = churn_features(events, as_of, self.horizon_days, with_btyd=self.with_btyd)
        return self.explain(X, currency=currency)

    def explain(self, X: pd.DataFrame, n_drivers: int = 3, currency: str = "") -> pd.DataFrame:
        """Churn probability plus the ``n_drivers`` features that raise each user's risk most.

        Contribution of feature j for a user = p(x) - p(x with x_j set to the training median).
        Columns: ``churn_probability``, ``driver_1`` .. (feature names), ``driver_1_value``,
        ``driver_1_median``, ``driver_1_contribution`` ..., and ``reasons``: sentences a shop
        manager reads (money with ``currency``), from the features that tell the buyer apart
        (see :func:`shopguide.retention.churn.reasons.driver_texts`).
        """
        M = self._matrix(X)
        proba, contrib = self._contributions(M)
        # the same numbers as X[self.feature_names_], held as one block (read many times)
        F = pd.DataFrame(M, index=X.index, columns=self.feature_names_, copy=False)
        return driver_table(F, proba, contrib, self.medians_, n_drivers, currency)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Median-substitution contribution of every feature for every row.

        See :func:`~shopguide.retention.churn.drivers.median_contributions`.
        """
        _, out = self._contributions(self._matrix(X))
        return pd.DataFrame(out, index=X.index, columns=self.feature_names_)

    def _contributions(
        self, M: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(churn probability, median-substitution contributions) of the rows of ``M``.

        The booster re-evaluates, per feature, only the trees that split on it, and the
        logistic regression prepares the matrix once
        (:mod:`~shopguide.retention.churn.substitution`); the numbers are those of scoring each
        substituted matrix in full, which is what happens when a shortcut does not apply.
        """
        model = self._check()
        reference = self.medians_[self.feature_names_].to_numpy(dtype="float64")
        with threadpool_limits(limits=self.n_threads):
            raws = substituted_raw_scores(model, M, reference, _openmp_effective_n_threads())
        logistic = None
        if self.logistic_ is not None:
            logistic = substituted_logistic_proba(self.logistic_, M, reference)
        if raws is None or (self.logistic_ is not None and logistic is None):
            base = self._proba(M)
            return base, median_contributions(self._proba, M, self.feature_names_, self.medians_)
        z_at = self.feature_names_.index("pnbd_p_zero") if self.blend_btyd else None
        z = None if z_at is None else M[:, z_at]

        def proba(column: int, z_column: NDArray[np.float64] | None) -> NDArray[np.float64]:
            lr = None if logistic is None else logistic[:, column]
            return self._proba(M, raws[:, column], lr, z_column)

        base = proba(0, z)
        out = np.empty_like(M)
        for j in range(M.shape[1]):
            z_alt = None if z is None else (np.full_like(z, reference[j]) if j == z_at else z)
            out[:, j] = base - proba(j + 1, z_alt)
        return base, out

    def compute_importance(self, X: pd.DataFrame, y: ArrayLike, n_repeats: int = 5) -> pd.Series:
        """Permutation importance (mean drop in AUC) on ``(X, y)``; sets ``feature_importances_``.

        Each feature column is shuffled ``n_repeats`` times; the importance is the mean drop of
        the AUC of :meth:`predict_proba_features` from its value on the unshuffled data.
        """
        M = self._matrix(X)
        drops = permutation_importance(self._proba, M, y, self.random_state, n_repeats)
        imp = pd.Series(drops, index=self.feature_names_, name="auc_drop")
        self.feature_importances_ = imp.sort_values(ascending=False)
        return self.feature_importances_
