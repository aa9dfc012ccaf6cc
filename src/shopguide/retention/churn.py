"""Churn: labels, as-of features, a gradient-boosting model, baselines and per-user drivers.

A user *churns* at a cut-off date when they make no purchase in the ``horizon_days`` after it.
Everything the model sees is computed from the events up to and including the cut-off day
(:func:`churn_features`), so there is no leakage from the label window. The features are the
usual RFM quantities plus inter-purchase-time statistics, the trend of the last 90 days against
the 90 before, and, as features rather than as the answer, the BG/NBD probability of being
alive and the BG/NBD and Pareto/NBD expected purchases in the horizon (fitted on the same as-of
data; see :mod:`shopguide.retention.clv`).

Evaluation (:func:`evaluate_churn_scores`) reports AUC, PR-AUC and the lift of the top decile,
and :func:`churn_baselines` gives the simple scores every model must beat: recency alone, the
Pareto/NBD expected purchases and the BG/NBD P(alive).

Model: a small, monotone-constrained :class:`~sklearn.ensemble.HistGradientBoostingClassifier`,
by default blended (mean log-odds) with a standardised logistic regression (see
:class:`ChurnModel`).

Drivers: globally, permutation importance (drop in AUC when one feature is shuffled); per user,
a *median-substitution* contribution: the change in that user's churn probability when one
feature is replaced by the training median, ``p(x) - p(x | x_j = median_j)``. A positive value
means the user's own value of that feature pushes the churn risk up. It is model-agnostic, cheap
(one extra prediction per feature) and easy to explain ("recency 210 days, typical 35 days,
+0.31"), at the price of ignoring interactions between features.

Works on any canonical events frame (``user_id``, ``timestamp``, ``event_type``, ``quantity``,
``price``; ``discount`` optional); only ``purchase`` events count as purchases.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from shopguide.columns import Columns, EventType
from shopguide.errors import DataError, ModelFormatError, NotFittedError
from shopguide.model_files import load_state, save_state
from shopguide.retention.clv import BetaGeoModel, ParetoNBDModel, rfm_summary
from shopguide.retention.reasons import driver_texts, usable_contributions

#: ``kind`` and format version of a saved :class:`ChurnModel` (see :meth:`ChurnModel.save`).
CHURN_MODEL_KIND = "shopguide.churn"
CHURN_FORMAT_VERSION = 1

FEATURE_DESCRIPTIONS: dict[str, str] = {
    "recency_days": "days since the last purchase",
    "frequency": "purchase days so far",
    "tenure_days": "days since the first purchase",
    "monetary_total": "total spend",
    "monetary_mean": "mean spend per purchase day",
    "ipt_mean": "mean days between purchases",
    "ipt_std": "std of days between purchases",
    "ipt_last": "days between the last two purchases",
    "recency_over_ipt": "days since last purchase / usual gap",
    "purchases_last_90": "purchase days in the last 90 days",
    "purchases_prev_90": "purchase days 91-180 days ago",
    "trend_90": "purchase days last 90 minus previous 90",
    "spend_last_90": "spend in the last 90 days",
    "spend_prev_90": "spend 91-180 days ago",
    "other_events_last_90": "non-purchase events in the last 90 days",
    "quantity_mean": "items per purchase day",
    "first_amount": "spend on the first purchase day",
    "first_quantity": "items on the first purchase day",
    "unit_price": "mean price per item",
    "recency_over_tenure": "share of the customer's life since the last purchase",
    "purchase_rate": "repeat purchase days per week of tenure",
    "horizon_over_tenure": "churn horizon / tenure",
    "bgnbd_p_alive": "BG/NBD probability still active",
    "bgnbd_expected": "BG/NBD expected purchases in the horizon",
    "bgnbd_p_zero": "BG/NBD probability of no purchase in the horizon",
    "pnbd_p_alive": "Pareto/NBD probability still active",
    "pnbd_expected": "Pareto/NBD expected purchases in the horizon",
    "pnbd_p_zero": "Pareto/NBD probability of no purchase in the horizon",
}
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
#: Columns computed from the BTYD models (left out with ``with_btyd=False``).
BTYD_FEATURES: tuple[str, ...] = tuple(
    c for c in FEATURE_DESCRIPTIONS if c.startswith(("bg", "pn"))
)
#: Feature columns of :func:`churn_features`, in order.
FEATURES: tuple[str, ...] = tuple(FEATURE_DESCRIPTIONS)


def _day(value: str | pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(value).floor("D")


def _purchases(events: pd.DataFrame) -> pd.DataFrame:
    """Purchase rows with a money amount per row (price * quantity - discount)."""
    required = [Columns.USER_ID, Columns.TIMESTAMP]
    missing = [c for c in required if c not in events.columns]
    if missing:
        raise DataError(
            f"churn: events lack column(s) {', '.join(missing)}",
            hint="pass canonical events (user_id, timestamp, event_type, quantity, price)",
        )
    ev = events
    if Columns.EVENT_TYPE in ev.columns:
        ev = ev[ev[Columns.EVENT_TYPE] == EventType.PURCHASE]
    ts = pd.to_datetime(ev[Columns.TIMESTAMP])
    qty = (
        pd.to_numeric(ev[Columns.QUANTITY], errors="coerce").fillna(1.0)
        if Columns.QUANTITY in ev.columns
        else pd.Series(1.0, index=ev.index)
    )
    price = (
        pd.to_numeric(ev[Columns.PRICE], errors="coerce").fillna(0.0)
        if Columns.PRICE in ev.columns
        else pd.Series(0.0, index=ev.index)
    )
    disc = (
        pd.to_numeric(ev[Columns.DISCOUNT], errors="coerce").fillna(0.0)
        if Columns.DISCOUNT in ev.columns
        else pd.Series(0.0, index=ev.index)
    )
    return pd.DataFrame(
        {
            "user": ev[Columns.USER_ID].astype(str).to_numpy(),
            "day": ts.dt.floor("D").to_numpy(),
            "amount": (price * qty - disc).to_numpy(dtype="float64"),
            "quantity": qty.to_numpy(dtype="float64"),
        }
    )


def churn_labels(events: pd.DataFrame, cutoff: str | pd.Timestamp, horizon_days: int) -> pd.Series:
    """1 for users who bought by ``cutoff`` and then made no purchase within ``horizon_days``.

    The label window is the days ``cutoff + 1 .. cutoff + horizon_days``. Only users with a
    purchase on or before the cut-off day are labelled. Raises :class:`DataError` if the events
    do not reach the end of the label window (the label would be wrong, not just unknown).
    """
    if horizon_days <= 0:
        raise DataError(f"horizon_days must be positive, got {horizon_days}")
    p = _purchases(events)
    cut = _day(cutoff)
    end = cut + pd.Timedelta(days=horizon_days)
    last_seen = pd.to_datetime(events[Columns.TIMESTAMP]).max().floor("D")
    if last_seen < end:
        raise DataError(
            f"the events end on {last_seen.date()}, before the end of the label window "
            f"{end.date()}",
            hint="choose an earlier cutoff or a shorter horizon",
        )
    users = np.unique(p.loc[p["day"] <= cut, "user"])
    future = p[(p["day"] > cut) & (p["day"] <= end)]
    bought = np.isin(users, future["user"].unique())
    return pd.Series(
        (~bought).astype("int64"), index=pd.Index(users, name=Columns.USER_ID), name="churn"
    )


def churn_features(
    events: pd.DataFrame,
    cutoff: str | pd.Timestamp,
    horizon_days: int = 90,
    with_btyd: bool = True,
) -> pd.DataFrame:
    """Features of every user with a purchase on or before ``cutoff``, from those events only.

    Same-day purchases are merged into one purchase day. Columns are :data:`FEATURES` (with
    ``with_btyd=False`` the :data:`BTYD_FEATURES` are left out), indexed by ``user_id``.
    ``horizon_days`` enters the features as the horizon of the BTYD expected purchases and
    probability of no purchase, and as ``horizon_over_tenure``.
    """
    cut = _day(cutoff)
    p = _purchases(events)
    p = p[p["day"] <= cut]
    if p.empty:
        raise DataError(f"no purchases on or before the cutoff {cut.date()}")
    days = (
        p.groupby(["user", "day"], sort=True)
        .agg(amount=("amount", "sum"), quantity=("quantity", "sum"))
        .reset_index()
    )
    g = days.groupby("user", sort=True)
    first = g["day"].min()
    last = g["day"].max()
    out = pd.DataFrame(index=first.index)
    out["recency_days"] = (cut - last).dt.days.astype("float64")
    out["frequency"] = g.size().astype("float64")
    out["tenure_days"] = (cut - first).dt.days.astype("float64")
    out["monetary_total"] = g["amount"].sum()
    out["monetary_mean"] = g["amount"].mean()
    gaps = days.assign(gap=g["day"].diff().dt.days.astype("float64")).dropna(subset=["gap"])
    gg = gaps.groupby("user")["gap"]
    out["ipt_mean"] = gg.mean().reindex(out.index)
    out["ipt_std"] = gg.std(ddof=0).reindex(out.index)
    out["ipt_last"] = gg.last().reindex(out.index)
    # one purchase only: no gap observed; use the tenure as a lower bound of the usual gap
    out["ipt_mean"] = out["ipt_mean"].fillna(out["tenure_days"])
    out["ipt_std"] = out["ipt_std"].fillna(0.0)
    out["ipt_last"] = out["ipt_last"].fillna(out["tenure_days"])
    out["recency_over_ipt"] = out["recency_days"] / out["ipt_mean"].clip(lower=1.0)
    age = (cut - days["day"]).dt.days
    recent = days[age < 90]
    prev = days[(age >= 90) & (age < 180)]
    out["purchases_last_90"] = recent.groupby("user").size().reindex(out.index).fillna(0.0)
    out["purchases_prev_90"] = prev.groupby("user").size().reindex(out.index).fillna(0.0)
    out["trend_90"] = out["purchases_last_90"] - out["purchases_prev_90"]
    out["spend_last_90"] = recent.groupby("user")["amount"].sum().reindex(out.index).fillna(0.0)
    out["spend_prev_90"] = prev.groupby("user")["amount"].sum().reindex(out.index).fillna(0.0)
    out["other_events_last_90"] = _other_events(events, cut).reindex(out.index).fillna(0.0)
    out["quantity_mean"] = g["quantity"].mean()
    out["first_amount"] = g["amount"].first()
    out["first_quantity"] = g["quantity"].first()
    items = g["quantity"].sum()
    out["unit_price"] = (out["monetary_total"] / items.where(items > 0)).fillna(0.0)
    # time-scale-free versions, so a model trained at an earlier cut-off (younger customers,
    # shorter label window) transfers to a later one
    life = out["tenure_days"].clip(lower=1.0)
    out["recency_over_tenure"] = out["recency_days"] / life
    out["purchase_rate"] = (out["frequency"] - 1.0) / life * 7.0
    out["horizon_over_tenure"] = horizon_days / life
    if with_btyd:
        _add_btyd(out, days, cut, horizon_days)
    out.index.name = Columns.USER_ID
    cols = [c for c in FEATURES if c in out.columns]
    return out[cols].astype("float64")


def _other_events(events: pd.DataFrame, cut: pd.Timestamp) -> pd.Series:
    if Columns.EVENT_TYPE not in events.columns:
        return pd.Series(dtype="float64")
    ev = events[events[Columns.EVENT_TYPE] != EventType.PURCHASE]
    if ev.empty:
        return pd.Series(dtype="float64")
    day = pd.to_datetime(ev[Columns.TIMESTAMP]).dt.floor("D")
    mask = (day <= cut) & ((cut - day).dt.days < 90)
    return ev.loc[mask, Columns.USER_ID].astype(str).value_counts().astype("float64")


def _add_btyd(out: pd.DataFrame, days: pd.DataFrame, cut: pd.Timestamp, horizon: int) -> None:
    """BG/NBD and Pareto/NBD features, fitted on the as-of purchase days (weeks as the unit)."""
    s = rfm_summary(days, "user", "day", None, calibration_end=cut, time_unit="W")
    s = s.reindex(out.index)
    t = horizon / 7.0
    x, rec, tt = s["frequency"], s["recency"], s["T"]
    try:
        bg = BetaGeoModel(penalizer=1e-4).fit(x, rec, tt)
        out["bgnbd_p_alive"] = bg.probability_alive(x, rec, tt)
        out["bgnbd_expected"] = bg.conditional_expected_purchases(t, x, rec, tt)
        out["bgnbd_p_zero"] = bg.probability_no_purchase(t, x, rec, tt)
    except (DataError, FloatingPointError, ValueError):
        out[["bgnbd_p_alive", "bgnbd_expected", "bgnbd_p_zero"]] = np.nan
    try:
        pn = ParetoNBDModel(penalizer=1e-4).fit(x, rec, tt)
        out["pnbd_p_alive"] = pn.probability_alive(x, rec, tt)
        out["pnbd_expected"] = pn.conditional_expected_purchases(t, x, rec, tt)
        out["pnbd_p_zero"] = pn.probability_no_purchase(t, x, rec, tt)
    except (DataError, FloatingPointError, ValueError):
        out[["pnbd_p_alive", "pnbd_expected", "pnbd_p_zero"]] = np.nan


def churn_dataset(
    events: pd.DataFrame, cutoff: str | pd.Timestamp, horizon_days: int, with_btyd: bool = True
) -> tuple[pd.DataFrame, pd.Series]:
    """``(features as of cutoff, churn labels for the following horizon)``, aligned by user."""
    X = churn_features(events, cutoff, horizon_days, with_btyd=with_btyd)
    y = churn_labels(events, cutoff, horizon_days).reindex(X.index)
    return X, y.astype("int64")


# --------------------------------------------------------------------------- evaluation


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


# --------------------------------------------------------------------------- model


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

    def _proba(self, M: NDArray[np.float64]) -> NDArray[np.float64]:
        model = self._check()
        eps = 1e-9
        with threadpool_limits(limits=self.n_threads):
            p = np.clip(model.predict_proba(M)[:, 1], eps, 1 - eps)
        parts = [p]
        if self.logistic_ is not None:
            parts.append(np.clip(self.logistic_.predict_proba(M)[:, 1], eps, 1 - eps))
        if self.blend_btyd:
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
        (see :func:`shopguide.retention.reasons.driver_texts`).
        """
        contrib = self.contributions(X)
        proba = self.predict_proba_features(X)
        out = pd.DataFrame({"churn_probability": proba}, index=X.index)
        names = np.asarray(self.feature_names_)
        # a feature that does not tell this buyer apart is never one of their drivers
        c = usable_contributions(X[self.feature_names_], contrib.to_numpy(), self.medians_)
        order = np.argsort(-c, axis=1, kind="stable")[:, :n_drivers]
        xv = X[self.feature_names_].to_numpy(dtype="float64")
        for k in range(min(n_drivers, len(names))):
            idx = order[:, k]
            rows = np.arange(len(X))
            # no driver where nothing usable raises the risk
            out[f"driver_{k + 1}"] = pd.Series(names[idx], index=X.index).where(
                c[rows, idx] > 0, None
            )
            out[f"driver_{k + 1}_value"] = xv[rows, idx]
            out[f"driver_{k + 1}_median"] = self.medians_.to_numpy()[idx]
            out[f"driver_{k + 1}_contribution"] = c[rows, idx]
        out["reasons"] = driver_texts(X[self.feature_names_], c, self.medians_, n_drivers, currency)
        return out.sort_values("churn_probability", ascending=False, kind="stable")

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Median-substitution contribution of every feature for every row (see module doc)."""
        M = self._matrix(X)
        base = self._proba(M)
        out = np.empty_like(M)
        for j, name in enumerate(self.feature_names_):
            alt = M.copy()
            alt[:, j] = self.medians_[name]
            out[:, j] = base - self._proba(alt)
        return pd.DataFrame(out, index=X.index, columns=self.feature_names_)

    def compute_importance(self, X: pd.DataFrame, y: ArrayLike, n_repeats: int = 5) -> pd.Series:
        """Permutation importance (mean drop in AUC) on ``(X, y)``; sets ``feature_importances_``.

        Each feature column is shuffled ``n_repeats`` times; the importance is the mean drop of
        the AUC of :meth:`predict_proba_features` from its value on the unshuffled data.
        """
        M = self._matrix(X)
        yy = np.asarray(y, dtype="int64")
        rng = np.random.default_rng(self.random_state)
        ref = roc_auc_score(yy, self._proba(M))
        drops = np.zeros(M.shape[1])
        for j in range(M.shape[1]):
            for _ in range(n_repeats):
                alt = M.copy()
                alt[:, j] = rng.permutation(alt[:, j])
                drops[j] += ref - roc_auc_score(yy, self._proba(alt))
        imp = pd.Series(drops / n_repeats, index=self.feature_names_, name="auc_drop")
        self.feature_importances_ = imp.sort_values(ascending=False)
        return self.feature_importances_


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
