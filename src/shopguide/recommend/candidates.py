"""Ranking a given set of items completely: :meth:`RankItems.rank_items`.

``recommend(items_allowed=...)`` is a filter: a neighbourhood model (item-/user-KNN, whose
scores are a sparse product) returns only the allowed items some neighbour reaches, and pads
the rest with ``-1``. Ranking a candidate list (the items of a promotion, a page of search
results) needs every candidate back. :meth:`RankItems.rank_items` gives that for every model:

- every candidate comes back once per user (only the user's own items are left out, and only
  with ``filter_already_liked=True``);
- the order is by the model's score, highest first; ties between equal non-zero scores go to
  the lower item index, as in ``recommend``;
- items scored exactly 0 are ordered among themselves by popularity in the training data (the
  number of users who interacted with the item, most first), then by the lower item index. For
  the neighbourhood models these are the items no neighbour reaches: their score is the empty
  sum, 0, and the model has nothing better to rank them by. The service's popularity fallback
  uses the same order (users per item, ties to the lower index).

Models saved before the popularity was recorded (or fitted outside ``fit``, such as by the
Spark engine) have no popularity: their 0-scored items fall back to the index order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp

__all__ = ["RankItems", "fallback_rank", "item_users"]

#: Cells (users x candidates) reordered at once.
CELL_BUDGET = 4_000_000


class _Model(Protocol):
    n_items_: int

    def _rows_of(self, user_rows: np.ndarray, user_items: Any, full_matrix: bool | None) -> Any: ...

    def recommend(
        self, user_rows: Any, user_items: Any, n: int = ..., filter_already_liked: bool = ...,
        items_allowed: Any = ..., items_blocked: Any = ..., *, repurchasable: Any = ...,
        full_matrix: bool | None = ...,
    ) -> tuple[np.ndarray, np.ndarray]: ...  # fmt: skip


def item_users(indices: np.ndarray, n_items: int) -> np.ndarray:
    """Users per item from the column indices of a canonical user x item CSR matrix."""
    return np.bincount(np.asarray(indices, dtype=np.int64), minlength=n_items).astype(np.int64)


def fallback_rank(popularity: np.ndarray | None, n_items: int) -> np.ndarray:
    """Each item's position in the order "most users first, then lower index" (``None``:
    the index order)."""
    if popularity is None or len(popularity) != n_items:
        return np.arange(n_items, dtype=np.int64)
    order = np.lexsort((np.arange(n_items), -np.asarray(popularity, dtype=np.float64)))
    rank = np.empty(n_items, dtype=np.int64)
    rank[order] = np.arange(n_items, dtype=np.int64)
    return rank


def _candidate_indices(candidates: np.ndarray | Sequence[int], n_items: int) -> np.ndarray:
    """Sorted distinct item indices from a boolean mask over items or an index array."""
    arr = np.asarray(candidates)
    if arr.dtype == bool:
        if arr.shape != (n_items,):
            raise ValueError(f"candidates mask must have shape ({n_items},), got {arr.shape}")
        return np.flatnonzero(arr).astype(np.int64)
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"candidates must be item indices or a boolean mask, got {arr.dtype}")
    idx = np.unique(arr.astype(np.int64).ravel())
    if idx.size and (idx[0] < 0 or idx[-1] >= n_items):
        raise IndexError(f"candidates contain item indices outside 0..{n_items - 1}")
    return idx


class RankItems:
    """Mixin of :class:`~shopguide.recommend.base.Recommender`: complete candidate ranking."""

    #: Users per item in the training matrix (``None`` when unknown), set by ``fit``.
    item_users_: np.ndarray | None = None

    def rank_items(
        self,
        user_rows: np.ndarray | Sequence[int] | int,
        user_items: Any,
        candidates: np.ndarray | Sequence[int],
        *,
        filter_already_liked: bool = False,
        full_matrix: bool | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Every candidate item ranked for each user, scored ones by score (see the module
        docstring for the order and its tie rules).

        Parameters
        ----------
        user_rows, user_items, full_matrix:
            As in :meth:`~shopguide.recommend.base.Recommender.recommend`.
        candidates:
            The items to rank: a boolean mask over items or an array of item indices
            (duplicates count once).
        filter_already_liked:
            Leave out the candidates the user has a stored interaction with (off by default:
            a given list is ranked whole).

        Returns
        -------
        ids, scores:
            ``int32 [users, c]`` and ``float32 [users, c]`` for ``c`` distinct candidates, best
            first; items no part of the model scores have score 0. Only left-out items pad a
            row, with ``-1`` / ``-inf`` at its end.
        """
        model: _Model = self  # type: ignore[assignment]
        wanted = _candidate_indices(candidates, model.n_items_)
        ids, scores = model.recommend(
            user_rows, user_items, n=len(wanted), filter_already_liked=filter_already_liked,
            items_allowed=wanted, full_matrix=full_matrix,
        )  # fmt: skip
        seen = None
        if filter_already_liked and len(wanted):
            seen = _seen_candidates(model, user_rows, user_items, wanted, full_matrix)
        tie = fallback_rank(self.item_users_, model.n_items_)
        return _complete(ids, scores, wanted, tie, seen)


def _seen_candidates(
    model: _Model, user_rows: Any, user_items: Any, wanted: np.ndarray, full_matrix: bool | None
) -> sp.csr_matrix:
    """Users x candidates: a stored cell where the user has a stored interaction with the
    candidate (what ``recommend`` leaves out as already liked)."""
    rows = np.atleast_1d(np.asarray(user_rows, dtype=np.int64))
    matrix = sp.csr_matrix(model._rows_of(rows, user_items, full_matrix), copy=True)
    matrix.data = np.ones_like(matrix.data)  # explicit zeros are stored interactions too
    return sp.csr_matrix(matrix[:, wanted])


def _complete(
    ids: np.ndarray,
    scores: np.ndarray,
    wanted: np.ndarray,
    tie: np.ndarray,
    seen: sp.csr_matrix | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Put every candidate in each row: returned ones keep their scores, the rest score 0;
    order by score, ties at 0 by ``tie`` (popularity rank), other ties by index."""
    users, width = len(ids), len(wanted)
    out_ids = np.full((users, width), -1, dtype=np.int32)
    out_scores = np.full((users, width), -np.inf, dtype=np.float32)
    if users == 0 or width == 0:
        return out_ids, out_scores
    position = np.full(int(max(wanted.max(), ids.max(initial=0))) + 1, -1, dtype=np.int64)
    position[wanted] = np.arange(width)
    step = max(1, CELL_BUDGET // width)
    for lo in range(0, users, step):
        hi = min(users, lo + step)
        block = np.zeros((hi - lo, width), dtype=np.float32)
        got = ids[lo:hi] >= 0
        block[np.nonzero(got)[0], position[ids[lo:hi][got]]] = scores[lo:hi][got]
        if seen is not None:
            block[seen[lo:hi].toarray() > 0] = -np.inf
        tie_key = np.where(block == 0, tie[wanted], wanted)
        order = np.lexsort((tie_key, -block), axis=-1)
        sorted_scores = np.take_along_axis(block, order, axis=1)
        out_scores[lo:hi] = sorted_scores
        out_ids[lo:hi] = np.where(np.isneginf(sorted_scores), -1, wanted[order])
    return out_ids, out_scores
