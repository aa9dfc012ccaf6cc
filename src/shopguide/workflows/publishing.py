"""Training a recommender on the store's events and publishing it to the model store.

The CLI's ``train`` and ``compare``, the service's train jobs and its ``--train-if-missing``
start all publish through :func:`train_and_publish`; :func:`publish_current` also makes the
new version the store's current model. Nothing here needs the service's serving code.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shopguide.data.first_seen import first_seen_times
from shopguide.data.matrix import DEFAULT_EVENT_WEIGHTS, build_interactions
from shopguide.data.suppression import erased_among, erased_count_sql
from shopguide.errors import DataError
from shopguide.recommend import RecommenderStore, create_model
from shopguide.store import open_store
from shopguide.store.base import Store
from shopguide.workflows.interaction_events import interaction_events
from shopguide.workflows.privacy import tombstone
from shopguide.workflows.tuning_record import tuning_summary

__all__ = [
    "check_model_params",
    "model_names",
    "model_versions",
    "open_service_store",
    "publish_current",
    "train_and_publish",
]


def train_and_publish(
    store: Store,
    model_store: RecommenderStore,
    name: str = "item-knn",
    params: dict[str, Any] | None = None,
    *,
    progress: Callable[[float, str], None] | None = None,
    read_lock: threading.RLock | None = None,
    binary: bool = False,
    meta: dict[str, Any] | None = None,
) -> str:
    """Fit ``name`` on all events of the store and publish it as the new current version.

    ``progress`` gets ``(fraction, step)``; ``read_lock`` guards the store reads when the store
    connection is shared with a running service (the fit itself runs outside the lock).
    ``binary`` fits on did-interact 0/1 values instead of event weights (the snapshot then
    scores from 0/1 rows too); ``meta`` is stored with the version (evaluation evidence).

    ``read_lock`` is also the lock an erasure holds: a user erased while the model fits was
    scrubbed from the versions saved then, not from this one, so before the version becomes
    current their id is replaced in it too (see :func:`_scrub_erased_meanwhile`).
    """

    def step(fraction: float, text: str) -> None:
        if progress is not None:
            progress(fraction, text)

    step(0.05, "reading events")
    lock = read_lock or threading.RLock()
    with lock:
        events = interaction_events(store)
        max_load = store.scalar("SELECT max(load_id) FROM loads")
        erased_before = int(store.scalar(f"SELECT {erased_count_sql()}"))
    if events.empty:
        raise DataError("the store has no events to train on", hint="ingest events first")
    step(0.25, "building the interaction matrix")
    inter = build_interactions(events, DEFAULT_EVENT_WEIGHTS)
    step(0.4, f"fitting {name}")
    model = create_model(name, **(params or {}))
    dates = {"first_seen": first_seen_times(events, inter)} if model.fit_inputs else {}
    model.fit(inter.binary() if binary else inter.matrix, **dates)
    step(0.85, "publishing")
    version = model_store.publish(
        name,
        model,
        inter.users,
        inter.items,
        {
            "weights": dict(DEFAULT_EVENT_WEIGHTS),
            "events": len(events),
            "max_load_id": None if max_load is None else int(max_load),
            "params": model.get_params(),
            "binary": binary,
            **(meta or {}),
        },
        make_current=False,
    )
    _scrub_erased_meanwhile(store, model_store, inter.users.external_ids, erased_before, lock)
    model_store.set_current(name, version)
    step(1.0, f"published {version}")
    return version


def _scrub_erased_meanwhile(
    store: Store,
    model_store: RecommenderStore,
    user_ids: Any,
    erased_before: int,
    lock: threading.RLock,
) -> None:
    """Scrub from the saved versions (the new one included) the users among ``user_ids``
    erased since the suppression list held ``erased_before`` entries.

    Holding ``lock`` (the erasure's): an erasure that committed before sees to it here; one
    after runs its own scrub, which finds the new version. The list only grows, so an
    unchanged count means nobody was erased meanwhile, and no id is hashed.
    """
    with lock:
        if int(store.scalar(f"SELECT {erased_count_sql()}")) == erased_before:
            return
        for user_id in sorted(erased_among(store, [str(u) for u in user_ids])):
            model_store.scrub_user(user_id, tombstone(user_id))


def publish_current(
    store: Store,
    model_store: RecommenderStore,
    name: str,
    params: dict[str, Any] | None = None,
    *,
    make_current: bool = True,
    reason: str = "trained with shopguide train",
    **options: Any,
) -> str:
    """Fit ``name`` on every event, publish it and (``make_current``) make it the store's
    current model; returns the version. ``options`` go to :func:`train_and_publish`."""
    version = train_and_publish(store, model_store, name, params, **options)
    if make_current:
        model_store.make_current(name, version, reason=reason)
    return version


def model_versions(model_store: RecommenderStore) -> list[dict[str, Any]]:
    """Every published version of every model with its metadata and which one is current;
    ``evaluation`` is the comparison evidence of a version ``shopguide compare`` published,
    ``tuning`` the parameter search of each model behind it (``compare`` or ``train --auto``;
    see :func:`~shopguide.workflows.tuning_record.tuning_summary`)."""
    from shopguide.recommend import MODEL_NAMES

    out: list[dict[str, Any]] = []
    for name in MODEL_NAMES:
        current = model_store.current_version(name)
        for version in model_store.versions(name):
            meta_file = Path(model_store.root) / name / version / "meta.json"
            meta: dict[str, Any] = {}
            if meta_file.is_file():
                meta = json.loads(meta_file.read_text())
            evaluation = meta.get("evaluation")
            if isinstance(evaluation, dict):  # its raw search records are ``tuning`` below
                evaluation = {k: v for k, v in evaluation.items() if k != "tuning"}
            out.append(
                {
                    "model": name,
                    "version": version,
                    "current": version == current,
                    "created_at": meta.get("created_at"),
                    "events": meta.get("events"),
                    "params": meta.get("params"),
                    # what shopguide compare measured when it chose this model (None otherwise)
                    "evaluation": evaluation,
                    # every search point, its validation score and the chosen one ({} if none)
                    "tuning": tuning_summary(meta),
                }
            )
    return out


def model_names() -> tuple[str, ...]:
    """The recommender names (the catalogue) the model store and the train route accept."""
    from shopguide.recommend import MODEL_NAMES

    return MODEL_NAMES


def open_service_store(path: str | Path) -> tuple[Store, RecommenderStore]:
    """Open (creating/migrating) the store at ``path`` and its model store."""

    store = open_store(path)
    return store, RecommenderStore.for_store(store.path)


def check_model_params(name: str, params: dict[str, Any]) -> None:
    """Raise ``ValueError`` now if ``name`` does not take ``params`` (before a job starts)."""
    create_model(name, **params)
