"""A segment's members: paged, sortable, exportable as CSV (the dashboard's drill-down)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from shopguide.errors import DataError
from shopguide.service.auth import KeyFirstRoute, ReadKey
from shopguide.service.deps import State
from shopguide.workflows.audiences import check_segments
from shopguide.workflows.serving import member_lists, predictions

router = APIRouter(prefix="/v1/segments", tags=["insights"], route_class=KeyFirstRoute)

Segment = Annotated[
    str, Path(min_length=1, max_length=100, description="An RFM segment's name (any case).")
]
MemberSort = Annotated[
    Literal["spend", "recency", "churn", "value_at_risk"],
    Query(description="Most spend, most recent, most at risk or most value at risk first."),
]
Order = Annotated[
    Literal["asc", "desc"] | None, Query(description="Reverse the sort's natural direction.")
]
Limit = Annotated[int, Query(ge=1, le=1000, description="Members per page.")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Members to skip.")]


def predictions_version(state: Any) -> pd.Timestamp | None:
    """The ``user_predictions`` version the service shows (scored now when there is none);
    ``None`` when the store has no purchases to score."""
    try:
        found = predictions.churn_predictions(state.store, lock=state.lock, cache=state.predictions)
    except DataError:
        return None
    return found.as_of


@router.get("/{segment}/members", summary="A segment's members, sorted and paged")
def members(
    segment: Segment,
    state: State,
    _: ReadKey,
    sort: MemberSort = "value_at_risk",
    order: Order = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The members of an RFM segment in the latest profile version, with orders, spend,
    recency, churn risk, CLV and value at risk (CLV × churn probability). An unknown segment
    is refused (422, naming the known ones)."""
    as_of = predictions_version(state)
    page = state.read(
        member_lists.segment_members, segment, as_of, sort=sort, order=order, limit=limit,
        offset=offset,
    )  # fmt: skip
    return {"segment": _resolved(segment), **page.info(), "users": page.rows}


@router.get("/{segment}/members/export", summary="A segment's members as CSV")
def export(
    segment: Segment,
    state: State,
    _: ReadKey,
    sort: MemberSort = "value_at_risk",
    order: Order = None,
) -> Response:
    """Every member, in the order asked for, with the columns of ``/members``."""
    as_of = predictions_version(state)
    csv = state.read(member_lists.segment_members_csv, segment, as_of, sort=sort, order=order)
    filename = "segment-" + "-".join(_resolved(segment).lower().replace("'", "").split())
    return Response(
        csv,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
    )


def _resolved(segment: str) -> str:
    return check_segments([segment])[0]
