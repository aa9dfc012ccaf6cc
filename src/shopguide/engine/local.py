"""The local engine: the heavy steps with the domain packages on DuckDB and scipy.

=============  ==================================================
step           runs
=============  ==================================================
``profiles``   :func:`shopguide.profiles.build_profiles`
``rfm``        :func:`shopguide.analytics.rfm.rfm_table`
``item_knn``   :class:`~shopguide.recommend.ItemKNN` + ``recommend`` (rules: ``RuleSet.recommend``)
``user_knn``   :class:`~shopguide.recommend.UserKNN` + ``recommend``
``als``        :class:`shopguide.recommend.mf.ALS` (``implicit``)
=============  ==================================================
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, Literal

import numpy as np
import pandas as pd

from shopguide.data.matrix import Interactions, build_interactions
from shopguide.engine.base import ALSRun, store_as_of
from shopguide.engine.exchange import EngineName
from shopguide.profiles import build_profiles
from shopguide.recommend.base import Recommender
from shopguide.recommend.knn import ItemKNN, UserKNN
from shopguide.recommend.mf import ALS
from shopguide.recommend.ranked import ranked_frame
from shopguide.recommend.rules import ItemCatalog, RuleSet
from shopguide.store.base import Store

__all__ = ["LocalEngine", "events_frame"]


def events_frame(store: Store, as_of: datetime | None) -> pd.DataFrame:
    """The store's events (up to ``as_of`` when given) with the columns interactions need."""
    where = 'WHERE "timestamp" <= $as_of' if as_of is not None else ""
    return store.query_df(
        f'SELECT user_id, item_id, event_type, "timestamp", quantity FROM events {where}',
        {"as_of": as_of} if as_of is not None else None,
    )


class LocalEngine:
    """The heavy steps in this process: DuckDB for SQL, scipy and numba for the models.

    Has no settings; see :class:`~shopguide.engine.base.Engine` for the methods.
    """

    name: EngineName = "local"

    def __repr__(self) -> str:
        return "LocalEngine()"

    def profiles(self, store: Store, as_of: datetime | str | None = None) -> dict[str, Any]:
        """Build the profile version ``as_of`` with :func:`shopguide.profiles.build_profiles`."""
        stamp = store_as_of(store, as_of)
        started = time.perf_counter()
        result = build_profiles(store, stamp)
        return {
            "engine": self.name,
            "as_of": stamp.isoformat(sep=" "),
            "users": int(result.users),
            "seconds": round(time.perf_counter() - started, 3),
        }

    def rfm(self, store: Store, as_of: datetime | str | None = None) -> pd.DataFrame:
        """:func:`shopguide.analytics.rfm.rfm_table` (already sorted by user id)."""
        from shopguide.analytics.rfm import rfm_table

        return rfm_table(store, store_as_of(store, as_of))

    def item_knn(
        self,
        store: Store,
        *,
        k: int = 50,
        n: int = 10,
        normalize: Literal["neighbours", "none"] = "neighbours",
        neighbourhood: Literal["candidate", "history"] = "candidate",
        binary: bool = False,
        rules: RuleSet | None = None,
        as_of: datetime | str | None = None,
    ) -> pd.DataFrame:
        """Fit :class:`~shopguide.recommend.ItemKNN` and recommend for every user."""
        inter = self._interactions(store, as_of, binary)
        model = ItemKNN(k=k, normalize=normalize, neighbourhood=neighbourhood).fit(inter.matrix)
        return _top_n(store, model, inter, n, rules)

    def user_knn(
        self,
        store: Store,
        *,
        k: int = 50,
        n: int = 10,
        similarity: Literal["cosine", "asymmetric", "jaccard"] = "cosine",
        shrink: float = 0.0,
        normalize: Literal["neighbours", "rated", "none"] = "neighbours",
        binary: bool = False,
        rules: RuleSet | None = None,
        as_of: datetime | str | None = None,
    ) -> pd.DataFrame:
        """Fit :class:`~shopguide.recommend.UserKNN` and recommend for every user."""
        inter = self._interactions(store, as_of, binary)
        model = UserKNN(k=k, similarity=similarity, shrink=shrink, normalize=normalize)
        return _top_n(store, model.fit(inter.matrix), inter, n, rules)

    def als(
        self,
        events: pd.DataFrame,
        *,
        factors: int = 64,
        regularization: float = 0.01,
        alpha: float = 1.0,
        iterations: int = 15,
        random_state: int = 42,
    ) -> ALSRun:
        """Fit :class:`shopguide.recommend.mf.ALS` on the default event weights."""
        started = time.perf_counter()
        inter = build_interactions(events)
        model = ALS(
            factors=factors,
            regularization=regularization,
            alpha=alpha,
            iterations=iterations,
            random_state=random_state,
        ).fit(inter.matrix)
        return ALSRun(self.name, model, inter.users, inter.items, time.perf_counter() - started)

    @staticmethod
    def _interactions(store: Store, as_of: datetime | str | None, binary: bool) -> Interactions:
        stamp = None if as_of is None else store_as_of(store, as_of)
        inter = build_interactions(events_frame(store, stamp))
        return Interactions(inter.binary(), inter.users, inter.items) if binary else inter


def _top_n(
    store: Store, model: Recommender, inter: Interactions, n: int, rules: RuleSet | None
) -> pd.DataFrame:
    """Top-``n`` for every user of ``inter`` with the fitted ``model`` (and ``rules``)."""
    rows = np.arange(inter.matrix.shape[0])
    if rules is not None and rules.rules:
        items = store.query_df("SELECT item_id, title, category, brand, price, in_stock FROM items")
        catalog = ItemCatalog.from_frame(items, inter.items)
        ids, scores = rules.recommend(model, rows, inter.matrix, catalog, n=n, full_matrix=True)
    else:
        ids, scores = model.recommend(rows, inter.matrix, n=n, full_matrix=True)
    frame = ranked_frame(ids, scores, inter.users.external_ids, inter.items)
    return frame.sort_values(["user_id", "rank"]).reset_index(drop=True)
