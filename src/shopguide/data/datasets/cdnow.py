"""The CDNOW purchase data (1997-01-01 .. 1998-06-30), bundled with the package.

The classic data set of the "buy till you die" literature (Fader, Hardie & Lee 2005): the
customers who first bought at the online CD shop CDNOW in the first quarter of 1997, followed for
78 weeks. It has no item ids, only the number of CDs and the dollar amount of each purchase, so
it serves repeat-purchase, lifetime-value and churn models rather than recommendation.

Two files ship with the package (see ``data/bundled/cdnow/LICENSE.md`` for the credit):

- ``CDNOW_sample.txt``: the 1/10 sample of 2,357 customers (6,919 purchases) on which the
  published BG/NBD and Gamma-Gamma estimates were made; no header, whitespace separated columns
  customer id, customer index, date ``yyyymmdd``, number of CDs, dollars.
- ``CDNOW_master.txt``: the whole cohort of 23,570 customers (69,659 purchases); one header line,
  columns customer id, date, number of CDs, dollars.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from shopguide.columns import Columns, EventType
from shopguide.errors import FileReadError

#: Columns of :func:`load_cdnow`.
CDNOW_COLUMNS = ("customer_id", "date", "cds", "amount")
#: First and last day covered by the data.
CDNOW_START = pd.Timestamp("1997-01-01")
CDNOW_END = pd.Timestamp("1998-06-30")
#: End of the 39-week calibration period used in Fader, Hardie & Lee (2005).
CDNOW_CALIBRATION_END = pd.Timestamp("1997-09-30")


def cdnow_path(sample: bool = True) -> Path:
    """Path of the bundled CDNOW file (the 2,357-customer sample or the full master file)."""
    name = "CDNOW_sample.txt" if sample else "CDNOW_master.txt"
    return Path(str(resources.files("shopguide.data").joinpath("bundled", "cdnow", name)))


def load_cdnow(sample: bool = True, path: str | Path | None = None) -> pd.DataFrame:
    """Read the CDNOW purchases into a typed data frame.

    Parameters
    ----------
    sample
        ``True`` for the 2,357-customer sample used in the literature, ``False`` for the full
        cohort of 23,570 customers.
    path
        Read this file instead of the bundled one (same format as chosen by ``sample``).

    Returns
    -------
    DataFrame
        One row per purchase line as recorded (several rows per day are possible), sorted by
        customer and date, with columns ``customer_id`` (int64), ``date`` (datetime64, day),
        ``cds`` (int64, number of CDs) and ``amount`` (float64, dollars).
    """
    file = Path(path) if path is not None else cdnow_path(sample)
    if sample:
        names = ["customer_id", "customer_index", "date", "cds", "amount"]
        skip = 0
    else:
        names = ["customer_id", "date", "cds", "amount"]
        skip = 1
    try:
        raw = pd.read_csv(
            file,
            sep=r"\s+",
            header=None,
            names=names,
            skiprows=skip,
            dtype={"customer_id": "int64", "date": "str", "cds": "int64", "amount": "float64"},
        )
    except (OSError, ValueError) as exc:
        raise FileReadError(
            str(file),
            str(exc),
            hint="pass sample=True for the headerless 5-column sample file, "
            "sample=False for the 4-column master file with a header",
        ) from exc
    try:
        dates = pd.to_datetime(raw["date"], format="%Y%m%d")
    except ValueError as exc:
        raise FileReadError(str(file), f"bad date: {exc}", hint="dates must be yyyymmdd") from exc
    out = pd.DataFrame(
        {
            "customer_id": raw["customer_id"].astype("int64"),
            "date": dates.astype("datetime64[ns]"),
            "cds": raw["cds"].astype("int64"),
            "amount": raw["amount"].astype("float64"),
        }
    )
    return out.sort_values(["customer_id", "date"], kind="stable").reset_index(drop=True)


def cdnow_events(sample: bool = True, path: str | Path | None = None) -> pd.DataFrame:
    """CDNOW purchases as canonical ShopGuide purchase events.

    Each purchase line becomes one ``purchase`` event of the single item ``"cd"``: ``user_id`` is
    the customer id as a string, ``timestamp`` the purchase day at midnight, ``quantity`` the
    number of CDs and ``price`` the unit price (``amount / cds``, so ``price * quantity`` gives
    the amount back). The rare lines with zero CDs become quantity 1 with the whole amount as
    price, so that spend is preserved.

    Returns
    -------
    DataFrame
        Columns ``event_id``, ``user_id``, ``item_id``, ``event_type``, ``timestamp``,
        ``quantity``, ``price``, ordered by user and time.
    """
    df = load_cdnow(sample=sample, path=path)
    qty = df["cds"].to_numpy()
    amount = df["amount"].to_numpy()
    safe_qty = np.where(qty > 0, qty, 1)
    price = amount / safe_qty
    return pd.DataFrame(
        {
            Columns.EVENT_ID: [f"cdnow-{i}" for i in range(len(df))],
            Columns.USER_ID: df["customer_id"].astype(str),
            Columns.ITEM_ID: "cd",
            Columns.EVENT_TYPE: EventType.PURCHASE,
            Columns.TIMESTAMP: df["date"],
            Columns.QUANTITY: safe_qty.astype("int64"),
            Columns.PRICE: price.astype("float64"),
        }
    )
