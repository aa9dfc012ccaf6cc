"""Churn risk and value as the service shows them: the stored ``user_predictions`` rows, read
once per version, and rescored in the background when the data has moved on.

What is remembered between calls (the rows last read, the one-scoring-at-a-time lock, the data
day last rescored for) lives in a :class:`PredictionCache` that the caller owns: the service
state keeps one for its store and passes it to every call; a library or CLI caller passes its
own, or gets a fresh one per call.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Final

import pandas as pd

from shopguide.columns import Columns as C
from shopguide.errors import DataError
from shopguide.store.base import Store
from shopguide.workflows.json_records import records

__all__ = [
    "PREDICTION_COLUMNS",
    "PredictionCache",
    "Predictions",
    "churn_predictions",
    "churn_scores",
    "score_predictions",
]


def _held(lock: threading.RLock | None) -> AbstractContextManager[Any]:
    """``lock`` held for the block, or nothing to hold when the caller has no lock."""
    return lock if lock is not None else contextlib.nullcontext()


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


class PredictionCache:
    """What :func:`churn_predictions` keeps for one store between calls.

    ``scoring`` is held while a scoring runs (one per store at a time); ``rescored_for`` is the
    data day last rescored for in the background (one attempt per day: if the scoring cannot
    reach that day, requests keep the stored rows instead of refitting); ``rows`` is the
    version key and frame last read. Calls that should share them (every request of a running
    service) must be given the same object; its own lock makes it safe across threads.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()  # guards the fields below
        self.scoring = threading.Lock()
        self.rescored_for: pd.Timestamp | None = None
        self.rows: tuple[Any, pd.DataFrame] | None = None
        self._background: list[threading.Thread] = []

    def start_background(self, target: Callable[[], None], name: str) -> None:
        """Run ``target`` in a daemon thread that :meth:`join_background` waits for."""
        thread = threading.Thread(target=target, name=name, daemon=True)
        with self.lock:
            self._background = [t for t in self._background if t.is_alive()]
            self._background.append(thread)
        thread.start()

    def join_background(self, timeout: float = 120) -> None:
        """Wait (up to ``timeout`` seconds in all) for the background scorings to end, so none
        is still inside the database or a model fit when the process shuts down."""
        deadline = time.monotonic() + timeout
        with self.lock:
            threads = list(self._background)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


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


def score_predictions(
    store: Store, *, lock: threading.RLock | None = None, cache: PredictionCache | None = None
) -> dict[str, Any]:
    """Score churn and value now with :func:`shopguide.workflows.retention.score_store`.

    Runs on a connection of its own to the same database (so the service's connection, and its
    lock, stay free while the model fits); an in-memory store is scored on ``store`` under
    ``lock``. One scoring per store at a time: a caller arriving during a scoring waits for it
    and does not score again (a caller sharing ``cache``). Returns the scoring report (``None``
    fields when it was skipped).
    """
    from shopguide.store import open_store
    from shopguide.store.duckdb_store import DuckDBStore
    from shopguide.workflows.retention import score_store

    guard = (cache or PredictionCache()).scoring
    with guard:
        with _held(lock):
            stored, data_as_of, _ = _prediction_state(store)
        if data_as_of is None:
            raise DataError("no purchases in the store: churn needs purchase history")
        if stored is not None and stored >= data_as_of:
            return {"as_of": stored.isoformat(), "skipped": "already current"}
        if isinstance(store, DuckDBStore) and str(store.path) != ":memory:":
            with open_store(store.path, create=False) as own:
                # the write holds ``lock``, which an erasure holds too (see score_store)
                return score_store(own, write_lock=_held(lock))
        with _held(lock):
            return score_store(store)


def _rescore_in_background(
    store: Store,
    lock: threading.RLock | None,
    cache: PredictionCache,
    data_as_of: pd.Timestamp | None = None,
) -> bool:
    """Start :func:`score_predictions` in a thread unless one is running or one already ran
    for ``data_as_of``; True if started."""
    with cache.lock:
        if cache.scoring.locked() or (data_as_of is not None and cache.rescored_for == data_as_of):
            return False
        if data_as_of is not None:
            cache.rescored_for = data_as_of

    def run() -> None:
        try:
            score_predictions(store, lock=lock, cache=cache)
        except Exception:  # the stale rows stay
            import logging

            logging.getLogger("shopguide.service").exception("churn rescoring failed")

    cache.start_background(run, "churn-rescore")
    return True


def _read_version(store: Store, lock: threading.RLock | None, as_of: pd.Timestamp) -> pd.DataFrame:
    """The stored rows of version ``as_of``, read on a connection of their own.

    At a million users (400k buyers) the read takes 3-5 s; the store lock, which every event
    batch takes to store itself, is held only to open the connection, so batches are not held
    up meanwhile. The rows are committed (their version was found under the lock).
    """
    from shopguide.workflows.retention import predictions

    with _held(lock):
        reader = store.reader()
    try:
        return predictions(reader, as_of=as_of.isoformat())
    finally:
        reader.close()


def churn_predictions(
    store: Store,
    *,
    lock: threading.RLock | None = None,
    wait: bool = True,
    cache: PredictionCache | None = None,
) -> Predictions:
    """The churn and value predictions to show (see :data:`PREDICTION_COLUMNS`).

    - current rows in ``user_predictions``: returned (read once per version, then cached);
    - no rows at all: scored now with the same function as ``shopguide churn score``
      (``wait=False`` starts that in the background and returns an empty frame instead);
    - rows older than the data: returned with ``stale=True`` while a background rescoring
      brings them up to date, so a page never waits for a refit once scores exist.

    ``cache`` carries the rows read, the scoring lock and the day last rescored for from one
    call to the next (a fresh one when not given: nothing is shared with other calls).
    Raises ``DataError`` when the store has no purchases.
    """
    cache = cache or PredictionCache()
    with _held(lock):
        stored, data_as_of, fingerprint = _prediction_state(store)
    if data_as_of is None:
        raise DataError("no purchases in the store: churn needs purchase history")
    if stored is None:
        if not wait:
            _rescore_in_background(store, lock, cache)
            empty = pd.DataFrame(columns=list(PREDICTION_COLUMNS))
            return Predictions(empty, None, data_as_of, True, True)
        score_predictions(store, lock=lock, cache=cache)
        with _held(lock):
            stored, data_as_of, fingerprint = _prediction_state(store)
        if stored is None:
            raise DataError("scoring produced no predictions", hint="run: shopguide churn score")
    stale = stored < data_as_of if data_as_of is not None else False
    if stale:
        _rescore_in_background(store, lock, cache, data_as_of)
    key = (stored, fingerprint)
    with cache.lock:
        hit = cache.rows
    if hit is not None and hit[0] == key:
        frame = hit[1]
    else:
        frame = _read_version(store, lock, stored)
        frame = frame.reindex(columns=list(PREDICTION_COLUMNS))
        frame[C.USER_ID] = frame[C.USER_ID].astype(str)
        with cache.lock:
            cache.rows = (key, frame)
    return Predictions(frame, stored, data_as_of, stale, cache.scoring.locked())


def churn_scores(
    store: Store, *, lock: threading.RLock | None = None, cache: PredictionCache | None = None
) -> pd.DataFrame:
    """Churn probability and reasons per buyer, riskiest first, from :func:`churn_predictions`
    (columns ``user_id``, ``churn_probability``, ``reasons``; users without a churn score, such
    as those valued but never scored, are left out)."""
    frame = churn_predictions(store, lock=lock, cache=cache).frame
    frame = frame[frame["churn_probability"].notna()]
    return frame[[C.USER_ID, "churn_probability", "churn_reasons"]].rename(
        columns={"churn_reasons": "reasons"}
    )
