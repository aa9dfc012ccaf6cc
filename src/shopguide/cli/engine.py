"""``shopguide spark ...`` and ``shopguide engine ...``: the heavy steps on a chosen engine.

``shopguide spark STEP --events DIR --out DIR [--master URL]`` runs one step on Spark from
Parquet to Parquet (no store; what a cluster job runs). ``shopguide spark export`` writes a
store's tables as that Parquet. ``shopguide engine STEP --engine local|spark`` runs a step
on a store with either engine (``SHOPGUIDE_ENGINE`` / ``SHOPGUIDE_SPARK_MASTER`` set the
defaults). Registered on the main app by :func:`register`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from shopguide.cli._common import (
    DbOption,
    JsonOption,
    check_folder,
    check_time,
    db_path,
    emit_json,
    frame_records,
    handled,
    one_of,
    out,
    print_table,
)

if TYPE_CHECKING:
    from shopguide.engine.spark.job import SparkStep

MasterOption = Annotated[
    str | None,
    typer.Option(
        "--master",
        help="Spark master URL: local[N], spark://host:7077, yarn, k8s://... "
        "(default: $SHOPGUIDE_SPARK_MASTER, else local[2]).",
        show_default=False,
    ),
]
EngineOption = Annotated[
    str | None,
    typer.Option(
        "--engine",
        help="local (DuckDB + scipy) or spark (default: $SHOPGUIDE_ENGINE, else local).",
        show_default=False,
    ),
]
EventsOption = Annotated[
    Path,
    typer.Option(
        "--events",
        exists=True,
        help="Engine data folder: events/ (Parquet, may be partitioned by event_date) and "
        "optional users/, items/ (or events.parquet, users.parquet, items.parquet).",
    ),
]
OutOption = Annotated[
    Path, typer.Option("--out", callback=check_folder, help="Output folder (Parquet results).")
]
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        callback=check_time,
        help="Use events up to this time (default: the latest event).",
    ),
]
KOption = Annotated[int, typer.Option("--k", min=1, help="Neighbours per item.")]
NOption = Annotated[int, typer.Option("--n", min=1, help="Recommendations per user.")]
ListsFileOption = Annotated[
    Path | None, typer.Option("--out", help="Write all rows here (.parquet or .csv).")
]


def _run_job(
    step: SparkStep,
    events: Path,
    out_dir: Path,
    master: str | None,
    as_json: bool,
    *,
    knn: dict[str, Any] | None = None,
    als: dict[str, Any] | None = None,
    **job: Any,
) -> None:
    """Run one :class:`~shopguide.engine.spark.job.SparkJob` and print its summary."""
    from shopguide.workflows.engine import AlsOptions, KnnOptions, SparkJob, spark_job

    with handled(as_json):
        spec = SparkJob(
            step, events, out_dir, knn=KnnOptions(**(knn or {})), als=AlsOptions(**(als or {})),
            **job,
        )  # fmt: skip
        summary = spark_job(spec, master=master)
    if as_json:
        emit_json(summary)
    else:
        out.print(
            f"{step}: wrote {summary['out']} in {summary['seconds']} s on {summary['master']}"
        )


def _store_lists(
    step: str,
    db: Path | None,
    out_file: Path | None,
    as_json: bool,
    title: str,
    engine: Any,
    **params: Any,
) -> None:
    """Run the top-N step ``step`` (``"item_knn"`` or ``"user_knn"``) of the engine ``engine``
    (chosen by :func:`_engine`) on the store read-only, then :func:`_emit_lists` its rows."""
    from shopguide.store import open_store

    with handled(as_json):
        chosen = engine()
        store = open_store(db_path(db), read_only=True)
        try:
            frame = getattr(chosen, step)(store, **params)
        finally:
            store.close()
    _emit_lists(frame, out_file, as_json, title=title)


def _emit_lists(frame: Any, out_file: Path | None, as_json: bool, *, title: str) -> None:
    """Write top-N lists to ``out_file`` (``.csv``, else Parquet) if given, then print a
    summary (``--json``) or the first rows."""
    if out_file is not None:
        if out_file.suffix == ".csv":
            frame.to_csv(out_file, index=False)
        else:
            frame.to_parquet(out_file, index=False)
    if as_json:
        emit_json({"rows": len(frame), "users": int(frame["user_id"].nunique()), "out": out_file})
    else:
        print_table(frame, title=title, max_rows=20)


spark_app = typer.Typer(help="Run heavy steps on Apache Spark, Parquet in and out.")
engine_app = typer.Typer(help="Run heavy steps on a store with a chosen engine.")


@spark_app.command("export")
def spark_export(
    db: DbOption = None, out_dir: OutOption = Path("engine-data"), as_json: JsonOption = False
) -> None:
    """Export the store's events (partitioned by day), users and items to Parquet."""
    from shopguide.engine import export_store
    from shopguide.store import open_store

    with handled(as_json):
        store = open_store(db_path(db), read_only=True)
        try:
            layout = export_store(store, out_dir)
        finally:
            store.close()
    summary = {"directory": layout.directory, "events": layout.events}
    emit_json(summary) if as_json else out.print(f"exported to {layout.directory}")


@spark_app.command("profiles")
def spark_profiles(
    events: EventsOption,
    out_dir: OutOption,
    master: MasterOption = None,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
) -> None:
    """Profiles (the store's profiles columns) as Parquet in OUT/profiles."""
    _run_job("profiles", events, out_dir, master, as_json, as_of=as_of)


@spark_app.command("rfm")
def spark_rfm(
    events: EventsOption,
    out_dir: OutOption,
    master: MasterOption = None,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
) -> None:
    """RFM scores and segments as Parquet in OUT/rfm."""
    _run_job("rfm", events, out_dir, master, as_json, as_of=as_of)


@spark_app.command("item-knn")
def spark_item_knn(
    events: EventsOption,
    out_dir: OutOption,
    master: MasterOption = None,
    k: KOption = 50,
    n: NOption = 10,
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            callback=one_of("exact", "dimsum", "broadcast"),
            help="exact (DataFrame joins), dimsum (sampled) or broadcast (the local kernels "
            "in Spark tasks; fastest while the interaction matrix fits in memory).",
        ),
    ] = "exact",
    threshold: Annotated[
        float,
        typer.Option("--threshold", min=0.0, max=1.0, help="DIMSUM similarity threshold."),
    ] = 0.1,
    user_blocks: Annotated[
        int, typer.Option("--user-blocks", min=1, help="Score users in this many hash blocks.")
    ] = 1,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
) -> None:
    """Item neighbours and top-N for all users in OUT/item-knn/."""
    _run_job(
        "item-knn",
        events,
        out_dir,
        master,
        as_json,
        knn={"k": k, "mode": mode, "threshold": threshold, "user_blocks": user_blocks},
        n=n,
        as_of=as_of,
    )


@spark_app.command("user-knn")
def spark_user_knn(
    events: EventsOption,
    out_dir: OutOption,
    master: MasterOption = None,
    k: Annotated[int, typer.Option("--k", min=1, help="Neighbours per user.")] = 50,
    n: NOption = 10,
    user_blocks: Annotated[
        int,
        typer.Option(
            "--user-blocks",
            min=1,
            help="Compute similarities and scores in this many hash blocks of users "
            "(bounds the shuffle; the lists do not depend on it).",
        ),
    ] = 1,
    max_item_users: Annotated[
        int | None,
        typer.Option(
            "--max-item-users",
            min=1,
            help="Leave items bought by more users than this out of the similarity "
            "(prunes the largest co-occurrence blocks; off by default).",
            show_default=False,
        ),
    ] = None,
    min_co_items: Annotated[
        int,
        typer.Option("--min-co-items", min=1, help="Drop user pairs sharing fewer items."),
    ] = 1,
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            callback=one_of("exact", "broadcast"),
            help="exact (blockwise DataFrame joins) or broadcast (the local kernels in "
            "Spark tasks; fastest while the interaction matrix fits in memory).",
        ),
    ] = "exact",
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
) -> None:
    """User neighbours and top-N for all users in OUT/user-knn/."""
    _run_job(
        "user-knn",
        events,
        out_dir,
        master,
        as_json,
        knn={
            "k": k,
            "mode": mode,
            "user_blocks": user_blocks,
            "max_item_users": max_item_users,
            "min_co_items": min_co_items,
        },
        n=n,
        as_of=as_of,
    )


@spark_app.command("als")
def spark_als(
    events: EventsOption,
    out_dir: OutOption,
    master: MasterOption = None,
    factors: Annotated[int, typer.Option("--factors", min=1)] = 64,
    iterations: Annotated[int, typer.Option("--iterations", min=1)] = 15,
    regularization: Annotated[float, typer.Option("--regularization", min=0.0)] = 0.01,
    alpha: Annotated[float, typer.Option("--alpha", min=0.0)] = 1.0,
    n: NOption = 10,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
) -> None:
    """MLlib implicit ALS: factors, top-N for all users and a local model in OUT/als/."""
    _run_job(
        "als",
        events,
        out_dir,
        master,
        as_json,
        als={
            "factors": factors,
            "iterations": iterations,
            "regularization": regularization,
            "alpha": alpha,
        },
        n=n,
        as_of=as_of,
    )


@engine_app.command("profiles")
def engine_profiles(
    db: DbOption = None,
    engine: EngineOption = None,
    master: MasterOption = None,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
) -> None:
    """Build a profile version in the store with the chosen engine."""
    from shopguide.store import open_store
    from shopguide.workflows.engine import get_engine

    with handled(as_json):
        chosen = get_engine(engine, master=master)
        store = open_store(db_path(db), create=False)
        try:
            summary = chosen.profiles(store, as_of)
        finally:
            store.close()
    if as_json:
        emit_json(summary)
    else:
        out.print(
            f"profiles as of {summary['as_of']}: {summary['users']} users "
            f"({summary['engine']} engine, {summary['seconds']} s)"
        )


@engine_app.command("rfm")
def engine_rfm(
    db: DbOption = None,
    engine: EngineOption = None,
    master: MasterOption = None,
    as_of: AsOfOption = None,
    limit: Annotated[int, typer.Option("--limit", min=0)] = 30,
    as_json: JsonOption = False,
) -> None:
    """The RFM table with the chosen engine."""
    from shopguide.store import open_store
    from shopguide.workflows.engine import get_engine

    with handled(as_json):
        chosen = get_engine(engine, master=master)
        store = open_store(db_path(db), read_only=True)
        try:
            frame = chosen.rfm(store, as_of)
        finally:
            store.close()
    if as_json:
        emit_json(frame_records(frame))
    else:
        print_table(frame, title="RFM", max_rows=limit)


@engine_app.command("item-knn")
def engine_item_knn(
    db: DbOption = None,
    engine: EngineOption = None,
    master: MasterOption = None,
    k: KOption = 50,
    n: NOption = 10,
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            callback=one_of("exact", "dimsum", "broadcast"),
            help="Spark only: exact, dimsum or broadcast.",
        ),
    ] = "exact",
    out_file: ListsFileOption = None,
    as_json: JsonOption = False,
) -> None:
    """Top-N item-KNN recommendations for every user with the chosen engine."""
    from shopguide.workflows.engine import check_item_knn_mode, get_engine

    def chosen() -> Any:
        return get_engine(engine, master=master, mode=check_item_knn_mode(mode))

    _store_lists("item_knn", db, out_file, as_json, f"item-KNN top-{n}", chosen, k=k, n=n)


@engine_app.command("user-knn")
def engine_user_knn(
    db: DbOption = None,
    engine: EngineOption = None,
    master: MasterOption = None,
    k: Annotated[int, typer.Option("--k", min=1, help="Neighbours per user.")] = 50,
    n: NOption = 10,
    user_blocks: Annotated[
        int,
        typer.Option("--user-blocks", min=1, help="Spark only: hash blocks of users."),
    ] = 1,
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            callback=one_of("exact", "broadcast"),
            help="Spark only: exact or broadcast.",
        ),
    ] = "exact",
    out_file: ListsFileOption = None,
    as_json: JsonOption = False,
) -> None:
    """Top-N user-KNN recommendations for every user with the chosen engine."""
    from shopguide.workflows.engine import check_user_knn_mode, get_engine

    def chosen() -> Any:
        knn_mode = check_user_knn_mode(mode)
        return get_engine(engine, master=master, mode=knn_mode, user_blocks=user_blocks)

    _store_lists("user_knn", db, out_file, as_json, f"user-KNN top-{n}", chosen, k=k, n=n)


def register(app: typer.Typer) -> None:
    """Add the ``spark`` and ``engine`` command groups to ``app``."""
    app.add_typer(spark_app, name="spark")
    app.add_typer(engine_app, name="engine")
