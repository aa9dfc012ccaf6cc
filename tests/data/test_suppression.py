"""The erased-user check has one source: the SQL of ``erased_predicate``."""

from __future__ import annotations

import re
from pathlib import Path

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings

import shopguide
from shopguide.data.suppression import (
    erased_count_sql,
    erased_predicate,
    is_suppressed,
    user_hash,
)
from shopguide.store import open_store

SOURCE = Path(shopguide.__file__).parent
_IDS = st.text(min_size=1, max_size=20)


def test_only_erased_predicate_reads_the_suppression_list():
    reads = {}
    for path in sorted(SOURCE.rglob("*.py")):
        n = len(re.findall(r"FROM\s+suppressed_users", path.read_text(encoding="utf-8")))
        if n:
            reads[path.relative_to(SOURCE).as_posix()] = n
    # the check (erased_predicate) and the count a cache watches (erased_count_sql)
    assert reads == {"data/suppression.py": 2}
    assert "FROM suppressed_users" in erased_predicate("user_id")
    assert "FROM suppressed_users" in erased_count_sql()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(erased=st.lists(_IDS, max_size=4), others=st.lists(_IDS, max_size=6))
def test_python_helpers_agree_with_the_sql_check(tmp_path_factory, erased, others):
    """The key written on erasure (``user_hash``) is what the SQL check computes, and the
    Python helpers answer exactly what that check answers, for any text id."""
    with open_store(tmp_path_factory.mktemp("s") / "sg.duckdb") as store:
        for user_id in erased:
            store.execute(
                "INSERT INTO suppressed_users VALUES (?, now()) ON CONFLICT DO NOTHING",
                [user_hash(user_id)],
            )
        ids = [*others, *erased, None]
        by_sql = [
            i is not None
            and bool(store.scalar(f"SELECT {erased_predicate('CAST(? AS VARCHAR)')}", [i]))
            for i in ids
        ]
        assert by_sql == [i is not None and i in erased for i in ids]
        assert [is_suppressed(store, i) for i in ids if i is not None] == by_sql[:-1]
