"""What every command shares: the ``--db`` and ``--json`` options, output, errors, progress."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from shopguide.config import get_settings
from shopguide.errors import ShopGuideError

out = Console()
err = Console(stderr=True)

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="Store file (default: $SHOPGUIDE_DB, else ./shopguide.duckdb).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def db_path(db: Path | None) -> Path:
    """The store path: ``--db``, else ``SHOPGUIDE_DB``, else ``./shopguide.duckdb``."""
    return db if db is not None else get_settings().db


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if value is pd.NaT or value is pd.NA:
        return None
    return str(value)


def emit_json(payload: Any) -> None:
    """Print ``payload`` as JSON on standard output."""
    sys.stdout.write(json.dumps(payload, default=_default, indent=2, ensure_ascii=False) + "\n")


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A DataFrame as JSON-ready records (missing values as null)."""
    return [
        {k: (None if _is_missing(v) else v) for k, v in row.items()}
        for row in frame.astype(object).to_dict("records")
    ]


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def print_table(frame: pd.DataFrame, title: str | None = None, max_rows: int = 30) -> None:
    """Print a DataFrame as a rich table."""
    table = Table(title=title, show_lines=False)
    for column in frame.columns:
        table.add_column(str(column), overflow="fold")
    for row in frame.head(max_rows).itertuples(index=False):
        table.add_row(*["" if _is_missing(v) else str(v) for v in row])
    out.print(table)
    if len(frame) > max_rows:
        out.print(f"… {len(frame) - max_rows} more rows (use --json or --limit)")


def fail(error: ShopGuideError, as_json: bool) -> NoReturn:
    """Report a ShopGuide error and exit with status 2."""
    if as_json:
        emit_json({"error": error.message, "hint": error.hint, "type": type(error).__name__})
    else:
        err.print(f"[bold red]error:[/] {escape(error.message)}", highlight=False, soft_wrap=True)
        if error.hint:
            err.print(
                f"[yellow]how to fix:[/] {escape(error.hint)}", highlight=False, soft_wrap=True
            )
    raise typer.Exit(2)


@contextmanager
def handled(as_json: bool) -> Iterator[None]:
    """Turn ShopGuide errors into a clear message and exit status 2."""
    try:
        yield
    except ShopGuideError as error:
        fail(error, as_json)


@contextmanager
def progress_bar(description: str, *, enabled: bool = True) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on standard error; yields a ``(done, total)`` callback."""
    if not enabled or not err.is_terminal:
        yield lambda done, total: None
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
