"""A shopper's rights: erase everything held about them, or export it.

Used alike by the CLI (``shopguide erase``, ``export-user``, ``compact``) and the service
(``DELETE /v1/users/{id}``, ``GET /v1/users/{id}/export``).

Which rows name a user is read from the store's schema, not from a list: every base table with
a ``user_id`` column (events, users, profiles and their aggregates, predictions, audiences,
campaign contacts, the quarantine, and any table added later with that column). A row names
the user when its ``user_id`` equals the id exactly; the quarantine has that column since
migration 4, filled by ingestion, so an erasure never searches raw text (which deleted other
people's rows whose text merely contained the id).

Besides the store, the published recommender versions hold the id in their ``users.npz`` id
maps: an erasure replaces it there by a tombstone (``erased:`` and the id's SHA-256, the same
key the suppression list holds), keeping the rows aligned. The store file itself keeps the
deleted values in freed pages until it is rewritten: :func:`compact` does that when no other
process holds the store (see :mod:`shopguide.store.compact`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Final, TextIO

from shopguide.columns import Columns as C
from shopguide.data.suppression import (
    ERASED_REASON,
    is_suppressed,
    user_hash,
)
from shopguide.errors import InvalidIdError, UnknownIdError
from shopguide.recommend import RecommenderStore
from shopguide.store.base import Store
from shopguide.store.compact import compact_store
from shopguide.workflows.json_records import jsonable

__all__ = [
    "ERASED_REASON",
    "check_user_id",
    "compact",
    "erase_user",
    "export_user",
    "is_suppressed",
    "tombstone",
    "user_hash",
    "user_tables",
    "write_user_export",
]

#: Where a quarantined row names its user (see migration 4).
_QUARANTINE: Final = "quarantine"


def check_user_id(user_id: str) -> str:
    """``user_id`` unchanged, or :class:`~shopguide.errors.InvalidIdError` when it is empty
    or only white space (such an id names nobody, and no stored id is empty)."""
    if not isinstance(user_id, str) or not user_id.strip():
        raise InvalidIdError("user", str(user_id))
    return user_id


def tombstone(user_id: str) -> str:
    """What replaces an erased id where a row must stay (model id maps): unique per user and
    holding nothing but the hash the suppression list already keeps."""
    return "erased:" + user_hash(user_id)


def user_tables(store: Store) -> list[str]:
    """Every base table of the store with a ``user_id`` column, in name order."""
    found = store.query_df(
        """SELECT DISTINCT c.table_name FROM information_schema.columns c
           JOIN information_schema.tables t USING (table_catalog, table_schema, table_name)
           WHERE c.column_name = ? AND t.table_type = 'BASE TABLE'
             AND c.table_schema = current_schema() AND c.table_catalog = current_database()
           ORDER BY c.table_name""",
        [C.USER_ID],
    )
    return [str(t) for t in found["table_name"]]


def _model_store_of(store: Store) -> RecommenderStore | None:
    """The model store beside a store file (None for an in-memory store)."""
    path = getattr(store, "path", None)
    if path is None or not Path(path).is_file():
        return None
    return RecommenderStore.for_store(path)


def erase_user(
    store: Store, user_id: str, *, model_store: RecommenderStore | None = None
) -> dict[str, Any]:
    """Delete every row naming ``user_id``, scrub the id from saved models, suppress the user.

    In one transaction: deletes the user's rows from every table with a ``user_id`` column
    (matched exactly) and records the id's hash in ``suppressed_users`` so later rows of the
    user are rejected with ``"user erased"``. Then rewrites every saved version's ``users.npz``
    in ``model_store`` (default: the model store beside the store file) with the id replaced by
    :func:`tombstone`. Idempotent. The store file keeps the deleted values in freed pages until
    :func:`compact` rewrites it.

    Returns ``user_id``, ``deleted`` (rows per table), ``suppressed``, ``models_scrubbed``
    (the id map files rewritten) and ``quarantine_without_user``: quarantined users/events
    rows with raw content but no user recorded (rows with no user id at all, such as anonymous
    sales; rows the reader could not parse; rows stored before migration 4 whose raw text was
    not a JSON object with a ``user_id``). An erasure cannot tell whether any is the user's and
    leaves them; docs/howto/privacy.md says how to review and clear them.
    """
    check_user_id(user_id)
    deleted: dict[str, int] = {}
    with store.transaction():
        for table in user_tables(store):
            where = f'FROM "{table}" WHERE "{C.USER_ID}" = ?'
            n = int(store.scalar(f"SELECT count(*) {where}", [user_id]))
            if n:
                store.execute(f"DELETE {where}", [user_id])
            deleted[table] = n
        store.execute(
            "INSERT INTO suppressed_users VALUES (?, ?) ON CONFLICT DO NOTHING",
            [user_hash(user_id), datetime.now(UTC).replace(tzinfo=None)],
        )
        unattributed = int(
            store.scalar(
                f"SELECT count(*) FROM {_QUARANTINE} WHERE user_id IS NULL AND raw IS NOT NULL "
                "AND table_name IN ('users', 'events')"
            )
        )
    model_store = model_store if model_store is not None else _model_store_of(store)
    scrubbed = (
        model_store.scrub_user(user_id, tombstone(user_id)) if model_store is not None else []
    )
    return {
        "user_id": user_id,
        "deleted": deleted,
        "suppressed": True,
        "models_scrubbed": scrubbed,
        "quarantine_without_user": unattributed,
    }


def export_user(store: Store, user_id: str) -> dict[str, Any]:
    """Every row naming ``user_id``, per table, as JSON-ready data (download-my-data).

    Covers the same tables as :func:`erase_user` (quarantined rows and campaign contacts
    included). Raises :class:`~shopguide.errors.UnknownIdError` when no table names the user.
    For a user with millions of rows, :func:`write_user_export` writes the same JSON without
    holding it in memory.
    """
    tables = _named_in(store, user_id)
    out: dict[str, Any] = {"user_id": user_id, "exported_at": _now()}
    for table in tables:
        out[table] = [row for rows in _user_rows(store, table, user_id) for row in rows]
    return out


def write_user_export(store: Store, user_id: str, sink: TextIO) -> dict[str, int]:
    """Write :func:`export_user`'s JSON object to ``sink`` table by table, a batch of rows at
    a time (a user with 5M events took 17.5 GB as one document). Returns the rows written
    per table; raises :class:`~shopguide.errors.UnknownIdError` before writing anything when
    no table names the user."""
    tables = _named_in(store, user_id)
    counts: dict[str, int] = {}
    dump = partial(json.dumps, ensure_ascii=False, default=str)
    sink.write(f'{{\n  "user_id": {dump(user_id)},\n  "exported_at": {dump(_now())}')
    for table in tables:
        sink.write(f",\n  {dump(table)}: [")
        counts[table] = 0
        for rows in _user_rows(store, table, user_id):
            for row in rows:
                sink.write(("\n    " if not counts[table] else ",\n    ") + dump(row))
                counts[table] += 1
        sink.write("\n  ]" if counts[table] else "]")
    sink.write("\n}\n")
    return counts


#: Rows read per batch by the exports.
_EXPORT_BATCH_ROWS: Final = 50_000


def _now() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat()


def _named_in(store: Store, user_id: str) -> list[str]:
    """The tables an export covers, after checking that one of them names ``user_id``."""
    check_user_id(user_id)
    tables = user_tables(store)
    if not any(
        store.scalar(f'SELECT EXISTS (SELECT 1 FROM "{t}" WHERE "{C.USER_ID}" = ?)', [user_id])
        for t in tables
    ):
        raise UnknownIdError("user", [user_id])
    return tables


def _user_rows(store: Store, table: str, user_id: str) -> Iterator[list[dict[str, Any]]]:
    """``table``'s rows naming ``user_id``, as JSON-ready records, in batches."""
    sql = f'SELECT * FROM "{table}" WHERE "{C.USER_ID}" = ?'
    for batch in store.query_batches(sql, [user_id], batch_rows=_EXPORT_BATCH_ROWS):
        yield [{k: jsonable(v) for k, v in row.items()} for row in batch.to_pylist()]


def compact(path: str | Path) -> dict[str, int]:
    """Rewrite the store file at ``path`` so deleted rows leave no bytes behind (the store
    must not be open anywhere); see :func:`shopguide.store.compact.compact_store`."""
    return compact_store(path)
