"""The local business rules (:mod:`shopguide.recommend.rules`) as Spark columns.

:func:`rule_table` turns a :class:`~shopguide.recommend.rules.RuleSet` into one small
DataFrame over the items table, ``(item_id, allowed, again, cap_key)``, joined once to the
candidates of the top-N job:

- ``allowed``: every filtering rule ANDed (in stock, category and brand include/exclude,
  price range), exactly the mask the local :meth:`RuleSet.allowed` passes as
  ``items_allowed``;
- ``again``: the item may be recommended although the user has it (:class:`Repurchase`);
- ``cap_key``: the category key :class:`MaxPerCategory` counts by (``NULL``: not limited).

Items missing from the items table behave as locally: no category, no brand, no price
(so a price range excludes them) and in stock. Category rules use the local path matching
(``"Home > Kitchen"`` is below ``"Home"``; spaces around ``>`` do not matter).

A rule class this module does not know is evaluated on the driver with the local code
(the items table is collected once: fine for catalogues of a few million items).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from shopguide.columns import ITEMS
from shopguide.compat import require
from shopguide.recommend.rules import (
    ExcludeBrands,
    ExcludeCategories,
    IncludeBrands,
    IncludeCategories,
    InStock,
    MaxPerCategory,
    PriceRange,
    Repurchase,
    Rule,
    RuleSet,
)
from shopguide.schema import spark_ddl

__all__ = ["RuleTable", "category_path", "rule_table"]


def _f() -> Any:
    return require("pyspark.sql.functions", extra="spark", feature="the Spark engine")


def _strip(column: Any) -> Any:
    """Python's ``str.strip()`` (ASCII whitespace) as a Spark expression."""
    return _f().regexp_replace(column, r"^\s+|\s+$", "")


def category_path(column: Any) -> Any:
    """A category normalised like the local matcher: parts stripped, joined by ``" > "``."""
    return _f().regexp_replace(_strip(column), r"\s*>\s*", " > ")


def _in_categories(categories: Iterable[str]) -> Any:
    """``ItemCatalog.in_categories``: the category is one of these or below one (NULL: no)."""
    F = _f()
    path = category_path(F.col("category"))
    match = F.lit(False)
    for wanted in (c.strip() for c in categories):
        match = match | (path == F.lit(wanted)) | path.startswith(wanted + " > ")
    return F.coalesce(match, F.lit(False))


def _brand_in(brands: Iterable[str]) -> Any:
    F = _f()
    return F.coalesce(F.col("brand").isin(list(brands)), F.lit(False))


def _allowed_expression(rule: Rule) -> Any | None:
    """The Spark column of a known filtering rule; ``None`` for rules that do not filter."""
    F = _f()
    if isinstance(rule, InStock):
        return F.coalesce(F.col("in_stock"), F.lit(True))
    if isinstance(rule, IncludeCategories):
        return _in_categories(rule.categories)
    if isinstance(rule, ExcludeCategories):
        return ~_in_categories(rule.categories)
    if isinstance(rule, IncludeBrands):
        return _brand_in(rule.brands)
    if isinstance(rule, ExcludeBrands):
        return ~_brand_in(rule.brands)
    if isinstance(rule, PriceRange):
        price = F.col("price")
        inside = (price >= F.lit(float(rule.low))) & (price <= F.lit(float(rule.high)))
        return F.coalesce(inside & ~F.isnan(price), F.lit(False))
    return None


def _is_known(rule: Rule) -> bool:
    known = (InStock, IncludeCategories, ExcludeCategories, IncludeBrands, ExcludeBrands,
             PriceRange, Repurchase, MaxPerCategory)  # fmt: skip
    return isinstance(rule, known) or type(rule).allowed is Rule.allowed


#: An item id no catalogue has: the driver-side rules evaluate the "missing item" default on it.
_MISSING = "\x00shopguide-missing-item"


def _driver_allowed(rule: Rule, catalog_items: Any) -> tuple[Any, bool]:
    """Evaluate an unknown rule with the local code on the collected items table.

    Returns ``(item_id, ok)`` rows and the rule's answer for an item missing from the table.
    """
    from shopguide.data.idmap import IdMap
    from shopguide.recommend.rules import ItemCatalog

    spark = catalog_items.sparkSession
    frame = catalog_items.toPandas()
    ids = frame["item_id"].astype(str).tolist()
    index = IdMap(np.asarray([*ids, _MISSING], dtype=object), kind="item")
    mask = np.asarray(rule.allowed(ItemCatalog.from_frame(frame, index)), dtype=bool)
    rows = [(item, bool(ok)) for item, ok in zip(ids, mask[:-1], strict=True)]
    return spark.createDataFrame(rows, "item_id STRING, ok BOOLEAN"), bool(mask[-1])


@dataclass
class RuleTable:
    """The rules over the items table (see the module docstring).

    ``frame`` has one row per item of the items table; candidates missing from it take
    ``allowed_missing`` / ``again_missing`` / no cap key (the local defaults).
    ``filters`` / ``repurchase`` say whether ``allowed`` / ``again`` can be false / true at
    all, so the top-N job skips what it does not need; ``cap`` is the diversity rule.
    """

    frame: Any
    allowed_missing: bool
    again_missing: bool
    filters: bool
    repurchase: bool
    cap: MaxPerCategory | None
    overfetch: int

    def lookup(self, candidates: Any) -> Any:
        """``candidates`` with ``allowed``, ``again`` and ``cap_key`` columns (left join)."""
        F = _f()
        joined = candidates.join(self.frame, on="item_id", how="left")
        return joined.withColumn(
            "allowed", F.coalesce(F.col("allowed"), F.lit(self.allowed_missing))
        ).withColumn("again", F.coalesce(F.col("again"), F.lit(self.again_missing)))


def rule_table(rules: RuleSet, items: Any) -> RuleTable:
    """Evaluate ``rules`` for every item of the items table.

    ``items`` has ``item_id, category, brand, price, in_stock`` (duplicate item rows: one
    of them is used). The answers for items missing from the table are evaluated on a row
    of NULLs, which is what the local catalogue holds for them.
    """
    F = _f()
    columns = ["item_id", "category", "brand", "price", "in_stock"]
    catalog = items.select(*columns).dropDuplicates(["item_id"])
    spark = items.sparkSession
    missing_row = spark.createDataFrame(
        [(_MISSING, None, None, None, None)],
        spark_ddl(ITEMS, columns),
    )
    allowed = F.lit(True)
    filters = False
    driver_masks: list[tuple[Any, bool]] = []
    for rule in rules.rules:
        if not _is_known(rule):
            driver_masks.append(_driver_allowed(rule, catalog))
            filters = True
            continue
        expression = _allowed_expression(rule)
        if expression is not None:
            allowed = allowed & expression
            filters = True
    repurchase_rules = [r for r in rules.rules if isinstance(r, Repurchase)]
    again = F.lit(False)
    for rule in repurchase_rules:
        again = again | (
            F.lit(True) if rule.categories is None else _in_categories(rule.categories)
        )
    cap = rules.diversity()
    if cap is None:
        key = F.lit(None).cast("string")
    elif cap.level == "top":
        key = F.when(F.col("category").isNotNull(), _strip(F.split("category", ">")[0]))
    else:
        key = F.col("category")
    selected = ["item_id", allowed.alias("allowed"), again.alias("again"), key.alias("cap_key")]
    frame = catalog.select(*selected)
    missing = missing_row.select(*selected).first()
    allowed_missing = bool(missing["allowed"])
    for position, (mask, default) in enumerate(driver_masks):
        name = f"_ok{position}"
        frame = (
            frame.join(mask.withColumnRenamed("ok", name), on="item_id", how="left")
            .withColumn("allowed", F.col("allowed") & F.coalesce(F.col(name), F.lit(False)))
            .drop(name)
        )
        allowed_missing = allowed_missing and default
    return RuleTable(
        frame=frame,
        allowed_missing=allowed_missing,
        again_missing=bool(missing["again"]),
        filters=filters,
        repurchase=bool(repurchase_rules),
        cap=cap,
        overfetch=rules.overfetch,
    )
