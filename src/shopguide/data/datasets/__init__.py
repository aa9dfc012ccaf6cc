"""Bundled real data sets (adapters to canonical frames) and the synthetic generator."""

from __future__ import annotations

from pathlib import Path

BUNDLED = Path(__file__).resolve().parent.parent / "bundled"


def bundled_file(*parts: str) -> Path:
    """Path of a file shipped with the package under ``shopguide/data/bundled``."""
    return BUNDLED.joinpath(*parts)
