"""User-facing model actions: evaluate, tune K and N, compare models and publish the winner.

All of them use one temporal split of the store's events: train on everything before the
cut, test on the purchases after it (by users and of items seen in training, counting only
items the user had not bought before). By default the cut leaves the last ``test_days`` days
for the test; without ``test_days``, 10 % of the data's time span (at least one day, see
:mod:`shopguide.data.eval_window`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from shopguide.data.eval_window import default_test_days
from shopguide.data.first_seen import first_seen_times
from shopguide.data.matrix import DEFAULT_EVENT_WEIGHTS
from shopguide.data.split import RollingWindowSplit, UserKFold
from shopguide.errors import DataError
from shopguide.evaluate.compare import Comparison, compare_models
from shopguide.evaluate.sampling import max_scored_users
from shopguide.evaluate.tuning import TuningResult, training_matrix, tune
from shopguide.recommend.base import model_classes
from shopguide.recommend.catalogue import MODEL_NAMES, create_model
from shopguide.recommend.saved import RecommenderStore
from shopguide.store import open_store
from shopguide.store.base import Store
from shopguide.store.memory import bounded_memory
from shopguide.workflows.auto_tune import SEARCH_SPACES, AutoTuned, TuningProgress, auto_tune
from shopguide.workflows.budget import PlannedModels, plan_models
from shopguide.workflows.interaction_events import events_frame
from shopguide.workflows.publishing import publish_current
from shopguide.workflows.time_budget import DEFAULT_TIME_BUDGET, tuning_user_share
from shopguide.workflows.time_split import temporal_split

__all__ = [
    "COMPARED_BY_DEFAULT",
    "DEFAULT_PARAMS",
    "compare",
    "compare_store",
    "evaluate",
    "store_events",
    "temporal_split",
    "tune_events",
    "tune_model",
]

#: Parameters the comparison on Online Retail chose on a validation window (see README): the
#: starting point of every fit, and what ``compare --no-auto`` and ``train`` without
#: ``--auto`` use.
DEFAULT_PARAMS: Mapping[str, dict[str, Any]] = {
    "popular": {},
    "user-knn": {"k": 100},
    "item-knn": {"k": 100, "normalize": "none"},
    "ease": {"regularization": 500.0},
    "ease-large": {"regularization": 500.0},
    "ease-next": {"regularization": 500.0},
    "als": {"factors": 32, "regularization": 0.1},
    "bpr": {"factors": 128},
    "rp3beta": {"k": 15, "alpha": 0.5, "beta": 0.5},
    "blend": {
        "first": "ease",
        "second": "als",
        "first_params": {"regularization": 500.0},
        "second_params": {"factors": 32, "regularization": 0.1},
    },
}


#: Models ``compare`` runs when none are named: all but ``ease-large``, which takes part when
#: dense EASE does not fit (it is then fitted in EASE's place), ``rp3beta``, which beat
#: item-KNN on no data set measured, and ``blend`` (EASE + ALS), within the noise of EASE
#: alone on Online Retail at twice its fit time (docs/benchmarks.md); name them to compare them.
COMPARED_BY_DEFAULT: tuple[str, ...] = tuple(
    n for n in MODEL_NAMES if n not in ("ease-large", "rp3beta", "blend")
)


def store_events(store: Store) -> pd.DataFrame:
    """Every event with the columns the models and splitters use, in time order (read
    through Arrow, see :func:`~shopguide.workflows.interaction_events.events_frame`).

    DuckDB is held to a load's memory meanwhile (:func:`~shopguide.store.memory.
    bounded_memory`), so its sort spills instead of growing: at 20M events the read peaks at
    2.9 GB instead of 5.2 GB, for 41 s instead of 27 s (docs/benchmarks.md)."""
    with bounded_memory(store):
        return events_frame(
            store,
            """SELECT event_key, user_id, item_id, event_type, "timestamp", quantity, order_id
               FROM events ORDER BY "timestamp", event_key""",
        )


def evaluate(
    db: str | Path,
    model: str,
    params: Mapping[str, Any] | None = None,
    *,
    test_days: int | None = None,
    cut: str | None = None,
    ns: Sequence[int] = (5, 10, 20),
) -> dict[str, Any]:
    """Fit ``model`` on the training part of the split and score it on the test part."""
    comparison = compare(
        db, [model], params={model: dict(params or {})}, test_days=test_days, cut=cut, ns=ns,
        publish=False, auto=False,
    )  # fmt: skip
    return {"split": comparison.split_description, "metrics": comparison.table.reset_index()}


def tune_events(
    events: pd.DataFrame,
    model: str,
    grid: Mapping[str, Sequence[Any]],
    *,
    folds: int | None = None,
    windows: int = 3,
    test_days: int | None = None,
    out_dir: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> TuningResult:
    """Cross-validate ``grid`` (K and N included) on user folds or rolling time windows of
    ``test_days`` each (default: 10 % of the data's span, see :func:`default_test_days`)."""
    if not folds and test_days is None:
        test_days = default_test_days(events["timestamp"])
    splitter = (
        UserKFold(folds, seed=0)
        if folds
        else RollingWindowSplit(windows, test_span=f"{test_days}D")
    )
    fixed = {k: v for k, v in DEFAULT_PARAMS.get(model, {}).items() if k not in grid}
    return tune(
        model, grid, events, splitter, fixed_params=fixed, binary=True, out_dir=out_dir,
        progress=progress,
    )  # fmt: skip


def tune_model(
    db: str | Path, model: str, grid: Mapping[str, Sequence[Any]], **options: Any
) -> TuningResult:
    """:func:`tune_events` on the events of the store at ``db``."""
    with open_store(db, create=False) as store:
        events = store_events(store)
    return tune_events(events, model, grid, **options)


def compare_store(
    store: Store,
    models: Sequence[str] = COMPARED_BY_DEFAULT,
    *,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    test_days: int | None = None,
    cut: str | None = None,
    ns: Sequence[int] = (10,),
    out_dir: str | Path | None = None,
    publish: bool = True,
    progress: Callable[[str], None] | None = None,
    memory_budget: int | None = None,
    on_plan: Callable[[PlannedModels], None] | None = None,
    auto: bool = True,
    spaces: Mapping[str, Mapping[str, Sequence[Any]]] | None = None,
    on_tuning: TuningProgress | None = None,
    time_budget: float | None = DEFAULT_TIME_BUDGET,
) -> Comparison:
    """Evaluate ``models`` on one split; publish the chosen one, refitted on all events, and
    make it the store's current model.

    The chosen model is the best on the primary metric, unless its margin over another model
    is within the noise (a paired bootstrap interval containing 0): then it is the simplest of
    the tied models (see :class:`~shopguide.evaluate.compare.Comparison`). The evidence
    (split, table, margins, chosen model) is saved in ``out_dir`` and in the published model's
    metadata, so the service can say why it serves what it serves.
    Before fitting, each model's cost is estimated and models over ``memory_budget`` (bytes;
    default ``SHOPGUIDE_MEMORY_BUDGET`` or half the machine's memory) are adapted or skipped;
    the plan goes to ``on_plan`` (messages and estimated seconds, for progress and ETAs).

    With ``auto`` (the default) each model's key parameters (``spaces``, default
    :data:`~shopguide.workflows.auto_tune.SEARCH_SPACES`, minus those given in ``params``)
    are first chosen on a validation window carved from the training half only
    (:func:`~shopguide.workflows.auto_tune.auto_tune`; ``on_tuning`` follows its progress);
    the winners are then refitted on the whole training half and measured on the test window.

    ``time_budget`` (seconds, ``None`` for no limit) skips models whose one fit is estimated
    above a share of it and lets tuning search on a sample of users when the search on all of
    them would pass its share (:mod:`shopguide.workflows.time_budget`). At most
    :func:`~shopguide.evaluate.sampling.max_scored_users` test users are scored (a seeded
    sample above it, named in the split description).
    """
    given = {k: dict(v) for k, v in (params or {}).items()}
    chosen = {**DEFAULT_PARAMS, **given}
    events = store_events(store)
    split = temporal_split(events, test_days=test_days, cut=cut)
    del events  # the split holds its own copies: a million users' events are gigabytes
    train = training_matrix(split.train, DEFAULT_EVENT_WEIGHTS, None, binary=True)
    sizes = (*train.matrix.shape, train.matrix.nnz)
    planned = plan_models(models, chosen, sizes, memory_budget, time_budget)
    if on_plan is not None:
        on_plan(planned)
    if not planned.factories:
        raise DataError("no model fits the memory or time budget", hint=" ".join(planned.notes))
    chosen.update(planned.params)
    factories: dict[str, Any] = dict(planned.factories)
    tuned: dict[str, AutoTuned] = {}
    if auto:
        searched = {label: planned.params[label] for label in factories}
        space = SEARCH_SPACES if spaces is None else spaces
        share, why = tuning_user_share(searched, space, sizes, time_budget)
        tuned = auto_tune(
            split.train, searched, fixed={label: list(given.get(label, {})) for label in factories},
            spaces=space, budget_bytes=memory_budget, progress=on_tuning, user_share=share,
            sample_note=why,
        )  # fmt: skip
        for label, result in tuned.items():
            chosen[label] = result.params
            factories[label] = partial(create_model, label, **result.params)
    weighted = [label for label, result in tuned.items() if not result.binary]
    counts = training_matrix(split.train, DEFAULT_EVENT_WEIGHTS, None) if weighted else None
    matrices = {label: counts.matrix for label in weighted} if counts is not None else {}
    dated = any(getattr(model_classes().get(label), "fit_inputs", ()) for label in factories)
    first_seen = {"first_seen": first_seen_times(split.train, train)} if dated else None
    comparison = compare_models(
        factories, train=train, test_events=split.test, n=list(ns), fit_inputs=first_seen,
        primary=f"ndcg@{10 if 10 in ns else max(ns)}", out_dir=out_dir, progress=progress,
        split_description=split.report.description, split_report=split.report.to_dict(),
        matrices=matrices, tuning={label: result.to_dict() for label, result in tuned.items()},
        max_users=max_scored_users(train.matrix.shape[1]),
    )  # fmt: skip
    # publishing reads every event again: make room first
    del split, train, counts, matrices, first_seen
    if publish:
        publish_current(
            store, RecommenderStore.for_store(store.path), comparison.chosen,
            chosen.get(comparison.chosen, {}), binary=comparison.chosen not in weighted,
            meta={"evaluation": comparison.evidence()},
            reason=f"shopguide compare: {comparison.verdict()}",
        )  # fmt: skip
    return comparison


def compare(
    db: str | Path, models: Sequence[str] = COMPARED_BY_DEFAULT, **options: Any
) -> Comparison:
    """:func:`compare_store` on the store at ``db``."""
    with open_store(db, create=False) as store:
        return compare_store(store, models, **options)
