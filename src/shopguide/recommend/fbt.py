"""Frequently bought together, from items that share an order.

For items ``a`` and ``b`` over ``N`` orders, with ``n(x)`` orders containing ``x``:

- support    ``s(a, b) = n(a, b) / N``
- confidence ``c(a -> b) = n(a, b) / n(a)``   (share of a's orders that also have b)
- lift       ``l(a, b) = c(a -> b) / (n(b) / N)``  (> 1: together more often than chance)

Computed per query item from the order x item matrix, so no item x item matrix is stored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopguide.columns import Columns, EventType
from shopguide.data.idmap import IdMap
from shopguide.errors import DataError, NotFittedError

__all__ = ["FrequentlyBoughtTogether", "Together", "order_item_matrix"]


def order_item_matrix(events: pd.DataFrame, item_map: IdMap) -> sp.csr_matrix:
    """Binary orders x items matrix from purchase events with an ``order_id``."""
    if Columns.ORDER_ID not in events:
        raise DataError("events have no order_id column: frequently-bought-together needs it")
    bought = events
    if Columns.EVENT_TYPE in events:
        bought = events[events[Columns.EVENT_TYPE] == EventType.PURCHASE]
    bought = bought[bought[Columns.ORDER_ID].notna()]
    orders, order_idx = np.unique(bought[Columns.ORDER_ID].astype(str), return_inverse=True)
    items = item_map.to_internal(bought[Columns.ITEM_ID].astype(str), unknown="mask")
    keep = items >= 0
    matrix = sp.csr_matrix(
        (np.ones(int(keep.sum()), dtype=np.float32), (order_idx[keep], items[keep])),
        shape=(len(orders), len(item_map)),
    )
    matrix.data[:] = 1.0  # an item twice in one order still counts once
    return matrix


@dataclass(frozen=True)
class Together:
    """Items bought together with a query item, best first."""

    items: np.ndarray
    pair_orders: np.ndarray
    support: np.ndarray
    confidence: np.ndarray
    lift: np.ndarray


class FrequentlyBoughtTogether:
    """Association rules ``item -> other item`` from order co-occurrence.

    Parameters
    ----------
    min_pair_orders:
        Pairs seen in fewer orders are ignored (lift of rare pairs is noise).
    rank_by:
        ``"confidence"`` (default), ``"lift"`` or ``"support"``.
    """

    def __init__(self, min_pair_orders: int = 2, rank_by: str = "confidence") -> None:
        if rank_by not in ("confidence", "lift", "support"):
            raise ValueError("rank_by must be 'confidence', 'lift' or 'support'")
        self.min_pair_orders = min_pair_orders
        self.rank_by = rank_by

    def fit(self, order_items: sp.spmatrix) -> FrequentlyBoughtTogether:
        matrix = sp.csr_matrix(order_items, dtype=np.float32, copy=True)
        matrix.data[:] = 1.0
        self.order_items_ = matrix
        self.item_orders_ = matrix.T.tocsr()
        self.item_counts_ = np.diff(self.item_orders_.indptr).astype(np.float64)
        self.n_orders_ = matrix.shape[0]
        return self

    def together(self, item_row: int, n: int = 10) -> Together:
        """The ``n`` items most often in the same orders as ``item_row``."""
        if not hasattr(self, "order_items_"):
            raise NotFittedError(type(self).__name__)
        orders = self.item_orders_[item_row].indices
        pair = np.asarray(self.order_items_[orders].sum(axis=0)).ravel()
        pair[item_row] = 0
        candidates = np.flatnonzero(pair >= max(self.min_pair_orders, 1))
        n_a = self.item_counts_[item_row]
        total = max(self.n_orders_, 1)
        support = pair[candidates] / total
        confidence = pair[candidates] / max(n_a, 1)
        lift = confidence / (self.item_counts_[candidates] / total)
        key = {"confidence": confidence, "lift": lift, "support": support}[self.rank_by]
        order = np.lexsort((candidates, -pair[candidates], -key))[:n]
        return Together(
            items=candidates[order].astype(np.int32),
            pair_orders=pair[candidates][order].astype(np.int64),
            support=support[order],
            confidence=confidence[order],
            lift=lift[order],
        )
