"""The default evaluation window is 10 % of the data's span, not 38 days fitted to one data set."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from shopguide.cli.app import app
from shopguide.data.datasets.synthetic import generate
from shopguide.data.eval_window import default_test_days
from shopguide.data.ingest import ingest_frame
from shopguide.errors import DataError
from shopguide.store import open_store
from shopguide.workflows.modelling import store_events, tune_events


@pytest.mark.parametrize(
    ("first", "last", "days"),
    [
        ("2010-12-01 08:26", "2011-12-09 12:50", 37),  # Online Retail: 373 days
        ("2024-01-01", "2024-06-29", 18),  # 180 days
        ("2024-01-01", "2024-02-15", 4),  # 45 days
        ("2024-01-01 09:00", "2024-01-01 11:00", 1),  # two hours: at least one day
    ],
)
def test_default_window_known_answers(first: str, last: str, days: int) -> None:
    assert default_test_days([pd.Timestamp(first), pd.Timestamp(last)]) == days


@given(
    start=st.datetimes(min_value=pd.Timestamp("2000-01-01"), max_value=pd.Timestamp("2030-01-01")),
    span_hours=st.integers(min_value=0, max_value=24 * 365 * 10),
)
def test_default_window_is_a_tenth_of_the_span_and_at_least_a_day(
    start: pd.Timestamp, span_hours: int
) -> None:
    end = pd.Timestamp(start) + pd.Timedelta(hours=span_hours)
    days = default_test_days([start, end])
    tenth = 0.1 * span_hours / 24
    if tenth < 1:  # a short span still gets a whole day
        assert days == 1
    else:  # otherwise the tenth rounded to the nearest day
        assert abs(days - tenth) <= 0.5


def test_no_timestamps_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="no events"):
        default_test_days([])


def _store(path: Path, days: int) -> Path:
    data = generate(n_users=120, n_items=40, n_events=3_000, seed=5, days=days)
    with open_store(path) as store:
        for table in ("items", "users", "events"):
            ingest_frame(store, table, getattr(data, table), source=table)
    return path


def _cut(split: str) -> pd.Timestamp:
    found = re.search(r"events before (\d{4}-\d\d-\d\d)", split)
    assert found is not None, split
    return pd.Timestamp(found[1])


def test_evaluate_and_tune_default_to_a_share_of_each_stores_span(tmp_path: Path) -> None:
    runner = CliRunner()
    for days in (180, 60):
        db = _store(tmp_path / f"shop{days}.duckdb", days)
        with open_store(db) as store:
            events = store_events(store)
        stamps = events["timestamp"]
        expected = round(0.1 * (stamps.max() - stamps.min()) / pd.Timedelta(days=1))
        assert expected == {180: 18, 60: 6}[days]

        result = runner.invoke(app, ["evaluate", "popular", "--db", str(db), "--json"])
        assert result.exit_code == 0, result.output
        cut = _cut(json.loads(result.output)["split"])
        assert cut == stamps.max().normalize() - pd.Timedelta(days=expected)

        tuned = tune_events(events, "popular", {"n": [10]}, windows=2)
        spans = [
            re.search(r"test = \[([^,]+), ([^)]+)\)", text) for text in tuned.to_dict()["splits"]
        ]
        assert len(spans) == 2 and all(spans), tuned.to_dict()["splits"]
        assert [
            round((pd.Timestamp(m[2]) - pd.Timestamp(m[1])) / pd.Timedelta(days=1)) for m in spans
        ] == [expected, expected]
