"""The SQL path of event loads stores exactly what the Python path stores (issue #18).

Each generated file is loaded twice into fresh stores: once as ``ingest_file`` chooses (the SQL
path whenever the file allows it) and once with ``SHOPGUIDE_SQL_INGEST=0`` (the Python path,
the reference). Events, quarantine rows and the load report must be identical.
"""

from __future__ import annotations

import gzip
import tempfile
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from shopguide.data import sql_ingest
from shopguide.data.ingest import LoadReport, ingest_file
from shopguide.errors import ShopGuideError
from shopguide.store import open_store

COLUMNS = ["event_id", "user_id", "item_id", "event_type", "timestamp", "quantity", "price"]


def mostly(clean: st.SearchStrategy[str], odd: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Values that are clean four times in five: most rows are, in real files."""
    return st.integers(0, 4).flatmap(lambda i: odd if i == 4 else clean)


ids = mostly(
    st.one_of(
        st.sampled_from(["u1", "u2", "a b", "x-9_Z.@", "x" * 200]),
        st.from_regex(r"[a-z0-9]{1,5}", fullmatch=True),
    ),
    st.one_of(
        st.sampled_from(["", "  ", " u1", "u1 ", "ü1", "naïve", "日本", "u\t1", "x" * 201]),
        st.text(st.characters(codec="utf-8", exclude_characters="\r\n\x00"), max_size=6),
    ),
)
event_types = mostly(
    st.sampled_from(["view", "click", "favorite", "cart", "purchase", "refund", "VIEW", "Cart"]),
    st.sampled_from([" view", "", "bought", "vıew", "view!", "K"]),
)
clean_times = st.tuples(
    st.datetimes(datetime(1970, 1, 2), datetime(2025, 12, 31)),
    st.sampled_from(
        [
            "%Y-%m-%d",
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%d %H:%M",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%dT%H:%M:%SZ",
            "%Y-%m-%dT%H:%M:%S+02:00",
            "%Y-%m-%d %H:%M:%S-05:30",
            "%Y-%m-%dT%H:%M:%S.%f",
            "%Y-%m-%dT%H:%M:%S.%f+01:00",
        ]
    ),
).map(lambda t: t[0].strftime(t[1]))
timestamps = mostly(
    clean_times,
    st.one_of(
        st.sampled_from(
            [
                "2024-01-01T10:00:00.5",
                "2024-01-01T10:00:00.1234567",
                "1970-01-01",
                "1970-01-01T00:00:00+01:00",
                "1969-12-31T23:59:59",
                "2023-02-29",
                "2024-13-01",
                "2024-01-01T24:00:00",
                "2024-01-01T10:00:00+0200",
                "20240101",
                "01/02/2024",
                "yesterday",
                "",
                " 2024-01-01",
                "3024-01-01",
                "2024-01-01T10:00:60",
            ]
        ),
        st.datetimes().map(lambda d: d.isoformat()),
    ),
)
numbers = mostly(
    st.one_of(st.just(""), st.decimals(0, 1000, places=2).map(str), st.integers(1, 20).map(str)),
    st.one_of(
        st.sampled_from(
            ["0", "-1", "0.000001", "1e3", "abc", "NaN", "inf", " 3", "1,5", "1000000",
             "1000001", "1000000000", "1000000000.5", "007", ".5", "5.", "١٢"]
        ),
        st.decimals(0, 10**10, places=7).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
    ),
)  # fmt: skip


@st.composite
def rows(draw: st.DrawFn) -> list[str]:
    """One data row's fields (sometimes one too many or too few)."""
    fields = [
        draw(st.one_of(st.builds(lambda n: f"e{n}", st.integers(0, 30)), ids)),
        draw(ids),
        draw(ids),
        draw(event_types),
        draw(timestamps),
        draw(numbers),
        draw(numbers),
    ]
    shape = draw(st.sampled_from(["ok"] * 18 + ["extra", "short"]))
    if shape == "extra":
        fields.append(draw(ids))
    elif shape == "short":
        fields = fields[: draw(st.integers(1, 6))]
    return fields


def csv_line(fields: list[str], quote_all: bool) -> str:
    out = []
    for value in fields:
        needs = quote_all or any(c in value for c in ',"\n\r') or value != value.strip()
        out.append('"' + value.replace('"', '""') + '"' if needs else value)
    return ",".join(out)


def load_once(path: Path, db: Path, switch: str, constants: dict | None = None) -> dict:
    """One load of ``path`` (with ``--set`` ``constants``) into a new store, with the SQL path
    allowed (``switch`` 1) or not; says whether the SQL path took the file."""
    used: list[bool] = []
    real = sql_ingest.SqlEventsReader.attach

    def spy(self: sql_ingest.SqlEventsReader, *args: object) -> None:
        used.append(True)
        real(self, *args)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(sql_ingest.SWITCH, switch)
        mp.setattr(sql_ingest.SqlEventsReader, "attach", spy)
        with open_store(db) as store:
            report = ingest_file(store, "events", path, set=constants)
            return {
                "sql_path": bool(used),
                "report": summary(report),
                "events": store.query_df(
                    "SELECT * EXCLUDE (load_id) FROM events ORDER BY event_key"
                ),
                "quarantine": store.query_df(
                    "SELECT line, column_name, value, reason, raw, user_id "
                    "FROM quarantine ORDER BY line, reason"
                ),
            }


def load_both(path: Path, constants: dict | None = None) -> tuple[dict, dict]:
    """The load through the path ingest_file picks, and through the Python path."""
    with tempfile.TemporaryDirectory() as folder:
        fast = load_once(path, Path(folder) / "fast.duckdb", "1", constants)
        python = load_once(path, Path(folder) / "python.duckdb", "0", constants)
    return fast, python


def summary(report: LoadReport) -> tuple:
    return (
        report.rows_read, report.accepted, report.rejected, report.duplicates, report.updated,
        report.ignored_columns, report.top_reasons,
    )  # fmt: skip


def assert_same(fast: dict, python: dict) -> None:
    assert not python["sql_path"]
    assert fast["report"] == python["report"]
    pd.testing.assert_frame_equal(fast["events"], python["events"])
    pd.testing.assert_frame_equal(fast["quarantine"], python["quarantine"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(rows(), min_size=1, max_size=25),
    st.sampled_from(
        [{"event_type": "purchase"}, {"event_type": "Cart", "quantity": "2"}, {"price": "9.5"}]
    ),
    st.booleans(),
)
def test_set_values_on_the_sql_path_store_what_the_python_path_stores(data, constants, drop):
    """``--set`` replaces a column of the file, or (``drop``) gives one the file lacks."""
    header = list(COLUMNS)
    if drop:  # the file has no column of that name: only the --set value gives it
        gone = [header.index(c) for c in constants]
        header = [c for i, c in enumerate(header) if i not in gone]
        data = [[v for i, v in enumerate(r) if i not in gone] if len(r) == 7 else r for r in data]
    text = "\n".join([",".join(header), *(csv_line(r, False) for r in data)]) + "\n"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.csv"
        path.write_text(text, encoding="utf-8", newline="")
        fast, python = load_both(path, constants)
    assert_same(fast, python)
    event("SQL path" if fast["sql_path"] else "Python path")


def test_a_file_with_set_values_takes_the_sql_path(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("user_id,item_id,timestamp\nu1,i1,2024-03-01\nu2,i2,2024-03-02 10:00\n")
    fast, python = load_both(path, {"event_type": "purchase"})
    assert fast["sql_path"]
    assert_same(fast, python)
    assert fast["events"]["event_type"].tolist() == ["purchase", "purchase"]
    assert fast["report"][:3] == (2, 2, 0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(rows(), min_size=1, max_size=25),
    st.sampled_from([False, False, True]),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
)
def test_the_sql_path_stores_what_the_python_path_stores(data, quote_all, newline, extra_column):
    header = [*COLUMNS, "note"] if extra_column else COLUMNS
    if extra_column:
        data = [[*r, "n"] if len(r) == len(COLUMNS) else r for r in data]
    text = newline.join([",".join(header), *(csv_line(r, quote_all) for r in data)]) + newline
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.csv"
        path.write_text(text, encoding="utf-8", newline="")
        fast, python = load_both(path)
    assert_same(fast, python)
    event("SQL path" if fast["sql_path"] else "Python path")
    lines = text.split(newline)[:-1]
    if all(lines) and not any("\n" in v or "\r" in v for r in data for v in r):
        # every record is one line, none blank (a row of one empty field is a blank line, which
        # the Python reader skips): the SQL path took the file
        assert fast["sql_path"]


def test_the_sql_path_takes_a_plain_file_and_sets_only_odd_rows_apart(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(
        "event_id,user_id,item_id,event_type,timestamp,quantity,price\n"
        "e1,u1,i1,view,2024-01-01T10:00:00,1,9.99\n"
        "e2,u1,i2,PURCHASE,2024-01-01T10:00:00+02:00,,19.5\n"
        'e3,"u,2",i1,cart,2024-01-02,2,\n'
        "e4,u2,i1,view,not a date,1,1\n"
        "e5,u2,i1,view,2024-01-02,1\n"
    )
    fast, python = load_both(path)
    assert fast["sql_path"]
    assert_same(fast, python)
    assert fast["report"][:3] == (5, 3, 2)
    assert fast["quarantine"]["line"].tolist() == [5, 6]


@pytest.mark.parametrize(
    "text",
    [
        'e1,u1,i1,view,2024-01-01,1,"two\nlines"\ne2,u1,i1,view,2024-01-01,1,1\n',  # quoted newline
        "e1,u1,i1,view,2024-01-01,1,1\n\ne2,u1,i1,view,2024-01-01,1,1\n",  # a blank line
        "e1,u1,i1,view,2024-01-01,1,1\re2,u1,i1,view,2024-01-01,1,1\r",  # old Mac lines
        'e1,u1,i1,view,2024-01-01,1,ab"c\ne2,u1,i1,view,2024-01-01,1,1\n',  # a stray quote
    ],
)
def test_files_whose_lines_are_not_records_take_the_python_path(tmp_path, text):
    path = tmp_path / "events.csv"
    path.write_bytes(
        ("event_id,user_id,item_id,event_type,timestamp,quantity,price\n" + text).encode()
    )
    fast, python = load_both(path)
    assert not fast["sql_path"]
    assert_same(fast, python)


def test_bad_bytes_take_the_python_path_which_rejects_only_their_row(tmp_path):
    path = tmp_path / "events.csv"
    path.write_bytes(
        b"event_id,user_id,item_id,event_type,timestamp,quantity,price\n"
        b"e1,u1,i1,view,2024-01-01,1,1\ne2,u\xff,i1,view,2024-01-01,1,1\n"
    )
    fast, python = load_both(path)
    assert not fast["sql_path"]
    assert_same(fast, python)
    assert fast["report"][:3] == (2, 1, 1)


def test_parquet_string_and_typed_columns_match_the_python_path(tmp_path):
    path = tmp_path / "events.parquet"
    table = pa.table(
        {
            "event_id": ["e1", "e2", "e3", None, "e5"],
            "user_id": ["u1", " u2", "", "u3", "u4"],
            "item_id": ["i1", "i2", "i3", "i4", "i5"],
            "event_type": ["view", "Cart", "bought", "view", "view"],
            "timestamp": pa.array(
                [
                    datetime(2024, 1, 1, 10),
                    datetime(1960, 1, 1),
                    None,
                    datetime(2024, 5, 1),
                    datetime(2024, 5, 2),
                ],
                type=pa.timestamp("us"),
            ),
            "quantity": pa.array([1, 2, None, 0, 3], type=pa.int64()),
            "price": pa.array([9.99, float("nan"), 1.0, None, -2.0], type=pa.float64()),
        }
    )
    pq.write_table(table, path)
    fast, python = load_both(path)
    assert fast["sql_path"]
    assert_same(fast, python)


def test_progress_moves_while_duckdb_reads_the_file_and_ends_at_its_size(tmp_path, monkeypatch):
    path = tmp_path / "events.csv"
    rows = "".join(
        f"e{i},u{i % 97},i{i % 13},view,2024-01-01T10:00:00,1,1.5\n" for i in range(300_000)
    )
    path.write_text(",".join(COLUMNS) + "\n" + rows)
    monkeypatch.setattr(sql_ingest, "QUIET_SECONDS", 0.0)
    monkeypatch.setattr(sql_ingest, "POLL_SECONDS", 0.005)
    calls: list[tuple[int, int]] = []
    with open_store(tmp_path / "sg.duckdb") as store:
        ingest_file(
            store, "events", path, chunk_rows=100_000,
            progress=lambda done, total: calls.append((done, total)),
        )  # fmt: skip
    size = path.stat().st_size
    assert len(calls) > 3  # the 3 chunks' reports, and some while DuckDB read the file
    assert 0 < calls[0][0] < size
    assert calls[-1] == (size, size)
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)  # never goes back


def test_a_load_holds_duckdb_to_the_load_memory_unless_a_limit_is_configured(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(",".join(COLUMNS) + "\n" + "e1,u1,i1,view,2024-01-01,1,1\n")
    with open_store(tmp_path / "sg.duckdb") as store:
        limit = "SELECT current_setting('memory_limit')"
        before = store.scalar(limit)
        during: list[str] = []
        ingest_file(store, "events", path, on_chunk=lambda _: during.append(store.scalar(limit)))
        assert during == ["953.6 MiB"]  # 1GB, as DuckDB shows it
        assert store.scalar(limit) == before


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rows(), min_size=1, max_size=15), st.sampled_from(["\n", "\r\n"]))
def test_a_gzipped_csv_stores_what_the_python_path_stores(data, newline):
    text = newline.join([",".join(COLUMNS), *(csv_line(r, False) for r in data)]) + newline
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.csv.gz"
        path.write_bytes(gzip.compress(text.encode("utf-8")))
        fast, python = load_both(path)
    assert_same(fast, python)
    lines = text.split(newline)[:-1]
    if all(lines) and not any("\n" in v or "\r" in v for r in data for v in r):
        assert fast["sql_path"]  # every record one line: DuckDB decompressed and read it


def test_a_gzip_file_of_several_members_is_read_whole(tmp_path):
    header = ",".join(COLUMNS) + "\n"
    first = "".join(f"e{i},u{i % 7},i{i % 5},view,2024-01-01,1,1\n" for i in range(50))
    second = "".join(f"e{i},u{i % 7},i{i % 5},cart,2024-01-02,2,3\n" for i in range(50, 120))
    path = tmp_path / "events.csv.gz"
    path.write_bytes(gzip.compress((header + first).encode()) + gzip.compress(second.encode()))
    fast, python = load_both(path)
    assert_same(fast, python)
    assert fast["report"][:3] == (120, 120, 0)


def test_a_damaged_gzip_file_takes_the_python_path_and_its_error(tmp_path):
    body = "".join(f"e{i},u{i},i1,view,2024-01-01,1,1\n" for i in range(2_000))
    whole = gzip.compress((",".join(COLUMNS) + "\n" + body).encode())
    path = tmp_path / "events.csv.gz"
    path.write_bytes(whole[: len(whole) // 2])  # cut off mid-stream
    assert sql_ingest.scan_file(path).broken
    errors = []
    for switch in ("1", "0"):
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv(sql_ingest.SWITCH, switch)
            with open_store(tmp_path / f"sg{switch}.duckdb") as store:
                with pytest.raises(ShopGuideError) as caught:
                    ingest_file(store, "events", path)
                errors.append(str(caught.value))
                assert store.scalar("SELECT count(*) FROM events") == 0  # nothing half-written
    assert errors[0] == errors[1] and "gzip" in errors[0]
