"""The per-snapshot cache of recommendation answers (least recently used users dropped first)."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Any

__all__ = ["RECOMMEND_CACHE_USERS", "AnswerCache"]


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
