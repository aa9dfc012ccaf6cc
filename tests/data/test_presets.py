"""Presets on small export files written by hand from each format's documentation
(tests/data/fixtures/): what each column becomes, what is skipped and why."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shopguide.data.ingest import ingest_file
from shopguide.data.presets import get_preset, preset_names
from shopguide.data.readers import JsonLinesReader, ParquetReader
from shopguide.errors import FileReadError, MappingError
from shopguide.store import open_store

FIXTURES = Path(__file__).parent / "fixtures"


def sha(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "sg.duckdb") as s:
        yield s


def reasons(store, table: str) -> list[tuple[int, str]]:
    rows = store.query_df(
        "SELECT line, reason FROM quarantine WHERE table_name = ? ORDER BY line", [table]
    )
    return list(rows.itertuples(index=False, name=None))


def test_shopify_orders_export(store):
    report = ingest_file(store, "events", FIXTURES / "shopify_orders.csv", preset="shopify-orders")
    assert (report.rows_read, report.accepted, report.rejected) == (4, 3, 1)
    assert reasons(store, "events") == [(5, "order cancelled at '2024-03-05 13:00:00 +0100'")]
    events = store.query_df(
        """SELECT user_id, item_id, event_type, "timestamp", quantity, price, discount, order_id
           FROM events ORDER BY order_id, item_id"""
    )
    ada, grace = sha("Ada.Lovelace@Example.com "), sha("grace@example.org")
    assert events["user_id"].tolist() == [ada, ada, grace]
    assert events["item_id"].tolist() == ["TEA-01", "TEA-05", "Espresso Beans Dark"]
    assert set(events["event_type"]) == {"purchase"}
    assert str(events["timestamp"].iloc[1]) == "2024-03-01 09:15:00"  # +0100 read as UTC
    assert events["discount"].tolist() == [0.0, 2.4, 0.0]
    assert events["order_id"].tolist() == ["#1001", "#1001", "#1002"]
    # the same file also filled items and users
    tables = {c.table: c for c in report.companions}
    assert (tables["items"].accepted, tables["users"].accepted) == (3, 2)
    items = store.query_df("SELECT item_id, title, brand, price FROM items ORDER BY item_id")
    assert items.values.tolist()[-1] == ["TEA-05", "Teapot Cast Iron", "Leaf & Co", 24.0]
    users = store.query_df("SELECT user_id, location FROM users ORDER BY location")
    # Ada's second line item has no billing fields: they come from the order's first row
    assert users.values.tolist() == [[ada, "London, GB"], [grace, "Paris, FR"]]


def test_no_email_address_is_stored(store):
    ingest_file(store, "events", FIXTURES / "shopify_orders.csv", preset="shopify-orders")
    for table in ("events", "users", "items"):
        assert "@" not in store.query_df(f"SELECT * FROM {table}").to_csv()


def test_woocommerce_orders_export(store):
    path = FIXTURES / "woocommerce_orders.csv"
    report = ingest_file(store, "events", path, preset="woocommerce-orders")
    assert (report.rows_read, report.accepted, report.rejected) == (4, 2, 2)
    rejected = reasons(store, "events")
    assert rejected[0][0] == 4 and "division by zero" in rejected[0][1]
    assert "item_quantity=0" in rejected[0][1]
    assert rejected[1] == (5, "order status 'cancelled' is not a sale")
    events = store.query_df(
        "SELECT user_id, item_id, quantity, price, discount, order_id FROM events ORDER BY item_id"
    )
    assert events["user_id"].tolist() == [sha("ada@example.com")] * 2
    assert events["item_id"].tolist() == ["124", "BAK-03"]  # no SKU: the product id
    assert events["price"].tolist() == [6.0, 15.0]  # subtotal / quantity
    assert events["discount"].tolist() == [0.0, 3.0]  # subtotal - total
    assert events["order_id"].tolist() == ["512", "512"]
    titles = store.query_df("SELECT item_id, title FROM items ORDER BY item_id")
    assert titles.values.tolist() == [["124", "Dough Scraper"], ["BAK-03", "Proofing Basket"]]


def test_ga4_bigquery_export(store):
    report = ingest_file(store, "events", FIXTURES / "ga4_events.jsonl", preset="ga4")
    # 6 lines: one view, one cart, a purchase of two items; three lines skipped
    assert (report.accepted, report.rejected) == (4, 3)
    assert reasons(store, "events") == [
        (1, "GA4 event 'session_start' is not one ShopGuide uses"),
        (5, "GA4 refund event has no items"),
        (6, "GA4 event 'page_view' is not one ShopGuide uses"),
    ]
    events = store.query_df(
        """SELECT user_id, item_id, event_type, "timestamp", quantity, price, order_id
           FROM events ORDER BY "timestamp", item_id"""
    )
    assert events["event_type"].tolist() == ["view", "cart", "purchase", "purchase"]
    assert events["user_id"].tolist() == ["1197301145.1714557600"] + ["member-42"] * 3
    assert str(events["timestamp"].iloc[0]) == "2024-05-01 10:01:00"  # microseconds, UTC
    assert events["order_id"].tolist()[2:] == ["T-9001", "T-9001"]
    assert events["item_id"].tolist()[2:] == ["TEA-03", "TEA-06"]
    items = store.query_df("SELECT item_id, title, brand, category FROM items ORDER BY item_id")
    assert items.values.tolist() == [
        ["TEA-03", "Jasmine Pearls", "Leaf & Co", "Tea > Green"],  # '(not set)' left out
        ["TEA-06", "Oolong Tie Guan Yin", "Leaf & Co", "Tea"],
    ]
    locations = store.query_df("SELECT DISTINCT location FROM users")["location"].tolist()
    assert locations == ["Lyon, France"]
    # the skipped lines are reported once, by the events load
    assert [c.rejected for c in report.companions] == [0, 0]
    assert reasons(store, "items") == [] and reasons(store, "users") == []


def _ga4_parquet(path: Path) -> Path:
    """The JSON lines fixture as BigQuery writes it to Parquet: nested records, a numeric
    ``event_timestamp`` and the ``event_params`` column the preset does not read."""
    lines = (FIXTURES / "ga4_events.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    for record in records:
        record["event_timestamp"] = int(record["event_timestamp"])
        record["event_params"] = [
            {"key": "page_title", "value": {"string_value": "Tea", "int_value": None}},
            {"key": "engaged_session_event", "value": {"string_value": None, "int_value": 1}},
        ]
    # every record's keys make the schema (a BigQuery table has all its columns in every row)
    pq.write_table(
        pa.Table.from_batches([pa.RecordBatch.from_struct_array(pa.array(records))]), path
    )
    return path


def test_ga4_parquet_export_loads_as_its_json_lines_twin(store, tmp_path):
    parquet = _ga4_parquet(tmp_path / "events_20240501.parquet")
    report = ingest_file(store, "events", parquet, preset="ga4")
    with open_store(tmp_path / "twin.duckdb") as twin:
        expected = ingest_file(twin, "events", FIXTURES / "ga4_events.jsonl", preset="ga4")
        for table in ("events", "items", "users"):
            sql = f"SELECT * EXCLUDE (load_id) FROM {table} ORDER BY ALL"
            assert store.query_df(sql).equals(twin.query_df(sql)), table
        assert reasons(store, "events") == reasons(twin, "events")
    assert (report.accepted, report.rejected) == (expected.accepted, expected.rejected) == (4, 3)


def test_ga4_reads_only_the_columns_it_uses(store, tmp_path):
    """A GA4 export's wide nested columns (event_params, …) are never read: neither from
    Parquet nor from JSON lines; a skipped row's raw record holds only what was read."""
    parquet = _ga4_parquet(tmp_path / "events_20240501.parquet")
    jsonl = tmp_path / "events_20240501.jsonl"
    table = pq.read_table(parquet)
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in table.to_pylist()))
    wanted = ("event_name", "event_timestamp", "user_id", "ecommerce", "items")
    for reader in (ParquetReader(parquet, 100, wanted), JsonLinesReader(jsonl, 100, wanted)):
        frames = [chunk.frame for chunk in reader.chunks()]
        assert "event_params" in table.column_names
        assert [set(f.columns) for f in frames] == [set(wanted)]
        reader.close()
    ingest_file(store, "events", parquet, preset="ga4")
    raws = store.query_df("SELECT raw FROM quarantine WHERE table_name = 'events'")["raw"]
    assert len(raws) == 3 and not any("event_params" in r or "page_title" in r for r in raws)
    assert all('"event_name"' in r for r in raws)


def test_a_preset_refuses_a_format_its_export_never_comes_in(store, tmp_path):
    parquet = _ga4_parquet(tmp_path / "orders_export.parquet")
    with pytest.raises(FileReadError, match="preset shopify-orders reads CSV files") as info:
        ingest_file(store, "events", parquet, preset="shopify-orders")
    assert "the file's name says Parquet" in str(info.value)
    assert "--format csv" in str(info.value.hint)
    assert store.count("loads") == 0


def test_a_preset_loads_one_other_table_on_its_own(store):
    report = ingest_file(store, "users", FIXTURES / "shopify_orders.csv", preset="shopify-orders")
    assert report.table == "users" and report.companions == []
    assert store.count("users") == 2 and store.count("events") == 0


def test_own_options_override_the_preset(store):
    ingest_file(
        store, "events", FIXTURES / "ga4_events.jsonl", preset="ga4",
        set={"campaign_id": "spring"}, derive={"user_id": "user_pseudo_id"},
    )  # fmt: skip
    events = store.query_df("SELECT DISTINCT user_id, campaign_id FROM events")
    assert events.values.tolist() == [["1197301145.1714557600", "spring"]]


def test_a_file_that_is_not_the_export_is_one_clear_error(store, tmp_path):
    with pytest.raises(MappingError, match="needs column"):
        ingest_file(store, "events", FIXTURES / "woocommerce_orders.csv", preset="shopify-orders")
    with pytest.raises(MappingError, match="unknown preset 'magento'") as info:
        ingest_file(store, "events", FIXTURES / "shopify_orders.csv", preset="magento")
    assert "shopify-orders" in str(info.value.hint)
    assert store.count("loads") == 0


def test_every_preset_documents_what_it_reads():
    howto = (Path(__file__).parents[2] / "docs" / "howto" / "own-data.md").read_text()
    for name in preset_names():
        preset = get_preset(name)
        assert f"--preset {name}`" in howto
        for column in preset.reads:
            assert f"`{column.removeprefix('items[].')}" in howto or column in howto, column
