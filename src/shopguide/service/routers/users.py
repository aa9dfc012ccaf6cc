"""A user's profile, history, recommendations, churn risk and value."""

from __future__ import annotations

import json
from typing import Annotated, Any, Final

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from shopguide.errors import UnknownIdError
from shopguide.service.auth import ReadKey
from shopguide.service.deps import Snapshot, State, UserId
from shopguide.service.schemas import RecommendationQuery, RecommendationsResponse
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


_LIST_PARAMS: Final = frozenset({"include_category", "exclude_category"})


def _query_parameters() -> list[dict[str, Any]]:
    """OpenAPI query parameters from :class:`RecommendationQuery` (the docs and the fuzzer)."""
    out = []
    for name, prop in RecommendationQuery.model_json_schema()["properties"].items():
        schema = dict(prop)
        param: dict[str, Any] = {"name": name, "in": "query", "required": False}
        if "description" in schema:
            param["description"] = schema.pop("description")
        out.append({**param, "schema": schema})
    return out


def _recommendation_query(request: Request) -> RecommendationQuery:
    """Validate the query string with :class:`RecommendationQuery` (422 naming the field).

    The route reads its parameters itself instead of declaring them one by one: FastAPI's
    per-parameter resolution cost about 0.2 ms a request here (as much as scoring a heavy
    user), and the recommendations route is the one that must be fast. Same rules as declared
    parameters: list parameters repeat, a repeated scalar takes its last value, and unknown
    parameters are ignored.
    """
    query = request.query_params
    raw: dict[str, Any] = {}
    for name in RecommendationQuery.model_fields:
        if name in _LIST_PARAMS:
            values = query.getlist(name)
            if values:
                raw[name] = values
        elif name in query:
            raw[name] = query[name]
    try:
        return RecommendationQuery.model_validate(raw)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("query", *e["loc"])} for e in exc.errors(include_input=False)]
        ) from None


@router.get(
    "/{user_id}/recommendations",
    response_model=RecommendationsResponse,
    summary="Recommendations for a user",
    openapi_extra={"parameters": _query_parameters()},
)
async def recommendations(
    user_id: UserId, request: Request, snapshot: Snapshot, _: ReadKey
) -> Response:
    """Top-``n`` items from the served model with category and price filters; users the model
    does not know get the most popular items (``strategy: popular``)."""
    q = _recommendation_query(request)
    if q.min_price is not None and q.max_price is not None and q.min_price > q.max_price:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "min_price: must not exceed max_price"
        )
    include, exclude = tuple(q.include_category or ()), tuple(q.exclude_category or ())
    key = ("json", q.n, include, exclude, q.min_price, q.max_price, q.explain)
    body = snapshot.answers.get(user_id, key)
    if body is None:  # serialised once per user, parameters and model version
        items, strategy = serving.recommend_for_user(
            snapshot, user_id, q.n, include_categories=include, exclude_categories=exclude,
            min_price=q.min_price, max_price=q.max_price, explanations=q.explain,
        )  # fmt: skip
        answer = {
            "user_id": user_id,
            "model": snapshot.name,
            "version": snapshot.version,
            "strategy": strategy,
            "items": [vars(item) for item in items],
        }
        # the RecommendationsResponse shape, written by json (scores and prices are finite)
        body = json.dumps(
            answer, ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode()
        snapshot.answers.put(user_id, key, body)
    return Response(body, media_type="application/json")


@router.get("/{user_id}/retention", summary="A user's churn risk and lifetime value")
def retention(user_id: UserId, state: State, _: ReadKey) -> dict[str, Any]:
    """Churn probability with its reasons, and P(alive), expected purchases in 90 days and CLV
    (52 weeks, BG/NBD + Gamma-Gamma): the user's row of ``user_predictions``, the numbers
    ``shopguide churn score`` stored (scored now when none exist; see ``GET /v1/churn``)."""
    found = serving.churn_predictions(state.store, lock=state.lock)
    row = found.row(user_id)
    if row is None or (row["churn_probability"] is None and row["clv"] is None):
        raise UnknownIdError("buyer", [user_id])
    churn = None
    if row["churn_probability"] is not None:
        churn = {"user_id": user_id, "churn_probability": row["churn_probability"],
                 "reasons": row["churn_reasons"]}  # fmt: skip
    clv = None
    if row["clv"] is not None or row["p_alive"] is not None:
        clv = {key: row[key] for key in ("user_id", "p_alive", "expected_purchases_90d", "clv",
                                         "expected_next_order")}  # fmt: skip
    return {"user_id": user_id, "churn": churn, "clv": clv, **found.info()}
