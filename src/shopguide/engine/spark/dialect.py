"""DuckDB SQL to Spark SQL: the one place where the two dialects' differences are handled.

The local engine's SQL (:mod:`shopguide.profiles`, :mod:`shopguide.analytics.rfm`) is the
single source of every definition; the Spark engine runs the same statements, translated
by `sqlglot <https://sqlglot.com>`_ (``read="duckdb", write="spark"``). sqlglot handles most
of it (``QUALIFY`` becomes a ``row_number()`` sub-query, ``arg_max`` becomes ``max_by``,
``//`` becomes ``div``, 1-based list indexes become 0-based, the default null order of
``ORDER BY`` is spelled out). What it does not translate, or translates in a way that would
change a result, is rewritten here, before generation, on the parsed statement:

==========================  ======================================================================
DuckDB                      Spark (and why)
==========================  ======================================================================
``$as_of``                  the timestamp literal (Spark SQL has no named parameters here)
``TIMESTAMP`` (naive)       ``TIMESTAMP``: the session zone is UTC (:mod:`.session`), so it
                            reads the same wall clock; sqlglot's ``TIMESTAMP_NTZ`` would mix
                            the two timestamp types in every comparison with the data
``1.0`` (a decimal)         ``1.0D`` (a double): DuckDB divides decimals as doubles, Spark keeps
                            decimals at a fixed scale (6 digits), which changes the results
``isodow(ts)``              ``weekday(ts) + 1``: sqlglot's ``(dayofweek(ts) % 7) + 1`` numbers
                            Sunday 2, not 7
``epoch(a - b)``            ``(unix_micros(a) - unix_micros(b)) / 1e6``: seconds between two
                            timestamps (sqlglot's ``unix_timestamp`` of an interval fails)
``* EXCLUDE (c)``           the columns of the derived table it selects from, without ``c``
                            (Spark has no ``* EXCEPT``)
``INSERT INTO t SELECT``    the ``SELECT``, each column cast to ``t``'s type and named as in
                            ``t``'s DDL (:data:`shopguide.profiles.tables.PROFILE_DDL`),
                            which is what DuckDB's ``INSERT`` does
table ``t``                 a temporary view ``<prefix>t`` (the Spark jobs' views share one
                            session, so their names carry a prefix)
==========================  ======================================================================

Anything else a query needs from Spark that has no DuckDB spelling is not translated but
written for Spark where it is used, and listed in that module's docstring.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Final

from shopguide.errors import MissingDependencyError
from shopguide.profiles.tables import PROFILE_DDL

try:
    import sqlglot
    from sqlglot import exp
except ImportError as error:  # pragma: no cover - the spark extra installs it
    raise MissingDependencyError("sqlglot", "spark", "the Spark engine") from error

__all__ = ["SPARK_PREFIX", "SparkStatement", "table_columns", "to_spark"]

#: Prefix of the temporary views the Spark jobs create.
SPARK_PREFIX: Final = "sg_"


class SparkStatement:
    """A DuckDB statement translated for Spark: its common table expressions and final query.

    ``ctes`` maps each ``WITH`` name to its Spark SQL (in order; a job registers each as a
    temporary view ``<prefix><name>``, so later ones can use them and a job can replace one);
    ``query`` is the final ``SELECT``.
    """

    def __init__(self, ctes: dict[str, str], query: str) -> None:
        self.ctes = ctes
        self.query = query


@cache
def table_columns(table: str) -> tuple[tuple[str, str], ...]:
    """``(column, DuckDB type)`` of a profile table, from its DDL."""
    for ddl in PROFILE_DDL:
        create = sqlglot.parse_one(ddl, read="duckdb")
        schema = create.this
        if isinstance(schema, exp.Schema) and schema.this.name == table:
            return tuple(
                (column.name, column.args["kind"].sql("duckdb"))
                for column in schema.expressions
                if isinstance(column, exp.ColumnDef)
            )
    raise KeyError(f"no DDL for table {table!r}")


def to_spark(
    sql: str,
    *,
    as_of: datetime,
    tables: Mapping[str, str] | None = None,
    prefix: str = SPARK_PREFIX,
) -> SparkStatement:
    """Translate one DuckDB statement (``SELECT``, ``INSERT ... SELECT`` or
    ``CREATE ... AS SELECT``) to Spark SQL.

    Every table or CTE name ``t`` becomes ``prefix + t`` unless ``tables`` maps it to
    another name. ``$as_of`` becomes ``as_of`` as a timestamp literal.
    """
    statement = sqlglot.parse_one(sql, read="duckdb")
    target: str | None = None
    if isinstance(statement, exp.Insert):
        target = statement.this.name
        statement = statement.expression
    elif isinstance(statement, exp.Create):
        statement = statement.expression
    if not isinstance(statement, exp.Query):
        raise ValueError(f"not a query: {sql[:80]!r}")
    stamp = as_of.strftime("%Y-%m-%d %H:%M:%S.%f")
    statement = statement.transform(_rewrite, stamp, copy=True)
    names = dict(tables or {})
    with_ = statement.args.get("with_") or statement.args.get("with")
    cte_names = [cte.alias for cte in with_.expressions] if with_ is not None else []
    nested = {cte.alias for cte in statement.find_all(exp.CTE)} - set(cte_names)
    for table in statement.find_all(exp.Table):
        named = isinstance(table.this, exp.Identifier)  # not a table function
        if named and not table.db and table.name not in nested:
            table.set("this", exp.to_identifier(names.get(table.name, prefix + table.name)))
    ctes: dict[str, str] = {}
    if with_ is not None:
        for name, cte in zip(cte_names, with_.expressions, strict=True):
            ctes[name] = cte.this.sql("spark")
        statement.set("with_", None)
        statement.set("with", None)
    if target is not None:
        _cast_to_table(statement, target)
    return SparkStatement(ctes, statement.sql("spark"))


def _rewrite(node: exp.Expression, stamp: str) -> exp.Expression:
    """The dialect rules of the module docstring, one node at a time. ``transform`` does not
    visit a replaced node's children, so a rule that keeps them rewrites them itself."""
    if isinstance(node, exp.Placeholder) and node.name == "as_of":
        return exp.cast(exp.Literal.string(stamp), exp.DataType.build("TIMESTAMP"))
    if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.TIMESTAMPNTZ:
        return exp.DataType.build("TIMESTAMP")
    if isinstance(node, exp.Literal) and not node.is_string and "." in node.this:
        return _double(node.copy())
    if isinstance(node, exp.DayOfWeekIso):
        weekday = exp.Anonymous(this="weekday", expressions=[node.this.transform(_rewrite, stamp)])
        return exp.Paren(this=exp.Add(this=weekday, expression=exp.Literal.number(1)))
    if isinstance(node, exp.TimeToUnix) and isinstance(node.this, exp.Sub):
        later = node.this.this.transform(_rewrite, stamp)
        earlier = node.this.expression.transform(_rewrite, stamp)
        micros = exp.Sub(
            this=exp.Anonymous(this="unix_micros", expressions=[later]),
            expression=exp.Anonymous(this="unix_micros", expressions=[earlier]),
        )
        return exp.Paren(
            this=exp.Div(this=exp.Paren(this=micros), expression=_double(exp.Literal.number(1e6)))
        )
    if isinstance(node, exp.Select):
        _expand_exclude(node)
    return node


def _spark_type(duckdb_type: str) -> exp.DataType:
    """A DuckDB column type with the timestamp rule applied."""
    kind = exp.DataType.build(duckdb_type, dialect="duckdb")
    if kind.this == exp.DataType.Type.TIMESTAMPNTZ:
        return exp.DataType.build("TIMESTAMP")
    return kind


def _double(value: exp.Expression) -> exp.Expression:
    return exp.cast(value, exp.DataType.build("DOUBLE"))


def _expand_exclude(select: exp.Select) -> None:
    """``SELECT * EXCLUDE (c), ... FROM (derived table)``: list the derived table's columns."""
    for position, item in enumerate(select.expressions):
        excluded = item.args.get("except_") or item.args.get("except")
        if not isinstance(item, exp.Star) or not excluded:
            continue
        source = select.args.get("from_") or select.args.get("from")
        derived = source.this if source is not None else None
        if not isinstance(derived, exp.Subquery) or select.args.get("joins"):
            raise ValueError("SELECT * EXCLUDE translates only over one derived table")
        drop = {column.name for column in excluded}
        kept = [exp.column(name) for name in derived.this.named_selects if name not in drop]
        select.set("expressions", [*select.expressions[:position], *kept,
                                   *select.expressions[position + 1 :]])  # fmt: skip
        return


def _cast_to_table(select: exp.Expression, table: str) -> None:
    """Cast and name the selected columns as ``table``'s DDL does (what ``INSERT`` does)."""
    columns = table_columns(table)
    if not isinstance(select, exp.Select) or len(select.expressions) != len(columns):
        raise ValueError(f"the query does not select the {len(columns)} columns of {table}")
    select.set(
        "expressions",
        [
            exp.alias_(exp.cast(item.unalias(), _spark_type(kind)), name)
            for item, (name, kind) in zip(select.expressions, columns, strict=True)
        ],
    )
