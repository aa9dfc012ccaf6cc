"""Overview KPIs and trends, RFM segments, churn list and service metrics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from shopguide.service.auth import KeyFirstRoute, ReadKey
from shopguide.service.deps import State
from shopguide.workflows.json_records import records
from shopguide.workflows.serving import predictions, reads

router = APIRouter(prefix="/v1", tags=["insights"], route_class=KeyFirstRoute)


@router.get("/overview", summary="Headline KPIs and monthly revenue by category")
def overview(state: State, _: ReadKey) -> dict[str, Any]:
    return state.read(reads.overview)


@router.get("/segments", summary="RFM segments: sizes and revenue")
def segments(state: State, _: ReadKey) -> list[dict[str, Any]]:
    return state.read(reads.segments)


@router.get("/churn", summary="Buyers by churn risk")
def churn(
    state: State,
    _: ReadKey,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    min_probability: Annotated[float, Query(ge=0, le=1)] = 0.0,
) -> dict[str, Any]:
    """Highest churn probability first, with each user's reasons, P(alive) and CLV.

    The rows ``shopguide churn score`` stores in ``user_predictions`` (latest version); when
    there are none yet they are scored now with the same workflow, and when the data has moved
    to a later day the stored rows are shown with ``stale: true`` while a background rescoring
    runs (``as_of`` / ``data_as_of`` say which days)."""
    found = predictions.churn_predictions(state.store, lock=state.lock, cache=state.predictions)
    scores = found.frame[found.frame["churn_probability"].notna()]
    scores = scores[scores["churn_probability"] >= min_probability]
    top = scores.head(limit).rename(columns={"churn_reasons": "reasons"})
    return {**found.info(), "buyers": len(scores), "users": records(top)}


@router.get("/metrics", summary="Service metrics")
def metrics(state: State, _: ReadKey) -> dict[str, Any]:
    """Requests, status codes and recent p50/p99 latency per route; the served model."""
    snapshot = state.holder.current
    return {
        **state.metrics.snapshot(),
        "model": None
        if snapshot is None
        else {
            "name": snapshot.name,
            "version": snapshot.version,
            "loaded_at": snapshot.loaded_at.isoformat(),
            "users": len(snapshot.users),
            "items": len(snapshot.items),
            "online_rows": len(snapshot.rows),
            "recommend_cache": {"hits": snapshot.answers.hits, "misses": snapshot.answers.misses},
        },
        "model_swaps": state.holder.swaps,
        "model_error": state.holder.last_error,
    }
