"""Ingestion: quarantine with file/line/column, accounting, idempotency, atomicity, formats."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from shopguide.data.ingest import LoadReport, ingest_file, ingest_frame, parse_mapping
from shopguide.errors import DataError, FileReadError, MissingColumnsError
from shopguide.store import open_store

HEADER = "event_id,user_id,item_id,event_type,timestamp,quantity,price,discount\n"
GOOD = [
    "e1,u1,i1,view,2024-01-01T10:00:00,1,9.50,\n",
    "e2,u1,i2,purchase,2024-01-01T10:05:00+01:00,2,3.00,0.5\n",
    "e3,u2,i1,cart,2024-01-02,1,,\n",
]
BAD = [
    ("e4,u2,i2,purchase,2024-01-02,1,-3,\n", "price", "negative"),
    ("e5,u3,i3,buy,2024-01-02,1,1,\n", "event_type", "unknown event type 'buy'"),
    ("e6,,i3,view,2024-01-02,1,1,\n", "user_id", "missing"),
    ("e7,u3,i3,view,yesterday,1,1,\n", "timestamp", "unparseable timestamp 'yesterday'"),
    ("e8,u3,i3,view,2024-01-02,two,1,\n", "quantity", "not a number: 'two'"),
    ("e9,u3,i3,view,2024-01-02,0,1,\n", "quantity", "must be positive"),
    ("e10,u3,i3,view\n", "timestamp", "too few fields"),
    ("e11,u3,i3,view,2024-01-02,1,1,0,extra\n", None, "too many fields"),
]


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "sg.duckdb") as s:
        yield s


def write(path: Path, lines: list[str], header: str = HEADER) -> Path:
    path.write_text(header + "".join(lines), encoding="utf-8")
    return path


def assert_accounting(report: LoadReport) -> None:
    assert report.rows_read == report.accepted + report.rejected + report.duplicates


def test_known_answer_csv_with_every_kind_of_bad_row(store, tmp_path):
    lines = GOOD[:2] + [b[0] for b in BAD] + GOOD[2:]
    report = ingest_file(store, "events", write(tmp_path / "ev.csv", lines))
    assert (report.rows_read, report.accepted, report.rejected, report.duplicates) == (11, 3, 8, 0)
    quarantine = store.query_df("SELECT * FROM quarantine ORDER BY line")
    # line 1 is the header; the bad rows are lines 4..11
    assert quarantine["line"].tolist() == list(range(4, 12))
    for (_, column, reason), (_, row) in zip(BAD, quarantine.iterrows(), strict=True):
        assert row["column_name"] == column or (column is None and pd.isna(row["column_name"]))
        assert reason in row["reason"]
        assert row["source"].endswith("ev.csv")
    events = store.query_df("SELECT * FROM events ORDER BY event_id")
    assert events["event_id"].tolist() == ["e1", "e2", "e3"]
    # +01:00 is converted to UTC; a date alone is midnight; a missing quantity is 1
    assert events.loc[1, "timestamp"] == pd.Timestamp("2024-01-01T09:05:00")
    assert events.loc[2, "timestamp"] == pd.Timestamp("2024-01-02")
    assert events.loc[1, "discount"] == 0.5
    assert pd.isna(events.loc[2, "price"])


def test_loading_the_same_file_twice_adds_nothing(store, tmp_path):
    path = write(tmp_path / "ev.csv", [*GOOD, BAD[0][0]])
    first = ingest_file(store, "events", path)
    second = ingest_file(store, "events", path)
    assert (first.accepted, first.rejected) == (3, 1)
    assert (second.accepted, second.rejected, second.duplicates) == (0, 1, 3)
    assert store.count("events") == 3
    assert store.count("quarantine") == 1  # the re-run replaced its own quarantine rows
    assert store.count("loads") == 2


def test_rows_without_event_ids_are_identified_by_content_and_occurrence(store, tmp_path):
    header = "user_id,item_id,event_type,timestamp\n"
    rows = ["u1,i1,view,2024-01-01\n", "u1,i1,view,2024-01-01\n", "u2,i1,view,2024-01-01\n"]
    path = write(tmp_path / "a.csv", rows, header)
    assert ingest_file(store, "events", path).accepted == 3  # a repeated line is a second event
    # the same content in another file with one more repeat: only the third repeat is new
    more = write(tmp_path / "b.csv", [*rows, "u1,i1,view,2024-01-01\n"], header)
    report = ingest_file(store, "events", more)
    assert (report.accepted, report.duplicates) == (1, 3)
    assert store.count("events") == 4


def test_duplicate_event_ids_within_a_file_keep_the_first(store, tmp_path):
    path = write(tmp_path / "ev.csv", [GOOD[0], GOOD[0].replace("view", "cart")])
    report = ingest_file(store, "events", path)
    assert (report.accepted, report.duplicates) == (1, 1)
    assert store.scalar("SELECT event_type FROM events") == "view"


def test_parquet_and_jsonl_load_the_same_rows_as_csv(tmp_path):
    csv_path = write(tmp_path / "ev.csv", GOOD)
    frame = pd.read_csv(csv_path, dtype=str)
    frame.to_parquet(tmp_path / "ev.parquet", index=False)
    with gzip.open(tmp_path / "ev.jsonl.gz", "wt") as handle:
        for record in frame.to_dict("records"):
            handle.write(json.dumps({k: v for k, v in record.items() if pd.notna(v)}) + "\n")
    loaded = {}
    for name in ("ev.csv", "ev.parquet", "ev.jsonl.gz"):
        with open_store(tmp_path / f"{name}.duckdb") as s:
            assert ingest_file(s, "events", tmp_path / name).accepted == 3
            loaded[name] = s.query_df(
                "SELECT * EXCLUDE (load_id) FROM events ORDER BY event_key"
            ).astype(str)
    pd.testing.assert_frame_equal(loaded["ev.csv"], loaded["ev.parquet"])
    pd.testing.assert_frame_equal(loaded["ev.csv"], loaded["ev.jsonl.gz"])


def test_jsonl_bad_lines_are_quarantined_with_their_line(store, tmp_path):
    path = tmp_path / "ev.jsonl"
    path.write_text(
        '{"user_id": "u1", "item_id": "i1", "event_type": "view", "timestamp": "2024-01-01"}\n'
        "\n"
        '{"user_id": "u1", "item_id": \n'
        "[1, 2]\n"
        '{"user_id": "u2", "item_id": "i1", "event_type": "view", "timestamp": "2024-01-01",'
        ' "price": -1}\n'
    )
    report = ingest_file(store, "events", path)
    assert (report.rows_read, report.accepted, report.rejected) == (4, 1, 3)
    quarantine = store.query_df("SELECT line, column_name, reason FROM quarantine ORDER BY line")
    assert quarantine["line"].tolist() == [3, 4, 5]
    assert "invalid JSON" in quarantine["reason"][0]
    assert "expected a JSON object" in quarantine["reason"][1]
    assert quarantine["column_name"][2] == "price"


def test_bad_encoding_rejects_only_that_row(store, tmp_path):
    path = tmp_path / "ev.csv"
    path.write_bytes(
        HEADER.encode()
        + GOOD[0].encode()
        + b"e9,u\xff9,i1,view,2024-01-01,1,1,\n"
        + GOOD[2].encode()
    )
    report = ingest_file(store, "events", path)
    assert (report.accepted, report.rejected) == (2, 1)
    row = store.query_df("SELECT * FROM quarantine").iloc[0]
    assert (row["line"], row["column_name"]) == (3, "user_id")
    assert "0xff" in row["reason"]


def test_quoted_newlines_keep_line_numbers_right(store, tmp_path):
    # a quoted newline spans two physical lines; ids may not hold one, so the row is rejected
    lines = ['e1,u1,"item\nwith newline",view,2024-01-01,1,1,\n', BAD[0][0], GOOD[0]]
    ingest_file(store, "events", write(tmp_path / "ev.csv", lines))
    bad = store.query_df("SELECT line, column_name, reason FROM quarantine ORDER BY line")
    assert bad["line"].tolist() == [2, 4]
    assert bad.loc[0, "column_name"] == "item_id"
    assert "control character" in bad.loc[0, "reason"]
    assert store.query_df("SELECT event_id FROM events")["event_id"].tolist() == ["e1"]


def test_column_mapping_loads_files_with_other_names(store, tmp_path):
    path = tmp_path / "shop.csv"
    path.write_text("Customer,SKU,Action,When,Qty\nc1,s1,purchase,2024-05-01 12:00,3\n")
    mapping = parse_mapping(
        ["Customer=user_id", "SKU=item_id", "Action=event_type", "When=timestamp", "Qty=quantity"]
    )
    report = ingest_file(store, "events", path, mapping=mapping)
    assert report.accepted == 1
    assert store.scalar("SELECT quantity FROM events") == 3


def test_missing_required_columns_stop_before_anything_changes(store, tmp_path):
    path = tmp_path / "shop.csv"
    path.write_text("Customer,SKU,Action,When\nc1,s1,purchase,2024-05-01\n")
    with pytest.raises(MissingColumnsError) as info:
        ingest_file(store, "events", path)
    assert info.value.missing == ["user_id", "item_id", "event_type", "timestamp"]
    assert "--map" in str(info.value)
    assert store.count("loads") == 0 and store.count("quarantine") == 0


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("missing.csv", None, "no such file"),
        ("empty.csv", b"", "empty"),
        ("broken.parquet", b"PAR1 this is not parquet", "not a readable Parquet file"),
        ("data.xlsx", b"PK\x03\x04", "unknown file type"),
        ("latin.csv", "kundë,item_id\n".encode("latin-1"), "header"),
    ],
)
def test_unreadable_files_give_one_clear_error_and_change_nothing(
    store, tmp_path, name, content, problem
):
    ingest_file(store, "events", write(tmp_path / "ok.csv", GOOD))
    before = store.query_df("SELECT * FROM events ORDER BY event_key")
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(FileReadError, match=problem) as info:
        ingest_file(store, "events", path)
    assert name in str(info.value)
    pd.testing.assert_frame_equal(before, store.query_df("SELECT * FROM events ORDER BY event_key"))
    assert store.count("loads") == 1


def test_bad_mapping_is_a_clear_error():
    with pytest.raises(DataError, match="FILE_COLUMN=canonical_column"):
        parse_mapping(["user_id"])


def test_users_update_and_merge_attributes(store, tmp_path):
    first = tmp_path / "users.csv"
    first.write_text(
        "user_id,gender,age,location,signup_at,tier\n"
        "u1,female,34,UK,2020-01-01,gold\n"
        "u2,M,25-34,FR,,\n"
        "u3,X,200,DE,,\n"
    )
    report = ingest_file(store, "users", first)
    assert (report.accepted, report.rejected) == (2, 1)
    assert "age" in store.scalar("SELECT reason FROM quarantine")
    u1 = store.query_df("SELECT * FROM users WHERE user_id = 'u1'").iloc[0]
    assert (u1["gender"], u1["age"], u1["age_band"]) == ("F", 34, "25-34")
    assert json.loads(u1["attributes"]) == {"tier": "gold"}
    assert store.scalar("SELECT age_band FROM users WHERE user_id = 'u2'") == "25-34"

    # a second file without the gender column: u1 moves city and gains an attribute
    second = tmp_path / "users2.csv"
    second.write_text("user_id,location,vip\nu1,Leeds,yes\nu2,FR,\n")
    report = ingest_file(store, "users", second)
    assert (report.accepted, report.updated, report.duplicates) == (1, 1, 1)
    u1 = store.query_df("SELECT * FROM users WHERE user_id = 'u1'").iloc[0]
    assert (u1["gender"], u1["location"]) == ("F", "Leeds")
    assert json.loads(u1["attributes"]) == {"tier": "gold", "vip": "yes"}
    assert store.count("users") == 2
    assert ingest_file(store, "users", second).duplicates == 2


def test_items_parse_booleans_and_prices(store, tmp_path):
    path = tmp_path / "items.csv"
    path.write_text(
        "item_id,title,category,brand,price,in_stock\n"
        "i1,Mug,Home > Kitchen,Acme,4.5,yes\n"
        "i2,Bag,Bags,,0,0\n"
        "i3,Lamp,Home,,-1,maybe\n"
    )
    report = ingest_file(store, "items", path)
    assert (report.accepted, report.rejected) == (2, 1)
    items = store.query_df("SELECT * FROM items ORDER BY item_id")
    assert items["in_stock"].tolist() == [True, False]
    reason = store.scalar("SELECT reason FROM quarantine")
    assert "price: negative" in reason and "in_stock: not a yes/no value" in reason


KILL_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from shopguide.data.ingest import ingest_file
    from shopguide.store import open_store

    def stop(chunks_done):
        if chunks_done == 2:
            os.kill(os.getpid(), signal.SIGKILL)

    store = open_store(sys.argv[1])
    ingest_file(store, "events", sys.argv[2], chunk_rows=100, on_chunk=stop)
    """
)


def test_a_load_killed_midway_leaves_nothing_and_a_rerun_completes_it(tmp_path):
    lines = [
        f"k{i},u{i % 7},i{i % 11},view,2024-01-01T00:00:{i % 60:02d},1,1,\n" for i in range(500)
    ]
    path = write(tmp_path / "ev.csv", lines)
    db = tmp_path / "sg.duckdb"
    with open_store(db) as s:  # something committed before the interrupted load
        ingest_file(s, "events", write(tmp_path / "first.csv", GOOD))
    proc = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, str(db), str(path)], capture_output=True, check=False
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    with open_store(db) as s:
        assert s.count("events") == 3  # none of the interrupted batch
        assert s.count("loads") == 1
        report = ingest_file(s, "events", path)
        assert report.accepted == 500
        assert s.count("events") == 503
    clean_db = tmp_path / "clean.duckdb"
    with open_store(clean_db) as clean, open_store(db) as s:
        ingest_file(clean, "events", path)
        query = "SELECT * EXCLUDE (load_id) FROM events WHERE event_id LIKE 'k%' ORDER BY event_key"
        pd.testing.assert_frame_equal(clean.query_df(query), s.query_df(query))


def test_progress_is_reported_to_the_end(store, tmp_path):
    lines = [f"e{i},u1,i1,view,2024-01-01,1,1,\n" for i in range(1000)]
    path = write(tmp_path / "ev.csv", lines)
    calls: list[tuple[int, int]] = []
    ingest_file(store, "events", path, chunk_rows=300, progress=lambda d, t: calls.append((d, t)))
    assert len(calls) == 4
    assert calls[-1][0] == calls[-1][1] == os.path.getsize(path)


def test_an_age_band_column_fills_the_band(store):
    from shopguide.data.ingest import ingest_frame

    frame = pd.DataFrame(
        {
            "user_id": ["a", "b", "c"],
            "age": ["41", None, ""],
            "age_band": ["35-44", "65+", "25-34"],
            "extra": [{"kids": 1}, None, {"kids": 0}],
        }
    )
    report = ingest_frame(store, "users", frame, source="frame")
    assert report.accepted == 3
    users = store.query_df("SELECT user_id, age, age_band, attributes FROM users ORDER BY 1")
    assert users["age_band"].tolist() == ["35-44", "65+", "25-34"]
    assert users["age"].tolist()[0] == 41
    assert "age_band" not in (users["attributes"][0] or "")


def test_rows_of_erased_users_are_rejected(store, tmp_path):
    store.execute("INSERT INTO suppressed_users VALUES (sha256('u1'), now())")
    report = ingest_file(store, "events", write(tmp_path / "ev.csv", GOOD))
    assert (report.accepted, report.rejected) == (1, 2)  # e1 and e2 belong to u1
    rows = store.query_df("SELECT line, column_name, reason FROM quarantine ORDER BY line")
    assert rows["line"].tolist() == [2, 3]
    assert set(rows["reason"]) == {"user erased"}
    users = tmp_path / "users.csv"
    users.write_text("user_id,location\nu1,UK\nu2,FR\n")
    assert ingest_file(store, "users", users).rejected == 1
    assert store.query_df("SELECT user_id FROM users")["user_id"].tolist() == ["u2"]


def test_a_frame_with_text_no_file_can_hold_rejects_those_rows_and_loads_the_rest(
    tmp_path: Path,
) -> None:
    """A DataFrame built in Python may hold a lone surrogate (a decoded ``\\ud800`` escape);
    the row is quarantined naming its line and column, the others load, a re-run adds none."""
    frame = pd.DataFrame(
        {
            "user_id": ["ann", "b\ud800b", "cid"],
            "item_id": ["i1", "i2", "i3\udfff"],
            "event_type": ["purchase", "view", "view"],
            "timestamp": ["2024-01-01", "2024-01-02", "2024-01-03"],
        },
        dtype=object,
    )
    with open_store(tmp_path / "s.duckdb") as store:
        first = ingest_frame(store, "events", frame, source="frame")
        again = ingest_frame(store, "events", frame, source="frame")
        quarantined = store.query_df(
            "SELECT line, column_name, value, reason FROM quarantine ORDER BY line"
        )
        stored = store.query_df("SELECT user_id FROM events")["user_id"].tolist()
    assert (first.rows_read, first.accepted, first.rejected) == (3, 1, 2)
    assert (again.accepted, again.duplicates) == (0, 1)
    assert stored == ["ann"]
    assert quarantined["line"].tolist() == [2, 3]
    assert quarantined["column_name"].tolist() == ["user_id", "item_id"]
    assert quarantined["value"].tolist() == ["b\\ud800b", "i3\\udfff"]
    assert quarantined["reason"].str.contains("lone surrogate").all()


def test_gender_not_said_is_missing_not_a_rejected_user(store, tmp_path):
    """Shops export "not said" in many spellings: each stores an empty gender and keeps the
    user's other fields; a value that is none of the known ones still quarantines the row,
    naming it."""
    path = tmp_path / "users.csv"
    path.write_text(
        "user_id,gender,age,location\n"
        "u1,Prefer not to say,41,Leeds\n"
        "u2,prefer_not_to_say,29,York\n"
        "u3,Non-Binary,35,Bath\n"
        "u4,N/A,52,Hull\n"
        "u5,  FEMALE ,23,Ely\n"
        "u6,-,60,Rye\n"
        "u7,martian,33,Wick\n"
    )
    report = ingest_file(store, "users", path)
    assert (report.accepted, report.rejected) == (6, 1)
    rows = store.query_df("SELECT user_id, gender, age, location FROM users ORDER BY user_id")
    got = {r.user_id: (None if pd.isna(r.gender) else r.gender, r.age, r.location)
           for r in rows.itertuples()}  # fmt: skip
    assert got == {
        "u1": (None, 41, "Leeds"), "u2": (None, 29, "York"), "u3": ("O", 35, "Bath"),
        "u4": (None, 52, "Hull"), "u5": ("F", 23, "Ely"), "u6": (None, 60, "Rye"),
    }  # fmt: skip
    reason = store.scalar("SELECT reason FROM quarantine WHERE user_id = 'u7'")
    assert "martian" in reason and "prefer not to say" in reason
