"""EASE blended with a next-window item regression (``ease-next``).

EASE learns which items go together; it does not see in which order customers buy them. The
next-window part asks what a shop's test window asks: given what a customer had before a date,
which items new to them do they buy in the following weeks? Inside the training data only it
takes ``windows`` cut dates, the latest ``horizon_days`` before the last first purchase and
each further one 30 days earlier. For every cut, each customer who bought something for the
first time in ``[cut, cut + horizon_days]`` gives one training row: the input ``x`` is the 0/1
history before the cut, the target ``y`` the items first bought in the window. The weights
solve the ridge regression ``min ||Y - X W||² + λ ||W||²`` (``λ`` = ``next_regularization``):
``W = (XᵀX + λI)⁻¹ XᵀY``, a dense item x item solve like EASE's.

A user is scored from their history row ``x_u`` alone, as EASE is:
``(1 - weight) * z(x_u B) + weight * z(x_u W)`` where ``z`` centres one user's scores over the
items they do not have and divides by their spread (the ``blend`` model's ``zscore``).
Explanations and similar items use the EASE part.

Fitting needs each cell's first time (``first_seen``, from
:func:`shopguide.data.first_seen.first_seen_times`), which ``compare``, ``train`` and
automatic tuning pass; a bare matrix has no dates and is refused. On Online Retail the blend
reached 1.22x implicit ALS's test NDCG@10 in ``benchmarks/bench_next_window.py``; the defaults
are that run's validation pick (docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from scipy.linalg import cho_factor, cho_solve
from threadpoolctl import threadpool_limits

from shopguide.errors import ParameterError
from shopguide.recommend.base import ScoreBlock
from shopguide.recommend.cost import Cost
from shopguide.recommend.ease import _DEFAULT_MAX_ITEMS, EASE
from shopguide.recommend.ease_closed_form import dense_ease_cost, dense_ease_weights
from shopguide.recommend.scaling import normalised_scores, seen_mask

__all__ = [
    "STEP_DAYS",
    "EASENext",
    "ease_next_fits",
    "next_window_rows",
    "next_window_weights",
    "shared_search_seconds",
]

#: Days between two consecutive cut dates.
STEP_DAYS = 30
_DAY = 86_400.0


def next_window_rows(
    first_seen: sp.csr_matrix, horizon_days: float, windows: int
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """The stacked ``(history before a cut, items first bought in the window after it)`` rows
    of every window, 0/1; users with nothing before or nothing new in a window give no row."""
    seen = sp.csr_matrix(first_seen, dtype=np.float64)
    shape = seen.shape
    if seen.nnz == 0:
        return sp.csr_matrix(shape), sp.csr_matrix(shape)
    rows = np.repeat(np.arange(shape[0]), np.diff(seen.indptr))
    cols, when = seen.indices, seen.data
    end = float(when.max())
    inputs, targets = [], []
    for k in range(int(windows)):
        cut = end - (float(horizon_days) + k * STEP_DAYS) * _DAY
        before = when < cut
        inside = (when >= cut) & (when <= cut + float(horizon_days) * _DAY)
        x = sp.csr_matrix((np.ones(before.sum()), (rows[before], cols[before])), shape=shape)
        y = sp.csr_matrix((np.ones(inside.sum()), (rows[inside], cols[inside])), shape=shape)
        used = np.flatnonzero((np.diff(x.indptr) > 0) & (np.diff(y.indptr) > 0))
        inputs.append(x[used])
        targets.append(y[used])
    return sp.vstack(inputs).tocsr(), sp.vstack(targets).tocsr()


def next_window_weights(x: sp.csr_matrix, y: sp.csr_matrix, regularization: float) -> np.ndarray:
    """``(XᵀX + λI)⁻¹ XᵀY`` as float32, by a Cholesky solve on one BLAS thread."""
    gram = np.asarray((x.T @ x).toarray(), dtype=np.float64)
    gram[np.diag_indices_from(gram)] += regularization
    right = np.asarray((x.T @ y).toarray(), dtype=np.float64)
    with threadpool_limits(limits=1, user_api="blas"):
        solved = cho_solve(cho_factor(gram, overwrite_a=True), right, overwrite_b=True)
    return np.asarray(solved, dtype=np.float32)


class EASENext(EASE):
    """``(1 - weight) * EASE + weight * next-window`` on per-user z-scores (module docstring).

    Parameters
    ----------
    regularization:
        EASE's ridge penalty λ.
    horizon_days:
        Length of each window after a cut, in days.
    windows:
        How many cut dates (30 days apart) give training rows.
    next_regularization:
        The next-window regression's ridge penalty.
    weight:
        Share of the next-window part in 0..1 (0 ranks as EASE does).
    max_items:
        As EASE's: refuse more items than this.
    """

    model_name = "ease-next"
    fit_inputs: ClassVar[tuple[str, ...]] = ("first_seen",)

    def __init__(
        self,
        regularization: float = 500.0,
        horizon_days: int = 45,
        windows: int = 2,
        next_regularization: float = 500.0,
        weight: float = 0.35,
        max_items: int = _DEFAULT_MAX_ITEMS,
    ) -> None:
        super().__init__(regularization=regularization, max_items=max_items)
        self.horizon_days = horizon_days
        self.windows = windows
        self.next_regularization = next_regularization
        self.weight = weight

    def _check(self) -> None:
        if not 0.0 <= float(self.weight) <= 1.0:
            raise ParameterError(f"weight must be between 0 and 1, got {self.weight}")
        if float(self.horizon_days) <= 0 or int(self.windows) < 1:
            raise ParameterError(
                f"horizon_days must be positive and windows at least 1, got "
                f"{self.horizon_days} and {self.windows}"
            )
        if float(self.next_regularization) <= 0:
            raise ParameterError("next_regularization must be positive")

    def _fit(
        self,
        user_items: sp.csr_matrix,
        weights: np.ndarray | None = None,
        first_seen: sp.spmatrix | None = None,
        next_weights: np.ndarray | None = None,
        **_: Any,
    ) -> None:
        """``weights`` / ``next_weights``: either part already solved for these parameters on
        this matrix (:func:`ease_next_fits` shares them between search points)."""
        self._check()
        if next_weights is None:
            if first_seen is None:
                raise ParameterError(
                    "ease-next learns from when each customer first bought each item, and "
                    "a bare user x item matrix has no dates",
                    hint="fit it with first_seen=shopguide.data.first_seen.first_seen_times("
                    "events, interactions), as compare and train do; or use ease",
                )
            if first_seen.shape != user_items.shape:
                raise ParameterError(
                    f"first_seen is {first_seen.shape[0]} x {first_seen.shape[1]}, the "
                    f"matrix {user_items.shape[0]} x {user_items.shape[1]}",
                    hint="build both from the same events and id maps",
                )
        super()._fit(user_items, weights=weights)
        if next_weights is None:
            assert first_seen is not None
            x, y = next_window_rows(sp.csr_matrix(first_seen), self.horizon_days, self.windows)
            next_weights = next_window_weights(x, y, float(self.next_regularization))
        self.next_weights_ = next_weights

    def estimate_cost(self, n_users: int, n_items: int, n_interactions: int) -> Cost:
        """Two dense item x item solves one after the other; the second runs while EASE's
        float32 weights are held: ``~24 n²`` bytes at the peak, twice EASE's time."""
        ease = dense_ease_cost(n_users, n_items, n_interactions)
        return Cost(
            ease.memory_bytes + 8 * n_items**2,
            2 * ease.seconds,
            f"two dense {n_items:,} x {n_items:,} solves (EASE and the next-window regression)",
        )

    def _score_block(self, user_rows: np.ndarray, user_items: sp.csr_matrix) -> ScoreBlock:
        ease = np.asarray(user_items @ self.weights_, dtype=np.float32)
        w = float(self.weight)
        if w == 0.0:
            return ease
        seen = seen_mask(user_items)
        nxt = np.asarray(user_items @ self.next_weights_, dtype=np.float32)
        first = normalised_scores(ease, seen, "zscore")
        second = normalised_scores(nxt, seen, "zscore")
        return np.float32(1.0 - w) * first + np.float32(w) * second

    def _get_arrays(self) -> dict[str, Any]:
        return {"weights": self.weights_, "next_weights": self.next_weights_}

    def _set_arrays(self, arrays: dict[str, Any]) -> None:
        self.weights_ = arrays["weights"]
        self.next_weights_ = arrays["next_weights"]


def shared_search_seconds(
    models: Sequence[EASENext], n_users: int, n_items: int, n_interactions: int
) -> float:
    """Estimated seconds of :func:`ease_next_fits` over ``models``: one dense solve per
    distinct λ and one per distinct window setting (not two per model)."""
    lambdas = {float(m.regularization) for m in models}
    windows = {
        (float(m.horizon_days), int(m.windows), float(m.next_regularization)) for m in models
    }
    one = dense_ease_cost(n_users, n_items, n_interactions).seconds
    return (len(lambdas) + len(windows)) * one


def ease_next_fits(
    user_items: sp.csr_matrix, first_seen: sp.spmatrix, models: Sequence[EASENext]
) -> Iterator[EASENext]:
    """Fit ``models`` (the points of a search) in order, each part solved once: EASE's weights
    per λ (kept while consecutive models share it) and the next-window weights per
    ``(horizon_days, windows, next_regularization)``."""
    seen = sp.csr_matrix(first_seen)
    ease: tuple[float, np.ndarray] | None = None
    nexts: dict[tuple[float, int, float], np.ndarray] = {}
    for model in models:
        model._check()
        lam = float(model.regularization)
        if ease is None or ease[0] != lam:
            ease = None  # free the old weights before solving the new ones
            ease = (lam, dense_ease_weights(user_items, lam))
        key = (float(model.horizon_days), int(model.windows), float(model.next_regularization))
        if key not in nexts:
            x, y = next_window_rows(seen, key[0], key[1])
            nexts[key] = next_window_weights(x, y, key[2])
        yield model.fit(user_items, weights=ease[1], next_weights=nexts[key])
