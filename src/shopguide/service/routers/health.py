"""``/health``: liveness and the served model version; needs no key."""

from __future__ import annotations

from fastapi import APIRouter, Request

from shopguide.service.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="Is the service up?")
async def health(request: Request) -> Health:
    """Answers without touching the store (the cheapest route: the benchmark's ceiling)."""
    snapshot = request.app.state.service.holder.current
    return Health(
        status="ok",
        model=None if snapshot is None else snapshot.name,
        version=None if snapshot is None else snapshot.version,
    )
