"""``--preset woocommerce-orders``: WooCommerce order exports, one row per line item.

WooCommerce core has no order CSV export; the layout read here is the one of the official
*Customer / Order / Coupon Export* extension (woocommerce.com), format "Default - One Row per
Item", whose column keys its documentation promises never to change. The preset reads
``order_id``, ``order_date``, ``status``, ``customer_id``, ``billing_email``,
``billing_city``, ``billing_country``, ``item_product_id``, ``item_sku``, ``item_name``,
``item_quantity``, ``item_subtotal`` (before discounts) and ``item_total`` (after).

The customer is the SHA-256 of the lower-cased billing e-mail (the address is never stored),
or ``customer:ID`` when an order has no e-mail. Only sales count: orders whose status is not
``completed`` or ``processing`` are skipped with a counted reason.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopguide.data.mapping import ChunkStep, ColumnPlan, Prepared
from shopguide.data.presets._base import Preset, blank

REQUIRED = ("order_id", "order_date", "status", "billing_email", "item_product_id",
            "item_name", "item_quantity", "item_subtotal", "item_total")  # fmt: skip
OPTIONAL = ("customer_id", "item_sku", "billing_city", "billing_country")
SALES = ("completed", "processing")

USER_ID = """CASE WHEN billing_email IS NOT NULL THEN sha256(lower(trim(billing_email)))
    WHEN customer_id NOT IN ('', '0') THEN 'customer:' || customer_id END"""  # fmt: skip
ITEM_ID = "coalesce(item_sku, item_product_id)"
UNIT_PRICE = "CAST(item_subtotal AS DOUBLE) / CAST(item_quantity AS DOUBLE)"


def _only_sales(frame: pd.DataFrame) -> Prepared:
    status = frame["status"].astype(object).tolist()
    keep = np.ones(len(frame), dtype=bool)
    skipped: dict[int, tuple[str | None, str | None, str]] = {}
    for i, value in enumerate(status):
        text = "" if blank(value) else str(value).strip().lower().removeprefix("wc-")
        if text not in SALES:
            keep[i] = False
            skipped[i] = ("status", str(value), f"order status '{text}' is not a sale")
    return Prepared(frame[keep], np.flatnonzero(keep), skipped)


def _step() -> ChunkStep:
    return _only_sales


def _plan(**parts: object) -> ColumnPlan:
    return ColumnPlan(
        requires=REQUIRED, optional=OPTIONAL, prepare=_step, only_mapped=True, infer_types=False,
        label="preset woocommerce-orders", **parts,  # type: ignore[arg-type]
    )  # fmt: skip


EVENTS = _plan(
    rename={"order_id": "order_id", "order_date": "timestamp", "item_quantity": "quantity"},
    constants={"event_type": "purchase"},
    derive={
        "user_id": USER_ID,
        "item_id": ITEM_ID,
        "price": UNIT_PRICE,
        "discount": "greatest(CAST(item_subtotal AS DOUBLE) - CAST(item_total AS DOUBLE), 0)",
    },
)
ITEMS = _plan(
    rename={"item_name": "title"},
    derive={"item_id": ITEM_ID, "price": UNIT_PRICE},
)
USERS = _plan(
    derive={
        "user_id": USER_ID,
        "location": "nullif(concat_ws(', ', billing_city, billing_country), '')",
    },
)

PRESET = Preset(
    name="woocommerce-orders",
    title="WooCommerce Customer/Order/Coupon Export, one row per item (CSV)",
    formats=("csv",),
    reads=REQUIRED + OPTIONAL,
    tables={"events": EVENTS, "items": ITEMS, "users": USERS},
)
