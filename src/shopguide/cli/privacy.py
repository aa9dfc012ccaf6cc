"""``shopguide erase`` and ``shopguide export-user``: a shopper's right to be forgotten and to
get their data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from shopguide.cli._common import DbOption, JsonOption, db_path, emit_json, handled, out


def register(app: typer.Typer) -> None:
    """Add the ``erase`` and ``export-user`` commands to ``app``."""

    @app.command()
    def erase(
        user_id: Annotated[str, typer.Argument(help="The user's external id.")],
        yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
        db: DbOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Delete everything about a user and reject their future events ("user erased").

        Events, user row, profiles and audiences go; published models still hold the user until
        the next training.
        """
        from shopguide.store import open_store
        from shopguide.workflows.serving import erase_user

        if not yes and not as_json:
            typer.confirm(f"erase every record of user {user_id!r}?", abort=True)
        with handled(as_json), open_store(db_path(db)) as store:
            result = erase_user(store, user_id)
        if as_json:
            emit_json(result)
            return
        total = sum(result["deleted"].values())
        out.print(f"erased user {user_id!r}: {total:,} rows deleted; later events will be rejected")
        for table, n in result["deleted"].items():
            if n:
                out.print(f"  {table:<24}{n:>10,}")

    @app.command("export-user")
    def export_user(
        user_id: Annotated[str, typer.Argument(help="The user's external id.")],
        output: Annotated[
            Path | None, typer.Option("--out", help="Write the JSON here instead of stdout.")
        ] = None,
        db: DbOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Everything the store holds about a user, as JSON (download-my-data)."""
        from shopguide.store import open_store
        from shopguide.workflows.serving import export_user as _export

        with handled(as_json), open_store(db_path(db)) as store:
            data = _export(store, user_id)
        if output is None:
            emit_json(data)
            return
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str))
        if as_json:
            emit_json({"user_id": user_id, "path": str(output)})
        else:
            out.print(f"wrote {output}")
