"""User-facing model actions: evaluate, tune K and N, compare models and publish the winner.

All of them use one temporal split of the store's events: train on everything before the
cut, test on the purchases after it (by users and of items seen in training, counting only
items the user had not bought before). By default the cut leaves the last ``test_days`` days
for the test; without ``test_days``, 10 % of the data's time span (at least one day, see
:mod:`shopguide.data.eval_window`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from shopguide.data.eval_window import default_test_days
from shopguide.data.split import RollingWindowSplit, Split, TemporalSplit, UserKFold
from shopguide.evaluate.compare import Comparison, compare_models
from shopguide.evaluate.tuning import TuningResult, tune
from shopguide.recommend.registry import MODEL_NAMES, ModelRegistry, create_model
from shopguide.store import open_store
from shopguide.store.base import Store
from shopguide.workflows.current_model import publish_current

#: Parameters the comparison on Online Retail chose on a validation window (see README).
DEFAULT_PARAMS: Mapping[str, dict[str, Any]] = {
    "popular": {},
    "user-knn": {"k": 100},
    "item-knn": {"k": 100, "normalize": "none"},
    "ease": {"regularization": 500.0},
    "als": {"factors": 32, "regularization": 0.1},
    "bpr": {"factors": 128},
}


def store_events(store: Store) -> pd.DataFrame:
    """Every event with the columns the models and splitters use."""
    return store.query_df(
        """SELECT event_key, user_id, item_id, event_type, "timestamp", quantity, order_id
           FROM events ORDER BY "timestamp", event_key"""
    )


def temporal_split(
    events: pd.DataFrame, *, test_days: int | None = None, cut: str | None = None
) -> Split:
    """Train before the cut, test after it (default cut: ``test_days`` before the last event;
    ``test_days`` defaults to 10 % of the data's span, see :func:`default_test_days`)."""
    if cut is None and test_days is None:
        test_days = default_test_days(events["timestamp"])
    when = (
        pd.Timestamp(cut)
        if cut is not None
        else pd.Timestamp(events["timestamp"].max()).normalize()
        - pd.Timedelta(days=int(test_days or 0))
    )
    return TemporalSplit(cut=when).split(events)


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
        publish=False,
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
    models: Sequence[str] = MODEL_NAMES,
    *,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    test_days: int | None = None,
    cut: str | None = None,
    ns: Sequence[int] = (10,),
    out_dir: str | Path | None = None,
    publish: bool = True,
    progress: Callable[[str], None] | None = None,
) -> Comparison:
    """Evaluate ``models`` on one split; publish the chosen one, refitted on all events, and
    make it the store's current model.

    The chosen model is the best on the primary metric, unless its margin over another model
    is within the noise (a paired bootstrap interval containing 0): then it is the simplest of
    the tied models (see :class:`~shopguide.evaluate.compare.Comparison`). The evidence
    (split, table, margins, chosen model) is saved in ``out_dir`` and in the published model's
    metadata, so the service can say why it serves what it serves.
    """
    chosen = {**DEFAULT_PARAMS, **{k: dict(v) for k, v in (params or {}).items()}}
    events = store_events(store)
    split = temporal_split(events, test_days=test_days, cut=cut)
    factories = {
        name: (lambda name=name: create_model(name, **chosen.get(name, {}))) for name in models
    }
    comparison = compare_models(
        factories, split, n=list(ns), primary=f"ndcg@{10 if 10 in ns else max(ns)}",
        binary=True, out_dir=out_dir, progress=progress,
    )  # fmt: skip
    if publish:
        publish_current(
            store, ModelRegistry.for_store(store.path), comparison.chosen,
            chosen.get(comparison.chosen, {}), binary=True,
            meta={"evaluation": comparison.evidence()},
            reason=f"shopguide compare: {comparison.verdict()}",
        )  # fmt: skip
    return comparison


def compare(db: str | Path, models: Sequence[str] = MODEL_NAMES, **options: Any) -> Comparison:
    """:func:`compare_store` on the store at ``db``."""
    with open_store(db, create=False) as store:
        return compare_store(store, models, **options)
