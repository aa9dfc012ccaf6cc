"""Popularity baselines: global, trending and per segment.

- **global**: items ranked by how many users interacted with them (``measure="users"``) or
  by their summed strength (``measure="weight"``).
- **trending**: the same on a time-decayed matrix — build it with
  ``build_interactions(events, half_life_days=7)`` and fit :class:`Popular` on it with
  ``measure="weight"``; recent interest then outweighs old interest.
- **per segment**: pass ``user_segments`` (one integer per user, ``-1`` = unknown) to ``fit``;
  a user is scored by the popularity within their segment, ties and items the segment never
  touched falling back to the global order (``-1`` users get the global order).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from shopguide.errors import ParameterError
from shopguide.recommend.base import Recommender, ScoreBlock
from shopguide.recommend.cost import TIME_CONSTANTS, Cost

__all__ = ["Popular"]


def _popularity(user_items: sp.csr_matrix, measure: str) -> np.ndarray:
    if measure == "users":
        return np.bincount(user_items.indices, minlength=user_items.shape[1]).astype(np.float64)
    if measure == "weight":
        return np.asarray(user_items.sum(axis=0), dtype=np.float64).ravel()
    raise ParameterError(f"measure must be 'users' or 'weight', got {measure!r}")


class Popular(Recommender):
    """Recommend the most popular items (globally, or within each user's segment)."""

    model_name = "popular"

    def __init__(self, measure: Literal["users", "weight"] = "users") -> None:
        self.measure = measure

    def estimate_cost(self, n_users: int, n_items: int, n_interactions: int) -> Cost:
        """A count per item (and per segment and item when segments are given)."""
        return Cost(
            8 * n_items + 8 * n_users + 12 * n_interactions,
            TIME_CONSTANTS["count"] * n_interactions,
            "one count per item",
        )

    def _fit(
        self, user_items: sp.csr_matrix, user_segments: np.ndarray | None = None, **_: Any
    ) -> None:
        self.global_ = _popularity(user_items, self.measure)
        n_users = user_items.shape[0]
        if user_segments is None:
            segments = np.full(n_users, -1, dtype=np.int64)
        else:
            segments = np.asarray(user_segments, dtype=np.int64)
            if segments.shape != (n_users,):
                raise ValueError(f"user_segments must have one entry per user ({n_users})")
        n_segments = int(segments.max(initial=-1)) + 1
        per_segment = np.zeros((n_segments, user_items.shape[1]), dtype=np.float64)
        for seg in range(n_segments):
            per_segment[seg] = _popularity(user_items[segments == seg], self.measure)
        self.user_segments_ = segments
        self.segment_scores_ = per_segment

    def _tie_breaker(self) -> np.ndarray:
        """Global popularity scaled below the smallest step of segment popularity."""
        top = float(self.global_.max(initial=0.0))
        return self.global_ / (top + 1.0) * 1e-3 if top > 0 else self.global_

    def segment_of(self, user_rows: np.ndarray | Sequence[int]) -> np.ndarray:
        """Segment of each user row (``-1`` = none)."""
        self._check_fitted()
        return self.user_segments_[np.asarray(user_rows, dtype=np.int64)]

    def scores_for_segments(self, segments: np.ndarray) -> np.ndarray:
        """Dense scores per requested segment id (``-1`` or unknown id -> global order)."""
        self._check_fitted()
        seg = np.asarray(segments, dtype=np.int64)
        out = np.broadcast_to(self.global_, (len(seg), len(self.global_))).astype(np.float32)
        known = (seg >= 0) & (seg < len(self.segment_scores_))
        if known.any():
            out[known] = (self.segment_scores_[seg[known]] + self._tie_breaker()).astype(np.float32)
        return out

    def _score_block(self, user_rows: np.ndarray, user_items: sp.csr_matrix) -> ScoreBlock:
        return self.scores_for_segments(self.user_segments_[user_rows])

    def _get_arrays(self) -> dict[str, Any]:
        return {
            "global": self.global_,
            "user_segments": self.user_segments_,
            "segment_scores": self.segment_scores_,
        }

    def _set_arrays(self, arrays: dict[str, Any]) -> None:
        self.global_ = arrays["global"]
        self.user_segments_ = arrays["user_segments"]
        self.segment_scores_ = arrays["segment_scores"]
