"""EASE for catalogues too large for a dense item x item inverse (``ease-large``).

Interactions in shops are concentrated: on Complete Journey the most bought quarter of the
items carries most purchases and nearly every test purchase. This model solves EASE's
closed form exactly on the ``dense_items`` most popular items (the *head*, by number of
users) and scores the remaining *tail* items with item-KNN (cosine, ``k`` neighbours per
item, summed over the user's items), rescaled to the EASE scores by least squares on the
head, where both models score. The dense part costs ``~32 M²`` bytes and ``~c M³`` seconds
for ``M = dense_items``, whatever the catalogue size; the tail costs what item-KNN costs.

With ``dense_items`` at least the number of items this is dense EASE plus nothing. The
comparison with dense EASE where both fit is in ``docs/benchmarks.md``
(``benchmarks/bench_ease_large.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from shopguide.errors import ParameterError
from shopguide.recommend.base import Recommender, ScoreBlock
from shopguide.recommend.cost import Cost, format_bytes
from shopguide.recommend.ease_closed_form import dense_ease_cost, dense_ease_weights
from shopguide.recommend.knn import ItemKNN

__all__ = ["EASELarge"]

#: Users sampled to fit the scale between tail (KNN) and head (EASE) scores.
_SCALE_SAMPLE = 2000


class EASELarge(Recommender):
    """EASE on the ``dense_items`` most popular items, item-KNN on the rest.

    Parameters
    ----------
    regularization:
        EASE's λ on the head.
    dense_items:
        Items solved densely (the head); memory grows as ``32 * dense_items²`` bytes.
    k:
        Neighbours per item for the tail's item-KNN.
    """

    model_name = "ease-large"
    scores_from_history = True

    def __init__(self, regularization: float = 500.0, dense_items: int = 3_000, k: int = 100):
        self.regularization = regularization
        self.dense_items = dense_items
        self.k = k

    # --- cost ------------------------------------------------------------------------
    def estimate_cost(self, n_users: int, n_items: int, n_interactions: int) -> Cost:
        """Dense EASE on ``min(dense_items, n_items)`` items plus item-KNN on all."""
        head = min(self.dense_items, n_items)
        dense = dense_ease_cost(n_users, head, n_interactions)
        knn = ItemKNN(k=self.k).estimate_cost(n_users, n_items, n_interactions)
        scoring = 16 * head * max(1, min(n_users, _SCALE_SAMPLE))  # the scale's sample
        return Cost(
            dense.memory_bytes + knn.memory_bytes + scoring,
            dense.seconds + knn.seconds,
            f"dense {head:,} x {head:,} EASE + item-KNN (k={self.k}) on {n_items:,} items",
        )

    @classmethod
    def fitting(
        cls,
        n_users: int,
        n_items: int,
        n_interactions: int,
        budget_bytes: int,
        *,
        regularization: float = 500.0,
        k: int = 100,
    ) -> EASELarge | None:
        """The model with the largest head (at most the default) inside ``budget_bytes``."""
        head = min(cls().dense_items, n_items)
        while head >= 100:
            model = cls(regularization=regularization, dense_items=head, k=k)
            if model.estimate_cost(n_users, n_items, n_interactions).memory_bytes <= budget_bytes:
                return model
            head = int(head * 0.8)
        return None

    def within_budget(
        self, n_users: int, n_items: int, n_interactions: int, budget_bytes: int
    ) -> Recommender | None:
        """A smaller head when this one does not fit."""
        return self.fitting(
            n_users, n_items, n_interactions, budget_bytes,
            regularization=self.regularization, k=self.k,
        )  # fmt: skip

    # --- fitting ---------------------------------------------------------------------
    def head_items(self, user_items: sp.csr_matrix) -> np.ndarray:
        """The ``dense_items`` items with the most users (sorted indices), the dense head."""
        n_items = user_items.shape[1]
        popularity = np.bincount(user_items.indices, minlength=n_items)
        order = np.argsort(-popularity, kind="stable")
        return np.sort(order[: min(self.dense_items, n_items)]).astype(np.int64)

    def _fit(
        self, user_items: sp.csr_matrix, head_weights: np.ndarray | None = None, **_: Any
    ) -> None:
        """``head_weights``: EASE already solved on :meth:`head_items` for this λ (the λ
        search of :mod:`shopguide.recommend.ease_path` shares the head's Gram matrix)."""
        if self.regularization <= 0:
            raise ParameterError("regularization must be positive")
        if self.dense_items < 1 or self.k < 1:
            raise ParameterError("dense_items and k must be >= 1")
        n_items = user_items.shape[1]
        head = self.head_items(user_items)
        tail = np.setdiff1d(np.arange(n_items, dtype=np.int64), head)
        self.head_ = head
        self.tail_ = tail
        if head_weights is not None and head_weights.shape != (len(head), len(head)):
            raise ValueError(f"head_weights must be {len(head)} x {len(head)}")
        self.weights_ = (
            head_weights
            if head_weights is not None
            else dense_ease_weights(user_items[:, head], self.regularization)
        )
        if len(tail):
            knn = ItemKNN(k=self.k, normalize="none").fit(user_items)
            # knn.neighbours_[j, i]: the weight item j gives candidate i
            to_items = sp.csr_matrix(knn.neighbours_.T, dtype=np.float32)
            self.tail_neighbours_ = sp.csr_matrix(to_items[:, tail])
            self.tail_scale_ = np.array([self._fit_scale(user_items, to_items)], np.float32)
        else:
            self.tail_neighbours_ = sp.csr_matrix((n_items, 0), dtype=np.float32)
            self.tail_scale_ = np.ones(1, dtype=np.float32)

    def _fit_scale(self, user_items: sp.csr_matrix, to_items: sp.csr_matrix) -> float:
        """Least-squares factor putting KNN scores on the EASE scale, fitted on the head."""
        rng = np.random.default_rng(0)
        users = user_items.shape[0]
        rows = np.sort(rng.choice(users, size=min(users, _SCALE_SAMPLE), replace=False))
        sample = user_items[rows]
        ease = np.asarray(sample[:, self.head_] @ self.weights_, dtype=np.float64)
        knn = (sample @ to_items[:, self.head_]).toarray().astype(np.float64)
        denominator = float((knn * knn).sum())
        scale = float((ease * knn).sum()) / denominator if denominator > 0 else 0.0
        return scale if scale > 0 else 1.0

    # --- scoring ---------------------------------------------------------------------
    def _score_block(self, user_rows: np.ndarray, user_items: sp.csr_matrix) -> ScoreBlock:
        return self._scores(user_items)

    def _scores(self, rows: sp.csr_matrix) -> np.ndarray:
        out = np.zeros((rows.shape[0], self.n_items_), dtype=np.float32)
        out[:, self.head_] = rows[:, self.head_] @ self.weights_
        if len(self.tail_):
            tail = (rows @ self.tail_neighbours_).toarray()
            out[:, self.tail_] = tail * self.tail_scale_[0]
        return out

    def _similar_items_block(self, item_rows: np.ndarray) -> ScoreBlock:
        # an item's neighbours: the scores of a basket holding that item only
        one_hot = sp.csr_matrix(
            (np.ones(len(item_rows), np.float32), (np.arange(len(item_rows)), item_rows)),
            shape=(len(item_rows), self.n_items_),
        )
        return self._scores(one_hot)

    def describe(self) -> str:
        """One line on the fitted split, e.g. for logs."""
        self._check_fitted()
        return (
            f"ease-large: dense EASE on {len(self.head_):,} items "
            f"({format_bytes(self.weights_.nbytes)}), item-KNN on {len(self.tail_):,}"
        )

    # --- persistence -----------------------------------------------------------------
    def _get_arrays(self) -> dict[str, Any]:
        return {
            "head": self.head_,
            "tail": self.tail_,
            "weights": self.weights_,
            "tail_neighbours": self.tail_neighbours_,
            "tail_scale": self.tail_scale_,
        }

    def _set_arrays(self, arrays: dict[str, Any]) -> None:
        self.head_ = arrays["head"]
        self.tail_ = arrays["tail"]
        self.weights_ = arrays["weights"]
        self.tail_neighbours_ = arrays["tail_neighbours"]
        self.tail_scale_ = arrays["tail_scale"]
