"""The per-customer summary the BTYD models are fitted on: frequency, recency, age and spend.

Each customer is described by three numbers taken from their purchase history in a calibration
period: ``frequency`` x, the number of *repeat* purchases; ``recency`` t_x, the time from the
first to the last purchase; and ``T``, the time from the first purchase to the end of the
calibration period. :func:`rfm_summary` computes them (and the mean repeat spend, and the
counts in a holdout period for checking a fit) from a table of purchases.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from shopguide.errors import DataError

_TIME_UNITS = {"D": 1.0, "W": 7.0, "M": 365.25 / 12.0, "Y": 365.25}


def _unit_days(time_unit: str | float) -> float:
    if isinstance(time_unit, int | float):
        if time_unit <= 0:
            raise DataError(f"time_unit must be positive, got {time_unit}")
        return float(time_unit)
    try:
        return _TIME_UNITS[time_unit.upper()]
    except KeyError:
        raise DataError(
            f"unknown time_unit {time_unit!r}",
            hint=f"use one of {', '.join(_TIME_UNITS)} or a number of days",
        ) from None


def rfm_summary(
    transactions: pd.DataFrame,
    customer: str = "user_id",
    date: str = "timestamp",
    amount: str | None = None,
    calibration_end: str | pd.Timestamp | None = None,
    time_unit: str | float = "W",
    merge_same_day: bool = True,
    observation_end: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Per-customer frequency, recency, age and spend, as the BTYD models need them.

    Parameters
    ----------
    transactions
        One row per purchase (or purchase line).
    customer, date, amount
        Column names of the customer id, the purchase time and (optionally) the money spent.
    calibration_end
        Last instant of the calibration period (a date means the whole day is included).
        Purchases after it are ignored for the summary; customers whose first purchase is after
        it are left out. Defaults to the last purchase in the data.
    time_unit
        ``"D"``, ``"W"`` (default), ``"M"``, ``"Y"`` or a number of days per unit. Times are
        fractional: ``(later_day - first_day).days / days_per_unit``.
    merge_same_day
        Count several purchases of one customer on one day as one transaction (amounts summed),
        as in the published CDNOW analyses.
    observation_end
        If given, also count each customer's transactions after ``calibration_end`` up to this
        instant (``frequency_holdout``, ``monetary_holdout``) and the holdout length
        (``duration_holdout``), for holdout comparisons.

    Returns
    -------
    DataFrame indexed by customer with
        ``frequency`` (repeat transactions: distinct transactions minus one), ``recency`` (first
        to last transaction), ``T`` (first transaction to ``calibration_end``), ``monetary_value``
        (mean amount of the *repeat* transactions, 0 when there are none; only with ``amount``),
        ``first_purchase`` and optionally the holdout columns.
    """
    missing = [c for c in (customer, date, amount) if c is not None and c not in transactions]
    if missing:
        raise DataError(f"rfm_summary: column(s) {', '.join(missing)} not in the transactions")
    days = _unit_days(time_unit)
    cols = [customer, date] + ([amount] if amount is not None else [])
    tx = transactions[cols].copy()
    tx[date] = pd.to_datetime(tx[date])
    if tx[date].isna().any():
        raise DataError("rfm_summary: some purchase times are missing")
    tx["_day"] = tx[date].dt.floor("D")
    if calibration_end is None:
        cal_day = tx["_day"].max()
    else:
        cal_day = pd.Timestamp(calibration_end).floor("D")
    key = "_day" if merge_same_day else date
    agg: dict[str, Any] = {}
    if amount is not None:
        agg[amount] = "sum"
    if merge_same_day:
        grouped = tx.groupby([customer, "_day"], sort=True, observed=True)
        trans = (
            grouped.agg(agg).reset_index()
            if agg
            else grouped.size().reset_index()[[customer, "_day"]]
        )
    else:
        trans = tx.sort_values([customer, key], kind="stable")
    trans = trans.sort_values([customer, "_day"], kind="stable")

    cal = trans[trans["_day"] <= cal_day]
    first = cal.groupby(customer, observed=True)["_day"].min()
    last = cal.groupby(customer, observed=True)["_day"].max()
    count = cal.groupby(customer, observed=True).size()
    out = pd.DataFrame(index=first.index)
    out["frequency"] = (count - 1).astype("int64")
    out["recency"] = (last - first).dt.days.astype("float64") / days
    out["T"] = (cal_day - first).dt.days.astype("float64") / days
    if amount is not None:
        # mean of the repeat transactions: drop each customer's first (earliest) transaction
        is_first = cal.groupby(customer, observed=True).cumcount() == 0
        repeat = cal[~is_first.to_numpy()]
        mean_repeat = repeat.groupby(customer, observed=True)[amount].mean()
        out["monetary_value"] = mean_repeat.reindex(out.index).fillna(0.0).astype("float64")
    out["first_purchase"] = first
    if observation_end is not None:
        obs_day = pd.Timestamp(observation_end).floor("D")
        hold = trans[(trans["_day"] > cal_day) & (trans["_day"] <= obs_day)]
        hcount = hold.groupby(customer, observed=True).size()
        out["frequency_holdout"] = hcount.reindex(out.index).fillna(0).astype("int64")
        if amount is not None:
            hsum = hold.groupby(customer, observed=True)[amount].sum()
            out["monetary_holdout"] = hsum.reindex(out.index).fillna(0.0).astype("float64")
        out["duration_holdout"] = (obs_day - cal_day).days / days
    out.index.name = customer
    return out


def purchase_transactions(events: pd.DataFrame, what: str = "customer value") -> pd.DataFrame:
    """Canonical events as the purchases the models are fitted on: ``user_id``, ``timestamp``
    and ``amount`` = ``price * quantity - discount`` (a missing price or discount counts as 0,
    a missing quantity as 1). Only ``purchase`` events count when there is an ``event_type``.
    ``what`` names the caller in the :class:`~shopguide.errors.DataError` for unusable input.
    """
    missing = [c for c in ("user_id", "timestamp") if c not in events.columns]
    if missing:
        raise DataError(f"{what}: events lack column(s) {', '.join(missing)}")
    ev = events[events["event_type"] == "purchase"] if "event_type" in events else events
    if ev.empty:
        raise DataError(f"{what}: no purchase events")

    def col(name: str, default: float) -> pd.Series | float:
        if name not in ev:
            return default
        return pd.to_numeric(ev[name], errors="coerce").fillna(default)

    return pd.DataFrame(
        {
            "user_id": ev["user_id"].astype(str),
            "timestamp": pd.to_datetime(ev["timestamp"]),
            "amount": col("price", 0.0) * col("quantity", 1.0) - col("discount", 0.0),
        }
    )
