"""Vectorised "top n per row" for dense blocks and CSR blocks.

Ties are broken by the lower column index, so results never depend on block sizes.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["topn_dense", "topn_sparse"]

#: Cells (rows x width) materialised at once when a sparse block is padded to a 2-D array.
CELL_BUDGET = 16_000_000


def _order_selected(cols: np.ndarray, vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort each row of the already selected (cols, vals) by score desc, column asc."""
    order = np.lexsort((cols, -vals), axis=-1)
    return np.take_along_axis(cols, order, axis=1), np.take_along_axis(vals, order, axis=1)


def topn_dense(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Top ``n`` columns of every row of a dense block; ``-inf`` cells are never chosen.

    Returns ``(ids int32 [rows, n], scores float32 [rows, n])`` padded with ``-1`` / ``-inf``.
    """
    rows, width = scores.shape
    take = min(n, width)
    if take == 0:
        cols = np.empty((rows, 0), dtype=np.int64)
    elif take < width:
        # the n-th largest value per row (a value partition is faster than argpartition),
        # then every cell at least as large; if ties straddle the cut, the lower columns win
        cut = width - take
        kth = np.partition(scores, cut, axis=1)[:, cut : cut + 1]
        at_least = scores >= kth
        per_row = np.count_nonzero(at_least, axis=1)
        clean = per_row == take
        if clean.all():
            cols = np.nonzero(at_least)[1].reshape(rows, take)
        else:  # ties straddle the cut (or -inf cells) in some rows: resolve by column index
            cols = np.empty((rows, take), dtype=np.int64)
            cols[clean] = np.nonzero(at_least[clean])[1].reshape(-1, take)
            cols[~clean] = _tie_aware(scores[~clean], kth[~clean], take)
    else:
        cols = np.broadcast_to(np.arange(width), (rows, width)).copy()
    vals = np.take_along_axis(scores, cols, axis=1).astype(np.float32)
    cols, vals = _order_selected(cols, vals)
    return _pad(cols.astype(np.int32), vals, n)


def _tie_aware(scores: np.ndarray, kth: np.ndarray, take: int) -> np.ndarray:
    """Pick the columns strictly above the cut, then fill with the lowest tied columns."""
    above = scores > kth
    tied = scores == kth
    need = take - above.sum(axis=1, keepdims=True)
    tied_rank = np.cumsum(tied, axis=1)
    chosen = above | (tied & (tied_rank <= need))
    r, c = np.nonzero(chosen)
    out = np.empty((scores.shape[0], take), dtype=np.int64)
    pos = np.arange(len(r)) - np.searchsorted(r, r, side="left")
    out[r, pos] = c
    return out


def _pad(ids: np.ndarray, vals: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Pad to width ``n`` and turn ``-inf`` picks into id -1."""
    vals = vals.astype(np.float32, copy=False)
    ids = np.where(np.isneginf(vals), -1, ids).astype(np.int32)
    if ids.shape[1] < n:
        extra = n - ids.shape[1]
        ids = np.hstack([ids, np.full((ids.shape[0], extra), -1, dtype=np.int32)])
        vals = np.hstack([vals, np.full((vals.shape[0], extra), -np.inf, dtype=np.float32)])
    return ids, vals


def topn_sparse(block: sp.csr_matrix, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Top ``n`` stored entries of every row of a CSR block (unstored cells are never chosen).

    Rows are padded into a ``rows x longest-row`` array (in chunks that fit
    :data:`CELL_BUDGET`), so the work is a vectorised partition rather than a Python loop.
    """
    block = block.tocsr()
    if not block.has_sorted_indices:
        block.sort_indices()
    rows = block.shape[0]
    out_ids = np.full((rows, n), -1, dtype=np.int32)
    out_vals = np.full((rows, n), -np.inf, dtype=np.float32)
    if rows == 0 or n == 0 or block.nnz == 0:
        return out_ids, out_vals
    width = int(np.diff(block.indptr).max())
    chunk = max(1, CELL_BUDGET // width)
    for start in range(0, rows, chunk):
        stop = min(rows, start + chunk)
        out_ids[start:stop], out_vals[start:stop] = _topn_padded(block, start, stop, width, n)
    return out_ids, out_vals


def _topn_padded(
    block: sp.csr_matrix, start: int, stop: int, width: int, n: int
) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = block.indptr[start], block.indptr[stop]
    indptr = block.indptr[start : stop + 1] - lo
    counts = np.diff(indptr)
    row_of = np.repeat(np.arange(stop - start), counts)
    pos = np.arange(hi - lo) - indptr[row_of]
    vals = np.full((stop - start, width), -np.inf, dtype=np.float32)
    cols = np.full((stop - start, width), -1, dtype=np.int64)
    vals[row_of, pos] = block.data[lo:hi]
    cols[row_of, pos] = block.indices[lo:hi]
    # positions are in ascending column order inside each row, so a position tie-break
    # in topn_dense equals a column tie-break here
    pos_ids, top_vals = topn_dense(vals, n)
    safe = np.where(pos_ids < 0, 0, pos_ids)
    top_cols = np.where(pos_ids < 0, -1, np.take_along_axis(cols, safe, axis=1))
    return top_cols.astype(np.int32), top_vals
