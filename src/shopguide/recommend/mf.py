"""Matrix factorisation through the ``implicit`` library (ALS and BPR); not reimplemented.

``implicit`` learns the factors; this module only adapts it to the :class:`Recommender`
contract and keeps the factors as plain arrays, so saved models need no pickle and
scoring (``user_factors[u] · item_factors``) is reproduced exactly after loading.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from shopguide.compat import require
from shopguide.recommend.base import Recommender, ScoreBlock
from shopguide.recommend.cost import TIME_CONSTANTS, Cost

__all__ = ["ALS", "BPR"]


class _FactorModel(Recommender):
    """Scores are dot products of learned user and item factors."""

    user_factors_: np.ndarray
    item_factors_: np.ndarray

    def _implicit_class(self) -> Any:
        raise NotImplementedError

    def _implicit_params(self) -> dict[str, Any]:
        return self.get_params()

    def _fit(self, user_items: sp.csr_matrix, **_: Any) -> None:
        model_class = self._implicit_class()  # import first: limits apply to loaded libraries
        # implicit warns (and may be slower) when BLAS runs its own threads next to it
        with threadpool_limits(limits=1, user_api="blas"):
            model = model_class(**self._implicit_params())
            model.fit(user_items, show_progress=False)
        self.user_factors_ = np.ascontiguousarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(model.item_factors, dtype=np.float32)

    def estimate_cost(self, n_users: int, n_items: int, n_interactions: int) -> Cost:
        """Factors x (users + items) in float32 (implicit's copy and ours) plus the matrix and
        its transpose; time per iteration from :meth:`_work_per_iteration`."""
        factors = int(getattr(self, "factors", 64)) + 1
        memory = 2 * 4 * factors * (n_users + n_items) + 2 * 12 * n_interactions
        seconds = self._work_per_iteration(n_users, n_items, n_interactions) * int(
            getattr(self, "iterations", 15)
        )
        return Cost(memory, seconds, f"{factors - 1} factors x {n_users + n_items:,} rows")

    def _work_per_iteration(self, n_users: int, n_items: int, n_interactions: int) -> float:
        raise NotImplementedError

    def _score_block(self, user_rows: np.ndarray, user_items: sp.csr_matrix) -> ScoreBlock:
        # float64 products rounded to float32: BLAS sums in a block-size dependent order,
        # and this keeps a user's scores identical whatever batch they are computed in
        users = self.user_factors_[user_rows].astype(np.float64)
        return (users @ self.item_factors_.T.astype(np.float64)).astype(np.float32)

    def _similar_items_block(self, item_rows: np.ndarray) -> ScoreBlock:
        return _cosine(self.item_factors_[item_rows], self.item_factors_)

    def _similar_users_block(self, user_rows: np.ndarray) -> ScoreBlock:
        return _cosine(self.user_factors_[user_rows], self.user_factors_)

    def _get_arrays(self) -> dict[str, Any]:
        return {"user_factors": self.user_factors_, "item_factors": self.item_factors_}

    def _set_arrays(self, arrays: dict[str, Any]) -> None:
        self.user_factors_ = arrays["user_factors"]
        self.item_factors_ = arrays["item_factors"]


def _cosine(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    def unit(m: np.ndarray) -> np.ndarray:
        norms = np.linalg.norm(m, axis=1, keepdims=True)
        return m / np.where(norms > 0, norms, 1.0)

    return (unit(left) @ unit(right).T).astype(np.float32)


class ALS(_FactorModel):
    """Implicit-feedback ALS (Hu, Koren & Volinsky 2008) via ``implicit.cpu.als``."""

    model_name = "als"

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 0.01,
        alpha: float = 1.0,
        iterations: int = 15,
        random_state: int = 42,
        num_threads: int = 0,
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.random_state = random_state
        self.num_threads = num_threads

    def _work_per_iteration(self, n_users: int, n_items: int, n_interactions: int) -> float:
        f = self.factors
        return TIME_CONSTANTS["als_unit"] * (n_interactions * f * f + (n_users + n_items) * f**3)

    def _implicit_class(self) -> Any:
        als = require("implicit.cpu.als", extra="recommend", feature="ALS")
        return als.AlternatingLeastSquares


class BPR(_FactorModel):
    """Bayesian Personalised Ranking (Rendle et al. 2009) via ``implicit.cpu.bpr``.

    With more than one thread BPR's updates race (hogwild), so two fits may differ slightly;
    ``num_threads=1`` makes training reproducible.
    """

    model_name = "bpr"

    def __init__(
        self,
        factors: int = 64,
        learning_rate: float = 0.01,
        regularization: float = 0.01,
        iterations: int = 100,
        random_state: int = 42,
        num_threads: int = 1,
    ) -> None:
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.random_state = random_state
        self.num_threads = num_threads

    def _work_per_iteration(self, n_users: int, n_items: int, n_interactions: int) -> float:
        return TIME_CONSTANTS["bpr_unit"] * n_interactions * self.factors

    def _implicit_class(self) -> Any:
        bpr = require("implicit.cpu.bpr", extra="recommend", feature="BPR")
        return bpr.BayesianPersonalizedRanking
