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

from shopguide.data.mapping import ColumnPlan
from shopguide.data.presets import ga4, shopify, woocommerce
from shopguide.data.presets._base import Preset
from shopguide.data.readers import Format
from shopguide.errors import MappingError

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
) -> tuple[list[tuple[str, ColumnPlan]], Format]:
    """The loads a preset makes for ``table``, with the user's own options laid over its plan.

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
    return plans, fmt or preset.fmt


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
        rename=rename,
        constants={k: v for k, v in plan.constants.items() if k not in given} | constants,
        derive={k: v for k, v in plan.derive.items() if k not in given} | derive,
    )
