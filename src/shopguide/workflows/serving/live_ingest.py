"""Events posted to the service: stored like a file (idempotent, with quarantine and the
suppression list), then the live profiles brought up to date."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final, NamedTuple

import pandas as pd

from shopguide.columns import EVENT_FILE_COLUMNS
from shopguide.data.ingest import LoadReport, ingest_frame
from shopguide.store.base import Store
from shopguide.workflows.serving.reads import profiles_built

__all__ = [
    "EVENT_FIELDS",
    "IngestResult",
    "LiveProfilesUpdate",
    "ingest_events",
    "refresh_live_profiles",
]


#: Event fields the API accepts, in canonical file order.
EVENT_FIELDS: Final = EVENT_FILE_COLUMNS


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
    frame = pd.DataFrame(list(events), columns=list(EVENT_FIELDS)).astype(object)
    frame = frame.where(frame.notna(), None)
    # ingestion itself quarantines the rows of erased users (and keeps nothing of them)
    report = ingest_frame(store, "events", frame, source="api:events")
    bad = store.rows(
        "SELECT line, column_name, value, reason FROM quarantine WHERE load_id = ? ORDER BY line",
        [report.load_id],
    ) if report.rejected else []  # fmt: skip
    rejected = [
        {
            "index": int(line) - 1,
            "field": column,
            "value": None if value is None else str(value),
            "reason": str(reason),
        }
        for line, column, value, reason in bad
    ]
    found = store.rows("SELECT DISTINCT user_id FROM events WHERE load_id = ?", [report.load_id])
    users = sorted(str(user) for (user,) in found)
    updated = refresh_live_profiles(store).recomputed if update_profiles and users else None
    return IngestResult(report, rejected, users, updated)


class LiveProfilesUpdate(NamedTuple):
    """What :func:`refresh_live_profiles` did."""

    #: every load id up to this one is in the live profiles
    covered: int
    #: users recomputed (None, and nothing done, when no profiles are built)
    recomputed: int | None
    #: the population statistics want a refresh (:func:`shopguide.profiles.refresh_population`)
    population_stale: bool = False
    #: how long the update took (None when nothing was done)
    seconds: float | None = None


def refresh_live_profiles(
    store: Store, *, population_max_age: timedelta | None = None
) -> LiveProfilesUpdate:
    """Bring the live profile version up to date with every load in the store so far.

    :func:`ingest_events` runs it after storing a batch; the service instead calls it
    separately (``update_profiles=False``), so that batches ingested while an update runs
    share the next one. The incremental update finds the
    users of every load after the live version's own (see
    :func:`shopguide.profiles.update_profiles`). Returns the highest load id the update covers,
    the number of users it recomputed and whether the population statistics it placed them
    against are older than ``population_max_age`` (default
    :data:`shopguide.profiles.POPULATION_MAX_AGE`) or from an earlier day.
    """
    covered = int(store.scalar("SELECT coalesce(max(load_id), 0) FROM loads"))
    if not profiles_built(store):
        return LiveProfilesUpdate(covered, None)
    from shopguide.profiles import POPULATION_MAX_AGE
    from shopguide.profiles import update_profiles as _update

    age = POPULATION_MAX_AGE if population_max_age is None else population_max_age
    started = time.perf_counter()
    result = _update(store, live=True, population_max_age=age)
    return LiveProfilesUpdate(
        covered, result.recomputed_users, result.population_stale, time.perf_counter() - started
    )
