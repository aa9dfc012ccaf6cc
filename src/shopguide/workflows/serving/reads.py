"""Read-only answers from the store: a user's profile and history, an item, the overview KPIs
and the RFM segments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pandas as pd

from shopguide.errors import UnknownIdError
from shopguide.store.base import Store
from shopguide.workflows.json_records import jsonable, records

__all__ = [
    "build_profiles_if_missing",
    "categories",
    "item_record",
    "overview",
    "profiles_built",
    "segment_members",
    "segments",
    "user_history",
    "user_lifecycle",
    "user_profile",
]


def profiles_built(store: Store) -> bool:
    """Whether a profile version has been built in the store."""
    return store.has_table("profile_builds") and bool(
        store.scalar("SELECT count(*) FROM profile_builds")
    )


def user_profile(store: Store, user_id: str) -> dict[str, Any]:
    """The user's latest profile (raises ``UnknownIdError`` / ``ProfilesNotBuiltError``)."""
    from shopguide.profiles import profile_record

    return profile_record(store, user_id)


def build_profiles_if_missing(store: Store) -> bool:
    """Build the profiles once when the store has events but no profile version; True if built."""
    from shopguide.profiles import build_profiles

    if profiles_built(store) or not store.scalar("SELECT count(*) FROM events"):
        return False
    build_profiles(store)
    return True


def user_history(store: Store, user_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """The user's latest events, newest first, with item titles."""
    frame = store.query_df(
        """SELECT e."timestamp", e.event_type, e.item_id, i.title, i.category, e.quantity,
                  e.price, e.order_id
           FROM events e LEFT JOIN items i USING (item_id)
           WHERE e.user_id = ? ORDER BY e."timestamp" DESC, e.event_key LIMIT ?""",
        [user_id, int(limit)],
    )
    return records(frame)


def user_lifecycle(store: Store, user_id: str) -> list[dict[str, Any]]:
    """The user's segment, RFM scores, orders and spend in every profile version, oldest first
    (raises ``UnknownIdError`` when no version holds the user)."""
    frame = None
    if store.has_table("profiles"):
        frame = store.query_df(
            """SELECT as_of, segment, r_score, f_score, m_score, orders, total_spend,
                      recency_days
               FROM profiles WHERE user_id = ? ORDER BY as_of""",
            [user_id],
        )
    if frame is None or frame.empty:
        raise UnknownIdError("user", [user_id])
    return records(frame)


def item_record(store: Store, item_id: str) -> dict[str, Any]:
    """One item's catalogue row plus its buyers, units and revenue."""
    frame = store.query_df(
        """SELECT i.item_id, i.title, i.category, i.brand, i.price, i.in_stock,
                  (SELECT count(DISTINCT user_id) FROM events
                     WHERE item_id = i.item_id AND event_type = 'purchase') AS buyers,
                  (SELECT coalesce(sum(quantity), 0) FROM events
                     WHERE item_id = i.item_id AND event_type = 'purchase') AS units,
                  (SELECT coalesce(sum(quantity * price - coalesce(discount, 0)), 0) FROM events
                     WHERE item_id = i.item_id AND event_type = 'purchase') AS revenue
           FROM items i WHERE i.item_id = ?""",
        [item_id],
    )
    if frame.empty:
        raise UnknownIdError("item", [item_id])
    return records(frame)[0]


def overview(store: Store, start: date | None = None, end: date | None = None) -> dict[str, Any]:
    """Headline KPIs and monthly revenue by category (for the overview page).

    With ``start`` or ``end`` (days, both included; the other one defaults to the first or last
    event's day): also ``period``, the figures of that range next to the period of as many days
    before it (:func:`shopguide.analytics.period_kpis`), and the trends of the months it spans.
    """
    from shopguide.analytics import kpis, monthly_trends, period_kpis

    if not store.scalar("SELECT count(*) FROM events"):
        return {"kpis": None, "trends": [], "period": None}
    figures = kpis(store)
    trends = monthly_trends(store, "category", top=6)
    period = None
    if start is not None or end is not None:
        first = start or figures["first_event"].date()
        last = end or figures["last_event"].date()
        period = period_kpis(store, first, last)
        months = trends["month"].astype("datetime64[ns]")
        trends = trends[
            (months >= pd.Timestamp(first).to_period("M").to_timestamp())
            & (months <= pd.Timestamp(last))
        ]
    return {"kpis": jsonable(figures), "trends": records(trends), "period": jsonable(period)}


def segments(
    store: Store, start: date | None = None, end: date | None = None
) -> list[dict[str, Any]]:
    """RFM segments: buyers, share, revenue, revenue share, mean R/F/M. With ``start`` or
    ``end`` (the other defaulting to the first or last event's day) each segment also has
    ``period``: its members' revenue, orders and buyers in that range next to the period as
    long before it (:func:`shopguide.analytics.segment_period_kpis`; ``None`` when its members
    bought nothing in either)."""
    from shopguide.analytics import kpis, segment_period_kpis, segment_summary

    if not store.scalar("SELECT count(*) FROM events"):
        return []
    rows = records(segment_summary(store))
    if start is not None or end is not None:
        figures = kpis(store)
        first = start or figures["first_event"].date()
        last = end or figures["last_event"].date()
        period = segment_period_kpis(store, first, last)
        for row in rows:
            row["period"] = period.get(str(row["segment"]))
    return rows


def segment_members(store: Store, names: Sequence[str]) -> set[str]:
    """Users whose latest profile is in one of the RFM segments ``names``."""
    if not store.has_table("profiles"):
        return set()
    frame = store.query_df(
        "SELECT user_id FROM profiles WHERE as_of = (SELECT max(as_of) FROM profiles) "
        "AND list_contains(?, segment)",
        [list(names)],
    )
    return set(frame["user_id"].astype(str))


def categories(store: Store) -> list[dict[str, Any]]:
    """The catalogue's category tree: every category and every level above it (``Home`` for
    ``Home > Bedding``), with its depth (1 = top) and how many items it holds, in path order.
    A campaign promoting a category promotes everything below it too."""
    frame = store.query_df(
        """WITH paths AS (
               SELECT string_split(category, ' > ') AS parts FROM items
               WHERE category IS NOT NULL AND category <> ''),
           levels AS (SELECT parts, unnest(range(1, len(parts) + 1)) AS depth FROM paths),
           nodes AS (SELECT parts[1:depth] AS path, depth, count(*) AS items
                     FROM levels GROUP BY ALL)
           -- ordered by the path's parts, so every level comes just before what it holds
           SELECT array_to_string(path, ' > ') AS category, depth, items
           FROM nodes ORDER BY path"""
    )
    return records(frame)
