"""RP3beta (Paudel, Christoffel, Newell, Bernstein 2017, "Updatable, accurate, diverse, and
scalable recommendations for interactive applications", ACM TiiS 7(1)).

A random walk of three steps on the user-item graph, user -> item -> user -> item, read as an
item x item similarity. With ``X`` the user x item matrix given to ``fit``:

- ``P_ui = X`` with each user's row divided by its sum (the step user -> item, weighted by the
  strengths);
- ``P_iu`` = the 0/1 pattern of ``Xᵀ`` with each item's row divided by its number of users
  (the step item -> user);
- both raised elementwise to the power ``alpha`` (``alpha = 1``: plain transition
  probabilities, P3alpha's walk);
- ``W[i, j] = (P_iu P_ui)[i, j] / pop(j)^beta`` with ``pop(j)`` the number of users of ``j``:
  ``beta > 0`` penalises popular destinations (``beta = 0`` is P3alpha);
- ``W[i, i] = 0``, and each row keeps its ``k`` largest entries (ties to the lower column);
  ``normalize=True`` then divides each row by its sum.

``score(u, j) = sum_i X[u, i] W[i, j]``: the walk started from the user's own items, so a user's
scores follow from their history alone (any basket can be scored). Like item-KNN the model keeps
only the sparse ``W`` (``k`` cells per item); the row-wise top-``k`` runs in the compiled
product-and-select kernel when numba is installed (the product is never formed), else in blocks
of sparse products.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from shopguide.errors import ParameterError
from shopguide.recommend import _kernels
from shopguide.recommend._topn import topn_sparse
from shopguide.recommend.base import Recommender, ScoreBlock
from shopguide.recommend.cost import TIME_CONSTANTS, Cost, pair_count
from shopguide.recommend.knn import rows_to_csr

__all__ = ["RP3beta", "rp3beta_similarity"]

#: Items per block of the sparse (numba-free) similarity computation.
_BLOCK_ITEMS = 1024


def _row_normalized(matrix: sp.csr_matrix) -> sp.csr_matrix:
    totals = np.asarray(matrix.sum(axis=1), dtype=np.float64).ravel()
    scale = np.divide(1.0, totals, out=np.zeros_like(totals), where=totals > 0)
    out = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    out.data *= np.repeat(scale, np.diff(out.indptr)).astype(np.float32)
    return out


def rp3beta_similarity(
    user_items: sp.csr_matrix,
    k: int,
    *,
    alpha: float = 1.0,
    beta: float = 0.5,
    normalize: bool = False,
    num_threads: int = 0,
) -> sp.csr_matrix:
    """The item x item RP3beta similarity of ``user_items`` (module docstring), ``k`` cells
    per row at most, as float32 CSR."""
    x = sp.csr_matrix(user_items, dtype=np.float32)
    n_items = x.shape[1]
    p_ui = _row_normalized(x)
    pattern = x.T.tocsr()
    pattern.data = np.ones_like(pattern.data)
    p_iu = _row_normalized(pattern)
    if alpha != 1.0:
        p_ui.data = np.power(p_ui.data, alpha, dtype=np.float32)
        p_iu.data = np.power(p_iu.data, alpha, dtype=np.float32)
    popularity = np.diff(pattern.indptr).astype(np.float64)
    penalty = np.divide(
        1.0, popularity**beta, out=np.zeros_like(popularity), where=popularity > 0
    ).astype(np.float32)
    # W = P_iu (P_ui diag(penalty)): the penalty of the destination item folded into the right
    right = sp.csr_matrix(p_ui, copy=True)
    right.data *= penalty[right.indices]
    diagonal = sp.identity(n_items, dtype=np.float32, format="csr")
    if _kernels.active():
        with _kernels.threads_limited(num_threads):
            ids, vals = _kernels.product_top_n(p_iu, right, 0, diagonal, None, k)
    else:
        parts = []
        for lo in range(0, n_items, _BLOCK_ITEMS):
            hi = min(n_items, lo + _BLOCK_ITEMS)
            block = sp.csr_matrix(p_iu[lo:hi] @ right, dtype=np.float32)
            block.setdiag(0.0, k=lo)  # an item is not its own neighbour
            block.eliminate_zeros()
            parts.append(topn_sparse(block, k))
        if not parts:
            return sp.csr_matrix((n_items, n_items), dtype=np.float32)
        ids, vals = np.vstack([p[0] for p in parts]), np.vstack([p[1] for p in parts])
    similarity = rows_to_csr(ids, vals, n_items)
    similarity = sp.csr_matrix(similarity, dtype=np.float32)
    return _row_normalized(similarity) if normalize else similarity


class RP3beta(Recommender):
    """Item-item random walk with a popularity penalty (see the module docstring).

    Parameters
    ----------
    k:
        Cells kept per item row of the similarity.
    alpha:
        Exponent applied to the transition probabilities.
    beta:
        Popularity penalty: destination item ``j`` is divided by ``users(j)^beta``.
    normalize:
        Divide each similarity row by its sum after the top-``k`` cut.
    num_threads:
        Threads of the compiled loops (0 = all cores).
    """

    model_name = "rp3beta"
    scores_from_history = True

    def __init__(
        self,
        k: int = 100,
        alpha: float = 1.0,
        beta: float = 0.5,
        normalize: bool = False,
        num_threads: int = 0,
    ) -> None:
        self.k = k
        self.alpha = alpha
        self.beta = beta
        self.normalize = normalize
        self.num_threads = num_threads

    def estimate_cost(self, n_users: int, n_items: int, n_interactions: int) -> Cost:
        """``k`` cells per item (kept, and the padded top-``k`` arrays), the two transition
        matrices and the training matrix, per-thread accumulators; time from the item pairs
        that share a user, as item-KNN."""
        pairs = pair_count(n_users, n_items, n_interactions, axis=1)
        similarity = 2 * 8 * self.k * n_items
        walks = 4 * 12 * n_interactions
        workspace = 64 * 8 * n_items
        return Cost(
            similarity + walks + workspace,
            TIME_CONSTANTS["knn_pair"] * pairs,
            f"{self.k} walk neighbours x {n_items:,} items",
        )

    def _fit(self, user_items: sp.csr_matrix, **_: Any) -> None:
        if self.k < 1:
            raise ParameterError("k must be >= 1", hint="e.g. k=100")
        if self.alpha <= 0:
            raise ParameterError("alpha must be positive", hint="e.g. alpha=1.0")
        if self.beta < 0:
            raise ParameterError("beta must be >= 0", hint="e.g. beta=0.5")
        self.similarity_ = rp3beta_similarity(
            user_items, self.k, alpha=self.alpha, beta=self.beta,
            normalize=bool(self.normalize), num_threads=self.num_threads,
        )  # fmt: skip

    def _score_block(self, user_rows: np.ndarray, user_items: sp.csr_matrix) -> ScoreBlock:
        return sp.csr_matrix(user_items @ self.similarity_, dtype=np.float32)

    def _sparse_product(
        self, user_rows: np.ndarray, user_items: sp.csr_matrix
    ) -> tuple[sp.csr_matrix, sp.csr_matrix, int]:
        return user_items, self.similarity_, 0

    def _similar_items_block(self, item_rows: np.ndarray) -> ScoreBlock:
        return self.similarity_[item_rows]

    def _get_arrays(self) -> dict[str, Any]:
        return {"similarity": self.similarity_}

    def _set_arrays(self, arrays: dict[str, Any]) -> None:
        self.similarity_ = sp.csr_matrix(arrays["similarity"], dtype=np.float32)
