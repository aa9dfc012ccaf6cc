"""The search box's user index against a plain Python reading of the same rules, on a real
DuckDB store: ids starting with the text first, then ids holding it, then users whose location
or segment starts with it, each in (length, id) order; an empty store answers empty."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shopguide.store import open_store
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
