"""Files as exports and spreadsheets in many locales write them: ``;`` (or tab, ``|``) between
fields, numbers with a decimal comma, times that are not ISO 8601."""

from __future__ import annotations

import csv
import tempfile
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopguide.data import sql_ingest
from shopguide.data.ingest import ingest_file
from shopguide.data.readers import DELIMITERS, csv_delimiter
from shopguide.store import open_store

ROWS = [
    ["user_id", "item_id", "event_type", "timestamp", "price", "quantity"],
    ["u1", "i1", "purchase", "2024-03-01 10:00:00", "12.50", "1"],
    ["u2", "i2", "view", "2024-03-01 11:00:00", "", ""],
    ["u3", "i1", "cart", "2024-03-02 09:30:00", "7", "2"],
]

names = st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=8)


@settings(max_examples=200, deadline=None)
@given(
    header=st.lists(names, min_size=2, max_size=8),
    delimiter=st.sampled_from(DELIMITERS),
    suffix=st.sampled_from([".csv", ".txt", ".tsv"]),
)
def test_the_header_tells_the_delimiter(header, delimiter, suffix):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"export{suffix}"
        with open(path, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle, delimiter=delimiter).writerows([header, ["1"] * len(header)])
        assert csv_delimiter(path) == delimiter
        assert csv_delimiter(path, given=",") == ","  # the user's own always wins


def test_a_one_column_header_keeps_the_usual_delimiter(tmp_path):
    (tmp_path / "a.csv").write_text("user_id\nu1\n")
    (tmp_path / "a.tsv").write_text("user_id\nu1\n")
    assert csv_delimiter(tmp_path / "a.csv") == ","
    assert csv_delimiter(tmp_path / "a.tsv") == "\t"


@pytest.mark.parametrize("path_kind", ["sql", "python"])
@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_a_file_with_another_delimiter_loads_as_its_comma_twin(
    tmp_path, monkeypatch, delimiter, path_kind
):
    if path_kind == "python":
        monkeypatch.setenv(sql_ingest.SWITCH, "0")
    stored = []
    for name, sep in (("twin.csv", ","), ("export.csv", delimiter)):
        path = tmp_path / name
        with open(path, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle, delimiter=sep).writerows(ROWS)
        with open_store(tmp_path / f"{name}.duckdb") as store:
            report = ingest_file(store, "events", path)
            assert (report.accepted, report.rejected) == (3, 0)
            stored.append(
                store.query_df(
                    'SELECT user_id, item_id, event_type, "timestamp", price, quantity '
                    "FROM events ORDER BY user_id"
                )
            )
    assert stored[0].equals(stored[1])


def test_a_decimal_comma_is_rejected_with_how_to_load_it(tmp_path):
    rows = [ROWS[0], *[[*r[:4], p, "1"] for r, p in zip(ROWS[1:] * 2, [
        "12,50", "1.234,56", "-0,5", "12.50", "abc", "1,2,3",
    ], strict=False)]]  # fmt: skip
    path = tmp_path / "export.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, delimiter=";").writerows(rows)
    with open_store(tmp_path / "sg.duckdb") as store:
        report = ingest_file(store, "events", path)
        assert (report.accepted, report.rejected) == (1, 5)
        reasons = dict(
            store.query_df("SELECT value, reason FROM quarantine ORDER BY line").values.tolist()
        )
        hint = "; load the file with --derive \"price=replace(COLUMN, ',', '.')\""
        for value in ("12,50", "1.234,56", "-0,5"):
            assert (
                reasons[value]
                == f"price: a decimal comma in '{value}'{hint} (COLUMN: the file's column)"
            )
        assert reasons["abc"] == "price: not a number: 'abc'"
        assert reasons["1,2,3"] == "price: not a number: '1,2,3'"
        assert report.top_reasons == {"price: a decimal comma in …": 3, "price: not a number: …": 2}


@pytest.mark.parametrize(
    ("value", "shape", "expression", "stored"),
    [
        ("1,234.56", "thousands separators", "replace(price, ',', '')", 1234.56),
        ("$12.50", "a currency sign", "regexp_replace(price, '[^0-9.-]', '', 'g')", 12.5),
        ("12.50 €", "a currency sign", "regexp_replace(price, '[^0-9.-]', '', 'g')", 12.5),
        ("EUR 3", "a currency sign", "regexp_replace(price, '[^0-9.-]', '', 'g')", 3.0),
    ],
)
def test_shop_written_numbers_say_how_to_load_them(tmp_path, value, shape, expression, stored):
    path = tmp_path / "export.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([ROWS[0], [*ROWS[1][:4], value, "1"]])
    with open_store(tmp_path / "sg.duckdb") as store:
        assert ingest_file(store, "events", path).rejected == 1
        reason = store.scalar("SELECT reason FROM quarantine")
    hint = expression.replace("(price", "(COLUMN")
    assert reason == (
        f"price: {shape} in '{value}'; load the file with --derive \"price={hint}\" "
        "(COLUMN: the file's column)"
    )
    with open_store(tmp_path / "fixed.duckdb") as store:  # the hint's expression loads it
        report = ingest_file(store, "events", path, derive={"price": expression})
        assert (report.accepted, report.rejected) == (1, 0)
        assert store.scalar("SELECT price FROM events") == stored


@settings(max_examples=100, deadline=None)
@given(
    when=st.datetimes(datetime(1990, 1, 1), datetime(2025, 12, 31)).map(
        lambda d: d.replace(microsecond=0)
    ),
    zone=st.sampled_from([" UTC", " GMT", "UTC", " utc", "Z"]),
)
def test_a_time_ending_in_a_utc_zone_name_is_that_utc_time(when, zone):
    """BigQuery's CSV export writes ``2024-03-01 10:00:00 UTC``."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.csv"
        path.write_text(
            f"user_id,item_id,event_type,timestamp\nu1,i1,view,{when:%Y-%m-%d %H:%M:%S}{zone}\n"
        )
        with open_store(Path(folder) / "sg.duckdb") as store:
            report = ingest_file(store, "events", path)
            assert (report.accepted, report.rejected) == (1, 0)
            assert store.scalar('SELECT "timestamp" FROM events') == when


def test_common_non_iso_times_are_rejected_with_the_derive_that_loads_them(tmp_path):
    values = ["1709287200", "1709287200000", "13/03/2024 10:00", "01.03.2024", "soon"]
    path = tmp_path / "export.csv"
    path.write_text(
        "user_id,item_id,event_type,timestamp\n" + "".join(f"u1,i1,view,{v}\n" for v in values)
    )
    with open_store(tmp_path / "sg.duckdb") as store:
        report = ingest_file(store, "events", path)
        assert report.rejected == len(values)
        reasons = dict(
            store.query_df("SELECT value, reason FROM quarantine ORDER BY line").values.tolist()
        )
    column = " (COLUMN: the file's column"
    assert reasons["1709287200"] == (
        "timestamp: unparseable timestamp '1709287200'; it looks like seconds since 1970: "
        f'load the file with --derive "timestamp=to_timestamp(COLUMN)"{column})'
    )
    assert reasons["1709287200000"].endswith(f'--derive "timestamp=epoch_ms(COLUMN)"{column})')
    for day_first in ("13/03/2024 10:00", "01.03.2024"):
        assert "it looks like a day-month-year or month-day-year date" in reasons[day_first]
        assert "strptime(COLUMN, '%d/%m/%Y %H:%M')" in reasons[day_first]
    assert reasons["soon"] == (
        "timestamp: unparseable timestamp 'soon'; use ISO 8601 such as 2024-03-01T14:05:00"
    )
    # and each hint does load its value
    loads = [("1709287200", "to_timestamp(ts)"), ("1709287200000", "epoch_ms(ts)"),
             ("13/03/2024 10:00", "strptime(ts, '%d/%m/%Y %H:%M')")]  # fmt: skip
    for i, (value, expression) in enumerate(loads):
        one = tmp_path / f"one{i}.csv"
        one.write_text(f"user_id,item_id,event_type,ts\nu1,i1,view,{value}\n")
        with open_store(tmp_path / f"one{i}.duckdb") as store:
            report = ingest_file(store, "events", one, derive={"timestamp": expression})
            assert (report.accepted, report.rejected) == (1, 0)
            expected = datetime(2024, 3, 13, 10) if "/" in value else datetime(2024, 3, 1, 10)
            assert store.scalar('SELECT "timestamp" FROM events') == expected


def test_a_birth_date_gives_the_age_in_full_years(tmp_path):
    """The recipe of docs/howto/own-data.md: full years today, not calendar-year differences."""
    today = date.today()
    births = [date(1990, 5, 3), date(2001, 12, 31), date(1996, 1, 1), date(1996, 12, 31)]

    def full_years(born: date) -> int:
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

    path = tmp_path / "customers.csv"
    path.write_text("user_id,birthday\n" + "".join(f"u{i},{b}\n" for i, b in enumerate(births)))
    with open_store(tmp_path / "sg.duckdb") as store:
        ingest_file(
            store, "users", path,
            derive={"age": "date_part('year', age(current_date, CAST(birthday AS DATE)))"},
        )  # fmt: skip
        ages = store.query_df("SELECT age FROM users ORDER BY user_id")["age"].tolist()
    assert ages == [full_years(b) for b in births]
