"""``--preset shopify-orders``: Shopify's orders export (Admin → Orders → Export, CSV).

The export has one row per line item. Order-level fields (e-mail, billing address,
cancellation) may be blank on an order's later rows, so the step below fills them from the
order's first row (rows of one order are adjacent; the fill carries across chunks). The
customer id is the SHA-256 of the lower-cased, trimmed e-mail: the address itself is never
stored. Cancelled orders are skipped with a counted reason.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopguide.data.mapping import ChunkStep, ColumnPlan, Prepared
from shopguide.data.presets._base import Preset, blank

#: columns the preset reads (docs/howto/own-data.md lists them with their use)
REQUIRED = ("Name", "Email", "Created at", "Lineitem quantity", "Lineitem name",
            "Lineitem price", "Lineitem sku")  # fmt: skip
OPTIONAL = ("Lineitem discount", "Vendor", "Billing City", "Billing Country", "Cancelled at")
ORDER_LEVEL = ("Email", "Created at", "Billing City", "Billing Country", "Cancelled at")

USER_ID = 'sha256(lower(trim("Email")))'
ITEM_ID = 'coalesce("Lineitem sku", "Lineitem name")'


class FillOrderFields:
    """Fills blank order-level fields of an order's later line items from its first row."""

    def __init__(self) -> None:
        self._name: str | None = None
        self._values: dict[str, object] = {}

    def __call__(self, frame: pd.DataFrame) -> Prepared:
        frame = frame.copy()
        columns = [c for c in ORDER_LEVEL if c in frame.columns]
        names = frame["Name"].astype(object).tolist()
        rows = {c: frame[c].astype(object).tolist() for c in columns}
        for i, name in enumerate(names):
            if name != self._name:
                self._name, self._values = name, {}
            for c in columns:
                value = rows[c][i]
                if blank(value):
                    rows[c][i] = self._values.get(c)
                else:
                    self._values[c] = value
        for c in columns:
            frame[c] = pd.Series(rows[c], index=frame.index, dtype=object)
        keep = np.ones(len(frame), dtype=bool)
        skipped: dict[int, tuple[str | None, str | None, str]] = {}
        if "Cancelled at" in frame.columns:
            for i, value in enumerate(rows["Cancelled at"]):
                if not blank(value):
                    keep[i] = False
                    skipped[i] = ("Cancelled at", str(value), f"order cancelled at '{value}'")
        return Prepared(frame[keep], np.flatnonzero(keep), skipped)


def _step() -> ChunkStep:
    return FillOrderFields()


def _plan(**parts: object) -> ColumnPlan:
    return ColumnPlan(
        requires=REQUIRED, optional=OPTIONAL, prepare=_step, only_mapped=True, infer_types=False,
        label="preset shopify-orders", **parts,  # type: ignore[arg-type]
    )  # fmt: skip


EVENTS = _plan(
    rename={
        "Name": "order_id",
        "Created at": "timestamp",
        "Lineitem quantity": "quantity",
        "Lineitem price": "price",
        "Lineitem discount": "discount",
    },
    constants={"event_type": "purchase"},
    derive={"user_id": USER_ID, "item_id": ITEM_ID},
)
ITEMS = _plan(
    rename={"Lineitem name": "title", "Vendor": "brand", "Lineitem price": "price"},
    derive={"item_id": ITEM_ID},
)
USERS = _plan(
    derive={
        "user_id": USER_ID,
        "location": """nullif(concat_ws(', ', "Billing City", "Billing Country"), '')""",
    },
)

PRESET = Preset(
    name="shopify-orders",
    title="Shopify orders export (CSV, one row per line item)",
    formats=("csv",),
    reads=REQUIRED + OPTIONAL,
    tables={"events": EVENTS, "items": ITEMS, "users": USERS},
)
