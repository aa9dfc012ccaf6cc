"""Event ingestion in batches."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from shopguide.service.auth import KeyFirstRoute, WriteKey
from shopguide.service.deps import State
from shopguide.service.schemas import EventBatch, IngestResponse, Rejection
from shopguide.workflows.serving import live_ingest
from shopguide.workflows.serving.snapshot import refresh_rows

router = APIRouter(prefix="/v1", tags=["events"], route_class=KeyFirstRoute)


@router.post("/events", response_model=IngestResponse, summary="Ingest a batch of events")
def ingest(
    batch: EventBatch,
    state: State,
    _: WriteKey,
    wait_for_profiles: Annotated[
        bool,
        Query(
            description="Answer after the batch's users' profiles include it (default). With "
            "false, answer once the batch is stored; the profiles catch up in the background."
        ),
    ] = True,
) -> IngestResponse:
    """Load events like a file: re-sending a batch adds nothing, bad events are rejected one by
    one with their reasons (and kept in the quarantine), events of erased users are rejected
    with ``user erased``, and the affected users' recommendations are updated before the
    response is sent, their profiles too unless ``wait_for_profiles=false``. Batches that
    arrive while a profile update runs share the next one (``profiles_update_shared``)."""
    if len(batch.events) > state.settings.max_batch_events:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"events: at most {state.settings.max_batch_events} events per batch",
        )
    events = [e.model_dump() for e in batch.events]
    with state.profile_updates.ingesting(), state.lock:
        result = live_ingest.ingest_events(state.store, events, update_profiles=False)
        snapshot = state.holder.current
        if snapshot is not None and result.users:
            refresh_rows(state.store, snapshot, result.users)
    report = result.report
    recomputed, shared, pending, seconds = None, False, False, None
    if result.users and not wait_for_profiles:
        state.profile_updates.cover_later(report.load_id)
        pending = True
    elif result.users:  # batches arriving together share one profile update
        recomputed, shared, seconds = state.profile_updates.cover(report.load_id)
    return IngestResponse(
        load_id=report.load_id,
        received=len(events),
        accepted=report.accepted,
        duplicates=report.duplicates,
        rejected=report.rejected,
        rejections=[Rejection(**r) for r in result.rejected],
        users_updated=len(result.users),
        profiles_recomputed=recomputed,
        profiles_update_shared=shared,
        profiles_update_ms=None if seconds is None else round(seconds * 1000, 1),
        profiles_pending=pending,
    )
