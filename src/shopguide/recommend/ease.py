"""EASE (Steck 2019, "Embarrassingly Shallow Autoencoders for Sparse Data").

Closed form: ``P = (XᵀX + λI)⁻¹``, ``B = I - P / diag(P)`` (column-wise), ``diag(B) = 0``;
``score(u, ·) = x_u B``. ``B`` is a dense item x item matrix by construction: fitting holds
the float64 Gram (inverted in place by Cholesky) and the float32 result at its peak, about
``12-16 n²`` bytes.
The model refuses more than ``max_items`` items (20,000 by default) unless raised; ``train``
and ``compare`` switch to :class:`~shopguide.recommend.ease_large.EASELarge` (``ease-large``)
past ``DENSE_ITEMS_LIMIT`` items or when the dense solve would pass the memory budget.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from shopguide.errors import ParameterError
from shopguide.recommend.base import Recommender, ScoreBlock
from shopguide.recommend.cost import Cost
from shopguide.recommend.ease_closed_form import dense_ease_cost, dense_ease_weights

__all__ = ["DENSE_ITEMS_LIMIT", "EASE", "dense_ease_cost"]

#: Above this many items ``train``/``compare`` fit ``ease-large`` instead of dense EASE: the
#: dense solve then takes minutes and gigabytes for no measurable gain (docs/benchmarks.md).
DENSE_ITEMS_LIMIT = 8_000
_DEFAULT_MAX_ITEMS = 20_000


class EASE(Recommender):
    """Item-item linear autoencoder with a closed-form solution (dense item x item weights)."""

    model_name = "ease"
    scores_from_history = True

    def __init__(self, regularization: float = 500.0, max_items: int = _DEFAULT_MAX_ITEMS) -> None:
        self.regularization = regularization
        self.max_items = max_items

    def _fit(self, user_items: sp.csr_matrix, weights: np.ndarray | None = None, **_: Any) -> None:
        """``weights``: the closed form already solved for this λ on this matrix (the λ
        search of :mod:`shopguide.recommend.ease_path` shares one Gram matrix)."""
        n_items = user_items.shape[1]
        if n_items > self.max_items:
            raise ParameterError(
                f"EASE builds a dense {n_items} x {n_items} matrix "
                f"(about {n_items * n_items * 32 / 1e9:.1f} GB while solving); refusing above "
                f"max_items={self.max_items}. Raise max_items if the machine has the memory, "
                "or use item-knn / als."
            )
        if self.regularization <= 0:
            raise ParameterError("regularization must be positive")
        if weights is not None:
            if weights.shape != (n_items, n_items):
                raise ValueError(f"weights must be {n_items} x {n_items}, got {weights.shape}")
            self.weights_ = weights
            return
        self.weights_ = dense_ease_weights(user_items, self.regularization)

    def estimate_cost(self, n_users: int, n_items: int, n_interactions: int) -> Cost:
        """Dense ``n_items²`` Gram and inverse: memory ``~16 n²`` bytes, time ``~c n³``."""
        return dense_ease_cost(n_users, n_items, n_interactions)

    def needs_adapting(self, n_items: int) -> bool:
        """Whether ``train``/``compare`` should fit ``ease-large`` instead: past ``max_items``,
        or past :data:`DENSE_ITEMS_LIMIT` unless ``max_items`` was changed from its default
        (``--param max_items=30000`` asks for the dense solve; the memory budget still holds)."""
        limit = DENSE_ITEMS_LIMIT if self.max_items == _DEFAULT_MAX_ITEMS else self.max_items
        return n_items > limit

    def within_budget(
        self, n_users: int, n_items: int, n_interactions: int, budget_bytes: int
    ) -> Recommender | None:
        """``ease-large`` with as many dense items as the budget allows."""
        from shopguide.recommend.ease_large import EASELarge

        return EASELarge.fitting(
            n_users, n_items, n_interactions, budget_bytes, regularization=self.regularization
        )

    def _score_block(self, user_rows: np.ndarray, user_items: sp.csr_matrix) -> ScoreBlock:
        return np.asarray(user_items @ self.weights_, dtype=np.float32)

    def _similar_items_block(self, item_rows: np.ndarray) -> ScoreBlock:
        return self.weights_[item_rows]

    def _get_arrays(self) -> dict[str, Any]:
        return {"weights": self.weights_}

    def _set_arrays(self, arrays: dict[str, Any]) -> None:
        self.weights_ = arrays["weights"]
