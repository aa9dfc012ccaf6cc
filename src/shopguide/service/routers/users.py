"""A user's profile, history, recommendations, churn risk and value."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import StringConstraints, TypeAdapter, ValidationError

from shopguide.errors import UnknownIdError
from shopguide.service.auth import KeyFirstRoute, ReadKey, authorize
from shopguide.service.deps import State, UserId, current_snapshot
from shopguide.service.schemas import RecommendationQuery, RecommendationsResponse
from shopguide.service.settings import Role
from shopguide.workflows.serving import answers, predictions, reads

router = APIRouter(prefix="/v1/users", tags=["users"], route_class=KeyFirstRoute)


@router.get("/{user_id:path}/profile", summary="A user's profile")
def profile(user_id: UserId, state: State, _: ReadKey) -> dict[str, Any]:
    """The latest profile version: basic, behaviour, preference and lifecycle fields."""
    return state.read(reads.user_profile, user_id)


@router.get("/{user_id:path}/lifecycle", summary="A user's segment in every profile version")
def lifecycle(user_id: UserId, state: State, _: ReadKey) -> list[dict[str, Any]]:
    """Segment, RFM scores, orders, spend and recency in each stored profile version, oldest
    first: how the user moved between segments (404 for an unknown user)."""
    return state.read(reads.user_lifecycle, user_id)


@router.get("/{user_id:path}/history", summary="A user's latest events")
def history(
    user_id: UserId,
    state: State,
    _: ReadKey,
    limit: Annotated[int, Query(ge=1, le=1000, description="Events to return.")] = 50,
) -> list[dict[str, Any]]:
    return state.read(reads.user_history, user_id, limit)


_LIST_PARAMS: Final = frozenset({"include_category", "exclude_category"})
#: The ``user_id`` path parameter's rules, as :data:`~shopguide.service.deps.UserId` declares.
_USER_ID: Final = TypeAdapter(Annotated[str, StringConstraints(min_length=1, max_length=200)])
_QUERY: Final = TypeAdapter(RecommendationQuery)


def _recommendation_parameters() -> list[dict[str, Any]]:
    """OpenAPI parameters: ``user_id`` in the path, then :class:`RecommendationQuery`."""
    described = "The user's external id."
    out: list[dict[str, Any]] = [
        {"name": "user_id", "in": "path", "required": True, "description": described,
         "schema": {**_USER_ID.json_schema(), "title": "User Id", "description": described}},
    ]  # fmt: skip
    for name, prop in RecommendationQuery.model_json_schema()["properties"].items():
        schema = dict(prop)
        param: dict[str, Any] = {"name": name, "in": "query", "required": False}
        if "description" in schema:
            param["description"] = schema.pop("description")
        out.append({**param, "schema": schema})
    return out


_VALIDATION_ERROR: Final = {
    "description": "Validation Error",
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}
    },
}


def _validated(adapter: Any, raw: Any, where: tuple[str, ...]) -> Any:
    """``adapter.validate_python(raw)``, its errors as FastAPI's 422 (``loc`` from ``where``)."""
    try:
        return adapter.validate_python(raw)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": (*where, *e["loc"])} for e in exc.errors(include_input=False)]
        ) from None


def _recommendation_query(request: Request) -> RecommendationQuery:
    """The query string as :class:`RecommendationQuery`: list parameters repeat, a repeated
    scalar takes its last value, unknown parameters are ignored (as declared parameters)."""
    query = request.query_params
    raw: dict[str, Any] = {}
    for name in RecommendationQuery.model_fields:
        if name in _LIST_PARAMS:
            values = query.getlist(name)
            if values:
                raw[name] = values
        elif name in query:
            raw[name] = query[name]
    query_model: RecommendationQuery = _validated(_QUERY, raw, ("query",))
    return query_model


@router.get(
    "/{user_id:path}/recommendations",
    response_model=RecommendationsResponse,
    summary="Recommendations for a user",
    openapi_extra={
        "parameters": _recommendation_parameters(),
        "security": [{"APIKeyHeader": []}],
        "responses": {"422": _VALIDATION_ERROR},
    },
)
async def recommendations(request: Request) -> Response:
    """Top-``n`` items from the served model with category and price filters; users the model
    does not know get the most popular items (``strategy: popular``)."""
    # The hottest route reads its key, path and query itself (documented in openapi_extra from
    # the same definitions) instead of through FastAPI's per-request dependency and parameter
    # resolution, which cost ~0.13 ms a request here, as much as scoring a heavy user. Same
    # answers as the declared routes: 401/403, then 503, then 422 naming the field.
    authorize(request, request.headers.get("x-api-key"), Role.READ)
    snapshot = current_snapshot(request)
    user_id: str = _validated(_USER_ID, request.path_params["user_id"], ("path", "user_id"))
    q = _recommendation_query(request)
    if q.min_price is not None and q.max_price is not None and q.min_price > q.max_price:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "min_price: must not exceed max_price"
        )
    body = answers.recommendations_json(
        snapshot, user_id, q.n, include_categories=tuple(q.include_category or ()),
        exclude_categories=tuple(q.exclude_category or ()), min_price=q.min_price,
        max_price=q.max_price, explanations=q.explain,
    )  # fmt: skip
    return Response(body, media_type="application/json")


@router.get("/{user_id:path}/retention", summary="A user's churn risk and lifetime value")
def retention(user_id: UserId, state: State, _: ReadKey) -> dict[str, Any]:
    """Churn probability with its reasons, and P(alive), expected purchases in 90 days and CLV
    (52 weeks, BG/NBD or Pareto/NBD + Gamma-Gamma): the user's row of ``user_predictions``,
    the numbers ``shopguide churn score`` stored (scored now when none exist; see ``GET
    /v1/churn``). ``p_alive`` is null with the reason in ``value_note`` where the purchase
    model cannot tell (then value and expected purchases follow the churn risk)."""
    found = predictions.churn_predictions(state.store, lock=state.lock, cache=state.predictions)
    row = found.row(user_id)
    if row is None or (row["churn_probability"] is None and row["clv"] is None):
        raise UnknownIdError("buyer", [user_id])
    churn = None
    if row["churn_probability"] is not None:
        churn = {"user_id": user_id, "churn_probability": row["churn_probability"],
                 "reasons": row["churn_reasons"]}  # fmt: skip
    clv = None
    if row["clv"] is not None or row["p_alive"] is not None:
        keys = ("user_id", "p_alive", "expected_purchases_90d", "clv", "expected_next_order",
                "value_note")  # fmt: skip
        clv = {key: row.get(key) for key in keys}
    return {"user_id": user_id, "churn": churn, "clv": clv, **found.info()}
