"""EASE's dense closed form, its weights and its cost, shared by :class:`~shopguide.recommend.
ease.EASE` (every item) and :class:`~shopguide.recommend.ease_large.EASELarge` (the head items).

Kept apart from both so that neither model module imports the other back.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from shopguide.recommend.cost import TIME_CONSTANTS, Cost, pair_count

__all__ = ["dense_ease_cost", "dense_ease_weights"]


def dense_ease_weights(user_items: sp.csr_matrix, regularization: float) -> np.ndarray:
    """EASE's closed form on every column of ``user_items``, as float32 weights.

    numpy's inverse is used on purpose: with scipy's in-place ``inv(overwrite_a=True)``
    (less than half the memory) the fit on the 19,575 items of Complete Journey died with
    SIGSEGV. Peak: the float64 Gram, numpy's copy of it, the identity it solves against and
    the result (``32 n²`` bytes, measured); the scaling then runs in place.
    """
    n_items = user_items.shape[1]
    gram = (user_items.T @ user_items).astype(np.float64).toarray()
    gram[np.diag_indices(n_items)] += regularization
    precision = np.linalg.inv(gram)
    del gram
    precision /= -np.diag(precision)
    precision[np.diag_indices(n_items)] = 0.0
    return precision.astype(np.float32)


def dense_ease_cost(n_users: int, n_items: int, n_interactions: int) -> Cost:
    """Peak memory and time of the dense closed form on ``n_items`` items."""
    pairs = pair_count(n_users, n_items, n_interactions, axis=1)
    dense = 32 * n_items**2  # float64 Gram, numpy's copy, the identity and the inverse
    sparse_gram = int(min(pairs, n_items**2) * 12)
    seconds = TIME_CONSTANTS["dense_inverse"] * n_items**3 + TIME_CONSTANTS["sparse_gram"] * pairs
    return Cost(dense + sparse_gram, seconds, f"dense {n_items:,} x {n_items:,} inverse")
