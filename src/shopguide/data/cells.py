"""The Python values a column may hold, whatever format the row came from.

CSV and TSV give text, but JSON Lines, Parquet and in-memory frames give typed values: objects,
lists, booleans, NaN. One rule decides, for every format, which of them each kind of column
takes (:func:`wrong_types`), so a JSON object used as an id is rejected with the reason instead
of being stored as Python text. :func:`json_safe` does the same for the attribute values of
users and items, which are stored as JSON.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
from collections.abc import Mapping
from typing import Final

import numpy as np
import pandas as pd

from shopguide.columns import Kind

#: What each kind of column takes, as said in a rejection reason.
ACCEPTS: Final[dict[Kind, str]] = {
    "id": "a string or a whole number",
    "text": "a string or a number",
    "event_type": "a string",
    "gender": "a string",
    "timestamp": "a date and time (ISO 8601 text)",
    "number": "a number",
    "age": "a number or an age band",
    "bool": "true/false, yes/no or 1/0",
}
#: Inferred types (``pandas.api.types.infer_dtype``) every kind takes, and the number types
#: every kind but ids takes as they are.
_FINE: Final = frozenset({"string", "integer", "empty"})
_NUMBERS: Final = frozenset({"floating", "mixed-integer-float"})
#: Integral floats below this are exact integers, so ``2.0`` may stand for the id ``2``.
_EXACT_INT: Final = 2.0**53


class NonFinite:
    """A JSON ``NaN``, ``Infinity`` or ``-Infinity``, kept as written so it can be rejected
    (pandas would otherwise take a NaN for a missing value)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text


def describe(value: object) -> str:
    """A value as people read it in the quarantine: JSON for objects and lists, not a repr."""
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, Mapping | list | tuple | np.ndarray):
        try:
            return json.dumps(json_safe(value), ensure_ascii=False)
        except ValueError:
            return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _found(value: object, kind: Kind) -> str | None:
    """What is wrong with the type of ``value`` for ``kind`` (None when the type is fine)."""
    if value is None or value is pd.NA or isinstance(value, str):
        return None
    if isinstance(value, bool | np.bool_):
        return None if kind == "bool" else "a true/false value"
    if isinstance(value, Mapping):
        return "a JSON object"
    if isinstance(value, list | tuple | np.ndarray):
        return "a list"
    if isinstance(value, NonFinite):
        return None if kind == "number" else f"{value.text} (not a value)"
    if isinstance(value, bytes | bytearray):
        return "binary data"
    if isinstance(value, int | np.integer):
        return None
    if isinstance(value, float | np.floating | decimal.Decimal):
        number = float(value)
        if kind != "id" or math.isnan(number):  # a NaN in a frame is a missing value
            return None
        if math.isinf(number):
            return "infinity (not a value)"
        return None if number.is_integer() and abs(number) < _EXACT_INT else "a decimal number"
    if isinstance(value, dt.date | np.datetime64):
        return None if kind == "timestamp" else "a date"
    return f"a {type(value).__name__}"


def wrong_types(raw: pd.Series, kind: Kind) -> tuple[np.ndarray, list[str]] | None:
    """Rows whose value has a type ``kind`` does not take, and what each was instead.

    Returns None when every value is fine (the usual case, found without a Python loop for
    columns of text).
    """
    if pd.api.types.is_bool_dtype(raw.dtype):
        if kind == "bool":
            return None
        mask = np.asarray(raw.notna().to_numpy(), dtype=bool)
        return (mask, ["a true/false value"] * len(raw)) if mask.any() else None
    if pd.api.types.is_float_dtype(raw.dtype):
        if kind != "id":
            return None
        arr = raw.to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            mask = np.isfinite(arr) & ((np.mod(arr, 1) != 0) | (np.abs(arr) >= _EXACT_INT))
        infinite = np.isinf(arr)
        if not (mask | infinite).any():
            return None
        found = np.where(infinite, "infinity (not a value)", "a decimal number")
        return mask | infinite, found.tolist()
    if raw.dtype != object or not len(raw):
        return None
    inferred = pd.api.types.infer_dtype(raw, skipna=True)
    if inferred in _FINE or (kind != "id" and inferred in _NUMBERS):
        return None  # found in C, without a Python loop
    what = [_found(value, kind) for value in raw.tolist()]
    wrong = np.array([w is not None for w in what], dtype=bool)
    return (wrong, [w or "" for w in what]) if wrong.any() else None


class NotJson(ValueError):
    """An attribute value that has no JSON form."""


def json_safe(value: object) -> object:
    """``value`` as plain JSON data (dicts, lists, strings, finite numbers, booleans, null).

    Arrays become lists, dates ISO text, numpy scalars Python ones, UTF-8 bytes text.
    Raises :class:`NotJson` naming the part that has no JSON form (NaN, infinity, binary
    data that is not UTF-8, other objects).
    """
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, NonFinite):
        raise NotJson(f"{value.text} is not a JSON number")
    if isinstance(value, np.generic):
        return json_safe(value.item())
    if isinstance(value, int):
        return value
    if isinstance(value, float | decimal.Decimal):
        if not math.isfinite(value):
            raise NotJson(f"{value} is not a JSON number")
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [json_safe(v) for v in value]
    if isinstance(value, dt.datetime | dt.date | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise NotJson("binary data that is not UTF-8 text") from None
    raise NotJson(f"a {type(value).__name__} has no JSON form")


def row_json(row: Mapping[str, object]) -> str:
    """A row as one line of JSON for the quarantine's ``raw`` column (missing values as null,
    values with no JSON form as their text)."""
    out: dict[str, object] = {}
    for key, value in row.items():
        missing = value is None or value is pd.NaT or value is pd.NA
        if missing or (isinstance(value, float) and math.isnan(value)):
            out[str(key)] = None
        else:
            try:
                out[str(key)] = json_safe(value)
            except NotJson:
                out[str(key)] = describe(value)
    return json.dumps(out, ensure_ascii=False)
