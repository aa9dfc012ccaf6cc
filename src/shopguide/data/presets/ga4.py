"""``--preset ga4``: the Google Analytics 4 BigQuery export, as JSON lines or Parquet.

One line (or Parquet row) is one GA4 event, a row of an ``events_YYYYMMDD`` table exported as
newline-delimited JSON or as Parquet (where the records are nested columns). The preset reads
``event_name``, ``event_timestamp`` (microseconds, UTC; a number or, as BigQuery writes INT64
to JSON, a string), ``user_id``, ``user_pseudo_id``, ``ecommerce.transaction_id``,
``geo.city``, ``geo.country`` and the repeated ``items`` record (``item_id``, ``item_name``,
``item_brand``, ``item_category`` … ``item_category5``, ``price``, ``quantity``); the export's
other columns (``event_params``, ``device``, …) are not read. Each item of an event becomes
one ShopGuide event.

GA4 event names map to event types: view_item → view, select_item → click, add_to_wishlist →
favorite, add_to_cart → cart, purchase → purchase, refund → refund. Other events, and
e-commerce events without items, are skipped with a counted reason. ``(not set)`` reads as
empty. The user is ``user_id`` where the site sets one, else ``user_pseudo_id``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from shopguide.data.mapping import ChunkStep, ColumnPlan, Prepared
from shopguide.data.presets._base import Preset, blank

EVENT_TYPES: Mapping[str, str] = {
    "view_item": "view", "select_item": "click", "add_to_wishlist": "favorite",
    "add_to_cart": "cart", "purchase": "purchase", "refund": "refund",
}  # fmt: skip
REQUIRED = ("event_name", "event_timestamp")
READS = ("event_name", "event_timestamp", "user_id", "user_pseudo_id",
         "ecommerce.transaction_id", "geo.city", "geo.country", "items[].item_id",
         "items[].item_name", "items[].item_brand", "items[].item_category",
         "items[].item_category2", "items[].item_category3", "items[].item_category4",
         "items[].item_category5", "items[].price", "items[].quantity")  # fmt: skip
_CATEGORIES = ("item_category", "item_category2", "item_category3", "item_category4",
               "item_category5")  # fmt: skip
_TEXT = ("event_name", "user_id", "user_pseudo_id", "transaction_id", "geo_city", "geo_country",
         "item_id", "item_name", "item_brand", *_CATEGORIES)  # fmt: skip


def _text(value: Any) -> str | None:
    if blank(value) or str(value).strip() == "(not set)":
        return None
    return str(value).strip()


def _number(value: Any) -> float | None:
    if blank(value):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _record(value: Any) -> Mapping[str, Any]:
    if isinstance(value, str) and value.strip().startswith("{"):
        value = json.loads(value)
    return value if isinstance(value, Mapping) else {}


def _flatten(frame: pd.DataFrame) -> Prepared:
    """One row per item of each e-commerce event; other events are skipped."""
    rows: dict[str, list[Any]] = {name: [] for name in (*_TEXT, "event_timestamp", "price",
                                                        "quantity")}  # fmt: skip
    origin: list[int] = []
    skipped: dict[int, tuple[str | None, str | None, str]] = {}
    columns = set(frame.columns)
    records = frame.to_dict("records")
    for i, event in enumerate(records):
        name = _text(event.get("event_name"))
        if name not in EVENT_TYPES:
            skipped[i] = ("event_name", name, f"GA4 event '{name}' is not one ShopGuide uses")
            continue
        items = event.get("items") if "items" in columns else None
        if isinstance(items, str):
            items = json.loads(items)
        elif isinstance(items, np.ndarray | tuple):  # a Parquet list column
            items = list(items)
        if not isinstance(items, list) or not items:
            skipped[i] = ("items", None, f"GA4 {name} event has no items")
            continue
        ecommerce, geo = _record(event.get("ecommerce")), _record(event.get("geo"))
        stamp = event.get("event_timestamp")
        for item in items:
            item = _record(item)
            origin.append(i)
            rows["event_name"].append(name)
            rows["event_timestamp"].append(
                None
                if blank(stamp) or not str(stamp).strip().lstrip("-").isdigit()
                else int(str(stamp).strip())
            )
            rows["user_id"].append(_text(event.get("user_id")))
            rows["user_pseudo_id"].append(_text(event.get("user_pseudo_id")))
            rows["transaction_id"].append(_text(ecommerce.get("transaction_id")))
            rows["geo_city"].append(_text(geo.get("city")))
            rows["geo_country"].append(_text(geo.get("country")))
            for key in ("item_id", "item_name", "item_brand", *_CATEGORIES):
                rows[key].append(_text(item.get(key)))
            rows["price"].append(_number(item.get("price")))
            rows["quantity"].append(_number(item.get("quantity")))
    out = pd.DataFrame(
        {
            **{name: pd.Series(rows[name], dtype=object) for name in _TEXT},
            "event_timestamp": pd.Series(rows["event_timestamp"], dtype="Int64"),
            "price": pd.Series(rows["price"], dtype="Float64"),
            "quantity": pd.Series(rows["quantity"], dtype="Float64"),
        }
    )
    return Prepared(out, np.asarray(origin, dtype=np.int64), skipped)


def _step() -> ChunkStep:
    return _flatten


EVENT_TYPE = (
    "CASE event_name "
    + " ".join(f"WHEN '{ga4}' THEN '{ours}'" for ga4, ours in EVENT_TYPES.items())
    + " END"
)
USER_ID = "coalesce(user_id, user_pseudo_id)"
CATEGORY = f"nullif(concat_ws(' > ', {', '.join(_CATEGORIES)}), '')"


#: the export's top-level columns the preset reads: a Parquet export's others (event_params,
#: user_properties, device, …) are left in the file
TOP_LEVEL = tuple(dict.fromkeys(name.split(".")[0].split("[")[0] for name in READS))
#: a GA4 event is large once parsed (nested records): chunks of at most this many events
CHUNK_ROWS = 50_000


def _plan(**parts: object) -> ColumnPlan:
    return ColumnPlan(
        requires=REQUIRED, prepare=_step, only_mapped=True, infer_types=False, label="preset ga4",
        reads_only=TOP_LEVEL, max_chunk_rows=CHUNK_ROWS, **parts,  # type: ignore[arg-type]
    )  # fmt: skip


EVENTS = _plan(
    rename={
        "item_id": "item_id",
        "transaction_id": "order_id",
        "price": "price",
        "quantity": "quantity",
    },
    derive={
        "event_type": EVENT_TYPE,
        "user_id": USER_ID,
        "timestamp": "make_timestamp(event_timestamp)",
    },
)
ITEMS = _plan(
    rename={"item_id": "item_id", "item_name": "title", "item_brand": "brand", "price": "price"},
    derive={"category": CATEGORY},
)
USERS = _plan(
    derive={"user_id": USER_ID, "location": "nullif(concat_ws(', ', geo_city, geo_country), '')"},
)

PRESET = Preset(
    name="ga4",
    title="Google Analytics 4 BigQuery export (JSON lines or Parquet)",
    formats=("jsonl", "parquet"),
    reads=READS,
    tables={"events": EVENTS, "items": ITEMS, "users": USERS},
)
