"""``shopguide erase``, ``compact`` and ``export-user``: a shopper's right to be forgotten and
to get their data."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from shopguide.cli._common import DbOption, JsonOption, db_path, emit_json, handled, out


def erase(
    user_id: Annotated[str, typer.Argument(help="The user's external id (exact).")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    compact_store: Annotated[
        bool,
        typer.Option(
            "--compact/--no-compact",
            help="Rewrite the store file afterwards so the deleted values leave no bytes "
            "behind (needs the store to itself).",
        ),
    ] = True,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete everything about a user and reject their future events ("user erased").

    Deletes the rows whose user_id is exactly USER_ID from every table that has one
    (events, users, profiles, predictions, audiences, campaign contacts, quarantine),
    replaces the id in every saved model version's user map by a tombstone, and then
    compacts the store file: DuckDB keeps deleted values in freed pages until the file
    is rewritten. Quarantined rows the reader could not parse carry no user and are
    counted, not deleted (see docs/howto/privacy.md). Copies outside the store folder
    (exported files, backups) are not touched.
    """
    from shopguide.store import open_store
    from shopguide.workflows.privacy import check_user_id, erase_user
    from shopguide.workflows.privacy import compact as rewrite_file

    with handled(as_json):
        check_user_id(user_id)
    if not yes and not as_json:
        typer.confirm(f"erase every record of user {user_id!r}?", abort=True)
    path = db_path(db)
    with handled(as_json):
        with open_store(path, create=False) as store:
            result = erase_user(store, user_id)
        if compact_store:
            result["compacted"] = rewrite_file(path)
    if as_json:
        emit_json(result)
        return
    total = sum(result["deleted"].values())
    out.print(f"erased user {user_id!r}: {total:,} rows deleted; later events will be rejected")
    for table, n in result["deleted"].items():
        if n:
            out.print(f"  {table:<24}{n:>10,}")
    for name in result["models_scrubbed"]:
        out.print(f"  id replaced in model file {name}")
    if result["quarantine_without_user"]:
        out.print(
            f"  {result['quarantine_without_user']:,} quarantined rows name no user (anonymous "
            "or unreadable rows) and were kept: see docs/howto/privacy.md"
        )
    if compact_store:
        out.print(f"  store file rewritten ({result['compacted']['bytes_after']:,} bytes)")
    else:
        out.print("  the store file still holds the deleted values: run shopguide compact")


def compact(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Rewrite the store file with only its live data.

    Deleted rows (an erased user's among them) stay readable in a DuckDB file's freed pages
    until it is rewritten. Run this after erasing users through the service, once the
    service is stopped: the store must not be open elsewhere.
    """
    from shopguide.workflows.privacy import compact as _compact

    path = db_path(db)
    with handled(as_json):
        sizes = _compact(path)
    if as_json:
        emit_json({"db": str(path), **sizes})
    else:
        out.print(f"compacted {path}: {sizes['bytes_before']:,} -> {sizes['bytes_after']:,} bytes")


def export_user(
    user_id: Annotated[str, typer.Argument(help="The user's external id.")],
    output: Annotated[
        Path | None, typer.Option("--out", help="Write the JSON here instead of stdout.")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Everything the store holds about a user, as JSON (download-my-data).

    Written a batch of rows at a time, so a user with millions of events needs no more memory
    than one with ten; with --out the file appears only once it is complete.
    """
    from shopguide.store import open_store
    from shopguide.workflows.privacy import write_user_export

    with handled(as_json), open_store(db_path(db), create=False) as store:
        if output is None:
            write_user_export(store, user_id, sys.stdout)
            return
        output.parent.mkdir(parents=True, exist_ok=True)
        partial_file = output.with_name(output.name + ".part")
        try:
            with open(partial_file, "w", encoding="utf-8") as sink:
                counts = write_user_export(store, user_id, sink)
            os.replace(partial_file, output)
        finally:
            partial_file.unlink(missing_ok=True)
    if as_json:
        emit_json({"user_id": user_id, "path": str(output), "rows": counts})
    else:
        out.print(f"wrote {output} ({sum(counts.values()):,} rows)")


def register(app: typer.Typer) -> None:
    """Add the ``erase``, ``compact`` and ``export-user`` commands to ``app``."""
    app.command()(erase)
    app.command()(compact)
    app.command("export-user")(export_user)
