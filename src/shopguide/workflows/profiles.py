"""User-facing profile actions: build or update profiles, read one, list segments, report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from shopguide import analytics
from shopguide.profiles import (
    build_profiles,
    drop_profile_versions,
    get_profile,
    list_profile_versions,
    population_status,
    profile_card,
    profile_record,
    refresh_population,
    update_profiles,
)
from shopguide.report import REPORT_FILE, Section
from shopguide.store import open_store
from shopguide.workflows.reporting import whole_report


def build(db: str | Path, *, as_of: str | None = None, incremental: bool = False) -> dict[str, Any]:
    """Build a profile version (or update the latest one for the users whose data changed)."""
    with open_store(db, create=False) as store:
        result = (
            update_profiles(store, as_of=as_of) if incremental else build_profiles(store, as_of)
        )
        return {
            "as_of": pd.Timestamp(result.as_of).isoformat(),
            "mode": result.mode,
            "users": result.users,
            "recomputed_users": result.recomputed_users,
            "seconds": round(result.seconds, 2),
        }


def refresh(db: str | Path) -> dict[str, Any]:
    """Measure the live profile version's population statistics again (see
    :func:`shopguide.profiles.refresh_population`)."""
    with open_store(db, create=False) as store:
        result = refresh_population(store)
        if result is None:
            return {"refreshed": False, "reason": "no live profile version (snapshots are "
                    "measured when they are built)"}  # fmt: skip
        status = population_status(store, result.as_of)
        return {
            "refreshed": True,
            "as_of": pd.Timestamp(result.as_of).isoformat(),
            "population_as_of": pd.Timestamp(result.population_as_of).isoformat(),
            "previous_as_of": None
            if result.previous_as_of is None
            else pd.Timestamp(result.previous_as_of).isoformat(),
            "users": result.users,
            "seconds": round(result.seconds, 2),
            "computed_at": None if status is None else status.as_dict()["computed_at"],
        }


def versions(db: str | Path) -> pd.DataFrame:
    """The stored profile versions, newest first (as_of, users, kind, built_at, builds)."""
    with open_store(db, create=False) as store:
        return list_profile_versions(store)


def drop_versions(
    db: str | Path, as_of: list[str], *, keep_latest: int | None = None
) -> dict[str, Any]:
    """Delete the given profile versions (or all but the ``keep_latest`` newest)."""
    with open_store(db, create=False) as store:
        dropped = drop_profile_versions(store, as_of, keep_latest=keep_latest)
        left = list_profile_versions(store)
    return {
        "dropped": [pd.Timestamp(v).isoformat() for v in dropped],
        "kept": [pd.Timestamp(v).isoformat() for v in left["as_of"]],
    }


def profile(
    db: str | Path, user_id: str, *, as_of: str | None = None
) -> tuple[dict[str, Any], str]:
    """One user's profile as a JSON-ready record and as a readable card."""
    with open_store(db, create=False) as store:
        record = profile_record(store, user_id, as_of)
        return record, profile_card(get_profile(store, user_id, as_of))


def segments(db: str | Path, *, as_of: str | None = None) -> pd.DataFrame:
    """RFM segments with their sizes and revenue shares."""
    with open_store(db, create=False) as store:
        return analytics.segment_summary(store, as_of)


def report(
    db: str | Path,
    out_dir: str | Path,
    *,
    as_of: str | None = None,
    extra: tuple[Section, ...] = (),
) -> Path:
    """Write the self-contained HTML report: every section whose inputs the store holds (see
    :mod:`shopguide.workflows.reporting`). ``out_dir`` is a folder for ``report.html``, or
    the report's own file name when it ends in ``.html``/``.htm``."""
    target = Path(out_dir)
    named = target.suffix.lower() in (".html", ".htm")
    folder, filename = (target.parent, target.name) if named else (target, REPORT_FILE)
    with open_store(db, create=False) as store:
        return whole_report(store, folder, as_of=as_of, extra=extra, filename=filename)
