"""The search box's user index against a plain Python reading of the same rules, on a real
DuckDB store: ids starting with the text first, then ids holding it, then users whose location
or segment starts with it, each in (length, id) order; an empty store answers empty."""

from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shopguide.data.ingest import ingest_frame
from shopguide.profiles.build import build_profiles
from shopguide.store import open_store
from shopguide.store.base import Store
from shopguide.workflows.privacy import erase_user
from shopguide.workflows.serving.lookup import SearchCache, UserIndex, search

IDS = st.text(alphabet="aAbB01_-ä", min_size=1, max_size=6)


def _reference(rows: list[tuple[str, str | None]], text: str, limit: int) -> list[str]:
    """The users :meth:`UserIndex.find` should give, worked out one rule at a time."""
    needle = text.lower()
    ordered = sorted(rows, key=lambda r: (len(r[0]), r[0]))
    out: list[str] = []
    for rule in (
        lambda r: r[0].lower().startswith(needle),
        lambda r: needle in r[0].lower(),
        lambda r: r[1] is not None and r[1].lower().startswith(needle),
    ):
        for user, _ in ordered:
            if rule((user, _)) and user not in out:
                out.append(user)
    return out[:limit]


def test_an_empty_store_answers_empty(tmp_path: Path) -> None:
    with open_store(tmp_path / "shop.duckdb") as store:
        assert search(store, "u1") == {"query": "u1", "users": [], "items": [], "segments": []}


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    users=st.dictionaries(
        IDS, st.sampled_from([None, "Bath", "bAkersfield", "Oslo"]), min_size=1, max_size=30
    ),
    text=IDS,
    limit=st.integers(1, 8),
)
def test_the_index_finds_what_the_rules_say(
    users: dict[str, str | None], text: str, limit: int
) -> None:
    with open_store(":memory:") as store:
        for user, location in users.items():
            store.execute("INSERT INTO users (user_id, location) VALUES (?, ?)", [user, location])
        index = UserIndex.read(store)
        found = [u["user_id"] for u in index.find(text, limit)]
        assert found == _reference(list(users.items()), text, limit)
        cached = search(store, text, limit, cache=SearchCache())["users"]
        assert [u["user_id"] for u in cached] == found


def _shop(path: Path) -> None:
    """A small store with a profile build: users u1..u30 with one purchase each."""
    users = [f"u{i}" for i in range(1, 31)]
    with open_store(path) as store:
        ingest_frame(
            store, "users", pd.DataFrame({"user_id": users, "location": "Bath"}), source="u.csv"
        )
        purchases = pd.DataFrame(
            {"user_id": users, "item_id": "i1", "event_type": "purchase",
             "timestamp": "2024-01-02", "price": 5.0}
        )  # fmt: skip
        ingest_frame(store, "events", purchases, source="e.csv")
        build_profiles(store)


def test_a_changed_version_is_read_in_the_background_and_erased_users_never_show(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shop.duckdb"
    _shop(path)
    with open_store(path) as store:
        opened = threading.Event()
        allow = threading.Event()

        def connect() -> Store:  # a real second connection, handed out when the test says
            opened.set()
            assert allow.wait(30)
            return store.reader()

        cache = SearchCache(connect=connect)
        first = cache.get(store)  # the first index: read by the request that needs it
        assert not opened.is_set()
        assert [u["user_id"] for u in search(store, "u1", 3, cache=cache)["users"]] == [
            "u1", "u10", "u11",
        ]  # fmt: skip
        erase_user(store, "u10")
        cache.checked = 0.0  # as if the once-a-second check were due
        # the request that notices the change gets the old index at once: the new one is
        # being read on the background thread, which is still waiting for its connection
        assert cache.get(store) is first
        assert opened.wait(30)
        found = search(store, "u1", 3, cache=cache)["users"]
        assert cache.index is first  # still the old index ...
        assert [u["user_id"] for u in found] == ["u1", "u11"]  # ... without the erased user
        allow.set()
        cache.join(30)
        assert cache.index is not first and cache.index is not None
        assert [u["user_id"] for u in search(store, "u1", 3, cache=cache)["users"]] == [
            "u1", "u11", "u12",
        ]  # fmt: skip
