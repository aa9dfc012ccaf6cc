"""What the REST service and the dashboard do, as small functions over an open store.

The service stays thin: every route calls one function of this package, and only this package
(with its sibling workflows) talks to the domain packages. One module per job, each importing
only the ones listed before it:

:mod:`.row_scorer`
    :class:`~.row_scorer.RowScorer`, one compiled pass that scores a user for the neighbourhood
    models, and the category index of the business filters.
:mod:`.answer_cache`
    :class:`~.answer_cache.AnswerCache`, each snapshot's recent answers per user.
:mod:`.snapshot`
    :class:`ModelSnapshot`, the immutable bundle a recommendation is answered from (model, id
    maps, interaction matrix, catalogue, bought-together rules, per-item JSON), built off the
    request path by :func:`build_snapshot`; :func:`refresh_rows` and :func:`forget_user` keep
    its user rows in step with ingested events and erasures.
:mod:`.holder`
    :class:`ModelHolder`, the current snapshot swapped with one reference assignment, so a
    publish never fails a request in flight.
:mod:`.scoring`, :mod:`.answers`
    Scoring one user with the filters and the popularity fallback; the answers the routes send
    (:func:`recommend_for_user`, :func:`recommendations_json`, :func:`similar_items`,
    :func:`together_items`).
:mod:`.predictions`
    Churn risk and value (:func:`churn_predictions`): the ``user_predictions`` rows that
    ``shopguide churn score`` writes, rescored in the background when older than the data. What
    is remembered between calls is a :class:`PredictionCache` the caller owns (the service
    state keeps one).
:mod:`.reads`, :mod:`.live_ingest`
    Read-only answers (profile, history, item, overview, segments); events posted to the
    service (a campaign audience chosen with the served model is in
    :mod:`shopguide.workflows.campaigns`, shared with the CLI).
:mod:`.lookup`
    The search box's answers (:func:`~.lookup.search`): users from an in-memory index of the
    latest profile version (a :class:`~.lookup.SearchCache` the caller owns), items by SQL.

Next to the package, not in it: training and publishing (:mod:`shopguide.workflows.publishing`,
which the CLI uses without loading any of this), background jobs
(:mod:`shopguide.workflows.jobs`), privacy (:mod:`shopguide.workflows.privacy`), saved audiences
(:mod:`shopguide.workflows.audiences`) and the store's current model
(:mod:`shopguide.workflows.current_model`, built on this package). Their names that callers
used from here are re-exported.
"""

from __future__ import annotations

from shopguide.workflows.jobs import Job, JobRunner
from shopguide.workflows.json_records import jsonable, records
from shopguide.workflows.privacy import (
    erase_user,
    export_user,
    is_suppressed,
)
from shopguide.workflows.publishing import (
    check_model_params,
    model_names,
    model_versions,
    open_service_store,
    train_and_publish,
)
from shopguide.workflows.serving.answer_cache import RECOMMEND_CACHE_USERS, AnswerCache
from shopguide.workflows.serving.answers import (
    Recommendation,
    recommend_for_user,
    recommendations_json,
    similar_items,
    together_items,
)
from shopguide.workflows.serving.holder import ModelHolder
from shopguide.workflows.serving.live_ingest import (
    EVENT_FIELDS,
    IngestResult,
    ingest_events,
    refresh_live_profiles,
)
from shopguide.workflows.serving.predictions import (
    PREDICTION_COLUMNS,
    PredictionCache,
    Predictions,
    churn_predictions,
    churn_scores,
    score_predictions,
)
from shopguide.workflows.serving.reads import (
    build_profiles_if_missing,
    item_record,
    overview,
    segment_members,
    segments,
    user_history,
    user_profile,
)
from shopguide.workflows.serving.row_scorer import RowScorer
from shopguide.workflows.serving.snapshot import (
    ModelSnapshot,
    build_snapshot,
    forget_user,
    refresh_rows,
    users_loaded_after,
)

__all__ = [
    "EVENT_FIELDS",
    "PREDICTION_COLUMNS",
    "RECOMMEND_CACHE_USERS",
    "AnswerCache",
    "IngestResult",
    "Job",
    "JobRunner",
    "ModelHolder",
    "ModelSnapshot",
    "PredictionCache",
    "Predictions",
    "Recommendation",
    "RowScorer",
    "build_profiles_if_missing",
    "build_snapshot",
    "check_model_params",
    "churn_predictions",
    "churn_scores",
    "erase_user",
    "export_user",
    "forget_user",
    "ingest_events",
    "is_suppressed",
    "item_record",
    "jsonable",
    "model_names",
    "model_versions",
    "open_service_store",
    "overview",
    "recommend_for_user",
    "recommendations_json",
    "records",
    "refresh_live_profiles",
    "refresh_rows",
    "score_predictions",
    "segment_members",
    "segments",
    "similar_items",
    "together_items",
    "train_and_publish",
    "user_history",
    "user_profile",
    "users_loaded_after",
]
