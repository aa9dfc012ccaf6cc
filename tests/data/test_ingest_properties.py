"""Property tests: whatever rows a file holds, the accounting holds and nothing valid is lost."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shopguide.data.ingest import ingest_file
from shopguide.store import open_store

COLUMNS = ["event_id", "user_id", "item_id", "event_type", "timestamp", "quantity", "price"]

valid_row = st.fixed_dictionaries(
    {
        "user_id": st.text("abcxyz019", min_size=1, max_size=4),
        "item_id": st.text("pqrs0123", min_size=1, max_size=4),
        "event_type": st.sampled_from(["view", "click", "favorite", "cart", "purchase", "refund"]),
        # the accepted range starts in 1970 and ends a year after the load
        "timestamp": st.datetimes(datetime(1970, 1, 1), datetime(2026, 1, 1)).map(
            lambda d: d.isoformat()
        ),
        "quantity": st.integers(1, 50).map(str),
        "price": st.one_of(st.just(""), st.decimals(0, 1000, places=2).map(str)),
    }
)
# each corruption breaks exactly one thing a validator must catch
corruptions = st.sampled_from(
    [
        ("user_id", ""),
        ("item_id", "   "),
        ("event_type", "bought"),
        ("timestamp", "31/12/2024"),
        ("quantity", "-1"),
        ("quantity", "lots"),
        ("price", "-0.01"),
        ("price", "1,50"),
        ("FIELDS", "too many"),
        ("FIELDS", "too few"),
    ]
)
row_spec = st.tuples(valid_row, st.one_of(st.none(), corruptions), st.booleans())


def render(rows: list[tuple[dict[str, str], tuple[str, str] | None, bool]]) -> tuple[str, dict]:
    """CSV text, and for every data line: (event_id, expected good?)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    expected: dict[int, tuple[str, bool]] = {}
    for i, (values, corruption, _) in enumerate(rows):
        record = {"event_id": f"e{i}", **values}
        fields = [record[c] for c in COLUMNS]
        if corruption is not None:
            column, value = corruption
            if column == "FIELDS":
                fields = [*fields, "x"] if value == "too many" else fields[:3]
            else:
                fields[COLUMNS.index(column)] = value
        writer.writerow(fields)
        expected[i + 2] = (record["event_id"], corruption is None)
    return out.getvalue(), expected


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(row_spec, max_size=40), chunk_rows=st.integers(1, 17))
def test_accounting_holds_and_every_valid_row_is_stored(tmp_path_factory, rows, chunk_rows):
    folder = tmp_path_factory.mktemp("prop")
    text, expected = render(rows)
    path = folder / "events.csv"
    path.write_text(text)
    with open_store(folder / "sg.duckdb") as store:
        report = ingest_file(store, "events", path, chunk_rows=chunk_rows)
        assert report.rows_read == len(rows)
        assert report.rows_read == report.accepted + report.rejected + report.duplicates
        good_ids = {event_id for event_id, good in expected.values() if good}
        bad_lines = {line for line, (_, good) in expected.items() if not good}
        stored = set(store.query_df("SELECT event_id FROM events")["event_id"])
        assert stored == good_ids
        assert set(store.query_df("SELECT line FROM quarantine")["line"]) == bad_lines
        assert report.duplicates == 0
        again = ingest_file(store, "events", path, chunk_rows=chunk_rows)
        assert (again.accepted, again.duplicates, again.rejected) == (
            0,
            len(good_ids),
            len(bad_lines),
        )
        assert store.count("quarantine") == len(bad_lines)
