"""The suppression list: erased users whose later rows ingestion refuses.

An erasure (see :mod:`shopguide.workflows.privacy`) records the SHA-256 of the user's id in
``suppressed_users`` (created by migration 2), so the list itself names nobody. Every way rows
come in checks it: file and frame loads in SQL on the staged rows (:func:`erased_predicate`),
and API batches before validation (:func:`suppression_rejects`), so an erased user's events are
quarantined with the reason ``"user erased"`` and without their content.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Final

import numpy as np
import pandas as pd

from shopguide.columns import Columns as C
from shopguide.store.base import Store

__all__ = [
    "ERASED_REASON",
    "erased_predicate",
    "is_suppressed",
    "suppressed_mask",
    "suppression_rejects",
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

    The one erased-user check: ingestion runs it on staged rows, and :func:`is_suppressed` and
    :func:`suppressed_mask` run it on the ids they are given.
    """
    return f"sha256({column}) IN (SELECT user_hash FROM suppressed_users)"


def is_suppressed(store: Store, user_id: str) -> bool:
    """Whether ``user_id`` has been erased."""
    if not store.has_table("suppressed_users"):
        return False
    return bool(store.scalar(f"SELECT {erased_predicate('CAST(? AS VARCHAR)')}", [str(user_id)]))


def suppressed_mask(store: Store, user_ids: Iterable[object]) -> np.ndarray:
    """A boolean array: which of ``user_ids`` belong to erased users."""
    ids = [
        None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in user_ids
    ]
    mask = np.zeros(len(ids), dtype=bool)
    if not ids or not store.has_table("suppressed_users"):
        return mask
    distinct = sorted({i for i in ids if i is not None})
    if not distinct:
        return mask
    found = store.query_df(
        "SELECT id FROM (SELECT unnest(CAST(? AS VARCHAR[])) AS id) "
        f"WHERE {erased_predicate('id')}",
        [distinct],
    )
    erased = set(found["id"])
    if not erased:
        return mask
    return np.array([i is not None and i in erased for i in ids], dtype=bool)


def suppression_rejects(
    store: Store, frame: pd.DataFrame, lines: np.ndarray | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Split a raw events frame into rows to load and rows of erased users.

    Returns ``(kept_frame, rejects, kept_lines)``; ``rejects`` has the quarantine columns
    (``line, column_name, value, reason, raw``) with the reason ``"user erased"`` and no raw
    content (the point is not to keep the erased user's data). Ingestion can call this on every
    chunk before validation.
    """
    if lines is None:
        lines = np.arange(1, len(frame) + 1)
    if C.USER_ID not in frame or frame.empty:
        empty = pd.DataFrame(columns=["line", "column_name", "value", "reason", "raw"])
        return frame, empty, lines
    mask = suppressed_mask(store, frame[C.USER_ID].tolist())
    rejects = pd.DataFrame(
        {
            "line": np.asarray(lines)[mask].astype(np.int64),
            "column_name": C.USER_ID,
            "value": None,
            "reason": ERASED_REASON,
            "raw": None,
        }
    )
    return frame[~mask].reset_index(drop=True), rejects, np.asarray(lines)[~mask]
