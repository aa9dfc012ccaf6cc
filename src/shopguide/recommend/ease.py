"""EASE (Steck 2019, "Embarrassingly Shallow Autoencoders for Sparse Data").

Closed form: ``P = (XᵀX + λI)⁻¹``, ``B = I - P / diag(P)`` (column-wise), ``diag(B) = 0``;
``score(u, ·) = x_u B``. ``B`` is a dense item x item matrix by construction, so the model
refuses more than ``max_items`` items (20,000 by default: 1.6 GB of float32) unless raised.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from shopguide.errors import ParameterError
from shopguide.recommend.base import Recommender, ScoreBlock

__all__ = ["EASE"]


class EASE(Recommender):
    """Item-item linear autoencoder with a closed-form solution (dense item x item weights)."""

    model_name = "ease"

    def __init__(self, regularization: float = 500.0, max_items: int = 20_000) -> None:
        self.regularization = regularization
        self.max_items = max_items

    def _fit(self, user_items: sp.csr_matrix, **_: Any) -> None:
        n_items = user_items.shape[1]
        if n_items > self.max_items:
            raise ParameterError(
                f"EASE builds a dense {n_items} x {n_items} matrix "
                f"({n_items * n_items * 8 / 1e9:.1f} GB while solving); refusing above "
                f"max_items={self.max_items}. Raise max_items if the machine has the memory, "
                "or use item-knn / als."
            )
        if self.regularization <= 0:
            raise ParameterError("regularization must be positive")
        gram = (user_items.T @ user_items).toarray().astype(np.float64)
        gram[np.diag_indices(n_items)] += self.regularization
        precision = np.linalg.inv(gram)
        weights = precision / (-np.diag(precision))
        weights[np.diag_indices(n_items)] = 0.0
        self.weights_ = weights.astype(np.float32)

    def _score_block(self, user_rows: np.ndarray, user_items: sp.csr_matrix) -> ScoreBlock:
        return np.asarray(user_items @ self.weights_, dtype=np.float32)

    def _similar_items_block(self, item_rows: np.ndarray) -> ScoreBlock:
        return self.weights_[item_rows]

    def _get_arrays(self) -> dict[str, Any]:
        return {"weights": self.weights_}

    def _set_arrays(self, arrays: dict[str, Any]) -> None:
        self.weights_ = arrays["weights"]
