"""Items: details, similar items, frequently bought together."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from shopguide.service.auth import KeyFirstRoute, ReadKey
from shopguide.service.deps import ItemId, Snapshot, State
from shopguide.service.schemas import SimilarResponse
from shopguide.workflows.serving import answers, reads

# Ids may hold '/' (``{item_id:path}``), so the routes with a suffix come first: they match
# ``/v1/items/a/b/similar`` before the item route would take ``a/b/similar`` as an id.
router = APIRouter(prefix="/v1/items", tags=["items"], route_class=KeyFirstRoute)
N = Annotated[int, Query(ge=1, le=100, description="How many items.")]


@router.get("/{item_id:path}/similar", response_model=SimilarResponse, summary="Similar items")
async def similar(item_id: ItemId, snapshot: Snapshot, _: ReadKey, n: N = 10) -> SimilarResponse:
    """Nearest items under the served model (empty for models without item similarity)."""
    return SimilarResponse(
        item_id=item_id,
        model=snapshot.name,
        version=snapshot.version,
        items=answers.similar_items(snapshot, item_id, n),
    )


@router.get(
    "/{item_id:path}/together", response_model=SimilarResponse, summary="Frequently bought together"
)
async def together(item_id: ItemId, snapshot: Snapshot, _: ReadKey, n: N = 10) -> SimilarResponse:
    """Items most often in the same orders, with confidence, lift and order counts."""
    return SimilarResponse(
        item_id=item_id,
        model="frequently-bought-together",
        version=snapshot.version,
        items=answers.together_items(snapshot, item_id, n),
    )


@router.get("/{item_id:path}", summary="An item with its sales")
def item(item_id: ItemId, state: State, _: ReadKey) -> dict[str, Any]:
    return state.read(reads.item_record, item_id)
