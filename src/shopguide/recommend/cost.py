"""What fitting a model costs, and whether it fits a memory budget.

Every recommender states its cost before it is fitted: ``model.estimate_cost(n_users,
n_items, n_interactions)`` returns a :class:`Cost` (peak bytes, seconds on this machine, a
note on what dominates). :func:`plan_fit` compares the estimate with a memory budget and
decides: fit the model as it is, adapt it (a model may offer a cheaper variant through
``within_budget``; EASE turns into ``ease-large``), or skip it with a message saying why
and what to do.

The time constants below were measured on the project's reference machine (2 cores,
24 GB) with ``python benchmarks/bench_cost_calibration.py``; they are rough (a factor of
about two) and serve for progress ETAs and warnings, never as guarantees.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from shopguide.errors import ConfigError, InputError

__all__ = [
    "TIME_CONSTANTS",
    "Cost",
    "FitPlan",
    "default_memory_budget",
    "estimate_cost",
    "format_bytes",
    "parse_bytes",
    "plan_fit",
    "total_memory_bytes",
]

#: Seconds per unit of work, measured by ``benchmarks/bench_cost_calibration.py`` (20,000 users
#: x 3,000 items x 381,578 interactions) on 2026-12-06 on the 2-core reference machine under
#: its usual shared load (load average ~13): slow on purpose, it is the machine people have.
TIME_CONSTANTS: dict[str, float] = {
    # EASE's dense closed form (Cholesky inverse in place, one BLAS thread): seconds / n^3.
    # Remeasured 2026-12-06 at load ~2.5 (2.3e-11) and scaled by 4.5, the ratio of the other
    # constants between that run and the loaded one above; the LU inverse measured before
    # (5.5e-10) made EASE's estimates about 5x too high
    "dense_inverse": 1.0e-10,
    # sparse Gram matrix X^T X (or X X^T): seconds / co-occurring pair
    "sparse_gram": 3.5e-8,
    # item-/user-KNN neighbour search: seconds / co-occurring pair
    "knn_pair": 6.8e-8,
    # one ALS iteration: seconds / (nnz * f^2 + (users + items) * f^3)
    "als_unit": 9.4e-11,
    # one BPR epoch: seconds / (nnz * f)
    "bpr_unit": 1.4e-8,
    # counting interactions: seconds / interaction
    "count": 5.3e-9,
}
#: Share of the machine's memory used as the default budget.
DEFAULT_BUDGET_SHARE = 0.5


@dataclass(frozen=True)
class Cost:
    """Estimated peak memory (bytes) and wall time (seconds) of fitting a model."""

    memory_bytes: int
    seconds: float
    notes: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "memory_bytes": int(self.memory_bytes),
            "seconds": round(float(self.seconds), 3),
            "notes": self.notes,
        }

    def describe(self) -> str:
        """``'1.2 GB, about 40 s'``."""
        return f"{format_bytes(self.memory_bytes)}, about {_format_seconds(self.seconds)}"


class _Costed(Protocol):
    model_name: str

    def estimate_cost(self, n_users: int, n_items: int, n_interactions: int) -> Cost: ...


@dataclass(frozen=True)
class FitPlan:
    """What to do with a model under a budget.

    ``action`` is ``"fit"`` (as it is), ``"adapted"`` (``model`` is the cheaper variant to
    fit instead) or ``"skipped"`` (``model`` is ``None``); ``message`` says why.
    """

    action: Literal["fit", "adapted", "skipped"]
    model: Any
    cost: Cost
    budget_bytes: int
    message: str = ""
    original_cost: Cost | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (without the model object)."""
        out: dict[str, Any] = {
            "action": self.action,
            "model": None if self.model is None else self.model.model_name,
            "cost": self.cost.to_dict(),
            "budget_bytes": self.budget_bytes,
            "message": self.message,
        }
        if self.original_cost is not None:
            out["original_cost"] = self.original_cost.to_dict()
        return out


_BUDGET_HINT = "write a size such as 2GB, 500MB, 1.5GiB, or a share of the machine's memory: 40%"
_UNITS = {"": 1, "B": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(I?B)?\s*$", re.IGNORECASE)
_SHARE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


def total_memory_bytes() -> int:
    """Physical memory of the machine (``/proc/meminfo`` through ``os.sysconf``)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - non-POSIX
        return 8 * 10**9


def parse_bytes(text: str) -> int:
    """``"2GB"``, ``"500M"``, ``"1.5GiB"``, ``"1e9"`` or ``"40%"`` (of the machine's memory)
    as bytes; raises :class:`~shopguide.errors.InputError` naming the accepted forms."""
    share = _SHARE.match(text)
    if share:
        fraction = float(share.group(1)) / 100
        if not 0 < fraction <= 1:
            raise InputError(
                f"memory budget {text!r}: a share must be above 0 and at most 100 %",
                hint=_BUDGET_HINT,
            )
        return int(total_memory_bytes() * fraction)
    match = _SIZE.match(text)
    if match:
        number, unit, suffix = match.groups()
        scale = _UNITS[unit.upper()]
        if suffix and suffix.upper() == "IB":
            scale = 1024 ** "BKMGT".index(unit.upper() or "B")
        value = int(float(number) * scale)
    else:
        try:
            value = int(float(text))
        except ValueError:
            raise InputError(f"memory budget {text!r} is not a size", hint=_BUDGET_HINT) from None
    if value <= 0:
        raise InputError(f"memory budget {text!r} must be positive", hint=_BUDGET_HINT)
    return value


def default_memory_budget() -> int:
    """``SHOPGUIDE_MEMORY_BUDGET`` if set, else half the machine's memory."""
    from shopguide.config import get_settings

    raw = (get_settings().memory_budget or "").strip()
    if raw:
        try:
            return parse_bytes(raw)
        except InputError as exc:
            raise ConfigError(f"SHOPGUIDE_MEMORY_BUDGET: {exc.message}", hint=_BUDGET_HINT) from exc
    return int(total_memory_bytes() * DEFAULT_BUDGET_SHARE)


def format_bytes(n: float) -> str:
    """Bytes in decimal units, e.g. ``'3.4 GB'``."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} B"


def _format_seconds(s: float) -> str:
    if s < 60:
        return f"{s:.0f} s" if s >= 1 else "under a second"
    if s < 3600:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


def pair_count(n_users: int, n_items: int, n_interactions: int, *, axis: int) -> float:
    """Expected co-occurring pairs from the three sizes alone.

    ``axis=1``: item pairs sharing a user (``sum_u items(u)^2`` ~ ``nnz^2 / users``);
    ``axis=0``: user pairs sharing an item (``nnz^2 / items``). Popularity skew makes the
    true counts larger (about 2-5x on shop data); the estimate is capped at the full square.
    """
    if n_interactions <= 0:
        return 0.0
    side = n_users if axis == 1 else n_items
    other = n_items if axis == 1 else n_users
    return float(min(n_interactions**2 / max(side, 1) * 3.0, float(other) ** 2))


def estimate_cost(model: Any, n_users: int, n_items: int, n_interactions: int) -> Cost:
    """``model.estimate_cost(...)``, or an unknown (zero) cost for models without one."""
    method = getattr(model, "estimate_cost", None)
    if method is None:
        return Cost(0, 0.0, "no estimate for this model")
    cost: Cost = method(int(n_users), int(n_items), int(n_interactions))
    return cost


def plan_fit(
    model: Any,
    n_users: int,
    n_items: int,
    n_interactions: int,
    budget_bytes: int | None = None,
) -> FitPlan:
    """Fit, adapt or skip ``model`` so that its estimated peak memory stays in the budget.

    A model that does not fit is adapted when it has ``within_budget(n_users, n_items,
    n_interactions, budget_bytes)`` returning a cheaper model that does; else it is skipped.
    A model may also ask to be adapted below the budget, when its own size limit is passed
    (``needs_adapting(n_items)``: dense EASE beyond its ``max_items``).
    """
    budget = default_memory_budget() if budget_bytes is None else int(budget_bytes)
    cost = estimate_cost(model, n_users, n_items, n_interactions)
    name = getattr(model, "model_name", type(model).__name__)
    over_budget = cost.memory_bytes > budget
    too_large = bool(getattr(model, "needs_adapting", lambda _n: False)(n_items))
    if not over_budget and not too_large:
        return FitPlan("fit", model, cost, budget)
    reason = (
        f"{name} would need about {format_bytes(cost.memory_bytes)} (budget {format_bytes(budget)})"
        if over_budget
        else f"{name} on {n_items:,} items passes its size limit ({cost.describe()} estimated)"
    )
    adapt = getattr(model, "within_budget", None)
    smaller = adapt(n_users, n_items, n_interactions, budget) if adapt is not None else None
    if smaller is not None:
        new_cost = estimate_cost(smaller, n_users, n_items, n_interactions)
        if new_cost.memory_bytes <= budget:
            return FitPlan(
                "adapted", smaller, new_cost, budget,
                f"{reason}; fitting {smaller.model_name} instead ({new_cost.describe()})",
                original_cost=cost,
            )  # fmt: skip
    return FitPlan(
        "skipped", None, cost, budget,
        f"{reason}; skipped. Raise --memory-budget (or SHOPGUIDE_MEMORY_BUDGET) if the "
        "machine has the memory, or choose a model with a smaller footprint "
        "(item-knn, als, ease-large).",
    )  # fmt: skip
