"""Each buyer's P(alive), expected purchases, lifetime value and next order, told as one story.

:func:`customer_value` is what scoring stores next to the churn risk. It chooses the purchase
model (BG/NBD or Pareto/NBD) by its holdout fit and checks it
(:func:`~shopguide.retention.btyd.degeneracy.choose_purchase_model`), then makes sure the numbers
shown together cannot contradict each other:

- when the fit is sound, P(alive), expected purchases and value come from the model;
- when the fit is degenerate (it sees no drop-out, so it would call every buyer alive), and
  for BG/NBD buyers with a single purchase day (whom BG/NBD always calls alive, since it only
  lets a buyer leave after a repeat purchase), the model's P(alive) is not informative: it is
  left empty with the reason in ``value_note``, and the chance the buyer is still active is
  taken from the churn risk instead. A buyer who is alive makes no purchase in the churn
  horizon with probability ``q0 = ((alpha + T) / (alpha + T + h))^(r + x)`` (the fitted
  purchase rates), so a churn risk ``q`` means an active share ``A = (1 - q) / (1 - q0)``
  (clipped to [0, 1]), and expected purchases and lifetime value are the model's
  purchases-if-active times ``A``. A 97 % churn risk then comes with a small lifetime value,
  never with "P(alive) 100 %".
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from shopguide.retention.btyd.bgnbd import BetaGeoModel
from shopguide.retention.btyd.degeneracy import FitCheck, choose_purchase_model
from shopguide.retention.btyd.lifetime_value import (
    cumulative_purchases,
    discounted_purchases,
    expected_next_order,
    expected_spend,
)
from shopguide.retention.btyd.summary import purchase_transactions

FloatArray = NDArray[np.float64]

ONE_PURCHASE_NOTE: Final = (
    "P(alive) not informative: BG/NBD counts a buyer with a single purchase day as active by "
    "construction; expected purchases and lifetime value use the churn risk instead."
)
_DERIVED: Final = " Expected purchases and lifetime value use the churn risk instead."


def customer_value(
    events: pd.DataFrame,
    as_of: str | pd.Timestamp | None = None,
    churn_probability: pd.Series | None = None,
    *,
    churn_horizon_days: int = 90,
    horizon_days: int = 90,
    clv_weeks: int = 52,
    annual_discount_rate: float = 0.10,
) -> tuple[pd.DataFrame, FitCheck]:
    """Per-buyer value fields consistent with their churn risk, and the purchase model's check.

    ``churn_probability`` (indexed by ``user_id``) is each buyer's risk of no purchase in the
    ``churn_horizon_days`` after ``as_of``; without it, buyers whose P(alive) is not
    informative get no expected purchases or value (NaN). Returns a frame indexed by
    ``user_id`` with ``frequency``, ``p_alive`` (NaN where not informative),
    ``active_share`` (the chance of being active used for the value: the model's P(alive) or
    the one derived from the churn risk), ``expected_purchases`` (next ``horizon_days``),
    ``expected_spend``, ``clv`` (``clv_weeks``, discounted), ``expected_next_order`` and
    ``value_note`` (why P(alive) is empty; None when it is the model's), plus the
    :class:`~shopguide.retention.btyd.degeneracy.FitCheck` of the model used.
    """
    tx = purchase_transactions(events)
    cut = pd.Timestamp(as_of).floor("D") if as_of is not None else tx["timestamp"].max().floor("D")
    model, check, s = choose_purchase_model(tx, cut)
    x, rec, tt = s["frequency"], s["recency"], s["T"]
    alive = model.probability_alive(x, rec, tt)
    # expected purchases by week k if the buyer is still active
    cum_active = (
        cumulative_purchases(model, x, rec, tt, clv_weeks) / np.maximum(alive, 1e-12)[:, None]
    )

    informative = np.full(len(s), not check.degenerate)
    note = check.note()
    notes = np.full(len(s), None if note is None else note + _DERIVED, dtype=object)
    if isinstance(model, BetaGeoModel) and not check.degenerate:
        single = x.to_numpy() == 0
        informative &= ~single
        notes[single] = ONE_PURCHASE_NOTE
    params = model._check_fitted()
    r, alpha = params["r"], params["alpha"]
    q0 = ((alpha + tt) / (alpha + tt + churn_horizon_days / 7.0)).to_numpy() ** (r + x.to_numpy())
    if churn_probability is not None:
        q = churn_probability.reindex(s.index).to_numpy(dtype="float64")
        derived = np.clip((1.0 - q) / np.maximum(1.0 - q0, 1e-12), 0.0, 1.0)
    else:
        derived = np.full(len(s), np.nan)
    active = np.where(informative, alive, derived)

    cum_shown = cum_active * active[:, None]
    weekly_rate = (1.0 + annual_discount_rate) ** (1.0 / 52.0) - 1.0
    discounted = discounted_purchases(cum_shown, weekly_rate)
    spend = expected_spend(tx, s, cut)

    out = pd.DataFrame(index=s.index)
    out["frequency"] = x
    out["p_alive"] = np.where(informative, alive, np.nan)
    out["active_share"] = active
    out["expected_purchases"] = (
        model.conditional_expected_purchases(horizon_days / 7.0, x, rec, tt)
        / np.maximum(alive, 1e-12)
        * active
    )
    out["expected_spend"] = spend
    out["clv"] = spend * discounted
    out["expected_next_order"] = expected_next_order(cum_shown, cut, s.index)
    out["value_note"] = notes
    out.index.name = "user_id"
    return out, check
