"""Turn events into the user x item interaction matrix every recommender is fitted on.

Each event contributes ``weight[event_type]`` (times its quantity if ``use_quantity``),
optionally decayed by ``0.5 ** (age_days / half_life_days)`` relative to ``now``.
Contributions are summed per (user, item); totals that end up negative (for example more
refunds than purchases) are clipped to 0 and removed, so the matrix holds positive
preference strengths only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopguide.columns import Columns, EventType
from shopguide.data.idmap import IdMap
from shopguide.errors import DataError

__all__ = ["DEFAULT_EVENT_WEIGHTS", "Interactions", "build_interactions"]

#: Default strength of each event type: views and clicks are weak, purchases strong,
#: refunds cancel a purchase.
DEFAULT_EVENT_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        EventType.VIEW: 1.0,
        EventType.CLICK: 1.0,
        EventType.FAVORITE: 2.0,
        EventType.CART: 3.0,
        EventType.PURCHASE: 5.0,
        EventType.REFUND: -5.0,
    }
)


@dataclass(frozen=True)
class Interactions:
    """A user x item CSR matrix (float32) together with the id maps of its rows and columns."""

    matrix: sp.csr_matrix
    users: IdMap
    items: IdMap

    def __post_init__(self) -> None:
        if self.matrix.shape != (len(self.users), len(self.items)):
            raise ValueError(
                f"matrix shape {self.matrix.shape} does not match id maps "
                f"({len(self.users)} users, {len(self.items)} items)"
            )

    @property
    def shape(self) -> tuple[int, int]:
        """(number of users, number of items)."""
        return (len(self.users), len(self.items))

    @property
    def nnz(self) -> int:
        """Number of stored (user, item) pairs."""
        return int(self.matrix.nnz)

    def binary(self) -> sp.csr_matrix:
        """The matrix with every stored value set to 1 (did the user interact at all)."""
        out = self.matrix.copy()
        out.data[:] = 1.0
        return out


def _event_weights(events: pd.DataFrame, weights: Mapping[str, float]) -> np.ndarray:
    unknown = set(weights) - set(EventType.ALL)
    if unknown:
        raise DataError(
            f"unknown event type(s) in weights: {sorted(unknown)}",
            hint=f"use only {', '.join(EventType.ALL)}",
        )
    types = events[Columns.EVENT_TYPE].astype(str)
    return types.map(dict(weights)).fillna(0.0).to_numpy(dtype=np.float64)


def _positions(ids: pd.Series, id_map: IdMap | None, kind: str) -> tuple[IdMap, np.ndarray]:
    """The id map (given, or the sorted distinct ids) and each row's position in it (-1 when
    not in a given map). Without a map the ids are hashed once (``pd.factorize``), which is
    many times faster than sorting millions of Python strings."""
    text = ids.astype(str)
    if id_map is not None:
        return id_map, id_map.to_internal(text.to_numpy(), unknown="mask")
    codes, distinct = pd.factorize(text, sort=True)
    return IdMap(np.asarray(distinct, dtype=object), kind=kind), codes.astype(np.int32)


def build_interactions(
    events: pd.DataFrame,
    weights: Mapping[str, float] = DEFAULT_EVENT_WEIGHTS,
    *,
    half_life_days: float | None = None,
    now: datetime | pd.Timestamp | None = None,
    use_quantity: bool = False,
    user_map: IdMap | None = None,
    item_map: IdMap | None = None,
) -> Interactions:
    """Aggregate events into a weighted user x item matrix.

    Parameters
    ----------
    events:
        Data frame with at least ``user_id``, ``item_id`` and ``event_type``; ``timestamp`` when
        ``half_life_days`` is set, ``quantity`` when ``use_quantity`` is set.
        Event types missing from ``weights`` contribute nothing; rows without a user or item
        id are skipped.
    weights:
        Strength per event type (see :data:`DEFAULT_EVENT_WEIGHTS`).
    half_life_days:
        If set, an event ``d`` days before ``now`` counts ``0.5 ** (d / half_life_days)`` times.
        Events after ``now`` count fully (age clipped at 0).
    now:
        Reference time for the decay; defaults to the latest event timestamp.
    use_quantity:
        Multiply each event's weight by its ``quantity`` (default: one event counts once,
        so a bulk order of 100 units does not drown everything else).
    user_map, item_map:
        Fixed id maps (for example the training maps when building a test matrix). Events
        whose user or item is not in a given map are dropped. Without a map, the distinct ids
        of ``events`` are used, sorted.
    """
    missing = [c for c in (Columns.USER_ID, Columns.ITEM_ID, Columns.EVENT_TYPE) if c not in events]
    if half_life_days is not None and Columns.TIMESTAMP not in events:
        missing.append(Columns.TIMESTAMP)
    if use_quantity and Columns.QUANTITY not in events:
        missing.append(Columns.QUANTITY)
    if missing:
        raise DataError(f"events are missing column(s): {', '.join(missing)}")
    if half_life_days is not None and half_life_days <= 0:
        raise ValueError("half_life_days must be positive")

    # events without a user or item cannot be placed in the matrix
    events = events[events[Columns.USER_ID].notna() & events[Columns.ITEM_ID].notna()]
    value = _event_weights(events, weights)
    if use_quantity:
        value = value * events[Columns.QUANTITY].fillna(1).to_numpy(dtype=np.float64)
    if half_life_days is not None and len(events):
        ts = pd.to_datetime(events[Columns.TIMESTAMP])
        ref = pd.Timestamp(now) if now is not None else ts.max()
        age_days = ((ref - ts).dt.total_seconds() / 86400.0).clip(lower=0).to_numpy()
        value = value * np.power(0.5, age_days / half_life_days)

    users, rows = _positions(events[Columns.USER_ID], user_map, "user")
    items, cols = _positions(events[Columns.ITEM_ID], item_map, "item")
    keep = (rows >= 0) & (cols >= 0) & (value != 0)

    matrix = sp.coo_matrix(
        (value[keep], (rows[keep], cols[keep])), shape=(len(users), len(items))
    ).tocsr()  # duplicates are summed here
    matrix.data = np.clip(matrix.data, 0.0, None)
    matrix.eliminate_zeros()
    matrix = matrix.astype(np.float32)
    matrix.sort_indices()
    return Interactions(matrix=matrix, users=users, items=items)
