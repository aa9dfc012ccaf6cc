"""Compiled loops (numba) for the two hot spots of the neighbourhood models.

- :func:`knn_top_k`: for every row ``a`` of a sparse matrix, accumulate the dot products with
  all other rows through the transposed matrix (one dense accumulator per thread, only the
  touched cells are visited), turn them into similarities and keep the best ``k`` with an
  insertion buffer — no product matrix is ever materialised.
- :func:`filtered_top_n`: top ``n`` stored entries per row of a CSR score block, skipping
  the row's seen items and globally excluded items.
- :func:`product_top_n` / :func:`row_product_top_n`: top ``n`` of ``left @ right`` without
  materialising the product, for a batch of rows in parallel / for one row on the caller's
  thread (the REST service's per-request path).

Both break ties by the lower column index, like the numpy paths in ``_topn``, and run rows in
parallel (``numba.prange``). numba is a required dependency; :data:`ENABLED` switches the
compiled loops off so the tests can compare them with the numpy paths on the same data.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from numba import njit, prange

__all__ = [
    "ENABLED",
    "MODES",
    "active",
    "filtered_top_n",
    "knn_top_k",
    "product_top_n",
    "row_product_top_n",
]

#: Switch the compiled paths off (tests compare both paths on the same data).
ENABLED = True


def active() -> bool:
    """Whether the compiled loops are enabled (they always are outside the tests)."""
    return ENABLED


#: similarity name -> kernel mode
MODES = {"cosine-prenormalized": 0, "cosine": 1, "asymmetric": 2, "jaccard": 3}


@njit(inline="always")
def _insert(ids: Any, vals: Any, filled: int, k: int, col: int, val: float) -> int:
    """Insert (col, val) into a row buffer sorted by val desc, col asc; returns filled."""
    if filled < k:
        pos = filled
        filled += 1
    else:
        last = vals[k - 1]
        if val < last or (val == last and col > ids[k - 1]):
            return filled
        pos = k - 1
    while pos > 0 and (val > vals[pos - 1] or (val == vals[pos - 1] and col < ids[pos - 1])):
        vals[pos] = vals[pos - 1]
        ids[pos] = ids[pos - 1]
        pos -= 1
    vals[pos] = val
    ids[pos] = col
    return filled


@njit(parallel=True, cache=True)
def _knn_top_k(
    indptr: Any,
    indices: Any,
    data: Any,
    t_indptr: Any,
    t_indices: Any,
    t_data: Any,
    sq_norm: Any,
    mode: int,
    shrink: float,
    alpha: float,
    k: int,
    n_chunks: int,
    offset: int,
) -> tuple[Any, Any]:
    # rows are rows offset.. of the compared matrix (all of it when offset=0 and they match)
    n_rows = len(indptr) - 1
    n_all = len(sq_norm)
    out_ids = np.full((n_rows, k), -1, np.int32)
    out_vals = np.full((n_rows, k), -np.inf, np.float32)
    for c in prange(n_chunks):
        acc = np.zeros(n_all, np.float64)
        flag = np.zeros(n_all, np.bool_)
        touched = np.empty(n_all, np.int64)
        for a in range(c, n_rows, n_chunks):  # interleaved: heavy rows spread out
            self_row = a + offset
            m = 0
            for p in range(indptr[a], indptr[a + 1]):
                f = indices[p]
                w = data[p]
                for q in range(t_indptr[f], t_indptr[f + 1]):
                    b = t_indices[q]
                    if not flag[b]:
                        flag[b] = True
                        touched[m] = b
                        m += 1
                    acc[b] += w * t_data[q]
            filled = 0
            ids = out_ids[a]
            vals = out_vals[a]
            for t in range(m):
                b = touched[t]
                dot = acc[b]
                acc[b] = 0.0
                flag[b] = False
                if b == self_row:
                    continue
                if mode == 0:
                    sim = dot
                elif mode == 1:
                    den = np.sqrt(sq_norm[self_row] * sq_norm[b]) + shrink
                    sim = dot / den if den > 0 else 0.0
                elif mode == 2:
                    den = sq_norm[self_row] ** alpha * sq_norm[b] ** (1.0 - alpha) + shrink
                    sim = dot / den if den > 0 else 0.0
                else:
                    den = sq_norm[self_row] + sq_norm[b] - dot + shrink
                    sim = dot / den if den > 0 else 0.0
                if sim > 0:
                    filled = _insert(ids, vals, filled, k, b, np.float32(sim))  # type: ignore[arg-type]
    return out_ids, out_vals


@njit(parallel=True, cache=True)
def _filtered_top_n(
    indptr: Any,
    indices: Any,
    data: Any,
    seen_indptr: Any,
    seen_indices: Any,
    excluded: Any,
    n_cols: int,
    n: int,
    n_chunks: int,
) -> tuple[Any, Any]:
    n_rows = len(indptr) - 1
    out_ids = np.full((n_rows, n), -1, np.int32)
    out_vals = np.full((n_rows, n), -np.inf, np.float32)
    use_seen = len(seen_indptr) == n_rows + 1
    use_excluded = len(excluded) == n_cols
    for c in prange(n_chunks):
        flag = np.zeros(n_cols, np.bool_)
        for r in range(c, n_rows, n_chunks):  # interleaved: heavy rows spread out
            if use_seen:
                for p in range(seen_indptr[r], seen_indptr[r + 1]):
                    flag[seen_indices[p]] = True
            filled = 0
            ids = out_ids[r]
            vals = out_vals[r]
            for p in range(indptr[r], indptr[r + 1]):
                col = indices[p]
                if flag[col] or (use_excluded and excluded[col]):
                    continue
                filled = _insert(ids, vals, filled, n, col, np.float32(data[p]))  # type: ignore[arg-type]
            if use_seen:
                for p in range(seen_indptr[r], seen_indptr[r + 1]):
                    flag[seen_indices[p]] = False
    return out_ids, out_vals


@njit(parallel=True, cache=True)
def _product_top_n(
    l_indptr: Any,
    l_indices: Any,
    l_data: Any,
    r_indptr: Any,
    r_indices: Any,
    r_data: Any,
    rated: int,
    seen_indptr: Any,
    seen_indices: Any,
    excluded: Any,
    n_cols: int,
    n: int,
    n_chunks: int,
) -> tuple[Any, Any]:
    n_rows = len(l_indptr) - 1
    out_ids = np.full((n_rows, n), -1, np.int32)
    out_vals = np.full((n_rows, n), -np.inf, np.float32)
    use_seen = len(seen_indptr) == n_rows + 1
    use_excluded = len(excluded) == n_cols
    for c in prange(n_chunks):
        acc = np.zeros(n_cols, np.float64)
        den = np.zeros(n_cols, np.float64)
        flag = np.zeros(n_cols, np.bool_)
        skip = np.zeros(n_cols, np.bool_)
        touched = np.empty(n_cols, np.int64)
        for r in range(c, n_rows, n_chunks):  # interleaved: heavy rows spread out
            if use_seen:
                for p in range(seen_indptr[r], seen_indptr[r + 1]):
                    skip[seen_indices[p]] = True
            m = 0
            for p in range(l_indptr[r], l_indptr[r + 1]):
                j = l_indices[p]
                w = l_data[p]
                for q in range(r_indptr[j], r_indptr[j + 1]):
                    i = r_indices[q]
                    v = r_data[q]
                    if not flag[i]:
                        flag[i] = True
                        touched[m] = i
                        m += 1
                    acc[i] += w * v
                    if rated == 1:  # left is an indicator: sum |right|
                        den[i] += abs(v) if w != 0 else 0.0
                    elif rated == 2:  # right is an indicator: sum |left|
                        den[i] += abs(w) if v != 0 else 0.0
            filled = 0
            ids = out_ids[r]
            vals = out_vals[r]
            for t in range(m):
                i = touched[t]
                score = acc[i]
                if rated != 0:
                    score = score / den[i] if den[i] != 0 else 0.0
                    den[i] = 0.0
                acc[i] = 0.0
                flag[i] = False
                if score == 0 or skip[i] or (use_excluded and excluded[i]):
                    continue
                filled = _insert(ids, vals, filled, n, i, np.float32(score))  # type: ignore[arg-type]
            if use_seen:
                for p in range(seen_indptr[r], seen_indptr[r + 1]):
                    skip[seen_indices[p]] = False
    return out_ids, out_vals


@njit(cache=True, nogil=True)
def row_product_top_n(
    l_indices: Any,
    l_data: Any,
    r_indptr: Any,
    r_indices: Any,
    r_data: Any,
    rated: int,
    seen: Any,
    excluded: Any,
    n_cols: int,
    n: int,
) -> tuple[Any, Any]:  # pragma: no cover - compiled; checked against Recommender.recommend
    """Top ``n`` of one row of ``left @ right`` on the calling thread (the service's path).

    The same arithmetic (float64 sums of float32 products, in the same order), skip rules and
    tie-break (score desc, column asc) as :func:`product_top_n`, for one user given as the
    row's ``l_indices``/``l_data``: a dense accumulator over the catalogue (a scatter-add per
    product term, then one scan), no thread team, no scipy objects, the GIL released. A
    score of exactly 0 is no candidate there too, so untouched and ``seen`` items are simply
    zeroed; ``excluded`` is a mask over the columns or empty.
    """
    out_ids = np.full(n, -1, np.int32)
    out_vals = np.full(n, -np.inf, np.float32)
    acc = np.zeros(n_cols, np.float64)
    den = np.zeros(n_cols if rated != 0 else 0, np.float64)
    for p in range(len(l_indices)):
        j = l_indices[p]
        w = l_data[p]
        if rated == 0:
            for q in range(r_indptr[j], r_indptr[j + 1]):
                acc[r_indices[q]] += w * r_data[q]
        else:
            for q in range(r_indptr[j], r_indptr[j + 1]):
                i = r_indices[q]
                v = r_data[q]
                acc[i] += w * v
                if rated == 1:  # left is an indicator: sum |right|
                    den[i] += abs(v) if w != 0 else 0.0
                else:  # right is an indicator: sum |left|
                    den[i] += abs(w) if v != 0 else 0.0
    for p in range(len(seen)):
        acc[seen[p]] = 0.0
    use_excluded = len(excluded) == n_cols
    filled = 0
    for i in range(n_cols):
        score = acc[i]
        if score == 0 or (use_excluded and excluded[i]):
            continue
        if rated != 0:
            score = score / den[i] if den[i] != 0 else 0.0
            if score == 0:
                continue
        filled = _insert(out_ids, out_vals, filled, n, i, np.float32(score))  # type: ignore[arg-type]
    return out_ids, out_vals


def product_top_n(
    left: Any,
    right: Any,
    rated: int,
    seen: Any | None,
    excluded: np.ndarray | None,
    n: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Top ``n`` per row of ``left @ right`` (optionally divided by the "rated" denominator),
    skipping ``seen`` cells and ``excluded`` columns, without forming the product."""
    empty_i = np.zeros(0, dtype=left.indptr.dtype)
    ids, vals = _product_top_n(
        left.indptr,
        left.indices,
        left.data,
        right.indptr,
        right.indices,
        right.data,
        int(rated),
        empty_i if seen is None else seen.indptr,
        empty_i if seen is None else seen.indices,
        np.zeros(0, dtype=np.bool_) if excluded is None else excluded.astype(np.bool_),
        int(right.shape[1]),
        int(n),
        _chunks(left.shape[0]),
    )
    return ids, vals


class threads_limited:
    """Run compiled loops on at most ``n`` threads (``n <= 0``: all of numba's threads)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.before = 0

    def __enter__(self) -> None:
        self.before = numba.get_num_threads()
        if self.n > 0:
            numba.set_num_threads(min(self.n, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]

    def __exit__(self, *exc: object) -> None:
        numba.set_num_threads(self.before)


def _chunks(n_rows: int) -> int:
    """One work item per thread (each allocates its accumulators once); rows are dealt
    out round-robin, so rows of very different cost are spread evenly."""
    return max(1, min(n_rows, numba.get_num_threads()))


def knn_top_k(
    rows: Any,
    rows_t: Any,
    sq_norm: np.ndarray,
    mode: int,
    shrink: float,
    alpha: float,
    k: int,
    offset: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` similar other rows of every row of CSR ``rows`` (``rows_t`` its transpose).

    ``rows`` may be a slice ``whole[offset:offset + m]`` of the compared matrix: ``rows_t``
    and ``sq_norm`` are then the whole matrix's, and row ``a`` of the block is row
    ``offset + a`` of the whole (for its norm and to skip itself). The rows are independent,
    so a block's output equals the same rows of the whole's.
    """
    ids, vals = _knn_top_k(
        rows.indptr,
        rows.indices,
        rows.data,
        rows_t.indptr,
        rows_t.indices,
        rows_t.data,
        sq_norm.astype(np.float64),
        mode,
        float(shrink),
        float(alpha),
        int(k),
        _chunks(rows.shape[0]),
        int(offset),
    )
    return ids, vals


def filtered_top_n(
    block: Any, seen: Any | None, excluded: np.ndarray | None, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Top ``n`` entries per row of CSR ``block``, skipping ``seen`` cells and excluded items."""
    empty_i = np.zeros(0, dtype=block.indices.dtype)
    ids, vals = _filtered_top_n(
        block.indptr,
        block.indices,
        block.data,
        empty_i if seen is None else seen.indptr.astype(block.indptr.dtype, copy=False),
        empty_i if seen is None else seen.indices.astype(block.indices.dtype, copy=False),
        np.zeros(0, dtype=np.bool_) if excluded is None else excluded.astype(np.bool_),
        int(block.shape[1]),
        int(n),
        _chunks(block.shape[0]),
    )
    return ids, vals
