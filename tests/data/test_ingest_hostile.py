"""Hostile event files in every format: nothing valid is lost and nothing bad poisons the store.

Hypothesis writes files (CSV, TSV, JSON Lines, Parquet, gzipped or not) mixing valid rows,
including the largest values ingestion accepts, with bad ones: missing keys, wrong JSON types,
NaN and infinity, numbers no shop has, dates outside the accepted range, ids too long or with
control characters, bad bytes, a byte order mark, too many or too few fields. After each load
into a fresh store: the accounting identity holds, every valid row is stored, every bad row has
a quarantine row with its reason, and profiles, RFM and a recommender still build (#22).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shopguide.analytics import rfm_table
from shopguide.data.ingest import ingest_file
from shopguide.data.matrix import build_interactions
from shopguide.data.validate import MAX_AMOUNT, MAX_ID_LENGTH, MAX_QUANTITY
from shopguide.errors import FileReadError, MissingColumnsError
from shopguide.profiles import build_profiles, load_profiles
from shopguide.recommend import create_model
from shopguide.store import open_store

COLUMNS = ["event_id", "user_id", "item_id", "event_type", "timestamp", "quantity", "price"]
COLUMNS += ["discount"]
FORMATS = ["csv", "csv.gz", "tsv", "jsonl", "jsonl.gz", "parquet"]
MISSING_KEY = object()  # JSON Lines: the key is left out of the object
BAD_BYTES = "\udcff"  # written as the byte 0xff, which is not UTF-8

valid_row = st.fixed_dictionaries(
    {
        "user_id": st.sampled_from(["u1", "u2", "u3", "ü4", "a/b"]),
        "item_id": st.sampled_from(["i1", "i2", "i3", "shoes 42"]),
        "event_type": st.sampled_from(["view", "cart", "purchase", "purchase", "refund"]),
        "timestamp": st.datetimes(datetime(1970, 1, 1), datetime(2026, 1, 1)).map(
            lambda d: d.isoformat()
        ),
        "quantity": st.one_of(st.integers(1, 5), st.just(MAX_QUANTITY)).map(float),
        "price": st.one_of(
            st.none(), st.floats(0, 500).map(lambda x: round(x, 2)), st.just(float(MAX_AMOUNT))
        ),
        "discount": st.one_of(st.none(), st.just(0.5), st.just(float(MAX_AMOUNT))),
    }
)
# each corruption makes one value bad in a way every format can write
COMMON: list[tuple[str, Any]] = [
    ("user_id", None),
    ("item_id", "   "),
    ("event_type", "teleport"),
    ("timestamp", "0001-01-01T00:00:00"),
    ("timestamp", "9999-12-31"),
    ("timestamp", "1969-07-20T20:17:00"),
    ("timestamp", "yesterday"),
    ("quantity", 1e15),
    ("quantity", -1.0),
    ("quantity", math.nan),
    ("quantity", math.inf),
    ("price", 1e300),
    ("price", math.nan),
    ("price", -0.5),
    ("discount", 2e9),
    ("user_id", "u" * (MAX_ID_LENGTH + 1)),
    ("item_id", "a\x01b"),
]
JSON_ONLY: list[tuple[str, Any]] = [
    ("user_id", {"a": 1}),
    ("user_id", [1, 2]),
    ("user_id", True),
    ("item_id", 1.5),
    ("quantity", True),
    ("price", {"x": 1}),
    ("timestamp", [2024]),
    ("user_id", MISSING_KEY),
    ("event_type", MISSING_KEY),
    ("ENCODING", BAD_BYTES),
    ("ENCODING", "\\ud800 escape"),  # valid JSON text, but half a character
]
CSV_ONLY: list[tuple[str, Any]] = [
    ("FIELDS", "too many"),
    ("FIELDS", "too few"),
    ("ENCODING", BAD_BYTES),
]
CORRUPTIONS = {
    "csv": COMMON + CSV_ONLY,
    "tsv": COMMON + CSV_ONLY,
    "jsonl": COMMON + JSON_ONLY,
    "parquet": COMMON,
}

Row = tuple[dict[str, Any], tuple[str, Any] | None]


@st.composite
def hostile_files(draw: st.DrawFn) -> tuple[str, list[Row], bool, int]:
    fmt = draw(st.sampled_from(FORMATS))
    corruptions = CORRUPTIONS[fmt.removesuffix(".gz")]
    bad = st.one_of(st.none(), st.none(), st.sampled_from(corruptions))
    rows = draw(st.lists(st.tuples(valid_row, bad), min_size=1, max_size=30))
    bom = fmt != "parquet" and draw(st.booleans())
    return fmt, rows, bom, draw(st.integers(1, 12))


def _records(rows: list[Row]) -> list[dict[str, Any]]:
    out = []
    for i, (values, corruption) in enumerate(rows):
        record = {"event_id": f"e{i}", **values}
        if corruption is not None and corruption[0] in record:
            column, value = corruption
            if value is MISSING_KEY:
                del record[column]
            else:
                record[column] = value
        out.append(record)
    return out


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return str(value)


def write_file(folder: Path, fmt: str, rows: list[Row], bom: bool) -> Path:
    """Write ``rows`` (with their corruptions) as a file of format ``fmt``."""
    path = folder / f"events.{fmt}"
    records = _records(rows)
    base = fmt.removesuffix(".gz")
    if base == "parquet":
        columns = {c: [r[c] for r in records] for c in COLUMNS}
        types = {
            c: pa.float64() if c in ("quantity", "price", "discount") else pa.string()
            for c in COLUMNS
        }
        table = pa.table({c: pa.array(v, types[c]) for c, v in columns.items()})
        pq.write_table(table, path)
        return path
    if base == "jsonl":
        lines = []
        for record, (_, corruption) in zip(records, rows, strict=True):
            escaped = corruption is not None and corruption[0] == "ENCODING"
            if corruption == ("ENCODING", BAD_BYTES):
                record["user_id"], escaped = BAD_BYTES, False
            elif escaped:
                record["user_id"] = "\ud800"  # json.dumps escapes it as \ud800
            lines.append(json.dumps(record, ensure_ascii=escaped) + "\n")
        text = "".join(lines)
    else:
        out = io.StringIO()
        writer = csv.writer(out, delimiter="\t" if base == "tsv" else ",", lineterminator="\n")
        writer.writerow(COLUMNS)
        for record, (_, corruption) in zip(records, rows, strict=True):
            fields = [_text(record[c]) for c in COLUMNS]
            if corruption == ("FIELDS", "too many"):
                fields.append("extra")
            elif corruption == ("FIELDS", "too few"):
                fields = fields[:4]
            elif corruption is not None and corruption[0] == "ENCODING":
                fields[1] = "u" + BAD_BYTES
            writer.writerow(fields)
        text = out.getvalue()
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8", "surrogateescape")
    path.write_bytes(gzip.compress(data) if fmt.endswith(".gz") else data)
    return path


def expected_failure(fmt: str, rows: list[Row], chunk_rows: int) -> type[Exception] | None:
    """The whole-file error a JSON Lines file must give, if any (other formats have a header)."""
    if not fmt.startswith("jsonl"):
        return None
    if all(c is not None and c[0] == "ENCODING" for _, c in rows[:chunk_rows]):
        return FileReadError  # no line of the first chunk is a JSON object
    for key in ("user_id", "event_type"):
        if all(c == (key, MISSING_KEY) or (c and c[0] == "ENCODING") for _, c in rows):
            return MissingColumnsError  # no row names a required column
    return None


def check_the_store_still_works(store: Any, accepted: int) -> None:
    """Profiles, RFM and a recommender build on whatever was accepted."""
    if not accepted:
        return
    build_profiles(store)
    profiles = load_profiles(store)
    assert np.isfinite(profiles["gross_spend"].to_numpy(dtype=float)).all()
    rfm = rfm_table(store)
    assert np.isfinite(rfm["monetary"].to_numpy(dtype=float)).all()
    events = store.query_df("SELECT user_id, item_id, event_type, quantity FROM events")
    interactions = build_interactions(events, use_quantity=True)
    if interactions.matrix.nnz:
        model = create_model("item-knn").fit(interactions.matrix)
        recs = model.recommend(np.arange(interactions.matrix.shape[0]), interactions.matrix, n=2)
        assert recs is not None


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=hostile_files())
def test_hostile_files_lose_nothing_valid_and_poison_nothing(tmp_path_factory, case):
    fmt, rows, bom, chunk_rows = case
    folder = tmp_path_factory.mktemp("hostile")
    path = write_file(folder, fmt, rows, bom)
    first_line = 2 if fmt.startswith(("csv", "tsv")) else 1
    good = {f"e{i}" for i, (_, c) in enumerate(rows) if c is None}
    bad_lines = {first_line + i for i, (_, c) in enumerate(rows) if c is not None}
    with open_store(folder / "sg.duckdb") as store:
        failure = expected_failure(fmt, rows, chunk_rows)
        if failure is not None:
            with pytest.raises(failure):
                ingest_file(store, "events", path, chunk_rows=chunk_rows)
            assert store.count("events") == store.count("quarantine") == 0
            return
        report = ingest_file(store, "events", path, chunk_rows=chunk_rows)
        assert report.rows_read == len(rows)
        assert report.rows_read == report.accepted + report.rejected + report.duplicates
        stored = set(store.query_df("SELECT event_id FROM events")["event_id"])
        assert stored == good  # no valid row lost, no bad row stored
        quarantine = store.query_df("SELECT line, reason FROM quarantine")
        assert set(quarantine["line"]) == bad_lines
        assert len(quarantine) == report.rejected == len(bad_lines)
        assert (quarantine["reason"].str.strip().str.len() > 0).all()
        check_the_store_still_works(store, report.accepted)
