"""EASE fitted for several λ at once, for the λ search of automatic tuning.

Every λ of a search solves ``(G + λI)⁻¹`` for the same Gram matrix ``G = XᵀX``. Two ways to
share work between them:

``"cholesky"`` (the default)
    ``G`` is built once (the sparse product and its dense copy) and every λ runs its own
    Cholesky inverse on a copy of it (:func:`~shopguide.recommend.ease_closed_form.
    weights_from_gram`). Saves the Gram per λ; each λ still costs one ``n³/3`` factorisation.
``"eigen"``
    ``G = V diag(w) Vᵀ`` once; then ``(G + λI)⁻¹ = V diag(1/(w + λ)) Vᵀ`` is one matrix
    product per λ. On paper the λ search then costs about one fit; measured on the project's
    2-core machine the symmetric eigendecomposition itself takes 5-15 times a Cholesky
    inverse (docs/benchmarks.md), so it only pays past a dozen λ values. Kept for such grids
    and as the check that both give the same weights.

:func:`ease_path` yields fitted models (``ease`` or ``ease-large``) one λ at a time, so only
one set of weights beyond the Gram matrix is held at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from shopguide.recommend.base import Recommender, as_user_items
from shopguide.recommend.ease import EASE
from shopguide.recommend.ease_closed_form import dense_gram, weights_from_eigen, weights_from_gram
from shopguide.recommend.ease_large import EASELarge

__all__ = ["PATH_MODELS", "ease_path", "ease_weights_path"]

#: The models whose λ search can share the Gram matrix.
PATH_MODELS = ("ease", "ease-large")

Method = Literal["cholesky", "eigen"]


def ease_weights_path(
    user_items: sp.csr_matrix, lambdas: Sequence[float], *, method: Method = "cholesky"
) -> Iterator[tuple[float, np.ndarray]]:
    """``(λ, weights)`` for every λ of ``lambdas`` in order, equal to separate fits."""
    if method not in ("cholesky", "eigen"):
        raise ValueError(f"method must be 'cholesky' or 'eigen', got {method!r}")
    gram = dense_gram(user_items)
    if method == "eigen":
        values, vectors = np.linalg.eigh(gram)
        del gram
        for lam in lambdas:
            yield float(lam), weights_from_eigen(values, vectors, float(lam))
        return
    for i, lam in enumerate(lambdas):
        yield float(lam), weights_from_gram(gram, float(lam), overwrite=i == len(lambdas) - 1)


def ease_path(
    name: str,
    user_items: sp.spmatrix,
    lambdas: Sequence[float],
    params: Mapping[str, Any] | None = None,
    *,
    method: Method = "cholesky",
) -> Iterator[Recommender]:
    """Fitted ``name`` models (``"ease"`` or ``"ease-large"``), one per λ, with ``params``
    for their other parameters; each equals ``create_model(name, regularization=λ,
    **params).fit(user_items)``."""
    if name not in PATH_MODELS:
        raise ValueError(f"no λ path for {name!r}; it exists for {', '.join(PATH_MODELS)}")
    matrix = as_user_items(user_items)
    other = dict(params or {})
    if name == "ease":
        for lam, weights in ease_weights_path(matrix, lambdas, method=method):
            yield EASE(regularization=lam, **other).fit(matrix, weights=weights)
        return
    template = EASELarge(**other)
    head = template.head_items(matrix)
    for lam, weights in ease_weights_path(matrix[:, head], lambdas, method=method):
        yield EASELarge(**{**other, "regularization": lam}).fit(matrix, head_weights=weights)
