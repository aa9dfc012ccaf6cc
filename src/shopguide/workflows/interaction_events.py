"""The event columns a recommender is fitted and served from, read from the store.

Read through Arrow (:func:`events_frame`): the text columns stay Arrow-backed strings
(``pd.StringDtype``), with no Python object per value on the way, so a million users' 20M
events take a fraction of the memory and time of a plain data-frame fetch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from shopguide.store.base import Store

__all__ = ["events_frame", "interaction_events"]


def events_frame(store: Store, sql: str, params: Any = None) -> pd.DataFrame:
    """``sql``'s result as a data frame whose text columns are Arrow-backed strings."""
    table = store.query_arrow(sql, params)
    text = pd.StringDtype("pyarrow", na_value=np.nan)
    return table.to_pandas(types_mapper={pa.string(): text}.get, self_destruct=True)


def interaction_events(store: Store, user_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Every event's user, item, type, time, quantity and order (only ``user_ids``' if given)."""
    where = "" if user_ids is None else "WHERE list_contains(?, user_id)"
    params = None if user_ids is None else [list(user_ids)]
    return events_frame(
        store,
        f"""SELECT user_id, item_id, event_type, "timestamp", quantity, order_id
            FROM events {where}""",
        params,
    )
