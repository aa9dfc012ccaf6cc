"""Chunked readers for CSV, Parquet and JSON Lines files (plain or gzip-compressed).

Each reader knows the file's column names before any data is read (so a missing column stops
the load before the store is touched) and yields :class:`RawChunk` objects: the rows that were
structurally readable, their line numbers, and the rows that were not (bad encoding, wrong number
of fields, invalid JSON), each with the reason.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Final, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from shopguide.data.cells import NonFinite
from shopguide.errors import FileReadError

Format = Literal["csv", "parquet", "jsonl"]
FORMATS: tuple[Format, ...] = ("csv", "parquet", "jsonl")


@dataclass
class Reject:
    """A row that could not be read or was invalid."""

    line: int
    column: str | None
    value: str | None
    reason: str
    raw: str | None


@dataclass
class RawChunk:
    """Rows as read from the file, before validation."""

    frame: pd.DataFrame
    lines: np.ndarray
    raws: Sequence[str] | None
    rejects: list[Reject] = field(default_factory=list)
    #: rows of this chunk the reader already put in the stage table itself (the SQL path)
    staged: int = 0

    @property
    def rows_read(self) -> int:
        return len(self.frame) + len(self.rejects) + self.staged


def detect_format(path: Path) -> Format:
    """The file format from its name: CSV/TSV, Parquet or JSON Lines, optionally gzipped."""
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    raise FileReadError(
        str(path),
        "unknown file type",
        hint="use a .csv, .tsv, .parquet, .jsonl or .ndjson file (optionally .gz), "
        "or pass --format csv|parquet|jsonl",
    )


class Reader:
    """Base of the chunked readers: ``columns`` first, then ``chunks()``.

    ``header`` says whether ``columns`` holds for the whole file; JSON Lines has no header, so
    its columns are the keys of the first chunk and a later row may have others or fewer.
    """

    header: bool = True

    def __init__(self, path: Path, chunk_rows: int) -> None:
        self.path = path
        self.chunk_rows = chunk_rows
        self.columns: list[str] = []
        self.total_bytes = os.path.getsize(path)
        self.bytes_done = 0

    def chunks(self) -> Iterator[RawChunk]:
        raise NotImplementedError

    def attach(self, stage: str, rename: Mapping[str, str]) -> None:
        """Called once the load's stage table exists (a reader that stages rows itself, as
        :class:`shopguide.data.sql_ingest.SqlEventsReader` does, gets ready here)."""

    def close(self) -> None:
        """Release the file."""


#: JSON with NaN and Infinity kept as written (one decoder: ``json.loads`` with options builds
#: a new one per call).
_DECODER: Final = json.JSONDecoder(parse_constant=NonFinite)
#: What reading a damaged or cut-off compressed file raises part way through.
_DAMAGED: Final = (OSError, EOFError, zlib.error)


def _damaged(path: Path, exc: BaseException) -> FileReadError:
    """The error for a file whose data ends early or is corrupt (found part way through)."""
    detail = str(exc) or type(exc).__name__
    return FileReadError(
        str(path),
        f"the file ends early or is damaged ({detail}); nothing was loaded",
        hint="the file is probably truncated: copy or download it again"
        + (" (gzip -t FILE checks a .gz file)" if path.name.lower().endswith(".gz") else ""),
    )


def _open_binary(path: Path) -> tuple[IO[bytes], IO[bytes]]:
    """The decompressed stream and the underlying file (whose position tracks progress)."""
    raw: IO[bytes] = open(path, "rb")  # noqa: SIM115 - closed by the reader
    if path.name.lower().endswith(".gz"):
        stream: IO[bytes] = gzip.GzipFile(fileobj=raw)  # type: ignore[assignment]
        return stream, raw
    return raw, raw


#: The delimiters a CSV file's header tells apart when none is given.
DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")


def csv_delimiter(path: Path, given: str | None = None, encoding: str = "utf-8") -> str:
    """The delimiter of a CSV file: ``given`` when there is one, else the one of
    :data:`DELIMITERS` that splits the header line into the most fields.

    The usual one (a tab for ``.tsv``, else a comma) wins a tie, so a one-column header, or a
    file that cannot be read here (the reader then says why), keeps it. Spreadsheets saved as
    CSV in locales whose decimal mark is a comma separate with ``;``.
    """
    if given:
        return given
    usual = "\t" if ".tsv" in path.name.lower() else ","
    try:
        stream, raw = _open_binary(path)
        with raw, stream:
            first = stream.readline(1 << 20)
        text = first.decode(encoding, errors="replace").lstrip("\ufeff")
    except (*_DAMAGED, LookupError):
        return usual
    fields = {d: len(next(csv.reader([text], delimiter=d), [])) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (fields[d], d == usual))
    return best if fields[best] > fields[usual] else usual


class CsvReader(Reader):
    """CSV with a header line; line numbers count physical lines (quoted newlines included).

    Decoding uses ``surrogateescape`` so one undecodable byte rejects one row, not the file.
    """

    def __init__(
        self, path: Path, chunk_rows: int, *, delimiter: str | None = None, encoding: str = "utf-8"
    ) -> None:
        super().__init__(path, chunk_rows)
        self.encoding = encoding
        self.delimiter = csv_delimiter(path, delimiter, encoding)
        self._stream, self._raw = _open_binary(path)
        codec = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
        self._text = io.TextIOWrapper(
            self._stream, encoding=codec, errors="surrogateescape", newline=""
        )
        self._reader = csv.reader(self._text, delimiter=self.delimiter)
        try:
            header = next(self._reader)
        except StopIteration:
            self.close()
            raise FileReadError(
                str(path), "the file is empty", hint="give a file with a header line"
            ) from None
        except (*_DAMAGED, csv.Error) as exc:
            self.close()
            raise FileReadError(str(path), f"not a readable CSV file ({exc})") from exc
        if any(_undecodable(name) for name in header):
            self.close()
            raise FileReadError(
                str(path),
                f"line 1 (the header) is not valid {encoding}",
                hint="save the file as UTF-8 or pass --encoding (for example latin-1)",
            )
        self.columns = [name.strip() for name in header]
        self._line_num = self._reader.line_num

    def chunks(self) -> Iterator[RawChunk]:
        try:
            yield from self._chunks()
        except _DAMAGED as exc:
            raise _damaged(self.path, exc) from exc

    def _chunks(self) -> Iterator[RawChunk]:
        width = len(self.columns)
        rows: list[list[str]] = []
        lines: list[int] = []
        rejects: list[Reject] = []
        reader = self._reader
        previous = self._line_num
        while True:
            try:
                for row in reader:
                    start, previous = previous + 1, reader.line_num
                    if len(row) == width:
                        rows.append(row)
                        lines.append(start)
                    elif row:  # a blank line is not a row
                        rejects.append(self._field_count_reject(start, row))
                    if len(rows) + len(rejects) >= self.chunk_rows:
                        yield self._chunk(rows, lines, rejects)
                        rows, lines, rejects = [], [], []
                break
            except csv.Error as exc:
                start, previous = previous + 1, reader.line_num
                rejects.append(Reject(start, None, None, f"malformed CSV: {exc}", None))
        if rows or rejects:
            yield self._chunk(rows, lines, rejects)

    def _field_count_reject(self, line: int, row: list[str]) -> Reject:
        return field_count_reject(self.columns, self.delimiter, line, row)

    def _chunk(self, rows: list[list[str]], lines: list[int], rejects: list[Reject]) -> RawChunk:
        self.bytes_done = self._raw.tell()
        return csv_rows_chunk(self.columns, self.delimiter, self.encoding, rows, lines, rejects)

    def close(self) -> None:
        self._text.close()
        self._raw.close()


def field_count_reject(columns: list[str], delimiter: str, line: int, row: list[str]) -> Reject:
    """The reject of a CSV row with more or fewer fields than the header."""
    width = len(columns)
    if len(row) < width:
        column: str | None = columns[len(row)]
        reason = f"too few fields: expected {width}, found {len(row)} ({column} and after missing)"
    else:
        column = None
        reason = f"too many fields: expected {width}, found {len(row)}"
    return Reject(line, column, None, reason, _csv_text(row, delimiter))


def csv_rows_chunk(
    columns: list[str],
    delimiter: str,
    encoding: str,
    rows: list[list[str]],
    lines: list[int],
    rejects: list[Reject],
) -> RawChunk:
    """A chunk of CSV rows (lists of fields, each as wide as ``columns``) and their lines;
    rows holding undecodable bytes join ``rejects``."""
    fields = list(zip(*rows, strict=True)) if rows else [()] * len(columns)
    arrays: dict[str, pa.Array] = {}
    bad_rows: dict[int, str] = {}
    for name, values in zip(columns, fields, strict=True):
        try:
            arrays[name] = pa.array(values, type=pa.string())
        except UnicodeEncodeError:
            for i, value in enumerate(values):
                if i not in bad_rows and _undecodable(value):
                    bad_rows[i] = name
            arrays[name] = pa.array(
                [v.encode("utf-8", "replace").decode() for v in values], type=pa.string()
            )
    line_array = np.asarray(lines, dtype=np.int64)
    frame = pd.DataFrame({name: pd.arrays.ArrowStringArray(arr) for name, arr in arrays.items()})
    if bad_rows:
        for i, name in sorted(bad_rows.items()):
            value = rows[i][columns.index(name)]
            byte = value.encode("utf-8", "surrogateescape")
            bad = next(b for b in byte if b >= 0x80)
            rejects.append(
                Reject(
                    int(line_array[i]), name, None,
                    f"bad encoding: byte 0x{bad:02x} is not valid {encoding}",
                    _csv_text(rows[i], delimiter),
                )
            )  # fmt: skip
        keep = np.ones(len(rows), dtype=bool)
        keep[list(bad_rows)] = False
        frame = frame[keep].reset_index(drop=True)
        rows = [r for r, k in zip(rows, keep, strict=True) if k]
        line_array = line_array[keep]
    return RawChunk(frame, line_array, _LazyRaws(rows, delimiter), rejects)


def _undecodable(text: str) -> bool:
    """Whether ``text`` holds bytes that did not decode (kept as lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _csv_text(row: list[str], delimiter: str) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="").writerow(row)
    text = out.getvalue()[:1000]
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


class _LazyRaws(Sequence[str]):
    """The text of each CSV row, rebuilt from its fields only when a row is rejected."""

    def __init__(self, rows: list[list[str]], delimiter: str) -> None:
        self._rows = rows
        self._delimiter = delimiter

    def __getitem__(self, i: int) -> str:  # type: ignore[override]
        return _csv_text(self._rows[i], self._delimiter)

    def __len__(self) -> int:
        return len(self._rows)


class ParquetReader(Reader):
    """Parquet, streamed by record batches; the "line" of a row is its 1-based row number."""

    def __init__(self, path: Path, chunk_rows: int, columns: Sequence[str] = ()) -> None:
        """``columns``: read only these (those the file has); all when empty."""
        super().__init__(path, chunk_rows)
        try:
            self._file = pq.ParquetFile(path)
        except Exception as exc:  # pyarrow raises several types for a corrupt file
            raise FileReadError(str(path), f"not a readable Parquet file ({exc})") from exc
        names = list(self._file.schema_arrow.names)
        self.columns = [n for n in names if n in columns] if columns else names
        self._only = self.columns if columns else None
        self.total_rows = self._file.metadata.num_rows

    def chunks(self) -> Iterator[RawChunk]:
        done = 0
        try:
            for batch in self._file.iter_batches(batch_size=self.chunk_rows, columns=self._only):
                frame = keep_nan(batch, batch.to_pandas())
                lines = np.arange(done + 1, done + len(frame) + 1, dtype=np.int64)
                done += len(frame)
                self.bytes_done = int(self.total_bytes * done / max(self.total_rows, 1))
                yield RawChunk(frame, lines, None)
        except (OSError, pa.ArrowException) as exc:
            raise FileReadError(str(self.path), f"the Parquet data is damaged ({exc})") from exc

    def close(self) -> None:
        self._file.close()


def keep_nan(batch: pa.RecordBatch, frame: pd.DataFrame) -> pd.DataFrame:
    """Mark NaN values (not nulls) of float columns so they are rejected, not taken as missing.

    pandas shows both a null and a NaN as NaN; a NaN written into the file is a value that is
    not a number, and is rejected like the text ``NaN`` in a CSV file.
    """
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        if not pa.types.is_floating(column.type):
            continue
        nan = pc.fill_null(pc.is_nan(column), False).to_numpy(zero_copy_only=False)
        if nan.any():
            values = frame[name].astype(object)
            values[nan] = NonFinite("NaN")
            frame[name] = values
    return frame


class JsonLinesReader(Reader):
    """One JSON object per line. Column names are the keys seen in the first chunk."""

    header = False

    def __init__(self, path: Path, chunk_rows: int, keys: Sequence[str] = ()) -> None:
        """``keys``: keep only these keys of each object (all when empty)."""
        super().__init__(path, chunk_rows)
        self._keys = tuple(keys)
        self._stream, self._raw = _open_binary(path)
        self._lines = enumerate(
            io.TextIOWrapper(self._stream, encoding="utf-8-sig", errors="replace"), 1
        )
        try:
            self._first = self._read_chunk()
        except _DAMAGED as exc:
            self.close()
            raise FileReadError(str(path), f"not a readable JSON Lines file ({exc})") from exc
        if self._first.rows_read == 0:
            self.close()
            raise FileReadError(
                str(path), "the file is empty", hint="give one JSON object per line"
            )
        if self._first.frame.empty:
            self.close()
            first = self._first.rejects[0]
            raise FileReadError(
                str(path),
                f"line {first.line}: {first.reason} (no line of the first "
                f"{self._first.rows_read} is a valid JSON object)",
                hint="give one JSON object per line, such as "
                '{"user_id": "u1", "item_id": "i9", "event_type": "view", '
                '"timestamp": "2024-03-01T14:05:00"}',
            )
        self.columns = list(self._first.frame.columns)

    def _read_chunk(self) -> RawChunk:
        records: list[dict[str, object]] = []
        lines: list[int] = []
        raws: list[str] = []
        rejects: list[Reject] = []
        for number, text in self._lines:
            stripped = text.strip()
            if not stripped:
                continue
            if "\ufffd" in stripped:
                rejects.append(
                    Reject(number, None, None, "bad encoding: invalid UTF-8", stripped[:1000])
                )
            else:
                try:
                    value = _DECODER.decode(stripped)
                except json.JSONDecodeError as exc:
                    rejects.append(
                        Reject(
                            number,
                            None,
                            None,
                            f"invalid JSON at character {exc.colno}: {exc.msg}",
                            stripped[:1000],
                        )
                    )
                else:
                    if isinstance(value, dict) and not _lone_surrogate(stripped, value):
                        if self._keys:
                            value = {k: value[k] for k in self._keys if k in value}
                        records.append(value)
                        lines.append(number)
                        raws.append(stripped)
                    else:
                        reason = (
                            "bad encoding: a \\u escape stands for half a character "
                            "(a lone surrogate)"
                            if isinstance(value, dict)
                            else f"expected a JSON object, found {_json_kind(value)}"
                        )
                        rejects.append(Reject(number, None, None, reason, stripped[:1000]))
            if len(records) + len(rejects) >= self.chunk_rows:
                break
        self.bytes_done = self._raw.tell()
        frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
        frame = frame.astype(object) if len(frame.columns) else frame
        return RawChunk(frame, np.asarray(lines, dtype=np.int64), raws, rejects)

    def chunks(self) -> Iterator[RawChunk]:
        chunk: RawChunk | None = self._first
        while chunk is not None and chunk.rows_read:
            yield chunk
            try:
                chunk = self._read_chunk()
            except _DAMAGED as exc:
                raise _damaged(self.path, exc) from exc

    def close(self) -> None:
        self._stream.close()
        self._raw.close()


def _lone_surrogate(text: str, value: object) -> bool:
    """Whether a parsed line holds a ``\\ud800``-style escape that is no character."""
    if "\\u" not in text:
        return False
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true/false"
    if value is None:
        return "null"
    return "a number"


def open_reader(
    path: Path,
    chunk_rows: int,
    *,
    fmt: Format | None = None,
    delimiter: str | None = None,
    encoding: str = "utf-8",
    only_columns: Sequence[str] = (),
) -> Reader:
    """A reader for ``path``; raises :class:`FileReadError` if it cannot be read at all.
    ``only_columns``: the only columns of a Parquet file, or keys of a JSON Lines file's
    objects, that are read (all when empty; a CSV file is always read whole)."""
    if not path.exists():
        raise FileReadError(str(path), "no such file", hint="check the path")
    if path.is_dir():
        raise FileReadError(str(path), "it is a folder, not a file")
    fmt = fmt or detect_format(path)
    opener: dict[Format, Callable[[], Reader]] = {
        "csv": lambda: CsvReader(path, chunk_rows, delimiter=delimiter, encoding=encoding),
        "parquet": lambda: ParquetReader(path, chunk_rows, only_columns),
        "jsonl": lambda: JsonLinesReader(path, chunk_rows, only_columns),
    }
    try:
        return opener[fmt]()
    except (UnicodeError, LookupError) as exc:
        raise FileReadError(str(path), str(exc)) from exc


class FrameReader(Reader):
    """Serves an in-memory DataFrame as if it were a file (for dataset adapters)."""

    def __init__(
        self, frame: pd.DataFrame, source: str, chunk_rows: int, lines: np.ndarray | None = None
    ) -> None:
        self.path = Path(source)
        self.chunk_rows = chunk_rows
        self.columns = [str(c) for c in frame.columns]
        self.total_bytes = len(frame)
        self.bytes_done = 0
        self._frame = frame.reset_index(drop=True)
        self._lines = lines if lines is not None else np.arange(1, len(frame) + 1, dtype=np.int64)

    def chunks(self) -> Iterator[RawChunk]:
        for start in range(0, len(self._frame), self.chunk_rows):
            stop = start + self.chunk_rows
            self.bytes_done = min(stop, len(self._frame))
            frame = self._frame.iloc[start:stop].reset_index(drop=True)
            lines = self._lines[start:stop]
            bad = _unencodable_cells(frame)
            if not bad:
                yield RawChunk(frame, lines, None)
                continue
            rejects = [
                Reject(
                    int(lines[row]),
                    column,
                    ascii(frame.at[row, column])[1:-1][:200],
                    "bad encoding: the text holds half a character (a lone surrogate) that "
                    "no file can store",
                    None,
                )
                for row, column in sorted(bad.items())
            ]
            keep = np.ones(len(frame), dtype=bool)
            keep[list(bad)] = False
            yield RawChunk(frame[keep].reset_index(drop=True), lines[keep], None, rejects)


def _unencodable_cells(frame: pd.DataFrame) -> dict[int, str]:
    """Rows holding text UTF-8 cannot encode (a lone surrogate), with the first such column.

    A frame built in Python can hold such text (a decoded ``\\ud800`` escape, say); a file
    read by the other readers cannot. Columns that convert to Arrow text in one go are clean,
    so only a column that fails is checked cell by cell.
    """
    bad: dict[int, str] = {}
    for column in frame.columns:
        values = frame[column]
        if values.dtype != object:  # typed columns (Arrow strings included) hold valid text
            continue
        try:
            pa.array(values.to_numpy(), type=pa.string(), from_pandas=True)
            continue
        except UnicodeEncodeError:
            pass
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass  # mixed types: look at the text cells
        for row, value in enumerate(values.tolist()):
            if isinstance(value, str) and row not in bad and not _encodable(value):
                bad[row] = str(column)
    return bad


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
