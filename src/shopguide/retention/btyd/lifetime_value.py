"""Discounted customer lifetime value, and a per-user value table from canonical events.

:func:`customer_lifetime_value` combines a purchase model (BG/NBD or Pareto/NBD) with the
Gamma-Gamma spend model; :func:`customer_value_table` fits BG/NBD and Gamma-Gamma on a shop's
purchase events and returns P(alive), expected purchases, value and the expected next order per
user. (Scoring stores the churn-consistent :func:`~shopguide.retention.btyd.value.customer_value`
instead.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from shopguide.errors import DataError
from shopguide.retention.btyd.base import FloatArray, _validate_rft
from shopguide.retention.btyd.bgnbd import BetaGeoModel
from shopguide.retention.btyd.gamma_gamma import GammaGammaModel
from shopguide.retention.btyd.pareto_nbd import ParetoNBDModel
from shopguide.retention.btyd.summary import rfm_summary


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
    total = np.zeros_like(x)
    prev = np.zeros_like(x)
    for k in range(1, int(horizon) + 1):
        cum = purchase_model.conditional_expected_purchases(k * step, x, t_x, tt)
        total += (cum - prev) / (1.0 + discount_rate) ** k
        prev = cum
    return np.asarray(margin * spend * total, dtype="float64")


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
    needed = ["user_id", "timestamp"]
    missing = [c for c in needed if c not in events.columns]
    if missing:
        raise DataError(f"customer_value_table: events lack column(s) {', '.join(missing)}")
    ev = events
    if "event_type" in ev.columns:
        ev = ev[ev["event_type"] == "purchase"]
    if ev.empty:
        raise DataError("customer_value_table: no purchase events")
    qty = pd.to_numeric(ev["quantity"], errors="coerce").fillna(1.0) if "quantity" in ev else 1.0
    price = pd.to_numeric(ev["price"], errors="coerce").fillna(0.0) if "price" in ev else 0.0
    disc = pd.to_numeric(ev["discount"], errors="coerce").fillna(0.0) if "discount" in ev else 0.0
    tx = pd.DataFrame(
        {
            "user_id": ev["user_id"].astype(str),
            "timestamp": pd.to_datetime(ev["timestamp"]),
            "amount": price * qty - disc,
        }
    )
    cut = pd.Timestamp(as_of).floor("D") if as_of is not None else tx["timestamp"].max().floor("D")
    s = rfm_summary(tx, "user_id", "timestamp", "amount", calibration_end=cut, time_unit="W")
    x, rec, tt = s["frequency"], s["recency"], s["T"]
    bg = BetaGeoModel(penalizer=1e-4).fit(x, rec, tt)
    out = pd.DataFrame(index=s.index)
    out["frequency"] = x
    out["recency_weeks"] = rec
    out["T_weeks"] = tt
    out["monetary_value"] = s["monetary_value"]
    out["p_alive"] = bg.probability_alive(x, rec, tt)
    out["expected_purchases"] = bg.conditional_expected_purchases(horizon_days / 7.0, x, rec, tt)
    rep = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
    weekly = (1.0 + annual_discount_rate) ** (1.0 / 52.0) - 1.0
    try:
        gg = GammaGammaModel().fit(rep["frequency"], rep["monetary_value"])
        out["expected_spend"] = gg.conditional_expected_spend(x, s["monetary_value"])
        out["clv"] = customer_lifetime_value(
            bg, gg, x, rec, tt, s["monetary_value"], horizon=clv_weeks, discount_rate=weekly
        )
    except DataError:
        mean_amount = (
            tx[tx["timestamp"] <= cut + pd.Timedelta(days=1)].groupby("user_id")["amount"].mean()
        )
        out["expected_spend"] = mean_amount.reindex(out.index).fillna(0.0)
        cum = np.zeros(len(out))
        prev = np.zeros(len(out))
        for k in range(1, clv_weeks + 1):
            now = bg.conditional_expected_purchases(k, x, rec, tt)
            cum += (now - prev) / (1.0 + weekly) ** k
            prev = now
        out["clv"] = out["expected_spend"].to_numpy() * cum
    out["expected_next_order"] = _expected_next_order(bg, x, rec, tt, cut)
    out.index.name = "user_id"
    return out


def _expected_next_order(
    model: BetaGeoModel | ParetoNBDModel,
    x: ArrayLike,
    rec: ArrayLike,
    tt: ArrayLike,
    cut: pd.Timestamp,
    threshold: float = 0.5,
    max_weeks: int = 52,
) -> pd.Series:
    """Day when E[Y(t) | x, t_x, T] first reaches ``threshold`` (linear between weeks)."""
    xs, rs, ts = _validate_rft(x, rec, tt)
    prev = np.zeros(len(xs))
    weeks = np.full(len(xs), np.nan)
    for k in range(1, max_weeks + 1):
        now = model.conditional_expected_purchases(float(k), xs, rs, ts)
        hit = np.isnan(weeks) & (now >= threshold)
        frac = (threshold - prev[hit]) / np.maximum(now[hit] - prev[hit], 1e-12)
        weeks[hit] = k - 1 + frac
        prev = now
    days = np.round(weeks * 7.0)
    index = x.index if isinstance(x, pd.Series) else None
    return pd.Series(cut + pd.to_timedelta(days, unit="D"), index=index)
