"""The ``shopguide`` command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shopguide import __version__
from shopguide.cli import campaign, engine, models, privacy, profiles, retention, serve
from shopguide.cli._common import (
    DbOption,
    JsonOption,
    ShopGuideGroup,
    check_folder,
    db_path,
    emit_json,
    err,
    frame_records,
    handled,
    out,
    print_table,
    progress_bar,
)
from shopguide.data.ingest import parse_mapping
from shopguide.data.mapping import parse_assignments
from shopguide.workflows import demo as demo_workflow
from shopguide.workflows import ingest as ingest_workflow

app = typer.Typer(
    name="shopguide",
    cls=ShopGuideGroup,
    help="ShopGuide: shopper profiles, recommendations, campaigns and retention for e-commerce.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        out.print(f"shopguide {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar="SHOPGUIDE_DEBUG",
            help="Show the Python traceback of an error (for bug reports).",
        ),
    ] = False,
) -> None:
    """ShopGuide command line."""


@app.command()
def init(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Create the store (or migrate it to this version's schema)."""
    with handled(as_json):
        result = ingest_workflow.init_store(db_path(db))
    if as_json:
        emit_json(result)
    else:
        out.print(f"store ready: {result['db']} (schema version {result['schema_version']})")


TableArg = Annotated[str, typer.Argument(help="What the file holds: users, items or events.")]


@app.command()
def ingest(
    table: TableArg,
    file: Annotated[Path, typer.Argument(help="CSV, TSV, Parquet or JSON Lines file (.gz too).")],
    mapping: Annotated[
        list[str] | None,
        typer.Option("--map", help="Map a file column to a canonical one: FILE_COLUMN=canonical."),
    ] = None,
    constants: Annotated[
        list[str] | None,
        typer.Option("--set", help="Give every row a value: canonical=VALUE (repeatable)."),
    ] = None,
    derive: Annotated[
        list[str] | None,
        typer.Option(
            "--derive",
            help="Compute a column with a DuckDB SQL expression over the file's columns: "
            "canonical=EXPRESSION (repeatable).",
        ),
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option(
            help="Read a known export: shopify-orders, woocommerce-orders or ga4 "
            "(events also fill users and items)."
        ),
    ] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv, parquet or jsonl (default: from the name).")
    ] = None,
    delimiter: Annotated[
        str | None, typer.Option(help="CSV field delimiter (default: from the header: , ; tab |).")
    ] = None,
    encoding: Annotated[str, typer.Option(help="Text encoding of CSV files.")] = "utf-8",
    chunk_rows: Annotated[
        int, typer.Option(min=1, help="Rows per chunk (memory against speed).")
    ] = 250_000,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Load users, items or events from a file; bad rows go to the quarantine.

    Loading the same file again adds nothing.
    """
    with handled(as_json):
        if fmt is not None and fmt not in ("csv", "parquet", "jsonl"):
            raise typer.BadParameter("use csv, parquet or jsonl", param_hint="--format")
        with progress_bar(f"loading {file.name}", enabled=not as_json) as progress:
            report = ingest_workflow.ingest(
                db_path(db), table, file, mapping=parse_mapping(mapping or []),
                fmt=fmt, delimiter=delimiter, encoding=encoding,  # type: ignore[arg-type]
                chunk_rows=chunk_rows, progress=progress,
                set=parse_assignments(constants or [], "--set"),
                derive=parse_assignments(derive or [], "--derive"), preset=preset,
            )  # fmt: skip
    if as_json:
        emit_json(report.to_dict())
        return
    for one in (report, *report.companions):
        _print_load(one)


def _print_load(report: ingest_workflow.LoadReport) -> None:
    out.print(
        f"[bold]{report.table}[/] from {report.source}: read {report.rows_read:,}, "
        f"[green]accepted {report.accepted:,}[/] ({report.updated:,} updates), "
        f"[red]rejected {report.rejected:,}[/], duplicates {report.duplicates:,} "
        f"in {report.seconds:.1f} s ({report.rows_per_second:,.0f} rows/s); load {report.load_id}"
    )
    for reason, count in report.top_reasons.items():
        out.print(f"  {count:>8,} × {reason}", highlight=False)
    if report.rejected:
        out.print(f"see them with: shopguide quarantine --load {report.load_id}")
    if report.ignored_columns:
        out.print(f"ignored columns: {', '.join(report.ignored_columns)}")


@app.command()
def quarantine(
    load: Annotated[int | None, typer.Option("--load", help="Only rows of this load id.")] = None,
    table: Annotated[str | None, typer.Option(help="Only rows of users, items or events.")] = None,
    limit: Annotated[int, typer.Option(min=0, help="Rows to show (0: all).")] = 20,
    export: Annotated[
        Path | None, typer.Option(help="Write all matching rows to this CSV or Parquet file.")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """List or export rejected rows with their file, line, column and reason."""
    with handled(as_json):
        if export is not None:
            n = ingest_workflow.export_quarantine(db_path(db), export, load_id=load, table=table)
            if as_json:
                emit_json({"exported": n, "path": str(export)})
            else:
                out.print(f"wrote {n:,} rejected rows to {export}")
            return
        rows = ingest_workflow.quarantine(
            db_path(db), load_id=load, table=table, limit=limit or None
        )
    if as_json:
        emit_json(frame_records(rows))
    elif rows.empty:
        out.print("the quarantine is empty")
    else:
        print_table(
            rows.drop(columns=["raw"]), title="quarantined rows", max_rows=limit or len(rows)
        )


@app.command()
def stats(db: DbOption = None, as_json: JsonOption = False) -> None:
    """What the store holds: row counts, event span and types, recent loads."""
    with handled(as_json):
        result = ingest_workflow.stats(db_path(db))
    if as_json:
        emit_json(result)
        return
    out.print(f"[bold]{result['db']}[/] (schema {result['schema_version']})")
    for name, n in result["rows"].items():
        out.print(f"  {name:<12}{n:>12,}")
    out.print(f"  events from {result['first_event']} to {result['last_event']}")
    for kind, n in result["events_by_type"].items():
        out.print(f"    {kind:<10}{n:>12,}")


@app.command()
def demo(
    out_dir: Annotated[
        Path, typer.Option("--out", callback=check_folder, help="Folder for the store and reports.")
    ] = Path("demo-output"),
    as_json: JsonOption = False,
) -> None:
    """The main job: load the bundled Online Retail data into a fresh store and run everything."""
    with handled(as_json), progress_bar("demo", enabled=not as_json) as progress:

        def on_step(name: str) -> None:
            if not as_json:
                err.print(f"[dim]step:[/] {name}")

        summary = demo_workflow.run_demo(out_dir, progress=progress, on_step=on_step)
    if as_json:
        emit_json(summary)
        return
    for line in demo_workflow.summary_lines(summary):
        out.print(line, highlight=False, markup=False)
    out.print(f"\n[bold green]done.[/] everything is in {summary['out_dir']}")
    for path in summary["files"]:
        out.print(f"  {path}")


for module in (profiles, models, retention, campaign, engine, serve, privacy):
    module.register(app)


def main() -> None:
    """Entry point of the ``shopguide`` script."""
    app()
