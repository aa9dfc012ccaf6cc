"""The churn model in the versioned model store, beside the recommenders.

Each training is one version::

    models/churn/<version>/model.skops   the model (see ChurnModel.save: skops, no pickle)
                          /meta.json     created_at, kind "churn", horizon and training report
    models/churn/CURRENT                 the version scoring uses

(see :mod:`shopguide.model_store`). Stores written before versioning hold one unversioned
``models/churn.skops``; the first load or publish moves a readable one into the store as the
next version (``meta.json`` says ``migrated_from``), so such a store keeps its model.
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shopguide.errors import ModelFormatError
from shopguide.model_store import ModelStore
from shopguide.retention.churn.model import ChurnModel

__all__ = [
    "CHURN",
    "LEGACY_FILE",
    "MODEL_FILE",
    "SavedChurnModel",
    "current_churn_file",
    "load_churn",
    "migrate_legacy_churn",
    "publish_churn",
]

#: The name (folder) and kind of the churn model in the model store.
CHURN = "churn"
#: The model's file inside a version folder.
MODEL_FILE = "model.skops"
#: Where stores written before versioning keep their one churn model (under ``models/``).
LEGACY_FILE = "churn.skops"


@dataclass(frozen=True)
class SavedChurnModel:
    """A churn model loaded from the store, with the version and file it came from."""

    model: ChurnModel
    version: str
    file: Path


def publish_churn(store: ModelStore, model: ChurnModel, meta: dict[str, Any] | None = None) -> str:
    """Save a fitted churn model as the next version, make it current, return the version.

    A readable legacy ``churn.skops`` is moved into the store first, so it stays as the
    previous version; an unreadable one is left where it is (it is never read again).
    """
    with contextlib.suppress(ModelFormatError):  # a damaged old file must not stop the
        migrate_legacy_churn(store)  # training that replaces it
    info = {
        "horizon_days": model.horizon_days,
        "report": dict(getattr(model, "report_", {})),
        **(meta or {}),
    }
    return store.publish_folder(CHURN, lambda folder: _save(model, folder), kind=CHURN, meta=info)


def _save(model: ChurnModel, folder: Path) -> None:
    model.save(folder / MODEL_FILE)


def load_churn(store: ModelStore, version: str | None = None) -> SavedChurnModel | None:
    """The churn model of ``version`` (default: the current one), or ``None`` when none has
    been saved. A file that cannot be used raises :class:`ModelFormatError` saying to retrain."""
    if version is None:
        migrate_legacy_churn(store)
        version = store.current_version(CHURN)
        if version is None:
            return None
    file = store.version_dir(CHURN, version) / MODEL_FILE
    return SavedChurnModel(ChurnModel.load(file), version, file)


def current_churn_file(store: ModelStore) -> Path | None:
    """The file of the current churn model (a legacy ``churn.skops`` not yet moved into the
    store counts), or ``None`` when there is none. Reads only; moves nothing."""
    version = store.current_version(CHURN)
    if version is not None:
        return store.root / CHURN / version / MODEL_FILE
    legacy = store.root / LEGACY_FILE
    return legacy if legacy.is_file() else None


def migrate_legacy_churn(store: ModelStore) -> str | None:
    """Move a legacy ``models/churn.skops`` into the store as a version; return the version,
    or ``None`` when there is nothing to move (no such file, or the churn model already has
    versions, which win over it).

    The file is checked by loading it first (a damaged one raises :class:`ModelFormatError`
    and stays where it is), copied into the new version, and removed only once that version
    is published.
    """
    legacy = store.root / LEGACY_FILE
    if not legacy.is_file() or store.versions(CHURN):
        return None
    ChurnModel.load(legacy)
    version = store.publish_folder(
        CHURN, lambda folder: _copy(legacy, folder), kind=CHURN,
        meta={"migrated_from": LEGACY_FILE},
    )  # fmt: skip
    legacy.unlink(missing_ok=True)  # another process moving it meanwhile removed it already
    return version


def _copy(legacy: Path, folder: Path) -> None:
    shutil.copy2(legacy, folder / MODEL_FILE)
