"""One test per business rule, on the tiny matrix with a hand-made catalog."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopguide.data.idmap import IdMap
from shopguide.recommend import ItemKNN, Popular
from shopguide.recommend.rules import (
    ExcludeBrands,
    ExcludeCategories,
    IncludeBrands,
    IncludeCategories,
    InStock,
    ItemCatalog,
    MaxPerCategory,
    PriceRange,
    Repurchase,
    RuleSet,
)

ITEMS = IdMap([f"i{j}" for j in range(10)], kind="item")
CATALOG_FRAME = pd.DataFrame(
    {
        "item_id": [f"i{j}" for j in range(10)][::-1],  # any order: aligned by id
        "category": [
            "Home > Kitchen",  # i9
            "Home > Garden",  # i8
            "Food > Coffee",  # i7
            "Food > Coffee",  # i6
            "Food > Tea",  # i5
            "Home > Kitchen",  # i4
            "Home > Kitchen",  # i3
            "Home",  # i2
            "Food",  # i1
            "Home > Kitchen > Knives",  # i0
        ],
        "brand": ["B", "A", "A", "C", "B", "A", "C", "B", "A", "C"],
        "price": [9.0, 20.0, 4.5, 6.0, 3.0, 15.0, 30.0, 12.0, 2.0, 50.0],
        "in_stock": [True, True, False, True, True, True, True, False, True, True],
    }
)


@pytest.fixture
def catalog() -> ItemCatalog:
    return ItemCatalog.from_frame(CATALOG_FRAME, ITEMS)


def _everyone(model, tiny, rules, catalog, n=10):
    return rules.recommend(model, np.arange(tiny.shape[0]), tiny, catalog, n=n)[0]


def test_catalog_aligns_by_id(catalog) -> None:
    assert catalog.category[0] == "Home > Kitchen > Knives"
    assert catalog.price[9] == 9.0
    assert catalog.in_stock.tolist() == [True] * 2 + [False] + [True] * 4 + [False] + [True] * 2


def test_in_stock(tiny, catalog) -> None:
    ids = _everyone(Popular().fit(tiny), tiny, RuleSet([InStock()]), catalog)
    assert not {2, 7} & set(ids.ravel().tolist())
    assert (ids >= 0).any()


def test_include_and_exclude_categories_match_subtrees(tiny, catalog) -> None:
    model = Popular().fit(tiny)
    kitchen = _everyone(model, tiny, RuleSet([IncludeCategories(["Home > Kitchen"])]), catalog)
    assert set(kitchen[kitchen >= 0].tolist()) <= {0, 3, 4, 9}
    no_food = _everyone(model, tiny, RuleSet([ExcludeCategories(["Food"])]), catalog)
    assert not {1, 5, 6, 7} & set(no_food.ravel().tolist())


def test_brands(tiny, catalog) -> None:
    model = Popular().fit(tiny)
    only_a = _everyone(model, tiny, RuleSet([IncludeBrands(["A"])]), catalog)
    assert set(only_a[only_a >= 0].tolist()) <= {1, 4, 7, 8}
    not_a = _everyone(model, tiny, RuleSet([ExcludeBrands(["A"])]), catalog)
    assert not {1, 4, 7, 8} & set(not_a.ravel().tolist())


def test_price_range(tiny, catalog) -> None:
    ids = _everyone(Popular().fit(tiny), tiny, RuleSet([PriceRange(5, 15)]), catalog)
    # prices within 5..15: i2 = 12, i4 = 15, i6 = 6, i9 = 9
    assert set(ids[ids >= 0].tolist()) <= {2, 4, 6, 9}


def test_rules_compose_with_and(tiny, catalog) -> None:
    rules = RuleSet([InStock()]) | PriceRange(5, 15)
    ids = _everyone(Popular().fit(tiny), tiny, rules, catalog)
    assert set(ids[ids >= 0].tolist()) <= {4, 6, 9}  # i2 is out of stock


def test_max_per_category_diversity(tiny, catalog) -> None:
    model = Popular().fit(tiny)
    plain = _everyone(model, tiny, RuleSet(), catalog, n=6)
    diverse = _everyone(model, tiny, RuleSet([MaxPerCategory(1)]), catalog, n=6)
    tops = catalog.top_category()
    for row in diverse:
        cats = [tops[i] for i in row if i >= 0]
        assert len(cats) == len(set(cats))  # one per top-level category
    # the first item is unchanged (greedy keeps the model's order)
    assert (plain[:, 0] == diverse[:, 0]).all()
    by_full_path = _everyone(model, tiny, RuleSet([MaxPerCategory(1, level="full")]), catalog)
    assert (by_full_path >= 0).sum() > (diverse >= 0).sum()


def test_repurchase_allows_bought_items_of_chosen_categories(tiny, catalog) -> None:
    model = ItemKNN(k=5).fit(tiny)
    base = _everyone(model, tiny, RuleSet(), catalog)
    again = _everyone(model, tiny, RuleSet([Repurchase(["Food > Coffee"])]), catalog)
    seen_coffee = 0
    for u, row in enumerate(again):
        seen = set(tiny[u].indices.tolist())
        rebought = seen & set(row[row >= 0].tolist())
        assert rebought <= {6, 7}  # only coffee may come back
        seen_coffee += len(rebought)
        assert not seen & set(base[u][base[u] >= 0].tolist())
    assert seen_coffee > 0
    everything = _everyone(model, tiny, RuleSet([Repurchase()]), catalog)
    unfiltered = model.recommend(np.arange(8), tiny, n=10, filter_already_liked=False)[0]
    np.testing.assert_array_equal(everything, unfiltered)


def test_catalog_size_must_match(tiny, catalog) -> None:
    model = Popular().fit(tiny[:, :5])
    with pytest.raises(ValueError, match="catalog"):
        RuleSet().recommend(model, [0], tiny[:, :5], catalog)
