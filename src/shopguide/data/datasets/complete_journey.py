"""84.51° "The Complete Journey 2.0" (CC0, via the R package completejourney), bundled.

Grocery purchases of households of one US retailer in 2017, with demographics, products
(department, category, type, National/Private brand), line discounts, and the retailer's
campaigns with coupons and redemptions. The package ships the R package's samples:
``transactions_sample`` (75,000 random line items of 2,377 households), ``demographics`` (801
households), ``products`` (92,331), ``campaigns`` (6,589 household-campaign pairs),
``campaign_descriptions`` (27), ``coupons`` (116,204 coupon-product rows), ``coupon_redemptions``
(2,102) and ``promotions_sample``. Credit and licence: ``data/bundled/complete_journey/LICENSE.md``.

Money conventions (the source's own, checked on these files)
    ``sales_value`` is the line amount after the loyalty and coupon discounts, as the retailer
    books it (the R documentation calls it "amount of dollars retailer receives from sale").
    ``retail_disc`` (loyalty card), ``coupon_disc`` (manufacturer coupon) and
    ``coupon_match_disc`` (retailer's match of a coupon) are the money taken off the line. The
    original 84.51° files store discounts as negative numbers; this CSV (the R package's copy)
    stores them as non-negative numbers. The loader takes absolute values, so either spelling
    gives the same result:

    * ``discount`` = abs(retail_disc) + abs(coupon_disc) + abs(coupon_match_disc), the money
      off the line, rounded to cents;
    * ``price`` (unit shelf price) = round(``sales_value`` + ``discount``, 2) / ``quantity``
      (not rounded: fuel unit prices are fractions of a cent).

Rows dropped or kept
    * 416 lines have ``quantity`` 0 and ``sales_value`` 0 (coupon or adjustment lines with no
      goods); there is no unit price for them, so they are dropped. One of them is the only
      line whose basket id the source wrote as a float (``4.0128e+10``). 74,584 purchase
      events remain (2,373 households, 47,034 baskets, 20,833 products).
    * 694 lines have a quantity above 50, almost all fuel (603 in department FUEL, 89 in
      MISCELLANEOUS with product type GASOLINE-REG UNLEADED): their quantities run into the
      thousands (the source's unit for fuel, not gallons), so their unit prices are fractions of
      a cent. They are kept as they are.
    * 222 lines name a product missing from ``products``; they are kept (the item is unknown).
    * No (basket, product) pair repeats in the sample, but the event id still carries the line's
      position within its (basket, product) pair so it stays unique if one ever does.
    * Events carry no ``campaign_id``: a coupon line can be tied to a campaign only through
      (household, product, redemption date), which matches 52 of the 1,135 coupon lines, too few
      to be worth a guess; use :func:`complete_journey_campaigns` for targeting.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from shopguide.columns import Columns, EventType
from shopguide.data.datasets import bundled_file
from shopguide.data.ingest import LoadReport, file_sha256, ingest_frame
from shopguide.errors import FileReadError, MissingColumnsError
from shopguide.store import Store

__all__ = [
    "COMPLETE_JOURNEY_TABLES",
    "CompleteJourneyCampaigns",
    "complete_journey_campaigns",
    "complete_journey_dir",
    "complete_journey_event_rejects",
    "complete_journey_events",
    "complete_journey_items",
    "complete_journey_users",
    "load_complete_journey",
    "read_complete_journey",
]

#: The bundled tables and the columns each must have.
COMPLETE_JOURNEY_TABLES: Final[dict[str, tuple[str, ...]]] = {
    "transactions_sample": (
        "household_id",
        "store_id",
        "basket_id",
        "product_id",
        "quantity",
        "sales_value",
        "retail_disc",
        "coupon_disc",
        "coupon_match_disc",
        "week",
        "transaction_timestamp",
    ),
    "demographics": (
        "household_id",
        "age",
        "income",
        "home_ownership",
        "marital_status",
        "household_size",
        "household_comp",
        "kids_count",
    ),
    "products": (
        "product_id",
        "manufacturer_id",
        "department",
        "brand",
        "product_category",
        "product_type",
        "package_size",
    ),
    "campaigns": ("campaign_id", "household_id"),
    "campaign_descriptions": ("campaign_id", "campaign_type", "start_date", "end_date"),
    "coupons": ("coupon_upc", "product_id", "campaign_id"),
    "coupon_redemptions": ("household_id", "coupon_upc", "campaign_id", "redemption_date"),
    "promotions_sample": ("product_id", "store_id", "display_location", "mailer_location", "week"),
}

# ids are read as text: they are external ids, and pandas would otherwise parse the 11-digit
# basket ids as floats (the column has no missing values but is inferred as float64)
_ID_COLUMNS: Final = (
    "household_id",
    "store_id",
    "basket_id",
    "product_id",
    "manufacturer_id",
    "campaign_id",
    "coupon_upc",
    "display_location",
    "mailer_location",
)
_DEMOGRAPHIC_ATTRIBUTES: Final = (
    "income",
    "home_ownership",
    "marital_status",
    "household_size",
    "household_comp",
    "kids_count",
)


def complete_journey_dir() -> Path:
    """Folder holding the bundled ``*.csv.gz`` files."""
    return bundled_file("complete_journey")


def read_complete_journey(name: str, directory: str | Path | None = None) -> pd.DataFrame:
    """Read one source table as it is, with ids as strings (no other change).

    Parameters
    ----------
    name
        One of :data:`COMPLETE_JOURNEY_TABLES` (``"transactions_sample"``, ``"demographics"``...).
    directory
        Folder with ``<name>.csv.gz``; the bundled copy by default.
    """
    if name not in COMPLETE_JOURNEY_TABLES:
        raise ValueError(
            f"unknown Complete Journey table {name!r}; "
            f"choose one of {', '.join(COMPLETE_JOURNEY_TABLES)}"
        )
    path = Path(directory or complete_journey_dir()) / f"{name}.csv.gz"
    expected = COMPLETE_JOURNEY_TABLES[name]
    try:
        df = pd.read_csv(path, dtype={c: "str" for c in _ID_COLUMNS if c in expected})
    except (OSError, ValueError) as exc:
        raise FileReadError(str(path), str(exc)) from exc
    missing = [c for c in expected if c not in df.columns]
    if missing:
        raise MissingColumnsError(str(path), missing, list(df.columns))
    return df


def _none_if_missing(value: Any) -> Any:
    return None if pd.isna(value) else value


def _records(df: pd.DataFrame, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    """One plain dict per row, with missing values as ``None`` (JSON null)."""
    values = df[list(columns)].astype(object).to_numpy()
    return [{c: _none_if_missing(v) for c, v in zip(columns, row, strict=True)} for row in values]


def complete_journey_users(
    directory: str | Path | None = None, *, include_unprofiled: bool = False
) -> pd.DataFrame:
    """Households as canonical users.

    Returns
    -------
    DataFrame
        ``user_id`` (household id as text), ``gender`` (null: not in the data), ``age``
        (null: only bands are known), ``age_band`` (``"19-24"``, ``"25-34"``, ``"35-44"``,
        ``"45-54"``, ``"55-64"``, ``"65+"``), ``location`` (null), ``signup_at`` (NaT) and
        ``attributes``: a dict per user with ``income`` (band such as ``"50-74K"``),
        ``home_ownership``, ``marital_status``, ``household_size`` (``"1"``..``"5+"``),
        ``household_comp`` and ``kids_count`` (``"0"``..``"3+"``), ``None`` where unknown.
        801 rows (the households with demographics), sorted by ``user_id``; with
        ``include_unprofiled`` also every other household seen in the transactions, campaigns
        or redemptions, with null demographics and an empty ``attributes`` dict.
    """
    demo = read_complete_journey("demographics", directory)
    users = pd.DataFrame(
        {
            Columns.USER_ID: demo["household_id"].astype("str"),
            Columns.GENDER: pd.Series([None] * len(demo), dtype="str"),
            Columns.AGE: pd.Series([pd.NA] * len(demo), dtype="Int64"),
            Columns.AGE_BAND: demo["age"].astype("str"),
            Columns.LOCATION: pd.Series([None] * len(demo), dtype="str"),
            Columns.SIGNUP_AT: pd.Series([pd.NaT] * len(demo), dtype="datetime64[us]"),
            Columns.ATTRIBUTES: _records(demo, _DEMOGRAPHIC_ATTRIBUTES),
        }
    )
    if include_unprofiled:
        seen: set[str] = set()
        for name in ("transactions_sample", "campaigns", "coupon_redemptions"):
            seen |= set(read_complete_journey(name, directory)["household_id"])
        extra = sorted(seen - set(users[Columns.USER_ID]))
        more = pd.DataFrame(
            {
                Columns.USER_ID: pd.Series(extra, dtype="str"),
                Columns.GENDER: pd.Series([None] * len(extra), dtype="str"),
                Columns.AGE: pd.Series([pd.NA] * len(extra), dtype="Int64"),
                Columns.AGE_BAND: pd.Series([None] * len(extra), dtype="str"),
                Columns.LOCATION: pd.Series([None] * len(extra), dtype="str"),
                Columns.SIGNUP_AT: pd.Series([pd.NaT] * len(extra), dtype="datetime64[us]"),
                Columns.ATTRIBUTES: [{} for _ in extra],
            }
        )
        users = pd.concat([users, more], ignore_index=True)
    return users.sort_values(Columns.USER_ID, key=lambda s: s.astype(np.int64), ignore_index=True)


def complete_journey_items(directory: str | Path | None = None) -> pd.DataFrame:
    """Products as canonical items.

    Returns
    -------
    DataFrame
        92,331 rows: ``item_id`` (product id as text), ``title`` (the most specific of
        product_type, product_category, department: the data has no product names),
        ``category`` (``"department > product_category > product_type"``, missing levels left
        out, e.g. ``"GROCERY > FRZN ICE > ICE - CRUSHED/CUBED"``), ``brand`` (``"National"`` or
        ``"Private"``), ``price`` (NaN: the catalogue has no prices; see the events), ``in_stock``
        (null) and ``attributes``: ``{"manufacturer_id": str, "package_size": str | None}``.
    """
    prod = read_complete_journey("products", directory)
    levels = prod[["department", "product_category", "product_type"]].astype(object)
    paths = [
        " > ".join(str(v) for v in row if not pd.isna(v) and str(v).strip())
        for row in levels.to_numpy()
    ]
    title = prod["product_type"].fillna(prod["product_category"]).fillna(prod["department"])
    return pd.DataFrame(
        {
            Columns.ITEM_ID: prod["product_id"].astype("str"),
            Columns.TITLE: title.astype("str"),
            Columns.CATEGORY: pd.Series(paths, dtype="str"),
            Columns.BRAND: prod["brand"].astype("str"),
            Columns.PRICE: np.full(len(prod), np.nan),
            Columns.IN_STOCK: pd.Series([pd.NA] * len(prod), dtype="boolean"),
            Columns.ATTRIBUTES: _records(prod, ("manufacturer_id", "package_size")),
        }
    )


def complete_journey_events(
    directory: str | Path | None = None, *, extra_columns: bool = False
) -> pd.DataFrame:
    """Transaction lines as canonical purchase events (see the module notes for the money).

    Parameters
    ----------
    directory
        Folder with the source files; the bundled copy by default.
    extra_columns
        Also return the source's ``store_id``, ``week``, ``sales_value``, ``retail_disc``,
        ``coupon_disc`` and ``coupon_match_disc`` (absolute values), for analyses that tell
        loyalty discounts from coupons.

    Returns
    -------
    DataFrame
        74,584 rows in file order (zero-quantity lines dropped): ``event_id``
        (``"<basket_id>-<product_id>-<n>"``, n = 0 for the first line of that product in the
        basket), ``user_id`` (household), ``item_id`` (product), ``event_type`` ``"purchase"``,
        ``timestamp`` (datetime64[us]), ``quantity``, ``price`` (unit shelf price before
        discounts), ``discount`` (money off the line, >= 0), ``order_id`` (basket id),
        ``session_id`` and ``campaign_id`` (null).
    """
    tx = read_complete_journey("transactions_sample", directory)
    tx = tx[tx["quantity"] > 0].reset_index(drop=True)
    parts = tx[["retail_disc", "coupon_disc", "coupon_match_disc"]].abs()
    discount = parts.sum(axis=1).round(2)
    price = (tx["sales_value"] + discount).round(2) / tx["quantity"]
    position = tx.groupby(["basket_id", "product_id"], sort=False).cumcount()
    event_id = tx["basket_id"] + "-" + tx["product_id"] + "-" + position.astype("str")
    n = len(tx)
    events = pd.DataFrame(
        {
            Columns.EVENT_ID: event_id.astype("str"),
            Columns.USER_ID: tx["household_id"].astype("str"),
            Columns.ITEM_ID: tx["product_id"].astype("str"),
            Columns.EVENT_TYPE: pd.Series([EventType.PURCHASE] * n, dtype="str"),
            Columns.TIMESTAMP: pd.to_datetime(tx["transaction_timestamp"]).astype("datetime64[us]"),
            Columns.QUANTITY: tx["quantity"].astype("float64"),
            Columns.PRICE: price.astype("float64"),
            Columns.DISCOUNT: discount.astype("float64"),
            Columns.ORDER_ID: tx["basket_id"].astype("str"),
            Columns.SESSION_ID: pd.Series([None] * n, dtype="str"),
            Columns.CAMPAIGN_ID: pd.Series([None] * n, dtype="str"),
        }
    )
    if extra_columns:
        events["store_id"] = tx["store_id"].astype("str")
        events["week"] = tx["week"].astype("int64")
        events["sales_value"] = tx["sales_value"].astype("float64")
        for col in parts.columns:
            events[col] = parts[col].astype("float64")
    return events


def complete_journey_event_rejects(
    directory: str | Path | None = None,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Accounting for :func:`complete_journey_events`, in the shape ``ingest_frame`` takes.

    Returns
    -------
    (lines, rejects)
        ``lines``: the file line (header = line 1) of every event, in event order;
        ``rejects``: one row per dropped source line (``line, column_name, value, reason,
        raw``), so accepted + rejected = the 75,000 lines of the file.
    """
    tx = read_complete_journey("transactions_sample", directory)
    file_line = np.arange(2, len(tx) + 2, dtype=np.int64)
    bad = (tx["quantity"] <= 0).to_numpy()
    bad_rows = tx[bad]
    rejects = pd.DataFrame(
        {
            "line": file_line[bad],
            "column_name": "quantity",
            "value": bad_rows["quantity"].astype("str").to_numpy(),
            "reason": "zero quantity (a coupon or adjustment line with no goods)",
            "raw": bad_rows.to_json(orient="records", lines=True).splitlines(),
            "user_id": bad_rows["household_id"].astype("str").to_numpy(),  # as events store it
        }
    )
    return file_line[~bad], rejects


def load_complete_journey(
    store: Store, directory: str | Path | None = None
) -> dict[str, LoadReport]:
    """Adapt and load Complete Journey into ``store``: items, users, then events.

    Each load is recorded against its source file and checksum; the 416 zero-quantity lines go
    to the quarantine with their file line. Loading twice adds nothing (event ids come from the
    basket lines). Campaign tables are not store tables; read them with
    :func:`complete_journey_campaigns`.
    """
    folder = Path(directory or complete_journey_dir())
    lines, rejects = complete_journey_event_rejects(folder)

    def source(name: str) -> tuple[str, str]:
        path = folder / f"{name}.csv.gz"
        return str(path), file_sha256(path)

    items_src, items_sha = source("products")
    users_src, users_sha = source("demographics")
    events_src, events_sha = source("transactions_sample")
    return {
        "items": ingest_frame(
            store, "items", complete_journey_items(folder), source=items_src, sha256=items_sha
        ),
        "users": ingest_frame(
            store, "users", complete_journey_users(folder), source=users_src, sha256=users_sha
        ),
        "events": ingest_frame(
            store,
            "events",
            complete_journey_events(folder),
            source=events_src,
            sha256=events_sha,
            lines=lines,
            rejects=rejects,
        ),
    }


@dataclass(frozen=True)
class CompleteJourneyCampaigns:
    """The retailer's campaigns, as four frames keyed like the canonical tables.

    Attributes
    ----------
    received
        ``user_id, campaign_id``: which household received which campaign (6,589 rows).
    descriptions
        ``campaign_id, campaign_type ("Type A" | "Type B" | "Type C"), start, end``
        (datetime64, dates; 27 rows, 2016-11-14 .. 2018-02-28).
    coupons
        ``coupon_upc, item_id, campaign_id``: the products each coupon applies to (116,204 rows).
    redemptions
        ``user_id, coupon_upc, campaign_id, redeemed_at`` (datetime64, dates; 2,102 rows).
    """

    received: pd.DataFrame
    descriptions: pd.DataFrame
    coupons: pd.DataFrame
    redemptions: pd.DataFrame


def complete_journey_campaigns(directory: str | Path | None = None) -> CompleteJourneyCampaigns:
    """Campaigns received, their descriptions, coupons and redemptions (ids as text)."""
    received = read_complete_journey("campaigns", directory)
    desc = read_complete_journey("campaign_descriptions", directory)
    coupons = read_complete_journey("coupons", directory)
    red = read_complete_journey("coupon_redemptions", directory)
    return CompleteJourneyCampaigns(
        received=pd.DataFrame(
            {
                Columns.USER_ID: received["household_id"].astype("str"),
                Columns.CAMPAIGN_ID: received["campaign_id"].astype("str"),
            }
        ),
        descriptions=pd.DataFrame(
            {
                Columns.CAMPAIGN_ID: desc["campaign_id"].astype("str"),
                "campaign_type": desc["campaign_type"].astype("str"),
                "start": pd.to_datetime(desc["start_date"]).astype("datetime64[us]"),
                "end": pd.to_datetime(desc["end_date"]).astype("datetime64[us]"),
            }
        ),
        coupons=pd.DataFrame(
            {
                "coupon_upc": coupons["coupon_upc"].astype("str"),
                Columns.ITEM_ID: coupons["product_id"].astype("str"),
                Columns.CAMPAIGN_ID: coupons["campaign_id"].astype("str"),
            }
        ),
        redemptions=pd.DataFrame(
            {
                Columns.USER_ID: red["household_id"].astype("str"),
                "coupon_upc": red["coupon_upc"].astype("str"),
                Columns.CAMPAIGN_ID: red["campaign_id"].astype("str"),
                "redeemed_at": pd.to_datetime(red["redemption_date"]).astype("datetime64[us]"),
            }
        ),
    )
