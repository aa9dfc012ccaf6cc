"""Table specifications and vectorised validation of raw chunks.

A raw chunk holds the values as a reader found them (strings from CSV, typed values from
Parquet or JSON). :func:`validate_chunk` turns it into canonical, typed columns and a list of
rejected rows, each with the line, the first bad column, the bad value and every reason.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from shopguide.columns import EVENTS as EVENTS_TABLE
from shopguide.columns import ITEMS as ITEMS_TABLE
from shopguide.columns import MAX_AMOUNT, MAX_ID_LENGTH, MAX_QUANTITY, Column, Kind, Table
from shopguide.columns import USERS as USERS_TABLE
from shopguide.columns import Columns as C
from shopguide.data.cells import (
    ACCEPTS,
    NonFinite,
    NotJson,
    describe,
    json_safe,
    wrong_types,
)

__all__ = [
    "EVENTS",
    "ITEMS",
    "MAX_AMOUNT",
    "MAX_ID_LENGTH",
    "MAX_QUANTITY",
    "SPECS",
    "USERS",
    "Field",
    "Kind",
    "TableSpec",
    "validate_chunk",
]


#: The earliest timestamp accepted; the latest is one year after the load.
EARLIEST_TIMESTAMP: Final = pd.Timestamp("1970-01-01")
FUTURE_ALLOWANCE: Final = pd.Timedelta(days=365)

#: One canonical file column: how to parse it and what makes a value bad (its limits, such as
#: :data:`~shopguide.columns.MAX_QUANTITY`, are declared with the table in ``columns``).
Field = Column


@dataclass(frozen=True)
class TableSpec:
    """A table's canonical file columns and how its rows are identified, from its
    :class:`~shopguide.columns.Table` description."""

    name: str
    fields: tuple[Field, ...]
    key: str
    keeps_attributes: bool

    @classmethod
    def of(cls, table: Table) -> TableSpec:
        """The spec of ``table``: its file columns, its key and whether it keeps attributes."""
        return cls(table.name, table.file_columns, table.key, table.keeps_attributes)

    @property
    def required(self) -> list[str]:
        return [f.name for f in self.fields if f.required]

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]


EVENTS: Final = TableSpec.of(EVENTS_TABLE)
USERS: Final = TableSpec.of(USERS_TABLE)
ITEMS: Final = TableSpec.of(ITEMS_TABLE)
SPECS: Final = {spec.name: spec for spec in (EVENTS, USERS, ITEMS)}

#: Gender values as shops export them (lower case, runs of spaces, ``_`` and ``-`` as one
#: space: see :func:`_gender_key`) and what they are stored as. "Not said" in its common
#: forms is a missing value, not a reason to quarantine the user's other fields.
_GENDERS: Final = {
    "m": "M", "male": "M", "man": "M",
    "f": "F", "female": "F", "woman": "F", "w": "F",
    "o": "O", "other": "O", "x": "O", "diverse": "O", "divers": "O", "non binary": "O",
    "nonbinary": "O",
    "u": None, "unknown": None, "": None, "n/a": None, "na": None, "none": None, "?": None,
    "prefer not to say": None, "prefer not to answer": None, "prefer not to disclose": None,
    "rather not say": None, "not specified": None, "unspecified": None, "not stated": None,
    "not disclosed": None, "undisclosed": None, "not known": None,
}  # fmt: skip


def _gender_key(text: pd.Series) -> pd.Series:
    """Lower case, with each run of spaces, ``_`` and ``-`` as one space, trimmed."""
    return text.str.lower().str.replace(r"[\s_\-]+", " ", regex=True).str.strip()


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
            shown = describe(values.iat[i])
            if not self.bad[i]:
                self.bad[i] = True
                self.first_column[i] = column
                self.first_value[i] = shown[:200]
            self.reasons.setdefault(i, []).append(f"{column}: {reason.format(value=shown[:80])}")


#: Numbers as spreadsheets and shops write them, which a plain decimal parse rejects: each
#: shape, what to call it and the ``--derive`` expression that loads it
_NUMBER_SHAPES: Final = (
    (  # 12,50  -0,5  1.234,56
        re.compile(r"\s*[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+),\d+\s*"),
        "a decimal comma",
        "replace(COLUMN, ',', '.')",
    ),
    (  # 1,234.56  12,345
        re.compile(r"\s*[+-]?\d{1,3}(?:,\d{3})+\.\d+\s*"),
        "thousands separators",
        "replace(COLUMN, ',', '')",
    ),
    (  # $12.50  12.50 €  EUR 12.50  £3
        re.compile(
            r"\s*(?:[$€£¥]|[A-Z]{3})\s?[+-]?[\d.]+\s*|\s*[+-]?[\d.]+\s?(?:[$€£¥]|[A-Z]{3})\s*"
        ),
        "a currency sign",
        "regexp_replace(COLUMN, '[^0-9.-]', '', 'g')",
    ),
)


def _number_problems(problems: Problems, name: str, raw: pd.Series, bad: np.ndarray) -> None:
    """Reasons for values that are not numbers: the shape and the ``--derive`` that loads it
    where the value has a common one (decimal comma, thousands separators, currency sign)."""
    rest = bad.copy()
    for (_, shape, expression), hit in zip(
        _NUMBER_SHAPES, _shape_hits(raw, rest, [s[0] for s in _NUMBER_SHAPES]), strict=True
    ):
        problems.add(
            hit,
            name,
            raw,
            f"{shape} in '{{value}}'; load the file with "
            f'--derive "{name}={expression}" (COLUMN: the file\'s column)',
        )
    problems.add(rest, name, raw, "not a number: '{value}'")


def _shape_hits(
    raw: pd.Series, rest: np.ndarray, patterns: list[re.Pattern[str]]
) -> Iterator[np.ndarray]:
    """For each pattern in turn, the rows of ``rest`` whose trimmed text matches it (taken out
    of ``rest``, which is left holding the rows no pattern matched)."""
    text = [str(v).strip() if rest[i] else "" for i, v in enumerate(raw)] if rest.any() else []
    for pattern in patterns:
        if not text:
            yield np.zeros_like(rest)
            continue
        hit = rest & np.fromiter(
            (bool(t) and pattern.fullmatch(t) is not None for t in text), bool, len(text)
        )
        rest &= ~hit
        yield hit


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
    inferred = pd.api.types.infer_dtype(values, skipna=True) if values.dtype == object else ""
    if inferred in ("floating", "mixed-integer-float"):  # JSON numbers: the float path below
        as_float = values.astype(float)
        if not np.isinf(as_float.to_numpy()).any():  # (which would take infinity as missing)
            values = as_float
    if pd.api.types.is_float_dtype(values.dtype):
        arr = values.to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            integral = np.isfinite(arr) & (np.mod(arr, 1) == 0) & (np.abs(arr) < 2.0**63)
        out = values.astype(object)
        out[integral] = arr[integral].astype(np.int64).astype(str)
        out[~np.isfinite(arr)] = None
        values = out
    elif pd.api.types.is_datetime64_any_dtype(values.dtype):
        values = values.dt.strftime("%Y-%m-%dT%H:%M:%S")
    elif inferred == "mixed":  # mixed JSON values: a whole float such as 7.0 reads "7"
        values = pd.Series(
            [_whole_float_as_int(v) for v in values.tolist()], index=values.index, dtype=object
        )
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def _whole_float_as_int(value: object) -> object:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2.0**63:
        return int(value)
    return value


def _is_present(values: pd.Series) -> np.ndarray:
    return np.asarray(values.notna().to_numpy(), dtype=bool)


def _parse_timestamp(raw: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        ts = raw
        if getattr(ts.dt, "tz", None) is not None:
            ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
        return ts.astype("datetime64[us]")
    # BigQuery's CSV export (and others) end a UTC time with a zone name: "… 10:00:00 UTC"
    text = _as_text(raw).str.replace(_ZONE_NAME, "+00:00", regex=True)
    parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    return parsed.dt.tz_localize(None).astype("datetime64[us]")


_ZONE_NAME: Final = r"(?i)(?<=\d)\s*(?:UTC|GMT|Z)$"

#: Time shapes that are not ISO 8601 but common in exports, each with the ``--derive`` that
#: loads it (a day-first or month-first date is not guessed: the file says which it is)
_TIME_SHAPES: Final = (
    (re.compile(r"\d{9,10}(?:\.\d+)?"), "seconds since 1970", "to_timestamp(COLUMN)", ""),
    (re.compile(r"\d{12,13}"), "milliseconds since 1970", "epoch_ms(COLUMN)", ""),
    (
        re.compile(r"\d{1,2}([/.-])\d{1,2}\1\d{4}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?"),
        "a day-month-year or month-day-year date",
        "strptime(COLUMN, '%d/%m/%Y %H:%M')",
        "; write the format as the file does: %m/%d for month first, . or - for /, :%S for seconds",
    ),
)


def _timestamp_problems(problems: Problems, name: str, raw: pd.Series, bad: np.ndarray) -> None:
    """Reasons for unparseable timestamps: the shape and the ``--derive`` that loads it where
    the value has a common non-ISO shape, else ISO 8601's form."""
    rest = bad.copy()
    for (_, shape, expression, note), hit in zip(
        _TIME_SHAPES, _shape_hits(raw, rest, [s[0] for s in _TIME_SHAPES]), strict=True
    ):
        problems.add(
            hit,
            name,
            raw,
            f"unparseable timestamp '{{value}}'; it looks like {shape}: load the file with "
            f'--derive "{name}={expression}" (COLUMN: the file\'s column{note})',
        )
    problems.add(
        rest, name, raw, "unparseable timestamp '{value}'; use ISO 8601 such as 2024-03-01T14:05:00"
    )


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
            if f.required:  # a JSON Lines chunk where no row has the key
                problems.add(np.ones(n, dtype=bool), f.name, missing, _MISSING)
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
        wrong = _check_types(problems, f, raw)
        if wrong.any():
            raw = raw.where(~wrong, np.nan if pd.api.types.is_float_dtype(raw.dtype) else None)
        present = (
            _is_present(_as_text(raw))
            if raw.dtype == object or raw.dtype == "string"
            else (_is_present(raw))
        )
        if f.required:
            problems.add(~present & ~wrong, f.name, raw, _MISSING)
        if f.kind == "id":
            text = _as_text(raw)
            _check_ids(problems, f.name, text, present)
            out[f.name] = text.astype(object).where(lambda s: s.notna(), None)
        elif f.kind == "text":
            out[f.name] = _as_text(raw).astype(object).where(lambda s: s.notna(), None)
        elif f.kind == "event_type":
            text = _as_text(raw).str.lower()
            allowed = f.allowed or ()
            known = np.asarray(text.isin(allowed).to_numpy(), dtype=bool)
            problems.add(
                present & ~known,
                f.name,
                raw,
                "unknown event type '{value}'; expected one of " + ", ".join(allowed),
            )
            out[f.name] = text.astype(object)
        elif f.kind == "timestamp":
            ts = _parse_timestamp(raw)
            unparsed = present & ts.isna().to_numpy()
            _timestamp_problems(problems, f.name, raw, unparsed)
            latest = pd.Timestamp.now(tz="UTC").tz_localize(None) + FUTURE_ALLOWANCE
            outside = present & ~unparsed & ((ts < EARLIEST_TIMESTAMP) | (ts > latest)).to_numpy()
            problems.add(
                outside,
                f.name,
                raw,
                f"timestamp '{{value}}' is out of range: accepted from "
                f"{EARLIEST_TIMESTAMP:%Y-%m-%d} to {latest:%Y-%m-%d} (a year from now)",
            )
            out[f.name] = ts
        elif f.kind == "number":
            num = _parse_number(raw)
            arr = num.to_numpy(dtype=float, na_value=np.nan)
            bad_num = present & ~np.isfinite(arr)
            infinite = bad_num & _non_finite(raw, arr) if bad_num.any() else bad_num
            _number_problems(problems, f.name, raw, bad_num & ~infinite)
            problems.add(
                infinite, f.name, raw, "not a finite number: '{value}' (NaN and infinity are not)"
            )
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
            if f.maximum is not None:
                problems.add(
                    ok & (arr > f.maximum),
                    f.name,
                    raw,
                    f"too large ({{value}}); must be at most {f.maximum:,.0f}, the largest "
                    f"{f.name} ShopGuide accepts",
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
            text = _gender_key(_as_text(raw))
            known = np.asarray(text.isin(list(_GENDERS)).to_numpy(), dtype=bool)
            problems.add(
                present & ~known,
                f.name,
                raw,
                "unknown gender '{value}'; use M, F, O, or leave it empty (or 'unknown', "
                "'prefer not to say') when not known",
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
        typed[C.ATTRIBUTES] = _attributes(frame, spec, problems)
    return typed, ~problems.bad, problems


_MISSING: Final = "missing (this column is required)"
_CONTROL_CHARACTER: Final = r"[\x00-\x1f\x7f-\x9f]"


def _check_types(problems: Problems, f: Field, raw: pd.Series) -> np.ndarray:
    """Reject values whose type the column does not take (the same rule for every format)."""
    found = wrong_types(raw, f.kind)
    if found is None:
        return np.zeros(len(raw), dtype=bool)
    mask, what = found
    for kind_found in sorted({w for w, m in zip(what, mask, strict=True) if m}):
        rows = mask & (np.asarray(what, dtype=object) == kind_found)
        problems.add(rows, f.name, raw, f"must be {ACCEPTS[f.kind]}, not {kind_found}")
    return mask


def _check_ids(problems: Problems, name: str, text: pd.Series, present: np.ndarray) -> None:
    """Ids are at most :data:`MAX_ID_LENGTH` characters, none of them a control character."""
    too_long = present & (text.str.len() > MAX_ID_LENGTH).fillna(False).to_numpy(dtype=bool)
    problems.add(
        too_long,
        name,
        text,
        f"too long: ids have at most {MAX_ID_LENGTH} characters",
    )
    control = text.str.contains(_CONTROL_CHARACTER, regex=True).fillna(False)
    problems.add(
        present & control.to_numpy(dtype=bool),
        name,
        text,
        "holds a control character (such as a tab or a line break); ids must be printable",
    )


def _non_finite(raw: pd.Series, parsed: np.ndarray) -> np.ndarray:
    """Which parsed values were written as NaN or infinity (rather than not being numbers)."""
    if pd.api.types.is_numeric_dtype(raw.dtype):
        return np.ones(len(raw), dtype=bool)
    text = _as_text(raw).str.lower().str.lstrip("+-")
    named = text.isin(["nan", "inf", "infinity"]).fillna(False).to_numpy(dtype=bool)
    return named | np.isinf(parsed)


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


def _attributes(frame: pd.DataFrame, spec: TableSpec, problems: Problems) -> pd.Series:
    """Non-canonical columns of each row as a JSON object (``None`` when there are none).

    Nested values (objects, lists) are kept as JSON; a value with no JSON form (NaN, infinity,
    binary data) rejects its row with the reason rather than being dropped or turned into text.
    """
    extra = [c for c in frame.columns if c not in spec.names and c != C.ATTRIBUTES]
    parts: list[dict[str, object]] = [{} for _ in range(len(frame))]
    bad: dict[tuple[str, str], list[int]] = {}

    def put(i: int, key: str, value: object) -> None:
        try:
            parts[i][key] = json_safe(value)
        except NotJson as exc:
            bad.setdefault((key, str(exc)), []).append(i)

    if C.ATTRIBUTES in frame.columns:
        for i, value in enumerate(frame[C.ATTRIBUTES].tolist()):
            if isinstance(value, Mapping):
                for key, item in value.items():
                    put(i, str(key), item)
            elif isinstance(value, str) and value.strip().startswith("{"):
                try:
                    loaded = json.loads(value, parse_constant=NonFinite)
                except json.JSONDecodeError:
                    parts[i]["attributes"] = value
                else:
                    for key, item in loaded.items():
                        put(i, str(key), item)
            elif not _empty(value):
                put(i, "attributes", value)
    for column in extra:
        for i, value in enumerate(frame[column].tolist()):
            if not _empty(value):
                put(i, str(column), value)
    for (key, reason), rows in bad.items():
        mask = np.zeros(len(frame), dtype=bool)
        mask[rows] = True
        values = frame[key] if key in frame.columns else pd.Series([None] * len(frame))
        problems.add(mask, key, values, f"attribute value has no JSON form: {reason}")
    return pd.Series(
        [json.dumps(p, ensure_ascii=False, allow_nan=False) if p else None for p in parts],
        index=frame.index,
        dtype=object,
    )


def _empty(value: object) -> bool:
    """A missing cell: None, NA, NaT, a float NaN (how frames mark missing values) or ''."""
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, str) and not value):
        return True
    return isinstance(value, float) and math.isnan(value)
