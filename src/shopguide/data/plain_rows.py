"""A few rows whose every value is plainly valid, typed in plain Python.

:func:`~shopguide.data.validate.validate_chunk` validates a chunk column by column with pandas
and pyarrow: about 13 ms however few the rows (27 ms in a loaded service), which made half of
the cost of storing an API batch of ten events. :func:`plain_table` types
such a chunk with a loop over its values instead, when every value has a plain form (an
id without spaces at its ends or control characters, a lower-case known event type, an ISO
8601 timestamp, a finite number in range) and gives up, returning None, at the first value
that does not. The caller then validates the chunk as before, so every rejection and its
reason still comes from ``validate_chunk``. Property test: whenever :func:`plain_table`
returns a table, ``validate_chunk`` accepts every row and types it the same
(``tests/data/test_plain_rows.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

import pandas as pd
import pyarrow as pa

from shopguide.columns import MAX_ID_LENGTH
from shopguide.data.validate import EARLIEST_TIMESTAMP, FUTURE_ALLOWANCE, Field, TableSpec

__all__ = ["PLAIN_ROWS", "plain_table"]

#: Chunks up to this many rows (the service's largest event batch by default) are tried in
#: plain Python: at 10,000 API-like rows it takes 23 ms against validate_chunk's 59 ms, at 10
#: rows 0.2 ms against 12.6 (``benchmarks/bench_plain_rows.py``). A chunk it gives up on costs
#: that much more.
PLAIN_ROWS: Final = 10_000

_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_ISO_TIME: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})?)?", re.ASCII
)
_DECIMAL: Final = re.compile(r"-?\d{1,15}(?:\.\d{1,15})?", re.ASCII)  # only 0-9 are digits
_EARLIEST: Final = EARLIEST_TIMESTAMP.to_pydatetime()
_ARROW_TYPES: Final = {
    "id": pa.string(),
    "event_type": pa.string(),
    "timestamp": pa.timestamp("us"),
    "number": pa.float64(),
}


def plain_table(
    spec: TableSpec, frame: pd.DataFrame, *, max_rows: int = PLAIN_ROWS
) -> pa.Table | None:
    """``frame`` (canonical column names) typed as ``validate_chunk`` types it, when every
    value of every row is plainly valid; None otherwise, and for frames of more than
    ``max_rows`` rows, tables with attributes or kinds of column this module does not type
    (users, items)."""
    if spec.keeps_attributes or len(frame) > max_rows:
        return None
    if any(f.kind not in _ARROW_TYPES for f in spec.fields):
        return None
    latest = datetime.now(UTC).replace(tzinfo=None) + FUTURE_ALLOWANCE.to_pytimedelta()
    columns: dict[str, pa.Array] = {}
    for f in spec.fields:
        raw = frame[f.name].tolist() if f.name in frame.columns else [None] * len(frame)
        typed = _TYPERS[f.kind](f, raw, latest)
        if typed is None:
            return None
        columns[f.name] = pa.array(typed, type=_ARROW_TYPES[f.kind])
    return pa.table(columns)


def _ids(f: Field, values: list[object], _: datetime) -> list[object] | None:
    out: list[object] = []
    for value in values:
        if value is None:
            if f.required:
                return None
            out.append(None)
        elif type(value) is int:
            out.append(str(value))
        elif type(value) is str and _plain_id(value):
            out.append(value)
        else:
            return None
    return out


def _plain_id(text: str) -> bool:
    """Non-empty, at most the longest id, no spaces at its ends (by Python's definition, which
    takes in every character Arrow trims), no control character, valid UTF-8."""
    if not text or len(text) > MAX_ID_LENGTH or text[0].isspace() or text[-1].isspace():
        return False
    if _CONTROL.search(text):
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def _event_types(f: Field, values: list[object], _: datetime) -> list[object] | None:
    allowed = f.allowed or ()
    if any(type(v) is not str or v not in allowed for v in values):
        return None  # also None: event types are required
    return values


def _timestamps(f: Field, values: list[object], latest: datetime) -> list[object] | None:
    out: list[object] = []
    for value in values:
        if value is None and not f.required:
            out.append(None)
            continue
        if type(value) is not str or not _ISO_TIME.fullmatch(value):
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:  # a day or hour that does not exist
            return None
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        if not _EARLIEST <= moment <= latest:
            return None
        out.append(moment)
    return out


def _numbers(f: Field, values: list[object], _: datetime) -> list[object] | None:
    out: list[object] = []
    for value in values:
        if value is None:
            if f.required:
                return None
            out.append(f.default)
            continue
        plain_text = type(value) is str and _DECIMAL.fullmatch(value) is not None
        if not (plain_text or type(value) is int or type(value) is float):
            return None
        number = float(value)  # type: ignore[arg-type]
        if not _in_range(f, number):
            return None
        out.append(number)
    return out


def _in_range(f: Field, number: float) -> bool:
    """Finite and within the column's limits (NaN fails every comparison)."""
    if not -float("inf") < number < float("inf"):
        return False
    if f.positive and not number > 0:
        return False
    if f.minimum is not None and not number >= f.minimum:
        return False
    return f.maximum is None or number <= f.maximum


_Typer = Callable[[Field, list[object], datetime], list[object] | None]
_TYPERS: Final[dict[str, _Typer]] = {
    "id": _ids,
    "event_type": _event_types,
    "timestamp": _timestamps,
    "number": _numbers,
}
