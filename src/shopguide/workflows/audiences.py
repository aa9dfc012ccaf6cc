"""Saved campaign audiences: storing and reading them, and checking the segments asked for.

An audience is its members (table ``audiences``, one row per user, which an erasure deletes)
and one row in ``audience_index`` (id, name, time, size; no personal data). The index row is
what makes an audience exist: one whose constraints left nobody is saved and read back empty,
and exported as a CSV with only its header.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

import pandas as pd

from shopguide.columns import Columns as C
from shopguide.data.suppression import erased_predicate
from shopguide.errors import DataError, UnknownIdError
from shopguide.profiles.lifecycle import SEGMENTS
from shopguide.store.base import Store

__all__ = ["check_segments", "load_audience", "save_audience"]

#: The members' columns, best first.
MEMBER_COLUMNS: Final = ("user_id", "score", "rank", "reasons")


def check_segments(names: Sequence[str]) -> list[str]:
    """``names`` as the RFM segments' own spelling (case and spaces do not matter: ``at risk``
    is ``At Risk``); raise :class:`~shopguide.errors.DataError` naming the known segments when
    one is not a segment at all (a known segment without members is fine)."""
    known = {" ".join(name.lower().split()): name for name in SEGMENTS}
    found = [known.get(" ".join(name.lower().split())) for name in names]
    unknown = [name for name, seg in zip(names, found, strict=True) if seg is None]
    if unknown:
        raise DataError(
            f"segments: unknown segment(s) {', '.join(repr(n) for n in unknown)}",
            hint=f"use the RFM segment names: {', '.join(SEGMENTS)}",
        )
    return [seg for seg in found if seg is not None]


def write_audience(
    store: Store, audience_id: str, created: datetime, name: str | None, members: pd.DataFrame
) -> None:
    """Replace the audience ``audience_id``: its ``audience_index`` row (what makes an audience
    exist, members or none) and its member rows (``MEMBER_COLUMNS``). The one writer of both
    tables; run it inside the caller's transaction.

    Members erased since the audience was chosen are left out (an audience computed before an
    erasure and saved after it must not write the user back); run it holding the lock an
    erasure holds (the service's store lock), so the transaction sees every erasure so far.
    """
    rows = members.loc[:, list(MEMBER_COLUMNS)].copy()
    rows.insert(0, "name", name)
    rows.insert(0, "created_at", created)
    rows.insert(0, "audience_id", audience_id)
    store.execute("DELETE FROM audiences WHERE audience_id = ?", [audience_id])
    store.execute("DELETE FROM audience_index WHERE audience_id = ?", [audience_id])
    if len(rows):
        store.append("audiences", rows)
        store.execute(
            f"DELETE FROM audiences WHERE audience_id = ? AND {erased_predicate(C.USER_ID)}",
            [audience_id],
        )
    store.execute(
        "INSERT INTO audience_index SELECT ?, ?, ?, count(*) FROM audiences WHERE audience_id = ?",
        [audience_id, created, name, audience_id],
    )


def save_audience(store: Store, audience: dict[str, Any], name: str | None) -> str:
    """Persist an audience (its members may be none) for reading and export; returns its id."""
    audience_id = uuid.uuid4().hex[:12]
    created = datetime.now(UTC).replace(tzinfo=None)
    members = pd.DataFrame(audience["users"], columns=list(MEMBER_COLUMNS))
    with store.transaction():
        write_audience(store, audience_id, created, name, members)
    return audience_id


def load_audience(store: Store, audience_id: str) -> pd.DataFrame:
    """A saved audience's members, best first; empty for an audience saved with nobody
    (raises ``UnknownIdError`` for an id never saved)."""
    frame = store.query_df(
        f"SELECT {', '.join(MEMBER_COLUMNS)} FROM audiences WHERE audience_id = ? ORDER BY rank",
        [audience_id],
    )
    if frame.empty and not store.scalar(
        "SELECT count(*) FROM audience_index WHERE audience_id = ?", [audience_id]
    ):
        raise UnknownIdError("audience", [audience_id])
    return frame
