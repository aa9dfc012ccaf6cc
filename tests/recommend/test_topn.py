"""Property tests: every top-n routine equals a plain sorted() reference."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from shopguide.recommend import _kernels
from shopguide.recommend._topn import topn_dense, topn_sparse

# small integer-valued scores make ties common, which is what the tie rule is about
SCORES = arrays(
    np.float32,
    st.tuples(st.integers(1, 6), st.integers(1, 12)),
    elements=st.sampled_from([0.0, 1.0, 2.0, 3.0, 0.5]),
)


def _reference(row: np.ndarray, n: int) -> list[int]:
    """Best score first, lower column first on ties; cells scored 0 are 'not stored'."""
    order = sorted((-v, c) for c, v in enumerate(row) if v != 0)[:n]
    return [c for _, c in order] + [-1] * (n - len(order))


@settings(max_examples=150, deadline=None)
@given(SCORES, st.integers(0, 14))
def test_topn_dense_and_sparse_match_reference(scores: np.ndarray, n: int) -> None:
    expected = [_reference(row, n) for row in scores]
    dense = np.where(scores == 0, -np.inf, scores).astype(np.float32)
    assert topn_dense(dense, n)[0].tolist() == expected
    assert topn_sparse(sp.csr_matrix(scores), n)[0].tolist() == expected
    if n > 0:
        ids, vals = _kernels.filtered_top_n(sp.csr_matrix(scores), None, None, n)
        assert ids.tolist() == expected
        assert np.array_equal(ids == -1, np.isneginf(vals))


@settings(max_examples=80, deadline=None)
@given(SCORES, st.integers(1, 8), st.data())
def test_compiled_filter_skips_seen_and_excluded(scores: np.ndarray, n: int, data) -> None:
    rows, cols = scores.shape
    seen_mask = data.draw(arrays(np.bool_, (rows, cols)))
    excluded = data.draw(arrays(np.bool_, (cols,)))
    kept = np.where(seen_mask | excluded[None, :], 0, scores)
    expected = [_reference(row, n) for row in kept]
    seen = sp.csr_matrix(seen_mask.astype(np.float32))
    ids, _ = _kernels.filtered_top_n(sp.csr_matrix(scores), seen, excluded, n)
    assert ids.tolist() == expected
