"""Column names of every table ShopGuide reads or writes, and the events, users and items tables.

One place for every name, so a typo is an attribute error instead of a silent
empty column. The canonical file columns load with no ``--map``.

:data:`EVENTS`, :data:`USERS` and :data:`ITEMS` are the one description of those tables: each
column's kind (how a file value is parsed and which type it has in DuckDB, Arrow and Spark),
whether a row needs it, the values and limits it allows, and whether it is a file column or one
only the store has (the event key, the load id, the age band derived from the age, the JSON
attributes). Everything else that lists their columns derives from here: the validation spec
(:data:`shopguide.data.validate.SPECS`), the REST API's event model, the synthetic generator's
Arrow schema and the Spark engine's schema strings (through :mod:`shopguide.schema`). The store's
migrations stay frozen text once shipped; a test checks that a migrated store has exactly the
columns and types described here, so a change here needs a migration to go with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal


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


#: How a column's values are parsed and checked; ``age_band``, ``json`` and ``int`` are
#: store-only kinds (never read from a file column of that name).
Kind = Literal[
    "id", "text", "event_type", "timestamp", "number", "bool", "gender", "age",
    "age_band", "json", "int",
]  # fmt: skip

# The limits every format and the REST API share (documented in docs/concepts/data-model.md).
# They keep values no shop has out of the store, so every sum over accepted rows stays finite.
#: The largest quantity one event line may have.
MAX_QUANTITY: Final = 1_000_000
#: The largest unit price or discount (in the shop's currency) a row may have.
MAX_AMOUNT: Final = 1_000_000_000
#: The longest id, in characters; ids may not hold control characters either.
MAX_ID_LENGTH: Final = 200


@dataclass(frozen=True)
class Column:
    """One column of a table: its kind and what makes a value bad (ids, whatever the table,
    have at most :data:`MAX_ID_LENGTH` characters).

    ``required``: a file row without a value is rejected. ``default``: the value a missing one
    takes. ``allowed``: the only values accepted. ``in_file``: false for columns only the store
    has. ``key``: the store's own row key. ``doc``: the description the API shows.
    """

    name: str
    kind: Kind
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    positive: bool = False
    default: float | None = None
    allowed: tuple[str, ...] | None = None
    in_file: bool = True
    key: bool = False
    doc: str | None = None

    @property
    def not_null(self) -> bool:
        """Whether the store never holds NULL here (required, defaulted or the row key)."""
        return self.required or self.key or self.default is not None


def _id(name: str, *, required: bool = False, doc: str | None = None) -> Column:
    return Column(name, "id", required=required, doc=doc)


_LOAD_ID: Final = Column(Columns.LOAD_ID, "int", in_file=False)
_ATTRIBUTES: Final = Column(Columns.ATTRIBUTES, "json", in_file=False)


@dataclass(frozen=True)
class Table:
    """A stored table: its columns in store order, and the column that identifies a row."""

    name: str
    columns: tuple[Column, ...]
    key: str

    @property
    def file_columns(self) -> tuple[Column, ...]:
        """The canonical file columns, in file order."""
        return tuple(c for c in self.columns if c.in_file)

    @property
    def file_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.file_columns)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def keeps_attributes(self) -> bool:
        """Whether non-canonical file columns are kept (as JSON in ``attributes``)."""
        return Columns.ATTRIBUTES in self.names

    def column(self, name: str) -> Column:
        """The column called ``name`` (``KeyError`` if the table has none)."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name} has no column {name!r}")


EVENTS: Final = Table(
    "events",
    (
        Column(Columns.EVENT_KEY, "id", in_file=False, key=True),
        _id(Columns.EVENT_ID, doc="Your id; makes re-sends idempotent."),
        _id(Columns.USER_ID, required=True),
        _id(Columns.ITEM_ID, required=True),
        Column(
            Columns.EVENT_TYPE,
            "event_type",
            required=True,
            allowed=EventType.ALL,
            doc=", ".join(EventType.ALL[:-1]) + f" or {EventType.ALL[-1]}.",
        ),
        Column(Columns.TIMESTAMP, "timestamp", required=True, doc="ISO 8601; naive means UTC."),
        Column(Columns.QUANTITY, "number", positive=True, maximum=MAX_QUANTITY, default=1.0),
        Column(Columns.PRICE, "number", minimum=0.0, maximum=MAX_AMOUNT, doc="Unit price."),
        Column(
            Columns.DISCOUNT, "number", minimum=0.0, maximum=MAX_AMOUNT, doc="Money off the line."
        ),
        _id(Columns.ORDER_ID),
        _id(Columns.SESSION_ID),
        _id(Columns.CAMPAIGN_ID),
        _LOAD_ID,
    ),
    key=Columns.EVENT_KEY,
)
USERS: Final = Table(
    "users",
    (
        _id(Columns.USER_ID, required=True),
        Column(Columns.GENDER, "gender"),
        Column(Columns.AGE, "age"),
        Column(Columns.AGE_BAND, "age_band", in_file=False),
        Column(Columns.LOCATION, "text"),
        Column(Columns.SIGNUP_AT, "timestamp"),
        _ATTRIBUTES,
        _LOAD_ID,
    ),
    key=Columns.USER_ID,
)
ITEMS: Final = Table(
    "items",
    (
        _id(Columns.ITEM_ID, required=True),
        Column(Columns.TITLE, "text"),
        Column(Columns.CATEGORY, "text"),
        Column(Columns.BRAND, "text"),
        Column(Columns.PRICE, "number", minimum=0.0, maximum=MAX_AMOUNT),
        Column(Columns.IN_STOCK, "bool"),
        _ATTRIBUTES,
        _LOAD_ID,
    ),
    key=Columns.ITEM_ID,
)
#: The tables above by name.
TABLES: Final = {table.name: table for table in (EVENTS, USERS, ITEMS)}

#: Canonical file columns per table, in file order.
EVENT_FILE_COLUMNS: Final = EVENTS.file_names
USER_FILE_COLUMNS: Final = USERS.file_names
ITEM_FILE_COLUMNS: Final = ITEMS.file_names
