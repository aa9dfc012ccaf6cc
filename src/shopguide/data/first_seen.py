"""When each stored (user, item) cell of an interaction matrix was first seen.

Models that learn from the order of purchases (``ease-next``) need more than the user x item
matrix: for every cell, the time of the pair's first event. :func:`first_seen_times` builds
it from the same events and weights as :func:`~shopguide.data.matrix.build_interactions`, as
a CSR matrix on the matrix's cells whose values are Unix seconds.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopguide.columns import Columns
from shopguide.data.matrix import DEFAULT_EVENT_WEIGHTS, Interactions
from shopguide.errors import DataError

__all__ = ["first_seen_times"]


def first_seen_times(
    events: pd.DataFrame,
    interactions: Interactions,
    weights: Mapping[str, float] = DEFAULT_EVENT_WEIGHTS,
) -> sp.csr_matrix:
    """The first time (Unix seconds, float64) of each cell stored in ``interactions``.

    Only events that add to the matrix count (a positive weight in ``weights``); events of
    users or items outside the matrix's id maps are left out, and so are cells the matrix
    does not store (pairs whose refunds cancelled them).
    """
    needed = (Columns.USER_ID, Columns.ITEM_ID, Columns.EVENT_TYPE, Columns.TIMESTAMP)
    missing = [c for c in needed if c not in events]
    if missing:
        raise DataError(f"events are missing column(s): {', '.join(missing)}")
    positive = {k for k, v in weights.items() if v > 0}
    events = events[
        events[Columns.EVENT_TYPE].astype(str).isin(positive)
        & events[Columns.USER_ID].notna()
        & events[Columns.ITEM_ID].notna()
    ]
    rows = interactions.users.to_internal(
        events[Columns.USER_ID].astype(str).to_numpy(), unknown="mask"
    )
    cols = interactions.items.to_internal(
        events[Columns.ITEM_ID].astype(str).to_numpy(), unknown="mask"
    )
    stamps = pd.to_datetime(events[Columns.TIMESTAMP], utc=True)
    since = stamps - pd.Timestamp(0, tz="UTC")  # whatever the column's resolution
    seconds = since.dt.total_seconds().to_numpy(dtype=np.float64)
    keep = (rows >= 0) & (cols >= 0)
    n_users, n_items = interactions.shape
    keys = rows[keep].astype(np.int64) * n_items + cols[keep].astype(np.int64)
    first = pd.Series(seconds[keep]).groupby(keys).min()
    cells = first.index.to_numpy(dtype=np.int64)
    times = sp.csr_matrix(
        (first.to_numpy(dtype=np.float64), (cells // n_items, cells % n_items)),
        shape=(n_users, n_items),
    )
    pattern = interactions.matrix.copy()
    pattern.data = np.ones(pattern.nnz, dtype=np.float64)
    out = sp.csr_matrix(times.multiply(pattern), dtype=np.float64)
    out.sort_indices()
    return out
