"""Dependencies shared by the routers, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, status

from shopguide.service.state import ServiceState
from shopguide.workflows.serving.snapshot import ModelSnapshot


async def get_state(request: Request) -> ServiceState:
    """The service state of the running app."""
    state: ServiceState = request.app.state.service
    return state


def current_snapshot(request: Request) -> ModelSnapshot:
    """The model snapshot current when the request arrived (503 when none is published).

    A route keeps the object for the whole request, so a model swap never changes it midway.
    The routes that use it are ``async``: scoring one user takes well under a millisecond,
    less than a hop to the thread pool, and runs on the event loop without contention.
    """
    snapshot: ModelSnapshot | None = request.app.state.service.holder.current
    if snapshot is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "no model is published yet: train one with POST /v1/models/{name}/train",
        )
    return snapshot


async def get_snapshot(request: Request) -> ModelSnapshot:
    """:func:`current_snapshot` as a dependency."""
    return current_snapshot(request)


State = Annotated[ServiceState, Depends(get_state)]
Snapshot = Annotated[ModelSnapshot, Depends(get_snapshot)]
UserId = Annotated[str, Path(min_length=1, max_length=200, description="The user's external id.")]
ItemId = Annotated[str, Path(min_length=1, max_length=200, description="The item's external id.")]
