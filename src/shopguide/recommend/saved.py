"""Fitted recommenders in the versioned model store, with the id maps they were fitted on.

A recommender's version folder (see :mod:`shopguide.model_store` for the layout around it)::

    models/<name>/<version>/model/config.json    the model (see Recommender.save)
                           /model/arrays.npz
                           /users.npz, items.npz  id maps of the matrix it was fitted on
                           /meta.json             created_at, kind, model, free-form metadata

:class:`RecommenderStore` is the model store seen from the recommenders: it accepts only the
names of :mod:`shopguide.recommend.catalogue`, publishes and loads a model with its id maps,
and scrubs an erased user's id out of every saved id map.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shopguide.data.idmap import IdMap
from shopguide.errors import ModelFormatError
from shopguide.model_store import RECOMMENDER, ModelStore
from shopguide.recommend.base import Recommender
from shopguide.recommend.catalogue import check_model_name

__all__ = ["LoadedModel", "RecommenderStore"]


@dataclass(frozen=True)
class LoadedModel:
    """A fitted model with the id maps of its rows and columns."""

    name: str
    version: str
    model: Recommender
    users: IdMap
    items: IdMap
    meta: dict[str, Any] = field(default_factory=dict)


class RecommenderStore(ModelStore):
    """Versioned fitted recommenders under ``<folder>/models`` (the store's other kinds of
    model, such as churn, live beside them).

    Versions, ``CURRENT``, the store's current model and pruning come from
    :class:`~shopguide.model_store.ModelStore` (``versions``, ``current_version``,
    ``set_current``, ``current``, ``make_current``, ``prune``, ``models``); this class adds the
    recommender's files.
    """

    def check_name(self, name: str) -> None:
        """Raise :class:`~shopguide.errors.UnknownModelError` unless ``name`` is a recommender."""
        check_model_name(name)

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
        self.check_name(name)
        if model.model_name != name:
            raise ValueError(f"model is a {model.model_name!r}, not {name!r}")
        if (len(users), len(items)) != (model.n_users_, model.n_items_):
            raise ValueError("id maps do not match the model's matrix shape")

        def write(folder: Path) -> None:
            model.save(folder / "model")
            users.save(folder / "users.npz")
            items.save(folder / "items.npz")

        return self.publish_folder(
            name, write, kind=RECOMMENDER, meta={"model": name, **(meta or {})},
            make_current=make_current,
        )  # fmt: skip

    def load(self, name: str, version: str | None = None) -> LoadedModel:
        """Load ``version`` (default: the current one) with its id maps."""
        version = version or self.current_version(name)
        if version is None:
            raise ModelFormatError(
                f"no published version of model {name!r} in {self.root}",
                hint=f"train it first: shopguide train {name}",
            )
        folder = self.version_dir(name, version)
        return LoadedModel(
            name=name,
            version=version,
            model=Recommender.load(folder / "model"),
            users=IdMap.load(folder / "users.npz"),
            items=IdMap.load(folder / "items.npz"),
            meta=self.meta(name, version),
        )

    def scrub_user(self, user_id: str, tombstone: str) -> list[str]:
        """Replace ``user_id`` by ``tombstone`` in the user id map of every saved version.

        Every ``users.npz`` under the model store (all models, all versions, published or not)
        is rewritten atomically (a temporary file renamed over it) when it holds the id; the
        rows keep their order, so each version still loads and answers for everyone else. The
        tombstone must be unique per user (an id map holds no duplicates). Returns the
        rewritten files, relative to the store's ``models`` folder. Other kinds of model hold no
        user ids (the churn model keeps trees, coefficients and training totals only).
        """
        if not self.root.is_dir():
            return []
        rewritten: list[str] = []
        for path in sorted(self.root.rglob("users.npz")):
            try:
                users = IdMap.load(path)
            except ModelFormatError:
                continue  # not an id map this store wrote; nothing to scrub in it
            if user_id not in users:
                continue
            ids = users.external_ids.tolist()
            ids[users.to_internal([user_id])[0]] = tombstone
            try:
                IdMap(ids, kind=users.kind).save(path)
            except FileNotFoundError:  # a staging folder renamed meanwhile: scrub it there
                continue
            rewritten.append(str(path.relative_to(self.root)))
        return rewritten
