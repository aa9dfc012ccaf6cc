"""Named column plans for the exports shops already have.

Each preset reads one documented export layout and says which of its columns it reads
(``shopguide ingest events FILE --preset NAME``). Loading events with a preset also loads the
users and items the same file describes. The plans are ordinary :class:`ColumnPlan` objects:
renames, constants and DuckDB SQL expressions, plus a small Python step where the layout
needs one (order-level fields left blank on later line items, nested GA4 item arrays).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from shopguide.data.mapping import ColumnPlan
from shopguide.data.presets import ga4, shopify, woocommerce
from shopguide.data.presets._base import FORMAT_NAMES, Preset
from shopguide.data.readers import Format, detect_format
from shopguide.errors import FileReadError, MappingError

__all__ = ["Preset", "get_preset", "preset_names", "preset_plans"]


def _registry() -> dict[str, Preset]:
    return {p.name: p for p in (shopify.PRESET, woocommerce.PRESET, ga4.PRESET)}


def preset_names() -> list[str]:
    """The names ``--preset`` accepts."""
    return list(_registry())


def get_preset(name: str) -> Preset:
    """The preset called ``name``; a :class:`MappingError` naming the known ones otherwise."""
    presets = _registry()
    if name not in presets:
        raise MappingError(f"unknown preset {name!r}", hint=f"use one of: {', '.join(presets)}")
    return presets[name]


def preset_plans(
    name: str,
    table: str,
    mapping: Mapping[str, str] | None,
    constants: Mapping[str, str] | None,
    derive: Mapping[str, str] | None,
    fmt: Format | None,
    path: Path,
) -> tuple[list[tuple[str, ColumnPlan]], Format]:
    """The loads a preset makes for ``table``, with the user's own options laid over its plan,
    and the format to read ``path`` in (see :func:`preset_format`).

    For ``events`` that is the events and then every other table the preset fills; for
    ``users`` or ``items`` just that table.
    """
    preset = get_preset(name)
    if table not in preset.tables:
        raise MappingError(
            f"preset {name} does not describe {table}",
            hint=f"load {', '.join(preset.tables)} with it",
        )
    own = _overlay(preset.tables[table], mapping, constants, derive)
    plans = [(table, own)]
    if table == "events":  # the events load reports the skipped rows; the others stay quiet
        plans += [
            (t, replace(plan, report_skipped=False))
            for t, plan in preset.tables.items()
            if t != "events"
        ]
    return plans, preset_format(preset, path, fmt)


def preset_format(preset: Preset, path: Path, fmt: Format | None) -> Format:
    """The format a preset reads ``path`` in: ``fmt`` when given (``--format``), else the one
    the file's name says when the export comes in it, else the export's usual format.

    A name that says a format the export never comes in (a ``.parquet`` file with the Shopify
    preset) is refused before anything is read, with the formats the preset reads.
    """
    if fmt is not None:
        return fmt
    try:
        named = detect_format(path)
    except FileReadError:  # a name without a known extension: the export's usual format
        return preset.formats[0]
    if named in preset.formats:
        return named
    reads = " or ".join(FORMAT_NAMES[f] for f in preset.formats)
    raise FileReadError(
        str(path),
        f"preset {preset.name} reads {reads} files, and the file's name says {FORMAT_NAMES[named]}",
        hint=f"export the data as {reads}, or pass --format "
        f"{'|'.join(preset.formats)} if the name misleads",
    )


def _overlay(
    plan: ColumnPlan,
    mapping: Mapping[str, str] | None,
    constants: Mapping[str, str] | None,
    derive: Mapping[str, str] | None,
) -> ColumnPlan:
    """The preset's plan with ``--map``/``--set``/``--derive`` added; the user's win."""
    mapping, constants, derive = dict(mapping or {}), dict(constants or {}), dict(derive or {})
    given = set(mapping.values()) | set(constants) | set(derive)
    rename = {s: t for s, t in plan.rename.items() if t not in given} | mapping
    return replace(
        plan,
        # the user's own --map/--derive may read any column of the file
        reads_only=plan.reads_only if not (mapping or derive) else (),
        rename=rename,
        constants={k: v for k, v in plan.constants.items() if k not in given} | constants,
        derive={k: v for k, v in plan.derive.items() if k not in given} | derive,
    )
