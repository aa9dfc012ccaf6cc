"""EASE's dense closed form, its weights and its cost, shared by :class:`~shopguide.recommend.
ease.EASE` (every item) and :class:`~shopguide.recommend.ease_large.EASELarge` (the head items).

Kept apart from both so that neither model module imports the other back. The λ search of
automatic tuning shares one Gram matrix between several λ (:mod:`shopguide.recommend.ease_path`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack
from threadpoolctl import threadpool_limits

from shopguide.errors import ParameterError
from shopguide.recommend.cost import TIME_CONSTANTS, Cost, pair_count

__all__ = [
    "dense_ease_cost",
    "dense_ease_weights",
    "dense_gram",
    "weights_from_eigen",
    "weights_from_gram",
]

#: Columns mirrored at once when the upper triangle of the inverse is copied to the lower.
_MIRROR_BLOCK = 512


def dense_gram(user_items: sp.csr_matrix) -> np.ndarray:
    """The item x item Gram matrix ``XᵀX`` as a dense float64 array."""
    return np.asarray((user_items.T @ user_items).astype(np.float64).toarray())


def weights_from_gram(gram: np.ndarray, regularization: float, *, overwrite: bool) -> np.ndarray:
    """EASE's weights ``B = I - P / diag(P)`` with ``P = (G + λI)⁻¹``, as float32.

    ``G + λI`` is symmetric positive definite for λ > 0, so ``P`` comes from a Cholesky
    factorisation and its inverse (LAPACK ``potrf`` + ``potri``): about a third of the floating
    point work of a general inverse and no second n x n matrix. It runs on one BLAS thread:
    measured on the shared 2-core machine, scipy's threaded ``potri`` was 2-10x slower than
    one thread whenever other work shared the cores (3,000 items: 1.3-1.6 s on one thread,
    3.8-20 s on two, numpy's general inverse 3.1-4.4 s). With ``overwrite`` the Gram
    array is used as the work space (its contents are lost); peak: the float64 Gram and the
    float32 result, ``12 n²`` bytes.
    """
    n_items = gram.shape[0]
    work = gram if overwrite else gram.copy()
    work[np.diag_indices(n_items)] += regularization
    # LAPACK works in place only on Fortran order; the transpose of the symmetric C array is it
    work = work.T if not work.flags.f_contiguous else work
    with threadpool_limits(limits=1, user_api="blas"):
        factor, info = lapack.dpotrf(work, lower=0, overwrite_a=1, clean=0)
        if info == 0:
            factor, info = lapack.dpotri(factor, lower=0, overwrite_c=1)
    if info != 0:
        raise ParameterError(
            f"EASE's Gram matrix plus λ={regularization} is not positive definite "
            f"(LAPACK info {info})",
            hint="use a larger regularization",
        )
    return _scaled(factor, upper_only=True)  # factor now holds the inverse's upper triangle


def _scaled(precision: np.ndarray, *, upper_only: bool) -> np.ndarray:
    """``I - P / diag(P)`` (column-wise) as float32 from the float64 inverse ``P``; with
    ``upper_only`` the lower triangle is first filled in from the upper one, in place."""
    n_items = precision.shape[0]
    if upper_only:
        for lo in range(0, n_items, _MIRROR_BLOCK):
            hi = min(n_items, lo + _MIRROR_BLOCK)
            block = precision[lo:hi, lo:hi]
            below = np.tril_indices(hi - lo, -1)
            block[below] = block.T[below]
            precision[hi:, lo:hi] = precision[lo:hi, hi:].T
    diagonal = np.diag(precision).copy()
    out = np.empty((n_items, n_items), dtype=np.float32)
    np.divide(precision, -diagonal, out=out, casting="same_kind")
    out[np.diag_indices(n_items)] = 0.0
    return out


def weights_from_eigen(
    values: np.ndarray, vectors: np.ndarray, regularization: float
) -> np.ndarray:
    """EASE's weights from the eigendecomposition ``G = V diag(w) Vᵀ`` of the Gram matrix:
    ``P = V diag(1 / (w + λ)) Vᵀ`` (one matrix product per λ once ``V`` is known)."""
    precision = (vectors / (values + regularization)) @ vectors.T
    return _scaled(precision, upper_only=False)


def dense_ease_weights(user_items: sp.csr_matrix, regularization: float) -> np.ndarray:
    """EASE's closed form on every column of ``user_items``, as float32 weights.

    Through a Cholesky inverse in place (:func:`weights_from_gram`): numpy's general inverse
    held four float64 n x n matrices (``32 n²`` bytes); this holds the Gram and the result.
    """
    return weights_from_gram(dense_gram(user_items), regularization, overwrite=True)


def dense_ease_cost(n_users: int, n_items: int, n_interactions: int) -> Cost:
    """Peak memory and time of the dense closed form on ``n_items`` items."""
    pairs = pair_count(n_users, n_items, n_interactions, axis=1)
    dense = 16 * n_items**2  # float64 Gram (inverted in place), float32 result, temporaries
    sparse_gram = int(min(pairs, n_items**2) * 12)
    seconds = TIME_CONSTANTS["dense_inverse"] * n_items**3 + TIME_CONSTANTS["sparse_gram"] * pairs
    return Cost(dense + sparse_gram, seconds, f"dense {n_items:,} x {n_items:,} inverse")
