"""A user's profile, history, recommendations, churn risk and value."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response, status

from shopguide.errors import UnknownIdError
from shopguide.service.auth import ReadKey
from shopguide.service.deps import Snapshot, State, UserId
from shopguide.service.schemas import RecommendationsResponse, RecommendedItem
from shopguide.workflows import serving

router = APIRouter(prefix="/v1/users", tags=["users"])


@router.get("/{user_id}/profile", summary="A user's profile")
def profile(user_id: UserId, state: State, _: ReadKey) -> dict[str, Any]:
    """The latest profile version: basic, behaviour, preference and lifecycle fields."""
    return state.db(serving.user_profile, user_id)


@router.get("/{user_id}/history", summary="A user's latest events")
def history(
    user_id: UserId,
    state: State,
    _: ReadKey,
    limit: Annotated[int, Query(ge=1, le=1000, description="Events to return.")] = 50,
) -> list[dict[str, Any]]:
    return state.db(serving.user_history, user_id, limit)


Categories = Annotated[
    list[str] | None,
    Query(max_length=20, description="Category (or path prefix); repeat the parameter."),
]
Price = Annotated[float | None, Query(ge=0, le=1e12, allow_inf_nan=False)]


@router.get(
    "/{user_id}/recommendations",
    response_model=RecommendationsResponse,
    summary="Recommendations for a user",
)
async def recommendations(
    user_id: UserId,
    snapshot: Snapshot,
    _: ReadKey,
    n: Annotated[int, Query(ge=1, le=100, description="How many items.")] = 10,
    include_category: Categories = None,
    exclude_category: Categories = None,
    min_price: Price = None,
    max_price: Price = None,
    explain: Annotated[bool, Query(description="Add a reason to every item.")] = False,
) -> Response:
    """Top-``n`` items from the served model with category and price filters; users the model
    does not know get the most popular items (``strategy: popular``)."""
    if min_price is not None and max_price is not None and min_price > max_price:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "min_price: must not exceed max_price"
        )
    key = ("json", n, tuple(include_category or ()), tuple(exclude_category or ()),
           min_price, max_price, explain)  # fmt: skip
    body = snapshot.answers.get(user_id, key)
    if body is None:  # serialised once per user, parameters and model version
        items, strategy = serving.recommend_for_user(
            snapshot, user_id, n,
            include_categories=include_category or (), exclude_categories=exclude_category or (),
            min_price=min_price, max_price=max_price, explanations=explain,
        )  # fmt: skip
        body = (
            RecommendationsResponse(
                user_id=user_id,
                model=snapshot.name,
                version=snapshot.version,
                strategy=strategy,  # type: ignore[arg-type]
                items=[RecommendedItem(**vars(i)) for i in items],
            )
            .model_dump_json()
            .encode()
        )
        snapshot.answers.put(user_id, key, body)
    return Response(body, media_type="application/json")


@router.get("/{user_id}/retention", summary="A user's churn risk and lifetime value")
def retention(user_id: UserId, state: State, _: ReadKey) -> dict[str, Any]:
    """Churn probability with its main drivers, and BG/NBD + Gamma-Gamma CLV (52 weeks)."""
    out: dict[str, Any] = {"user_id": user_id, "churn": None, "clv": None}
    churn = serving.churn_scores(state.store, lock=state.lock)
    clv = serving.clv_scores(state.store, lock=state.lock)
    row = churn[churn["user_id"].astype(str) == user_id]
    if len(row):
        out["churn"] = serving.records(row)[0]
    row = clv[clv["user_id"] == user_id]
    if len(row):
        out["clv"] = serving.records(row)[0]
    if out["churn"] is None and out["clv"] is None:
        raise UnknownIdError("buyer", [user_id])
    return out
