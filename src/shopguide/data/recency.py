"""Recent interactions weigh more: time-decayed 0/1 input.

:func:`~shopguide.data.matrix.build_interactions` decays every event's weight with
``half_life_days``; a 0/1 matrix ("did the user ever interact") then loses the decay when its
values are set to 1. :func:`decayed_binary` keeps it: each stored (user, item) pair gets
``0.5 ** (age / half_life)`` for the age of the pair's most recent event at ``now``, so an
item bought last week counts nearly 1 and one bought a year ago (half-life 90 days) 0.06.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopguide.columns import Columns
from shopguide.data.matrix import Interactions

__all__ = ["MIN_VALUE", "decayed_binary"]

#: The smallest value a stored pair gets, however old: it stays a stored (seen) pair.
MIN_VALUE = 1e-6


def decayed_binary(
    inter: Interactions,
    events: pd.DataFrame,
    half_life_days: float,
    now: datetime | pd.Timestamp | None = None,
) -> Interactions:
    """``inter``'s stored pairs, each valued by the recency of its latest event in ``events``.

    ``now`` defaults to the latest timestamp of ``events`` (the end of the training period);
    events after it count as age 0. Pairs of ``inter`` without an event keep the value 1;
    no value falls below :data:`MIN_VALUE`.
    """
    if half_life_days <= 0:
        raise ValueError("half_life_days must be positive")
    known = events[events[Columns.USER_ID].notna() & events[Columns.ITEM_ID].notna()]
    ts = pd.to_datetime(known[Columns.TIMESTAMP])
    ref = pd.Timestamp(now) if now is not None else ts.max()
    rows = inter.users.to_internal(known[Columns.USER_ID].astype(str).to_numpy(), unknown="mask")
    cols = inter.items.to_internal(known[Columns.ITEM_ID].astype(str).to_numpy(), unknown="mask")
    age = ((ref - ts).dt.total_seconds() / 86400.0).clip(lower=0).to_numpy()
    keep = (rows >= 0) & (cols >= 0)
    n_items = np.int64(len(inter.items))
    keys = rows[keep].astype(np.int64) * n_items + cols[keep]
    youngest = pd.Series(age[keep]).groupby(keys).min()
    matrix = inter.matrix
    stored = (
        np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr)) * n_items
        + matrix.indices
    )
    ages = youngest.reindex(stored).to_numpy()
    values = np.where(np.isnan(ages), 1.0, np.power(0.5, np.nan_to_num(ages) / half_life_days))
    values = np.maximum(values, MIN_VALUE)  # a very old pair is still one the user has
    out = sp.csr_matrix(
        (values.astype(np.float32), matrix.indices.copy(), matrix.indptr.copy()), shape=matrix.shape
    )
    return Interactions(matrix=out, users=inter.users, items=inter.items)
