"""Every as_of becomes naive UTC the same way (``shopguide.data.times``)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopguide.data.ingest import ingest_frame
from shopguide.data.times import latest_event_time, naive_utc
from shopguide.errors import DateError
from shopguide.store import open_store

_WHEN = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1))
_OFFSET = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))


@given(_WHEN, _OFFSET)
@settings(max_examples=200, deadline=None)
def test_an_aware_time_becomes_the_same_instant_in_naive_utc(when: datetime, tz: timezone) -> None:
    aware = when.replace(tzinfo=tz)
    expected = when - tz.utcoffset(None)  # the wall time minus its offset is UTC
    assert naive_utc(aware) == pd.Timestamp(expected)
    assert naive_utc(aware.isoformat()) == pd.Timestamp(expected)  # the text form too
    assert naive_utc(aware).tzinfo is None


@given(_WHEN)
@settings(max_examples=100, deadline=None)
def test_a_naive_time_is_taken_as_utc_unchanged(when: datetime) -> None:
    assert naive_utc(when) == pd.Timestamp(when)
    assert naive_utc(when.isoformat()) == pd.Timestamp(when)


@pytest.mark.parametrize("text", ["yesterday-ish", "", "2024-13-45", "NaT"])
def test_an_unreadable_time_is_a_date_error_naming_it(text: str) -> None:
    with pytest.raises(DateError) as caught:
        naive_utc(text)
    assert repr(text) in caught.value.message and "ISO 8601" in (caught.value.hint or "")


def test_the_latest_event_time_is_read_from_the_store(tmp_path) -> None:
    with open_store(tmp_path / "s.duckdb") as store:
        assert latest_event_time(store) is None
        events = pd.DataFrame(
            {"user_id": ["u", "u"], "item_id": ["i", "j"], "event_type": ["view", "view"],
             "timestamp": ["2024-05-03T10:30+02:00", "2024-05-01 10:00"]}
        )  # fmt: skip
        ingest_frame(store, "events", events, source="events.csv")
        assert latest_event_time(store) == pd.Timestamp("2024-05-03 08:30")
