"""Discounted customer lifetime value, and a per-user value table from canonical events.

:func:`customer_lifetime_value` combines a purchase model (BG/NBD or Pareto/NBD) with the
Gamma-Gamma spend model; :func:`customer_value_table` fits BG/NBD and Gamma-Gamma on a shop's
purchase events and returns P(alive), expected purchases, value and the expected next order per
user. (Scoring stores the churn-consistent :func:`~shopguide.retention.btyd.value.customer_value`
instead.) The parts both build on are here too: the expected purchases week by week
(:func:`cumulative_purchases`), their discounted sum (:func:`discounted_purchases`), the spend
per purchase with its fallback (:func:`expected_spend`) and the next order
(:func:`expected_next_order`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from shopguide.errors import DataError
from shopguide.retention.btyd.base import FloatArray, _distinct_rows, _validate_rft
from shopguide.retention.btyd.bgnbd import BetaGeoModel
from shopguide.retention.btyd.gamma_gamma import GammaGammaModel
from shopguide.retention.btyd.pareto_nbd import ParetoNBDModel
from shopguide.retention.btyd.summary import purchase_transactions, rfm_summary

#: Weeks ahead :func:`expected_next_order` looks for the next order.
NEXT_ORDER_WEEKS = 52


def cumulative_purchases(
    model: BetaGeoModel | ParetoNBDModel,
    x: ArrayLike,
    t_x: ArrayLike,
    tt: ArrayLike,
    steps: int,
    step: float = 1.0,
) -> FloatArray:
    """``E[Y(k * step) | x, t_x, T]`` for ``k = 1..steps``: one row per customer, one column
    per step."""
    xs, rs, ts = _validate_rft(x, t_x, tt)
    # each distinct (x, t_x, T) row once: buyers share rows, and this runs ``steps`` times
    (ux, ur, ut), rows = _distinct_rows(xs, rs, ts)
    columns = [
        model.conditional_expected_purchases(k * step, ux, ur, ut) for k in range(1, steps + 1)
    ]
    return np.column_stack(columns)[rows] if columns else np.zeros((len(xs), 0))


def discounted_purchases(cum: FloatArray, rate: float) -> FloatArray:
    """``sum_k (cum_k - cum_(k-1)) / (1 + rate)^k`` over the columns of ``cum`` (cum_0 = 0):
    the purchases of each step, discounted at ``rate`` per step."""
    increments = np.diff(np.column_stack([np.zeros(len(cum)), cum]), axis=1)
    return np.asarray(increments @ (1.0 / (1.0 + rate) ** np.arange(1, cum.shape[1] + 1)))


def expected_spend(tx: pd.DataFrame, summary: pd.DataFrame, cut: pd.Timestamp) -> FloatArray:
    """Expected spend per future purchase day: Gamma-Gamma fitted on the repeat buyers of
    ``summary``, or each buyer's mean amount up to ``cut`` when there are fewer than 3 repeat
    buyers to fit it on."""
    rep = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    try:
        gg = GammaGammaModel().fit(rep["frequency"], rep["monetary_value"])
        return gg.conditional_expected_spend(summary["frequency"], summary["monetary_value"])
    except DataError:
        upto = tx[tx["timestamp"] < cut + pd.Timedelta(days=1)]
        mean = upto.groupby("user_id")["amount"].mean().reindex(summary.index).fillna(0.0)
        return np.asarray(mean.to_numpy(dtype="float64"))


def expected_next_order(
    cum: FloatArray, cut: pd.Timestamp, index: pd.Index, threshold: float = 0.5
) -> pd.Series:
    """First day on which the expected purchases since ``cut`` (weekly columns of ``cum``)
    reach ``threshold``, linear between weeks; NaT when that does not happen within them."""
    reached = cum >= threshold
    hit = reached.any(axis=1)
    k = np.argmax(reached, axis=1)
    rows = np.arange(len(cum))
    before = np.where(k > 0, cum[rows, np.maximum(k - 1, 0)], 0.0)
    after = cum[rows, k] if cum.shape[1] else np.zeros(len(cum))
    frac = (threshold - before) / np.maximum(after - before, 1e-12)
    days = np.where(hit, np.round((k + frac) * 7.0), np.nan)
    return pd.Series(cut + pd.to_timedelta(days, unit="D"), index=index)


def customer_lifetime_value(
    purchase_model: BetaGeoModel | ParetoNBDModel,
    spend_model: GammaGammaModel,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    horizon: int = 52,
    discount_rate: float = 0.0,
    step: float = 1.0,
    margin: float = 1.0,
) -> FloatArray:
    """Discounted expected value of each customer's purchases over the next ``horizon`` steps.

    ``CLV = margin * E[M] * sum_k (E[Y(k*step)] - E[Y((k-1)*step)]) / (1 + discount_rate)^k``,
    with ``discount_rate`` per step (e.g. 0.0019 per week for 10 % a year).
    """
    x, t_x, tt = _validate_rft(frequency, recency, T)
    spend = spend_model.conditional_expected_spend(x, monetary_value)
    cum = cumulative_purchases(purchase_model, x, t_x, tt, int(horizon), step)
    return np.asarray(margin * spend * discounted_purchases(cum, discount_rate), dtype="float64")


def customer_value_table(
    events: pd.DataFrame,
    as_of: str | pd.Timestamp | None = None,
    horizon_days: int = 90,
    clv_weeks: int = 52,
    annual_discount_rate: float = 0.10,
) -> pd.DataFrame:
    """Per-user predicted value fields from canonical events, for profiles and reports.

    Fits BG/NBD and Gamma-Gamma (weeks as the unit, same-day purchases merged) on the
    ``purchase`` events up to ``as_of`` (default: the last event day) and returns, indexed by
    ``user_id``: ``frequency``, ``recency_weeks``, ``T_weeks``, ``monetary_value``,
    ``p_alive``, ``expected_purchases`` (in the next ``horizon_days``), ``expected_spend``
    (per future purchase), ``clv`` (discounted over ``clv_weeks`` weeks) and
    ``expected_next_order``: the first day on which the BG/NBD conditional expected purchases
    since ``as_of`` reach 0.5 (so it accounts for the chance the user has left), NaT when that
    does not happen within a year. A point estimate of "when we expect them back", not a
    promise.

    The amount of a purchase is ``price * quantity - discount`` (missing parts count as 0 / 1).
    Gamma-Gamma needs at least 3 repeat buyers; with fewer the spend falls back to each user's
    mean purchase amount.
    """
    tx = purchase_transactions(events, "customer_value_table")
    cut = pd.Timestamp(as_of).floor("D") if as_of is not None else tx["timestamp"].max().floor("D")
    s = rfm_summary(tx, "user_id", "timestamp", "amount", calibration_end=cut, time_unit="W")
    x, rec, tt = s["frequency"], s["recency"], s["T"]
    bg = BetaGeoModel(penalizer=1e-4).fit(x, rec, tt)
    cum = cumulative_purchases(bg, x, rec, tt, max(clv_weeks, NEXT_ORDER_WEEKS))
    weekly = (1.0 + annual_discount_rate) ** (1.0 / 52.0) - 1.0
    out = pd.DataFrame(index=s.index)
    out["frequency"] = x
    out["recency_weeks"] = rec
    out["T_weeks"] = tt
    out["monetary_value"] = s["monetary_value"]
    out["p_alive"] = bg.probability_alive(x, rec, tt)
    out["expected_purchases"] = bg.conditional_expected_purchases(horizon_days / 7.0, x, rec, tt)
    out["expected_spend"] = expected_spend(tx, s, cut)
    out["clv"] = out["expected_spend"].to_numpy() * discounted_purchases(cum[:, :clv_weeks], weekly)
    out["expected_next_order"] = expected_next_order(cum[:, :NEXT_ORDER_WEEKS], cut, s.index)
    out.index.name = "user_id"
    return out
