"""The DuckDB-to-Spark translation gives the same answers on Spark as the SQL on DuckDB.

Most cases are dialect rules of :mod:`shopguide.engine.spark.dialect` (ISO weekday, seconds
between timestamps, decimal literals, ``* EXCLUDE``, ``INSERT`` casts), where sqlglot's plain
translation gives a different answer or none; the others (whole days, ``QUALIFY``) are
translations by sqlglot itself that the profile SQL relies on.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import duckdb
import pytest

from shopguide.engine.spark.dialect import table_columns, to_spark

AS_OF = datetime(2024, 5, 20, 12, 30, 15, 250_000)
#: Monday 1 January 2024 to Sunday 7 January, as DuckDB row values.
WEEK = ", ".join(f"(TIMESTAMP '2024-01-0{day} 10:00:00')" for day in range(1, 8))


def _duckdb_rows(sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect() as con:
        params = {"as_of": AS_OF} if "$as_of" in sql else None
        return [tuple(row) for row in con.execute(sql, params).fetchall()]


def _spark_rows(spark: Any, sql: str) -> list[tuple[Any, ...]]:
    statement = to_spark(sql, as_of=AS_OF, prefix="sgt_")
    for name, cte in statement.ctes.items():
        spark.sql(cte).createOrReplaceTempView(f"sgt_{name}")
    return [tuple(row) for row in spark.sql(statement.query).collect()]


def _same(got: list[tuple[Any, ...]], want: list[tuple[Any, ...]]) -> None:
    assert len(got) == len(want), (got, want)
    for g_row, w_row in zip(got, want, strict=True):
        for g, w in zip(g_row, w_row, strict=True):
            if isinstance(w, float):
                assert math.isclose(g, w, rel_tol=1e-12), (g_row, w_row)
            else:
                assert g == w, (g_row, w_row)


@pytest.mark.parametrize(
    "sql",
    [
        # ISO weekday, Monday 1 to Sunday 7, over a whole week
        f"SELECT d, isodow(d) FROM (VALUES {WEEK}) t(d) ORDER BY d",
        # seconds between two timestamps, to the microsecond
        "SELECT epoch($as_of - TIMESTAMP '2024-01-01 00:00:00') / 86400.0",
        # decimal literals in a division: DuckDB computes it as a double
        "SELECT 7 * 30.0 / 9, greatest(0.0, least(1.0, 2 / 3))",
        # whole days between dates, with the parameter
        "SELECT date_diff('day', CAST(TIMESTAMP '2024-02-28 23:00:00' AS DATE), "
        "CAST($as_of AS DATE))",
        # * EXCLUDE over a derived table, and QUALIFY
        "SELECT * EXCLUDE (b) FROM (SELECT 1 AS a, 2 AS b, 3 AS c)",
        "SELECT k, v FROM (VALUES (1, 'x'), (1, 'y'), (2, 'z')) t(k, v) "
        "QUALIFY row_number() OVER (PARTITION BY k ORDER BY v DESC) = 1 ORDER BY k",
    ],
)
def test_translated_sql_gives_the_duckdb_answer(spark: Any, sql: str) -> None:
    _same(_spark_rows(spark, sql), _duckdb_rows(sql))


def test_insert_selects_are_cast_and_named_like_the_table(spark: Any) -> None:
    """``INSERT INTO t SELECT``: the Spark query has ``t``'s column names and types."""
    statement = to_spark(
        "INSERT INTO profile_category_prices SELECT $as_of, 'shoes', 3, 2", as_of=AS_OF
    )
    frame = spark.sql(statement.query)
    names = [name for name, _ in table_columns("profile_category_prices")]
    assert frame.columns == names == ["as_of", "category", "median_unit_price", "lines"]
    kinds = [field.dataType.simpleString() for field in frame.schema.fields]
    assert kinds == ["timestamp", "string", "double", "bigint"]
    [row] = frame.selectExpr("date_format(as_of, 'yyyy-MM-dd HH:mm:ss.SSSSSS')").collect()
    assert row[0] == "2024-05-20 12:30:15.250000"
