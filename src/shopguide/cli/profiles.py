"""Profile commands: ``profiles build``, ``profile USER_ID``, ``segments``, ``report``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shopguide.cli._common import (
    DbOption,
    JsonOption,
    check_folder,
    check_time,
    check_times,
    db_path,
    emit_json,
    frame_records,
    handled,
    out,
    print_table,
    progress_bar,
)
from shopguide.workflows import profiles as workflow

AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        callback=check_time,
        help="Use only events up to this time (ISO 8601; default: latest).",
    ),
]

profiles_app = typer.Typer(help="Build user profiles (basic, behaviour, preferences, RFM).")


@profiles_app.command("build")
def build(
    as_of: AsOfOption = None,
    incremental: Annotated[
        bool, typer.Option(help="Recompute only users whose data changed since the last build.")
    ] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Build a profile version as of a time (or update the latest one incrementally)."""
    with handled(as_json):
        result = workflow.build(db_path(db), as_of=as_of, incremental=incremental)
    if as_json:
        emit_json(result)
    else:
        out.print(
            f"profiles as of {result['as_of']}: {result['users']:,} users "
            f"({result['mode']}, {result['recomputed_users']:,} recomputed) "
            f"in {result['seconds']} s"
        )


@profiles_app.command("refresh")
def refresh(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Measure the population again for the live version (what the service's event
    ingestion keeps): affinity, price index and RFM fields of every user against it."""
    with handled(as_json), progress_bar("refreshing the population statistics") as tick:
        tick(0, 1)
        result = workflow.refresh(db_path(db))
        tick(1, 1)
    if as_json:
        emit_json(result)
    elif not result["refreshed"]:
        out.print(f"nothing to refresh: {result['reason']}")
    else:
        out.print(
            f"live profiles as of {result['as_of']}: {result['users']:,} users measured "
            f"against the population as of {result['population_as_of']} "
            f"in {result['seconds']} s"
        )


@profiles_app.command("versions")
def versions(db: DbOption = None, as_json: JsonOption = False) -> None:
    """The stored profile versions: as of, users, kind (snapshot, live, imported), builds,
    events through and population statistics as of."""
    with handled(as_json):
        table = workflow.versions(db_path(db))
    if as_json:
        emit_json(frame_records(table))
    else:
        print_table(table, title="Profile versions (newest first)")


@profiles_app.command("drop")
def drop(
    as_of: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="AS_OF",
            callback=check_times,
            help="The as-of times of the versions to delete (ISO 8601).",
            show_default=False,
        ),
    ] = None,
    keep_latest: Annotated[
        int | None,
        typer.Option(
            "--keep-latest", min=0, help="Instead: keep the N newest versions, delete the rest."
        ),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete profile versions (rebuild one any time with `profiles build --as-of`)."""
    if bool(as_of) == (keep_latest is not None):
        raise typer.BadParameter(
            "give the versions to drop (AS_OF ...) or --keep-latest N, not both or neither"
        )
    with handled(as_json):
        result = workflow.drop_versions(db_path(db), as_of or [], keep_latest=keep_latest)
    if as_json:
        emit_json(result)
    else:
        out.print(
            f"dropped {len(result['dropped'])} profile version(s); {len(result['kept'])} left"
        )


def profile(
    user_id: Annotated[str, typer.Argument(help="The user's id.")],
    as_of: AsOfOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """One user's profile: a readable card, or the full record with --json."""
    with handled(as_json):
        record, card = workflow.profile(db_path(db), user_id, as_of=as_of)
    if as_json:
        emit_json(record)
    else:
        out.print(card, highlight=False, markup=False)


def segments(as_of: AsOfOption = None, db: DbOption = None, as_json: JsonOption = False) -> None:
    """RFM segments: buyers, revenue and their shares."""
    with handled(as_json):
        table = workflow.segments(db_path(db), as_of=as_of)
    if as_json:
        emit_json(frame_records(table))
    else:
        print_table(table.round(3), title="RFM segments")


def report(
    out_dir: Annotated[
        Path,
        typer.Option(
            "--out",
            callback=check_report_target,
            help="Folder for report.html, or the report's file name if it ends in .html.",
        ),
    ] = Path("report"),
    as_of: AsOfOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write one self-contained HTML report: analytics and every model section stored."""
    with handled(as_json):
        path = workflow.report(db_path(db), out_dir, as_of=as_of)
    if as_json:
        emit_json({"report": str(path)})
    else:
        out.print(f"wrote {path}")


def check_report_target(value: Path) -> Path:
    """Option callback: a file name ending in .html is the report itself, anything else is a
    folder (which must not be an existing file)."""
    if value.suffix.lower() in (".html", ".htm"):
        if value.is_dir():
            raise typer.BadParameter(f"{value} is a folder; give a file name or another folder")
        return value
    return check_folder(value) or value


def register(app: typer.Typer) -> None:
    """Add the profile commands to ``app``."""
    app.add_typer(profiles_app, name="profiles")
    app.command("profile")(profile)
    app.command("segments")(segments)
    app.command("report")(report)
