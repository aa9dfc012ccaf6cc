"""Erasing a user and exporting their data (admin only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

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


@router.get("/{user_id:path}/export", summary="Download everything held about a user (JSON)")
def export(user_id: UserId, state: State, _: AdminKey) -> dict[str, Any]:
    """Every row whose user_id is this id, per table (quarantine and campaign contacts
    included)."""
    return state.db(privacy.export_user, user_id)
