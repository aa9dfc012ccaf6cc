"""The suppression list: erased users whose later rows ingestion refuses.

An erasure (see :mod:`shopguide.workflows.privacy`) records the SHA-256 of the user's id in
``suppressed_users`` (created by migration 2), so the list itself names nobody. Every way rows
come in (files, frames and API batches alike) is checked by ingestion in SQL on the staged rows
(:func:`erased_predicate`), so an erased user's rows are quarantined with the reason
``"user erased"`` and without their content.
"""

from __future__ import annotations

import hashlib
from typing import Final

from shopguide.store.base import Store

__all__ = [
    "ERASED_REASON",
    "erased_among",
    "erased_count_sql",
    "erased_predicate",
    "is_suppressed",
    "user_hash",
]

#: The reason given for rows of a user on the suppression list (an erased user).
ERASED_REASON: Final = "user erased"


def user_hash(user_id: str) -> str:
    """The suppression key of a user id: hex SHA-256 of its UTF-8 bytes, the value DuckDB's
    ``sha256`` gives (which :func:`erased_predicate` computes); for writing the list and for
    tombstones, never for checking it."""
    return hashlib.sha256(str(user_id).encode("utf-8")).hexdigest()


def erased_predicate(column: str) -> str:
    """SQL that is true when the id in ``column`` belongs to an erased user.

    The one erased-user check: ingestion runs it on staged rows, and :func:`is_suppressed` on
    the id it is given.
    """
    return f"sha256({column}) IN (SELECT user_hash FROM suppressed_users)"


def erased_count_sql() -> str:
    """SQL for how many users have been erased (what a cache of user data watches to know
    that it must forget someone); not a check of any id, which is :func:`erased_predicate`."""
    return "(SELECT count(*) FROM suppressed_users)"


def is_suppressed(store: Store, user_id: str) -> bool:
    """Whether ``user_id`` has been erased."""
    if not store.has_table("suppressed_users"):
        return False
    return bool(store.scalar(f"SELECT {erased_predicate('CAST(? AS VARCHAR)')}", [str(user_id)]))


def erased_among(store: Store, user_ids: list[str]) -> set[str]:
    """Which of ``user_ids`` have been erased (one query; for answers read from a cache that
    may predate an erasure)."""
    if not user_ids or not store.has_table("suppressed_users"):
        return set()
    rows = store.query_df(
        f"SELECT id FROM unnest(CAST($ids AS VARCHAR[])) AS t(id) WHERE {erased_predicate('id')}",
        {"ids": [str(u) for u in user_ids]},
    )
    return set(rows["id"].tolist())
