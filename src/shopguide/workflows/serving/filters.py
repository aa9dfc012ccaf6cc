"""The business filters of one recommendation request, as one value.

A request may keep only some categories, leave some out and bound the price. :class:`ItemFilter`
carries the four together through caching (:attr:`ItemFilter.key`), the snapshot's fast mask
and the rule set the models without a row scorer use (:meth:`ItemFilter.rules`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shopguide.recommend.rules import (
    ExcludeCategories,
    IncludeCategories,
    PriceRange,
    Rule,
    RuleSet,
)

__all__ = ["ItemFilter"]


@dataclass(frozen=True)
class ItemFilter:
    """Categories to keep (empty: all), categories to leave out, and a price range (``None``:
    unbounded on that side)."""

    include_categories: tuple[str, ...] = ()
    exclude_categories: tuple[str, ...] = ()
    min_price: float | None = None
    max_price: float | None = None

    @classmethod
    def of(
        cls,
        include_categories: Sequence[str] = (),
        exclude_categories: Sequence[str] = (),
        min_price: float | None = None,
        max_price: float | None = None,
    ) -> ItemFilter:
        """From any sequences (a request's lists), kept as tuples so the value hashes."""
        return cls(tuple(include_categories), tuple(exclude_categories), min_price, max_price)

    @property
    def key(self) -> tuple[object, ...]:
        """The part of an answer-cache key that these filters decide."""
        return (self.include_categories, self.exclude_categories, self.min_price, self.max_price)

    @property
    def bounds_price(self) -> bool:
        return self.min_price is not None or self.max_price is not None

    def price_range(self) -> tuple[float, float]:
        """The closed range the price must fall in, unbounded sides filled in."""
        low = 0.0 if self.min_price is None else self.min_price
        return low, float("inf") if self.max_price is None else self.max_price

    def rules(self) -> RuleSet:
        """The same filters as recommendation rules (for models scored through ``RuleSet``)."""
        rules: list[Rule] = []
        if self.include_categories:
            rules.append(IncludeCategories(list(self.include_categories)))
        if self.exclude_categories:
            rules.append(ExcludeCategories(list(self.exclude_categories)))
        if self.bounds_price:
            rules.append(PriceRange(*self.price_range()))
        return RuleSet(rules)
