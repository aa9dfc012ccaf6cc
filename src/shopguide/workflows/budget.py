"""Plan model fits against a memory budget before ``train`` and ``compare`` run them.

Each model estimates its peak memory and time from the number of users, items and
interactions (:mod:`shopguide.recommend.cost`); a model over the budget is adapted to a
cheaper variant (dense EASE -> ``ease-large``) or skipped, and the message says why (the
estimate against the budget) and what to do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shopguide.errors import MemoryBudgetError
from shopguide.recommend.base import Recommender
from shopguide.recommend.catalogue import create_model
from shopguide.recommend.cost import Cost, FitPlan, default_memory_budget, plan_fit
from shopguide.store.base import Store
from shopguide.workflows.time_budget import over_time

__all__ = ["PlannedModels", "plan_models", "plan_one", "plan_training", "store_sizes"]


def store_sizes(store: Store) -> tuple[int, int, int]:
    """Users, items and distinct (user, item) pairs among the store's events."""
    row = store.query_df(
        """SELECT count(DISTINCT user_id) AS users, count(DISTINCT item_id) AS items,
                  count(*) AS pairs
           FROM (SELECT DISTINCT user_id, item_id FROM events)"""
    ).iloc[0]
    return int(row["users"]), int(row["items"]), int(row["pairs"])


@dataclass
class PlannedModels:
    """The models to fit (label -> factory), their estimated costs and the budget notes."""

    factories: dict[str, Callable[[], Recommender]] = field(default_factory=dict)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    costs: dict[str, Cost] = field(default_factory=dict)
    plans: dict[str, FitPlan] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: each requested model's plan."""
        return {name: plan.to_dict() for name, plan in self.plans.items()}


def plan_one(
    name: str,
    params: Mapping[str, Any],
    sizes: tuple[int, int, int],
    budget_bytes: int | None = None,
) -> FitPlan:
    """The plan for one catalogue model with ``params`` on data of ``sizes``."""
    return plan_fit(create_model(name, **dict(params)), *sizes, budget_bytes)


def plan_models(
    names: Sequence[str],
    params: Mapping[str, Mapping[str, Any]],
    sizes: tuple[int, int, int],
    budget_bytes: int | None = None,
    time_budget: float | None = None,
) -> PlannedModels:
    """Plan every model; adapted ones are labelled by what is actually fitted.

    A model adapted into one that is also requested (``ease`` -> ``ease-large``) is fitted
    once, under the requested label of the variant. With ``time_budget`` (seconds), a model
    whose one fit is estimated above a share of it is skipped
    (:func:`~shopguide.workflows.time_budget.over_time`).
    """
    budget = default_memory_budget() if budget_bytes is None else budget_bytes
    out = PlannedModels()
    for name in names:
        plan = plan_one(name, params.get(name, {}), sizes, budget)
        slow = None if plan.model is None else over_time(name, plan.cost, time_budget)
        if slow is not None:
            note = f"{plan.message}; " if plan.message else ""
            plan = FitPlan("skipped", None, plan.cost, budget, note + slow, plan.original_cost)
        out.plans[name] = plan
        if plan.message:
            out.notes.append(plan.message)
        if plan.model is None:
            continue
        label = plan.model.model_name
        if label != name and label in names:
            out.notes.append(f"{name}: compared as {label}, which is already in the comparison")
            continue
        model_params = plan.model.get_params()
        out.params[label] = model_params
        out.costs[label] = plan.cost
        out.factories[label] = _factory(label, model_params)
    return out


def _factory(name: str, params: dict[str, Any]) -> Callable[[], Recommender]:
    def make() -> Recommender:
        return create_model(name, **params)

    return make


def plan_training(
    store: Store, name: str, params: Mapping[str, Any], budget_bytes: int | None = None
) -> FitPlan:
    """The plan for fitting ``name`` on every event of ``store``; raises
    :class:`~shopguide.errors.MemoryBudgetError` when the model is skipped."""
    plan = plan_one(name, params, store_sizes(store), budget_bytes)
    if plan.action == "skipped":
        raise MemoryBudgetError(
            plan.message.split("; skipped.")[0],
            hint="raise --memory-budget (or SHOPGUIDE_MEMORY_BUDGET) if the machine has the "
            "memory, or train a model with a smaller footprint (item-knn, als, ease-large)",
        )
    return plan
