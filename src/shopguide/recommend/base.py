"""The one base class every recommender derives from (template method).

The public methods do the common work once — input validation, batching into blocks,
filtering seen / blocked / not-allowed items, top-n selection, padding, persistence —
and a model implements only small hooks:

``_fit(user_items)``
    learn from a validated CSR user x item matrix (float32, canonical).
``_score_block(user_rows, user_items_block)``
    return scores for a block of users: a dense ``float32 [rows, n_items]`` array (every
    item is a candidate) **or** a CSR matrix whose stored entries are the only candidates
    (used by the neighbourhood models, whose candidates are sparse).
``_sparse_product(user_rows, user_items_block)``
    optional; scores as a product of two CSR matrices, which the base then evaluates and
    reduces to top-n in one compiled pass (numba) without forming the score block.
``_similar_items_block(item_rows)`` / ``_similar_users_block(user_rows)``
    optional; same dense-or-CSR convention.
``_get_arrays()`` / ``_set_arrays(arrays)``
    the learned state as named numpy arrays, for :meth:`Recommender.save`.

Output convention (as in implicit and RecTools): ``(ids int32 [rows, n], scores float32
[rows, n])``, best first, ties broken by the lower item index, padded with ``-1`` / ``-inf``
when fewer than ``n`` candidates are left.
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar, TypeAlias, TypeVar

import numpy as np
import scipy.sparse as sp

from shopguide.data.matrix import Interactions
from shopguide.errors import ModelFormatError, NotFittedError
from shopguide.recommend import _kernels
from shopguide.recommend._topn import topn_dense, topn_sparse
from shopguide.recommend.candidates import RankItems, item_users
from shopguide.recommend.external import ExternalIds

__all__ = [
    "FORMAT_VERSION",
    "ItemSelector",
    "Recommender",
    "ScoreBlock",
    "as_user_items",
    "fit_inputs_for",
    "model_class",
    "model_classes",
]

#: Version of the ``config.json`` + ``arrays.npz`` layout written by :meth:`Recommender.save`.
FORMAT_VERSION = 1

#: Scores for a block: dense (every item a candidate) or CSR (stored entries are candidates).
ScoreBlock: TypeAlias = np.ndarray | sp.csr_matrix
#: A set of items: a boolean mask over all items or an array of item indices.
ItemSelector: TypeAlias = np.ndarray | list[int] | None

_MODELS: dict[str, type[Recommender]] = {}
R = TypeVar("R", bound="Recommender")

#: Dense score cells (rows x items) computed at once by :meth:`Recommender.recommend`.
DENSE_CELL_BUDGET = 8_000_000
#: Users per block on the fused (compiled) path, as a multiple of ``block_users``.
FUSED_BLOCK_FACTOR = 16
#: Sparse candidate blocks denser than this are filtered and ranked as dense arrays.
DENSE_FRACTION = 0.05


def model_classes() -> dict[str, type[Recommender]]:
    """Model name -> class for every recommender class defined so far (the catalogue that
    :mod:`shopguide.recommend.catalogue` names and builds models from)."""
    return dict(_MODELS)


def model_class(name: str) -> type[Recommender]:
    """The recommender class saved under ``name`` (raises :class:`ModelFormatError`)."""
    try:
        return _MODELS[name]
    except KeyError:
        raise ModelFormatError(
            f"unknown model name {name!r}", hint=f"known models: {', '.join(sorted(_MODELS))}"
        ) from None


def fit_inputs_for(model: Any, available: Mapping[str, Any] | None) -> dict[str, Any]:
    """The keywords of ``available`` that ``model`` declares in ``fit_inputs`` (none for
    models that declare nothing, foreign ones included), to pass to its ``fit``."""
    wanted = getattr(model, "fit_inputs", ())
    return {k: available[k] for k in wanted if available and k in available}


def as_user_items(matrix: Any, *, name: str = "user_items") -> sp.csr_matrix:
    """Validate and convert a user x item matrix to canonical float32 CSR (copying if needed)."""
    if not sp.issparse(matrix):
        raise TypeError(f"{name} must be a scipy.sparse matrix (CSR), got {type(matrix).__name__}")
    out = sp.csr_matrix(matrix, dtype=np.float32)
    if not out.has_canonical_format:
        out = out.copy()
        out.sum_duplicates()
    if out.nnz and not np.isfinite(out.data).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return out


def _selector_mask(selector: ItemSelector, n_items: int, what: str) -> np.ndarray | None:
    """A boolean mask over items from a mask or an index array."""
    if selector is None:
        return None
    arr = np.asarray(selector)
    if arr.dtype == bool:
        if arr.shape != (n_items,):
            raise ValueError(f"{what} mask must have shape ({n_items},), got {arr.shape}")
        return arr
    idx = arr.astype(np.int64).ravel()
    if idx.size and (idx.min() < 0 or idx.max() >= n_items):
        raise IndexError(f"{what} contains item indices outside 0..{n_items - 1}")
    mask = np.zeros(n_items, dtype=bool)
    mask[idx] = True
    return mask


class Recommender(ExternalIds, RankItems):
    """Base class of all recommenders; see the module docstring for the hooks.

    Subclasses set ``model_name`` (the name used by :func:`model_class`, the model
    store's folder and ``config.json``) and take only JSON-serialisable constructor parameters.
    """

    model_name: ClassVar[str] = ""
    #: Users per block in :meth:`recommend` (upper bound; dense scores are also capped).
    block_users: ClassVar[int] = 2048
    #: Whether a user's scores follow from their interaction row alone (item-to-item models),
    #: so a user unknown at fit time is scored from the history they have now.
    scores_from_history: ClassVar[bool] = False
    #: Keywords :meth:`fit` needs besides the matrix (``ease-next``: ``first_seen``, when each
    #: cell was first seen); callers that have them pass them with :func:`fit_inputs_for`.
    fit_inputs: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.model_name:
            _MODELS[cls.model_name] = cls

    # --- parameters (scikit-learn style) ---------------------------------------------
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters and their current values (``deep`` is accepted for
        scikit-learn; recommenders hold no nested estimators)."""
        sig = inspect.signature(type(self).__init__)
        return {
            p.name: getattr(self, p.name)
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        }

    def set_params(self: R, **params: Any) -> R:
        """Set constructor parameters by name and return ``self`` (scikit-learn style, so
        ``sklearn.base.clone`` and grid searches work). Unknown names raise ``ValueError``
        naming the valid ones; the new values apply at the next :meth:`fit`."""
        valid = self.get_params()
        unknown = sorted(set(params) - set(valid))
        if unknown:
            raise ValueError(
                f"{type(self).__name__} has no parameter {', '.join(map(repr, unknown))}; "
                f"valid: {', '.join(sorted(valid))}"
            )
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    # --- fitting ---------------------------------------------------------------------
    @property
    def is_fitted(self) -> bool:
        """Whether :meth:`fit` (or :meth:`load`) has run."""
        return hasattr(self, "n_items_")

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(type(self).__name__)

    def fit(self: R, user_items: sp.spmatrix | Interactions, **fit_params: Any) -> R:
        """Learn from a user x item matrix (rows = users, columns = items); returns ``self``.

        Given an :class:`~shopguide.data.matrix.Interactions`, the model is also bound to it,
        so :meth:`recommend_users` answers on external ids."""
        bound = user_items if isinstance(user_items, Interactions) else None
        matrix = as_user_items(bound.matrix if bound is not None else user_items)
        if matrix.nnz and matrix.data.min() < 0:
            raise ValueError("user_items must not contain negative values")
        self._fit(matrix, **fit_params)
        self.n_users_, self.n_items_ = (int(x) for x in matrix.shape)
        self.item_users_ = item_users(matrix.indices, self.n_items_)
        if bound is not None:
            self.bind(bound)
        return self

    def _fit(self, user_items: sp.csr_matrix, **fit_params: Any) -> None:
        raise NotImplementedError

    # --- recommending ----------------------------------------------------------------
    def _score_block(self, user_rows: np.ndarray, user_items: sp.csr_matrix) -> ScoreBlock:
        raise NotImplementedError

    def _sparse_product(
        self, user_rows: np.ndarray, user_items: sp.csr_matrix
    ) -> tuple[sp.csr_matrix, sp.csr_matrix, int] | None:
        """Optional hook: scores are ``left @ right`` (CSR), so the base can fuse scoring and
        top-n in one compiled pass. ``rated`` = 0 plain, 1 divide by the sum of ``|right|``
        over stored ``left`` cells, 2 divide by the sum of ``|left|`` over stored ``right``
        cells. Must agree with :meth:`_score_block`."""
        return None

    def sparse_product(
        self, user_rows: np.ndarray, user_items: sp.csr_matrix
    ) -> tuple[sp.csr_matrix, sp.csr_matrix, int] | None:
        """The model's scores for ``user_rows`` as ``(left, right, rated)`` with scores
        ``left @ right`` (normalised as ``rated`` says, see :meth:`_sparse_product`), or
        ``None`` when its scores are not a sparse product. ``user_items`` has one row per
        requested user. Callers that score one user at a time (the REST service) build on it;
        the answers equal :meth:`recommend`'s."""
        self._check_fitted()
        return self._sparse_product(np.asarray(user_rows, dtype=np.int64), user_items)

    def _rows_of(
        self, user_rows: np.ndarray, user_items: Any, full_matrix: bool | None = None
    ) -> sp.csr_matrix:
        """The rows of ``user_items`` that belong to ``user_rows`` (see :meth:`recommend`).

        ``full_matrix=None``: one row per requested user whenever the row count is
        ``len(user_rows)``; the full matrix only when the row count is ``n_users_`` and
        differs. ``True``/``False`` say which it is, and a wrong row count raises.
        """
        matrix = as_user_items(user_items)
        if matrix.shape[1] != self.n_items_:
            raise ValueError(
                f"user_items has {matrix.shape[1]} item columns, the model knows {self.n_items_}"
            )
        per_user = len(user_rows)
        if full_matrix is None:
            full_matrix = matrix.shape[0] != per_user and matrix.shape[0] == self.n_users_
            if matrix.shape[0] not in (per_user, self.n_users_):
                raise ValueError(
                    f"user_items must have {per_user} rows (one per requested user, in the "
                    f"order of user_rows) or {self.n_users_} rows (the full matrix), got "
                    f"{matrix.shape[0]}"
                )
        if full_matrix:
            if matrix.shape[0] != self.n_users_:
                raise ValueError(
                    f"full_matrix=True: user_items must have the model's {self.n_users_} user "
                    f"rows, got {matrix.shape[0]}"
                )
            return matrix[user_rows]
        if matrix.shape[0] != per_user:
            raise ValueError(
                f"full_matrix=False: user_items must have one row per requested user "
                f"({per_user}), got {matrix.shape[0]}"
            )
        return matrix

    def recommend(
        self,
        user_rows: np.ndarray | Sequence[int] | int,
        user_items: sp.spmatrix,
        n: int = 10,
        filter_already_liked: bool = True,
        items_allowed: ItemSelector = None,
        items_blocked: ItemSelector = None,
        *,
        repurchasable: ItemSelector = None,
        full_matrix: bool | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``n`` items for each user in ``user_rows``.

        Parameters
        ----------
        user_rows:
            Internal user indices (a scalar gives 1-row outputs).
        user_items:
            Interactions used for filtering (and by models that score from a user's own
            items). Either one row per requested user, row ``i`` holding the history of
            ``user_rows[i]`` (``X[user_rows]``, as implicit and RecTools take it), or the full
            user x item matrix, indexed by ``user_rows``. The rule: with ``full_matrix=None``
            a matrix of ``len(user_rows)`` rows is always read as one row per requested
            user, even when that count equals the number of users; a matrix is read as the
            full one only when it has ``n_users_`` rows and ``len(user_rows)`` differs. Pass
            the full matrix for a reordering of all users with ``full_matrix=True``.
        n:
            Items per user.
        filter_already_liked:
            Leave out items the user has a stored interaction with in ``user_items``.
        items_allowed, items_blocked:
            Only recommend allowed items; never recommend blocked ones (boolean masks over
            items or index arrays). A filter: models with sparse candidates (KNN) return only
            the allowed items they score; :meth:`rank_items` ranks every item of a given set.
        repurchasable:
            Items exempt from ``filter_already_liked`` (items people buy again, such as
            consumables): they may be recommended although the user has them.
        full_matrix:
            ``True``: ``user_items`` is the full matrix; ``False``: one row per requested
            user; ``None``: decided by the row count as above. A wrong row count raises.

        Returns
        -------
        ids, scores:
            ``int32 [users, n]`` and ``float32 [users, n]``, best first; ``-1`` / ``-inf``
            where fewer than ``n`` candidates remain.
        """
        self._check_fitted()
        if n < 0:
            raise ValueError("n must be >= 0")
        rows = np.atleast_1d(np.asarray(user_rows, dtype=np.int64))
        if rows.size and (rows.min() < 0 or rows.max() >= self.n_users_):
            raise IndexError(f"user rows must be in 0..{self.n_users_ - 1}")
        matrix = self._rows_of(rows, user_items, full_matrix)
        allowed = _selector_mask(items_allowed, self.n_items_, "items_allowed")
        blocked = _selector_mask(items_blocked, self.n_items_, "items_blocked")
        again = _selector_mask(repurchasable, self.n_items_, "repurchasable")
        excluded = None
        if allowed is not None or blocked is not None:
            excluded = np.zeros(self.n_items_, dtype=bool)
            if allowed is not None:
                excluded |= ~allowed
            if blocked is not None:
                excluded |= blocked

        def one_block(bounds: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
            lo, hi = bounds
            block_items = matrix[lo:hi]
            seen = block_items if filter_already_liked else None
            if seen is not None and again is not None:
                seen = _drop_cells(seen, ~again[seen.indices])
            product = self._sparse_product(rows[lo:hi], block_items) if _kernels.active() else None
            if product is not None:  # fused: scores and top-n in one compiled pass
                left, right, rated = product
                with _kernels.threads_limited(int(getattr(self, "num_threads", 0) or 0)):
                    return _kernels.product_top_n(left, right, rated, seen, excluded, n)
            scores = self._score_block(rows[lo:hi], block_items)
            return _filtered_topn(scores, seen, excluded, n)

        fused = _kernels.active() and (
            type(self)._sparse_product is not Recommender._sparse_product
        )
        # the fused path keeps only n results per user: larger blocks, fewer calls
        block = self.block_users * FUSED_BLOCK_FACTOR if fused else self.block_users
        return self._map_blocks(one_block, len(rows), n, block, dense=not fused, pool=not fused)

    def _map_blocks(
        self,
        func: Callable[[tuple[int, int]], tuple[np.ndarray, np.ndarray]],
        total: int,
        n: int,
        block: int,
        *,
        dense: bool = True,
        pool: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Run ``func`` over row blocks (threads when the model asks for them) and stack.

        ``dense``: blocks may produce dense ``rows x n_items`` scores, so their size is also
        capped by :data:`DENSE_CELL_BUDGET`. ``pool``: blocks may run in a thread pool
        (off for the compiled path, which is parallel inside and must not be re-entered).
        """
        dense_cap = max(1, DENSE_CELL_BUDGET // max(1, self.n_items_)) if dense else block
        size = max(1, min(block, dense_cap))
        bounds = [(lo, min(total, lo + size)) for lo in range(0, total, size)]
        if not bounds:
            return (np.empty((0, n), dtype=np.int32), np.empty((0, n), dtype=np.float32))
        threads = self._threads() if pool else 1
        out_ids = np.empty((total, n), dtype=np.int32)
        out_scores = np.empty((total, n), dtype=np.float32)

        def run(bounds: tuple[int, int]) -> None:  # results go straight into the output
            ids, scores = func(bounds)
            out_ids[bounds[0] : bounds[1]] = ids
            out_scores[bounds[0] : bounds[1]] = scores

        if threads > 1 and len(bounds) > 1:
            with ThreadPoolExecutor(threads) as executor:
                list(executor.map(run, bounds))
        else:
            for b in bounds:
                run(b)
        return out_ids, out_scores

    def _threads(self) -> int:
        wanted = int(getattr(self, "num_threads", 1) or 0)
        return wanted if wanted > 0 else (os.cpu_count() or 1)

    # --- similar items / users -------------------------------------------------------
    def _similar_items_block(self, item_rows: np.ndarray) -> ScoreBlock:
        raise NotImplementedError(f"{type(self).__name__} does not support similar_items")

    def _similar_users_block(self, user_rows: np.ndarray) -> ScoreBlock:
        raise NotImplementedError(f"{type(self).__name__} does not support similar_users")

    def similar_items(
        self, item_rows: np.ndarray | Sequence[int] | int, n: int = 10
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` items most similar to each item (the item itself excluded)."""
        self._check_fitted()
        rows = np.atleast_1d(np.asarray(item_rows, dtype=np.int64))
        if rows.size and (rows.min() < 0 or rows.max() >= self.n_items_):
            raise IndexError(f"item rows must be in 0..{self.n_items_ - 1}")
        return self._similar(rows, n, self._similar_items_block, self.n_items_)

    def similar_users(
        self, user_rows: np.ndarray | Sequence[int] | int, n: int = 10
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` users most similar to each user (the user itself excluded)."""
        self._check_fitted()
        rows = np.atleast_1d(np.asarray(user_rows, dtype=np.int64))
        if rows.size and (rows.min() < 0 or rows.max() >= self.n_users_):
            raise IndexError(f"user rows must be in 0..{self.n_users_ - 1}")
        return self._similar(rows, n, self._similar_users_block, self.n_users_)

    def _similar(
        self,
        rows: np.ndarray,
        n: int,
        hook: Callable[[np.ndarray], ScoreBlock],
        width: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        def one_block(bounds: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
            lo, hi = bounds
            block_rows = rows[lo:hi]
            self_cells = sp.csr_matrix(
                (np.ones(hi - lo, dtype=np.float32), (np.arange(hi - lo), block_rows)),
                shape=(hi - lo, width),
            )
            return _filtered_topn(hook(block_rows), self_cells, None, n)

        return self._map_blocks(one_block, len(rows), n, self.block_users)

    # --- persistence -----------------------------------------------------------------
    def _get_arrays(self) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        raise NotImplementedError

    def save(self, directory: str | Path) -> Path:
        """Write ``config.json`` (name, params, format version) and ``arrays.npz``; no pickle."""
        self._check_fitted()
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {
            "__shape__": np.array([self.n_users_, self.n_items_], dtype=np.int64),
            **_flatten_sparse(self._get_arrays()),
        }
        if self.item_users_ is not None:
            arrays["__item_users__"] = np.asarray(self.item_users_, dtype=np.int64)
        np.savez(folder / "arrays.npz", **arrays)  # type: ignore[arg-type]
        config = {
            "model": self.model_name,
            "params": self.get_params(),
            "format_version": FORMAT_VERSION,
        }
        (folder / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True))
        return folder

    @classmethod
    def load(cls, directory: str | Path) -> Recommender:
        """Load a model written by :meth:`save`; the class comes from ``config.json``."""
        folder = Path(directory)
        try:
            config = json.loads((folder / "config.json").read_text())
        except (OSError, ValueError) as exc:
            raise ModelFormatError(f"cannot read {folder / 'config.json'}: {exc}") from exc
        if config.get("format_version") != FORMAT_VERSION:
            raise ModelFormatError(
                f"{folder}: model format version {config.get('format_version')!r} is not "
                f"supported (this ShopGuide reads version {FORMAT_VERSION})",
                hint="retrain the model with this version of ShopGuide",
            )
        klass = model_class(str(config.get("model")))
        if cls is not Recommender and not issubclass(klass, cls):
            raise ModelFormatError(f"{folder} holds a {klass.__name__}, not a {cls.__name__}")
        model = klass(**config.get("params", {}))
        try:
            with np.load(folder / "arrays.npz", allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError) as exc:
            raise ModelFormatError(f"cannot read {folder / 'arrays.npz'}: {exc}") from exc
        shape = arrays.pop("__shape__")
        model.item_users_ = arrays.pop("__item_users__", None)  # absent in older saves
        model._set_arrays(_unflatten_sparse(arrays))
        model.n_users_, model.n_items_ = int(shape[0]), int(shape[1])
        return model


def _filtered_topn(
    scores: ScoreBlock,
    seen: sp.csr_matrix | None,
    excluded: np.ndarray | None,
    n: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Remove seen / excluded cells from a score block, then take the top ``n`` per row."""
    if _kernels.active() and isinstance(scores, sp.spmatrix | sp.sparray):
        block = sp.csr_matrix(scores)
        block.sum_duplicates()
        return _kernels.filtered_top_n(block, seen, excluded, n)
    if (
        isinstance(scores, sp.spmatrix | sp.sparray)
        and scores.nnz > DENSE_FRACTION * scores.shape[0] * scores.shape[1]
    ):
        # nearly full candidate block: unstored cells are "no candidate" (-inf)
        block = sp.csr_matrix(scores, dtype=np.float32)
        dense = np.full(block.shape, -np.inf, dtype=np.float32)
        r = np.repeat(np.arange(block.shape[0]), np.diff(block.indptr))
        dense[r, block.indices] = block.data
        scores = dense
    if sp.issparse(scores):
        cand = sp.csr_matrix(scores, dtype=np.float32, copy=True)
        cand.sum_duplicates()
        keep = np.ones(cand.nnz, dtype=bool)
        if excluded is not None:
            keep &= ~excluded[cand.indices]
        if seen is not None and seen.nnz:
            keep &= ~_cells_in(cand, seen)
        if not keep.all():
            cand = _drop_cells(cand, keep)
        return topn_sparse(cand, n)
    dense = np.array(scores, dtype=np.float32, copy=True)
    if excluded is not None:
        dense[:, excluded] = -np.inf
    if seen is not None and seen.nnz:
        r, c = seen.nonzero()
        dense[r, c] = -np.inf
    return topn_dense(dense, n)


def _cells_in(cand: sp.csr_matrix, other: sp.csr_matrix) -> np.ndarray:
    """For every stored cell of ``cand``, whether ``other`` stores the same (row, col)."""
    width = np.int64(cand.shape[1])
    cand_rows = np.repeat(np.arange(cand.shape[0], dtype=np.int64), np.diff(cand.indptr))
    other_rows = np.repeat(np.arange(other.shape[0], dtype=np.int64), np.diff(other.indptr))
    other_keys = np.sort(other_rows * width + other.indices)
    keys = cand_rows * width + cand.indices
    pos = np.minimum(np.searchsorted(other_keys, keys), len(other_keys) - 1)
    return np.asarray(other_keys[pos] == keys)


def _drop_cells(matrix: sp.csr_matrix, keep: np.ndarray) -> sp.csr_matrix:
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))[keep]
    counts = np.bincount(rows, minlength=matrix.shape[0])
    indptr = np.concatenate([[0], np.cumsum(counts)])
    return sp.csr_matrix(
        (matrix.data[keep], matrix.indices[keep], indptr), shape=matrix.shape, copy=False
    )


def _flatten_sparse(arrays: dict[str, Any]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for key, value in arrays.items():
        if sp.issparse(value):
            csr = sp.csr_matrix(value)
            out[f"{key}__csr_data"] = csr.data
            out[f"{key}__csr_indices"] = csr.indices
            out[f"{key}__csr_indptr"] = csr.indptr
            out[f"{key}__csr_shape"] = np.array(csr.shape, dtype=np.int64)
        else:
            out[key] = np.asarray(value)
    return out


def _unflatten_sparse(arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in list(arrays):
        if key.endswith("__csr_data"):
            base = key[: -len("__csr_data")]
            out[base] = sp.csr_matrix(
                (
                    arrays[f"{base}__csr_data"],
                    arrays[f"{base}__csr_indices"],
                    arrays[f"{base}__csr_indptr"],
                ),
                shape=tuple(arrays[f"{base}__csr_shape"]),
            )
        elif "__csr_" not in key:
            out[key] = arrays[key]
    return out
