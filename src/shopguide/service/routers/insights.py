"""Overview KPIs and trends, RFM segments, churn list and service metrics."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from shopguide.service.auth import KeyFirstRoute, ReadKey
from shopguide.service.deps import State
from shopguide.service.state import ServiceState
from shopguide.workflows.serving import member_lists, predictions, reads

router = APIRouter(prefix="/v1", tags=["insights"], route_class=KeyFirstRoute)


@router.get("/overview", summary="Headline KPIs and monthly revenue by category")
def overview(
    state: State,
    _: ReadKey,
    start: Annotated[date | None, Query(description="First day of a range (YYYY-MM-DD).")] = None,
    end: Annotated[date | None, Query(description="Last day of the range, included.")] = None,
) -> dict[str, Any]:
    """All-time KPIs and the monthly revenue of the top categories. With ``start`` and/or
    ``end``: ``period`` holds revenue, orders, buyers, users, average order value and items
    sold for that range, the same for the period of as many days just before it
    (``previous``) and each one's relative ``change``; the trends keep the range's months.
    An end before the start is refused (422)."""
    return state.read(reads.overview, start, end)


@router.get("/segments", summary="RFM segments: sizes and revenue")
def segments(
    state: State,
    _: ReadKey,
    start: Annotated[date | None, Query(description="First day of a range (YYYY-MM-DD).")] = None,
    end: Annotated[date | None, Query(description="Last day of the range, included.")] = None,
) -> list[dict[str, Any]]:
    """Every RFM segment: buyers, shares, revenue, mean recency and orders. With ``start``
    and/or ``end`` each also has ``period``: its members' revenue, orders and buyers in the
    range, the same for the period of as many days before (``previous``) and the ``change``."""
    return state.read(reads.segments, start, end)


RetentionSort = Annotated[
    Literal["churn", "value_at_risk", "clv"],
    Query(description="Riskiest, most value at risk (CLV × churn risk) or highest CLV first."),
]
Order = Annotated[
    Literal["asc", "desc"] | None, Query(description="Reverse the sort's natural direction.")
]
SegmentFilter = Annotated[
    str | None, Query(min_length=1, max_length=100, description="Only this RFM segment.")
]
MinProbability = Annotated[float, Query(ge=0, le=1)]


def _churn_version(state: ServiceState) -> predictions.Predictions:
    return predictions.churn_predictions(state.store, lock=state.lock, cache=state.predictions)


@router.get("/categories", summary="The catalogue's category tree")
def categories(state: State, _: ReadKey) -> list[dict[str, Any]]:
    """Every category and every level above it (``Home`` for ``Home > Bedding``) with its depth
    and number of items, in path order: what a campaign's ``categories`` may name (a level
    promotes everything below it)."""
    return state.read(reads.categories)


@router.get("/churn", summary="Buyers by churn risk")
def churn(
    state: State,
    _: ReadKey,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    min_probability: MinProbability = 0.0,
    sort: RetentionSort = "churn",
    order: Order = None,
    segment: SegmentFilter = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """Buyers with a churn score, riskiest first (or by value at risk or CLV), with each user's
    reasons, segment, P(alive), CLV and value at risk (CLV × churn probability); ``segment``
    keeps one RFM segment's members; ``buyers`` counts every row of the list, ``offset`` and
    ``limit`` page it.

    The rows ``shopguide churn score`` stores in ``user_predictions`` (latest version); when
    there are none yet they are scored now with the same workflow, and when the data has moved
    to a later day the stored rows are shown with ``stale: true`` while a background rescoring
    runs (``as_of`` / ``data_as_of`` say which days)."""
    found = _churn_version(state)
    page = state.read(
        member_lists.retention_list, found.as_of, sort=sort, order=order, segment=segment,
        min_probability=min_probability, limit=limit, offset=offset,
    )  # fmt: skip
    return {**found.info(), "buyers": page.total, **page.info(), "users": page.rows}


@router.get("/churn/export", summary="The churn list as CSV")
def churn_export(
    state: State,
    _: ReadKey,
    min_probability: MinProbability = 0.0,
    sort: RetentionSort = "churn",
    order: Order = None,
    segment: SegmentFilter = None,
) -> Response:
    """Every row of ``GET /v1/churn`` with the same filters, in the same order."""
    found = _churn_version(state)
    csv = state.read(
        member_lists.retention_csv, found.as_of, sort=sort, order=order, segment=segment,
        min_probability=min_probability,
    )  # fmt: skip
    return Response(
        csv,
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="churn.csv"'},
    )


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
