"""Erasing a user and exporting their data (admin only)."""

from __future__ import annotations

import os
import tempfile

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from shopguide.service.auth import AdminKey, KeyFirstRoute
from shopguide.service.deps import State, UserId
from shopguide.service.schemas import EraseResponse
from shopguide.workflows import privacy
from shopguide.workflows.serving.snapshot import forget_user

router = APIRouter(prefix="/v1/users", tags=["privacy"], route_class=KeyFirstRoute)


@router.delete("/{user_id:path}", response_model=EraseResponse, summary="Erase a user")
def erase(user_id: UserId, state: State, _: AdminKey) -> EraseResponse:
    """Deletes every row whose user_id is exactly this id (events, user row, profiles,
    predictions, audiences, campaign contacts, quarantine), replaces the id in every saved
    model version's user map, stops serving anything about the user, and rejects their later
    events with ``user erased``. An id that is empty or only white space is refused (422).
    The store file keeps the deleted values in freed pages until ``shopguide compact`` runs
    with the service stopped."""
    privacy.check_user_id(user_id)
    # no profile update may run meanwhile: it could write the user's profile back
    with state.profile_updates.exclusive(), state.lock:
        result = privacy.erase_user(state.store, user_id, model_store=state.model_store)
        snapshot = state.holder.current
        if snapshot is not None:
            forget_user(snapshot, user_id)
    return EraseResponse(**result)


@router.get(
    "/{user_id:path}/export",
    summary="Download everything held about a user (JSON)",
    response_class=FileResponse,
    responses={200: {"content": {"application/json": {}}}},
)
def export(user_id: UserId, state: State, _: AdminKey) -> FileResponse:
    """Every row whose user_id is this id, per table (quarantine and campaign contacts
    included). The document is written to a temporary file a batch of rows at a time and sent
    from there, so a user with millions of events costs no more memory than one with ten."""
    handle, name = tempfile.mkstemp(prefix="shopguide-export-", suffix=".json")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as sink:
            state.read(privacy.write_user_export, user_id, sink)
    except BaseException:
        os.unlink(name)
        raise
    return FileResponse(
        name, media_type="application/json", background=BackgroundTask(os.unlink, name)
    )
