"""Request and response bodies (separate from the store's tables)."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StringConstraints,
    create_model,
)

from shopguide.columns import EVENTS, MAX_ID_LENGTH, Kind

#: The longest id (user, item, event, order, ...) the API accepts, as ingestion does.
MAX_ID: Final = MAX_ID_LENGTH
#: An id as text: 1 to ``MAX_ID`` characters.
Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID)]
#: An event's id field: at most ``MAX_ID`` characters (an empty one is rejected by ingestion,
#: for its event only, with the reason).
EventId = Annotated[str, StringConstraints(max_length=MAX_ID)]
#: A short free-text value (an event type, a number or timestamp sent as text).
Short = Annotated[str, StringConstraints(max_length=64)]
#: A category path such as ``Home > Kitchen > Mugs``, or a segment name.
Label = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Scalar = Annotated[str, StringConstraints(max_length=MAX_ID)] | int | float | bool | None
#: A number as JSON (true/false is none: pydantic would make it 1.0), or as text.
Number = StrictInt | StrictFloat | Short


#: The API type of each kind of event field: ids as text or a whole number, an event type or a
#: timestamp as short text, numbers as JSON numbers or text (every value is checked by ingestion).
_EVENT_FIELD_TYPES: Final[dict[Kind, Any]] = {
    "id": EventId | StrictInt | None,
    "event_type": Short | None,
    "timestamp": Short | None,
    "number": Number | None,
}


class _EventBase(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


#: The fields of :class:`EventIn`, one per file column of the events table.
_EVENT_FIELDS: Final[dict[str, Any]] = {
    column.name: (_EVENT_FIELD_TYPES[column.kind], Field(None, description=column.doc))
    for column in EVENTS.file_columns
}
_EventFields: type[BaseModel] = create_model("EventIn", __base__=_EventBase, **_EVENT_FIELDS)


# its fields come from the events table's file columns (shopguide.columns.EVENTS)
class EventIn(_EventFields):  # type: ignore[misc,valid-type]
    """One canonical event. Values are checked by ingestion, one event at a time, so a bad value
    rejects only its event (with the reason in the response); unknown fields and values of the
    wrong JSON type (an object, a list, true/false, NaN) reject the batch."""


class EventBatch(BaseModel):
    """A batch of events (at most the configured maximum, 10,000 by default)."""

    model_config = ConfigDict(extra="forbid")

    events: list[EventIn] = Field(min_length=1, max_length=10_000)


class Rejection(BaseModel):
    """A rejected event: its position in the batch, the first bad field and every reason."""

    index: int
    field: str | None
    value: str | None
    reason: str


class IngestResponse(BaseModel):
    load_id: int
    received: int
    accepted: int
    duplicates: int
    rejected: int
    rejections: list[Rejection]
    users_updated: int
    profiles_recomputed: int | None = Field(
        description="Users whose profile was recomputed by the update that took this batch in "
        "(null when no profiles are built or no event was accepted)."
    )
    profiles_update_shared: bool = Field(
        False,
        description="True when that update ran for a batch that arrived at the same time: "
        "concurrent batches share one profile update.",
    )
    profiles_update_ms: float | None = Field(
        None,
        description="How long that profile update took, in milliseconds (null when no update "
        "ran for the batch). A batch's answer also waits for its turn and for being stored.",
    )
    profiles_pending: bool = Field(
        False,
        description="True when the batch was sent with wait_for_profiles=false: the profiles "
        "are being updated in the background (profiles_recomputed is then null).",
    )


class RecommendationQuery(BaseModel):
    """The query parameters of ``GET /v1/users/{user_id}/recommendations``.

    The route validates them with this model itself (see ``routers.users``) and documents them
    from it, so the docs, the fuzzer and the validation share one definition.
    """

    model_config = ConfigDict(extra="ignore")

    n: int = Field(10, ge=1, le=100, description="How many items.")
    include_category: list[str] | None = Field(
        None, max_length=20, description="Category (or path prefix); repeat the parameter."
    )
    exclude_category: list[str] | None = Field(
        None, max_length=20, description="Category (or path prefix); repeat the parameter."
    )
    min_price: float | None = Field(None, ge=0, le=1e12, allow_inf_nan=False)
    max_price: float | None = Field(None, ge=0, le=1e12, allow_inf_nan=False)
    explain: bool = Field(False, description="Add a reason to every item.")


class RecommendedItem(BaseModel):
    item_id: str
    score: float
    title: str | None = None
    category: str | None = None
    price: float | None = None
    reason: str | None = None


class RecommendationsResponse(BaseModel):
    user_id: str
    model: str
    version: str
    strategy: Literal["model", "popular"]
    items: list[RecommendedItem]


class SimilarResponse(BaseModel):
    item_id: str
    model: str
    version: str
    items: list[dict[str, Any]]


class TrainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    params: dict[Annotated[str, StringConstraints(max_length=64)], Scalar] = Field(
        default_factory=dict, max_length=50, description='Constructor parameters, e.g. {"k": 50}.'
    )


class JobResponse(BaseModel):
    job_id: str
    kind: str
    status: Literal["queued", "running", "done", "failed"]
    progress: float
    step: str
    result: dict[str, Any] | None = None
    error: str | None = None
    created_at: str | None = None
    finished_at: str | None = None


class AudienceRequest(BaseModel):
    """What to promote and the constraints of the campaign audience."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str = Field("campaign", min_length=1, max_length=200, description="Campaign name.")
    items: list[Id] = Field(default_factory=list, max_length=200, description="Item ids.")
    categories: list[Label] = Field(
        default_factory=list, max_length=20, description="Categories (path prefixes) to promote."
    )
    discount: float = Field(0.0, ge=0, lt=1, description="Discount offered (0.2 = 20 % off).")
    size: int = Field(100, ge=1, le=100_000, description="Audience size (at most).")
    exclude_bought_days: int | None = Field(
        None, ge=0, le=36_500, description="Leave out users who bought a promoted item lately."
    )
    segments: list[Label] = Field(
        default_factory=list, max_length=20, description="Only users in these RFM segments."
    )
    max_churn: float | None = Field(
        None, ge=0, le=1, description="Only users with churn probability at most this."
    )


class AudienceMember(BaseModel):
    user_id: str
    score: float
    rank: int
    reasons: str | None = None


class RecommenderUsed(BaseModel):
    """The recommender behind an audience's ``rec_score`` (the audit record's part)."""

    used: bool
    model: str | None = Field(description="The model served when the audience was built.")
    version: str | None


class AudienceResponse(BaseModel):
    audience_id: str
    name: str
    promoted_items: int
    eligible_users: int
    excluded: dict[str, int]
    size: int
    expected_responses: float
    random_expected_responses: float
    expected_lift: float | None = Field(
        description="Expected responses over those of a random audience of the same size."
    )
    method: str
    recommender: RecommenderUsed
    users: list[AudienceMember]


class EraseResponse(BaseModel):
    user_id: str
    deleted: dict[str, int]
    suppressed: bool
    models_scrubbed: list[str] = []
    quarantine_without_user: int = 0


class Health(BaseModel):
    status: Literal["ok"]
    model: str | None
    version: str | None
