"""One versioned on-disk store for every fitted model: recommenders and the churn model alike.

Layout under the folder of the store file::

    models/<name>/<version>/...       one published version: the kind's own files, then
                           /meta.json  created_at, kind and free-form metadata
    models/<name>/CURRENT              the published version of <name> (one line)
    models/current.json                the store's current recommender: name and version

What a version folder holds besides ``meta.json`` is the business of its kind: a recommender
writes ``model/`` and its id maps (:class:`shopguide.recommend.saved.RecommenderStore`), the
churn model one ``model.skops`` (:mod:`shopguide.retention.churn.saved`). Each name holds
one kind; publishing another kind under a name already taken is refused, so a recommender and
the churn model can never share a folder. Versions written before kinds were recorded have no
``kind`` in ``meta.json``; they are recommenders, the only kind stored that way then.

Publishing is atomic: a version is written into a temporary folder and renamed into place,
then ``CURRENT`` is replaced with ``os.replace``; a reader sees the old or the new version,
never half of one. :meth:`ModelStore.prune` keeps the newest N versions, the current one (of
the name and of the store) and any the caller protects; a pruned version is renamed out of the
listing before it is deleted.

``current.json`` names the one recommender every interface uses unless told otherwise
(``compare`` and ``train`` set it, :meth:`ModelStore.make_current`); ``<name>/CURRENT`` only
says which version of ``<name>`` loads when that name is asked for.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from shopguide.errors import InputError, ModelFormatError

__all__ = ["RECOMMENDER", "CurrentModel", "ModelStore", "StoredModel"]

#: The kind of a recommender's versions (also of versions whose ``meta.json`` names no kind).
RECOMMENDER = "recommender"

_VERSION = re.compile(r"v(\d{4,})")
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


@dataclass(frozen=True)
class CurrentModel:
    """The store's current model: which published version of which model, since when, why."""

    model: str
    version: str
    set_at: str = ""
    reason: str = ""

    def to_dict(self) -> dict[str, str]:
        """The record as written to ``current.json``."""
        return {
            "model": self.model,
            "version": self.version,
            "set_at": self.set_at,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class StoredModel:
    """One name in the store: its kind, its versions (oldest first) and the current one."""

    name: str
    kind: str
    versions: tuple[str, ...]
    current: str | None


class ModelStore:
    """Versioned fitted models of every kind under ``<folder>/models``.

    Subclasses narrow the names they accept (:meth:`check_name`) and add the writing and
    reading of their kind's files on top of :meth:`publish_folder` and :meth:`version_dir`.
    """

    def __init__(self, folder: str | Path) -> None:
        self.root = Path(folder) / "models"

    @classmethod
    def for_store(cls, store_file: str | Path) -> Self:
        """The model store next to a store file (``shop.duckdb`` -> ``./models``)."""
        return cls(Path(store_file).resolve().parent)

    # -- names and versions --------------------------------------------------------------

    def check_name(self, name: str) -> None:
        """Raise :class:`~shopguide.errors.InputError` unless ``name`` can be a model folder."""
        if not _NAME.fullmatch(name):
            raise InputError(
                f"{name!r} cannot name a stored model",
                hint="use lower-case letters, digits, '-' and '_' (at most 64), e.g. item-knn",
            )

    def _name_dir(self, name: str) -> Path:
        self.check_name(name)
        return self.root / name

    @staticmethod
    def _versions_in(folder: Path) -> list[str]:
        if not folder.is_dir():
            return []
        found = [p.name for p in folder.iterdir() if p.is_dir() and _VERSION.fullmatch(p.name)]
        return sorted(found, key=lambda v: int(v[1:]))

    def versions(self, name: str) -> list[str]:
        """Published versions of ``name``, oldest first."""
        return self._versions_in(self._name_dir(name))

    def current_version(self, name: str) -> str | None:
        """The version ``CURRENT`` of ``name`` points at, or ``None``."""
        pointer = self._name_dir(name) / "CURRENT"
        return pointer.read_text().strip() if pointer.is_file() else None

    def version_dir(self, name: str, version: str) -> Path:
        """The folder of ``version`` of ``name`` (raises :class:`ModelFormatError` if none)."""
        folder = self._name_dir(name) / version
        if not _VERSION.fullmatch(version) or not folder.is_dir():
            raise ModelFormatError(f"model {name!r} has no version {version!r}")
        return folder

    def meta(self, name: str, version: str) -> dict[str, Any]:
        """The ``meta.json`` of a version (empty when the file is missing)."""
        file = self.version_dir(name, version) / "meta.json"
        if not file.is_file():
            return {}
        try:
            data = json.loads(file.read_text())
        except (OSError, ValueError) as exc:
            raise ModelFormatError(f"cannot read {file}: {exc}") from exc
        return data if isinstance(data, dict) else {}

    def _kind_in(self, folder: Path) -> str | None:
        for version in reversed(self._versions_in(folder)):
            try:
                data = json.loads((folder / version / "meta.json").read_text())
            except (OSError, ValueError):
                continue  # a version without readable metadata says nothing about the kind
            if isinstance(data, dict):
                return str(data.get("kind", RECOMMENDER))
        return None

    def kind(self, name: str) -> str | None:
        """The kind of model stored under ``name`` (``None`` while it has no version)."""
        return self._kind_in(self._name_dir(name))

    def models(self, kind: str | None = None) -> list[StoredModel]:
        """Every name with a published version (of ``kind`` if given), sorted by name."""
        if not self.root.is_dir():
            return []
        out: list[StoredModel] = []
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir()):
            found = self._kind_in(folder) if _NAME.fullmatch(folder.name) else None
            if found is None or (kind is not None and found != kind):
                continue
            pointer = folder / "CURRENT"
            current = pointer.read_text().strip() if pointer.is_file() else None
            out.append(StoredModel(folder.name, found, tuple(self._versions_in(folder)), current))
        return out

    # -- publishing ----------------------------------------------------------------------

    def publish_folder(
        self,
        name: str,
        write: Callable[[Path], None],
        *,
        kind: str,
        meta: dict[str, Any] | None = None,
        make_current: bool = True,
    ) -> str:
        """Publish a new version of ``name``: ``write(folder)`` fills a staging folder, which
        gets ``meta.json`` (``created_at``, ``kind``, ``meta``) and is renamed to the next free
        version. Returns the version; ``make_current`` points ``CURRENT`` at it.

        Refuses (:class:`ModelFormatError`) a ``kind`` other than the one already stored under
        ``name``. Nothing is left behind when ``write`` fails.
        """
        folder = self._name_dir(name)
        stored = self.kind(name)
        if stored is not None and stored != kind:
            raise ModelFormatError(
                f"models/{name} holds {stored} models; a {kind} model cannot be stored there",
                hint="each name holds one kind of model; choose another name",
            )
        folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder))
        try:
            write(staging)
            info = {"created_at": datetime.now(UTC).isoformat(), "kind": kind, **(meta or {})}
            (staging / "meta.json").write_text(json.dumps(info, indent=2, default=str))
            while True:  # the next free version; renaming onto a non-empty folder fails
                existing = self._versions_in(folder)
                version = f"v{(int(existing[-1][1:]) + 1) if existing else 1:04d}"
                try:
                    os.rename(staging, folder / version)
                    break
                except OSError:
                    if not (folder / version).exists():
                        raise
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        if make_current:
            self.set_current(name, version)
        return version

    def set_current(self, name: str, version: str) -> None:
        """Point ``CURRENT`` of ``name`` at ``version`` (atomic replace; also rolls back)."""
        folder = self.version_dir(name, version).parent
        fd, tmp = tempfile.mkstemp(prefix=".current-", dir=folder)
        with os.fdopen(fd, "w") as handle:
            handle.write(version + "\n")
        os.replace(tmp, folder / "CURRENT")

    def prune(self, name: str, keep: int, protect: Collection[str] = ()) -> list[str]:
        """Delete the versions of ``name`` but the ``keep`` newest, the current one (of ``name``
        and of the store, see :meth:`current`) and those in ``protect``; return the deleted
        versions, oldest first."""
        if keep < 1:
            raise ValueError(f"keep must be at least 1, not {keep}")
        folder = self._name_dir(name)
        versions = self._versions_in(folder)
        spared = set(versions[-keep:]) | set(protect)
        current = self.current_version(name)
        if current is not None:
            spared.add(current)
        store_current = self.current()
        if store_current is not None and store_current.model == name:
            spared.add(store_current.version)  # the store's current model is never pruned
        removed: list[str] = []
        for version in versions:
            if version in spared:
                continue
            trash = folder / f".trash-{version}-{uuid.uuid4().hex[:8]}"
            try:
                os.rename(folder / version, trash)  # out of versions() at once
            except FileNotFoundError:  # pruned meanwhile by another process
                continue
            shutil.rmtree(trash, ignore_errors=True)
            removed.append(version)
        return removed

    # -- the store's current recommender -------------------------------------------------

    def current(self) -> CurrentModel | None:
        """The store's current model (``models/current.json``), or ``None`` when none is set."""
        pointer = self.root / "current.json"
        try:
            data = json.loads(pointer.read_text())
            return CurrentModel(
                model=str(data["model"]),
                version=str(data["version"]),
                set_at=str(data.get("set_at", "")),
                reason=str(data.get("reason", "")),
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelFormatError(
                f"cannot read the current-model record {pointer}: {exc}",
                hint="make a model current again: shopguide compare, or shopguide train MODEL",
            ) from exc

    def make_current(self, name: str, version: str, *, reason: str = "") -> CurrentModel:
        """Make ``version`` of recommender ``name`` the store's current model (atomic replace
        of ``current.json``); ``reason`` says why (``"compare winner"``, ``"train"``)."""
        self.version_dir(name, version)
        kind = self.kind(name)
        if kind != RECOMMENDER:
            raise ModelFormatError(
                f"models/{name} holds {kind} models; only a recommender can be the store's "
                "current model"
            )
        record = CurrentModel(name, version, datetime.now(UTC).isoformat(), reason)
        fd, tmp = tempfile.mkstemp(prefix=".current-", dir=self.root)
        with os.fdopen(fd, "w") as handle:
            json.dump(record.to_dict(), handle, indent=2)
        os.replace(tmp, self.root / "current.json")
        return record
