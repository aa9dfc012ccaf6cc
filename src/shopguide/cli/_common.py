"""What every command shares: the ``--db`` and ``--json`` options, output, errors, progress.

Errors reach the user one way. A deliberate error (a :class:`~shopguide.errors.ShopGuideError`,
or a usage error Typer finds while reading the arguments) prints one message and how to fix it
and exits with status 2; with ``--json`` it is the object ``{"error", "hint", "type"}`` on
standard output. Anything else is a bug: :class:`ShopGuideGroup` prints one line saying so and
exits with status 1, and ``shopguide --debug ...`` (or ``SHOPGUIDE_DEBUG=1``) shows its traceback.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import shlex
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import duckdb
import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from typer.core import TyperGroup

from shopguide.config import get_settings
from shopguide.errors import DateError, ShopGuideError, StoreMemoryError

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


def check_time(value: str | None) -> str | None:
    """Option callback: ``value`` must read as a date or time (ISO 8601); kept as given."""
    if value is not None:
        _parse_time(value)
    return value


def check_times(values: list[str] | None) -> list[str] | None:
    """Argument callback: every value must read as a date or time."""
    for value in values or ():
        _parse_time(value)
    return values


def _parse_time(value: str) -> None:
    try:
        readable = not pd.isna(pd.Timestamp(value))
    except (ValueError, TypeError, OverflowError):
        readable = False
    if not readable:
        problem = DateError(value, "date or time")
        raise typer.BadParameter(f"{problem.message}; {problem.hint}")


def one_of(*names: str) -> Callable[[str | None], str | None]:
    """An option callback accepting only ``names`` (suggesting the closest one otherwise)."""

    def check(value: str | None) -> str | None:
        if value is not None and value not in names:
            close = difflib.get_close_matches(value, names, n=1, cutoff=0.5)
            guess = f"did you mean {close[0]!r}? " if close else ""
            raise typer.BadParameter(f"{value!r} is not one of them; {guess}use {', '.join(names)}")
        return value

    return check


def check_folder(value: Path | None) -> Path | None:
    """Option callback: an output folder must not be an existing file."""
    if value is not None and value.exists() and not value.is_dir():
        raise typer.BadParameter(f"{value} is a file, not a folder; give a folder path")
    return value


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


def _cell(value: object) -> str:
    """A table cell as people read it: no float noise, thousands grouped, never e-notation."""
    if _is_missing(value):
        return ""
    if isinstance(value, float):
        size = abs(value)
        if size >= 1000:
            return f"{value:,.0f}"
        if size >= 1 or value == 0:
            return f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.0f}"
        return f"{value:.3f}" if size >= 0.01 else f"{value:.4f}"
    return str(value)


def print_table(frame: pd.DataFrame, title: str | None = None, max_rows: int = 30) -> None:
    """Print a DataFrame as a rich table."""
    table = Table(title=title, show_lines=False)
    for column in frame.columns:
        table.add_column(str(column), overflow="fold")
    for row in frame.head(max_rows).itertuples(index=False):
        table.add_row(*[_cell(v) for v in row])
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
        if _debugging.get():
            err.print(traceback.format_exc(), highlight=False, markup=False)
        fail(error, as_json)


_ARGV = "shopguide.argv"
#: Whether this run has ``--debug`` (or ``SHOPGUIDE_DEBUG``): show tracebacks.
_debugging: ContextVar[bool] = ContextVar("shopguide_debug", default=False)


class ShopGuideGroup(TyperGroup):
    """The root command group: every command runs inside its error boundary.

    Usage errors keep Typer's message (plain text) or become the ``--json`` error object; a
    ShopGuide error that escaped its command's :func:`handled` is reported like one inside it;
    any other exception is a bug, reported in one line with exit status 1 (its traceback with
    ``--debug``).
    """

    # ``ctx`` is Typer's (vendored) click context
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        ctx.meta[_ARGV] = list(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        as_json = "--json" in ctx.meta.get(_ARGV, ())
        debug = bool(ctx.params.get("debug"))
        token = _debugging.set(debug)
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except typer.TyperException as error:  # a usage error found while reading arguments
            if not as_json:
                raise
            where = getattr(error, "ctx", None)
            hint = f"see `{where.command_path} --help`" if where is not None else None
            emit_json({"error": error.format_message(), "hint": hint, "type": "UsageError"})
            raise typer.Exit(2) from None
        except ShopGuideError as error:
            if debug:
                raise
            fail(error, as_json)
        except BrokenPipeError:  # the reader stopped reading (``| head``): not an error
            _silence_stdout()
            raise typer.Exit(0) from None
        except duckdb.OutOfMemoryException as error:  # a limit to raise, not a bug
            if debug:
                raise
            fail(StoreMemoryError(str(error).splitlines()[0]), as_json)
        except Exception as error:
            if debug:
                raise
            _report_bug(error, ctx.meta.get(_ARGV, []), as_json)
        finally:
            _debugging.reset(token)


def _silence_stdout() -> None:
    """Point standard output at the null device, so the interpreter's final flush of what the
    closed pipe did not take cannot fail again."""
    with contextlib.suppress(OSError, ValueError):  # a stream without a file descriptor
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _report_bug(error: Exception, argv: list[str], as_json: bool) -> NoReturn:
    """One line for an exception no ShopGuide code expected, and exit status 1."""
    problem = f"unexpected {type(error).__name__}: {error}".splitlines()[0]
    rerun = "shopguide --debug " + shlex.join(a for a in argv if a != "--debug")
    hint = f"this is a bug; please report it with the output of `{rerun}`"
    if as_json:
        emit_json({"error": problem, "hint": hint, "type": "InternalError"})
    else:
        err.print(f"[bold red]error:[/] {escape(problem)}", highlight=False, soft_wrap=True)
        err.print(escape(hint), highlight=False, soft_wrap=True)
    raise typer.Exit(1)


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
