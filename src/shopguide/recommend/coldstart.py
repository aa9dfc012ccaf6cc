"""Cold start: recommendations when a user or an item has no history yet.

(a) :class:`AttributeColdStart` — a new user with only profile attributes (segment,
    location, age band, gender ...) gets the items most popular among known users with the
    same attributes; if fewer than ``min_users`` match, the least important attribute is
    dropped (backing off step by step down to the global popularity).
(b) :func:`session_recommend` — a visitor with a few items in the current session gets
    item-based CF scores computed from those items (:class:`ItemKNN`, the seed formula).
(c) :class:`ContentSimilarity` — a new item with no events is related to known items by
    category path, brand and price band; its audience is the users who liked those items.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopguide.columns import Columns
from shopguide.data.idmap import IdMap
from shopguide.errors import NotFittedError
from shopguide.recommend._topn import topn_dense, topn_sparse
from shopguide.recommend.knn import ItemKNN
from shopguide.recommend.rules import ItemCatalog

__all__ = ["AttributeColdStart", "ColdStartResult", "ContentSimilarity", "session_recommend"]


@dataclass(frozen=True)
class ColdStartResult:
    """Items with scores, and which attributes the answer was based on."""

    ids: np.ndarray
    scores: np.ndarray
    matched_on: tuple[str, ...]
    n_similar_users: int


class AttributeColdStart:
    """Popular among users with the same attributes, backing off to global popularity.

    Parameters
    ----------
    attributes:
        Attribute columns from most to least important; back-off drops from the end.
    min_users:
        Fewest matching users for a group's popularity to be trusted.
    """

    def __init__(
        self,
        attributes: Sequence[str] = (Columns.LOCATION, Columns.AGE_BAND, Columns.GENDER),
        min_users: int = 5,
    ) -> None:
        self.attributes = tuple(attributes)
        self.min_users = min_users

    def fit(
        self, user_items: sp.spmatrix, users: pd.DataFrame, user_map: IdMap
    ) -> AttributeColdStart:
        """``users`` is a table with ``user_id`` and the attribute columns."""
        table = users.assign(**{Columns.USER_ID: users[Columns.USER_ID].astype(str)})
        table = table.drop_duplicates(Columns.USER_ID).set_index(Columns.USER_ID)
        aligned = table.reindex(pd.Index(user_map.external_ids.tolist()))
        present = [a for a in self.attributes if a in aligned]
        self.attribute_values_ = aligned[present].astype(object)
        self.user_items_ = sp.csr_matrix(user_items, dtype=np.float32)
        self.user_items_.data[:] = 1.0  # popularity = number of distinct users
        return self

    def recommend(
        self, attributes: Mapping[str, object], n: int = 10, items_allowed: np.ndarray | None = None
    ) -> ColdStartResult:
        """Top ``n`` items for a user described only by ``attributes``."""
        if not hasattr(self, "user_items_"):
            raise NotFittedError(type(self).__name__)
        given = [
            a
            for a in self.attribute_values_.columns
            if attributes.get(a) is not None and not pd.isna(attributes.get(a))
        ]
        for depth in range(len(given), -1, -1):
            used = tuple(given[:depth])
            match = np.ones(len(self.attribute_values_), dtype=bool)
            for a in used:
                match &= (self.attribute_values_[a] == attributes[a]).to_numpy(dtype=bool)
            if depth == 0 or match.sum() >= self.min_users:
                counts = np.asarray(self.user_items_[match].sum(axis=0), dtype=np.float32)
                counts[counts == 0] = -np.inf
                if items_allowed is not None:
                    counts[:, ~np.asarray(items_allowed, dtype=bool)] = -np.inf
                ids, scores = topn_dense(counts, n)
                return ColdStartResult(ids[0], scores[0], used, int(match.sum()))
        raise AssertionError("unreachable: depth 0 always returns")


def session_recommend(
    model: ItemKNN,
    item_rows: Sequence[int] | np.ndarray,
    n: int = 10,
    *,
    strengths: Sequence[float] | None = None,
    exclude_session_items: bool = True,
    items_allowed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Item-based CF for an anonymous session: score items from the session's items.

    The session becomes one row ``r(s, j)`` (``strengths``, default 1 per item) and is scored
    with the fitted model's formula, so no refit and no user id are needed.
    """
    rows = np.asarray(item_rows, dtype=np.int64)
    values = np.ones(len(rows), dtype=np.float32) if strengths is None else np.asarray(strengths)
    session = sp.csr_matrix(
        (values.astype(np.float32), (np.zeros(len(rows), dtype=np.int64), rows)),
        shape=(1, model.n_items_ if model.is_fitted else 0),
    )
    scores = model.score_items(session).tocsr()
    keep = np.ones(scores.nnz, dtype=bool)
    if exclude_session_items:
        keep &= ~np.isin(scores.indices, rows)
    if items_allowed is not None:
        keep &= np.asarray(items_allowed, dtype=bool)[scores.indices]
    filtered = sp.csr_matrix(
        (scores.data[keep], scores.indices[keep], [0, int(keep.sum())]), shape=scores.shape
    )
    ids, top = topn_sparse(filtered, n)
    return ids[0], top[0]


class ContentSimilarity:
    """Relate items by content: shared category path, brand and price band.

    ``sim(a, b) = w_category * (shared leading category levels / deeper path length)
    + w_brand * [same brand] + w_price * [same price band]``, price bands being the
    ``price_bands`` quantiles of the known prices.
    """

    def __init__(
        self,
        w_category: float = 0.6,
        w_brand: float = 0.25,
        w_price: float = 0.15,
        price_bands: int = 5,
    ) -> None:
        self.w_category = w_category
        self.w_brand = w_brand
        self.w_price = w_price
        self.price_bands = price_bands

    def fit(self, catalog: ItemCatalog) -> ContentSimilarity:
        self.catalog_ = catalog
        known = catalog.price[np.isfinite(catalog.price)]
        qs = np.linspace(0, 1, self.price_bands + 1)[1:-1]
        self.band_edges_ = np.quantile(known, qs) if len(known) else np.array([])
        self.paths_ = [_path(c) for c in catalog.category]
        self.bands_ = self._band(catalog.price)
        return self

    def _band(self, price: np.ndarray) -> np.ndarray:
        bands = np.searchsorted(self.band_edges_, price, side="right")
        return np.where(np.isfinite(price), bands, -1)

    def similarity(
        self, category: str | None, brand: str | None, price: float | None
    ) -> np.ndarray:
        """Content similarity of a (new) item to every catalog item."""
        if not hasattr(self, "catalog_"):
            raise NotFittedError(type(self).__name__)
        path = _path(category)
        cat = np.array([_shared_share(path, other) for other in self.paths_])
        same_brand = (self.catalog_.brand.astype(object) == brand) & (brand is not None)
        p = np.array([np.nan if price is None else float(price)])
        band = self._band(p)[0]
        same_band = (self.bands_ == band) & (band >= 0)
        return (
            self.w_category * cat
            + self.w_brand * same_brand.astype(float)
            + self.w_price * same_band.astype(float)
        )

    def similar_items(
        self, category: str | None, brand: str | None, price: float | None, n: int = 10
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` known items most similar in content (score 0 items are not returned)."""
        sims = self.similarity(category, brand, price).astype(np.float32)
        sims[sims <= 0] = -np.inf
        ids, scores = topn_dense(sims[None, :], n)
        return ids[0], scores[0]

    def audience(
        self,
        user_items: sp.spmatrix,
        category: str | None,
        brand: str | None,
        price: float | None,
        n_users: int = 100,
        k: int = 20,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Users to show a new item to: ``score(u) = sum_j sim(new, j) r(u, j)`` over the
        ``k`` most content-similar known items ``j``."""
        items, sims = self.similar_items(category, brand, price, n=k)
        keep = items >= 0
        weights = np.zeros(sp.csr_matrix(user_items).shape[1], dtype=np.float32)
        weights[items[keep]] = sims[keep]
        scores = np.asarray(sp.csr_matrix(user_items) @ weights, dtype=np.float32)
        scores[scores <= 0] = -np.inf
        ids, top = topn_dense(scores[None, :], n_users)
        return ids[0], top[0]


def _path(category: object) -> tuple[str, ...]:
    if not isinstance(category, str) or not category.strip():
        return ()
    return tuple(part.strip().lower() for part in category.split(">"))


def _shared_share(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    if not a or not b:
        return 0.0
    shared = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        shared += 1
    return shared / max(len(a), len(b))
