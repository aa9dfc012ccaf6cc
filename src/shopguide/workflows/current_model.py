"""The store's one current model: which model every interface uses unless told otherwise.

``compare`` publishes its winner and makes it current; ``train MODEL`` does the same for the
model it fits (unless asked not to). ``recommend``, ``similar``, ``campaign``, ``winback``,
``serve`` and the dashboard then load that model, or the one a ``--model NAME`` option names.

With no current model nothing is trained behind the user's back: the CLI stops with a message
saying how to publish one, and the service serves popularity under a name that says so
(:data:`FALLBACK_MODEL`) until a model is published, or trains one with progress when started
with ``--train-if-missing``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from shopguide.data.matrix import DEFAULT_EVENT_WEIGHTS
from shopguide.errors import ModelFormatError, NoCurrentModelError
from shopguide.recommend.saved import RecommenderStore
from shopguide.store.base import Store
from shopguide.workflows.publishing import publish_current
from shopguide.workflows.serving.holder import ModelHolder
from shopguide.workflows.serving.snapshot import ModelSnapshot, assemble_snapshot, build_snapshot

__all__ = [
    "FALLBACK_MODEL",
    "FALLBACK_VERSION",
    "NO_CURRENT_REASON",
    "CurrentModelHolder",
    "current_record",
    "fallback_snapshot",
    "open_snapshot",
    "publish_current",
    "recommender_record",
    "start_serving",
    "which_model",
]

#: Why nothing but popularity can be served.
NO_CURRENT_REASON = "no current model — run shopguide compare or shopguide train"
#: The name the service gives the popularity it serves when the store has no current model.
FALLBACK_MODEL = f"popular (fallback: {NO_CURRENT_REASON})"
#: The version shown with :data:`FALLBACK_MODEL` (nothing of it is in the model store).
FALLBACK_VERSION = "fallback"


def which_model(model_store: RecommenderStore, model: str | None = None) -> tuple[str, str | None]:
    """The model to use and its version: ``model`` with its published version when a name is
    given (version ``None``: its ``CURRENT``), else the store's current model.

    Raises :class:`~shopguide.errors.NoCurrentModelError` when no name is given and the store
    has no current model.
    """
    if model:
        return model, None
    current = model_store.current()
    if current is None:
        raise NoCurrentModelError(str(model_store.root.parent))
    return current.model, current.version


def open_snapshot(
    store: Store, model_store: RecommenderStore, model: str | None = None
) -> ModelSnapshot:
    """The serving snapshot of ``model`` (default: the store's current model)."""
    name, version = which_model(model_store, model)
    return build_snapshot(store, model_store, name, version)


def current_record(model_store: RecommenderStore) -> dict[str, str] | None:
    """The store's current-model record as JSON-ready data (``None`` when none is set)."""
    current = model_store.current()
    return None if current is None else current.to_dict()


def recommender_record(snapshot: ModelSnapshot | None, reason: str | None = None) -> dict[str, Any]:
    """What an audit record says about the recommender part of a score: the model and version
    used, or that none was used and why."""
    if snapshot is None:
        return {"used": False, "model": None, "version": None, "reason": reason}
    return {"used": True, "model": snapshot.name, "version": snapshot.version, "reason": reason}


def fallback_snapshot(store: Store, *, lock: threading.RLock | None = None) -> ModelSnapshot | None:
    """Popularity over every event, served under :data:`FALLBACK_MODEL` while the store has no
    current model (``None`` when the store has no events to count)."""
    return assemble_snapshot(
        store, name=FALLBACK_MODEL, version=FALLBACK_VERSION, weights=dict(DEFAULT_EVENT_WEIGHTS),
        meta={"fallback": NO_CURRENT_REASON}, lock=lock,
    )  # fmt: skip


class CurrentModelHolder(ModelHolder):
    """A :class:`~shopguide.workflows.serving.holder.ModelHolder` that follows the store's current
    model (name and version) when ``model`` is ``None``, or one named model's ``CURRENT``.

    ``options`` (``swap_lock``, ``catch_up``) go to the base class. The loader reads
    :attr:`name` and :attr:`wanted` (the version to load) at call time.
    """

    def __init__(
        self,
        model_store: RecommenderStore,
        model: str | None,
        loader: Callable[[], ModelSnapshot],
        check_seconds: float = 1.0,
        **options: Any,
    ) -> None:
        super().__init__(model_store, model or "", loader, check_seconds, **options)
        self.follows_current = not model
        self.wanted: str | None = None

    def published_version(self) -> str | None:
        """The version to serve; moves :attr:`name` with the store's current model."""
        if not self.follows_current:
            return self.model_store.current_version(self.name)
        try:
            current = self.model_store.current()
        except ModelFormatError as exc:
            self.last_error = exc.message
            return None
        if current is None:
            return None
        self.name, self.wanted = current.model, current.version
        return current.version

    @property
    def serving_fallback(self) -> bool:
        """Whether the popularity fallback is being served."""
        snapshot = self.current
        return snapshot is not None and snapshot.version == FALLBACK_VERSION


def start_serving(
    holder: CurrentModelHolder,
    store: Store,
    model_store: RecommenderStore,
    *,
    lock: threading.RLock,
    train_if_missing: bool,
    say: Callable[[str], None],
) -> None:
    """Load the model to serve at start-up and say which one (through ``say``).

    With nothing published: train the model (named, else item-KNN) with progress when
    ``train_if_missing``, else serve the popularity fallback and say so. Never trains otherwise.
    """
    holder.refresh(force=True)
    if holder.current is None and train_if_missing:
        name = holder.name or "item-knn"
        say(f"no published model: training {name} (--train-if-missing)")
        publish_current(
            store, model_store, name, read_lock=lock, make_current=holder.follows_current,
            reason="trained at service start (--train-if-missing)",
            progress=lambda fraction, step: say(f"  {fraction:4.0%} {step}"),
        )  # fmt: skip
        holder.refresh(force=True)
    snapshot = holder.current
    if snapshot is not None:
        origin = "the store's current model" if holder.follows_current else "chosen with --model"
        say(f"model: {snapshot.name} {snapshot.version} ({origin})")
        return
    wanted = f"model {holder.name!r} has no published version" if holder.name else (
        "the store has no current model"
    )  # fmt: skip
    holder.current = fallback_snapshot(store, lock=lock)
    if holder.current is None:
        say(f"{wanted} and no events: recommendation routes answer 503 until one is published")
    else:
        say(
            f"{wanted}: serving popularity as {FALLBACK_MODEL!r}; publish one with "
            "`shopguide compare` or `shopguide train MODEL` (the service switches to it), or "
            "restart with --train-if-missing"
        )
