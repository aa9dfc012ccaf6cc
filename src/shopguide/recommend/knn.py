"""User-based and item-based collaborative filtering, as the founding document specifies.

Notation: ``r(u, i)`` is the user x item matrix given to ``fit`` (event-weighted strengths,
or 1/0), ``N_K(x)`` the K most similar other users (or items) of ``x``.

**User-based** (:class:`UserKNN`)::

    score(u, i) = sum_{v in N_K(u)} sim(u, v) * r(v, i)  /  sum_{v in N_K(u)} |sim(u, v)|

The default denominator (``normalize="neighbours"``) sums over **all K neighbours of u**,
exactly as the seed code does; it is the same for every item of a user, so it scales but
does not reorder a user's list. ``normalize="rated"`` sums only over the neighbours that
have ``r(v, i) != 0`` (the textbook weighted average; on 0/1 data every score is then 1, so
ranking loses its meaning), ``normalize="none"`` keeps the plain weighted sum.

**Item-based** (:class:`ItemKNN`), the same with the roles swapped::

    score(u, i) = sum_{j in N_K(i)} sim(i, j) * r(u, j)  /  sum_{j in N_K(i)} |sim(i, j)|

with ``N_K(i)`` the K most similar items of the candidate item ``i``. Here the default
denominator differs per item, which favours items with weak neighbourhoods;
``normalize="none"`` (or ``False``), the unnormalised sum, usually ranks better on implicit
data. ``"rated"`` again divides by the similarities of the neighbours the user has.

**Similarities** between rows ``x_a``, ``x_b`` of the compared matrix (users' item vectors
for UserKNN, items' user vectors for ItemKNN), with optional shrinkage ``s``:

- ``cosine``:     ``x_a.x_b / (|x_a| |x_b| + s)``
- ``asymmetric``: ``x_a.x_b / (|x_a|^(2 alpha) |x_b|^(2 (1 - alpha)) + s)``
  (Aiolli 2013; ``alpha=0.5`` is cosine)
- ``jaccard``:    ``|A & B| / (|A| + |B| - |A & B| + s)`` on the 0/1 pattern

``weighting="tfidf"`` or ``"bm25"`` reweights the compared matrix first (features that
nearly every row has count less). A row is never its own neighbour.

**Implementation**: the similarity is computed in row blocks (``block_rows`` rows of
``X Xᵀ`` at a time, a sparse product); each block is reduced to its top-K per row at once,
so no dense user x user or item x item matrix ever exists. The stored neighbour matrix
``neighbours_`` is CSR with at most K entries per row.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, TypeVar

import numpy as np
import scipy.sparse as sp

from shopguide.errors import ParameterError
from shopguide.recommend import _kernels
from shopguide.recommend._topn import topn_dense, topn_sparse
from shopguide.recommend.base import Recommender, ScoreBlock, as_user_items
from shopguide.recommend.candidates import item_users
from shopguide.recommend.cost import TIME_CONSTANTS, Cost, pair_count

__all__ = [
    "ItemKNN",
    "UserKNN",
    "kernel_inputs",
    "knn_neighbours",
    "neighbours_block",
    "rows_to_csr",
    "weight_rows",
]

Similarity = Literal["cosine", "asymmetric", "jaccard"]
Weighting = Literal["tfidf", "bm25"] | None
Normalize = Literal["neighbours", "rated", "none"] | bool

#: Cells of one similarity block (rows x compared rows) kept in memory at once, roughly.
BLOCK_CELL_BUDGET = 20_000_000
#: A product block denser than this fraction is reduced to top-K as a dense array.
DENSE_FRACTION = 0.1


def weight_rows(
    matrix: sp.csr_matrix, weighting: Weighting, *, k1: float = 1.2, b: float = 0.75
) -> sp.csr_matrix:
    """Reweight a rows x features matrix by TF-IDF or BM25 (features as terms).

    ``idf(f) = log(n_rows / (1 + rows containing f)) `` clipped at 0;
    BM25 also saturates each value and normalises by row length (``k1``, ``b``).
    """
    if weighting is None:
        return matrix
    out = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    n_rows = out.shape[0]
    doc_freq = np.bincount(out.indices, minlength=out.shape[1])
    idf = np.maximum(np.log(n_rows / (1.0 + doc_freq)), 0.0).astype(np.float32)
    if weighting == "tfidf":
        out.data *= idf[out.indices]
    elif weighting == "bm25":
        lengths = np.asarray(out.sum(axis=1)).ravel()
        avg = lengths.mean() if n_rows else 1.0
        row_len = np.repeat(lengths / max(avg, 1e-12), np.diff(out.indptr))
        tf = out.data * (k1 + 1.0) / (out.data + k1 * (1.0 - b + b * row_len))
        out.data = (tf * idf[out.indices]).astype(np.float32)
    else:
        raise ParameterError(f"unknown weighting {weighting!r}; use 'tfidf', 'bm25' or None")
    out.eliminate_zeros()
    return out


def knn_neighbours(
    rows: sp.csr_matrix,
    k: int,
    *,
    similarity: Similarity = "cosine",
    shrink: float = 0.0,
    alpha: float = 0.5,
    num_threads: int = 0,
    block_rows: int | None = None,
    use_kernels: bool | None = None,
    rows_t: sp.csr_matrix | None = None,
) -> sp.csr_matrix:
    """The top-``k`` most similar other rows of every row, as a CSR (rows x rows) matrix.

    Computed blockwise: ``rows[block] @ rows.T`` (sparse), converted to similarities with
    per-row statistics, reduced to the top ``k`` per row with a vectorised partition.
    Rows without any positive co-occurrence get no neighbours.

    With numba installed (``use_kernels=None`` -> auto) a compiled row loop does the same
    without materialising the product block and without copying the input (faster, far
    less memory; all cores). ``rows_t``, the transpose of ``rows`` as CSR, saves building
    it when the caller has it (the user x item matrix for item-KNN).
    """
    if similarity not in ("cosine", "asymmetric", "jaccard"):
        raise ParameterError(f"unknown similarity {similarity!r}")
    n = rows.shape[0]
    if use_kernels is None:
        use_kernels = _kernels.active()
    if use_kernels:
        with _kernels.threads_limited(num_threads):
            return _kernel_neighbours(rows, rows_t, k, similarity, shrink, alpha)
    base = sp.csr_matrix(rows, dtype=np.float32, copy=True)
    if similarity == "jaccard":
        base.data[:] = 1.0
    sq_norm = np.asarray(base.multiply(base).sum(axis=1), dtype=np.float32).ravel()
    # plain cosine: normalise rows once, then the product is the similarity itself
    prenormalized = similarity == "cosine" and shrink == 0
    if prenormalized:
        inv = np.divide(1.0, np.sqrt(sq_norm), out=np.zeros_like(sq_norm), where=sq_norm > 0)
        base = sp.csr_matrix(sp.diags(inv) @ base, dtype=np.float32)
    base_t = base.T.tocsr()
    if block_rows is None:
        block_rows = int(np.clip(BLOCK_CELL_BUDGET // max(n, 1), 64, 4096))

    def to_similarity(dots: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Similarities from dot products and the squared norms of both rows."""
        if prenormalized:
            return dots
        if similarity == "cosine":
            denom = np.sqrt(left * right) + shrink
        elif similarity == "asymmetric":
            denom = left**alpha * right ** (1.0 - alpha) + shrink
        else:  # jaccard: squared norm of a 0/1 row is its count
            denom = left + right - dots + shrink
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(denom > 0, dots / denom, 0.0).astype(np.float32)

    def block(lo: int) -> tuple[np.ndarray, np.ndarray]:
        hi = min(n, lo + block_rows)
        prod = base[lo:hi] @ base_t  # raw dot products / co-counts (sparse)
        if prod.nnz > DENSE_FRACTION * (hi - lo) * n:  # nearly full: dense is cheaper
            dense = prod.toarray()
            sims = to_similarity(dense, sq_norm[lo:hi, None], sq_norm[None, :])
            sims[sims == 0] = -np.inf  # no co-occurrence: not a neighbour
            sims[np.arange(hi - lo), np.arange(lo, hi)] = -np.inf  # never one's own neighbour
            return topn_dense(sims, k)
        prod = sp.csr_matrix(prod)
        row_ids = np.repeat(np.arange(lo, hi), np.diff(prod.indptr))
        sims = to_similarity(prod.data, sq_norm[row_ids], sq_norm[prod.indices])
        sims[row_ids == prod.indices] = 0.0
        prod.data = sims.astype(np.float32)
        prod.eliminate_zeros()
        return topn_sparse(prod, k)

    starts = list(range(0, n, block_rows))
    if num_threads > 1 and len(starts) > 1:
        with ThreadPoolExecutor(num_threads) as pool:
            parts = list(pool.map(block, starts))
    else:
        parts = [block(lo) for lo in starts]
    if not parts:
        return sp.csr_matrix((n, n), dtype=np.float32)
    return rows_to_csr(np.vstack([p[0] for p in parts]), np.vstack([p[1] for p in parts]), n)


def _kernel_neighbours(
    rows: sp.csr_matrix,
    rows_t: sp.csr_matrix | None,
    k: int,
    similarity: str,
    shrink: float,
    alpha: float,
) -> sp.csr_matrix:
    """The compiled path: raw dot products, similarity denominators from squared norms."""
    base, base_t, sq_norm = kernel_inputs(rows, rows_t, similarity)
    mode = _kernels.MODES[similarity]
    ids, vals = _kernels.knn_top_k(base, base_t, sq_norm, mode, shrink, alpha, k)
    return rows_to_csr(ids, vals, base.shape[0])


def neighbours_block(
    inputs: tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray],
    lo: int,
    hi: int,
    k: int,
    *,
    similarity: Similarity = "cosine",
    shrink: float = 0.0,
    alpha: float = 0.5,
    num_threads: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` neighbours of rows ``lo:hi`` only, as padded ``(ids, values)`` arrays.

    ``inputs`` is :func:`kernel_inputs` of the whole matrix; the result equals those rows
    of the whole computation (rows are independent), so blocks can run on different
    machines (the Spark engine's broadcast mode). Needs the compiled kernels (numba).
    """
    if not _kernels.active():
        raise RuntimeError("neighbours_block needs numba (the compiled kernels)")
    base, base_t, sq_norm = inputs
    mode = _kernels.MODES[similarity]
    with _kernels.threads_limited(num_threads):
        return _kernels.knn_top_k(
            base[lo:hi], base_t, sq_norm, mode, shrink, alpha, k, offset=lo
        )  # fmt: skip


def kernel_inputs(
    rows: sp.csr_matrix, rows_t: sp.csr_matrix | None, similarity: str = "cosine"
) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
    """``(rows, rows transposed, squared row norms)`` as the compiled top-K kernel reads them.

    float32 values (all 1 for ``"jaccard"``) and float64 norms summed per row in storage
    order. Shared with the Spark engine, which runs the kernel on blocks of rows.
    """
    base = sp.csr_matrix(rows, dtype=np.float32)
    base_t = base.T.tocsr() if rows_t is None else sp.csr_matrix(rows_t, dtype=np.float32)
    if similarity == "jaccard":  # co-counts of the 0/1 pattern
        base = sp.csr_matrix((np.ones_like(base.data), base.indices, base.indptr), base.shape)
        base_t = sp.csr_matrix(
            (np.ones_like(base_t.data), base_t.indices, base_t.indptr), base_t.shape
        )
    counts = np.diff(base.indptr)
    sq_norm = np.zeros(base.shape[0], dtype=np.float64)
    filled = counts > 0
    squares = np.square(base.data, dtype=np.float64)
    sq_norm[filled] = np.add.reduceat(squares, base.indptr[:-1][filled]) if squares.size else 0
    return base, base_t, sq_norm


def rows_to_csr(ids: np.ndarray, vals: np.ndarray, n: int) -> sp.csr_matrix:
    """CSR from padded per-row (ids, values) with -1 padding."""
    valid = ids >= 0
    indptr = np.concatenate([[0], np.cumsum(valid.sum(axis=1))]).astype(np.int64)
    out = sp.csr_matrix((vals[valid], ids[valid], indptr), shape=(n, n))
    out.sort_indices()
    return out


def _normalize_mode(normalize: Normalize) -> str:
    if normalize is True:
        return "neighbours"
    if normalize is False:
        return "none"
    if normalize not in ("neighbours", "rated", "none"):
        raise ParameterError(
            f"normalize must be 'neighbours', 'rated', 'none' or a bool, got {normalize!r}"
        )
    return str(normalize)


def _row_normalized(weights: sp.csr_matrix) -> sp.csr_matrix:
    """Divide each row by the sum of its absolute values (empty rows stay empty)."""
    totals = np.asarray(abs(weights).sum(axis=1)).ravel()
    scale = np.divide(1.0, totals, out=np.zeros_like(totals), where=totals > 0)
    return sp.csr_matrix(sp.diags(scale.astype(np.float32)) @ weights)


def _binary(matrix: sp.csr_matrix) -> sp.csr_matrix:
    out = matrix.copy()
    out.data = np.ones_like(out.data)
    return out


def _ratio(num: sp.csr_matrix, den: sp.csr_matrix) -> sp.csr_matrix:
    """Cellwise ``num / den`` where both are stored (den's zeros give no candidate)."""
    inverse = sp.csr_matrix(den, dtype=np.float32, copy=True)
    inverse.data = np.reciprocal(inverse.data)
    return sp.csr_matrix(sp.csr_matrix(num).multiply(inverse), dtype=np.float32)


_K = TypeVar("_K", bound="_KNNBase")


class _KNNBase(Recommender):
    """Shared parameters and persistence of the two neighbourhood models.

    Parameters: ``k`` neighbours kept per row; ``similarity``, ``shrink``, ``alpha`` and
    ``weighting`` as in the module docstring; ``normalize`` the denominator of the score
    (``"neighbours"`` = the founding formula, ``"rated"``, ``"none"``/``False``);
    ``num_threads`` threads of the compiled loops (0 = all cores; without numba, > 1 runs
    the numpy blocks in a thread pool).
    """

    #: 0 = neighbours between users (rows of user_items), 1 = between items (columns)
    _neighbour_axis: int = 0

    def __init__(
        self,
        k: int = 50,
        similarity: Similarity = "cosine",
        shrink: float = 0.0,
        alpha: float = 0.5,
        weighting: Weighting = None,
        normalize: Normalize = "neighbours",
        num_threads: int = 0,
    ) -> None:
        self.k = k
        self.similarity = similarity
        self.shrink = shrink
        self.alpha = alpha
        self.weighting = weighting
        self.normalize = normalize
        self.num_threads = num_threads

    def _neighbours_of(
        self, compared: sp.csr_matrix, compared_t: sp.csr_matrix | None = None
    ) -> sp.csr_matrix:
        if self.k < 1:
            raise ParameterError("k must be >= 1")
        _normalize_mode(self.normalize)
        weighted = weight_rows(compared, self.weighting)
        return knn_neighbours(
            weighted,
            self.k,
            rows_t=compared_t if weighted is compared else None,
            similarity=self.similarity,
            shrink=self.shrink,
            alpha=self.alpha,
            num_threads=self.num_threads,
        )

    def estimate_cost(self, n_users: int, n_items: int, n_interactions: int) -> Cost:
        """K neighbours per row (kept, transposed and as absolute values), the training
        matrix and its copies, and per-row accumulators of the compiled neighbour search;
        time from the co-occurring pairs."""
        side = n_items if self._neighbour_axis == 1 else n_users
        pairs = pair_count(n_users, n_items, n_interactions, axis=self._neighbour_axis)
        neighbours = 3 * 8 * self.k * side  # float32 value + int32 index, three copies
        train = 3 * 12 * n_interactions  # the matrix, its transpose, the weighted copy
        workspace = 64 * 8 * side  # dense accumulators and top-K buffers per thread
        return Cost(
            neighbours + train + workspace,
            TIME_CONSTANTS["knn_pair"] * pairs,
            f"{self.k} neighbours x {side:,} {'items' if self._neighbour_axis else 'users'}",
        )

    def set_neighbours(self: _K, neighbours: sp.spmatrix, user_items: sp.spmatrix) -> _K:
        """Become fitted from a neighbour matrix computed elsewhere; returns ``self``.

        For neighbours computed outside :meth:`fit`, such as in Spark tasks
        (:mod:`shopguide.engine.spark.broadcast`). ``neighbours`` is what ``fit(user_items)``
        would learn with this model's parameters: users x users for :class:`UserKNN`, items x
        items for :class:`ItemKNN`, at most ``k`` cells per row. ``user_items`` is the training
        matrix (UserKNN scores from its rows; ItemKNN takes only its shape). Recommending then
        works exactly as after ``fit``.
        """
        matrix = as_user_items(user_items)
        side = matrix.shape[self._neighbour_axis]
        table = sp.csr_matrix(neighbours, dtype=np.float32)
        if table.shape != (side, side):
            raise ValueError(
                f"neighbours must be {side} x {side} for a {matrix.shape[0]} x "
                f"{matrix.shape[1]} user_items matrix, got {table.shape[0]} x {table.shape[1]}"
            )
        self._check_params()
        self._set_arrays({"neighbours": table, "train": self._kept_train(matrix)})
        self.n_users_, self.n_items_ = (int(x) for x in matrix.shape)
        self.item_users_ = item_users(matrix.indices, self.n_items_)
        return self

    def _kept_train(self, user_items: sp.csr_matrix) -> sp.csr_matrix:
        """What the fitted model keeps of its training matrix."""
        return user_items

    def _check_params(self) -> None:
        """Reject invalid parameters before becoming fitted."""
        _normalize_mode(self.normalize)

    def _get_arrays(self) -> dict[str, Any]:
        return {"neighbours": self.neighbours_, "train": self.train_}

    def _set_arrays(self, arrays: dict[str, Any]) -> None:
        self.neighbours_ = arrays["neighbours"]
        self.train_ = arrays["train"]
        self._prepare()

    def _prepare(self) -> None:
        """Derive the scoring matrices from ``neighbours_`` (after fit and after load)."""


class UserKNN(_KNNBase):
    """User-based CF: score items by what the K most similar users have (see module doc).

    ``neighbours_`` (users x users CSR, K per row) is learned at fit; ``train_`` keeps the
    fitted matrix, because a user's scores come from the neighbours' rows ``r(v, i)``.
    Recommending therefore needs users known at fit time; new users go through
    :mod:`shopguide.recommend.coldstart`.

    Cost: fitting touches every pair of users sharing an item, ``sum_i users(i)^2``; with
    a few items bought by most users (bestsellers) that approaches ``n_users^2``, so on
    very large catalogues prefer :class:`ItemKNN` (whose cost is ``sum_u items(u)^2``).
    """

    model_name = "user-knn"

    def _fit(self, user_items: sp.csr_matrix, **_: Any) -> None:
        self.train_ = user_items
        self.neighbours_ = self._neighbours_of(user_items)
        self._prepare()

    def _prepare(self) -> None:
        mode = _normalize_mode(self.normalize)
        self._weights = (
            _row_normalized(self.neighbours_) if mode == "neighbours" else self.neighbours_
        )
        self._train_binary = _binary(self.train_)

    def _score_block(self, user_rows: np.ndarray, user_items: sp.csr_matrix) -> ScoreBlock:
        weights = self._weights[user_rows]
        scores = weights @ self.train_
        if _normalize_mode(self.normalize) == "rated":
            scores = _ratio(scores, abs(weights) @ self._train_binary)
        return sp.csr_matrix(scores)

    def _sparse_product(
        self, user_rows: np.ndarray, user_items: sp.csr_matrix
    ) -> tuple[sp.csr_matrix, sp.csr_matrix, int]:
        rated = 2 if _normalize_mode(self.normalize) == "rated" else 0
        return self._weights[user_rows], self.train_, rated

    def _similar_users_block(self, user_rows: np.ndarray) -> ScoreBlock:
        return self.neighbours_[user_rows]

    def contributions(self, user_row: int, item_row: int) -> list[tuple[int, float]]:
        """Neighbours ``v`` of the user having the item, with ``sim(u,v) * r(v,i)``, largest first.

        These are exactly the terms of the numerator of ``score(u, i)``.
        """
        self._check_fitted()
        row = self.neighbours_[user_row]
        have = np.asarray(self.train_[row.indices, item_row].todense()).ravel()
        parts = [
            (int(v), float(s * r)) for v, s, r in zip(row.indices, row.data, have, strict=True) if r
        ]
        return sorted(parts, key=lambda p: (-p[1], p[0]))


class ItemKNN(_KNNBase):
    """Item-based CF: score an item by the user's strengths on its K most similar items.

    ``neighbours_`` (items x items CSR, K per row: row ``i`` holds ``N_K(i)``) is learned
    at fit. Scoring uses the user's own row of ``user_items``, so it works for any user,
    including a new session's items.

    ``neighbourhood`` chooses whose K neighbours count:

    - ``"candidate"`` (default, the founding document): ``N_K(i)`` of the candidate item,
      ``score(u,i) = sum_{j in N_K(i)} sim(i,j) r(u,j) / sum_{j in N_K(i)} |sim(i,j)|``;
    - ``"history"``: each item ``j`` the user has votes for its own K neighbours,
      ``score(u,i) = sum_{j: i in N_K(j)} sim(j,i) r(u,j)`` (each ``j``'s row divided by
      ``sum |sim(j,.)|`` with ``normalize="neighbours"``). This is the convention of
      implicit's ``ItemItemRecommender`` and costs ``K`` per user item, whereas
      ``"candidate"`` costs the in-degree of the user's items, large for "hub" items.
    """

    model_name = "item-knn"
    scores_from_history = True

    def __init__(
        self,
        k: int = 50,
        similarity: Similarity = "cosine",
        shrink: float = 0.0,
        alpha: float = 0.5,
        weighting: Weighting = None,
        normalize: Normalize = "neighbours",
        neighbourhood: Literal["candidate", "history"] = "candidate",
        num_threads: int = 0,
    ) -> None:
        super().__init__(k, similarity, shrink, alpha, weighting, normalize, num_threads)
        self.neighbourhood = neighbourhood

    _neighbour_axis = 1

    def _fit(self, user_items: sp.csr_matrix, **_: Any) -> None:
        self._check_params()
        self.train_ = self._kept_train(user_items)
        self.neighbours_ = self._neighbours_of(user_items.T.tocsr(), user_items)
        self._prepare()

    def _kept_train(self, user_items: sp.csr_matrix) -> sp.csr_matrix:
        return sp.csr_matrix((0, user_items.shape[1]), dtype=np.float32)  # scoring needs none

    def _check_params(self) -> None:
        super()._check_params()
        if self.neighbourhood not in ("candidate", "history"):
            raise ParameterError("neighbourhood must be 'candidate' or 'history'")

    def _prepare(self) -> None:
        mode = _normalize_mode(self.normalize)
        weights = _row_normalized(self.neighbours_) if mode == "neighbours" else self.neighbours_
        # scores = R @ item_to_item; "candidate": item_to_item[j, i] = W[i, j] (W transposed),
        # "history": item_to_item[j, i] = W[j, i]
        self._item_to_item = weights.T.tocsr() if self.neighbourhood == "candidate" else weights
        self._abs_item_to_item = abs(self._item_to_item).tocsr()

    def _score_block(self, user_rows: np.ndarray, user_items: sp.csr_matrix) -> ScoreBlock:
        scores = user_items @ self._item_to_item
        if _normalize_mode(self.normalize) == "rated":
            scores = _ratio(scores, _binary(user_items) @ self._abs_item_to_item)
        return sp.csr_matrix(scores)

    def _sparse_product(
        self, user_rows: np.ndarray, user_items: sp.csr_matrix
    ) -> tuple[sp.csr_matrix, sp.csr_matrix, int]:
        rated = 1 if _normalize_mode(self.normalize) == "rated" else 0
        return user_items, self._item_to_item, rated

    def score_items(self, user_items: sp.csr_matrix) -> sp.csr_matrix:
        """Candidate scores for arbitrary rows of item strengths (for sessions, cold start)."""
        self._check_fitted()
        rows = np.arange(user_items.shape[0])
        return sp.csr_matrix(self._score_block(rows, sp.csr_matrix(user_items, dtype=np.float32)))

    def _similar_items_block(self, item_rows: np.ndarray) -> ScoreBlock:
        return self.neighbours_[item_rows]

    def contributions(
        self, user_items_row: sp.csr_matrix, item_row: int
    ) -> list[tuple[int, float]]:
        """The user's items ``j`` that scored item ``i``, with ``sim * r(u,j)``, largest first.

        These are the numerator's terms: ``j in N_K(i)`` ("candidate") or ``i in N_K(j)``
        ("history").
        """
        self._check_fitted()
        user = sp.csr_matrix(user_items_row)
        if self.neighbourhood == "candidate":
            row = self.neighbours_[item_row]
            have = np.asarray(user[0, row.indices].todense()).ravel()
            terms = zip(row.indices, row.data * have, strict=True)
        else:
            sims = np.asarray(self.neighbours_[user.indices, item_row].todense()).ravel()
            terms = zip(user.indices, sims * user.data, strict=True)
        parts = [(int(j), float(w)) for j, w in terms if w]
        return sorted(parts, key=lambda p: (-p[1], p[0]))
