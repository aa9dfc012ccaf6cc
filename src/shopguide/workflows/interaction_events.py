"""The event columns a recommender is fitted and served from, read from the store."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from shopguide.store.base import Store

__all__ = ["interaction_events"]


def interaction_events(store: Store, user_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Every event's user, item, type, time, quantity and order (only ``user_ids``' if given)."""
    where = "" if user_ids is None else "WHERE list_contains(?, user_id)"
    params = None if user_ids is None else [list(user_ids)]
    return store.query_df(
        f"""SELECT user_id, item_id, event_type, "timestamp", quantity, order_id
            FROM events {where}""",
        params,
    )
