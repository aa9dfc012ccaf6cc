"""Finding users, items and segments from a few typed characters (the dashboard's search box).

Users are found in a :class:`UserIndex`: the latest profile version's ids, in (length, id)
order, joined into one lower-case text, so a search is a few ``str.find`` calls over a few
megabytes instead of a scan of a million rows with ``lower()`` per keystroke (ids starting with
the text first, then ids holding it, then users whose location or segment starts with it). The
index is read from the store once per profile version (or erasure) and kept by the caller in a
:class:`SearchCache` (the service state owns one). Items are few: one SQL query, bounded by
``LIMIT``, over the catalogue. Matching ignores case everywhere. Timings on a store of a million
users: ``benchmarks/bench_search.py`` and docs/benchmarks.md.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pyarrow as pa

from shopguide.data.suppression import erased_among, erased_count_sql
from shopguide.profiles.lifecycle import SEGMENTS
from shopguide.store.base import Store
from shopguide.workflows.json_records import records

__all__ = ["MAX_SEARCH_LIMIT", "SearchCache", "UserIndex", "search"]

_log = logging.getLogger(__name__)

#: The most suggestions of each kind one search returns.
MAX_SEARCH_LIMIT: Final = 50

_ITEMS: Final = """
    SELECT item_id, title, category
    FROM items
    WHERE contains(lower(item_id), $q) OR contains(lower(title), $q)
       OR contains(lower(category), $q)
    ORDER BY CASE WHEN starts_with(lower(item_id), $q) THEN 0
                  WHEN starts_with(lower(title), $q) THEN 1
                  WHEN contains(lower(item_id), $q) OR contains(lower(title), $q) THEN 2
                  ELSE 3 END,
             title NULLS LAST, item_id
    LIMIT $limit"""

# What says the index is out of date: a new profile build or update, a user erased.
_VERSION_SQL: Final = f"""
    SELECT [(SELECT max(built_at)::VARCHAR FROM profile_builds),
            (SELECT count(*)::VARCHAR FROM profiles
             WHERE as_of = (SELECT max(as_of) FROM profiles)),
            {erased_count_sql()}::VARCHAR]"""
_PROFILE_ROWS: Final = """
    SELECT user_id, location, segment FROM profiles
    WHERE as_of = (SELECT max(as_of) FROM profiles)
    ORDER BY length(user_id), user_id"""
_TABLE_ROWS: Final = """
    SELECT user_id, location, NULL::VARCHAR AS segment FROM users
    ORDER BY length(user_id), user_id"""


#: The columns an index is read from, all text (the segment is NULL before profiles exist).
_SCHEMA: Final = pa.schema([("user_id", pa.string()), ("location", pa.string()),
                            ("segment", pa.string())])  # fmt: skip


class _Groups:
    """A string column as groups of rows: for each distinct value (case ignored), its rows in
    index order, so the first rows of a value are a slice."""

    def __init__(self, column: pa.ChunkedArray) -> None:
        encoded = column.combine_chunks().dictionary_encode()
        names = [None if n is None else str(n).lower() for n in encoded.dictionary.to_pylist()]
        codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        self.order = np.argsort(codes, kind="stable")  # rows by value, index order within
        bounds = np.searchsorted(codes[self.order], np.arange(len(names) + 1))
        self.rows = {i: (int(bounds[i]), int(bounds[i + 1])) for i in range(len(names))}
        self.names = names
        self.codes = codes

    def name(self, row: int) -> int:
        return int(self.codes[row])

    def starting_with(self, text: str, limit: int) -> list[int]:
        """The first ``limit`` rows (index order) whose value starts with ``text``."""
        picked: list[int] = []
        for code, name in enumerate(self.names):
            if name is not None and name.startswith(text):
                lo, hi = self.rows[code]
                picked.extend(self.order[lo : min(hi, lo + limit)].tolist())
        return sorted(picked)[:limit]


@dataclass(frozen=True)
class UserIndex:
    """Every user of one profile version, ready to be searched.

    Rows are in (length, id) order. ``ids``: the ids as stored; ``text``: ``"\n" + id + "\n"
    + id ... + "\n"`` in lower case, with ``starts`` where each id begins in it (for ids
    holding the text); ``sorted_ids`` / ``sorted_rows``: the lower-case ids in code-point order
    and their rows (ids starting with the text are one range of it); location and segment as
    :class:`_Groups`, with their original spelling in ``location_names`` / ``segment_names``.
    """

    version: Any
    ids: pa.Array
    text: str
    starts: np.ndarray
    sorted_ids: np.ndarray
    sorted_rows: np.ndarray
    locations: _Groups
    location_names: list[str | None]
    segments: _Groups
    segment_names: list[str | None]

    @classmethod
    def read(cls, store: Store, version: Any = None) -> UserIndex:
        """The index of the latest profile version (the users table before any profile)."""
        sql = _PROFILE_ROWS if store.has_table("profiles") else _TABLE_ROWS
        table = store.query_arrow(sql).cast(_SCHEMA)
        ids = table.column("user_id").combine_chunks().cast(pa.string())
        lowered = [str(i).lower() for i in ids.to_pylist()]
        lengths = np.fromiter((len(name) + 1 for name in lowered), np.int64, len(lowered))
        starts = np.concatenate([[1], 1 + np.cumsum(lengths)[:-1]]) if len(lowered) else lengths
        text = "\n" + "".join(name + "\n" for name in lowered)
        keys = np.array(lowered, dtype=object)
        order = np.argsort(keys, kind="stable")
        location = table.column("location").cast(pa.string())
        segment = table.column("segment").cast(pa.string())
        return cls(
            version, ids, text, starts, keys[order], order, _Groups(location),
            location.combine_chunks().dictionary_encode().dictionary.to_pylist(),
            _Groups(segment), segment.combine_chunks().dictionary_encode().dictionary.to_pylist(),
        )  # fmt: skip

    def _row(self, i: int) -> dict[str, Any]:
        loc, seg = self.locations.name(i), self.segments.name(i)
        return {
            "user_id": self.ids[i].as_py(),
            "location": None if loc < 0 else self.location_names[loc],
            "segment": None if seg < 0 else self.segment_names[seg],
        }

    def _starting_with(self, needle: str, limit: int) -> list[int]:
        """The first ``limit`` rows (index order) whose id starts with ``needle``."""
        lo = int(np.searchsorted(self.sorted_ids, needle, side="left"))
        hi = int(np.searchsorted(self.sorted_ids, needle + "\U0010ffff", side="left"))
        rows = self.sorted_rows[lo:hi]
        if len(rows) > limit:
            rows = np.partition(rows, limit - 1)[:limit]
        return sorted(int(r) for r in rows)

    def _holding(self, needle: str, found: dict[int, None], limit: int) -> None:
        """Add the rows whose id holds ``needle`` (in index order) until ``limit``."""
        pos = self.text.find(needle)
        while pos >= 0 and len(found) < limit:
            row = int(np.searchsorted(self.starts, pos, side="right")) - 1
            found.setdefault(row)
            # on after this id (its closing newline): one suggestion per id
            end = int(self.starts[row + 1]) - 1 if row + 1 < len(self.starts) else len(self.text)
            pos = self.text.find(needle, end)

    def find(self, text: str, limit: int) -> list[dict[str, Any]]:
        """Users whose id starts with ``text``, then whose id holds it, then whose location or
        segment starts with it (case ignored), at most ``limit``."""
        needle = text.lower()
        found: dict[int, None] = {}
        if needle and "\n" not in needle:
            found.update(dict.fromkeys(self._starting_with(needle, limit)))
            self._holding(needle, found, limit)
        for groups in (self.locations, self.segments):
            if len(found) < limit:
                found.update(dict.fromkeys(groups.starting_with(needle, limit)))
        return [self._row(i) for i in list(found)[:limit]]


class SearchCache:
    """The :class:`UserIndex` one store's searches share (thread-safe), read again when profiles
    are built or updated or a user is erased (looked at most once a second).

    Given ``connect`` (a factory of connections of its own, as the service has), a new version
    is read on a background thread while every request keeps answering from the previous index,
    so no search waits for the read (seconds at a million users); :func:`search` leaves out any
    user erased since. Without it the request that notices the change reads it. The very first
    index is always read by the request that needs it.
    """

    #: How long an index is used before the store is asked whether it changed (seconds).
    CHECK_SECONDS: Final = 1.0

    def __init__(self, connect: Callable[[], Store] | None = None) -> None:
        self.index: UserIndex | None = None
        self.checked = 0.0
        self.building = threading.Lock()
        self._connect = connect
        self._reader: threading.Thread | None = None

    def get(self, store: Store) -> UserIndex:
        """The index of ``store``'s current users (possibly the previous version's while the
        current one is read in the background)."""
        index = self.index
        if index is not None and time.monotonic() - self.checked < self.CHECK_SECONDS:
            return index
        version = tuple(store.scalar(_VERSION_SQL)) if store.has_table("profiles") else None
        if version is None:  # no profiles yet: the users table, read each time (small stores)
            return UserIndex.read(store)
        if index is not None and index.version == version:
            self.checked = time.monotonic()
            return index
        if index is not None and not self.building.acquire(blocking=False):
            return index  # the new version is being read in already
        if index is None:
            self.building.acquire()
        if index is not None and self._connect is not None:
            self._reader = threading.Thread(
                target=self._read_apart, args=(version,), name="search-index", daemon=True
            )
            self._reader.start()
            return index
        try:
            return self._read(store, version)
        finally:
            self.building.release()

    def _read(self, store: Store, version: Any) -> UserIndex:
        current = self.index
        if current is None or current.version != version:
            current = self.index = UserIndex.read(store, version)
        self.checked = time.monotonic()
        return current

    def _read_apart(self, version: Any) -> None:
        """Read ``version`` on a connection of its own (the background thread's work)."""
        assert self._connect is not None
        try:
            reader = self._connect()
            try:
                self._read(reader, version)
            finally:
                reader.close()
        except Exception:  # the old index keeps answering; the next check tries again
            _log.exception("reading the search index failed")
        finally:
            self.building.release()

    def join(self, timeout: float | None = None) -> None:
        """Wait for a background read to end (before the store closes)."""
        reader = self._reader
        if reader is not None:
            reader.join(timeout)


def search(
    store: Store, query: str, limit: int = 8, *, cache: SearchCache | None = None
) -> dict[str, Any]:
    """Users, items and segments matching ``query``, at most ``limit`` of each, best first.

    ``query`` is trimmed of spaces at its ends; case is ignored. Users: ids starting with it,
    then ids holding it, then users whose location or segment starts with it. Items: id, title
    or category holding it (id, then title prefixes first). Segments: names holding it.
    ``limit`` must be 1 to :data:`MAX_SEARCH_LIMIT` (callers validate it; larger values are
    capped here). ``cache`` keeps the user index between calls (a fresh one when not given).
    """
    text = query.strip()
    n = max(1, min(int(limit), MAX_SEARCH_LIMIT))
    if not text:
        return {"query": text, "users": [], "items": [], "segments": []}
    lower = text.lower()
    users = (cache or SearchCache()).get(store).find(text, n)
    if users and store.has_table("suppressed_users"):  # the index may predate an erasure
        gone = erased_among(store, [u["user_id"] for u in users])
        users = [u for u in users if u["user_id"] not in gone]
    items = store.query_df(_ITEMS, {"q": lower, "limit": n})
    return {
        "query": text,
        "users": users,
        "items": records(items),
        "segments": [{"segment": name} for name in SEGMENTS if lower in name.lower()][:n],
    }
