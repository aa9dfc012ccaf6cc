"""Which calendar months the data only partly covers, so charts do not draw them as collapses.

A store whose events end on 1 December at 03:00 has three hours of December: its December
revenue, and every cohort's December retention, look like a fall to nearly nothing. The rule,
by whole days:

* the **last** month is partial when the data's last timestamp (the report's ``as_of`` when
  that is earlier) falls on a day before the month's last day;
* the **first** month is partial when the first timestamp falls on a day after the 1st.

Charts leave partial months out (with a note naming them); tables keep them, labelled
"partial".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from shopguide.data.times import naive_utc
from shopguide.store.base import Store

PARTIAL: str = "partial"


@dataclass(frozen=True)
class DataPeriod:
    """The first and last timestamps of the data a report covers."""

    first: pd.Timestamp
    last: pd.Timestamp

    def partial_months(self) -> dict[str, str]:
        """``{"YYYY-MM": "data to 2011-12-09"}`` for the first and last month when partial."""
        found: dict[str, str] = {}
        first_day, last_day = self.first.normalize(), self.last.normalize()
        if first_day.day > 1:
            found[f"{first_day:%Y-%m}"] = f"data from {first_day:%Y-%m-%d}"
        month_end = last_day + pd.offsets.MonthEnd(0)
        if last_day < month_end:
            key = f"{last_day:%Y-%m}"
            start = f"{found[key]} " if key in found else "data "
            found[key] = f"{start}to {last_day:%Y-%m-%d}"
        return found


def data_period(store: Store, as_of: datetime | str | None = None) -> DataPeriod | None:
    """The period the events up to ``as_of`` cover (``None`` for a store without events)."""
    row = store.query_df('SELECT min("timestamp") AS first, max("timestamp") AS last FROM events')
    if row.empty or pd.isna(row["first"].iloc[0]):
        return None
    first, last = pd.Timestamp(row["first"].iloc[0]), pd.Timestamp(row["last"].iloc[0])
    if as_of is not None:
        last = min(last, naive_utc(as_of))
    return DataPeriod(first, last)


def month_label(month: str, partial: dict[str, str]) -> str:
    """``"2011-12"`` or ``"2011-12 (partial)"``."""
    return f"{month} ({PARTIAL})" if month in partial else month


def partial_note(partial: dict[str, str], what: str) -> str:
    """One sentence naming the partial months and what the chart does with them."""
    listed = "; ".join(f"{month} ({reason})" for month, reason in sorted(partial.items()))
    return f"Partial months, {what}: {listed}."
