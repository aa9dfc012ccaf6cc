"""What the REST service and the dashboard do, as small functions over an open store.

The service stays thin: every route calls one function here, and only this module talks to the
domain packages (profiles, analytics, recommend, retention). Three pieces of state live here:

:class:`ModelSnapshot`
    An immutable bundle of what answering a recommendation needs: the published model and its
    id maps, the interaction matrix it scores from, the item catalogue, and frequently-bought-
    together rules. Built off the request path, then swapped in with one reference assignment.
    It also derives what one request needs as plain arrays (a :class:`RowScorer` for the
    neighbourhood models, the popularity order, a category index, each item's JSON fields), so
    an uncached recommendation is a dict lookup, one compiled pass over the user's items and
    ten small objects: no store query, no DataFrame, no scipy matrix on the request path.
:class:`ModelHolder`
    Holds the current snapshot. ``holder.current`` is read once per request, so a request that
    started on the old version finishes on it while new requests see the new one: a publish
    never fails a request in flight. :meth:`ModelHolder.refresh` notices a new ``CURRENT``
    version in the registry (published by a job, the CLI or another process) and swaps.
:class:`JobRunner`
    Background train-and-publish jobs with progress, polled by id (in :mod:`.jobs`).

Churn risk and value (:func:`churn_predictions`) are the ``user_predictions`` rows that
``shopguide churn score`` writes, scored through the same workflow when missing or older than the
data, so every interface shows the same numbers.

Privacy (erasing and exporting a user, the suppression list) lives in
:mod:`shopguide.workflows.privacy` and :mod:`shopguide.data.suppression`; the names are
re-exported here for existing callers.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopguide.columns import Columns as C
from shopguide.data.idmap import IdMap
from shopguide.data.ingest import LoadReport, ingest_frame
from shopguide.data.matrix import DEFAULT_EVENT_WEIGHTS, Interactions, build_interactions
from shopguide.errors import DataError, ModelFormatError, UnknownIdError
from shopguide.recommend import ItemKNN, ModelRegistry, create_model
from shopguide.recommend._kernels import row_product_top_n
from shopguide.recommend.base import Recommender
from shopguide.recommend.ease import EASE
from shopguide.recommend.explain import explain
from shopguide.recommend.fbt import FrequentlyBoughtTogether, order_item_matrix
from shopguide.recommend.rules import (
    ExcludeCategories,
    IncludeCategories,
    ItemCatalog,
    PriceRange,
    Rule,
    RuleSet,
)
from shopguide.store.base import Store
from shopguide.workflows.jobs import Job, JobRunner  # re-exported: they lived here
from shopguide.workflows.json_records import jsonable, records
from shopguide.workflows.privacy import (
    erase_user,
    export_user,
    is_suppressed,
    suppression_rejects,
)

__all__ = [
    "AUDIENCE_DDL",
    "PREDICTION_COLUMNS",
    "Job",
    "JobRunner",
    "ModelHolder",
    "ModelSnapshot",
    "Predictions",
    "Recommendation",
    "build_snapshot",
    "campaign_audience",
    "churn_predictions",
    "churn_scores",
    "ensure_service_tables",
    "erase_user",
    "export_user",
    "ingest_events",
    "is_suppressed",
    "item_record",
    "overview",
    "recommend_for_user",
    "recommendations_json",
    "score_predictions",
    "segments",
    "similar_items",
    "suppression_rejects",
    "together_items",
    "train_and_publish",
    "user_history",
    "user_profile",
]

#: Campaign audiences saved for export (erasing a user removes their rows).
AUDIENCE_DDL: Final = """CREATE TABLE IF NOT EXISTS audiences (
    audience_id VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    name VARCHAR,
    user_id VARCHAR NOT NULL,
    score DOUBLE NOT NULL,
    rank INTEGER NOT NULL,
    reasons VARCHAR
)"""


def ensure_service_tables(store: Store) -> None:
    """Create the service's tables if missing (idempotent; the lead folds them into a migration)."""
    store.execute(AUDIENCE_DDL)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# --------------------------------------------------------------------------- ingestion

#: Event fields the API accepts, in canonical file order.
EVENT_FIELDS: Final = (
    C.EVENT_ID, C.USER_ID, C.ITEM_ID, C.EVENT_TYPE, C.TIMESTAMP, C.QUANTITY, C.PRICE,
    C.DISCOUNT, C.ORDER_ID, C.SESSION_ID, C.CAMPAIGN_ID,
)  # fmt: skip


@dataclass
class IngestResult:
    """What one API batch did: the load report, each rejected event and the profile update."""

    report: LoadReport
    rejected: list[dict[str, Any]]
    users: list[str]
    profiles_updated: int | None


def ingest_events(
    store: Store, events: Sequence[dict[str, Any]], *, update_profiles: bool = True
) -> IngestResult:
    """Load a batch of canonical events exactly like a file (idempotent, with quarantine).

    Events of erased users are rejected with ``"user erased"``; other bad events are rejected
    with the validator's reasons. ``rejected`` lists ``{index, field, value, reason}`` with the
    event's position in the batch. When profiles exist, the accepted users' profiles are brought
    up to date with the profiles package's incremental update, into the store's one rolling
    live profile version (snapshots from ``shopguide profiles build`` are kept as they are).
    """
    ensure_service_tables(store)
    frame = pd.DataFrame(list(events), columns=list(EVENT_FIELDS)).astype(object)
    frame = frame.where(frame.notna(), None)
    lines = np.arange(1, len(frame) + 1)
    kept, rejects, kept_lines = suppression_rejects(store, frame, lines)
    report = ingest_frame(
        store,
        "events",
        kept,
        source="api:events",
        lines=kept_lines,
        rejects=rejects if len(rejects) else None,
    )
    bad = store.query_df(
        "SELECT line, column_name, value, reason FROM quarantine WHERE load_id = ? ORDER BY line",
        [report.load_id],
    )
    rejected = [
        {
            "index": int(row.line) - 1,
            "field": row.column_name,
            "value": None if row.value is None or pd.isna(row.value) else str(row.value),
            "reason": str(row.reason),
        }
        for row in bad.itertuples()
    ]
    users = sorted(
        {
            str(u)
            for u in store.query_df(
                "SELECT DISTINCT user_id FROM events WHERE load_id = ?", [report.load_id]
            )["user_id"]
        }
    )
    updated = refresh_live_profiles(store)[1] if update_profiles and users else None
    return IngestResult(report, rejected, users, updated)


def refresh_live_profiles(store: Store) -> tuple[int, int | None]:
    """Bring the live profile version up to date with every load in the store so far.

    :func:`ingest_events` runs it after storing a batch; the service instead calls it
    separately (``update_profiles=False``), so that batches ingested while an update runs
    share the next one. The incremental update finds the
    users of every load after the live version's own (see
    :func:`shopguide.profiles.update_profiles`). Returns the highest load id the update covers
    and the number of users it recomputed (None, and nothing done, when no profiles are
    built).
    """
    covered = int(store.scalar("SELECT coalesce(max(load_id), 0) FROM loads"))
    if not _profiles_built(store):
        return covered, None
    from shopguide.profiles import update_profiles as _update

    return covered, _update(store, live=True).recomputed_users


def _profiles_built(store: Store) -> bool:
    return store.has_table("profile_builds") and bool(
        store.scalar("SELECT count(*) FROM profile_builds")
    )


# --------------------------------------------------------------------------- reads


def user_profile(store: Store, user_id: str) -> dict[str, Any]:
    """The user's latest profile (raises ``UnknownIdError`` / ``ProfilesNotBuiltError``)."""
    from shopguide.profiles import profile_record

    return profile_record(store, user_id)


def build_profiles_if_missing(store: Store) -> bool:
    """Build the profiles once when the store has events but no profile version; True if built."""
    from shopguide.profiles import build_profiles

    if _profiles_built(store) or not store.scalar("SELECT count(*) FROM events"):
        return False
    build_profiles(store)
    return True


def user_history(store: Store, user_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """The user's latest events, newest first, with item titles."""
    frame = store.query_df(
        """SELECT e."timestamp", e.event_type, e.item_id, i.title, i.category, e.quantity,
                  e.price, e.order_id
           FROM events e LEFT JOIN items i USING (item_id)
           WHERE e.user_id = ? ORDER BY e."timestamp" DESC, e.event_key LIMIT ?""",
        [user_id, int(limit)],
    )
    return records(frame)


def item_record(store: Store, item_id: str) -> dict[str, Any]:
    """One item's catalogue row plus its buyers, units and revenue."""
    frame = store.query_df(
        """SELECT i.item_id, i.title, i.category, i.brand, i.price, i.in_stock,
                  (SELECT count(DISTINCT user_id) FROM events
                     WHERE item_id = i.item_id AND event_type = 'purchase') AS buyers,
                  (SELECT coalesce(sum(quantity), 0) FROM events
                     WHERE item_id = i.item_id AND event_type = 'purchase') AS units,
                  (SELECT coalesce(sum(quantity * price - coalesce(discount, 0)), 0) FROM events
                     WHERE item_id = i.item_id AND event_type = 'purchase') AS revenue
           FROM items i WHERE i.item_id = ?""",
        [item_id],
    )
    if frame.empty:
        raise UnknownIdError("item", [item_id])
    return records(frame)[0]


def overview(store: Store) -> dict[str, Any]:
    """Headline KPIs and monthly revenue by category (for the overview page)."""
    from shopguide.analytics import kpis, monthly_trends

    if not store.scalar("SELECT count(*) FROM events"):
        return {"kpis": None, "trends": []}
    return {
        "kpis": jsonable(kpis(store)),
        "trends": records(monthly_trends(store, "category", top=6)),
    }


def segments(store: Store) -> list[dict[str, Any]]:
    """RFM segments: buyers, share, revenue, revenue share, mean R/F/M."""
    from shopguide.analytics import segment_summary

    if not store.scalar("SELECT count(*) FROM events"):
        return []
    return records(segment_summary(store))


def segment_members(store: Store, names: Sequence[str]) -> set[str]:
    """Users whose latest profile is in one of the RFM segments ``names``."""
    if not store.has_table("profiles"):
        return set()
    frame = store.query_df(
        "SELECT user_id FROM profiles WHERE as_of = (SELECT max(as_of) FROM profiles) "
        "AND list_contains(?, segment)",
        [list(names)],
    )
    return set(frame["user_id"].astype(str))


# --------------------------------------------------------------------------- retention


_RETENTION_LOCK = threading.Lock()


#: What the service shows as churn risk and value: the ``user_predictions`` rows written by
#: :func:`shopguide.workflows.retention.score_store` (``shopguide churn score``), so the CLI, the
#: API and the dashboard show one model's numbers. Rows are *current* when their ``as_of`` is
#: the day of the store's last purchase or refund (the day ``score_store`` would score as of
#: now); events of that same day ingested later do not make them stale: the model works in
#: days, and the next day's first purchase does.
PREDICTION_COLUMNS: Final = (
    "as_of", C.USER_ID, "churn_probability", "churn_reasons", "p_alive",
    "expected_purchases_90d", "clv", "expected_next_order", "value_note",
)  # fmt: skip


@dataclass(frozen=True)
class Predictions:
    """The stored predictions the service shows, and how they relate to the data.

    ``frame``: the rows of version ``as_of``, riskiest first (empty when none);
    ``data_as_of``: the day a fresh scoring would use; ``stale``: ``as_of`` is older than that
    (a background rescoring has been started); ``scoring``: a rescoring is running.
    """

    frame: pd.DataFrame
    as_of: pd.Timestamp | None
    data_as_of: pd.Timestamp | None
    stale: bool
    scoring: bool

    def row(self, user_id: str) -> dict[str, Any] | None:
        """The user's prediction row (JSON-ready), or ``None``."""
        found = self.frame[self.frame[C.USER_ID] == user_id]
        return records(found)[0] if len(found) else None

    def info(self) -> dict[str, Any]:
        """``as_of``, ``data_as_of``, ``stale``, ``scoring`` and the model (for responses)."""
        return {
            "as_of": None if self.as_of is None else self.as_of.isoformat(),
            "data_as_of": None if self.data_as_of is None else self.data_as_of.isoformat(),
            "stale": self.stale,
            "scoring": self.scoring,
            "source": "user_predictions (shopguide churn score)",
        }


_PREDICTION_CACHE: dict[str, tuple[Any, pd.DataFrame]] = {}
_SCORING_LOCKS: dict[str, threading.Lock] = {}


def _scoring_lock(store: Store) -> threading.Lock:
    with _RETENTION_LOCK:
        return _SCORING_LOCKS.setdefault(str(store.path), threading.Lock())


def _prediction_state(store: Store) -> tuple[pd.Timestamp | None, pd.Timestamp | None, Any]:
    """(latest stored as_of, the data's as_of, a fingerprint of the rows at the stored as_of:
    count and a hash sum, so a rescoring of the same day or an erasure reads them again)."""
    stored = store.scalar("SELECT max(as_of) FROM user_predictions")
    last = store.scalar(
        """SELECT max("timestamp") FROM events WHERE event_type IN ('purchase', 'refund')"""
    )
    fingerprint: Any = None
    if stored is not None:
        fingerprint = store.scalar(
            "SELECT [count(*)::HUGEINT, "
            "coalesce(sum(hash(user_id, churn_probability, p_alive, clv)::HUGEINT), 0)] "
            "FROM user_predictions WHERE as_of = ?",
            [stored],
        )
        fingerprint = tuple(fingerprint)
    return (
        None if stored is None else pd.Timestamp(stored),
        None if last is None else pd.Timestamp(last).floor("D"),
        fingerprint,
    )


def score_predictions(store: Store, *, lock: threading.RLock | None = None) -> dict[str, Any]:
    """Score churn and value now with :func:`shopguide.workflows.retention.score_store`.

    Runs on a connection of its own to the same database (so the service's connection, and its
    lock, stay free while the model fits); an in-memory store is scored on ``store`` under
    ``lock``. One scoring per store at a time: a caller arriving during a scoring waits for it
    and does not score again. Returns the scoring report (``None`` fields when it was skipped).
    """
    from shopguide.store import open_store
    from shopguide.store.duckdb_store import DuckDBStore
    from shopguide.workflows.retention import score_store

    guard = _scoring_lock(store)
    with guard:
        with lock or threading.RLock():
            stored, data_as_of, _ = _prediction_state(store)
        if data_as_of is None:
            raise DataError("no purchases in the store: churn needs purchase history")
        if stored is not None and stored >= data_as_of:
            return {"as_of": stored.isoformat(), "skipped": "already current"}
        if isinstance(store, DuckDBStore) and str(store.path) != ":memory:":
            with open_store(store.path, create=False) as own:
                return score_store(own)
        with lock or threading.RLock():
            return score_store(store)


#: The data day each store was last rescored for in the background (one attempt per day: if
#: the scoring cannot reach that day, requests keep the stored rows instead of refitting).
_RESCORED_FOR: dict[str, pd.Timestamp] = {}


def _rescore_in_background(
    store: Store, lock: threading.RLock | None, data_as_of: pd.Timestamp | None = None
) -> bool:
    """Start :func:`score_predictions` in a thread unless one is running or one already ran
    for ``data_as_of``; True if started."""
    guard = _scoring_lock(store)
    with _RETENTION_LOCK:
        if guard.locked() or (
            data_as_of is not None and _RESCORED_FOR.get(str(store.path)) == data_as_of
        ):
            return False
        if data_as_of is not None:
            _RESCORED_FOR[str(store.path)] = data_as_of

    def run() -> None:
        try:
            score_predictions(store, lock=lock)
        except Exception:  # the stale rows stay
            import logging

            logging.getLogger("shopguide.service").exception("churn rescoring failed")

    threading.Thread(target=run, name="churn-rescore", daemon=True).start()
    return True


def churn_predictions(
    store: Store, *, lock: threading.RLock | None = None, wait: bool = True
) -> Predictions:
    """The churn and value predictions to show (see :data:`PREDICTION_COLUMNS`).

    - current rows in ``user_predictions``: returned (read once per version, then cached);
    - no rows at all: scored now with the same function as ``shopguide churn score``
      (``wait=False`` starts that in the background and returns an empty frame instead);
    - rows older than the data: returned with ``stale=True`` while a background rescoring
      brings them up to date, so a page never waits for a refit once scores exist.

    Raises ``DataError`` when the store has no purchases.
    """
    with lock or threading.RLock():
        stored, data_as_of, fingerprint = _prediction_state(store)
    if data_as_of is None:
        raise DataError("no purchases in the store: churn needs purchase history")
    if stored is None:
        if not wait:
            _rescore_in_background(store, lock)
            empty = pd.DataFrame(columns=list(PREDICTION_COLUMNS))
            return Predictions(empty, None, data_as_of, True, True)
        score_predictions(store, lock=lock)
        with lock or threading.RLock():
            stored, data_as_of, fingerprint = _prediction_state(store)
        if stored is None:
            raise DataError("scoring produced no predictions", hint="run: shopguide churn score")
    stale = stored < data_as_of if data_as_of is not None else False
    if stale:
        _rescore_in_background(store, lock, data_as_of)
    key = (stored, fingerprint)
    cache_key = str(store.path)
    with _RETENTION_LOCK:
        hit = _PREDICTION_CACHE.get(cache_key)
    if hit is not None and hit[0] == key:
        frame = hit[1]
    else:
        from shopguide.workflows.retention import predictions

        with lock or threading.RLock():
            frame = predictions(store, as_of=stored.isoformat())
        frame = frame.reindex(columns=list(PREDICTION_COLUMNS))
        frame[C.USER_ID] = frame[C.USER_ID].astype(str)
        with _RETENTION_LOCK:
            _PREDICTION_CACHE[cache_key] = (key, frame)
    return Predictions(frame, stored, data_as_of, stale, _scoring_lock(store).locked())


def churn_scores(store: Store, *, lock: threading.RLock | None = None) -> pd.DataFrame:
    """Churn probability and reasons per buyer, riskiest first, from :func:`churn_predictions`
    (columns ``user_id``, ``churn_probability``, ``reasons``; users without a churn score, such
    as those valued but never scored, are left out)."""
    frame = churn_predictions(store, lock=lock).frame
    frame = frame[frame["churn_probability"].notna()]
    return frame[[C.USER_ID, "churn_probability", "churn_reasons"]].rename(
        columns={"churn_reasons": "reasons"}
    )


# --------------------------------------------------------------------------- models


#: Users whose recommendation answers a snapshot keeps (0 turns the cache off); set from
#: ``SHOPGUIDE_RECOMMEND_CACHE_USERS``.
RECOMMEND_CACHE_USERS = int(os.environ.get("SHOPGUIDE_RECOMMEND_CACHE_USERS", "10000"))


class AnswerCache:
    """Recent recommendation answers per user, least recently used users dropped first.

    An answer depends only on the snapshot (model version), the user's interaction row and
    the request's parameters, so it stays valid until one of them changes: a new snapshot starts
    empty, and :func:`refresh_rows` / :func:`forget_user` drop the user's answers.
    """

    def __init__(self, max_users: int) -> None:
        self.max_users = max_users
        self._users: OrderedDict[str, dict[Any, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, user_id: str, key: Any) -> Any | None:
        with self._lock:
            answers = self._users.get(user_id)
            found = None if answers is None else answers.get(key)
            if found is None:
                self.misses += 1
            else:
                self.hits += 1
                self._users.move_to_end(user_id)
            return found

    def put(self, user_id: str, key: Any, value: Any) -> None:
        if self.max_users <= 0:
            return
        with self._lock:
            self._users.setdefault(user_id, {})[key] = value
            self._users.move_to_end(user_id)
            while len(self._users) > self.max_users:
                self._users.popitem(last=False)

    def drop(self, user_id: str) -> None:
        with self._lock:
            self._users.pop(user_id, None)


# --------------------------------------------------------------------------- one-user scoring


@dataclass(frozen=True)
class RowScorer:
    """Scores one user for models whose scores are a sparse product ``left @ right``.

    Built once per snapshot from the model's ``_sparse_product`` hook (the one its batch
    ``recommend`` fuses with top-n): ``right`` is fixed, and ``left`` is either the user's own
    interaction row (item-KNN: ``own_row``) or the model's row of the user (user-KNN: rows of
    ``left``). Answers equal ``model.recommend`` for the same row, filters and ``n``.
    """

    right_indptr: np.ndarray
    right_indices: np.ndarray
    right_data: np.ndarray
    rated: int
    n_items: int
    own_row: bool
    left: sp.csr_matrix | None = None

    @classmethod
    def for_model(cls, model: Recommender) -> RowScorer | None:
        """The scorer of ``model``, or ``None`` when its scores are not a sparse product."""
        n_items = int(model.n_items_)
        probe = sp.csr_matrix((1, n_items), dtype=np.float32)
        product = model._sparse_product(np.zeros(1, dtype=np.int64), probe)
        if product is None:
            return None
        left, right, rated = product
        own_row = left is probe
        if not own_row:  # rows depend on the user index only: take them all once
            left = sp.csr_matrix(
                model._sparse_product(np.arange(model.n_users_, dtype=np.int64), probe)[0]  # type: ignore[index]
            )
        right = sp.csr_matrix(right)
        # unsigned, narrowest column indices: no negative-index check in the scatter-add, and
        # fewer bytes to pull into the cache per request (a request finds them cold)
        kind = np.uint16 if n_items <= 2**16 else np.uint32 if n_items <= 2**32 else np.int64
        indices = right.indices.astype(kind)
        scorer = cls(
            right.indptr, indices, right.data, int(rated), n_items, own_row,
            None if own_row else left,
        )  # fmt: skip
        scorer.top_n(0, np.zeros(0, np.int32), np.zeros(0, np.float32), None, 1)  # compile now
        return scorer

    def top_n(
        self,
        index: int | None,
        indices: np.ndarray,
        data: np.ndarray,
        excluded: np.ndarray | None,
        n: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``n`` items (ids, scores; ``-1`` padded) of the user with model row ``index`` and
        interactions ``indices``/``data``; their items and ``excluded`` are never returned."""
        if self.own_row:
            l_indices, l_data = indices, data
        elif index is None or self.left is None:
            return np.full(n, -1, np.int32), np.full(n, -np.inf, np.float32)
        else:
            lo, hi = self.left.indptr[index], self.left.indptr[index + 1]
            l_indices, l_data = self.left.indices[lo:hi], self.left.data[lo:hi]
        return row_product_top_n(
            l_indices, l_data, self.right_indptr, self.right_indices, self.right_data,
            self.rated, indices, _NO_MASK if excluded is None else excluded,
            self.n_items, int(n),
        )  # fmt: skip


_NO_MASK: Final = np.zeros(0, dtype=np.bool_)
_NO_INDICES: Final = np.zeros(0, dtype=np.int32)
_NO_DATA: Final = np.zeros(0, dtype=np.float32)


def _category_index(catalog: ItemCatalog) -> dict[str, np.ndarray]:
    """Every category path prefix (normalised ``"A > B"``) -> the item indices at or below it.

    ``IncludeCategories``/``ExcludeCategories`` match an item when its normalised path equals a
    wanted category or starts with it plus ``" > "``: exactly the prefixes listed here.
    """
    found: dict[str, list[int]] = {}
    for i, cat in enumerate(catalog.category.tolist()):
        if not isinstance(cat, str):
            continue
        parts = [part.strip() for part in cat.split(">")]
        for depth in range(1, len(parts) + 1):
            found.setdefault(" > ".join(parts[:depth]), []).append(i)
    return {key: np.asarray(rows, dtype=np.int64) for key, rows in found.items()}


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
    popular_order: np.ndarray = field(default_factory=lambda: _NO_INDICES, init=False)
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
        self.categories.update(_category_index(self.catalog))
        cat = self.catalog
        self.item_meta.extend(
            (str(item), _text(title), _text(category), _price(price))
            for item, title, category, price in zip(
                self.items.external_ids.tolist(), cat.title.tolist(), cat.category.tolist(),
                cat.price.tolist(), strict=True,
            )
        )  # fmt: skip
        self.item_json.extend(
            (
                b'{"item_id":' + _json(item_id) + b',"score":',
                b',"title":' + _json(title) + b',"category":' + _json(category)
                + b',"price":' + _json(price) + b',"reason":',
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
            return None, _NO_INDICES, _NO_DATA
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

    def allowed(
        self,
        include_categories: Sequence[str] = (),
        exclude_categories: Sequence[str] = (),
        min_price: float | None = None,
        max_price: float | None = None,
    ) -> np.ndarray | None:
        """The items the filters allow (``None``: all), as :func:`_rules` ``.allowed`` computes
        it, from the category index and the price array."""
        mask: np.ndarray | None = None
        if include_categories:
            mask = self._in_categories(include_categories)
        if exclude_categories:
            out = ~self._in_categories(exclude_categories)
            mask = out if mask is None else mask & out
        if min_price is not None or max_price is not None:
            low = 0.0 if min_price is None else min_price
            high = float("inf") if max_price is None else max_price
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


def _events_frame(store: Store, user_ids: Sequence[str] | None = None) -> pd.DataFrame:
    where = "" if user_ids is None else "WHERE list_contains(?, user_id)"
    params = None if user_ids is None else [list(user_ids)]
    return store.query_df(
        f"""SELECT user_id, item_id, event_type, "timestamp", quantity, order_id
            FROM events {where}""",
        params,
    )


def build_snapshot(
    store: Store,
    registry: ModelRegistry,
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
    loaded = registry.load(name, version)
    weights = {
        str(k): float(v) for k, v in loaded.meta.get("weights", DEFAULT_EVENT_WEIGHTS).items()
    }
    through = store.scalar("SELECT max(load_id) FROM loads")
    events = _events_frame(store)
    if progress is not None:
        progress("events read")
    inter = build_interactions(events, weights, user_map=loaded.users, item_map=loaded.items)
    if loaded.meta.get("binary"):
        inter = Interactions(inter.binary(), inter.users, inter.items)
    items = store.query_df("SELECT item_id, title, category, brand, price, in_stock FROM items")
    catalog = ItemCatalog.from_frame(items, loaded.items)
    popular = np.asarray(inter.matrix.astype(bool).sum(axis=0)).ravel().astype(np.float64)
    if progress is not None:
        progress("matrix built")
    fbt: FrequentlyBoughtTogether | None = None
    if len(events) and events[C.ORDER_ID].notna().any():
        fbt = FrequentlyBoughtTogether(min_pair_orders=2).fit(
            order_item_matrix(events, loaded.items)
        )
    return ModelSnapshot(
        name=loaded.name,
        version=loaded.version,
        model=loaded.model,
        users=loaded.users,
        items=loaded.items,
        matrix=inter.matrix,
        catalog=catalog,
        popular=popular,
        fbt=fbt,
        weights=weights,
        meta=loaded.meta,
        loaded_at=_now(),
        events_through=None if through is None else int(through),
    )


class ModelHolder:
    """The current :class:`ModelSnapshot` of one model name, swapped atomically.

    Readers take ``holder.current`` once and use that object to the end of the request.
    :meth:`refresh` checks the registry's ``CURRENT`` pointer (at most every ``check_seconds``
    unless forced) and, when it moved, builds the new snapshot *before* swapping the reference.
    The build holds no lock a request takes (only the holder's own, which keeps two builds
    from running at once); the short swap holds ``swap_lock`` (the service's store lock, so no
    event batch or erasure lands between them), carries erasures and online rows over, calls
    ``catch_up(snapshot)`` to add what was stored while the build ran, and assigns.
    """

    def __init__(
        self,
        registry: ModelRegistry,
        name: str,
        loader: Callable[[], ModelSnapshot],
        check_seconds: float = 1.0,
        *,
        swap_lock: threading.RLock | None = None,
        catch_up: Callable[[ModelSnapshot], None] | None = None,
    ) -> None:
        self.registry = registry
        self.name = name
        self._loader = loader
        self._check_seconds = check_seconds
        self._checked = 0.0
        self._lock = threading.Lock()
        self._swap_lock = swap_lock or threading.RLock()
        self._catch_up = catch_up
        self.current: ModelSnapshot | None = None
        self.swaps = 0
        self.last_error: str | None = None

    def published_version(self) -> str | None:
        """The version ``CURRENT`` points at in the registry."""
        return self.registry.current_version(self.name)

    def refresh(self, force: bool = False) -> bool:
        """Swap to the published version if it changed; True if a swap happened."""
        now = time.monotonic()
        if not force and now - self._checked < self._check_seconds:
            return False
        if not self._lock.acquire(blocking=force):
            return False  # another thread is already refreshing
        try:
            self._checked = time.monotonic()
            published = self.published_version()
            current = self.current
            same = current is not None and (current.name, current.version) == (self.name, published)
            if published is None or same:
                return False
            try:
                snapshot = self._loader()  # the slow part, outside the swap lock
            except ModelFormatError as exc:
                self.last_error = exc.message
                return False
            with self._swap_lock:
                current = self.current
                if current is not None:  # carry over erasures, and online rows if aligned
                    snapshot.erased.update(current.erased)
                    if snapshot.items == current.items:
                        snapshot.rows.update(current.rows)
                if self._catch_up is not None:
                    self._catch_up(snapshot)
                self.current = snapshot  # the atomic swap
            self.swaps += 1
            self.last_error = None
            return True
        finally:
            self._lock.release()


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
    events = _events_frame(store, list(user_ids))
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


@dataclass(frozen=True)
class Recommendation:
    """One recommended item."""

    item_id: str
    score: float
    title: str | None
    category: str | None
    price: float | None
    reason: str | None


def _rules(
    include: Sequence[str], exclude: Sequence[str], min_price: float | None, max_price: float | None
) -> RuleSet:
    rules: list[Rule] = []
    if include:
        rules.append(IncludeCategories(list(include)))
    if exclude:
        rules.append(ExcludeCategories(list(exclude)))
    if min_price is not None or max_price is not None:
        rules.append(
            PriceRange(
                0.0 if min_price is None else min_price,
                float("inf") if max_price is None else max_price,
            )
        )
    return RuleSet(rules)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _price(value: Any) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None


def recommend_for_user(
    snapshot: ModelSnapshot,
    user_id: str,
    n: int = 10,
    *,
    include_categories: Sequence[str] = (),
    exclude_categories: Sequence[str] = (),
    min_price: float | None = None,
    max_price: float | None = None,
    explanations: bool = False,
) -> tuple[list[Recommendation], str]:
    """Top-``n`` items for a user with business filters; returns the items and the strategy.

    Strategy ``"model"`` for users the model knows (or, for models that score from a user's own
    items such as item-KNN and EASE, users with interactions ingested since); otherwise
    ``"popular"``: the most popular allowed items the user has not interacted with.
    Answers are cached per user and parameters until the user's events or the model change.
    """
    if user_id in snapshot.erased:
        raise UnknownIdError("user", [user_id])
    key = (n, tuple(include_categories), tuple(exclude_categories), min_price, max_price,
           explanations)  # fmt: skip
    cached = snapshot.answers.get(user_id, key)
    if cached is not None:
        return cached
    answer = _recommend_uncached(
        snapshot, user_id, n, include_categories, exclude_categories, min_price, max_price,
        explanations,
    )  # fmt: skip
    snapshot.answers.put(user_id, key, answer)
    return answer


def recommendations_json(
    snapshot: ModelSnapshot,
    user_id: str,
    n: int = 10,
    *,
    include_categories: Sequence[str] = (),
    exclude_categories: Sequence[str] = (),
    min_price: float | None = None,
    max_price: float | None = None,
    explanations: bool = False,
) -> bytes:
    """:func:`recommend_for_user` as the REST answer's JSON (``RecommendationsResponse``).

    Written from the snapshot's per-item JSON fragments, so an answer costs a join of ten byte
    strings instead of building and serialising objects; cached like the items.
    """
    if user_id in snapshot.erased:
        raise UnknownIdError("user", [user_id])
    key = ("json", n, tuple(include_categories), tuple(exclude_categories), min_price,
           max_price, explanations)  # fmt: skip
    cached = snapshot.answers.get(user_id, key)
    if cached is not None:
        return bytes(cached)
    ids, scores, reasons, strategy = _score_user(
        snapshot, user_id, n, include_categories, exclude_categories, min_price, max_price,
        explanations,
    )  # fmt: skip
    fragments = snapshot.item_json
    items = b",".join(
        fragments[i][0]
        + repr(score).encode()
        + fragments[i][1]
        + (b"null}" if reason is None else _json(reason) + b"}")
        for i, score, reason in zip(ids.tolist(), scores.tolist(), reasons, strict=True)
    )
    body = (
        b'{"user_id":' + _json(user_id) + b',"model":' + _json(snapshot.name)
        + b',"version":' + _json(snapshot.version) + b',"strategy":' + _json(strategy)
        + b',"items":[' + items + b"]}"
    )  # fmt: skip
    snapshot.answers.put(user_id, key, body)
    return body


def _json(value: str | float | None) -> bytes:
    """One JSON value (UTF-8, finite numbers only)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False).encode()


def _recommend_uncached(
    snapshot: ModelSnapshot,
    user_id: str,
    n: int,
    include_categories: Sequence[str],
    exclude_categories: Sequence[str],
    min_price: float | None,
    max_price: float | None,
    explanations: bool,
) -> tuple[list[Recommendation], str]:
    ids, scores, reasons, strategy = _score_user(
        snapshot, user_id, n, include_categories, exclude_categories, min_price, max_price,
        explanations,
    )  # fmt: skip
    out = []
    for i, score, reason in zip(ids.tolist(), scores.tolist(), reasons, strict=True):
        item_id, title, category, price = snapshot.item_meta[i]
        out.append(Recommendation(item_id, score, title, category, price, reason))
    return out, strategy


def _score_user(
    snapshot: ModelSnapshot,
    user_id: str,
    n: int,
    include_categories: Sequence[str],
    exclude_categories: Sequence[str],
    min_price: float | None,
    max_price: float | None,
    explanations: bool,
) -> tuple[np.ndarray, np.ndarray, list[str | None], str]:
    """Score the user now: item indices, scores, reasons and the strategy.

    With a :class:`RowScorer` (item-/user-KNN) the request touches only the snapshot's arrays:
    the user's interaction slice, the filter mask from the category index and one compiled
    pass; other models go through ``RuleSet.recommend``."""
    index, seen, weights = snapshot.user_items(user_id)
    from_row = isinstance(snapshot.model, ItemKNN | EASE)
    allowed = snapshot.allowed(include_categories, exclude_categories, min_price, max_price)
    if index is not None or (from_row and len(seen)):
        model_row = index if index is not None else 0
        scorer = snapshot.scorer
        if scorer is not None:
            ids, scores = scorer.top_n(
                model_row, seen, weights, None if allowed is None else ~allowed, n
            )
        else:
            rules = _rules(include_categories, exclude_categories, min_price, max_price)
            row = _as_row(seen, weights, len(snapshot.items))
            found_ids, found_scores = rules.recommend(
                snapshot.model, [model_row], row, snapshot.catalog, n=n
            )
            ids, scores = found_ids[0], found_scores[0]
        keep = ids >= 0
        ids, scores = ids[keep], scores[keep]
        strategy = "model"
        reasons: list[str | None] = [None] * len(ids)
        if explanations and len(ids):
            found = explain(
                snapshot.model, model_row, ids, _as_row(seen, weights, len(snapshot.items)),
                items=snapshot.items, titles=snapshot.catalog.title.tolist(),
            )  # fmt: skip
            reasons = [e.text for e in found]
        if len(ids) < n:  # top up with popular items
            extra_ids, extra_scores = _popular(snapshot, allowed, seen, n - len(ids), exclude=ids)
            ids = np.concatenate([ids, extra_ids])
            scores = np.concatenate([scores, extra_scores])
            reasons += ["popular with all shoppers" if explanations else None] * len(extra_ids)
    else:
        ids, scores = _popular(snapshot, allowed, seen, n)
        strategy = "popular"
        reasons = ["popular with all shoppers" if explanations else None] * len(ids)
    return ids, scores, reasons, strategy


def _as_row(indices: np.ndarray, data: np.ndarray, n_items: int) -> sp.csr_matrix:
    """One user's interactions as a 1-row CSR matrix (for the models without a scorer)."""
    indptr = np.array([0, len(indices)], dtype=np.int64)
    return sp.csr_matrix((data, indices, indptr), shape=(1, n_items))


def _popular(
    snapshot: ModelSnapshot,
    allowed: np.ndarray | None,
    seen: np.ndarray,
    n: int,
    exclude: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` most popular allowed items outside ``seen`` and ``exclude`` (ties: lower index
    first), walking the snapshot's precomputed popularity order."""
    order = snapshot.popular_order
    ok = np.ones(len(snapshot.items), dtype=bool) if allowed is None else allowed.copy()
    ok[seen] = False
    if exclude is not None and len(exclude):
        ok[exclude] = False
    top = order[ok[order]][:n]
    return top.astype(np.int32), snapshot.popular[top].astype(np.float32)


def similar_items(snapshot: ModelSnapshot, item_id: str, n: int = 10) -> list[dict[str, Any]]:
    """Items most similar to ``item_id`` under the served model."""
    index = snapshot.item_row(item_id)
    try:
        ids, scores = snapshot.model.similar_items([index], n=n)
    except NotImplementedError:
        return []
    return _item_list(snapshot, ids[0], scores[0], "similarity")


def together_items(snapshot: ModelSnapshot, item_id: str, n: int = 10) -> list[dict[str, Any]]:
    """Items most often bought in the same orders as ``item_id`` (confidence order)."""
    index = snapshot.item_row(item_id)
    if snapshot.fbt is None:
        return []
    found = snapshot.fbt.together(index, n=n)
    out = _item_list(snapshot, found.items, found.confidence, "confidence")
    for entry, lift, orders in zip(out, found.lift, found.pair_orders, strict=True):
        entry["lift"] = float(lift)
        entry["orders"] = int(orders)
    return out


def _item_list(
    snapshot: ModelSnapshot, ids: np.ndarray, scores: np.ndarray, label: str
) -> list[dict[str, Any]]:
    keep = ids >= 0
    ids, scores = ids[keep], scores[keep]
    external = snapshot.items.to_external(ids)
    cat = snapshot.catalog
    return [
        {
            "item_id": str(external[k]),
            label: float(scores[k]),
            "title": _text(cat.title[i]),
            "category": _text(cat.category[i]),
            "price": _price(cat.price[i]),
        }
        for k, i in enumerate(ids.tolist())
    ]


def promotion_scores(snapshot: ModelSnapshot, item_ids: Sequence[str]) -> pd.Series:
    """Each known user's best recommendation score among the promoted items (0 when none).

    Items the user already has are not filtered: the campaign step decides about past buyers.
    """
    wanted = snapshot.items.to_internal(list(item_ids), unknown="drop")
    users = snapshot.users.external_ids.astype(str)
    if not len(wanted):
        return pd.Series(0.0, index=pd.Index(users, name=C.USER_ID))
    allowed = np.zeros(len(snapshot.items), dtype=bool)
    allowed[wanted] = True
    ids, scores = snapshot.model.recommend(
        np.arange(snapshot.model.n_users_), snapshot.matrix, n=len(wanted),
        filter_already_liked=False, items_allowed=allowed,
    )  # fmt: skip
    best = np.where(ids >= 0, scores, 0.0).max(axis=1).clip(min=0)
    out = pd.Series(best.astype(float), index=pd.Index(users, name=C.USER_ID))
    if snapshot.erased:
        out = out.drop(index=[u for u in snapshot.erased if u in out.index])
    return out


def campaign_audience(
    store: Store,
    snapshot: ModelSnapshot,
    *,
    name: str,
    items: Sequence[str] = (),
    categories: Sequence[str] = (),
    discount: float = 0.0,
    size: int | None = 100,
    exclude_bought_days: int | None = None,
    allowed_users: set[str] | None = None,
    lock: threading.RLock | None = None,
) -> dict[str, Any]:
    """A campaign audience from :mod:`shopguide.targeting.campaign` (rule-based propensity).

    The served model's score of the promoted items for each user is the ``rec_score`` feature;
    ``allowed_users`` (from segment or churn constraints) limits who may be chosen. Returns the
    audit summary (expected responses and lift against a random audience of the same size) and
    the users with their score and reasons.
    """
    from shopguide.targeting.campaign import (
        Campaign,
        campaign_features,
        promoted_items,
        rule_based_score,
        select_audience,
    )

    campaign = Campaign(
        name=name, items=tuple(items), categories=tuple(categories), discount=discount,
        audience_size=size, exclude_bought_days=exclude_bought_days,
    )  # fmt: skip
    with lock or threading.RLock():
        promoted = promoted_items(store, campaign)["item_id"].astype(str).tolist()
        if not promoted:
            raise DataError(
                "the campaign promotes no item of the catalogue",
                hint="check the item ids and categories",
            )
        rec = promotion_scores(snapshot, promoted)
        as_of = store.scalar('SELECT max("timestamp") FROM events')
        features = campaign_features(store, campaign, as_of, rec_scores=rec)
    if snapshot.erased:
        features = features.drop(index=[u for u in snapshot.erased if u in features.index])
    if allowed_users is not None:
        features = features[features.index.isin(list(allowed_users))]
    scores = rule_based_score(features, campaign)
    audience = select_audience(campaign, features, scores, as_of)
    summary = audience.summary()
    lift = summary["expected_lift"]
    return {
        "name": name,
        "promoted_items": len(promoted),
        "eligible_users": int(summary["eligible"]),
        "excluded": summary["excluded"],
        "size": int(summary["size"]),
        "expected_responses": summary["expected_responses"],
        "random_expected_responses": summary["random_expected_responses"],
        "expected_lift": None if lift is None or not np.isfinite(lift) else float(lift),
        "method": "rule-based propensity (shopguide.targeting.campaign)",
        "recommender": {"used": True, "model": snapshot.name, "version": snapshot.version},
        "users": [
            {
                "user_id": str(r.user_id),
                "score": float(r.score),
                "rank": int(r.rank),
                "reasons": str(r.reasons),
            }
            for r in audience.users.itertuples()
        ],
    }


def train_and_publish(
    store: Store,
    registry: ModelRegistry,
    name: str = "item-knn",
    params: dict[str, Any] | None = None,
    *,
    progress: Callable[[float, str], None] | None = None,
    read_lock: threading.RLock | None = None,
    binary: bool = False,
    meta: dict[str, Any] | None = None,
) -> str:
    """Fit ``name`` on all events of the store and publish it as the new current version.

    ``progress`` gets ``(fraction, step)``; ``read_lock`` guards the store reads when the store
    connection is shared with a running service (the fit itself runs outside the lock).
    ``binary`` fits on did-interact 0/1 values instead of event weights (the snapshot then
    scores from 0/1 rows too); ``meta`` is stored with the version (evaluation evidence).
    """

    def step(fraction: float, text: str) -> None:
        if progress is not None:
            progress(fraction, text)

    step(0.05, "reading events")
    lock = read_lock or threading.RLock()
    with lock:
        events = _events_frame(store)
        max_load = store.scalar("SELECT max(load_id) FROM loads")
    if events.empty:
        raise DataError("the store has no events to train on", hint="ingest events first")
    step(0.25, "building the interaction matrix")
    inter = build_interactions(events, DEFAULT_EVENT_WEIGHTS)
    step(0.4, f"fitting {name}")
    model = create_model(name, **(params or {})).fit(inter.binary() if binary else inter.matrix)
    step(0.85, "publishing")
    version = registry.publish(
        name,
        model,
        inter.users,
        inter.items,
        {
            "weights": dict(DEFAULT_EVENT_WEIGHTS),
            "events": len(events),
            "max_load_id": None if max_load is None else int(max_load),
            "params": model.get_params(),
            "binary": binary,
            **(meta or {}),
        },
    )
    step(1.0, f"published {version}")
    return version


def model_versions(registry: ModelRegistry) -> list[dict[str, Any]]:
    """Every published version of every model with its metadata and which one is current."""
    from shopguide.recommend import MODEL_NAMES

    out: list[dict[str, Any]] = []
    for name in MODEL_NAMES:
        current = registry.current_version(name)
        for version in registry.versions(name):
            meta_file = Path(registry.root) / name / version / "meta.json"
            meta: dict[str, Any] = {}
            if meta_file.is_file():
                meta = json.loads(meta_file.read_text())
            out.append(
                {
                    "model": name,
                    "version": version,
                    "current": version == current,
                    "created_at": meta.get("created_at"),
                    "events": meta.get("events"),
                    "params": meta.get("params"),
                }
            )
    return out


def model_names() -> tuple[str, ...]:
    """The recommender names the registry and the train route accept."""
    from shopguide.recommend import MODEL_NAMES

    return MODEL_NAMES


def open_service_store(path: str | Path) -> tuple[Store, ModelRegistry]:
    """Open (creating/migrating) the store at ``path``, its service tables and model registry."""
    from shopguide.store import open_store

    store = open_store(path)
    ensure_service_tables(store)
    return store, ModelRegistry.for_store(store.path)


def check_model_params(name: str, params: dict[str, Any]) -> None:
    """Raise ``ValueError`` now if ``name`` does not take ``params`` (before a job starts)."""
    create_model(name, **params)
