"""Known answers for the bundled Online Retail adapter, checked in a real DuckDB store."""

from __future__ import annotations

import pandas as pd
import pytest

from shopguide.data.datasets.online_retail import (
    categorize,
    default_path,
    load_online_retail,
    read_online_retail,
)
from shopguide.store import open_store


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    db = tmp_path_factory.mktemp("retail") / "sg.duckdb"
    with open_store(db) as store:
        reports = load_online_retail(store)
        yield store, reports


def test_purchase_lines_customers_items_and_invoices(loaded):
    store, _ = loaded
    row = store.query_df(
        """SELECT count(*) AS lines, count(DISTINCT user_id) AS customers,
                  count(DISTINCT item_id) AS items, count(DISTINCT order_id) AS invoices
           FROM events WHERE event_type = 'purchase'"""
    ).iloc[0]
    assert (row["lines"], row["customers"], row["items"], row["invoices"]) == (
        397_884,
        4_338,
        3_665,
        18_532,
    )


def test_repeated_lines_of_an_invoice_are_kept_as_line_items(loaded):
    store, _ = loaded
    raw = pd.read_parquet(default_path())
    raw["event_id"] = raw.InvoiceNo + ":" + (raw.groupby("InvoiceNo").cumcount() + 1).astype(str)
    valid = raw[
        ~raw.InvoiceNo.str.startswith("C")
        & (raw.Quantity > 0)
        & (raw.UnitPrice > 0)
        & raw.CustomerID.notna()
    ]
    repeats = valid[valid.drop(columns="event_id").duplicated(keep="first")]
    assert len(repeats) == 5_192
    stored = store.query_df("SELECT event_id FROM events WHERE event_type = 'purchase'")
    assert repeats["event_id"].isin(stored["event_id"]).all()


def test_every_source_line_is_accounted_for(loaded):
    store, reports = loaded
    events = reports["events"]
    assert events.rows_read == 541_909
    assert events.rows_read == events.accepted + events.rejected + events.duplicates
    assert events.rejected == store.count("quarantine") == 135_080 + 40
    by_reason = store.query_df(
        "SELECT column_name, count(*) AS n FROM quarantine GROUP BY 1 ORDER BY 1"
    ).set_index("column_name")["n"]
    # 135,080 lines have no customer; 40 more carry a zero price (the rest were already rejected)
    assert by_reason.to_dict() == {"CustomerID": 135_080, "UnitPrice": 40}


def test_cancellations_become_refunds_with_positive_quantities(loaded):
    store, _ = loaded
    refunds = store.query_df(
        "SELECT min(quantity) AS q, bool_and(order_id LIKE 'C%') AS c, count(*) AS n "
        "FROM events WHERE event_type = 'refund'"
    ).iloc[0]
    assert refunds["q"] > 0 and refunds["c"]
    raw = pd.read_parquet(default_path())
    expected = raw[raw.InvoiceNo.str.startswith("C") & raw.CustomerID.notna() & (raw.UnitPrice > 0)]
    assert refunds["n"] == len(expected)


def test_users_have_their_country_and_items_a_category(loaded):
    store, _ = loaded
    assert store.scalar("SELECT location FROM users WHERE user_id = '12347'") == "Iceland"
    assert store.scalar("SELECT count(*) FROM items WHERE category IS NULL") == 0
    other = store.scalar("SELECT avg((category = 'Other')::INT) FROM items")
    assert other < 0.25  # keyword rules cover most of the catalogue


def test_a_second_load_adds_nothing(loaded):
    store, _ = loaded
    before = {t: store.count(t) for t in ("events", "users", "items", "quarantine")}
    reports = load_online_retail(store)
    assert all(r.accepted == 0 for r in reports.values())
    assert {t: store.count(t) for t in before} == before


@pytest.mark.parametrize(
    ("description", "code", "category"),
    [
        ("WHITE HANGING HEART T-LIGHT HOLDER", "85123A", "Candles & lighting"),
        ("JUMBO BAG RED RETROSPOT", "85099B", "Bags"),
        ("PAPER CHAIN KIT 50'S CHRISTMAS", "22086", "Seasonal > Christmas"),
        ("POSTAGE", "POST", "Services & fees"),
        ("SOMETHING UNHEARD OF", "99999", "Other"),
    ],
)
def test_keyword_categories(description, code, category):
    assert categorize(description, code) == category


def test_adapter_frames_are_canonical():
    data = read_online_retail()
    assert data.events["event_id"].is_unique
    assert set(data.events["event_type"]) == {"purchase", "refund"}
    assert len(data.events) + len(data.event_rejects) == 541_909


def test_rejected_lines_name_their_customer(loaded):
    """A rejected line keeps its customer (as the events store it), so erasing that customer
    deletes it; the anonymous lines name nobody."""
    store, _ = loaded
    named = store.query_df(
        """SELECT q.user_id, json_extract_string(q.raw, '$.CustomerID') AS customer,
                  q.user_id IN (SELECT user_id FROM events) AS known
           FROM quarantine q WHERE q.column_name = 'UnitPrice'"""
    )
    assert len(named) == 40 and named["user_id"].notna().all()
    assert (named["user_id"] == named["customer"].astype(float).astype(int).astype(str)).all()
    assert named["known"].any()
    assert (
        store.scalar(
            "SELECT count(*) FROM quarantine WHERE column_name = 'CustomerID' AND user_id IS NULL"
        )
        == 135_080
    )
