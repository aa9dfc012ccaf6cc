"""Frozen maps between external string ids and the dense integer indices models use.

Models work on rows and columns ``0..n-1``; people and files use ids such as ``"C-17"``.
An :class:`IdMap` is built once from the ids seen in the training data and never changes,
so a saved model and its map always agree.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from shopguide.errors import ModelFormatError, UnknownIdError

__all__ = ["IdMap"]


class IdMap:
    """An immutable bijection ``external id (str) <-> internal index (int32)``.

    Parameters
    ----------
    external_ids:
        The distinct external ids, in index order (index ``i`` is ``external_ids[i]``).
    kind:
        ``"user"`` or ``"item"``; used in error messages only.
    """

    __slots__ = ("_external", "_index", "kind")

    def __init__(self, external_ids: Iterable[object], *, kind: str = "id") -> None:
        ext = np.asarray([str(x) for x in external_ids], dtype=object)
        index = pd.Index(ext)
        if not index.is_unique:
            dupes = index[index.duplicated()].unique()[:5].tolist()
            raise ValueError(f"duplicate {kind} ids in IdMap: {dupes}")
        ext.setflags(write=False)
        self._external = ext
        self._index = index
        self.kind = kind

    @classmethod
    def from_values(cls, values: Iterable[object], *, kind: str = "id") -> IdMap:
        """Map the distinct values in order of first appearance."""
        as_str = pd.Series(np.asarray(list(values), dtype=object)).astype(str)
        return cls(pd.unique(as_str), kind=kind)

    def __len__(self) -> int:
        return len(self._external)

    def __contains__(self, external_id: object) -> bool:
        return str(external_id) in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IdMap) and np.array_equal(self._external, other._external)

    def __hash__(self) -> int:
        return hash(tuple(self._external))

    def __repr__(self) -> str:
        return f"IdMap(kind={self.kind!r}, size={len(self)})"

    @property
    def external_ids(self) -> np.ndarray:
        """The external ids in index order (read-only object array)."""
        return self._external

    def to_internal(
        self, external_ids: Iterable[object], *, unknown: Literal["raise", "drop", "mask"] = "raise"
    ) -> np.ndarray:
        """Translate external ids to int32 indices.

        ``unknown="raise"`` raises :class:`UnknownIdError` naming the unknown ids;
        ``"drop"`` leaves them out (the result may be shorter); ``"mask"`` returns -1 for them.
        """
        ids = np.asarray([str(x) for x in external_ids], dtype=object)
        pos = self._index.get_indexer(ids).astype(np.int32)
        missing = pos < 0
        if missing.any():
            if unknown == "raise":
                raise UnknownIdError(self.kind, ids[missing].tolist())
            if unknown == "drop":
                return pos[~missing]
        return pos

    def to_external(self, internal: Iterable[int] | np.ndarray) -> np.ndarray:
        """Translate indices back to external ids (object array); -1 becomes ``None``."""
        idx = np.asarray(internal, dtype=np.int64)
        if idx.size and (idx.max() >= len(self) or idx.min() < -1):
            raise IndexError(f"{self.kind} index out of range 0..{len(self) - 1}")
        out = np.empty(idx.shape, dtype=object)
        valid = idx >= 0
        out[valid] = self._external[idx[valid]]
        out[~valid] = None
        return out

    # --- persistence (arrays only, no pickle) ---------------------------------
    def to_array(self) -> np.ndarray:
        """The ids as a fixed-width unicode array, suitable for ``np.savez``."""
        return self._external.astype(str) if len(self) else np.array([], dtype="<U1")

    @classmethod
    def from_array(cls, array: np.ndarray, *, kind: str = "id") -> IdMap:
        """Inverse of :meth:`to_array`."""
        return cls(array.tolist(), kind=kind)

    def save(self, path: str | Path) -> None:
        """Write the map to the ``.npz`` file ``path`` (unicode array, loadable without pickle).

        The file is written under a temporary name and renamed over ``path``, so a reader sees
        the old map or the new one, never half of one. A missing folder raises
        :class:`FileNotFoundError`.
        """
        target = Path(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=".npz", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, ids=self.to_array(), kind=np.array(self.kind))
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    @classmethod
    def load(cls, path: str | Path) -> IdMap:
        """Read a map written by :meth:`save`."""
        try:
            with np.load(Path(path), allow_pickle=False) as z:
                return cls(z["ids"].tolist(), kind=str(z["kind"]))
        except (OSError, KeyError, ValueError) as exc:
            raise ModelFormatError(f"cannot load id map {path}: {exc}") from exc
