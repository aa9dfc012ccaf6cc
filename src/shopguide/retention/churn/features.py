"""What the churn model sees: per-user features as of a cut-off day, from those events only.

Everything is computed from the events up to and including the cut-off day, so there is no
leakage from the label window. The features are the usual RFM quantities plus inter-purchase
time statistics, the trend of the last 90 days against the 90 before, and, as features rather
than as the answer, the BG/NBD probability of being alive and the BG/NBD and Pareto/NBD
expected purchases in the horizon (fitted on the same as-of data; see
:mod:`shopguide.retention.btyd`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopguide.columns import Columns, EventType
from shopguide.errors import DataError
from shopguide.retention.btyd.bgnbd import BetaGeoModel
from shopguide.retention.btyd.pareto_nbd import ParetoNBDModel
from shopguide.retention.btyd.summary import rfm_summary
from shopguide.retention.churn.labels import _day, _purchases, churn_labels

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
#: Columns computed from the BTYD models (left out with ``with_btyd=False``).
BTYD_FEATURES: tuple[str, ...] = tuple(
    c for c in FEATURE_DESCRIPTIONS if c.startswith(("bg", "pn"))
)
#: Feature columns of :func:`churn_features`, in order.
FEATURES: tuple[str, ...] = tuple(FEATURE_DESCRIPTIONS)


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
