"""EASE's λ search sharing one Gram matrix gives the weights of separate fits."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import scipy.sparse as sp

from shopguide.errors import ParameterError
from shopguide.recommend import EASE, EASELarge
from shopguide.recommend.ease_closed_form import dense_ease_weights
from shopguide.recommend.ease_path import ease_path, ease_weights_path

LAMBDAS = (5.0, 50.0, 500.0)


def _textbook(x: sp.csr_matrix, lam: float) -> np.ndarray:
    """Steck's closed form with a general float64 inverse, as the reference."""
    gram = (x.T @ x).toarray().astype(np.float64) + lam * np.eye(x.shape[1])
    p = np.linalg.inv(gram)
    b = -p / np.diag(p)
    np.fill_diagonal(b, 0.0)
    return b


@pytest.mark.parametrize("method", ["cholesky", "eigen"])
def test_every_lambda_of_the_path_equals_a_separate_fit(
    method: str, random_matrix: Callable[..., sp.csr_matrix]
) -> None:
    x = random_matrix(300, 120, 8, seed=3)
    path = dict(ease_weights_path(x, LAMBDAS, method=method))  # type: ignore[arg-type]
    assert list(path) == list(LAMBDAS)
    for lam in LAMBDAS:
        separate = EASE(regularization=lam).fit(x).weights_
        np.testing.assert_allclose(path[lam], separate, rtol=0, atol=1e-8)
        # float32 weights: within their rounding of the float64 reference
        np.testing.assert_allclose(path[lam], _textbook(x, lam), rtol=1e-6, atol=1e-8)


def test_the_cholesky_closed_form_is_the_textbook_one(
    random_matrix: Callable[..., sp.csr_matrix],
) -> None:
    x = random_matrix(500, 700, 12, seed=5)  # several mirror blocks of 512 columns
    np.testing.assert_allclose(
        dense_ease_weights(x, 30.0), _textbook(x, 30.0), rtol=1e-6, atol=1e-8
    )


@pytest.mark.parametrize("name", ["ease", "ease-large"])
def test_fitted_models_of_the_path_recommend_as_separately_fitted_ones(
    name: str, random_matrix: Callable[..., sp.csr_matrix]
) -> None:
    x = random_matrix(400, 200, 10, seed=7)
    other = {"dense_items": 80, "k": 20} if name == "ease-large" else {}
    klass = EASE if name == "ease" else EASELarge
    rows = np.arange(x.shape[0])
    for model in ease_path(name, x, LAMBDAS, other):
        alone = klass(regularization=model.regularization, **other).fit(x)  # type: ignore[attr-defined]
        np.testing.assert_allclose(model.weights_, alone.weights_, rtol=0, atol=1e-8)  # type: ignore[attr-defined]
        assert (model.recommend(rows, x, n=10)[0] == alone.recommend(rows, x, n=10)[0]).all()


def test_a_lambda_that_leaves_the_gram_singular_is_a_clear_error() -> None:
    x = sp.csr_matrix(np.ones((3, 4), dtype=np.float32))  # rank 1 Gram
    with pytest.raises(ParameterError, match="positive definite"):
        list(ease_weights_path(x, [-1e-9]))
