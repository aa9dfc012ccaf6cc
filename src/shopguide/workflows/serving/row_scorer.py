"""Scoring one user with one compiled pass: the row scorer and the filters' category index.

Built once per snapshot, so that a request for an item- or user-KNN recommendation touches only
plain arrays: no scipy matrix product, no DataFrame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import scipy.sparse as sp

from shopguide.recommend._kernels import row_product_top_n
from shopguide.recommend.base import Recommender
from shopguide.recommend.rules import ItemCatalog

__all__ = ["NO_DATA", "NO_INDICES", "NO_MASK", "RowScorer", "category_index"]


@dataclass(frozen=True)
class RowScorer:
    """Scores one user for models whose scores are a sparse product ``left @ right``.

    Built once per snapshot from the model's :meth:`~Recommender.sparse_product` (the one its batch
    ``recommend`` fuses with top-n): ``right`` is fixed, and ``left`` is either the user's own
    interaction row (item-KNN: ``own_row``) or the model's row of the user (user-KNN: rows of
    ``left``). Answers equal ``model.recommend`` for the same row, filters and ``n``.
    """

    right_indptr: np.ndarray
    right_indices: np.ndarray
    right_data: np.ndarray
    rated: int
    n_items: int
    own_row: bool
    left: sp.csr_matrix | None = None

    @classmethod
    def for_model(cls, model: Recommender) -> RowScorer | None:
        """The scorer of ``model``, or ``None`` when its scores are not a sparse product."""
        n_items = int(model.n_items_)
        probe = sp.csr_matrix((1, n_items), dtype=np.float32)
        product = model.sparse_product(np.zeros(1, dtype=np.int64), probe)
        if product is None:
            return None
        left, right, rated = product
        own_row = left is probe
        if not own_row:  # rows depend on the user index only: take them all once
            left = sp.csr_matrix(
                model.sparse_product(np.arange(model.n_users_, dtype=np.int64), probe)[0]  # type: ignore[index]
            )
        right = sp.csr_matrix(right)
        # unsigned, narrowest column indices: no negative-index check in the scatter-add, and
        # fewer bytes to pull into the cache per request (a request finds them cold)
        kind = np.uint16 if n_items <= 2**16 else np.uint32 if n_items <= 2**32 else np.int64
        indices = right.indices.astype(kind)
        scorer = cls(
            right.indptr, indices, right.data, int(rated), n_items, own_row,
            None if own_row else left,
        )  # fmt: skip
        scorer.top_n(0, np.zeros(0, np.int32), np.zeros(0, np.float32), None, 1)  # compile now
        return scorer

    def top_n(
        self,
        index: int | None,
        indices: np.ndarray,
        data: np.ndarray,
        excluded: np.ndarray | None,
        n: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``n`` items (ids, scores; ``-1`` padded) of the user with model row ``index`` and
        interactions ``indices``/``data``; their items and ``excluded`` are never returned."""
        if self.own_row:
            l_indices, l_data = indices, data
        elif index is None or self.left is None:
            return np.full(n, -1, np.int32), np.full(n, -np.inf, np.float32)
        else:
            lo, hi = self.left.indptr[index], self.left.indptr[index + 1]
            l_indices, l_data = self.left.indices[lo:hi], self.left.data[lo:hi]
        return row_product_top_n(
            l_indices, l_data, self.right_indptr, self.right_indices, self.right_data,
            self.rated, indices, NO_MASK if excluded is None else excluded,
            self.n_items, int(n),
        )  # fmt: skip


NO_MASK: Final = np.zeros(0, dtype=np.bool_)
NO_INDICES: Final = np.zeros(0, dtype=np.int32)
NO_DATA: Final = np.zeros(0, dtype=np.float32)


def category_index(catalog: ItemCatalog) -> dict[str, np.ndarray]:
    """Every category path prefix (normalised ``"A > B"``) -> the item indices at or below it.

    ``IncludeCategories``/``ExcludeCategories`` match an item when its normalised path equals a
    wanted category or starts with it plus ``" > "``: exactly the prefixes listed here.
    """
    found: dict[str, list[int]] = {}
    for i, cat in enumerate(catalog.category.tolist()):
        if not isinstance(cat, str):
            continue
        parts = [part.strip() for part in cat.split(">")]
        for depth in range(1, len(parts) + 1):
            found.setdefault(" > ".join(parts[:depth]), []).append(i)
    return {key: np.asarray(rows, dtype=np.int64) for key, rows in found.items()}
