"""Churn drivers in words a shop manager reads.

:meth:`shopguide.retention.churn.model.ChurnModel.explain` finds, for each buyer, the features that
push their churn risk up the most. This module turns such a driver (feature, the buyer's value,
the typical buyer's value) into a short sentence with units, plain numbers and a comparison:

    "spends £77k per purchase day, 260× the typical buyer's £297"
    "last purchase 210 days ago, 6× the typical buyer's 35 days"

Numbers never use e-notation (:func:`human_number`), money carries the shop's currency symbol
when one is set, and no raw column name ever reaches the text.

It also holds the rule that decides whether a feature may be a reason at all
(:func:`informative_features`): a feature that has one value for every scored buyer tells no
buyer apart, so it is never a reason, however the model weighs it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

#: How a feature's value is read: its unit and the phrase around the formatted value.
_DAYS, _COUNT, _MONEY, _SHARE, _RATIO, _SIGNED = "days", "count", "money", "share", "ratio", "+"

_PHRASES: Final[dict[str, tuple[str, str]]] = {
    "recency_days": (_DAYS, "last purchase {v} ago"),
    "frequency": (_COUNT, "bought on {v} days so far"),
    "tenure_days": (_DAYS, "first purchase {v} ago"),
    "monetary_total": (_MONEY, "spent {v} in total"),
    "monetary_mean": (_MONEY, "spends {v} per purchase day"),
    "ipt_mean": (_DAYS, "buys every {v} on average"),
    "ipt_std": (_DAYS, "gaps between purchases vary by {v}"),
    "ipt_last": (_DAYS, "{v} between the last two purchases"),
    "recency_over_ipt": (_RATIO, "silent for {v} their usual gap between purchases"),
    "purchases_last_90": (_COUNT, "bought on {v} days in the last 90 days"),
    "purchases_prev_90": (_COUNT, "bought on {v} days in the 90 days before those"),
    "trend_90": (_SIGNED, "{v} purchase days in the last 90 days against the 90 before"),
    "spend_last_90": (_MONEY, "spent {v} in the last 90 days"),
    "spend_prev_90": (_MONEY, "spent {v} in the 90 days before those"),
    "other_events_last_90": (_COUNT, "{v} visits, views or carts in the last 90 days"),
    "quantity_mean": (_COUNT, "buys {v} items per purchase day"),
    "first_amount": (_MONEY, "spent {v} on the first purchase day"),
    "first_quantity": (_COUNT, "bought {v} items on the first purchase day"),
    "unit_price": (_MONEY, "pays {v} per item on average"),
    "recency_over_tenure": (_SHARE, "{v} of their time as a customer has passed since the last "
                                    "purchase"),
    "purchase_rate": (_COUNT, "buys again on {v} days per week"),
    "horizon_over_tenure": (_RATIO, "a new customer: the churn horizon is {v} their time with "
                                    "the shop"),
    "bgnbd_p_alive": (_SHARE, "the purchase model (BG/NBD) puts the chance they still buy at {v}"),
    "bgnbd_expected": (_COUNT, "the purchase model (BG/NBD) expects {v} purchase days soon"),
    "bgnbd_p_zero": (_SHARE, "the purchase model (BG/NBD) puts the chance of no purchase "
                             "soon at {v}"),
    "pnbd_p_alive": (_SHARE, "the purchase model (Pareto/NBD) puts the chance they still "
                             "buy at {v}"),
    "pnbd_expected": (_COUNT, "the purchase model (Pareto/NBD) expects {v} purchase days soon"),
    "pnbd_p_zero": (_SHARE, "the purchase model (Pareto/NBD) puts the chance of no "
                            "purchase soon at {v}"),
}  # fmt: skip


def human_number(value: float) -> str:
    """A number as people write it: ``77k``, ``1.2M``, ``4,310``, ``35``, ``2.5``, ``0.07``.

    Never e-notation; ``-`` for a missing value.
    """
    if value is None or not math.isfinite(value):
        return "-"
    size, sign = abs(value), "-" if value < 0 else ""
    if size >= 1e9:
        text = f"{size / 1e9:.1f}".removesuffix(".0") + "bn"
    elif size >= 1e6:
        text = f"{size / 1e6:.1f}".removesuffix(".0") + "M"
    elif size >= 1e4:
        text = f"{size / 1e3:.0f}k"
    elif size >= 10:
        text = f"{size:,.0f}"
    elif size >= 1:
        text = f"{size:.1f}".removesuffix(".0")
    elif size >= 0.005:
        text = f"{size:.2f}"
    else:
        return "0"
    return sign + text


def _ratio(value: float) -> str:
    return f"{value:,.0f}×" if value >= 10 else f"{value:.1f}×".replace(".0×", "×")


def _formatter(unit: str, currency: str) -> Callable[[float], str]:
    if unit == _DAYS:
        return lambda v: f"{human_number(v)} day" + ("" if round(v) == 1 else "s")
    if unit == _MONEY:
        return lambda v: f"{'-' if v < 0 else ''}{currency}{human_number(abs(v))}"
    if unit == _SHARE:
        return lambda v: f"{100 * v:.0f} %"
    if unit == _RATIO:
        return lambda v: _ratio(v)
    if unit == _SIGNED:
        return lambda v: ("+" if v > 0 else "") + human_number(v)
    return human_number


def describe_driver(feature: str, value: float, typical: float, currency: str = "") -> str:
    """One churn driver in words: the buyer's value, and how it compares with the typical buyer.

    ``typical`` is the reference the driver was measured against (the training median).
    The comparison is a ratio ("260× the typical buyer's £297", "3× less than …") when both are
    positive and differ by at least a half, else the typical value itself.
    """
    unit, phrase = _PHRASES.get(feature, (_COUNT, feature.replace("_", " ") + " {v}"))
    fmt = _formatter(unit, currency)
    text = phrase.format(v=fmt(value))
    if unit in (_SHARE, _SIGNED, _RATIO) or not (math.isfinite(value) and math.isfinite(typical)):
        return f"{text} (typical buyer: {fmt(typical)})" if math.isfinite(typical) else text
    if value > 0 and typical > 0:
        ratio = value / typical
        if ratio >= 1.5:
            return f"{text}, {_ratio(ratio)} the typical buyer's {fmt(typical)}"
        if ratio <= 1 / 1.5:
            return f"{text}, {_ratio(1 / ratio)} less than the typical buyer's {fmt(typical)}"
    return f"{text}; typical buyer {fmt(typical)}"


def informative_features(X: pd.DataFrame) -> NDArray[np.bool_]:
    """Which columns tell the scored rows apart: False for a column with a single value.

    With one row nothing can be compared, so every column counts as informative.
    """
    if len(X) < 2:
        return np.ones(X.shape[1], dtype=bool)
    return np.asarray(X.nunique(dropna=True).to_numpy() > 1, dtype=bool)


def usable_contributions(
    X: pd.DataFrame, contributions: NDArray[np.float64], reference: pd.Series
) -> NDArray[np.float64]:
    """``contributions`` with 0 wherever the feature may not be a reason for that row: the
    column has one value for all rows, or the row's value equals the ``reference``."""
    values = X.to_numpy(dtype="float64")
    ref = reference.reindex(X.columns).to_numpy(dtype="float64")
    usable = informative_features(X)[None, :] & ~np.isclose(values, ref[None, :])
    return np.asarray(np.where(usable, contributions, 0.0), dtype="float64")


def driver_texts(
    X: pd.DataFrame,
    contributions: NDArray[np.float64],
    reference: pd.Series,
    n_drivers: int = 3,
    currency: str = "",
) -> list[str]:
    """The readable reasons of every row of ``X``: up to ``n_drivers`` features that raise its
    churn risk (positive ``contributions``) among those :func:`usable_contributions` keeps."""
    values = X.to_numpy(dtype="float64")
    c = usable_contributions(X, contributions, reference)
    order = np.argsort(-c, axis=1, kind="stable")[:, :n_drivers]
    return worded_drivers(list(X.columns), values, reference, c, order, currency)


def worded_drivers(
    names: list[str],
    values: NDArray[np.float64],
    reference: pd.Series,
    contributions: NDArray[np.float64],
    order: NDArray[np.intp],
    currency: str = "",
) -> list[str]:
    """:func:`driver_texts` from its parts: the feature ``values`` (one column per name), the
    usable ``contributions`` and, per row, the columns of its drivers, strongest first."""
    ref = reference.reindex(names).to_numpy(dtype="float64")
    rows = np.arange(len(values))[:, None]
    raising = (contributions[rows, order] > 0).tolist()
    picked = zip(order.tolist(), values[rows, order].tolist(), raising, strict=True)
    # buyers share values (whole days, counts), so each (feature, value) is worded once
    said: dict[tuple[int, float], str] = {}
    texts = []
    for features, feature_values, raises in picked:
        parts = []
        for j, value, up in zip(features, feature_values, raises, strict=True):
            if not up:
                continue
            text = said.get((j, value))
            if text is None:
                text = said[(j, value)] = describe_driver(names[j], value, ref[j], currency)
            parts.append(text)
        text = "; ".join(parts).replace(" 1 days", " 1 day")
        texts.append(text or "no feature above typical risk")
    return texts
