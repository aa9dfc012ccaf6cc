"""What the running service holds: the store (one connection, guarded by a lock), the model
holder (hot swap), the churn predictions' cache, background jobs and request metrics."""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

import numpy as np

from shopguide.service.settings import Role, ServiceSettings
from shopguide.store.base import Store
from shopguide.store.user_indexes import ensure_user_indexes
from shopguide.workflows import current_model
from shopguide.workflows.jobs import JobRunner
from shopguide.workflows.publishing import open_service_store
from shopguide.workflows.serving.live_ingest import refresh_live_profiles
from shopguide.workflows.serving.lookup import SearchCache
from shopguide.workflows.serving.predictions import PredictionCache, churn_predictions
from shopguide.workflows.serving.reads import build_profiles_if_missing
from shopguide.workflows.serving.snapshot import (
    ModelSnapshot,
    build_snapshot,
    refresh_rows,
    users_loaded_after,
)

T = TypeVar("T")
log = logging.getLogger("shopguide.service")


@dataclass
class RouteStats:
    """Counts and recent latencies of one route template."""

    count: int = 0
    errors: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    recent_ms: deque[float] = field(default_factory=lambda: deque(maxlen=2000))


class Metrics:
    """Per-route request counts, status codes and latency percentiles (recent window)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.routes: dict[str, RouteStats] = {}
        self.started = time.time()

    def record(self, route: str, status: int, ms: float) -> None:
        with self._lock:
            stats = self.routes.setdefault(route, RouteStats())
            stats.count += 1
            stats.errors += status >= 500
            stats.by_status[status] = stats.by_status.get(status, 0) + 1
            stats.recent_ms.append(ms)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            routes = {
                name: {
                    "requests": s.count,
                    "server_errors": s.errors,
                    "by_status": {str(k): v for k, v in sorted(s.by_status.items())},
                    "p50_ms": _pct(s.recent_ms, 50),
                    "p99_ms": _pct(s.recent_ms, 99),
                }
                for name, s in sorted(self.routes.items())
            }
        return {"uptime_seconds": round(time.time() - self.started, 1), "routes": routes}


def _say(text: str) -> None:
    """A start-up line on standard error (shown whatever the logging set-up)."""
    print(text, file=sys.stderr, flush=True)


def _pct(values: deque[float], q: float) -> float | None:
    return round(float(np.percentile(list(values), q)), 3) if values else None


class ProfileUpdates:
    """Runs the live profile updates of ingested event batches, shared between batches that
    arrive together (group commit), on a connection of their own.

    Each ``POST /v1/events`` stores its batch inside :meth:`ingesting`, then calls
    :meth:`cover` with its load id before answering. One update runs at a time (:attr:`turn`)
    and covers every load stored when it starts, so a batch stored while an earlier update ran
    finds its load covered and answers without running its own. Before it starts, an update
    lets the batches already on their way into the store land first (waiting at most
    ``max_wait`` seconds), so it covers them too; batches that arrive while it waits are left
    to the next update (with writers sending all the time, waiting for a moment when none is
    on its way made every update wait the full ``max_wait``). A batch's answer still waits
    until its users' profiles include it, but N batches that arrive together cost one or two
    updates, not N.
    A batch sent with ``wait_for_profiles=false`` calls :meth:`cover_later` instead: its answer
    does not wait, and a worker thread runs the updates one after the other.

    An update reports when the population statistics it placed its users against are older
    than ``population_max_age`` (or from an earlier day); a thread of its own then measures
    them again (:func:`shopguide.profiles.refresh_population`, on a connection of its own),
    holding :attr:`turn` only for the final swap, so batches keep being profiled meanwhile,
    those sent with ``wait_for_profiles=false`` too.

    The updates use their own connection (``connect()``, opened on first use), so batches are
    stored, and reads answered, while an update runs. Other writes to the profile tables (an
    erasure) must hold :meth:`exclusive`, so that they never run during an update or a
    refresh.
    """

    def __init__(
        self,
        connect: Callable[[], Store],
        *,
        max_wait: float = 2.0,
        population_max_age: timedelta | None = None,
    ) -> None:
        self._connect = connect
        self._store: Store | None = None
        self.max_wait = max_wait
        self.population_max_age = population_max_age
        #: held for a whole population refresh (an erasure waits for it)
        self.refreshing = threading.Lock()
        self.refreshes = 0
        self._refresher: threading.Thread | None = None
        self._refresh_store: Store | None = None
        #: held while an update runs; batches queue here for their turn
        self.turn = threading.Lock()
        self.covered = 0  # every load id up to this one is in the live profiles
        self.runs = 0
        self._recomputed: int | None = None
        self._seconds: float | None = None  # how long the last update took
        self._arrivals = 0  # batches that have arrived so far (numbers them)
        self._pending: set[int] = set()  # numbers of the batches arrived and not stored yet
        self._landed = threading.Condition()
        # background updates (batches sent with wait_for_profiles=false)
        self._wanted = 0
        self._wake = threading.Condition()
        self._stopping = False
        self._worker: threading.Thread | None = None

    @property
    def in_flight(self) -> int:
        """Batches that have arrived and are not stored yet."""
        with self._landed:
            return len(self._pending)

    @contextlib.contextmanager
    def ingesting(self) -> Iterator[None]:
        """Wrap the storing of one batch (an update that is about to start waits for it)."""
        with self._landed:
            number = self._arrivals
            self._arrivals += 1
            self._pending.add(number)
        try:
            yield
        finally:
            with self._landed:
                self._pending.discard(number)
                self._landed.notify_all()

    def _await_arrived(self) -> None:
        """Wait (at most ``max_wait``) until every batch that has arrived by now is stored."""
        with self._landed:
            horizon = self._arrivals
            self._landed.wait_for(
                lambda: all(n >= horizon for n in self._pending), timeout=self.max_wait
            )

    def cover(self, load_id: int) -> tuple[int | None, bool, float | None]:
        """Return once load ``load_id`` is in the live profiles: the users recomputed by the
        update that covered it (None without profiles), whether that update was shared, that
        is, run for another batch, and how long it took."""
        with self.turn:
            if load_id <= self.covered:
                return self._recomputed, True, self._seconds
            self._await_arrived()
            if self._store is None:
                self._store = self._connect()
            update = refresh_live_profiles(self._store, population_max_age=self.population_max_age)
            self.covered, self._recomputed = update.covered, update.recomputed
            self._seconds = update.seconds
            self.runs += 1
        if update.population_stale:
            self.refresh_soon()
        return update.recomputed, False, update.seconds

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold off every profile update and population refresh (for an erasure)."""
        with self.refreshing, self.turn:
            yield

    def refresh_soon(self) -> None:
        """Have a thread of its own measure the population statistics again, unless one is
        at it (the updates meanwhile still see the old statistics). Background updates go on
        meanwhile, on the worker thread."""
        with self._wake:
            running = self._refresher is not None and self._refresher.is_alive()
            if running or self._stopping:
                return
            self._refresher = threading.Thread(
                target=self._refresh, name="population-refresh", daemon=True
            )
            self._refresher.start()

    def _refresh(self) -> None:
        from shopguide.profiles import refresh_population

        try:
            with self.refreshing:
                if self._stopping:
                    return
                if self._refresh_store is None:
                    self._refresh_store = self._connect()
                done = refresh_population(self._refresh_store, lock=self.turn)
                self.refreshes += 1
            if done is not None:
                log.info(
                    "population statistics measured again: %d users as of %s in %.1f s",
                    done.users, done.as_of, done.seconds,
                )  # fmt: skip
        except Exception:  # the next stale update asks again
            log.exception("population refresh failed")

    def cover_later(self, load_id: int) -> None:
        """Have load ``load_id`` covered by a background update and return at once.

        One worker thread runs the updates; loads asked for while it works are covered by its
        next run, so a stream of such batches costs one update at a time, back to back.
        """
        with self._wake:
            self._wanted = max(self._wanted, load_id)
            self._start_worker()
            self._wake.notify()

    def _start_worker(self) -> None:
        """Start the worker thread if it is not running (call holding ``_wake``)."""
        if self._worker is None and not self._stopping:
            self._worker = threading.Thread(target=self._work, name="profile-updates", daemon=True)
            self._worker.start()

    def _work(self) -> None:
        while True:
            with self._wake:
                self._wake.wait_for(lambda: self._stopping or self._wanted > self.covered)
                if self._stopping:
                    return
                wanted = self._wanted
            try:
                self.cover(wanted)
            except Exception:  # the loads stay uncovered: the next batch's update takes them
                log.exception("background profile update failed")
                self._wait_for_a_batch_after(wanted)  # do not spin on a failing update

    def _wait_for_a_batch_after(self, load_id: int) -> None:
        with self._wake:
            self._wake.wait_for(lambda: self._stopping or self._wanted > load_id)

    def stop(self, timeout: float = 60) -> None:
        """Let a running update and refresh finish (up to ``timeout`` s each), end their
        threads and close the connections."""
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        for thread in (self._worker, self._refresher):
            if thread is not None:
                thread.join(timeout)
        with self.refreshing, self.turn:
            for store in (self._store, self._refresh_store):
                if store is not None:
                    store.close()
            self._store = self._refresh_store = None


class ServiceState:
    """The live objects behind the routes."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.keys: dict[str, Role] = settings.keys()
        self.lock = threading.RLock()  # DuckDB connection: one thread at a time
        self.store, self.model_store = open_service_store(settings.db)
        self.profile_updates = ProfileUpdates(
            self._connection,
            population_max_age=timedelta(minutes=settings.population_max_age_minutes),
        )
        self._readers = threading.local()  # each worker thread's own read connection
        self._reader_stores: list[Store] = []
        self._readers_lock = threading.Lock()
        #: Called with each step of a snapshot build (on the building thread), if set.
        self.snapshot_progress: Callable[[str], None] | None = None
        self.holder = current_model.CurrentModelHolder(
            self.model_store,
            settings.model,
            self._load_snapshot,
            check_seconds=settings.model_check_seconds,
            swap_lock=self.lock,
            catch_up=self._catch_up,
        )
        #: What the churn routes remember between requests (rows read, scoring lock, the
        #: day last rescored for): owned here, passed to every churn call.
        self.predictions = PredictionCache()
        #: The user index the search route answers from, read in once per profile version.
        self.search = SearchCache(connect=self._connection)
        self.jobs = JobRunner()
        self.metrics = Metrics()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    def db(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``func(store, *args, **kwargs)`` holding the store lock."""
        with self.lock:
            return func(self.store, *args, **kwargs)

    def _connection(self) -> Store:
        """Another connection to the store, for one other thread (it can write too)."""
        with self.lock:  # the main connection hands it out
            return self.store.reader()

    def read(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a read-only ``func(store, *args, **kwargs)`` on this thread's own connection.

        No store lock: the read sees the last committed data and does not wait while a write
        (an ingested batch and its profile update, say) holds the lock on the main connection.
        """
        store = getattr(self._readers, "store", None)
        if store is None:
            store = self._connection()
            with self._readers_lock:
                self._reader_stores.append(store)
            self._readers.store = store
        return func(store, *args, **kwargs)

    def _load_snapshot(self) -> ModelSnapshot:
        """Build the served model's snapshot on a connection of its own, without the store
        lock: event batches, erasures and reads go on meanwhile (the swap catches up)."""
        reader = self._connection()
        try:
            return build_snapshot(
                reader, self.model_store, self.holder.name, self.holder.wanted,
                progress=self.snapshot_progress,
            )  # fmt: skip
        finally:
            reader.close()

    def _catch_up(self, snapshot: ModelSnapshot) -> None:
        """Give ``snapshot`` the rows of users whose events were stored while it was built
        (called holding the store lock, just before the swap)."""
        users = users_loaded_after(self.store, snapshot.events_through)
        refresh_rows(self.store, snapshot, users)

    def prepare(self) -> None:
        """Build missing profiles (models are trained only with ``train_if_missing``)."""
        with self.lock:
            build_profiles_if_missing(self.store)
            ensure_user_indexes(self.store)  # or the first live batch would build them

    def start(self) -> None:
        """Load the model to serve, say which, and start watching the model store for new versions.

        The model is the store's current one (or ``settings.model``); with none published the
        service trains one only when ``settings.train_if_missing`` says so, and otherwise
        serves popularity under a name that says why (see :mod:`shopguide.workflows.current_model`).
        """
        if self.settings.prepare:
            self.prepare()
        current_model.start_serving(
            self.holder, self.store, self.model_store, lock=self.lock,
            train_if_missing=self.settings.train_if_missing, say=_say,
        )  # fmt: skip
        self.predictions.start_background(self._warm, "churn-warmup")
        self._watcher = threading.Thread(target=self._watch, name="model-watcher", daemon=True)
        self._watcher.start()

    def _warm(self) -> None:
        """Score churn and value in the background when ``user_predictions`` has no current
        rows, so the first churn page does not wait for the fit."""
        try:
            churn_predictions(self.store, lock=self.lock, cache=self.predictions)
        except Exception as exc:  # no purchases yet, or a closed store at shutdown
            log.info("retention warm-up skipped: %s", type(exc).__name__)

    def _watch(self) -> None:
        while not self._stop.wait(self.settings.model_check_seconds):
            try:
                if self.holder.refresh(force=True):
                    log.info(
                        "model swapped to %s", self.holder.current and self.holder.current.version
                    )
            except Exception:  # keep serving the old version; the error shows in /v1/models
                log.exception("model refresh failed")

    def stop(self) -> None:
        self._stop.set()
        self.jobs.shutdown(wait=120)  # a training publishes whole or not at all: let it end
        self.profile_updates.stop()
        # a daemon thread still inside DuckDB or a model fit when the interpreter exits aborts
        # the process ("FATAL: exception not rethrown"): let the churn scorings end first
        self.predictions.join_background()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        self.search.join(timeout=30)
        with self._readers_lock:
            for reader in self._reader_stores:
                reader.close()
            self._reader_stores.clear()
        with self.lock:
            self.store.close()
