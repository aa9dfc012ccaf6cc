"""The immutable bundle a recommendation is answered from, and keeping its user rows current.

:class:`ModelSnapshot` holds the published model and its id maps, the interaction matrix it
scores from, the item catalogue and the frequently-bought-together rules, plus what one request
needs as plain arrays (a :class:`~.row_scorer.RowScorer`, the popularity order, the category
index, each item's JSON fields). :func:`build_snapshot` builds one off the request path;
:func:`refresh_rows` and :func:`forget_user` keep its per-user rows in step with ingested events
and erasures.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import scipy.sparse as sp

from shopguide.columns import Columns as C
from shopguide.data.idmap import IdMap
from shopguide.data.matrix import DEFAULT_EVENT_WEIGHTS, Interactions, build_interactions
from shopguide.errors import UnknownIdError
from shopguide.recommend import RecommenderStore
from shopguide.recommend.base import Recommender
from shopguide.recommend.fbt import FrequentlyBoughtTogether, order_item_matrix
from shopguide.recommend.popular import Popular
from shopguide.recommend.rules import ItemCatalog
from shopguide.recommend.saved import LoadedModel
from shopguide.store.base import Store
from shopguide.workflows.interaction_events import interaction_events
from shopguide.workflows.serving.answer_cache import RECOMMEND_CACHE_USERS, AnswerCache
from shopguide.workflows.serving.filters import ItemFilter
from shopguide.workflows.serving.row_scorer import (
    NO_DATA,
    NO_INDICES,
    RowScorer,
    category_index,
)

__all__ = [
    "ModelSnapshot",
    "build_snapshot",
    "forget_user",
    "item_price",
    "item_text",
    "json_value",
    "refresh_rows",
    "users_loaded_after",
]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def item_text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def item_price(value: Any) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None


def json_value(value: str | float | None) -> bytes:
    """One JSON value (UTF-8, finite numbers only)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False).encode()


@dataclass(frozen=True)
class ModelSnapshot:
    """Everything a recommendation needs, fixed for one published model version.

    ``rows`` holds per-user interaction rows added after the snapshot was built (events ingested
    through the service); it is the only mutable part, replaced per user under the GIL with a
    single dict assignment, so readers never see a half-updated row.

    Derived once at build time so that a request touches only arrays and dicts: the model's
    :class:`RowScorer`, the popularity order, the category index of the filters, and each
    item's JSON-ready id, title, category and price.
    """

    name: str
    version: str
    model: Recommender
    users: IdMap
    items: IdMap
    matrix: sp.csr_matrix
    catalog: ItemCatalog
    popular: np.ndarray
    fbt: FrequentlyBoughtTogether | None
    weights: dict[str, float]
    meta: dict[str, Any]
    loaded_at: datetime
    #: The last load whose events the matrix holds for sure (later ones may be in too).
    events_through: int | None = None
    rows: dict[str, sp.csr_matrix] = field(default_factory=dict)
    erased: set[str] = field(default_factory=set)
    user_index: dict[str, int] = field(default_factory=dict)
    item_index: dict[str, int] = field(default_factory=dict)
    #: Per-user answers of :func:`recommend_for_user` (see :class:`AnswerCache`).
    answers: AnswerCache = field(default_factory=lambda: AnswerCache(RECOMMEND_CACHE_USERS))
    scorer: RowScorer | None = field(default=None, init=False)
    popular_order: np.ndarray = field(default_factory=lambda: NO_INDICES, init=False)
    categories: dict[str, np.ndarray] = field(default_factory=dict, init=False)
    item_meta: list[tuple[str, str | None, str | None, float | None]] = field(
        default_factory=list, init=False
    )
    #: Per item, the JSON of an answer's item object around its score and reason:
    #: ``{"item_id":…,"score":`` and ``,"title":…,"category":…,"price":…,"reason":``.
    item_json: list[tuple[bytes, bytes]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        # plain dicts: a lookup per request costs ~100 ns instead of a pandas indexer call
        self.user_index.update({u: i for i, u in enumerate(self.users.external_ids.tolist())})
        self.item_index.update({t: i for i, t in enumerate(self.items.external_ids.tolist())})
        order = np.argsort(-self.popular, kind="stable")
        object.__setattr__(self, "popular_order", order[self.popular[order] > 0])
        object.__setattr__(self, "scorer", RowScorer.for_model(self.model))
        self.categories.update(category_index(self.catalog))
        cat = self.catalog
        self.item_meta.extend(
            (str(item), item_text(title), item_text(category), item_price(price))
            for item, title, category, price in zip(
                self.items.external_ids.tolist(), cat.title.tolist(), cat.category.tolist(),
                cat.price.tolist(), strict=True,
            )
        )  # fmt: skip
        self.item_json.extend(
            (
                b'{"item_id":' + json_value(item_id) + b',"score":',
                b',"title":' + json_value(title) + b',"category":' + json_value(category)
                + b',"price":' + json_value(price) + b',"reason":',
            )
            for item_id, title, category, price in self.item_meta
        )  # fmt: skip

    def user_items(self, user_id: str) -> tuple[int | None, np.ndarray, np.ndarray]:
        """The user's model row (``None`` when unknown to the model) and interaction arrays
        (item indices, weights): the online row when events arrived since the build."""
        index = self.user_index.get(user_id)
        row = self.rows.get(user_id)
        if row is not None:
            return index, row.indices, row.data
        if index is None:
            return None, NO_INDICES, NO_DATA
        m = self.matrix
        lo, hi = m.indptr[index], m.indptr[index + 1]
        return index, m.indices[lo:hi], m.data[lo:hi]

    def user_row(self, user_id: str) -> tuple[int | None, sp.csr_matrix | None]:
        """The user's model row (or ``None`` when unknown to the model) and interactions."""
        index = self.user_index.get(user_id)
        row = self.rows.get(user_id)
        if row is None and index is not None:
            m = self.matrix
            lo, hi = m.indptr[index], m.indptr[index + 1]
            row = sp.csr_matrix(
                (m.data[lo:hi], m.indices[lo:hi], np.array([0, hi - lo], dtype=m.indptr.dtype)),
                shape=(1, m.shape[1]),
            )
        return index, row

    def allowed(self, filters: ItemFilter) -> np.ndarray | None:
        """The items ``filters`` allow (``None``: all), as ``filters.rules().allowed`` computes
        it, from the category index and the price array."""
        mask: np.ndarray | None = None
        if filters.include_categories:
            mask = self._in_categories(filters.include_categories)
        if filters.exclude_categories:
            out = ~self._in_categories(filters.exclude_categories)
            mask = out if mask is None else mask & out
        if filters.bounds_price:
            low, high = filters.price_range()
            with np.errstate(invalid="ignore"):
                price = self.catalog.price
                out = (price >= low) & (price <= high)
            mask = out if mask is None else mask & out
        return mask

    def _in_categories(self, categories: Sequence[str]) -> np.ndarray:
        mask = np.zeros(len(self.items), dtype=bool)
        for category in categories:
            found = self.categories.get(category.strip())
            if found is not None:
                mask[found] = True
        return mask

    def item_row(self, item_id: str) -> int:
        """The model's index of ``item_id`` (raises ``UnknownIdError``)."""
        index = self.item_index.get(item_id)
        if index is None:
            raise UnknownIdError("item", [item_id])
        return index


def build_snapshot(
    store: Store,
    model_store: RecommenderStore,
    name: str,
    version: str | None = None,
    *,
    progress: Callable[[str], None] | None = None,
) -> ModelSnapshot:
    """Load ``version`` of ``name`` (default: its current one) and all it needs to serve it.

    ``store`` may be a reader connection (``Store.reader()``): the build only reads, so a
    service builds without its store lock. ``events_through`` is the last load the build is
    sure to include (read before the events), for catching up on loads stored meanwhile.
    ``progress`` is called with the step done (``"events read"``, ``"matrix built"``).
    """
    loaded = model_store.load(name, version)
    weights = {
        str(k): float(v) for k, v in loaded.meta.get("weights", DEFAULT_EVENT_WEIGHTS).items()
    }
    snapshot = assemble_snapshot(
        store, name=loaded.name, version=loaded.version, weights=weights, meta=loaded.meta,
        fitted=loaded, progress=progress,
    )  # fmt: skip
    assert snapshot is not None  # a fitted model is served even on a store without events
    return snapshot


def assemble_snapshot(
    store: Store,
    *,
    name: str,
    version: str,
    weights: dict[str, float],
    meta: dict[str, Any],
    fitted: LoadedModel | None = None,
    lock: threading.RLock | None = None,
    progress: Callable[[str], None] | None = None,
) -> ModelSnapshot | None:
    """A snapshot of ``fitted`` (a published model and its id maps) on the store's events.

    Without ``fitted``, popularity is fitted on every event instead (the service's fallback
    while no model is current); then ``None`` when the store has no events to count. The
    store reads run under ``lock`` when given.
    """
    with lock or threading.RLock():
        through = store.scalar("SELECT max(load_id) FROM loads")
        events = interaction_events(store)
        if progress is not None:
            progress("events read")
        items = store.query_df("SELECT item_id, title, category, brand, price, in_stock FROM items")
    if fitted is None:
        if events.empty:
            return None
        inter = build_interactions(events, weights)
        model: Recommender = Popular().fit(inter.matrix)
        users, item_map = inter.users, inter.items
    else:
        model, users, item_map = fitted.model, fitted.users, fitted.items
        inter = build_interactions(events, weights, user_map=users, item_map=item_map)
        if meta.get("binary"):
            inter = Interactions(inter.binary(), inter.users, inter.items)
    popular = np.asarray(inter.matrix.astype(bool).sum(axis=0)).ravel().astype(np.float64)
    if progress is not None:
        progress("matrix built")
    fbt: FrequentlyBoughtTogether | None = None
    if len(events) and events[C.ORDER_ID].notna().any():
        fbt = FrequentlyBoughtTogether(min_pair_orders=2).fit(order_item_matrix(events, item_map))
    return ModelSnapshot(
        name=name,
        version=version,
        model=model,
        users=users,
        items=item_map,
        matrix=inter.matrix,
        catalog=ItemCatalog.from_frame(items, item_map),
        popular=popular,
        fbt=fbt,
        weights=weights,
        meta=meta,
        loaded_at=_now(),
        events_through=None if through is None else int(through),
    )


def users_loaded_after(store: Store, load_id: int | None) -> list[str]:
    """Users with events from loads after ``load_id`` (every user with events for ``None``)."""
    frame = store.query_df(
        "SELECT DISTINCT user_id FROM events WHERE ? IS NULL OR load_id > ?", [load_id, load_id]
    )
    return [str(u) for u in frame["user_id"]]


def refresh_rows(store: Store, snapshot: ModelSnapshot, user_ids: Sequence[str]) -> None:
    """Recompute the interaction rows of ``user_ids`` from the store (after online ingestion)."""
    if not user_ids:
        return
    events = interaction_events(store, list(user_ids))
    users = IdMap(sorted({str(u) for u in user_ids}), kind="user")
    inter = build_interactions(events, snapshot.weights, user_map=users, item_map=snapshot.items)
    matrix = inter.binary() if snapshot.meta.get("binary") else inter.matrix
    for i, user in enumerate(users.external_ids):
        snapshot.rows[str(user)] = matrix[i]
        snapshot.answers.drop(str(user))


def forget_user(snapshot: ModelSnapshot, user_id: str) -> None:
    """Stop serving anything derived from an erased user's data in this snapshot."""
    snapshot.erased.add(user_id)
    snapshot.rows[user_id] = sp.csr_matrix((1, len(snapshot.items)), dtype=np.float32)
    snapshot.answers.drop(user_id)
