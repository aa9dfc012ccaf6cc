"""One description of the events, users and items tables (``shopguide.columns``), and every
form of it the code uses derived from it: validation spec, API model, Arrow and Spark schemas."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

import shopguide
from shopguide.columns import EVENT_FILE_COLUMNS, EVENTS, ITEMS, TABLES, USERS, Columns
from shopguide.data.datasets.synthetic.config import EVENT_SCHEMA
from shopguide.data.validate import SPECS
from shopguide.engine.spark import io as spark_io
from shopguide.schema import arrow_schema, duckdb_columns, duckdb_ddl, spark_ddl
from shopguide.service.schemas import EventIn
from shopguide.store import open_store

SOURCE = Path(shopguide.__file__).parent
_EVENT_NAMES = frozenset(EVENT_FILE_COLUMNS) | {Columns.EVENT_KEY}
_ATTRIBUTES = {a for a in vars(Columns) if not a.startswith("_")}
#: A literal naming at least this many event columns spells out the event schema.
_SCHEMA_SIZED = len(EVENT_FILE_COLUMNS) - 2

#: Where the event column list may be spelled out, and why.
ALLOWED: dict[str, int] = {
    # the one description of the table
    "columns.py": 1,
    # migration 1 has shipped and stays frozen text; tests/store/test_migrations.py checks
    # that a migrated store has exactly the columns and types of shopguide.columns.EVENTS
    "store/schema.py": 1,
    # datasets that build every event column's values (their output is checked against
    # EVENT_FILE_COLUMNS and the Arrow schema in tests/data)
    "data/datasets/complete_journey.py": 1,
    "data/datasets/synthetic/simulation.py": 1,
}


def _column_named(node: ast.AST) -> str | None:
    """The event column a literal element names: ``"price"``, ``Columns.PRICE``, ``C.PRICE``,
    or the first element of a call or tuple such as ``Column(C.PRICE, ...)``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        name = node.value.strip('"')
        return name if name in _EVENT_NAMES else None
    if isinstance(node, ast.Attribute) and node.attr in _ATTRIBUTES:
        value = getattr(Columns, node.attr)
        return value if value in _EVENT_NAMES else None
    if isinstance(node, ast.Call) and node.args:
        return _column_named(node.args[0])
    if isinstance(node, ast.Tuple) and node.elts:
        return _column_named(node.elts[0])
    return None


def _docstrings(tree: ast.Module) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def schema_listings(tree: ast.Module) -> Iterator[int]:
    """Lines of literals that name (nearly) every event column: tuples, lists, sets, dict keys,
    call arguments, class bodies (a pydantic model) and SQL or Spark DDL text."""
    docstrings = _docstrings(tree)
    for node in ast.walk(tree):
        names: set[str | None]
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            names = {_column_named(e) for e in node.elts}
        elif isinstance(node, ast.Dict):
            names = {_column_named(k) for k in node.keys if k is not None}
        elif isinstance(node, ast.Call):
            names = {k.arg for k in node.keywords} | {_column_named(a) for a in node.args}
        elif isinstance(node, ast.ClassDef):
            names = {
                s.target.id
                for s in node.body
                if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
            }
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) in docstrings:
                continue
            names = set(re.findall(r"\w+", node.value))
        else:
            continue
        if len(names & _EVENT_NAMES) >= _SCHEMA_SIZED:
            yield node.lineno


def test_the_event_column_list_is_spelled_out_in_one_place():
    found: dict[str, list[int]] = {}
    for path in sorted(SOURCE.rglob("*.py")):
        lines = list(schema_listings(ast.parse(path.read_text(encoding="utf-8"))))
        if lines:
            found[path.relative_to(SOURCE).as_posix()] = lines
    extra = {p: lines for p, lines in found.items() if len(lines) > ALLOWED.get(p, 0)}
    assert not extra, f"event columns listed outside shopguide.columns: {extra}"
    assert found["columns.py"], "the scan no longer finds the events table itself"


def test_the_scan_finds_the_ways_a_column_list_was_written():
    written = [
        "X = (C.EVENT_ID, C.USER_ID, C.ITEM_ID, C.EVENT_TYPE, C.TIMESTAMP, C.QUANTITY,"
        " C.PRICE, C.DISCOUNT, C.ORDER_ID, C.SESSION_ID, C.CAMPAIGN_ID)",
        "S = pa.schema([('event_id', s), ('user_id', s), ('item_id', s), ('event_type', s),"
        " ('timestamp', t), ('quantity', f), ('price', f), ('discount', f), ('order_id', s),"
        " ('session_id', s), ('campaign_id', s)])",
        "class EventIn(BaseModel):\n"
        + "".join(f"    {name}: str | None = None\n" for name in EVENT_FILE_COLUMNS),
        "DDL = 'CREATE TABLE events (event_key VARCHAR, event_id VARCHAR, user_id VARCHAR,"
        " item_id VARCHAR, event_type VARCHAR, timestamp TIMESTAMP, quantity DOUBLE,"
        " price DOUBLE, discount DOUBLE, order_id VARCHAR)'",
    ]
    for source in written:
        assert list(schema_listings(ast.parse(source))), source
    query = "Q = 'SELECT user_id, item_id, event_type, timestamp, quantity, price FROM events'"
    assert not list(schema_listings(ast.parse(query)))


def test_validation_spec_is_the_file_columns_of_each_table():
    for name, table in TABLES.items():
        spec = SPECS[name]
        assert spec.fields == table.file_columns
        assert spec.key == table.key
        assert spec.keeps_attributes == (Columns.ATTRIBUTES in table.names)
    assert SPECS["events"].names == list(EVENT_FILE_COLUMNS)
    assert SPECS["users"].keeps_attributes and not SPECS["events"].keeps_attributes


def test_api_event_model_has_the_event_file_columns_in_order():
    assert tuple(EventIn.model_fields) == EVENT_FILE_COLUMNS
    for column in EVENTS.file_columns:
        field = EventIn.model_fields[column.name]
        assert field.description == column.doc
        assert not field.is_required()
    assert EventIn.model_config.get("extra") == "forbid"


def test_the_synthetic_events_file_has_the_store_types_of_the_event_columns(tmp_path):
    """The generator's Arrow schema, written to Parquet, reads into DuckDB with the same types
    the migrated store's events columns have."""
    assert arrow_schema(EVENTS) == EVENT_SCHEMA
    path = tmp_path / "events.parquet"
    pq.write_table(EVENT_SCHEMA.empty_table(), path)
    with open_store(tmp_path / "sg.duckdb") as store:
        stored = dict(
            store.query_df(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = 'events'"
            ).itertuples(index=False, name=None)
        )
        read = store.query_df(f"DESCRIBE SELECT * FROM read_parquet('{path}')")
    assert list(read["column_name"]) == list(EVENT_FILE_COLUMNS)
    assert {r.column_name: r.column_type for r in read.itertuples()} == {
        name: stored[name] for name in EVENT_FILE_COLUMNS
    }


#: The Spark type DuckDB's store types are read as.
_SPARK_OF = {
    "VARCHAR": "STRING",
    "JSON": "STRING",
    "DOUBLE": "DOUBLE",
    "INTEGER": "INT",
    "BOOLEAN": "BOOLEAN",
    "TIMESTAMP": "TIMESTAMP",
}


def _spark_pairs(ddl: str) -> list[tuple[str, str]]:
    return [tuple(part.split()) for part in ddl.split(", ")]  # type: ignore[misc]


def test_spark_schema_strings_match_the_store_types(tmp_path):
    with open_store(tmp_path / "sg.duckdb") as store:
        for table in (EVENTS, USERS, ITEMS):
            stored = store.query_df(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = ? ORDER BY ordinal_position",
                [table.name],
            )
            expected = [(r.column_name, _SPARK_OF[r.data_type]) for r in stored.itertuples()]
            assert _spark_pairs(spark_ddl(table)) == expected
    # the empty users and items frames the Spark engine joins: the store's columns but the
    # JSON attributes
    for ddl, table in ((spark_io._EMPTY_USERS, USERS), (spark_io._EMPTY_ITEMS, ITEMS)):
        names = [name for name, _ in _spark_pairs(ddl)]
        assert names == [c for c in table.names if c != Columns.ATTRIBUTES]
    assert spark_ddl(EVENTS, ["user_id", "quantity"]) == "user_id STRING, quantity DOUBLE"


def test_duckdb_ddl_creates_the_table_the_migrations_made(tmp_path):
    """A future migration can use ``duckdb_ddl``: it makes what migration 1 made."""
    con = duckdb.connect()
    with open_store(tmp_path / "sg.duckdb") as store:
        for table in (EVENTS, USERS, ITEMS):
            con.execute(duckdb_ddl(table))
            sql = (
                "SELECT column_name, data_type, is_nullable = 'YES' "
                "FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position"
            )
            fresh = con.execute(sql, [table.name]).fetchall()
            migrated = list(store.query_df(sql, [table.name]).itertuples(index=False, name=None))
            assert fresh == [tuple(row) for row in migrated] == duckdb_columns(table)
