"""--set and --derive: constants and DuckDB expressions over a file's columns, chunk by chunk."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopguide.data.ingest import ingest_file
from shopguide.data.mapping import parse_assignments, parse_mapping
from shopguide.errors import DataError, MappingError, MissingColumnsError
from shopguide.store import open_store
from shopguide.workflows import ingest as ingest_workflow

#: a transactions-only file in the Complete Journey layout: no event type, line amounts
TRANSACTIONS = """household_id,basket_id,product_id,quantity,sales_value,transaction_timestamp
h1,b1,p1,2,5.00,2017-01-02 10:00:00
h1,b1,p2,1,3.50,2017-01-02 10:00:00
h2,b2,p1,0,0.00,2017-01-03 11:00:00
h2,b2,p3,x,2.00,2017-01-03 11:00:00
h3,b3,p2,4,10.00,2017-01-04 12:00:00
"""
PRODUCTS = """product_id,department,product_category,brand
p1,GROCERY,SOUP,National
p2,GROCERY,BREAD,Private
p3,DRUG GM,,National
"""
MAP = {
    "household_id": "user_id",
    "product_id": "item_id",
    "transaction_timestamp": "timestamp",
    "basket_id": "order_id",
}
PRICE = {"price": "sales_value / quantity"}


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "sg.duckdb") as s:
        yield s


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def quarantined(store) -> list[tuple[int, str, str]]:
    rows = store.query_df("SELECT line, column_name, reason FROM quarantine ORDER BY line")
    return list(rows.itertuples(index=False, name=None))


def test_transactions_only_file_needs_a_constant_event_type_and_the_hint_says_so(store, tmp_path):
    path = write(tmp_path / "transactions.csv", TRANSACTIONS)
    with pytest.raises(MissingColumnsError) as info:
        ingest_file(store, "events", path, mapping=MAP)
    assert "--set event_type=purchase" in str(info.value.hint)
    assert "--map YOUR_COLUMN=event_type" not in str(info.value.hint)

    report = ingest_file(store, "events", path, mapping=MAP, set={"event_type": "purchase"})
    assert report.rows_read == 5
    assert store.query_df("SELECT DISTINCT event_type FROM events")["event_type"].tolist() == [
        "purchase"
    ]


@pytest.mark.parametrize("chunk_rows", [1, 2, 250_000])
def test_derived_unit_price_streams_and_failing_rows_are_quarantined_with_the_reason(
    store, tmp_path, chunk_rows
):
    path = write(tmp_path / "transactions.csv", TRANSACTIONS)
    report = ingest_file(
        store, "events", path, mapping=MAP, set={"event_type": "purchase"}, derive=PRICE,
        chunk_rows=chunk_rows,
    )  # fmt: skip
    assert (report.accepted, report.rejected) == (3, 2)
    prices = store.query_df("SELECT item_id, price FROM events ORDER BY item_id, price")
    assert prices.values.tolist() == [["p1", 2.5], ["p2", 2.5], ["p2", 3.5]]
    rows = quarantined(store)
    assert [(line, column) for line, column, _ in rows] == [(4, "price"), (5, "quantity")]
    assert "sales_value / quantity" in rows[0][2] and "division by zero" in rows[0][2]
    assert "'x' is not a whole number" in rows[1][2]


def test_derived_category_path_fills_items(store, tmp_path):
    path = write(tmp_path / "products.csv", PRODUCTS)
    derive = {"category": "concat_ws(' > ', department, product_category)"}
    ingest_file(store, "items", path, mapping={"product_id": "item_id"}, derive=derive)
    items = store.query_df("SELECT item_id, category, brand FROM items ORDER BY item_id")
    assert items.values.tolist() == [
        ["p1", "GROCERY > SOUP", "National"],
        ["p2", "GROCERY > BREAD", "Private"],
        ["p3", "DRUG GM", "National"],
    ]


def test_a_derived_column_replaces_the_file_column_of_that_name(store, tmp_path):
    path = write(
        tmp_path / "cents.csv",
        "user_id,item_id,event_type,timestamp,price\nu1,i1,purchase,2024-01-01,1250\n",
    )
    ingest_file(store, "events", path, derive={"price": "price / 100"})
    assert store.scalar("SELECT price FROM events") == 12.5


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("sales_valu / quantity", 'column "sales_valu" not found'),
        ("sales_value / ", "syntax error"),
        ("1); DROP TABLE events; SELECT (1", "syntax error"),
        ("sales_value, quantity", "not one value"),
        ("(SELECT count(*) FROM read_csv('/etc/passwd'))", "subquery"),
    ],
)
def test_a_bad_expression_is_one_clear_error_before_anything_is_stored(
    store, tmp_path, expression, problem
):
    path = write(tmp_path / "transactions.csv", TRANSACTIONS)
    with pytest.raises(MappingError) as info:
        ingest_file(
            store, "events", path, mapping=MAP, set={"event_type": "purchase"},
            derive={"price": expression},
        )  # fmt: skip
    message = str(info.value)
    assert f"price={expression}" in message and problem in message
    assert "sales_value (double)" in message  # the file's columns, as expressions see them
    assert store.count("loads") == 0 and store.count("events") == 0
    assert store.count("quarantine") == 0


def test_constants_and_targets_are_checked_before_reading(store, tmp_path):
    path = write(tmp_path / "transactions.csv", TRANSACTIONS)
    with pytest.raises(MappingError, match="unknown event type 'buy'"):
        ingest_file(store, "events", path, mapping=MAP, set={"event_type": "buy"})
    with pytest.raises(MappingError, match=r"event_typ .*not events columns"):
        ingest_file(store, "events", path, mapping=MAP, set={"event_typ": "purchase"})
    with pytest.raises(MappingError, match="more than once"):
        ingest_file(
            store, "events", path, mapping={**MAP, "sales_value": "price"},
            set={"event_type": "purchase"}, derive=PRICE,
        )  # fmt: skip
    assert store.count("loads") == 0


def test_quantity_zero_reason_is_neutral(store, tmp_path):
    path = write(
        tmp_path / "e.csv",
        "user_id,item_id,event_type,timestamp,quantity\nu1,i1,view,2024-01-01,0\n",
    )
    ingest_file(store, "events", path)
    ((_, column, reason),) = quarantined(store)
    assert column == "quantity" and reason == "quantity: must be positive, got 0"


def test_the_workflow_takes_the_same_options(tmp_path):
    db = tmp_path / "shop.duckdb"
    path = write(tmp_path / "transactions.csv", TRANSACTIONS)
    report = ingest_workflow.ingest(
        db, "events", path, mapping=MAP, set={"event_type": "purchase"}, derive=PRICE
    )
    assert report.accepted == 3
    again = ingest_workflow.ingest(
        db, "events", path, mapping=MAP, set={"event_type": "purchase"}, derive=PRICE
    )
    assert again.accepted == 0 and again.duplicates == 3


def test_the_cli_takes_set_and_derive_and_reports_a_bad_expression_with_exit_2(tmp_path):
    from typer.testing import CliRunner

    from shopguide.cli.app import app

    db = str(tmp_path / "shop.duckdb")
    path = str(write(tmp_path / "transactions.csv", TRANSACTIONS))
    maps = [arg for s, t in MAP.items() for arg in ("--map", f"{s}={t}")]
    runner = CliRunner()
    ok = runner.invoke(
        app,
        ["ingest", "events", path, *maps, "--set", "event_type=purchase",
         "--derive", "price=sales_value / quantity", "--db", db],
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert "accepted 3" in ok.output and "division by zero" in ok.output
    bad = runner.invoke(
        app,
        ["ingest", "events", path, *maps, "--set", "event_type=purchase",
         "--derive", "price=sales_valu / quantity", "--db", db],
    )  # fmt: skip
    assert bad.exit_code == 2
    assert "sales_valu" in bad.output and "Traceback" not in bad.output


# --- parsing of --map, --set and --derive -------------------------------------------------

names = st.text(
    st.characters(blacklist_characters="=", blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")),
    min_size=1,
    max_size=20,
)
values = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=40
).filter(lambda v: v.strip() != "")


@given(st.dictionaries(names, values, min_size=1, max_size=5))
def test_set_and_derive_round_trip_whatever_the_value_holds(pairs):
    parsed = parse_assignments([f"{k}={v}" for k, v in pairs.items()], "--derive")
    assert parsed == {k: v.strip() for k, v in pairs.items()}


@given(names, names, names)
def test_map_keeps_an_equals_sign_in_the_file_column(left, right, target):
    source = f"{left}={right}"  # a file column whose name holds '='
    assert parse_mapping([f"{source}={target}"]) == {source: target}


@pytest.mark.parametrize("pair", ["price", "=a / b", "price=", "  =  "])
def test_malformed_assignments_are_typed_errors(pair):
    with pytest.raises(DataError, match="NAME=VALUE"):
        parse_assignments([pair], "--derive")


def test_the_same_column_twice_is_an_error():
    with pytest.raises(DataError, match="twice"):
        parse_assignments(["event_type=view", "event_type=purchase"], "--set")


def test_an_expression_that_raises_on_a_row_rejects_that_row_only(store, tmp_path):
    lines = ["u,i,d"] + [f"u{k},i{k % 3},2024-01-{k + 1:02d}" for k in range(9)]
    lines[5] = "u4,i1,soon"
    path = write(tmp_path / "dates.csv", "\n".join(lines) + "\n")
    report = ingest_file(
        store, "events", path, mapping={"u": "user_id", "i": "item_id"},
        set={"event_type": "view"},
        derive={"timestamp": "CAST(d AS DATE)", "campaign_id": "CASE WHEN i = 'i1' THEN 'c1' END"},
        chunk_rows=4,
    )  # fmt: skip
    assert (report.accepted, report.rejected) == (8, 1)
    ((line, column, reason),) = quarantined(store)
    assert (line, column) == (6, "timestamp")
    assert "CAST(d AS DATE) failed on this row" in reason and "soon" in reason
    # a NULL the expression gives on purpose is a value, not a failure
    assert store.scalar("SELECT count(*) FROM events WHERE campaign_id IS NULL") == 6


def test_a_row_the_mapping_rejects_keeps_its_user_for_erasure(store, tmp_path):
    """The quarantine's user column is read from the file's own user column (here
    ``customer``), so an erasure finds rows that failed a --derive expression too."""
    path = write(
        tmp_path / "ev.jsonl",
        '{"customer": "alice", "item_id": "i1", "event_type": "purchase", '
        '"timestamp": "2024-01-01T00:00:00", "q": 0}\n'
        '{"customer": "bob", "item_id": "i1", "event_type": "purchase", '
        '"timestamp": "2024-01-01T00:00:00", "q": 1}\n',
    )
    report = ingest_file(
        store, "events", path, mapping={"customer": "user_id"}, derive={"price": "1/q"}
    )
    assert (report.accepted, report.rejected) == (1, 1)
    assert store.query_df("SELECT user_id FROM quarantine")["user_id"].tolist() == ["alice"]
