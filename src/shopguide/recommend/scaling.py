"""Putting two models' scores for the same users on one scale before they are combined.

Used by the blend (:mod:`shopguide.recommend.blend`) and ``ease-next``
(:mod:`shopguide.recommend.ease_next`), which add a second model's scores to EASE's.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from shopguide.recommend.base import ScoreBlock

__all__ = ["normalised_scores", "seen_mask"]


def seen_mask(user_items: sp.csr_matrix) -> np.ndarray:
    """A dense boolean matrix: True where the user (row) has the item (column)."""
    mask = np.zeros(user_items.shape, dtype=bool)
    rows = np.repeat(np.arange(user_items.shape[0]), np.diff(user_items.indptr))
    mask[rows, user_items.indices] = True
    return mask


def normalised_scores(scores: ScoreBlock, seen: np.ndarray, how: str) -> np.ndarray:
    """One user per row on a common scale, computed over the items the user does not have
    (their own items' scores would stretch the scale, and they are filtered anyway)."""
    if sp.issparse(scores):
        dense = sp.csr_matrix(scores).toarray().astype(np.float32)
    else:
        dense = np.array(scores, dtype=np.float32)
    candidates = np.where(seen, np.nan, dense)
    with np.errstate(all="ignore"):
        if how == "zscore":
            centre = np.nanmean(candidates, axis=1, keepdims=True)
            spread = np.nanstd(candidates, axis=1, keepdims=True)
        else:
            centre = np.nanmin(candidates, axis=1, keepdims=True)
            spread = np.nanmax(candidates, axis=1, keepdims=True) - centre
    centre = np.nan_to_num(centre)
    spread = np.where(np.isfinite(spread) & (spread > 0), spread, 1.0)
    return ((dense - centre) / spread).astype(np.float32)
