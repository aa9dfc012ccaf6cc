"""From a file's own columns to canonical ones: renames, constants and derived columns.

A shop's export rarely has ShopGuide's columns. Three tools bridge the gap, and a preset
(:mod:`shopguide.data.presets`) is a named bundle of them:

* ``--map FILE_COLUMN=canonical`` renames a column;
* ``--set canonical=VALUE`` gives every row the same value (``event_type=purchase`` for a file
  of transactions only);
* ``--derive "canonical=SQL"`` computes a column with a DuckDB SQL expression over the file's
  columns (``price=sales_value / quantity``).

:class:`MappedReader` wraps a file reader and applies them chunk by chunk, so memory stays
bounded. Expressions are checked against the file's columns before anything is stored; a row
on which an expression fails (a division by zero, a text where a number is needed) becomes a
quarantined row with the reason. Constants and derived values then pass the normal validation.

In expressions, a text column whose values in the first chunk are all whole numbers reads as
``BIGINT``, all numbers as ``DOUBLE``, anything else as ``VARCHAR`` (trimmed, empty as NULL).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from shopguide.data.readers import RawChunk, Reader, Reject
from shopguide.data.validate import TableSpec, validate_chunk
from shopguide.errors import MappingError

_POS = "__shopguide_pos"
_WHOLE = r"^-?(0|[1-9][0-9]*)$"


def parse_mapping(pairs: Iterable[str]) -> dict[str, str]:
    """``["Customer ID=user_id", ...]`` as a mapping from the file's names to canonical ones.

    The canonical name is after the *last* ``=``, so a file column may itself hold an ``=``.
    """
    mapping: dict[str, str] = {}
    for pair in pairs:
        source, sep, target = pair.rpartition("=")
        if not sep or not source.strip() or not target.strip():
            raise MappingError(
                f"bad column mapping {pair!r}", hint="write it as FILE_COLUMN=canonical_column"
            )
        mapping[source.strip()] = target.strip()
    return mapping


def parse_assignments(pairs: Iterable[str], option: str) -> dict[str, str]:
    """``["event_type=purchase"]`` (``--set``) or ``["price=a / b"]`` (``--derive``) as a dict.

    The name ends at the *first* ``=``, so values and expressions may hold ``=`` themselves.
    """
    example = "event_type=purchase" if option == "--set" else "price=sales_value / quantity"
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise MappingError(
                f"bad {option} {pair!r}", hint=f"write it as NAME=VALUE, e.g. {example}"
            )
        if name in out:
            raise MappingError(
                f"{option} gives {name} twice", hint=f"give each column one {option} only"
            )
        out[name] = value
    return out


@dataclass(frozen=True)
class Prepared:
    """A chunk after a preset's Python step: rows out, where each came from, rows skipped."""

    frame: pd.DataFrame
    #: for each output row, the position of its row in the input chunk
    origin: np.ndarray
    #: input row position → (column, value, reason) of rows that produce no output row
    skipped: dict[int, tuple[str | None, str | None, str]] = field(default_factory=dict)


#: A preset's step over raw chunks (flatten nested records, fill order-level blanks, skip rows).
ChunkStep = Callable[[pd.DataFrame], Prepared]


@dataclass(frozen=True)
class ColumnPlan:
    """How one load turns a file's columns into canonical ones."""

    rename: Mapping[str, str] = field(default_factory=dict)
    constants: Mapping[str, str] = field(default_factory=dict)
    derive: Mapping[str, str] = field(default_factory=dict)
    #: makes a fresh (possibly stateful) step for one load
    prepare: Callable[[], ChunkStep] | None = None
    #: file columns the plan cannot work without (checked before anything is read)
    requires: Sequence[str] = ()
    #: file columns the plan reads when present (empty when the file lacks them)
    optional: Sequence[str] = ()
    #: keep only the mapped, constant and derived columns (presets), not the file's others
    only_mapped: bool = False
    #: read text columns of numbers as numbers in expressions (presets cast explicitly)
    infer_types: bool = True
    #: quarantine the rows the Python step skips (off for a preset's users and items loads,
    #: whose skipped rows the events load of the same file already reports)
    report_skipped: bool = True
    #: how messages name the plan: "--derive" or "preset shopify-orders"
    label: str = ""
    #: the only top-level columns of a Parquet file (or keys of a JSON Lines object) that are
    #: read (empty: all of them); a preset whose export carries wide nested columns it never
    #: reads (GA4's ``event_params``) leaves them in the file
    reads_only: Sequence[str] = ()
    #: at most this many rows per chunk (0: the loader's own), for layouts whose rows are
    #: large once parsed (nested GA4 events)
    max_chunk_rows: int = 0

    @property
    def plain(self) -> bool:
        """Whether the plan only renames (the loader's own rename handles that)."""
        return not (self.constants or self.derive or self.prepare or self.only_mapped)

    @property
    def renames_and_constants(self) -> bool:
        """Whether the plan only renames and sets constants (the SQL path of event loads
        handles both)."""
        return not (self.derive or self.prepare or self.only_mapped)


def plan_from_options(
    mapping: Mapping[str, str] | None,
    constants: Mapping[str, str] | None,
    derive: Mapping[str, str] | None,
) -> ColumnPlan:
    """The plan of ``--map``, ``--set`` and ``--derive``; a column may be given by only one."""
    rename, constants, derive = dict(mapping or {}), dict(constants or {}), dict(derive or {})
    both = sorted(set(constants) & set(derive))
    mapped_to = set(rename.values())
    both += sorted((set(constants) | set(derive)) & mapped_to)
    if both:
        raise MappingError(
            f"column(s) {', '.join(both)} are given more than once by --map, --set and --derive",
            hint="give each canonical column by one option only",
        )
    return ColumnPlan(rename, constants, derive, label="--derive")


def check_plan(spec: TableSpec, plan: ColumnPlan) -> None:
    """Stop before reading when ``--set``/``--derive`` name no column of the table, or a
    constant is itself invalid (``--set event_type=buy``): every row would fail alike."""
    targets = [*plan.constants, *plan.derive]
    unknown = [t for t in targets if t not in spec.names]
    if unknown and not spec.keeps_attributes:
        raise MappingError(
            f"{', '.join(unknown)} (given by --set/--derive) are not {spec.name} columns",
            hint=f"use one of: {', '.join(spec.names)}",
        )
    known = {k: v for k, v in plan.constants.items() if k in spec.names}
    if not known:
        return
    _, _, problems = validate_chunk(spec, pd.DataFrame({k: [v] for k, v in known.items()}))
    reasons = [r for r in problems.reasons.get(0, []) if r.split(":", 1)[0] in known]
    if reasons:
        raise MappingError(
            f"--set cannot be used: {'; '.join(reasons)}",
            hint="give a value the column accepts; every row would be rejected otherwise",
        )


class MappedReader(Reader):
    """A reader whose chunks come out with the plan applied (canonical column names)."""

    def __init__(self, inner: Reader, plan: ColumnPlan, source: str) -> None:
        self.path = inner.path
        self.chunk_rows = inner.chunk_rows
        self.total_bytes = inner.total_bytes
        self.bytes_done = 0
        self.inner = inner
        self.plan = plan
        self.source = source
        missing = [c for c in plan.requires if c not in inner.columns]
        if missing:
            raise MappingError(
                f"{source}: {plan.label} needs column(s) {', '.join(missing)}, "
                "which the file does not have",
                hint=f"the file's columns are: {', '.join(inner.columns)}; "
                "check that the file is the export the preset reads",
            )
        self._step = plan.prepare() if plan.prepare else None
        self._raw_chunks = inner.chunks()
        first = next(self._raw_chunks, None)
        self._first = self._prepare(first) if first is not None else None
        source_columns = (
            list(self._first[1].frame.columns)
            if self._first is not None and len(self._first[1].frame.columns)
            else list(inner.columns)
        )
        unknown = [s for s in plan.rename if s not in source_columns]
        if unknown:
            raise MappingError(
                f"{source}: --map names column(s) {', '.join(unknown)} that the file does not have",
                hint=f"the file's columns are: {', '.join(source_columns)}",
            )
        sample = self._first[1].frame if self._first is not None else pd.DataFrame()
        self._evaluator = _Evaluator(plan, source, source_columns, sample)
        kept = list(plan.rename) if plan.only_mapped else source_columns
        produced = set(plan.constants) | set(plan.derive)
        self._kept = [c for c in kept if plan.rename.get(c, c) not in produced]
        self.columns = [plan.rename.get(c, c) for c in self._kept]
        self.columns += [c for c in (*plan.constants, *plan.derive) if c not in self.columns]

    def _prepare(self, chunk: RawChunk) -> tuple[RawChunk, Prepared]:
        frame = chunk.frame.reset_index(drop=True)
        absent = [c for c in self.plan.optional if c not in frame.columns]
        if absent and len(frame.columns):
            frame = frame.assign(
                **{c: pd.Series([None] * len(frame), dtype=object) for c in absent}
            )
        if self._step is None or frame.empty:
            return chunk, Prepared(frame, np.arange(len(frame)))
        return chunk, self._step(frame)

    def chunks(self) -> Iterator[RawChunk]:
        if self._first is None:
            return
        self.bytes_done = self.inner.bytes_done
        yield self._apply(*self._first)
        for chunk in self._raw_chunks:
            self.bytes_done = self.inner.bytes_done
            yield self._apply(*self._prepare(chunk))

    def _apply(self, chunk: RawChunk, prepared: Prepared) -> RawChunk:
        rejects = list(chunk.rejects)
        skipped = prepared.skipped if self.plan.report_skipped else {}
        for pos, (column, value, reason) in sorted(skipped.items()):
            rejects.append(Reject(int(chunk.lines[pos]), column, value, reason, _raw(chunk, pos)))
        frame = prepared.frame.reset_index(drop=True)
        origin = np.asarray(prepared.origin, dtype=np.int64)
        values, failures = self._evaluator.evaluate(frame)
        out = frame[[c for c in self._kept if c in frame.columns]].rename(columns=self.plan.rename)
        for name in self._kept:
            target = self.plan.rename.get(name, name)
            if target not in out.columns:  # a column absent from this chunk (JSON lines)
                out[target] = pd.Series([None] * len(frame), dtype=object)
        for name, value in self.plan.constants.items():
            out[name] = pd.Series([value] * len(frame), dtype=object)
        for name, series in values.items():
            out[name] = series.to_numpy()
        keep = np.ones(len(frame), dtype=bool)
        for pos, (column, value, reason) in sorted(failures.items()):
            keep[pos] = False
            source_pos = int(origin[pos])
            rejects.append(
                Reject(int(chunk.lines[source_pos]), column, value, reason, _raw(chunk, source_pos))
            )
        lines = np.asarray(chunk.lines, dtype=np.int64)[origin][keep]
        raws = None if chunk.raws is None else _Picked(chunk.raws, origin[keep])
        return RawChunk(out[keep].reset_index(drop=True), lines, raws, rejects)

    def close(self) -> None:
        self.inner.close()
        self._evaluator.close()


def _raw(chunk: RawChunk, pos: int) -> str | None:
    if chunk.raws is not None:
        return chunk.raws[pos]
    return str(chunk.frame.iloc[pos].to_json(date_format="iso", default_handler=str))[:1000]


class _Picked(Sequence[str]):
    """Some rows' raw text, by position, without copying the text of the others."""

    def __init__(self, raws: Sequence[str], positions: np.ndarray) -> None:
        self._raws = raws
        self._positions = positions

    def __getitem__(self, i: int) -> str:  # type: ignore[override]
        return self._raws[int(self._positions[i])]

    def __len__(self) -> int:
        return len(self._positions)


class _Evaluator:
    """Evaluates the derived columns of a plan on chunks, in a private in-memory DuckDB.

    The connection cannot read files (``enable_external_access=false``), so an expression
    sees only the chunk. Column types are fixed from the first chunk, so the expressions bind
    once, before the load starts, and mean the same on every chunk.
    """

    def __init__(
        self, plan: ColumnPlan, source: str, columns: list[str], sample: pd.DataFrame
    ) -> None:
        self.plan = plan
        self.source = source
        self.columns = columns
        self.con: duckdb.DuckDBPyConnection | None = None
        self.types: dict[str, str] = {}
        self._numeric_text: list[str] = []
        self._typed_from_rows = len(sample) > 0 or not plan.infer_types
        if not plan.derive:
            return
        self.con = duckdb.connect(":memory:")
        self.types, self._numeric_text = _column_types(
            self.con, sample, columns, infer=plan.infer_types
        )
        self.con.execute("SET enable_external_access = false")
        self._uses = {
            target: [c for c in columns if _mentions(expression, c)]
            for target, expression in plan.derive.items()
        }
        self._bind()

    def _typed_sql(self) -> str:
        parts = [_POS]
        for name in self.columns:
            quoted = _quote(name)
            if name in self._numeric_text or self.types[name] == "VARCHAR":
                text = f"nullif(trim(CAST({quoted} AS VARCHAR)), '')"
                parts.append(f"TRY_CAST({text} AS {self.types[name]}) AS {quoted}")
            else:
                parts.append(f"TRY_CAST({quoted} AS {self.types[name]}) AS {quoted}")
        return f"SELECT {', '.join(parts)} FROM chunk"

    def _bind(self) -> None:
        """Check every expression against the file's columns before anything is loaded."""
        assert self.con is not None
        empty = pd.DataFrame({c: pd.Series([], dtype=object) for c in self.columns})
        self._register(empty)
        shown = ", ".join(f"{c} ({self.types[c].lower()})" for c in self.columns)
        for target, expression in self.plan.derive.items():
            problem = None
            sql = f"SELECT TRY(({expression})) AS v FROM ({self._typed_sql()})"
            try:
                if len(self.con.extract_statements(sql)) != 1:
                    problem = "it is not one expression (a ';' ends the statement)"
                else:
                    kind = str(self.con.sql(sql).types[0])
                    if kind.startswith(
                        ("STRUCT", "LIST", "MAP", "UNION", "TUPLE")
                    ) or kind.endswith("]"):
                        problem = f"it gives a {kind} per row, not one value"
            except duckdb.Error as exc:
                problem = str(exc).splitlines()[0]
                if not self._typed_from_rows and isinstance(exc, duckdb.BinderException):
                    # a file with a header only: its columns have no types to check against
                    problem = None if "not found" not in problem else problem
            if problem is not None:
                raise MappingError(
                    f"{self.source}: {self.plan.label} {target}={expression} cannot be used: "
                    f"{problem}",
                    hint=f"write one DuckDB SQL expression over the file's columns: {shown}; "
                    'quote names with spaces or capitals in double quotes, e.g. "Lineitem price"',
                )

    def _register(self, frame: pd.DataFrame) -> None:
        assert self.con is not None
        arrays = {
            name: _arrow(frame[name]) if name in frame.columns else None for name in self.columns
        }
        n = len(frame)
        table = pa.table(
            {
                _POS: pa.array(np.arange(n, dtype=np.int64)),
                **{
                    name: arr if arr is not None else pa.nulls(n, pa.string())
                    for name, arr in arrays.items()
                },
            }
        )
        self.con.register("chunk", table)

    def evaluate(
        self, frame: pd.DataFrame
    ) -> tuple[dict[str, pd.Series], dict[int, tuple[str | None, str | None, str]]]:
        """Derived values per target, and the rows on which an expression failed."""
        if self.con is None or frame.empty:
            n = len(frame)
            return {t: pd.Series([None] * n, dtype=object) for t in self.plan.derive}, {}
        self._register(frame)
        typed = self._typed_sql()
        selects = ", ".join(
            f"TRY(({expression})) AS {_quote('d:' + target)}"
            for target, expression in self.plan.derive.items()
        )
        bad_casts = "".join(
            f", (nullif(trim(CAST({_quote(c)} AS VARCHAR)), '') IS NOT NULL AND "
            f"TRY_CAST(nullif(trim(CAST({_quote(c)} AS VARCHAR)), '') AS {self.types[c]}) IS NULL)"
            f" AS {_quote('x:' + c)}"
            for c in self._numeric_text
        )
        table = self.con.sql(
            f"SELECT t.*{bad_casts} FROM (SELECT {_POS}, {selects} FROM ({typed})) t "
            f"JOIN chunk USING ({_POS}) ORDER BY {_POS}"
        ).to_arrow_table()
        failures: dict[int, tuple[str | None, str | None, str]] = {}
        values: dict[str, pd.Series] = {}
        for target, expression in self.plan.derive.items():
            column_values = table.column(f"d:{target}")
            values[target] = column_values.to_pandas()
            label = f"{self.plan.label} {target}={expression}"
            for column in self._uses[target]:
                if f"x:{column}" not in table.column_names:
                    continue
                flags = table.column(f"x:{column}").to_numpy(zero_copy_only=False)
                for pos in map(int, np.flatnonzero(flags.astype(bool))):
                    if pos not in failures:
                        value = str(frame[column].iat[pos])[:200]
                        kind = "whole number" if self.types[column] == "BIGINT" else "number"
                        failures[pos] = (
                            column,
                            value,
                            f"{column}: '{value[:80]}' is not a {kind} like the column's first "
                            f"values, and {label} reads it as one",
                        )
            if pa.types.is_floating(column_values.type):
                finite = pc.fill_null(pc.is_finite(column_values), True)
                for pos in map(int, np.flatnonzero(~finite.to_numpy(zero_copy_only=False))):
                    if pos not in failures:
                        failures[pos] = (
                            target,
                            str(column_values[pos].as_py()),
                            self._why_not_finite(label, frame, target, pos),
                        )
            is_null = column_values.is_null().to_numpy(zero_copy_only=False)
            nulls = [int(p) for p in np.flatnonzero(is_null) if int(p) not in failures]
            for pos, message in self._errors(expression, typed, nulls).items():
                failures[pos] = (target, None, f"{label} failed on this row: {message}")
        return values, failures

    def _why_not_finite(self, label: str, frame: pd.DataFrame, target: str, pos: int) -> str:
        inputs = ", ".join(f"{c}={frame[c].iat[pos]}" for c in self._uses[target])
        return f"{label} gave no finite number (a division by zero?) from {inputs or 'this row'}"

    def _errors(self, expression: str, typed: str, positions: list[int]) -> dict[int, str]:
        """Rows among ``positions`` on which ``expression`` raises (TRY made them NULL).

        The rows are run together first (usually the NULLs are genuine and nothing raises),
        then halved until each raising row is found: a few queries per failing row.
        """
        found: dict[int, str] = {}

        def run(rows: list[int]) -> str | None:
            assert self.con is not None
            self.con.register("rows", pa.table({_POS: pa.array(rows, type=pa.int64())}))
            try:
                self.con.sql(
                    f"SELECT (({expression})) FROM ({typed}) t SEMI JOIN rows USING ({_POS})"
                ).fetchall()
            except duckdb.Error as exc:
                return str(exc).splitlines()[0]
            finally:
                self.con.unregister("rows")
            return None

        def search(rows: list[int]) -> None:
            message = run(rows)
            if message is None:
                return
            if len(rows) == 1:
                found[rows[0]] = message
                return
            half = len(rows) // 2
            search(rows[:half])
            search(rows[half:])

        if positions:
            search(positions)
        return found

    def close(self) -> None:
        if self.con is not None:
            self.con.close()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _mentions(expression: str, column: str) -> bool:
    """Whether an expression seems to read a column (quoted, or as a bare word)."""
    if _quote(column) in expression:
        return True
    return re.search(rf"(?<![\w\"]){re.escape(column)}(?![\w\"])", expression, re.I) is not None


def _arrow(values: pd.Series) -> pa.Array:
    """A column as Arrow: text stays text, nested values become JSON text."""
    if values.dtype == object:
        present = [v for v in values.tolist() if v is not None and not _is_nan(v)]
        if present and all(isinstance(v, dict | list) for v in present):
            return pa.array(
                [json.dumps(v) if isinstance(v, dict | list) else None for v in values.tolist()],
                type=pa.string(),
            )
        try:
            return pa.array(values.to_numpy(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return pa.array(
                [None if v is None or _is_nan(v) else str(v) for v in values.tolist()],
                type=pa.string(),
            )
    return pa.array(values, from_pandas=True)


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _column_types(
    con: duckdb.DuckDBPyConnection, sample: pd.DataFrame, columns: list[str], *, infer: bool
) -> tuple[dict[str, str], list[str]]:
    """Each column's SQL type in expressions, and which text columns read as numbers."""
    types: dict[str, str] = {}
    numeric_text: list[str] = []
    for name in columns:
        arr = _arrow(sample[name]) if name in sample.columns else pa.nulls(0, pa.string())
        textual = pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)
        if not infer and (textual or pa.types.is_null(arr.type)):
            types[name] = "VARCHAR"
        elif textual or pa.types.is_null(arr.type):
            con.register("sample", pa.table({"v": arr.cast(pa.string())}))
            ((n, whole, number),) = con.sql(
                f"""SELECT count(t), count(t) FILTER (WHERE regexp_matches(t, '{_WHOLE}')),
                           count(TRY_CAST(t AS DOUBLE))
                    FROM (SELECT nullif(trim(v), '') AS t FROM sample)"""
            ).fetchall()
            # a stray bad value must not turn a column of numbers into text: it is rejected
            # on its own row instead
            mostly_numbers = number > 0 and n - number <= max(1, n // 20) and number > n - number
            if mostly_numbers and whole == number:
                types[name] = "BIGINT"
            elif mostly_numbers:
                types[name] = "DOUBLE"
            else:
                types[name] = "VARCHAR"
            if types[name] != "VARCHAR":
                numeric_text.append(name)
            con.unregister("sample")
        else:
            con.register("sample", pa.table({"v": arr}))
            types[name] = str(con.sql("SELECT v FROM sample").types[0])
            con.unregister("sample")
    return types, numeric_text
