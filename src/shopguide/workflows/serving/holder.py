"""Hot swap: the current snapshot of a model, replaced by one reference assignment.

``holder.current`` is read once per request, so a request that started on the old version
finishes on it while new requests see the new one: a publish never fails a request in flight.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from shopguide.errors import ModelFormatError
from shopguide.recommend import RecommenderStore
from shopguide.workflows.serving.snapshot import ModelSnapshot

__all__ = ["ModelHolder"]


class ModelHolder:
    """The current :class:`ModelSnapshot` of one model name, swapped atomically.

    Readers take ``holder.current`` once and use that object to the end of the request.
    :meth:`refresh` checks the model store's ``CURRENT`` pointer (at most every ``check_seconds``
    unless forced) and, when it moved, builds the new snapshot *before* swapping the reference.
    The build holds no lock a request takes (only the holder's own, which keeps two builds
    from running at once); the short swap holds ``swap_lock`` (the service's store lock, so no
    event batch or erasure lands between them), carries erasures and online rows over, calls
    ``catch_up(snapshot)`` to add what was stored while the build ran, and assigns.
    """

    def __init__(
        self,
        model_store: RecommenderStore,
        name: str,
        loader: Callable[[], ModelSnapshot],
        check_seconds: float = 1.0,
        *,
        swap_lock: threading.RLock | None = None,
        catch_up: Callable[[ModelSnapshot], None] | None = None,
    ) -> None:
        self.model_store = model_store
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
        """The version ``CURRENT`` points at in the model store."""
        return self.model_store.current_version(self.name)

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
