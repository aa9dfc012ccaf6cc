"""Erasing a user and exporting their data (admin only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from shopguide.service.auth import AdminKey, KeyFirstRoute
from shopguide.service.deps import State, UserId
from shopguide.service.schemas import EraseResponse
from shopguide.workflows import serving

router = APIRouter(prefix="/v1/users", tags=["privacy"], route_class=KeyFirstRoute)


@router.delete("/{user_id:path}", response_model=EraseResponse, summary="Erase a user")
def erase(user_id: UserId, state: State, _: AdminKey) -> EraseResponse:
    """Deletes the user's events, user row, profiles and audience rows, stops serving
    anything about them, and rejects their later events with ``user erased``.
    The published model files still hold their row until the next training."""
    # no profile update may run meanwhile: it could write the user's profile back
    with state.profile_updates.turn, state.lock:
        result = serving.erase_user(state.store, user_id)
        snapshot = state.holder.current
        if snapshot is not None:
            serving.forget_user(snapshot, user_id)
    return EraseResponse(**result)


@router.get("/{user_id:path}/export", summary="Download everything held about a user (JSON)")
def export(user_id: UserId, state: State, _: AdminKey) -> dict[str, Any]:
    return state.db(serving.export_user, user_id)
