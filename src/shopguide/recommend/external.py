"""Recommendations on external ids, returned as a data frame (the RecTools way of asking).

Every recommender mixes in :class:`ExternalIds`. A model fitted on an
:class:`~shopguide.data.matrix.Interactions` (a matrix with its user and item id maps) is bound
to it; a model fitted on a bare matrix, or loaded from disk, is bound with :meth:`bind`::

    inter = build_interactions(events)
    model = create_model("item-knn").fit(inter)
    model.recommend_users(["12347", "12348"], n=10)   # user_id, rank, item_id, score

The binding is not saved with the model: bind a loaded model to the interactions it serves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopguide.data.matrix import Interactions
from shopguide.errors import NotBoundError, NotFittedError
from shopguide.recommend.ranked import ranked_frame

__all__ = ["ExternalIds"]

B = TypeVar("B", bound="ExternalIds")


class _Model(Protocol):
    n_users_: int
    n_items_: int

    def recommend(
        self, user_rows: Any, user_items: Any, n: int = ..., filter_already_liked: bool = ...,
        items_allowed: Any = ..., items_blocked: Any = ..., *, repurchasable: Any = ...,
        full_matrix: bool | None = ...,
    ) -> tuple[np.ndarray, np.ndarray]: ...  # fmt: skip


class ExternalIds:
    """Calls on external user and item ids for a model bound to its interactions."""

    interactions_: Interactions

    def bind(self: B, interactions: Interactions) -> B:
        """Attach the interactions (matrix and id maps) the model answers about; returns
        ``self``. The matrix must have the shape the model was fitted on."""
        model: Any = self
        if not hasattr(model, "n_items_"):
            raise NotFittedError(type(self).__name__)
        if not isinstance(interactions, Interactions):
            raise TypeError(
                "bind takes an Interactions (matrix and id maps), got "
                f"{type(interactions).__name__}"
            )
        if interactions.shape != (model.n_users_, model.n_items_):
            raise ValueError(
                f"the interactions are {interactions.shape[0]} users x {interactions.shape[1]} "
                f"items; the model was fitted on {model.n_users_} x {model.n_items_}"
            )
        self.interactions_ = interactions
        return self

    def recommend_users(
        self,
        user_ids: Sequence[object],
        n: int = 10,
        *,
        filter_already_liked: bool = True,
        items_blocked: Sequence[object] = (),
    ) -> pd.DataFrame:
        """Top-``n`` items for each external user id, as rows ``user_id, rank, item_id,
        score`` (best first per user, users in the order given).

        Each user is scored from their own row of the bound interactions. Unknown user ids
        raise :class:`~shopguide.errors.UnknownIdError` naming them (use the cold-start
        helpers for new users); unknown ids in ``items_blocked`` are ignored.
        """
        inter = getattr(self, "interactions_", None)
        if inter is None:
            raise NotBoundError(type(self).__name__)
        model: _Model = self  # type: ignore[assignment]
        ids = [str(u) for u in user_ids]
        rows = inter.users.to_internal(ids)
        blocked = inter.items.to_internal(list(items_blocked), unknown="drop")
        history = sp.csr_matrix(inter.matrix)[rows]
        found, scores = model.recommend(
            rows, history, n=n, filter_already_liked=filter_already_liked,
            items_blocked=blocked if len(blocked) else None, full_matrix=False,
        )  # fmt: skip
        return ranked_frame(found, scores, ids, inter.items)
