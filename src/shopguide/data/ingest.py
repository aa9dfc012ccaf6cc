"""Loading users, items and events into the store.

One file is one load, and one load is one transaction: it commits whole or not at all, so a
process killed midway leaves the store as it was and a re-run completes the load exactly.
Every row read ends up in exactly one of three counts::

    rows read = accepted + rejected + duplicates

*rejected* rows go to the ``quarantine`` table with the file, line, column, value and reason;
*duplicates* are rows the store already holds (or that repeat an earlier row of the same file),
so loading the same file twice adds nothing. Events are identified by ``event_id`` when the file
has one, otherwise by a hash of their content plus the occurrence number of that content in the
file (so two identical lines in one file stay two events, and a second load of the file adds
none). Users and items are identified by their id; a later row for a known id updates it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from shopguide.columns import Columns as C
from shopguide.data.cells import row_json
from shopguide.data.mapping import ColumnPlan, MappedReader, check_plan, plan_from_options
from shopguide.data.mapping import parse_mapping as parse_mapping  # the CLI imports it here
from shopguide.data.merge import merge_entities, merge_events
from shopguide.data.plain_rows import plain_table
from shopguide.data.presets import preset_plans
from shopguide.data.readers import Format, FrameReader, RawChunk, Reader, Reject, open_reader
from shopguide.data.sql_ingest import sql_events_reader
from shopguide.data.suppression import ERASED_REASON, erased_predicate
from shopguide.data.validate import SPECS, TableSpec, validate_chunk
from shopguide.errors import DataError, FileReadError, MissingColumnsError
from shopguide.store.base import Store
from shopguide.store.memory import bounded_memory
from shopguide.store.user_indexes import prepare_bulk_write

#: Called with (bytes or rows done, total) as a load advances.
ProgressCallback = Callable[[int, int], None]

_QUARANTINE_COLUMNS = ["line", "column_name", "value", "reason", "raw"]
#: Quarantine columns written besides those: the user the rejected row belongs to, if known.
_OWNER = "user_id"


@dataclass
class LoadReport:
    """What one load did. ``rows_read == accepted + rejected + duplicates`` always holds."""

    load_id: int
    table: str
    source: str
    sha256: str
    rows_read: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    updated: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    seconds: float = 0.0
    top_reasons: dict[str, int] = field(default_factory=dict)
    #: loads of other tables from the same file (a preset fills users and items too)
    companions: list[LoadReport] = field(default_factory=list)

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["rows_per_second"] = round(self.rows_per_second, 1)
        return out


#: Fewer bytes than a row of any file takes (a compressed Parquet row of events takes ~20): a
#: file's size divided by this overestimates its rows, so a load drops a user index it would
#: have cost more to keep up to date (:func:`shopguide.store.user_indexes.prepare_bulk_write`).
_MIN_BYTES_PER_ROW = 16


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ingest_file(
    store: Store,
    table: str,
    path: str | Path,
    *,
    mapping: Mapping[str, str] | None = None,
    fmt: Format | None = None,
    delimiter: str | None = None,
    encoding: str = "utf-8",
    chunk_rows: int = 250_000,
    progress: ProgressCallback | None = None,
    on_chunk: Callable[[int], None] | None = None,
    set: Mapping[str, str] | None = None,
    derive: Mapping[str, str] | None = None,
    preset: str | None = None,
) -> LoadReport:
    """Load one file of ``table`` (``users``, ``items`` or ``events``) into the store.

    Parameters
    ----------
    mapping:
        File column name → canonical name, for files whose columns are named differently.
    set:
        Canonical column → a value every row gets (``{"event_type": "purchase"}``).
    derive:
        Canonical column → a DuckDB SQL expression over the file's columns
        (``{"price": "sales_value / quantity"}``); see :mod:`shopguide.data.mapping`.
    preset:
        A named export layout (``shopify-orders``, ``woocommerce-orders``, ``ga4``). Loading
        ``events`` with a preset also loads the users and items the file describes, in the
        same transaction; their reports are in ``companions``.
    fmt, delimiter, encoding:
        Override the format guessed from the file name, the CSV delimiter and the text encoding.
    chunk_rows:
        Rows per chunk; memory use grows with it.
    progress:
        Called with (bytes done, total bytes) after each chunk; while DuckDB reads a large
        file on the SQL path, also every half second from a helper thread.
    on_chunk:
        Called with the number of chunks staged so far (used by tests to interrupt a load).
    """
    _spec(table)
    path = Path(path)
    if preset is None:
        plans = [(table, plan_from_options(mapping, set, derive))]
    else:
        plans, fmt = preset_plans(preset, table, mapping, set, derive, fmt, path)
    if path.is_file() and not store.in_transaction:  # this many rows at most
        for name, _ in plans:
            prepare_bulk_write(store, name, path.stat().st_size // _MIN_BYTES_PER_ROW)
    with bounded_memory(store), store.transaction():
        reports = [
            _load_file(store, name, path, plan, fmt, delimiter, encoding, chunk_rows,
                       progress, on_chunk)
            for name, plan in plans
        ]  # fmt: skip
    reports[0].companions = reports[1:]
    return reports[0]


def _load_file(
    store: Store,
    table: str,
    path: Path,
    plan: ColumnPlan,
    fmt: Format | None,
    delimiter: str | None,
    encoding: str,
    chunk_rows: int,
    progress: ProgressCallback | None,
    on_chunk: Callable[[int], None] | None,
) -> LoadReport:
    """One load of ``path`` into ``table``, with the plan applied chunk by chunk."""
    check_plan(_spec(table), plan)
    if plan.max_chunk_rows:
        chunk_rows = min(chunk_rows, plan.max_chunk_rows)
    fast = sql_events_reader(
        store, _spec(table), path, rename=plan.rename, plain=plan.renames_and_constants,
        fmt=fmt, constants=plan.constants, delimiter=delimiter, encoding=encoding,
        chunk_rows=chunk_rows, progress=progress,
    )  # fmt: skip
    reader: Reader = fast or open_reader(
        path, chunk_rows, fmt=fmt, delimiter=delimiter, encoding=encoding,
        only_columns=plan.reads_only,
    )  # fmt: skip
    try:
        rename: Mapping[str, str] | None = plan.rename
        # the file's own name of the user column: rows the mapping rejects keep their raw
        # (unmapped) text, and the quarantine's user column is read from it
        owner_keys = [s for s, t in plan.rename.items() if t == C.USER_ID] + [C.USER_ID]
        if not plan.plain and fast is None:  # the SQL reader applies its --set values itself
            reader, rename = MappedReader(reader, plan, str(path)), None
        sha256 = fast.sha256 if fast is not None else file_sha256(path)
        return _load(
            store, _spec(table), reader, str(path), sha256, rename, progress, on_chunk,
            owner_keys=owner_keys,
        )  # fmt: skip
    finally:
        reader.close()


def ingest_frame(
    store: Store,
    table: str,
    frame: pd.DataFrame,
    *,
    source: str,
    sha256: str | None = None,
    lines: np.ndarray | None = None,
    rejects: pd.DataFrame | None = None,
    mapping: Mapping[str, str] | None = None,
    chunk_rows: int = 250_000,
    progress: ProgressCallback | None = None,
) -> LoadReport:
    """Load an in-memory frame as if it were a file called ``source``.

    Dataset adapters use this: ``lines`` gives each row's line in the original file and
    ``rejects`` the rows the adapter itself found unusable (columns ``line, column_name, value,
    reason, raw``, and optionally ``user_id``: the user the row belongs to, as stored in the
    events) so the accounting still covers every row of the original file.
    """
    spec = _spec(table)
    if sha256 is None:
        try:
            hashed = pd.util.hash_pandas_object(frame, index=False)
        except TypeError:  # unhashable cells such as dicts of attributes
            hashed = pd.util.hash_pandas_object(frame.astype(str), index=False)
        except UnicodeEncodeError:  # text no UTF-8 can hold (a lone surrogate): hash escapes
            hashed = pd.util.hash_pandas_object(frame.map(ascii).astype(object), index=False)
        sha256 = hashlib.sha256(hashed.to_numpy().tobytes()).hexdigest()
    reader = FrameReader(frame, source, chunk_rows, lines)
    if not store.in_transaction:  # a file's frames: the file's load has seen to it
        prepare_bulk_write(store, table, len(frame))
    return _load(store, spec, reader, source, sha256, mapping, progress, None, rejects)


def _spec(table: str) -> TableSpec:
    if table not in SPECS:
        raise DataError(f"unknown table {table!r}", hint="use one of: users, items, events")
    return SPECS[table]


def _canonical_columns(
    spec: TableSpec,
    source: str,
    columns: list[str],
    mapping: Mapping[str, str] | None,
    *,
    header: bool = True,
) -> tuple[dict[str, str], list[str]]:
    """Rename map for the file's columns, and the columns the load will ignore.

    Without a ``header`` (JSON Lines) a required column missing from ``columns`` may still
    come in later rows, so it is not an error here (see :func:`_load`).
    """
    mapping = dict(mapping or {})
    unknown_sources = [s for s in mapping if s not in columns]
    if unknown_sources:
        raise DataError(
            f"{source}: --map names column(s) {', '.join(unknown_sources)} "
            "that the file does not have",
            hint=f"the file's columns are: {', '.join(columns)}",
        )
    bad_targets = [t for t in mapping.values() if t not in spec.names]
    if bad_targets and not spec.keeps_attributes:
        raise DataError(
            f"--map target(s) {', '.join(bad_targets)} are not {spec.name} columns",
            hint=f"map to one of: {', '.join(spec.names)}",
        )
    renamed = [mapping.get(c, c) for c in columns]
    doubled = sorted({c for c in renamed if renamed.count(c) > 1})
    if doubled:
        raise FileReadError(
            source,
            f"column(s) {', '.join(doubled)} appear more than once after mapping",
            hint="map only one file column to each canonical column",
        )
    missing = [c for c in spec.required if c not in renamed]
    if missing and header:
        raise MissingColumnsError(source, missing, columns)
    ignored = [] if spec.keeps_attributes else [c for c in renamed if c not in spec.names]
    return dict(zip(columns, renamed, strict=True)), ignored


def _load(
    store: Store,
    spec: TableSpec,
    reader: Reader,
    source: str,
    sha256: str,
    mapping: Mapping[str, str] | None,
    progress: ProgressCallback | None,
    on_chunk: Callable[[int], None] | None,
    pre_rejects: pd.DataFrame | None = None,
    *,
    owner_keys: Sequence[str] = (),
) -> LoadReport:
    rename, ignored = _canonical_columns(
        spec, source, reader.columns, mapping, header=reader.header
    )
    unseen = {c for c in spec.required if c not in rename.values()}  # JSON Lines only
    started = time.perf_counter()
    started_at = datetime.now(UTC).replace(tzinfo=None)
    with store.transaction():
        load_id = int(store.scalar("SELECT coalesce(max(load_id), 0) + 1 FROM loads"))
        report = LoadReport(load_id, spec.name, source, sha256, ignored_columns=ignored)
        store.execute(
            "DELETE FROM quarantine WHERE table_name = ? AND source_sha256 = ?", [spec.name, sha256]
        )
        stage = f"stage_{spec.name}"
        store.execute(f"DROP TABLE IF EXISTS {stage}")
        store.execute(
            f"CREATE TEMP TABLE {stage} AS SELECT * EXCLUDE (load_id), 0::BIGINT AS line "
            f"FROM {spec.name} LIMIT 0"
        )
        reader.attach(stage, rename)
        if pre_rejects is not None and len(pre_rejects):
            kept = [*_QUARANTINE_COLUMNS, *([_OWNER] if _OWNER in pre_rejects else [])]
            _quarantine(store, report, pre_rejects[kept])
            report.rows_read += len(pre_rejects)
        for number, chunk in enumerate(reader.chunks(), start=1):
            _stage_chunk(store, spec, stage, chunk, rename, report, owner_keys)
            unseen.difference_update(rename.get(c, c) for c in chunk.frame.columns)
            if progress is not None:
                progress(reader.bytes_done, reader.total_bytes)
            if on_chunk is not None:
                on_chunk(number)
        if unseen:  # no row of the file has a required key: the file is not this table's
            raise MissingColumnsError(source, sorted(unseen), reader.columns)
        if C.USER_ID in spec.names:
            _reject_erased_users(store, stage, report)
        staged = int(store.scalar(f"SELECT count(*) FROM {stage}"))
        if spec.name == "events":
            inserted, updated = merge_events(store, stage, load_id), 0
        else:
            inserted, updated = merge_entities(store, spec, stage, load_id, set(rename.values()))
        store.execute(f"DROP TABLE {stage}")
        report.accepted = inserted + updated
        report.updated = updated
        report.duplicates = staged - report.accepted
        report.seconds = time.perf_counter() - started
        store.execute(
            "INSERT INTO loads VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                load_id, spec.name, source, sha256, started_at,
                datetime.now(UTC).replace(tzinfo=None), report.rows_read, report.accepted,
                report.rejected, report.duplicates, report.updated,
            ],
        )  # fmt: skip
        report.top_reasons = _top_reasons(store, load_id) if report.rejected else {}
    assert report.rows_read == report.accepted + report.rejected + report.duplicates
    return report


def _stage_chunk(
    store: Store,
    spec: TableSpec,
    stage: str,
    chunk: RawChunk,
    rename: Mapping[str, str],
    report: LoadReport,
    owner_keys: Sequence[str] = (),
) -> None:
    report.rows_read += chunk.rows_read
    rejects = list(chunk.rejects)
    id_keys = [source for source, name in rename.items() if name == C.USER_ID]
    id_keys += [key for key in owner_keys if key not in id_keys]
    owners = [_raw_user_id(r.raw, id_keys) for r in rejects]
    frame = chunk.frame.rename(columns=rename)
    plain = plain_table(spec, frame) if len(frame) else None
    if plain is not None:  # a few plainly valid rows (an API batch): typed without pandas
        store.append(stage, plain.append_column("line", pa.array(chunk.lines, pa.int64())))
    elif len(frame):
        typed, good, problems = validate_chunk(spec, frame)
        stored_ids = typed.get(C.USER_ID)
        for i in map(int, np.flatnonzero(~good)):
            owners.append(None if stored_ids is None else _text_or_none(stored_ids.iloc[i]))
            raw = chunk.raws[i] if chunk.raws is not None else _row_json(chunk.frame, i)
            rejects.append(
                Reject(
                    int(chunk.lines[i]),
                    problems.first_column[i],
                    problems.first_value[i],
                    "; ".join(problems.reasons[i]),
                    raw,
                )
            )
        typed = typed[good]
        typed["line"] = chunk.lines[good]
        # Arrow goes into DuckDB without a per-value conversion: about 2x faster than a
        # pandas frame, and the process stays far smaller on big files
        store.append(stage, pa.Table.from_pandas(typed, preserve_index=False))
    _quarantine(store, report, rejects, owners)


def _row_json(frame: pd.DataFrame, i: int) -> str:
    return row_json(frame.iloc[i].to_dict())[:1000]


def _text_or_none(value: object) -> str | None:
    """A validated id as stored (a non-empty string), else None."""
    return value if isinstance(value, str) and value else None


def _raw_user_id(raw: str | None, keys: list[str]) -> str | None:
    """The user id in a row the reader could not use, when its raw text is a JSON object
    holding one under one of ``keys`` (a string or an integer); None otherwise."""
    if not raw or not keys or not raw.lstrip().startswith("{"):
        return None
    try:
        row = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(row, dict):
        return None
    for key in keys:
        value = row.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    return None


def _quarantine(
    store: Store,
    report: LoadReport,
    rejects: list[Reject] | pd.DataFrame,
    owners: list[str | None] | None = None,
) -> None:
    """Store rejected rows with the user each belongs to (``owners``, when known): an erasure
    deletes a user's quarantined rows by that column, never by searching their text."""
    if len(rejects) == 0:
        return
    report.rejected += len(rejects)
    if isinstance(rejects, pd.DataFrame):
        rows = rejects.copy()
        if _OWNER not in rows:
            rows[_OWNER] = None
    else:
        rows = pd.DataFrame(
            [
                (r.line, r.column, _storable_text(r.value), r.reason, _storable_text(r.raw))
                for r in rejects
            ],
            columns=_QUARANTINE_COLUMNS,
        )
        rows[_OWNER] = (
            pd.Series([_storable_text(o) for o in owners], dtype=object)
            if owners is not None
            else None
        )
    rows[_OWNER] = rows[_OWNER].astype(object)
    rows.insert(0, "source_sha256", report.sha256)
    rows.insert(0, "source", report.source)
    rows.insert(0, "table_name", report.table)
    rows.insert(0, "load_id", report.load_id)
    store.append("quarantine", rows)


def _storable_text(value: object) -> object:
    """Text the store can hold: a lone surrogate (a JSON ``\\ud800`` escape, say) cannot be
    written as UTF-8, so it is kept as its escape instead of failing the whole load."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def _reject_erased_users(store: Store, stage: str, report: LoadReport) -> None:
    """Move staged rows of erased users (``suppressed_users``) to the quarantine, and strip
    the content of this load's invalid rows of erased users: nothing of theirs is kept."""
    if report.rejected:  # else this load has nothing in the quarantine yet
        store.execute(
            f"""UPDATE quarantine SET column_name = 'user_id', value = NULL,
                    reason = '{ERASED_REASON}', raw = NULL, user_id = NULL
                WHERE load_id = ? AND user_id IS NOT NULL AND {erased_predicate("user_id")}""",
            [report.load_id],
        )
    erased = erased_predicate("s.user_id")
    n = int(store.scalar(f"SELECT count(*) FROM {stage} s WHERE {erased}"))
    if not n:
        return
    store.execute(
        f"""INSERT INTO quarantine
                (load_id, table_name, source, source_sha256, line, column_name, value, reason,
                 raw, user_id)
            SELECT ?, ?, ?, ?, s.line, 'user_id', NULL, '{ERASED_REASON}', NULL, NULL
            FROM {stage} s WHERE {erased}""",
        [report.load_id, report.table, report.source, report.sha256],
    )
    store.execute(f"DELETE FROM {stage} s WHERE {erased}")
    report.rejected += n


def _top_reasons(store: Store, load_id: int, limit: int = 5) -> dict[str, int]:
    """The most frequent kinds of rejection of a load, values masked so alike reasons group."""
    rows = store.query_df(
        "SELECT split_part(reason, ';', 1) AS reason FROM quarantine WHERE load_id = ?", [load_id]
    )
    kinds = rows["reason"].str.replace(_VALUE_IN_REASON, "…", regex=True)
    counts = kinds.value_counts().head(limit)
    return {str(k): int(n) for k, n in counts.items()}


_VALUE_IN_REASON = r"'[^']*'|(?<![\w-])-?\d+(?:\.\d+)?(?![\w-])"
