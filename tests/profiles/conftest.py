"""The hand-made store fixture for profile tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from profiles_testdata import HAND_EVENTS, ITEMS, USERS, events_frame

from shopguide.store import open_store
from shopguide.store.base import Store


@pytest.fixture()
def hand_store(tmp_path: Path) -> Iterator[Store]:
    """A store file with the hand-made users, items and events above."""
    store = open_store(tmp_path / "hand.duckdb")
    store.append("items", ITEMS)
    store.append("users", USERS)
    store.append("events", events_frame(HAND_EVENTS))
    yield store
    store.close()
