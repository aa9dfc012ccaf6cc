"""UCI Online Retail (Chen, Sain & Guo 2012) as canonical users, items and events.

Every line item of a UK online gift retailer, 2010-12-01 .. 2011-12-09 (541,909 lines).
How the adapter reads it:

- a line of a normal invoice is a ``purchase``; a line of a cancellation invoice (``C…``) is a
  ``refund`` of ``|Quantity|`` units;
- ``StockCode`` is the item, ``Description`` its title, ``UnitPrice`` the price, ``InvoiceNo`` the
  order, ``CustomerID`` the user (as an integer string) and ``Country`` the user's location;
- the event id is ``<InvoiceNo>:<position of the line in its invoice>``. 5,192 purchase lines
  repeat another line of the same invoice exactly; they are kept as separate line items (the
  shop listed them twice and the invoice total counts both), so all 397,884 valid purchase lines
  become events;
- rejected (quarantined with their reason): lines without a customer (anonymous sales), lines of
  a normal invoice with a non-positive quantity (stock adjustments, damages), and lines with a
  non-positive price (free items, bad-debt adjustments);
- categories are not in the data: each item gets one from keywords of its most common
  description (first matching rule of :data:`CATEGORY_RULES`; postage, fees and manual lines
  are "Services & fees"; no match is "Other").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from shopguide.columns import Columns as C
from shopguide.columns import EventType
from shopguide.data.datasets import bundled_file
from shopguide.data.ingest import LoadReport, ProgressCallback, file_sha256, ingest_frame
from shopguide.store.base import Store

SOURCE_NAME: Final = "online_retail.parquet"
SERVICE_CODES: Final = frozenset(
    {"POST", "DOT", "M", "C2", "D", "S", "BANK CHARGES", "AMAZONFEE", "CRUK", "PADS", "B"}
)
#: (category, regular expression on the upper-case description), first match wins.
CATEGORY_RULES: Final[tuple[tuple[str, str], ...]] = (
    ("Seasonal > Christmas", r"CHRISTMAS|XMAS|ADVENT|SANTA|REINDEER|SNOWFLAKE|NATIVITY"),
    ("Seasonal > Easter", r"EASTER|\bBUNNY\b|\bCHICK"),
    ("Bags", r"\bBAGS?\b|SHOPPER|\bTOTE\b"),
    ("Cards & gift wrap", r"\bCARDS?\b|\bWRAP|GIFT TAPE|RIBBON|TISSUE|ENVELOPE|\bTAG"),
    ("Candles & lighting", r"CANDLE|T-LIGHT|TEA ?LIGHT|LANTERN|\bLIGHTS?\b|\bLAMP|NIGHT LIGHT"),
    (
        "Kitchen & dining",
        r"\bMUGS?\b|\bCUPS?\b|TEACUP|TEAPOT|\bTEA\b|PLATE|\bBOWLS?\b|\bJUG\b|GLASS|CAKE|BAKING|"
        r"KITCHEN|LUNCH|\bTINS?\b|NAPKIN|SPOON|CUTLERY|\bTRAY\b|COASTER|BOTTLE|\bJARS?\b|"
        r"APRON|OVEN GLOVE|TUMBLER|BEAKER|PANTRY|BREAD|BISCUIT|RECIPE|EGG CUP|SAUCER|CHOPSTICK",
    ),
    (
        "Home decor",
        r"FRAME|CLOCK|MIRROR|\bSIGN\b|PLAQUE|DOORMAT|CUSHION|\bWALL\b|\bHOOKS?\b|DRAWER|"
        r"STORAGE|\bBOX(ES)?\b|VASE|ORNAMENT|HEART|DOORSTOP|CABINET|SHELF|BLANKET|THROW|"
        r"WICKER|BASKET|HANGING|WREATH|HOT WATER BOTTLE",
    ),
    (
        "Fashion & accessories",
        r"NECKLACE|EARRINGS?|BRACELET|\bRINGS?\b|JEWEL|\bHAIR|UMBRELLA|PURSE|SCARF|\bBAG CHARM|"
        r"BROOCH|WALLET|GLOVES|HANDBAG|SLIPPER",
    ),
    (
        "Toys & kids",
        r"\bTOYS?\b|\bGAMES?\b|\bDOLLS?\b|DOLLY|PUZZLE|CHILDREN|CHILDS|\bKIDS?\b|SPACEBOY|"
        r"CRAYON|PAINT|\bTEDDY|SKIPPING ROPE|JIGSAW|MAGIC|BALLOON|SNAP|DOMINO|NINJA",
    ),
    (
        "Stationery",
        r"NOTEBOOK|\bPENS?\b|PENCIL|STICKER|CALENDAR|DIARY|STATIONERY|ERASER|RULER|\bPAD\b|"
        r"NOTE ?PAD|JOURNAL|MEMO|CHALK|\bBOOK\b",
    ),
    ("Garden", r"GARDEN|\bPLANT|FLOWER|\bBIRD|WATERING|\bPOT\b|HERB|SEED|TROWEL|\bPLANTER"),
    ("Party", r"PARTY|BUNTING|DECORATION|GARLAND|CONFETTI|PAPER CHAIN|PICNIC"),
)
_COMPILED: Final = tuple((name, re.compile(pattern)) for name, pattern in CATEGORY_RULES)


@dataclass(frozen=True)
class OnlineRetail:
    """The data set as canonical frames, plus the source lines the adapter rejected."""

    users: pd.DataFrame
    items: pd.DataFrame
    events: pd.DataFrame
    event_lines: np.ndarray
    event_rejects: pd.DataFrame
    source: str


def load_online_retail(
    store: Store, path: str | Path | None = None, *, progress: ProgressCallback | None = None
) -> dict[str, LoadReport]:
    """Read, adapt and load Online Retail into ``store``: items, then users, then events.

    Loading twice adds nothing: the event ids come from the invoice lines.
    """
    path = Path(path) if path is not None else default_path()
    data = read_online_retail(path)
    digest = file_sha256(path)
    return {
        "items": ingest_frame(store, "items", data.items, source=data.source, sha256=digest),
        "users": ingest_frame(store, "users", data.users, source=data.source, sha256=digest),
        "events": ingest_frame(
            store,
            "events",
            data.events,
            source=data.source,
            sha256=digest,
            lines=data.event_lines,
            rejects=data.event_rejects,
            progress=progress,
        ),
    }


def default_path() -> Path:
    """The copy of Online Retail shipped with ShopGuide."""
    return bundled_file("online_retail", SOURCE_NAME)


def categorize(description: str | None, stock_code: str) -> str:
    """The keyword category of one item (see :data:`CATEGORY_RULES`)."""
    if stock_code.upper() in SERVICE_CODES or stock_code.lower().startswith("gift_"):
        return "Services & fees"
    text = (description or "").upper()
    for name, pattern in _COMPILED:
        if pattern.search(text):
            return name
    return "Other"


def read_online_retail(path: str | Path | None = None) -> OnlineRetail:
    """Read the Parquet file and adapt it (see the module docstring for the rules)."""
    path = Path(path) if path is not None else default_path()
    raw = pd.read_parquet(path)
    lines = np.arange(1, len(raw) + 1, dtype=np.int64)
    invoice = raw["InvoiceNo"].astype(str)
    cancelled = invoice.str.startswith("C").to_numpy()
    customer = raw["CustomerID"]
    no_customer = customer.isna().to_numpy()
    bad_quantity = (~cancelled) & (raw["Quantity"].to_numpy() <= 0)
    bad_price = raw["UnitPrice"].to_numpy() <= 0

    reason = np.select(
        [no_customer, bad_quantity, bad_price],
        [
            "missing customer id (an anonymous sale)",
            "non-positive quantity on a sales invoice (a stock adjustment)",
            "non-positive price (a free item or an accounting adjustment)",
        ],
        default="",
    )
    column = np.select(
        [no_customer, bad_quantity, bad_price], ["CustomerID", "Quantity", "UnitPrice"], default=""
    )
    bad = reason != ""
    bad_rows = raw[bad]
    value = np.select(
        [no_customer[bad], bad_quantity[bad]],
        ["", bad_rows["Quantity"].astype(str).to_numpy()],
        default=bad_rows["UnitPrice"].astype(str).to_numpy(),
    )
    rejects = pd.DataFrame(
        {
            "line": lines[bad],
            "column_name": column[bad],
            "value": value,
            "reason": reason[bad],
            "raw": bad_rows.to_json(orient="records", lines=True, date_format="iso").splitlines(),
            # the customer of the line, as events store it, so an erasure finds their rows
            "user_id": [
                None if pd.isna(c) else str(int(c)) for c in bad_rows["CustomerID"].to_numpy()
            ],
        }
    )
    keep = ~(no_customer | bad_quantity | bad_price)

    position = raw.groupby(invoice, sort=False).cumcount().to_numpy() + 1
    kept = raw[keep]
    events = pd.DataFrame(
        {
            C.EVENT_ID: invoice[keep]
            + ":"
            + pd.Series(position[keep], index=kept.index).astype(str),
            C.USER_ID: kept["CustomerID"].astype("int64").astype(str),
            C.ITEM_ID: kept["StockCode"].astype(str),
            C.EVENT_TYPE: np.where(cancelled[keep], EventType.REFUND, EventType.PURCHASE),
            C.TIMESTAMP: kept["InvoiceDate"],
            C.QUANTITY: kept["Quantity"].abs().astype(float),
            C.PRICE: kept["UnitPrice"].astype(float),
            C.ORDER_ID: invoice[keep],
        }
    ).reset_index(drop=True)

    items = _items(raw)
    users = _most_common(
        pd.DataFrame({C.USER_ID: events[C.USER_ID], C.LOCATION: kept["Country"].to_numpy()}),
        C.USER_ID,
        C.LOCATION,
    )
    return OnlineRetail(users, items, events, lines[keep], rejects, SOURCE_NAME)


def _items(raw: pd.DataFrame) -> pd.DataFrame:
    """One row per stock code: commonest description, median sale price, keyword category."""
    codes = raw["StockCode"].astype(str)
    described = raw[raw["Description"].notna()]
    title = (
        _most_common(
            pd.DataFrame(
                {C.ITEM_ID: described["StockCode"].astype(str), C.TITLE: described["Description"]}
            ),
            C.ITEM_ID,
            C.TITLE,
        )
        .set_index(C.ITEM_ID)[C.TITLE]
        .str.strip()
    )
    sold = raw[(raw["UnitPrice"] > 0) & (raw["Quantity"] > 0)]
    price = sold.groupby(sold["StockCode"].astype(str))["UnitPrice"].median()
    ids = pd.Index(codes.unique(), name=C.ITEM_ID)
    items = pd.DataFrame(index=ids)
    items[C.TITLE] = title.reindex(ids)
    items[C.CATEGORY] = [
        categorize(t if isinstance(t, str) else None, code)
        for code, t in zip(ids, items[C.TITLE], strict=True)
    ]
    items[C.PRICE] = price.reindex(ids)
    return items.reset_index()


def _most_common(frame: pd.DataFrame, key: str, value: str) -> pd.DataFrame:
    """The most frequent ``value`` per ``key`` (ties: the alphabetically first)."""
    counts = frame.groupby([key, value], sort=True).size().rename("n").reset_index()
    counts = counts.sort_values([key, "n", value], ascending=[True, False, True], kind="stable")
    return counts.drop_duplicates(key)[[key, value]].reset_index(drop=True)
