"""``/v1/search``: users, items and segments for a few typed characters."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError

from shopguide.service.auth import KeyFirstRoute, ReadKey
from shopguide.service.deps import State
from shopguide.workflows.serving.lookup import MAX_SEARCH_LIMIT, search

router = APIRouter(prefix="/v1", tags=["insights"], route_class=KeyFirstRoute)

Text = Annotated[
    str, Query(min_length=1, max_length=100, description="What to look for (case ignored).")
]
Limit = Annotated[
    int, Query(ge=1, le=MAX_SEARCH_LIMIT, description="The most suggestions of each kind.")
]


@router.get("/search", summary="Find users, items and segments")
def find(state: State, _: ReadKey, q: Text, limit: Limit = 8) -> dict[str, Any]:
    """Users whose id holds ``q`` (ids starting with it first) or whose location or segment
    starts with it; items whose id, title or category holds it; segments whose name holds it.
    Each list has at most ``limit`` entries, best matches first."""
    if not q.strip():
        problem = {"loc": ("query", "q"), "msg": "give a character other than spaces"}
        raise RequestValidationError([{**problem, "type": "string_too_short"}])
    return state.read(search, q, limit, cache=state.search)
