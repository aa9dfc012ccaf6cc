"""Column names of every table ShopGuide reads or writes.

One place for every name, so a typo is an attribute error instead of a silent
empty column. The canonical file columns load with no ``--map``.
"""

from __future__ import annotations

from typing import Final


class Columns:
    """Canonical column names shared by files, the store and data frames."""

    # events
    EVENT_ID: Final = "event_id"
    USER_ID: Final = "user_id"
    ITEM_ID: Final = "item_id"
    EVENT_TYPE: Final = "event_type"
    TIMESTAMP: Final = "timestamp"
    QUANTITY: Final = "quantity"
    PRICE: Final = "price"
    DISCOUNT: Final = "discount"
    ORDER_ID: Final = "order_id"
    SESSION_ID: Final = "session_id"
    CAMPAIGN_ID: Final = "campaign_id"
    # users
    GENDER: Final = "gender"
    AGE: Final = "age"
    AGE_BAND: Final = "age_band"
    LOCATION: Final = "location"
    SIGNUP_AT: Final = "signup_at"
    # items
    TITLE: Final = "title"
    CATEGORY: Final = "category"
    BRAND: Final = "brand"
    IN_STOCK: Final = "in_stock"
    # shared
    ATTRIBUTES: Final = "attributes"
    # internal (store only)
    EVENT_KEY: Final = "event_key"
    LOAD_ID: Final = "load_id"
    # dense integer ids used inside models
    USER_IDX: Final = "user_idx"
    ITEM_IDX: Final = "item_idx"
    WEIGHT: Final = "weight"
    SCORE: Final = "score"
    RANK: Final = "rank"


class EventType:
    """The event types ShopGuide understands, from weakest to strongest signal."""

    VIEW: Final = "view"
    CLICK: Final = "click"
    FAVORITE: Final = "favorite"
    CART: Final = "cart"
    PURCHASE: Final = "purchase"
    REFUND: Final = "refund"

    ALL: Final = ("view", "click", "favorite", "cart", "purchase", "refund")


#: Canonical file columns per table, in file order.
EVENT_FILE_COLUMNS: Final = (
    Columns.EVENT_ID,
    Columns.USER_ID,
    Columns.ITEM_ID,
    Columns.EVENT_TYPE,
    Columns.TIMESTAMP,
    Columns.QUANTITY,
    Columns.PRICE,
    Columns.DISCOUNT,
    Columns.ORDER_ID,
    Columns.SESSION_ID,
    Columns.CAMPAIGN_ID,
)
USER_FILE_COLUMNS: Final = (
    Columns.USER_ID,
    Columns.GENDER,
    Columns.AGE,
    Columns.LOCATION,
    Columns.SIGNUP_AT,
)
ITEM_FILE_COLUMNS: Final = (
    Columns.ITEM_ID,
    Columns.TITLE,
    Columns.CATEGORY,
    Columns.BRAND,
    Columns.PRICE,
    Columns.IN_STOCK,
)
