"""Every table is made by a migration, and the migrated events, users and items tables are
exactly what ``shopguide.columns`` describes."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import duckdb

import shopguide
from shopguide.columns import EVENTS, ITEMS, USERS
from shopguide.schema import duckdb_columns
from shopguide.store import open_store
from shopguide.store.schema import LATEST_VERSION, MIGRATIONS

SOURCE = Path(shopguide.__file__).parent

#: Tables made outside the migrations, and why.
CREATED_ELSEWHERE = {
    # the migration bookkeeping itself, made before any migration runs
    "store/duckdb_store.py": {"schema_version"},
    # whether the profile tables exist says whether profiles were ever built
    "profiles/tables.py": {
        "profile_agg_users", "profile_agg_categories", "profile_agg_brands",
        "profile_category_prices", "profile_builds", "profiles", "profile_population",
        "profile_population_shares", "profile_live", "profile_stale_aggregates",
    },
}  # fmt: skip
_CREATE = re.compile(
    r"CREATE\s+(?:OR\s+REPLACE\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?!IF\b)(\w+)", re.I
)


def _columns(store, table: str) -> list[tuple[str, str, bool]]:
    frame = store.query_df(
        "SELECT column_name, data_type, is_nullable = 'YES' AS nullable "
        "FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
        [table],
    )
    return [(str(n), str(t), bool(x)) for n, t, x in frame.itertuples(index=False, name=None)]


def test_a_migrated_store_has_exactly_the_described_columns_and_types(tmp_path):
    with open_store(tmp_path / "sg.duckdb") as store:
        for table in (EVENTS, USERS, ITEMS):
            assert _columns(store, table.name) == duckdb_columns(table), table.name


def test_tables_are_created_by_migrations_only():
    found: dict[str, set[str]] = {}
    for path in sorted(SOURCE.rglob("*.py")):
        relative = path.relative_to(SOURCE).as_posix()
        if relative in ("store/schema.py", "schema.py"):  # the migrations; the DDL writer
            continue
        names = set(_CREATE.findall(path.read_text(encoding="utf-8")))
        if names:
            found[relative] = names
    assert found == CREATED_ELSEWHERE


def test_a_new_store_has_every_table_the_code_writes_to(tmp_path):
    with open_store(tmp_path / "sg.duckdb") as store:
        for table in ("campaign_contacts", "audiences", "audience_index", "audience_audits"):
            assert store.has_table(table), table


def test_a_store_that_made_the_audience_tables_on_use_migrates_and_keeps_them(tmp_path):
    """Before migration 5 the service created ``audiences`` when it first saved one."""
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP)")
    for version in range(1, 5):
        for statement in MIGRATIONS[version]:
            con.execute(statement)
        con.execute("INSERT INTO schema_version VALUES (?, ?)", [version, datetime(2026, 1, 1)])
    con.execute(
        "CREATE TABLE audiences (audience_id VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, "
        "name VARCHAR, user_id VARCHAR NOT NULL, score DOUBLE NOT NULL, rank INTEGER NOT NULL, "
        "reasons VARCHAR)"
    )
    con.execute("INSERT INTO audiences VALUES ('a1', '2026-01-02', 'tea', 'u1', 0.9, 1, NULL)")
    con.close()
    with open_store(path) as store:
        assert store.schema_version == LATEST_VERSION >= 5
        assert store.query_df("SELECT audience_id, user_id FROM audiences").values.tolist() == [
            ["a1", "u1"]
        ]
        assert store.count("audience_index") == 0
        assert store.has_table("audience_audits")
