"""Business rules around any recommender, composed into a :class:`RuleSet`.

Most rules only decide which items may be shown; they become one boolean item mask passed
to :meth:`Recommender.recommend` as ``items_allowed``, so the model never wastes a slot on an
item that would be removed afterwards. Two rules act differently:

- :class:`Repurchase` exempts items of chosen categories from the "already bought" filter
  (retail: people buy coffee and printer ink again);
- :class:`MaxPerCategory` re-ranks the list greedily so that at most ``m`` items of one
  category appear (diversity); the model is asked for more candidates to fill the gaps.

Example::

    rules = RuleSet([InStock(), ExcludeCategories(["Gift Cards"]), PriceRange(0, 50),
                     MaxPerCategory(2), Repurchase(["Groceries"])])
    ids, scores = rules.recommend(model, user_rows, user_items, catalog, n=10)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopguide.columns import Columns
from shopguide.data.idmap import IdMap
from shopguide.recommend.base import Recommender

__all__ = [
    "ExcludeBrands",
    "ExcludeCategories",
    "InStock",
    "IncludeBrands",
    "IncludeCategories",
    "ItemCatalog",
    "MaxPerCategory",
    "PriceRange",
    "Repurchase",
    "Rule",
    "RuleSet",
]


@dataclass(frozen=True)
class ItemCatalog:
    """Item attributes aligned with the model's item indices (index ``i`` = item ``i``).

    ``category`` may be a path such as ``"Home > Kitchen"``; category rules match a
    category and everything below it. Unknown attributes are ``None`` / NaN; unknown
    stock is treated as in stock.
    """

    category: np.ndarray
    brand: np.ndarray
    price: np.ndarray
    in_stock: np.ndarray
    title: np.ndarray

    @classmethod
    def from_frame(cls, items: pd.DataFrame, item_map: IdMap) -> ItemCatalog:
        """Align an ``items`` table (``item_id``, category, brand, price, in_stock, title)."""
        table = items.assign(**{Columns.ITEM_ID: items[Columns.ITEM_ID].astype(str)})
        table = table.drop_duplicates(Columns.ITEM_ID).set_index(Columns.ITEM_ID)
        table = table.reindex(pd.Index(item_map.external_ids.tolist()))

        def column(name: str, default: object) -> pd.Series:
            return table[name] if name in table else pd.Series(default, index=table.index)

        stock = column(Columns.IN_STOCK, True).astype("boolean").fillna(True)
        return cls(
            category=column(Columns.CATEGORY, None).astype(object).to_numpy(),
            brand=column(Columns.BRAND, None).astype(object).to_numpy(),
            price=pd.to_numeric(column(Columns.PRICE, np.nan), errors="coerce").to_numpy(float),
            in_stock=stock.to_numpy(dtype=bool),
            title=column(Columns.TITLE, None).astype(object).to_numpy(),
        )

    def __len__(self) -> int:
        return len(self.category)

    def top_category(self) -> np.ndarray:
        """The first level of each category path (``"Home > Kitchen"`` -> ``"Home"``)."""
        return np.array(
            [c.split(">")[0].strip() if isinstance(c, str) else None for c in self.category],
            dtype=object,
        )

    def in_categories(self, categories: Iterable[str]) -> np.ndarray:
        """Items whose category is one of ``categories`` or below one of them."""
        wanted = [c.strip() for c in categories]
        out = np.zeros(len(self), dtype=bool)
        for i, cat in enumerate(self.category):
            if isinstance(cat, str):
                path = " > ".join(part.strip() for part in cat.split(">"))
                out[i] = any(path == w or path.startswith(w + " > ") for w in wanted)
        return out


class Rule:
    """A business rule. ``allowed`` narrows the candidate items (default: no change)."""

    def allowed(self, catalog: ItemCatalog) -> np.ndarray | None:
        return None


@dataclass(frozen=True)
class InStock(Rule):
    """Only items in stock."""

    def allowed(self, catalog: ItemCatalog) -> np.ndarray:
        return catalog.in_stock.astype(bool)


@dataclass(frozen=True)
class IncludeCategories(Rule):
    """Only items in (or below) these categories."""

    categories: Sequence[str]

    def allowed(self, catalog: ItemCatalog) -> np.ndarray:
        return catalog.in_categories(self.categories)


@dataclass(frozen=True)
class ExcludeCategories(Rule):
    """No items in (or below) these categories."""

    categories: Sequence[str]

    def allowed(self, catalog: ItemCatalog) -> np.ndarray:
        return ~catalog.in_categories(self.categories)


@dataclass(frozen=True)
class IncludeBrands(Rule):
    """Only items of these brands."""

    brands: Sequence[str]

    def allowed(self, catalog: ItemCatalog) -> np.ndarray:
        return np.isin(catalog.brand.astype(str), list(self.brands))


@dataclass(frozen=True)
class ExcludeBrands(Rule):
    """No items of these brands."""

    brands: Sequence[str]

    def allowed(self, catalog: ItemCatalog) -> np.ndarray:
        return ~np.isin(catalog.brand.astype(str), list(self.brands))


@dataclass(frozen=True)
class PriceRange(Rule):
    """Only items priced within ``[low, high]`` (items without a price are excluded)."""

    low: float = 0.0
    high: float = float("inf")

    def allowed(self, catalog: ItemCatalog) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return (catalog.price >= self.low) & (catalog.price <= self.high)


@dataclass(frozen=True)
class Repurchase(Rule):
    """Items of these categories may be recommended again although already bought.

    With ``categories=None`` every item may be recommended again (per-model setting).
    """

    categories: Sequence[str] | None = None

    def repurchasable(self, catalog: ItemCatalog) -> np.ndarray:
        if self.categories is None:
            return np.ones(len(catalog), dtype=bool)
        return catalog.in_categories(self.categories)


@dataclass(frozen=True)
class MaxPerCategory(Rule):
    """At most ``m`` items per category in one list (greedy, keeps the model's order).

    ``level="top"`` counts by the first level of the category path, ``"full"`` by the
    whole path. Items without a category are not limited.
    """

    m: int
    level: str = "top"

    def keys(self, catalog: ItemCatalog) -> np.ndarray:
        return catalog.top_category() if self.level == "top" else catalog.category


@dataclass(frozen=True)
class RuleSet:
    """Rules applied together: the allowed masks are ANDed, the others compose."""

    rules: Sequence[Rule] = field(default_factory=tuple)
    #: candidates fetched per final slot when a diversity rule is present
    overfetch: int = 5

    def __or__(self, other: RuleSet | Rule) -> RuleSet:
        extra = other.rules if isinstance(other, RuleSet) else (other,)
        return RuleSet(tuple(self.rules) + tuple(extra), overfetch=self.overfetch)

    def allowed(self, catalog: ItemCatalog) -> np.ndarray | None:
        """One boolean mask of the items every rule allows (``None`` if no rule filters)."""
        mask: np.ndarray | None = None
        for rule in self.rules:
            part = rule.allowed(catalog)
            if part is not None:
                mask = part.copy() if mask is None else mask & part
        return mask

    def repurchasable(self, catalog: ItemCatalog) -> np.ndarray | None:
        masks = [r.repurchasable(catalog) for r in self.rules if isinstance(r, Repurchase)]
        return np.logical_or.reduce(masks) if masks else None

    def diversity(self) -> MaxPerCategory | None:
        found = [r for r in self.rules if isinstance(r, MaxPerCategory)]
        return min(found, key=lambda r: r.m) if found else None

    def recommend(
        self,
        model: Recommender,
        user_rows: np.ndarray | Sequence[int],
        user_items: sp.spmatrix,
        catalog: ItemCatalog,
        n: int = 10,
        *,
        filter_already_liked: bool = True,
        items_blocked: np.ndarray | Sequence[int] | None = None,
        full_matrix: bool | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``model.recommend`` with every rule applied; same output convention, and the same
        reading of ``user_items`` and ``full_matrix`` (see :meth:`Recommender.recommend`)."""
        if len(catalog) != model.n_items_:
            raise ValueError(f"catalog has {len(catalog)} items, the model {model.n_items_}")
        diverse = self.diversity()
        fetch = n * self.overfetch if diverse is not None else n
        ids, scores = model.recommend(
            user_rows,
            user_items,
            n=fetch,
            filter_already_liked=filter_already_liked,
            items_allowed=self.allowed(catalog),
            items_blocked=None if items_blocked is None else np.asarray(items_blocked),
            repurchasable=self.repurchasable(catalog),
            full_matrix=full_matrix,
        )
        if diverse is None:
            return ids, scores
        return _limit_per_key(ids, scores, diverse.keys(catalog), diverse.m, n)


def _limit_per_key(
    ids: np.ndarray, scores: np.ndarray, keys: np.ndarray, m: int, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy re-rank: walk each list in order, skip items whose key already has ``m``."""
    out_ids = np.full((len(ids), n), -1, dtype=np.int32)
    out_scores = np.full((len(ids), n), -np.inf, dtype=np.float32)
    for u in range(len(ids)):
        taken: dict[object, int] = {}
        slot = 0
        for item, score in zip(ids[u], scores[u], strict=True):
            if item < 0 or slot == n:
                break
            key = keys[item]
            if key is not None and not (isinstance(key, float) and np.isnan(key)):
                if taken.get(key, 0) >= m:
                    continue
                taken[key] = taken.get(key, 0) + 1
            out_ids[u, slot], out_scores[u, slot] = item, score
            slot += 1
    return out_ids, out_scores
