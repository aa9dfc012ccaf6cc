"""The plain-Python typing of small chunks: it types rows only as validate_chunk would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shopguide.columns import EVENT_FILE_COLUMNS, EventType
from shopguide.data.ingest import ingest_frame
from shopguide.data.plain_rows import PLAIN_ROWS, plain_table
from shopguide.data.validate import EVENTS, USERS, validate_chunk
from shopguide.store import open_store


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows as the service's event endpoint hands them to ingestion."""
    frame = pd.DataFrame(rows, columns=list(EVENT_FILE_COLUMNS)).astype(object)
    return frame.where(frame.notna(), None)


_TRICKY_TEXT = st.sampled_from(
    ["", " ", "u 1", " u1", "u1 ", "u1\t", "\tu1", "u\x001", "u\x85", "\u2003u", "x" * 200,
     "x" * 201, "ü", "用户", "0", "-3", "1.5", "12,50", "1e3", "NaN", "inf", "+5",
     "007", " 5", "5 ", "$5", "-0", "1_000"]
)  # fmt: skip
_IDS = st.one_of(
    st.none(),
    st.text(min_size=0, max_size=8),
    _TRICKY_TEXT,
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False),
    st.booleans(),
)
_EVENT_TYPES = st.one_of(
    st.sampled_from(EventType.ALL),
    st.sampled_from(["Purchase", " view", "cart ", "buy", "VIEW", "", "K"]),
    st.none(),
    st.integers(),
)
_NOW = datetime.now(UTC).replace(tzinfo=None)


@st.composite
def _timestamps(draw: st.DrawFn) -> object:
    moment = draw(st.datetimes(min_value=datetime(1900, 1, 1), max_value=_NOW + timedelta(300)))
    shape = draw(
        st.sampled_from(
            ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S.%f",
             "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S+05:30", "%Y-%m-%dT%H:%M:%S-08:00",
             "%d/%m/%Y %H:%M", "%Y-%m-%dT%H:%M", "%Y%m%dT%H%M%S", "%Y-%m-%dT%H:%M:%S UTC",
             "%Y-%m-%dT%H:%M:%S+0530"]
        )
    )  # fmt: skip
    text = moment.strftime(shape)
    if draw(st.booleans()) and "." in text:  # fewer fractional digits
        text = text[: len(text) - draw(st.integers(0, 5))]
    return draw(
        st.one_of(
            st.just(text),
            st.none(),
            st.sampled_from(["2024-02-30T00:00:00", "2024-13-01", "1700000000", "", "soon"]),
            st.integers(0, 2_000_000_000),
        )
    )


_NUMBERS = st.one_of(
    st.none(),
    st.integers(min_value=-5, max_value=2_000_000_000),
    st.floats(),
    st.from_regex(r"-?\d{1,16}(\.\d{1,16})?", fullmatch=True),
    _TRICKY_TEXT,
    st.booleans(),
)
#: An id as shops write them, or any text (with spaces or control characters too, which
#: only validate_chunk takes or rejects)
_ID = st.one_of(
    st.from_regex(r"[A-Za-z0-9_:-]{1,10}", fullmatch=True), st.text(min_size=1, max_size=10)
)
#: Values of each column that are mostly valid
_GOOD = {
    "event_id": st.one_of(st.none(), _ID, st.integers(0, 10**9)),
    "user_id": st.one_of(_ID, st.integers(-(10**12), 10**12)),
    "item_id": _ID,
    "event_type": st.sampled_from(EventType.ALL),
    "timestamp": _timestamps().filter(lambda t: isinstance(t, str) and t[:2] in ("19", "20")),
    "quantity": st.one_of(
        st.none(), st.integers(1, 1000), st.floats(0.001, 1e6), st.from_regex(r"[1-9]\d{0,3}",
        fullmatch=True)
    ),
    "price": st.one_of(st.none(), st.floats(0, 1e9), st.from_regex(r"\d{1,6}\.\d{2}",
        fullmatch=True)),
    "discount": st.one_of(st.none(), st.integers(0, 100)),
    "order_id": st.one_of(st.none(), _ID),
}  # fmt: skip
#: Any value of each column
_ANY = {
    "event_id": _IDS, "user_id": _IDS, "item_id": _IDS, "event_type": _EVENT_TYPES,
    "timestamp": _timestamps(), "quantity": _NUMBERS, "price": _NUMBERS, "discount": _NUMBERS,
    "order_id": _IDS,
}  # fmt: skip


@st.composite
def _rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    """1-6 rows of mostly valid values; in some rows one or two replaced by any value."""
    rows = []
    for _ in range(draw(st.integers(1, 6))):
        row = {name: draw(values) for name, values in _GOOD.items()}
        if draw(st.integers(0, 4)) == 0:
            for name in draw(st.sets(st.sampled_from(sorted(_ANY)), min_size=1, max_size=2)):
                row[name] = draw(_ANY[name])
        rows.append(row)
    return rows


_ROWS = _rows()


def _plainly_valid(n: int) -> list[dict[str, Any]]:
    return [
        {"event_id": f"e{i}", "user_id": i, "item_id": f"商品-{i}", "event_type": "purchase",
         "timestamp": f"2024-03-0{1 + i % 9}T10:00:0{i % 10}.25+01:00", "quantity": 2,
         "price": "12.50", "discount": 0.5 if i % 2 else None}
        for i in range(n)
    ]  # fmt: skip


def _assert_typed_alike(plain: pa.Table, frame: pd.DataFrame) -> None:
    typed, good, problems = validate_chunk(EVENTS, frame)
    assert good.all(), problems.reasons
    expected = pa.Table.from_pandas(typed, preserve_index=False)
    assert plain.column_names == expected.column_names
    for name in expected.column_names:
        ours, theirs = plain[name], expected[name]
        assert ours.type == theirs.type or pa.types.is_string(ours.type), name
        assert ours.to_pylist() == theirs.to_pylist(), name


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ROWS)
def test_a_plain_table_is_what_validate_chunk_makes_of_rows_it_accepts(
    rows: list[dict[str, Any]],
) -> None:
    frame = _frame(rows)
    plain = plain_table(EVENTS, frame)
    if plain is not None:
        _assert_typed_alike(plain, frame)


@settings(max_examples=200, deadline=None)
@given(_ROWS, st.integers(0, 5))
def test_one_value_without_a_plain_form_sends_the_chunk_to_validate_chunk(
    rows: list[dict[str, Any]], where: int
) -> None:
    batch = _plainly_valid(6)
    batch[where] = {**batch[where], **rows[0]}
    frame = _frame(batch)
    _, good, _ = validate_chunk(EVENTS, frame)
    if not good.all():  # a row validate_chunk rejects is never typed here
        assert plain_table(EVENTS, frame) is None


def test_plainly_valid_rows_are_typed_here() -> None:
    frame = _frame(_plainly_valid(9))
    plain = plain_table(EVENTS, frame)
    assert plain is not None
    _assert_typed_alike(plain, frame)
    assert plain["timestamp"][0].as_py() == datetime(2024, 3, 1, 9, 0, 0, 250000)
    assert plain["user_id"].to_pylist()[:2] == ["0", "1"]
    assert plain["quantity"].to_pylist()[0] == 2.0 and plain["price"].to_pylist()[0] == 12.5


def test_typed_columns_as_a_parquet_file_gives_them_are_typed_alike() -> None:
    rows = [{**row, "discount": 1.25} for row in _plainly_valid(5)]
    frame = pd.DataFrame(rows)  # user ids int64, numbers float64, no object columns for them
    assert frame["user_id"].dtype == "int64" and frame["discount"].dtype == "float64"
    plain = plain_table(EVENTS, frame)
    assert plain is not None
    _assert_typed_alike(plain, frame)


def test_big_chunks_and_tables_with_attributes_are_left_to_validate_chunk() -> None:
    assert plain_table(EVENTS, _frame(_plainly_valid(PLAIN_ROWS + 1))) is None
    users = pd.DataFrame({"user_id": ["u1"], "gender": ["F"]}, dtype=object)
    assert plain_table(USERS, users) is None


def test_a_batch_stored_through_either_path_gives_the_same_rows(tmp_path) -> None:
    batch = _plainly_valid(8)
    frame = _frame(batch)
    assert plain_table(EVENTS, frame) is not None
    tables = []
    pandas_sized = frame.iloc[list(range(8)) * (PLAIN_ROWS // 8 + 1)]
    for name, rows in (("plain", frame), ("pandas", pandas_sized)):
        # past PLAIN_ROWS, so validate_chunk types them (the repeats are duplicates)
        with open_store(tmp_path / f"{name}.duckdb") as store:
            report = ingest_frame(store, "events", rows, source="api:events")
            assert report.accepted == 8
            tables.append(
                store.query_df("SELECT * EXCLUDE (load_id) FROM events ORDER BY event_id")
            )
    pd.testing.assert_frame_equal(tables[0], tables[1])
