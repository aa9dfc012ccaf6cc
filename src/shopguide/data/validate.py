"""Table specifications and vectorised validation of raw chunks.

A raw chunk holds the values as a reader found them (strings from CSV, typed values from
Parquet or JSON). :func:`validate_chunk` turns it into canonical, typed columns and a list of
rejected rows, each with the line, the first bad column, the bad value and every reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from shopguide.columns import Columns as C
from shopguide.columns import EventType

Kind = Literal["id", "text", "event_type", "timestamp", "number", "bool", "gender", "age"]


@dataclass(frozen=True)
class Field:
    """One canonical column: how to parse it and what makes a value bad."""

    name: str
    kind: Kind
    required: bool = False
    minimum: float | None = None
    positive: bool = False
    default: float | None = None


@dataclass(frozen=True)
class TableSpec:
    """A table's canonical file columns and how its rows are identified."""

    name: str
    fields: tuple[Field, ...]
    key: str
    keeps_attributes: bool

    @property
    def required(self) -> list[str]:
        return [f.name for f in self.fields if f.required]

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]


EVENTS: Final = TableSpec(
    "events",
    (
        Field(C.EVENT_ID, "id"),
        Field(C.USER_ID, "id", required=True),
        Field(C.ITEM_ID, "id", required=True),
        Field(C.EVENT_TYPE, "event_type", required=True),
        Field(C.TIMESTAMP, "timestamp", required=True),
        Field(C.QUANTITY, "number", positive=True, default=1.0),
        Field(C.PRICE, "number", minimum=0.0),
        Field(C.DISCOUNT, "number", minimum=0.0),
        Field(C.ORDER_ID, "id"),
        Field(C.SESSION_ID, "id"),
        Field(C.CAMPAIGN_ID, "id"),
    ),
    key=C.EVENT_KEY,
    keeps_attributes=False,
)
USERS: Final = TableSpec(
    "users",
    (
        Field(C.USER_ID, "id", required=True),
        Field(C.GENDER, "gender"),
        Field(C.AGE, "age"),
        Field(C.LOCATION, "text"),
        Field(C.SIGNUP_AT, "timestamp"),
    ),
    key=C.USER_ID,
    keeps_attributes=True,
)
ITEMS: Final = TableSpec(
    "items",
    (
        Field(C.ITEM_ID, "id", required=True),
        Field(C.TITLE, "text"),
        Field(C.CATEGORY, "text"),
        Field(C.BRAND, "text"),
        Field(C.PRICE, "number", minimum=0.0),
        Field(C.IN_STOCK, "bool"),
    ),
    key=C.ITEM_ID,
    keeps_attributes=True,
)
SPECS: Final = {spec.name: spec for spec in (EVENTS, USERS, ITEMS)}

_GENDERS: Final = {
    "m": "M", "male": "M", "man": "M",
    "f": "F", "female": "F", "woman": "F", "w": "F",
    "o": "O", "other": "O", "x": "O", "diverse": "O", "non-binary": "O", "nonbinary": "O",
    "u": None, "unknown": None, "": None,
}  # fmt: skip
_BOOLS: Final = {
    "true": True, "t": True, "yes": True, "y": True, "1": True, "1.0": True,
    "false": False, "f": False, "no": False, "n": False, "0": False, "0.0": False,
}  # fmt: skip
_AGE_BAND = re.compile(
    r"^\s*(?:(\d{1,3})\s*[-–]\s*(\d{1,3})|(\d{1,3})\s*\+|(?:under|<)\s*(\d{1,3}))\s*$"
)
_BAND_EDGES: Final = (18, 25, 35, 45, 55, 65)
_BAND_NAMES: Final = ("<18", "18-24", "25-34", "35-44", "45-54", "55-64", "65+")


def age_band(age: pd.Series) -> pd.Series:
    """The standard age band of each age (``<18``, ``18-24`` … ``65+``)."""
    codes = np.searchsorted(np.array(_BAND_EDGES), age.to_numpy(dtype=float), side="right")
    names = np.array(_BAND_NAMES, dtype=object)[np.minimum(codes, len(_BAND_NAMES) - 1)]
    return pd.Series(np.where(age.isna(), None, names), index=age.index, dtype=object)


class Problems:
    """Bad values of one chunk, gathered column by column (sparse: most rows are fine)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.bad = np.zeros(n, dtype=bool)
        self.first_column: dict[int, str] = {}
        self.first_value: dict[int, str] = {}
        self.reasons: dict[int, list[str]] = {}

    def add(self, mask: np.ndarray, column: str, values: pd.Series, reason: str) -> None:
        """Record ``reason`` (formatted with ``{value}``) for every row where ``mask`` holds."""
        for i in map(int, np.flatnonzero(mask)):
            value = values.iat[i]
            shown = "" if value is None or value is pd.NA else str(value)
            if not self.bad[i]:
                self.bad[i] = True
                self.first_column[i] = column
                self.first_value[i] = shown[:200]
            self.reasons.setdefault(i, []).append(f"{column}: {reason.format(value=shown[:80])}")


def _as_text(values: pd.Series) -> pd.Series:
    """Values as stripped strings, with empty strings as missing; integral floats lose '.0'."""
    if (values.dtype == object or values.dtype == "string") and len(values):
        try:
            arr = (
                pa.array(values.array)
                if isinstance(values.array, pd.arrays.ArrowStringArray)
                else pa.array(values.to_numpy(), type=pa.string(), from_pandas=True)
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass  # mixed types (JSON): fall back to pandas below
        else:
            trimmed = pc.utf8_trim_whitespace(arr)
            trimmed = pc.if_else(pc.equal(trimmed, ""), None, trimmed)
            return pd.Series(
                pd.arrays.ArrowStringArray(trimmed), index=values.index, dtype="string[pyarrow]"
            )
    if pd.api.types.is_float_dtype(values.dtype):
        arr = values.to_numpy(dtype=float)
        integral = np.isfinite(arr) & (np.mod(arr, 1) == 0)
        out = values.astype(object)
        out[integral] = arr[integral].astype(np.int64).astype(str)
        out[~np.isfinite(arr)] = None
        values = out
    elif pd.api.types.is_datetime64_any_dtype(values.dtype):
        values = values.dt.strftime("%Y-%m-%dT%H:%M:%S")
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def _is_present(values: pd.Series) -> np.ndarray:
    return np.asarray(values.notna().to_numpy(), dtype=bool)


def _parse_timestamp(raw: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        ts = raw
        if getattr(ts.dt, "tz", None) is not None:
            ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
        return ts.astype("datetime64[us]")
    text = _as_text(raw)
    parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    return parsed.dt.tz_localize(None).astype("datetime64[us]")


def _parse_number(raw: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(raw.dtype):
        return pd.Series(np.nan, index=raw.index)
    if pd.api.types.is_numeric_dtype(raw.dtype):
        return raw.astype(float)
    return pd.to_numeric(_as_text(raw), errors="coerce").astype(float)


def validate_chunk(
    spec: TableSpec, frame: pd.DataFrame
) -> tuple[pd.DataFrame, np.ndarray, Problems]:
    """Parse ``frame`` (columns already renamed to canonical names) into canonical columns.

    Returns the typed frame (all rows), a boolean mask of good rows and the problems found.
    Columns of the frame that are not canonical go into ``attributes`` (JSON) for users and
    items and are ignored for events.
    """
    if C.AGE_BAND in frame.columns and any(f.kind == "age" for f in spec.fields):
        frame = _age_from_band(frame)
    n = len(frame)
    problems = Problems(n)
    out: dict[str, pd.Series | np.ndarray] = {}
    index = frame.index
    for f in spec.fields:
        if f.name not in frame.columns:
            missing = pd.Series([None] * n, index=index, dtype=object)
            if f.kind == "number":
                out[f.name] = pd.Series(
                    np.full(n, np.nan if f.default is None else f.default), index=index
                )
            elif f.kind == "age":
                out[C.AGE] = pd.Series(pd.array([None] * n, dtype="Int32"), index=index)
                out[C.AGE_BAND] = missing
            elif f.kind == "timestamp":
                out[f.name] = pd.Series(pd.NaT, index=index, dtype="datetime64[us]")
            elif f.kind == "bool":
                out[f.name] = pd.Series(pd.array([None] * n, dtype="boolean"), index=index)
            else:
                out[f.name] = missing
            continue
        raw = frame[f.name]
        present = (
            _is_present(_as_text(raw))
            if raw.dtype == object or raw.dtype == "string"
            else (_is_present(raw))
        )
        if f.required:
            problems.add(~present, f.name, raw, "missing (this column is required)")
        if f.kind in ("id", "text"):
            out[f.name] = _as_text(raw).astype(object).where(lambda s: s.notna(), None)
        elif f.kind == "event_type":
            text = _as_text(raw).str.lower()
            known = np.asarray(text.isin(EventType.ALL).to_numpy(), dtype=bool)
            problems.add(
                present & ~known,
                f.name,
                raw,
                "unknown event type '{value}'; expected one of " + ", ".join(EventType.ALL),
            )
            out[f.name] = text.astype(object)
        elif f.kind == "timestamp":
            ts = _parse_timestamp(raw)
            problems.add(
                present & ts.isna().to_numpy(),
                f.name,
                raw,
                "unparseable timestamp '{value}'; use ISO 8601 such as 2024-03-01T14:05:00",
            )
            out[f.name] = ts
        elif f.kind == "number":
            num = _parse_number(raw)
            arr = num.to_numpy(dtype=float)
            bad_num = present & ~np.isfinite(arr)
            problems.add(bad_num, f.name, raw, "not a number: '{value}'")
            ok = present & ~bad_num
            if f.positive:
                problems.add(
                    ok & (arr <= 0),
                    f.name,
                    raw,
                    "must be positive, got {value}",
                )
            if f.minimum is not None:
                problems.add(
                    ok & (arr < f.minimum),
                    f.name,
                    raw,
                    f"negative ({{value}}); must be >= {f.minimum:g}",
                )
            if f.default is not None:
                num = num.fillna(f.default)
            out[f.name] = num
        elif f.kind == "bool":
            if pd.api.types.is_bool_dtype(raw.dtype):
                out[f.name] = raw.astype("boolean")
            else:
                text = _as_text(raw).str.lower()
                mapped = text.map(_BOOLS)
                problems.add(
                    present & mapped.isna().to_numpy(),
                    f.name,
                    raw,
                    "not a yes/no value: '{value}'; use true/false, yes/no or 1/0",
                )
                out[f.name] = mapped.astype("boolean")
        elif f.kind == "gender":
            text = _as_text(raw).str.lower()
            known = np.asarray(text.isin(list(_GENDERS)).to_numpy(), dtype=bool)
            problems.add(
                present & ~known,
                f.name,
                raw,
                "unknown gender '{value}'; use M, F, O or leave empty",
            )
            out[f.name] = text.map(_GENDERS).astype(object).where(lambda s: s.notna(), None)
        elif f.kind == "age":
            ages, bands, bad_age = _parse_age(raw)
            problems.add(
                present & bad_age,
                f.name,
                raw,
                "not an age or age band: '{value}'; use a whole number 0-120 or a band like 25-34",
            )
            out[C.AGE] = ages
            out[C.AGE_BAND] = bands
    typed = pd.DataFrame(out, index=index)
    if spec.keeps_attributes:
        typed[C.ATTRIBUTES] = _attributes(frame, spec)
    return typed, ~problems.bad, problems


def _age_from_band(frame: pd.DataFrame) -> pd.DataFrame:
    """Read an ``age_band`` column as the age where the file has no (or an empty) ``age``."""
    frame = frame.copy()
    band = frame.pop(C.AGE_BAND)
    if C.AGE not in frame.columns:
        frame[C.AGE] = band
    else:
        age = frame[C.AGE].astype(object)
        empty = age.isna() | (age.astype(str).str.strip() == "")
        frame[C.AGE] = age.where(~empty, band.astype(object))
    return frame


def _parse_age(raw: pd.Series) -> tuple[pd.Series, pd.Series, np.ndarray]:
    """Whole-number ages in 0..120, or age bands written like ``25-34``, ``65+`` or ``under 18``."""
    num = _parse_number(raw)
    arr = num.to_numpy(dtype=float)
    is_age = np.isfinite(arr) & (np.mod(arr, 1) == 0) & (arr >= 0) & (arr <= 120)
    ages = pd.Series(pd.array(np.where(is_age, arr, np.nan), dtype="Float64"), index=raw.index)
    ages = ages.round().astype("Int32")
    bands = age_band(ages.astype(float))
    text = _as_text(raw)
    band_text = text.where(~is_age)
    looks_like_band = band_text.str.match(_AGE_BAND).fillna(False).to_numpy(dtype=bool)
    bands = bands.where(~looks_like_band, band_text.str.replace(r"\s+", "", regex=True))
    bad = ~is_age & ~looks_like_band
    return ages, bands, bad


def _attributes(frame: pd.DataFrame, spec: TableSpec) -> pd.Series:
    """Non-canonical columns of each row as a JSON object (``None`` when there are none)."""
    extra = [c for c in frame.columns if c not in spec.names and c != C.ATTRIBUTES]
    parts: list[dict[str, object]] = [{} for _ in range(len(frame))]
    if C.ATTRIBUTES in frame.columns:
        for i, value in enumerate(frame[C.ATTRIBUTES].tolist()):
            if isinstance(value, Mapping):
                parts[i].update(value)
            elif isinstance(value, str) and value.strip().startswith("{"):
                try:
                    parts[i].update(json.loads(value))
                except json.JSONDecodeError:
                    parts[i]["attributes"] = value
    if extra:
        records = frame[extra].astype(object).where(frame[extra].notna(), None).to_dict("records")
        for i, record in enumerate(records):
            parts[i].update({k: v for k, v in record.items() if v is not None and v != ""})
    return pd.Series(
        [json.dumps(p, default=str, ensure_ascii=False) if p else None for p in parts],
        index=frame.index,
        dtype=object,
    )
