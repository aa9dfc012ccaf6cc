"""The SQL path of event loads: DuckDB reads the file and stores the rows that are surely clean.

Validating every row in pandas costs about 20 times what DuckDB needs to read the same file.
Most rows of a real file are plain, though, and for those a few strict SQL checks decide that
the pandas validator would accept them, and give exactly the values it would store. So a CSV
or Parquet events file is read by DuckDB into a temporary table, one row per line (CSV) or per
row (Parquet), with a flag per row saying whether it is *surely clean*:

- ids are printable ASCII without surrounding spaces, at most 200 characters;
- the event type is one of the known ones, in any letter case;
- the timestamp is ISO 8601 of the forms ``2024-03-01``, ``2024-03-01T14:05[:00[.123456]]``
  with an optional ``Z`` or ``±hh:mm`` offset (a space may replace the ``T``), and lies well
  inside the accepted range;
- numbers are plain decimals (``12``, ``12.50``) within their column's limits;
- a CSV line holds no quote character and exactly as many fields as the header.

The same statement computes the typed values, so once the other rows are set apart the table
*is* the load's stage, and the merge into the events runs on it as on any stage. Every other
row, usually a few, is handed to the pandas validator chunk by chunk, exactly as the Python
reader would have read it, so its reasons, values and quarantine rows are the same as before.
All of it happens inside the load's transaction: a killed load leaves nothing behind.

Line numbers must be the physical lines the Python reader reports. The SQL path is therefore
taken only when a scan of the file's bytes (done with the SHA-256 the load needs anyway) proves
that every record is one line: no blank lines, no carriage return outside ``\\r\\n``, no NUL
byte, valid UTF-8, no line longer than the CSV field limit and no quote that could open a field
running over a line end. A gzip-compressed CSV (``.csv.gz``, ``.tsv.gz``) takes the same path:
the scan reads its decompressed lines (and proves the stream whole) and DuckDB decompresses
it while reading. A ``--set`` value takes the place of a column, on the SQL checks and on the
rows handed to the validator alike. Anything else (another encoding, JSON Lines,
``--derive``, presets, users and items files, Parquet columns of other types) loads through
the Python path as before. ``SHOPGUIDE_SQL_INGEST=0`` forces the Python path, so tests and the
benchmark can compare the two.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import os
import threading
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import duckdb
import numpy as np
import pandas as pd

from shopguide.columns import Column
from shopguide.data.readers import (
    Format,
    RawChunk,
    Reader,
    Reject,
    csv_delimiter,
    csv_rows_chunk,
    detect_format,
    field_count_reject,
    keep_nan,
)
from shopguide.data.validate import EARLIEST_TIMESTAMP, FUTURE_ALLOWANCE, TableSpec
from shopguide.errors import FileReadError
from shopguide.store.base import Store
from shopguide.store.duckdb_store import DuckDBStore

#: Set to 0 to load every file through the Python path.
SWITCH: Final = "SHOPGUIDE_SQL_INGEST"
#: How the reader names a ``--set`` value where it would name a file column.
_CONSTANT: Final = "\0constant:"
#: The longest CSV field Python's csv module reads (its default field_size_limit); a line at
#: most this many bytes long cannot hold a longer field.
_FIELD_LIMIT: Final = 131_072
_ROWS: Final = "sg_ingest_rows"
_MAYBE: Final = "sg_ingest_maybe"
_ID: Final = r"[\x21-\x7e](?:[\x20-\x7e]{0,198}[\x21-\x7e])?"
_TIMESTAMP: Final = (
    r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"(?:[T ](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?)?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?)?"
)
_NUMBER: Final = r"[0-9]{1,10}(?:\.[0-9]{1,6})?"
#: How long the read of a file runs before its progress is reported.
QUIET_SECONDS: float = 2.0
#: How often it is reported then.
POLL_SECONDS: float = 0.5
#: Parquet column types the SQL path reads as the Python path does.
_PARQUET_TYPES: Final = {"VARCHAR", "DOUBLE", "BIGINT", "INTEGER", "TIMESTAMP"}


@dataclass
class FileScan:
    """What one pass over a file's bytes found: its SHA-256 and its line structure."""

    sha256: str
    newlines: int = 0
    ends_with_newline: bool = True
    carriage_returns: int = 0
    crlf: int = 0
    blank_line: bool = False
    nul: bool = False
    broken: bool = False  # a gzip stream that does not decompress to its end

    @property
    def lines(self) -> int:
        return self.newlines + (0 if self.ends_with_newline else 1)

    @property
    def one_record_per_line(self) -> bool:
        bad = self.blank_line or self.nul or self.broken
        return not bad and self.carriage_returns == self.crlf


def is_gzip(path: Path) -> bool:
    """Whether ``path`` is read as gzip-compressed (by its name, as the Python reader does)."""
    return path.name.lower().endswith(".gz")


def _blocks(path: Path, digest: hashlib._Hash) -> Iterator[bytes]:
    """The file's content in 1 MiB blocks, decompressed when it is gzip; ``digest`` gets the
    file's own bytes either way (the load is known by the file it read)."""
    if not is_gzip(path):
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
                yield block
        return
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    with gzip.open(path, "rb") as stream:
        yield from iter(lambda: stream.read(1 << 20), b"")


def scan_file(path: Path) -> FileScan:
    """The file's SHA-256 and the newline structure of its content, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    scan = FileScan("")
    tail = b"\n"  # the file's start counts as a line start: a leading newline is a blank line
    size = 0
    try:
        for block in _blocks(path, digest):
            size += len(block)
            joint = tail + block[:2]
            scan.newlines += block.count(b"\n")
            scan.carriage_returns += block.count(b"\r")
            scan.crlf += block.count(b"\r\n") + (tail.endswith(b"\r") and block[:1] == b"\n")
            scan.blank_line = scan.blank_line or any(
                blank in part for blank in (b"\n\n", b"\n\r\n") for part in (joint, block)
            )
            scan.nul = scan.nul or b"\x00" in block
            tail = (tail + block)[-2:]
    except (OSError, EOFError, zlib.error):  # a damaged gzip stream: the Python path says so
        scan.broken = True
    scan.sha256 = digest.hexdigest()
    scan.ends_with_newline = size == 0 or tail.endswith(b"\n")
    return scan


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _regex_char(char: str) -> str:
    return char if char.isalnum() or char == "\t" else "\\" + char


class SqlEventsReader(Reader):
    """Serves an events file whose clean rows DuckDB types and stages itself (see the module
    docs). :meth:`read` reads the whole file into a temporary table; :meth:`attach` makes that
    table the load's stage, and the chunks then hold only the rows the pandas validator must
    see (``staged`` counts the chunk's other rows, already in the stage).
    """

    def __init__(
        self,
        store: DuckDBStore,
        spec: TableSpec,
        path: Path,
        fmt: Format,
        columns: list[str],
        sha256: str,
        chunk_rows: int,
        delimiter: str = ",",
        types: Mapping[str, str] | None = None,
        progress: Callable[[int, int], None] | None = None,
        constants: Mapping[str, str] | None = None,
        rename: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(path, chunk_rows)
        self.store, self.spec, self.fmt = store, spec, fmt
        #: ``--set`` values by canonical column: they replace a file column of that name
        self.constants = dict(constants or {})
        self.file_columns = columns
        rename = rename or {}
        self.columns = [c for c in columns if rename.get(c, c) not in self.constants]
        self.columns += list(self.constants)
        self.sha256 = sha256
        self.delimiter = delimiter
        self.rows = 0  # rows of data (CSV: the lines after the header)
        self._first = 2 if fmt == "csv" else 1
        self._types = dict(types or {})
        self._attached = False
        self._progress = progress

    def _source_sql(self) -> str:
        path = _literal(str(self.path))
        if self.fmt == "parquet":
            return f"read_parquet({path})"
        # every line as one text value; a line DuckDB cannot read (bad UTF-8, too long) is
        # skipped, which the line count then notices
        return (
            f"read_csv({path}, columns={{'l': 'VARCHAR'}}, header=false, auto_detect=false, "
            f"delim='\\0', quote='', escape='', comment='', skip=0, ignore_errors=true, "
            f"max_line_size={_FIELD_LIMIT}, encoding='utf-8', "
            f"compression='{'gzip' if is_gzip(self.path) else 'none'}')"
        )

    def _raw_names(self) -> list[str]:
        """The file's values kept (for the rows that are not surely clean) under these names."""
        if self.fmt == "csv":
            return ["l"]
        return [f"sg_raw_{i}" for i in range(len(self.file_columns))]

    def read(self, rename: Mapping[str, str]) -> int:
        """Read the file into the rows table: typed values, the line, whether the row is surely
        clean and, for the others, the file's values. Returns the rows read (header included)."""
        by_name = {rename.get(c, c): c for c in self.file_columns}
        by_name.update({name: _CONSTANT + name for name in self.constants})
        parts = ["CAST(NULL AS VARCHAR) AS event_key"]
        for f in self.spec.fields:
            parts.append(f"{self._value_sql(f, by_name.get(f.name))} AS {_quote(f.name)}")
        checks = " AND ".join(self._clean_sql(f, by_name.get(f.name)) for f in self.spec.fields)
        if self.fmt == "csv":
            checks = f"NOT contains(l, '\"') AND len(f) = {len(self.file_columns)} AND {checks}"
            inner = f"SELECT n, l, string_split(l, {_literal(self.delimiter)}) AS f FROM"
            raws = ["l"]
        else:
            inner = "SELECT * FROM"
            raws = [_quote(c) for c in self.file_columns]
        kept = ", ".join(
            f"CASE WHEN ok THEN NULL ELSE {raw} END AS {_quote(name)}"
            for raw, name in zip(raws, self._raw_names(), strict=True)
        )
        try:
            self._reporting(
                f"""CREATE OR REPLACE TEMP TABLE {_ROWS} AS
                    SELECT {", ".join(parts)}, n AS line, ok, {kept}
                    FROM (SELECT *, coalesce({checks}, false) AS ok
                          FROM ({inner} (SELECT row_number() OVER () AS n, *
                                         FROM {self._source_sql()})))"""
            )
        except duckdb.OutOfMemoryException:
            raise  # not the file's fault: the caller says how to give DuckDB more memory
        except duckdb.Error as exc:
            raise FileReadError(
                str(self.path), f"the data is damaged ({str(exc).splitlines()[0]})"
            ) from exc
        total = int(self.store.scalar(f"SELECT count(*) FROM {_ROWS}"))
        self.rows = total - (self._first - 1)
        return total

    def _reporting(self, sql: str) -> None:
        """Run ``sql`` (the read of the whole file), reporting DuckDB's progress through it
        from a helper thread once it has run for :data:`QUIET_SECONDS`."""
        if self._progress is None:
            self.store.execute(sql)
            return
        report, con, done = self._progress, self.store.con, threading.Event()

        def poll() -> None:
            if done.wait(QUIET_SECONDS):
                return
            while not done.wait(POLL_SECONDS):
                percent = con.query_progress()
                if percent > 0:
                    share = min(percent, 100.0) / 100
                    self.bytes_done = max(self.bytes_done, int(self.total_bytes * share))
                    report(self.bytes_done, self.total_bytes)

        self.store.execute("SET enable_progress_bar_print = false")
        self.store.execute("SET enable_progress_bar = true")  # else DuckDB tracks no progress
        watcher = threading.Thread(target=poll, daemon=True)
        watcher.start()
        try:
            self.store.execute(sql)
        finally:
            done.set()
            watcher.join()
            with contextlib.suppress(duckdb.Error):
                self.store.execute("SET enable_progress_bar = false")

    def attach(self, stage: str, rename: Mapping[str, str]) -> None:
        """Make the rows table the stage, and set the other rows apart for the validator."""
        self.store.execute(f"DROP TABLE {stage}")
        self.store.execute(f"ALTER TABLE {_ROWS} RENAME TO {stage}")
        raws = ", ".join(_quote(name) for name in self._raw_names())
        self.store.execute(
            f"CREATE OR REPLACE TEMP TABLE {_MAYBE} AS SELECT line AS n, {raws} FROM {stage} "
            f"WHERE NOT ok AND line >= {self._first} ORDER BY line"
        )
        self.store.execute(f"DELETE FROM {stage} WHERE NOT ok OR line < {self._first}")
        self._attached = True

    def _raw_sql(self, source: str) -> str:
        if source.startswith(_CONSTANT):
            return _literal(self.constants[source.removeprefix(_CONSTANT)])
        if self.fmt == "csv":
            return f"f[{self.file_columns.index(source) + 1}]"
        return _quote(source)

    def _value_sql(self, f: Column, source: str | None) -> str:
        """The SQL giving the stored value of ``f`` (exact on the surely clean rows; any
        value, never an error, on the others, which are set apart)."""
        sql_type = {"timestamp": "TIMESTAMP", "number": "DOUBLE"}.get(f.kind, "VARCHAR")
        if source is None:
            return f"CAST({'NULL' if f.default is None else repr(f.default)} AS {sql_type})"
        v = self._raw_sql(source)
        kind = self._types.get(source, "VARCHAR")
        if f.kind == "event_type":
            return f"lower({v})"
        if f.kind == "timestamp":
            if kind == "TIMESTAMP":
                return v
            return f"timezone('UTC', TRY_CAST({v} AS TIMESTAMPTZ))"
        if f.kind == "number":
            text = v if kind != "VARCHAR" else f"nullif({v}, '')"
            number = f"TRY_CAST({text} AS DOUBLE)"
            return number if f.default is None else f"coalesce({number}, {f.default!r})"
        return f"nullif({v}, '')"

    def _clean_sql(self, f: Column, source: str | None) -> str:
        """A SQL condition true only on rows whose ``f`` the pandas validator surely accepts."""
        if source is None:
            return "false" if f.required else "true"
        v = self._raw_sql(source)
        kind = self._types.get(source, "VARCHAR")
        limits = []
        if f.positive:
            limits.append("{x} > 0")
        if f.minimum is not None:
            limits.append(f"{{x}} >= {f.minimum!r}")
        if f.maximum is not None:
            limits.append(f"{{x}} <= {f.maximum!r}")
        if kind != "VARCHAR":  # Parquet's typed columns
            if f.kind == "timestamp":
                return f"({v} BETWEEN {_timestamp_range(tz=False)})"
            x = f"CAST({v} AS DOUBLE)"
            ok = " AND ".join([f"isfinite({x})", *(limit.format(x=x) for limit in limits)])
            return f"({ok})" if f.required else f"({v} IS NULL OR ({ok}))"
        c = f"coalesce({v}, '')"
        if f.kind == "id":
            match = f"regexp_full_match({c}, {_literal(_ID)})"
        elif f.kind == "event_type":
            allowed = ", ".join(_literal(a) for a in f.allowed or ())
            match = f"(regexp_full_match({c}, '[A-Za-z]+') AND lower({c}) IN ({allowed}))"
        elif f.kind == "timestamp":
            match = (
                f"(regexp_full_match({c}, {_literal(_TIMESTAMP)}) AND coalesce("
                f"TRY_CAST({c} AS TIMESTAMPTZ) BETWEEN {_timestamp_range(tz=True)}, false))"
            )
        elif f.kind == "number":
            x = f"TRY_CAST({c} AS DOUBLE)"
            tests = [f"regexp_full_match({c}, {_literal(_NUMBER)})"]
            match = "(" + " AND ".join(tests + [limit.format(x=x) for limit in limits]) + ")"
        else:  # kinds the events table does not have
            return "false"
        return match if f.required else f"({c} = '' OR {match})"

    def chunks(self) -> Iterator[RawChunk]:
        assert self._attached, "attach() first"
        last = self._first + self.rows - 1
        for low in range(self._first, last + 1, self.chunk_rows):
            high = min(low + self.chunk_rows - 1, last)
            chunk = self._maybe_rows(low, high)
            chunk.staged = high - low + 1 - len(chunk.frame) - len(chunk.rejects)
            done = high - self._first + 1
            share = self.total_bytes if high == last else int(self.total_bytes * done / self.rows)
            self.bytes_done = max(self.bytes_done, share)  # the read may have reported more
            yield chunk

    def _maybe_rows(self, low: int, high: int) -> RawChunk:
        """The rows from line ``low`` to ``high`` that the SQL checks did not pass, as the
        Python reader reads them."""
        rows = self.store.query_arrow(
            f"SELECT * FROM {_MAYBE} WHERE n BETWEEN ? AND ? ORDER BY n", [low, high]
        )
        lines = rows.column("n").to_numpy().astype(np.int64)
        if self.fmt == "parquet":
            table = rows.drop_columns(["n"]).rename_columns(self.file_columns).combine_chunks()
            batches = table.to_batches()
            if not batches:
                return self._with_constants(RawChunk(table.to_pandas(), lines, None))
            frame = keep_nan(batches[0], batches[0].to_pandas())
            return self._with_constants(RawChunk(frame, lines, None))
        width = len(self.file_columns)
        fields: list[list[str]] = []
        kept: list[int] = []
        rejects: list[Reject] = []
        for line, text in zip(lines.tolist(), rows.column("l").to_pylist(), strict=True):
            try:
                row = next(csv.reader([text], delimiter=self.delimiter))
            except csv.Error as exc:
                rejects.append(Reject(line, None, None, f"malformed CSV: {exc}", None))
                continue
            if len(row) == width:
                fields.append(row)
                kept.append(line)
            else:
                rejects.append(field_count_reject(self.file_columns, self.delimiter, line, row))
        chunk = csv_rows_chunk(self.file_columns, self.delimiter, "utf-8", fields, kept, rejects)
        return self._with_constants(chunk)

    def _with_constants(self, chunk: RawChunk) -> RawChunk:
        """The chunk's frame with the ``--set`` columns in place of the file's of that name."""
        if not self.constants:
            return chunk
        frame = chunk.frame[[c for c in self.columns if c not in self.constants]]
        for name, value in self.constants.items():
            frame = frame.assign(**{name: pd.Series([value] * len(frame), dtype=object)})
        chunk.frame = frame
        return chunk

    def close(self) -> None:
        # after a failed statement the transaction refuses any other; its rollback drops them
        with contextlib.suppress(duckdb.Error):
            self.store.execute(f"DROP TABLE IF EXISTS {_ROWS}")
            self.store.execute(f"DROP TABLE IF EXISTS {_MAYBE}")


def _timestamp_range(*, tz: bool) -> str:
    """The accepted timestamps in SQL, with a day of margin at the far end: the validator's
    "a year from now" is read from its own clock, later."""
    latest = datetime.now(UTC).replace(tzinfo=None) + FUTURE_ALLOWANCE - timedelta(days=1)
    kind, suffix = ("TIMESTAMPTZ", "+00") if tz else ("TIMESTAMP", "")
    return (
        f"'{EARLIEST_TIMESTAMP:%Y-%m-%d %H:%M:%S}{suffix}'::{kind} AND "
        f"'{latest:%Y-%m-%d %H:%M:%S}{suffix}'::{kind}"
    )


def sql_events_reader(
    store: Store,
    spec: TableSpec,
    path: Path,
    *,
    rename: Mapping[str, str],
    plain: bool,
    fmt: Format | None,
    constants: Mapping[str, str] | None = None,
    delimiter: str | None,
    encoding: str,
    chunk_rows: int,
    progress: Callable[[int, int], None] | None = None,
) -> SqlEventsReader | None:
    """The SQL reader of an events file, already read, or None when the file must take the
    Python path (nothing is left behind then). ``plain``: the load only renames columns and
    sets the ``constants`` (``--set``); anything else takes the Python path."""
    if os.environ.get(SWITCH, "1") == "0" or spec.name != "events" or not plain:
        return None
    if not isinstance(store, DuckDBStore) or not path.is_file():
        return None
    try:
        fmt = fmt or detect_format(path)
    except FileReadError:
        return None
    if fmt == "parquet" and not is_gzip(path):
        return _parquet_reader(store, spec, path, rename, chunk_rows, progress, constants)
    if fmt != "csv" or encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
        return None
    delimiter = csv_delimiter(path, delimiter, encoding)
    if len(delimiter) != 1 or delimiter in '"\r\n\x00':
        return None
    return _csv_reader(store, spec, path, rename, delimiter, chunk_rows, progress, constants)


def _csv_reader(
    store: DuckDBStore,
    spec: TableSpec,
    path: Path,
    rename: Mapping[str, str],
    delimiter: str,
    chunk_rows: int,
    progress: Callable[[int, int], None] | None,
    constants: Mapping[str, str] | None,
) -> SqlEventsReader | None:
    scan = scan_file(path)
    if not scan.one_record_per_line or scan.lines < 1:
        return None
    opener = gzip.open if is_gzip(path) else open
    with opener(path, "rt", encoding="utf-8-sig", errors="replace", newline="") as handle:
        header = handle.readline().rstrip("\r\n")
    if '"' in header:
        return None  # quoted column names: the Python reader handles them
    columns = [name.strip() for name in header.split(delimiter)]
    reader = SqlEventsReader(
        store, spec, path, "csv", columns, scan.sha256, chunk_rows, delimiter, progress=progress,
        constants=constants, rename=rename,
    )  # fmt: skip
    total = reader.read(rename)
    # a line with quotes the checks did not take might open a field running on over the line
    # end; unless it is a whole record of fields (quoted or not), the Python reader decides
    d = _regex_char(delimiter)
    field = f'(?:"(?:[^"]|"")*"|[^"{d}]*)'
    odd = store.scalar(
        f"""SELECT count(*) FROM {_ROWS} WHERE NOT ok AND contains(l, '"')
            AND NOT regexp_full_match(l, {_literal(f"{field}(?:{d}{field})*")})"""
    )
    if total != scan.lines or odd:
        reader.close()
        return None
    return reader


def _parquet_reader(
    store: DuckDBStore,
    spec: TableSpec,
    path: Path,
    rename: Mapping[str, str],
    chunk_rows: int,
    progress: Callable[[int, int], None] | None,
    constants: Mapping[str, str] | None,
) -> SqlEventsReader | None:
    cursor = store.con.cursor()  # its errors must not end the load's transaction
    try:
        described = cursor.execute(
            f"DESCRIBE SELECT * FROM read_parquet({_literal(str(path))})"
        ).fetchall()
    except duckdb.Error:
        return None  # the Python reader says what is wrong with the file
    finally:
        cursor.close()
    types = {str(row[0]): str(row[1]) for row in described}
    if any(kind not in _PARQUET_TYPES for kind in types.values()) or {"n", "ok"} & set(types):
        return None
    kinds = {f.name: f.kind for f in spec.fields}
    for name, kind in types.items():
        if rename.get(name, name) in (constants or {}):
            continue  # replaced by a --set value
        wanted = kinds.get(rename.get(name, name))
        if kind == "VARCHAR" or wanted is None:
            continue
        if not (wanted == "number" and kind != "TIMESTAMP") and not (
            wanted == "timestamp" and kind == "TIMESTAMP"
        ):
            return None
    reader = SqlEventsReader(
        store, spec, path, "parquet", list(types), scan_file(path).sha256, chunk_rows,
        types=types, progress=progress, constants=constants, rename=rename,
    )  # fmt: skip
    reader.read(rename)
    return reader


__all__ = [
    "SWITCH",
    "FileScan",
    "SqlEventsReader",
    "is_gzip",
    "scan_file",
    "sql_events_reader",
]
