"""What a preset is: a named export layout with one column plan per table it fills."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shopguide.data.mapping import ColumnPlan
from shopguide.data.readers import Format

#: How messages name the formats.
FORMAT_NAMES: Mapping[Format, str] = {"csv": "CSV", "parquet": "Parquet", "jsonl": "JSON Lines"}


@dataclass(frozen=True)
class Preset:
    """One export layout: its plans per table (events first) and the columns it reads."""

    name: str
    title: str
    #: the file formats the export comes in; the first is read when the name says none
    formats: tuple[Format, ...]
    #: the export's columns the preset reads, as documented in docs/howto/own-data.md
    reads: tuple[str, ...]
    tables: Mapping[str, ColumnPlan]


def blank(value: object) -> bool:
    """Whether a raw value is missing: None, NaN or only spaces."""
    if value is None or (isinstance(value, float) and value != value):
        return True
    return str(value).strip() == ""
