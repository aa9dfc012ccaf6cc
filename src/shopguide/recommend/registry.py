"""Model names, and a versioned on-disk registry of fitted models.

Layout under the store's folder::

    models/<name>/<version>/model/config.json    the model (see Recommender.save)
                           /model/arrays.npz
                           /users.npz, items.npz  id maps of the matrix it was fitted on
                           /meta.json             created_at, free-form metadata
    models/<name>/CURRENT                         the published version of <name> (one line)
    models/current.json                           the store's current model: name and version

Publishing is atomic: a version is written into a temporary folder and renamed into place
with ``os.replace``; then ``CURRENT`` is replaced the same way. A reader therefore sees
either the old or the new version, never a half-written one.

Old versions are removed by :meth:`ModelRegistry.prune` (the trainings of the CLI and the
service call it after publishing): the newest N stay, and so do the current one and any the
caller protects (the one a running service answers from). A version is renamed out of the
listing first and deleted after, so no reader sees one half-deleted.

``current.json`` is the one model every interface uses unless told otherwise (``compare``
and ``train`` set it; see :meth:`ModelRegistry.make_current`). ``<name>/CURRENT`` only says
which version of that one model ``--model NAME`` loads.
"""

from __future__ import annotations

import difflib
import json
import numbers
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from shopguide.data.idmap import IdMap
from shopguide.errors import ModelFormatError, ParameterError, UnknownModelError
from shopguide.recommend.base import Recommender, model_class, registered_models

# importing the model modules registers their names
from shopguide.recommend.ease import EASE
from shopguide.recommend.ease_large import EASELarge
from shopguide.recommend.knn import ItemKNN, UserKNN
from shopguide.recommend.mf import ALS, BPR
from shopguide.recommend.popular import Popular

__all__ = [
    "MODEL_NAMES",
    "CurrentModel",
    "LoadedModel",
    "ModelRegistry",
    "check_model_name",
    "create_model",
    "parse_params",
]

#: The names ``create_model`` (and ``shopguide train MODEL``) accept.
MODEL_NAMES: tuple[str, ...] = tuple(
    cls.model_name for cls in (UserKNN, ItemKNN, Popular, EASE, EASELarge, ALS, BPR)
)
_VERSION = re.compile(r"^v(\d{4,})$")


def check_model_name(name: str) -> None:
    """Raise :class:`UnknownModelError` (with the closest name) unless ``name`` is a model."""
    if name not in registered_models():
        raise UnknownModelError(name, MODEL_NAMES)


def create_model(name: str, **params: Any) -> Recommender:
    """A new, unfitted model by name (``user-knn``, ``item-knn``, ``popular``, ``ease``,
    ``ease-large``, ``als``, ``bpr``) with the given constructor parameters.

    Raises :class:`UnknownModelError` for an unknown name and :class:`ParameterError` for a
    parameter the model does not take or a value whose type does not fit its default.
    """
    check_model_name(name)
    klass = model_class(name)
    defaults = klass().get_params()
    for key, value in params.items():
        _check_param(name, key, value, defaults)
    try:
        return klass(**params)
    except TypeError as exc:
        raise ParameterError(f"bad parameter for {name}: {exc}") from exc


def _check_param(model: str, key: str, value: object, defaults: dict[str, Any]) -> None:
    if key not in defaults:
        close = difflib.get_close_matches(key.lower(), list(defaults), n=1, cutoff=0.5)
        guess = f"did you mean {close[0]!r}? " if close else ""
        raise ParameterError(
            f"bad parameter for {model}: it has no parameter {key!r}",
            hint=f"{guess}its parameters are {', '.join(sorted(defaults))}",
        )
    default = defaults[key]
    expected = (
        (bool, "true or false") if isinstance(default, bool)
        else (int, "a whole number") if isinstance(default, int)
        else (float, "a number") if isinstance(default, float)
        else (None, "")
    )  # fmt: skip
    kind, words = expected
    if kind is None or value is None:
        return
    is_bool = isinstance(value, bool) or type(value).__name__ == "bool_"  # numpy's too
    fits = is_bool if kind is bool else (
        isinstance(value, numbers.Real) and not is_bool
        and (kind is float or float(value).is_integer())
    )  # fmt: skip
    if not fits:
        raise ParameterError(
            f"parameter {key!r} of {model} must be {words}, got {value!r}",
            hint=f"e.g. {key}={str(default).lower() if kind is bool else default}",
        )


def parse_params(name: str, assignments: Sequence[str]) -> dict[str, Any]:
    """Turn CLI ``key=value`` strings into constructor parameters of model ``name``.

    Values are converted to the type of the parameter's default (int, float, bool), with
    ``none``/``null`` meaning ``None``; other values stay strings. Unknown keys raise.
    """
    check_model_name(name)
    defaults = model_class(name)().get_params()
    params: dict[str, Any] = {}
    for item in assignments:
        key, sep, raw = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in defaults:
            raise ParameterError(
                f"bad parameter {item!r} for {name}; use key=value with key in "
                f"{', '.join(sorted(defaults))}"
            )
        params[key] = _convert(raw.strip(), defaults[key])
    return params


def _convert(raw: str, default: object) -> object:
    low = raw.lower()
    if low in ("none", "null"):
        return None
    if isinstance(default, bool) or low in ("true", "false"):
        if low not in ("true", "false", "1", "0", "yes", "no"):
            raise ParameterError(f"expected true/false, got {raw!r}")
        return low in ("true", "1", "yes")
    try:
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError:
        kind = "a whole number" if isinstance(default, int) else "a number"
        raise ParameterError(f"expected {kind}, got {raw!r}") from None
    return raw


@dataclass(frozen=True)
class LoadedModel:
    """A fitted model with the id maps of its rows and columns."""

    name: str
    version: str
    model: Recommender
    users: IdMap
    items: IdMap
    meta: dict[str, Any] = field(default_factory=dict)


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


class ModelRegistry:
    """Versioned fitted models under ``<folder>/models``."""

    def __init__(self, folder: str | Path) -> None:
        self.root = Path(folder) / "models"

    @classmethod
    def for_store(cls, store_file: str | Path) -> ModelRegistry:
        """The registry next to a store file (``shop.duckdb`` -> ``./models``)."""
        return cls(Path(store_file).resolve().parent)

    def _model_dir(self, name: str) -> Path:
        check_model_name(name)
        return self.root / name

    def versions(self, name: str) -> list[str]:
        """Published versions of ``name``, oldest first."""
        folder = self._model_dir(name)
        if not folder.is_dir():
            return []
        found = [p.name for p in folder.iterdir() if p.is_dir() and _VERSION.match(p.name)]
        return sorted(found, key=lambda v: int(v[1:]))

    def current_version(self, name: str) -> str | None:
        """The version ``CURRENT`` points at, or ``None``."""
        pointer = self._model_dir(name) / "CURRENT"
        return pointer.read_text().strip() if pointer.is_file() else None

    def publish(
        self,
        name: str,
        model: Recommender,
        users: IdMap,
        items: IdMap,
        meta: dict[str, Any] | None = None,
        *,
        make_current: bool = True,
    ) -> str:
        """Save a fitted model as the next version (atomically) and return the version."""
        if model.model_name != name:
            raise ValueError(f"model is a {model.model_name!r}, not {name!r}")
        if (len(users), len(items)) != (model.n_users_, model.n_items_):
            raise ValueError("id maps do not match the model's matrix shape")
        folder = self._model_dir(name)
        folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder))
        model.save(staging / "model")
        users.save(staging / "users.npz")
        items.save(staging / "items.npz")
        info = {"created_at": datetime.now(UTC).isoformat(), "model": name, **(meta or {})}
        (staging / "meta.json").write_text(json.dumps(info, indent=2, default=str))
        while True:  # pick the next free version; os.replace onto a non-empty dir fails
            existing = self.versions(name)
            version = f"v{(int(existing[-1][1:]) + 1) if existing else 1:04d}"
            try:
                os.rename(staging, folder / version)
                break
            except OSError:
                if not (folder / version).exists():
                    raise
        if make_current:
            self.set_current(name, version)
        return version

    def set_current(self, name: str, version: str) -> None:
        """Point ``CURRENT`` at ``version`` (atomic replace; also used to roll back)."""
        folder = self._model_dir(name)
        if not (folder / version).is_dir():
            raise ModelFormatError(f"model {name!r} has no version {version!r}")
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
        folder = self._model_dir(name)
        versions = self.versions(name)
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
        """Make ``version`` of ``name`` the store's current model (atomic replace of
        ``current.json``); ``reason`` says why (``"compare winner"``, ``"train"``)."""
        folder = self._model_dir(name)
        if not (folder / version).is_dir():
            raise ModelFormatError(f"model {name!r} has no version {version!r}")
        record = CurrentModel(name, version, datetime.now(UTC).isoformat(), reason)
        fd, tmp = tempfile.mkstemp(prefix=".current-", dir=self.root)
        with os.fdopen(fd, "w") as handle:
            json.dump(record.to_dict(), handle, indent=2)
        os.replace(tmp, self.root / "current.json")
        return record

    def load(self, name: str, version: str | None = None) -> LoadedModel:
        """Load ``version`` (default: the current one) with its id maps."""
        version = version or self.current_version(name)
        if version is None:
            raise ModelFormatError(
                f"no published version of model {name!r} in {self.root}",
                hint=f"train it first: shopguide train {name}",
            )
        folder = self._model_dir(name) / version
        if not folder.is_dir():
            raise ModelFormatError(f"model {name!r} has no version {version!r}")
        model = Recommender.load(folder / "model")
        meta = json.loads((folder / "meta.json").read_text())
        return LoadedModel(
            name=name,
            version=version,
            model=model,
            users=IdMap.load(folder / "users.npz"),
            items=IdMap.load(folder / "items.npz"),
            meta=meta,
        )

    def scrub_user(self, user_id: str, tombstone: str) -> list[str]:
        """Replace ``user_id`` by ``tombstone`` in the user id map of every saved version.

        Every ``users.npz`` under the registry (all models, all versions, published or not) is
        rewritten atomically (a temporary file renamed over it) when it holds the id; the rows
        keep their order, so each version still loads and answers for everyone else. The
        tombstone must be unique per user (an id map holds no duplicates). Returns the
        rewritten files, relative to the registry root.
        """
        if not self.root.is_dir():
            return []
        rewritten: list[str] = []
        for path in sorted(self.root.rglob("users.npz")):
            try:
                users = IdMap.load(path)
            except ModelFormatError:
                continue  # not an id map this registry wrote; nothing to scrub in it
            if user_id not in users:
                continue
            ids = users.external_ids.tolist()
            ids[users.to_internal([user_id])[0]] = tombstone
            fd, tmp = tempfile.mkstemp(prefix=".users-", suffix=".npz", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as handle:
                    np.savez(handle, ids=IdMap(ids, kind=users.kind).to_array(),
                             kind=np.array(users.kind))  # fmt: skip
                os.replace(tmp, path)
            except FileNotFoundError:  # a staging folder renamed meanwhile: scrub it there
                continue
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
            rewritten.append(str(path.relative_to(self.root)))
        return rewritten
