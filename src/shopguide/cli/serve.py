"""``shopguide serve``: the REST service and the web dashboard."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from shopguide.cli._common import DbOption, db_path, err, handled


def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    model: Annotated[
        str | None,
        typer.Option(
            help="Recommender to serve (its published version); default: the store's "
            "current model, followed when compare or train changes it."
        ),
    ] = None,
    keys_file: Annotated[
        Path | None,
        typer.Option(
            "--keys-file",
            exists=True,
            dir_okay=False,
            help='JSON file of API keys and roles, e.g. {"secret": "admin"} '
            "(also: SHOPGUIDE_API_KEYS as JSON).",
        ),
    ] = None,
    prepare: Annotated[
        bool, typer.Option(help="At start, build the profiles if they are missing.")
    ] = True,
    train_if_missing: Annotated[
        bool,
        typer.Option(
            "--train-if-missing",
            help="At start, train the model (with progress) if none is published; without "
            "it the service serves popularity with a notice until one is.",
        ),
    ] = False,
) -> None:
    """Run the REST service with the dashboard at / (OpenAPI docs at /docs)."""
    from shopguide.recommend.catalogue import check_model_name
    from shopguide.service.settings import load_settings
    from shopguide.store import open_store

    with handled(False):
        overrides: dict[str, object] = {"db": db_path(db), "model": model}
        if keys_file is not None:
            overrides["api_keys_file"] = keys_file
        settings = load_settings(**overrides)
        if model is not None:
            check_model_name(model)
        open_store(settings.db, create=False).close()  # serve a store, never a new one
        if not settings.keys():
            err.print(
                "[yellow]warning:[/] no API keys configured: every route but /health will "
                "answer 401. Set SHOPGUIDE_API_KEYS='"
                + json.dumps({"change-me": "admin"})
                + "' or pass --keys-file."
            )
    err.print(f"serving {settings.db} on http://{host}:{port}/ (docs: /docs)")
    # a fresh process, so the service can configure numba before it loads (see
    # shopguide.service.__main__); the CLI has imported it already
    argv = [sys.executable, "-m", "shopguide.service", "--db", str(settings.db),
            "--host", host, "--port", str(port)]  # fmt: skip
    if model:
        argv += ["--model", model]
    if keys_file is not None:
        argv += ["--keys-file", str(keys_file)]
    if not prepare:
        argv.append("--no-prepare")
    if train_if_missing:
        argv.append("--train-if-missing")
    os.execv(sys.executable, argv)


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to ``app``."""
    app.command()(serve)
