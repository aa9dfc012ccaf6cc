"""Campaign audiences: who to target with a promotion, and exporting them."""

from __future__ import annotations

import io
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, status
from fastapi.responses import Response

from shopguide.service.auth import KeyFirstRoute, ReadKey, WriteKey
from shopguide.service.deps import Snapshot, State
from shopguide.service.schemas import AudienceRequest, AudienceResponse
from shopguide.workflows import audiences
from shopguide.workflows.campaigns import campaign_audience
from shopguide.workflows.json_records import records
from shopguide.workflows.serving import predictions, reads

router = APIRouter(prefix="/v1/audiences", tags=["campaigns"], route_class=KeyFirstRoute)
AudienceId = Annotated[str, Path(min_length=1, max_length=64)]


@router.post("", response_model=AudienceResponse, summary="Build and save a campaign audience")
def create(
    body: AudienceRequest, state: State, snapshot: Snapshot, _: WriteKey
) -> AudienceResponse:
    """Rule-based propensity of every buyer (the served model's score for the promoted items,
    promotion affinity, recency, orders, spend or price sensitivity) under the constraints
    (segments, churn ceiling, recent buyers), best ``size`` kept with reasons and saved for
    export. ``expected_lift``: expected responses over those of a random eligible audience.
    An unknown segment is refused (422, naming the known ones); constraints that leave nobody
    give an empty audience, saved, readable and exported like any other."""
    if not body.items and not body.categories:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "items: give items or categories to promote"
        )
    # an unknown segment: 422 naming the known ones; "at risk" reads as "At Risk"
    segments = audiences.check_segments(body.segments)
    allowed: set[str] | None = None
    if body.max_churn is not None:  # before taking the store lock: the model fits outside it
        churn = predictions.churn_scores(state.store, lock=state.lock, cache=state.predictions)
        allowed = set(
            churn.loc[churn["churn_probability"] <= body.max_churn, "user_id"].astype(str)
        )
    if segments:
        members = state.db(reads.segment_members, segments)
        allowed = members if allowed is None else allowed & members
    audience = campaign_audience(
        state.store, snapshot, name=body.name, items=body.items, categories=body.categories,
        discount=body.discount, size=body.size, exclude_bought_days=body.exclude_bought_days,
        allowed_users=allowed, lock=state.lock,
    )  # fmt: skip
    audience_id = state.db(audiences.save_audience, audience, body.name)
    return AudienceResponse(audience_id=audience_id, **audience)


@router.get("/{audience_id}/export", summary="Download an audience as CSV")
def export(audience_id: AudienceId, state: State, _: ReadKey) -> Response:
    frame = state.db(audiences.load_audience, audience_id)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return Response(
        buffer.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="audience-{audience_id}.csv"'},
    )


@router.get("/{audience_id}", summary="A saved audience")
def read(audience_id: AudienceId, state: State, _: ReadKey) -> dict[str, Any]:
    frame = state.db(audiences.load_audience, audience_id)
    return {"audience_id": audience_id, "users": records(frame)}
