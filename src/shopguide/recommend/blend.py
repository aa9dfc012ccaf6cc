"""A weighted blend of two recommenders (``blend``).

Two models fitted on the same matrix often err on different items: EASE ranks by co-purchase
structure, ALS by a smooth taste profile. The blend scores every item as

``score(u, i) = (1 - weight) * norm_u(first(u, i)) + weight * norm_u(second(u, i))``

where ``norm_u`` puts one user's scores on a common scale: ``"minmax"`` maps the user's
candidate scores (items they already have left out) to 0..1, ``"zscore"`` centres them and
divides by their spread. ``weight`` is chosen on a validation window like any parameter
(``benchmarks/bench_compare.py``; figures in docs/benchmarks.md).

Both parts are ordinary catalogue models built from ``first``/``first_params`` and
``second``/``second_params``; they are saved inside the blend's own arrays (prefixed
``first.``/``second.``), so a saved blend loads without pickle like every model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from shopguide.errors import ParameterError
from shopguide.recommend.base import Recommender, ScoreBlock, model_class
from shopguide.recommend.cost import Cost, estimate_cost, plan_fit
from shopguide.recommend.scaling import normalised_scores, seen_mask

__all__ = ["NORMALISATIONS", "Blend"]

#: The per-user score scales a blend can put its parts on.
NORMALISATIONS = ("minmax", "zscore")
_PARTS = ("first", "second")


class Blend(Recommender):
    """``(1 - weight) * first + weight * second`` on per-user normalised scores.

    Parameters
    ----------
    first, second:
        Catalogue names of the two models (not ``blend`` itself).
    weight:
        Share of ``second`` in 0..1.
    normalize:
        ``"minmax"`` or ``"zscore"`` (see the module docstring).
    first_params, second_params:
        Constructor parameters of each part (JSON values).
    """

    model_name = "blend"

    def __init__(
        self,
        first: str = "ease",
        second: str = "als",
        weight: float = 0.2,
        normalize: str = "zscore",
        first_params: dict[str, Any] | None = None,
        second_params: dict[str, Any] | None = None,
    ) -> None:
        self.first = first
        self.second = second
        self.weight = weight
        self.normalize = normalize
        self.first_params = first_params
        self.second_params = second_params

    @property
    def scores_from_history(self) -> bool:  # type: ignore[override]
        """Whether both parts score a user from their interaction row alone."""
        return all(
            model_class(name).scores_from_history
            for name in (self.first, self.second)
            if name != self.model_name
        )

    # --- the parts -------------------------------------------------------------------
    def _part(self, which: str) -> Recommender:
        name = self.first if which == "first" else self.second
        params = (self.first_params if which == "first" else self.second_params) or {}
        if name == self.model_name:
            raise ParameterError("a blend's parts must be other models, not blend")
        klass = model_class(name)
        try:
            return klass(**params)
        except TypeError as exc:
            raise ParameterError(f"bad parameter for {name} in the blend: {exc}") from exc

    def _check(self) -> None:
        if not 0.0 <= float(self.weight) <= 1.0:
            raise ParameterError(f"weight must be between 0 and 1, got {self.weight}")
        if self.normalize not in NORMALISATIONS:
            raise ParameterError(
                f"normalize must be one of {', '.join(NORMALISATIONS)}, got {self.normalize!r}"
            )

    def estimate_cost(self, n_users: int, n_items: int, n_interactions: int) -> Cost:
        """Both parts are held at once: the sum of their costs."""
        costs = [estimate_cost(self._part(w), n_users, n_items, n_interactions) for w in _PARTS]
        return Cost(
            sum(c.memory_bytes for c in costs),
            sum(c.seconds for c in costs),
            f"{self.first} + {self.second}: " + "; ".join(c.notes for c in costs),
        )

    def needs_adapting(self, n_items: int) -> bool:
        """Whether a part passes its own size limit (dense EASE on a large catalogue)."""
        return any(
            bool(getattr(self._part(w), "needs_adapting", lambda _n: False)(n_items))
            for w in _PARTS
        )

    def within_budget(
        self, n_users: int, n_items: int, n_interactions: int, budget_bytes: int
    ) -> Blend | None:
        """The blend of each part as :func:`~shopguide.recommend.cost.plan_fit` adapts it
        (``ease`` becomes ``ease-large``), or ``None`` when a part cannot be fitted."""
        parts = []
        for which in _PARTS:
            plan = plan_fit(self._part(which), n_users, n_items, n_interactions, budget_bytes)
            if plan.model is None:
                return None
            parts.append(plan.model)
        first, second = parts
        return Blend(
            first=first.model_name, second=second.model_name, weight=self.weight,
            normalize=self.normalize, first_params=first.get_params(),
            second_params=second.get_params(),
        )  # fmt: skip

    def _fit(self, user_items: sp.csr_matrix, **_: Any) -> None:
        self._check()
        self.first_ = self._part("first").fit(user_items)
        self.second_ = self._part("second").fit(user_items)

    # --- scoring ---------------------------------------------------------------------
    def _score_block(self, user_rows: np.ndarray, user_items: sp.csr_matrix) -> ScoreBlock:
        seen = seen_mask(user_items)
        first = normalised_scores(
            self.first_._score_block(user_rows, user_items), seen, self.normalize
        )
        second = normalised_scores(
            self.second_._score_block(user_rows, user_items), seen, self.normalize
        )
        w = np.float32(self.weight)
        return (np.float32(1.0) - w) * first + w * second

    # --- persistence -----------------------------------------------------------------
    def _get_arrays(self) -> dict[str, Any]:
        out: dict[str, Any] = {"shape": np.array([self.n_users_, self.n_items_], np.int64)}
        for which in _PARTS:
            part: Recommender = getattr(self, f"{which}_")
            out.update({f"{which}.{k}": v for k, v in part._get_arrays().items()})
        return out

    def _set_arrays(self, arrays: dict[str, Any]) -> None:
        n_users, n_items = (int(v) for v in arrays["shape"])
        for which in _PARTS:
            part = self._part(which)
            prefix = f"{which}."
            part._set_arrays(
                {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
            )
            part.n_users_, part.n_items_ = n_users, n_items
            part.item_users_ = None
            setattr(self, f"{which}_", part)
