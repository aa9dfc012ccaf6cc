"""Benchmark: the Spark engine (local[2]) against the local engine on synthetic events.

Steps timed on the same data (events from :func:`shopguide.data.datasets.synthetic.write_parquet`,
streamed to Parquet with bounded memory):

- ``profiles``: local ``build_profiles`` in a DuckDB store vs the Spark profiles job
  (Parquet in, Parquet out);
- ``rfm``: local ``analytics.rfm.rfm_table`` vs the Spark RFM job;
- ``item-knn``: local ``build_interactions`` + ``ItemKNN(k).fit`` + top-``n`` for every user
  vs, on Spark, for each of ``--knn-modes``: ``broadcast`` (the interactions aggregated on
  Spark, the local kernels in Spark tasks over the broadcast matrix) and ``exact`` (the
  join-based cosine with top-K and the join-based batch top-``n``); both write neighbours
  and lists as Parquet.

- ``user-knn`` (opt-in, ``--steps ...,user-knn``): local ``UserKNN(k).fit`` + top-``n`` vs,
  for each of ``--knn-modes``, the broadcast mode or the blockwise user-user cosine + top-``n``
  (:mod:`shopguide.engine.spark.userknn`).

Loading the events into the DuckDB store is timed separately (the local engine's price of
entry; Spark reads the Parquet directly). Each Spark step includes reading the Parquet and
writing its result; the session start-up is printed on its own line. ``--step-timeout``
cancels a Spark step that runs longer (its jobs are cancelled, the table says so), so one
slow step cannot hold the shared benchmark lock for hours.

Usage::

    flock /tmp/bench.lock .venv/bin/python benchmarks/bench_spark.py --events 10000000
    flock /tmp/bench.lock .venv/bin/python benchmarks/bench_spark.py --events 1000000 \
        --steps profiles,rfm,item-knn,user-knn --knn-modes broadcast,exact
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from shopguide.data.datasets.synthetic import write_parquet as write_synthetic
from shopguide.data.matrix import build_interactions
from shopguide.store import open_store


def _timed(label: str, func: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    value = func()
    seconds = time.perf_counter() - started
    print(f"  {label}: {seconds:.1f} s", flush=True)
    return value, seconds


def _load_store(store: Any, folder: Path) -> None:
    """Bulk-load the synthetic Parquet into the store tables (no validation: timing only)."""
    store.execute(
        f"INSERT INTO items (item_id, title, category, brand, price, in_stock, load_id) "
        f"SELECT item_id, title, category, brand, price, in_stock, 1 "
        f"FROM read_parquet('{folder / 'items.parquet'}')"
    )
    store.execute(
        f"INSERT INTO users (user_id, gender, age, location, signup_at, load_id) "
        f"SELECT user_id, gender, age, location, signup_at, 1 "
        f"FROM read_parquet('{folder / 'users.parquet'}')"
    )
    store.execute(
        f"""INSERT INTO events (event_key, event_id, user_id, item_id, event_type, "timestamp",
                quantity, price, discount, order_id, session_id, campaign_id, load_id)
        SELECT event_id, event_id, user_id, item_id, event_type, "timestamp", quantity, price,
               discount, order_id, session_id, campaign_id, 1
        FROM read_parquet('{folder / "events.parquet"}')"""
    )


def run_local(folder: Path, work: Path, k: int, n: int, steps: set[str]) -> dict[str, float]:
    from shopguide.analytics.rfm import rfm_table
    from shopguide.profiles import build_profiles
    from shopguide.recommend.knn import ItemKNN, UserKNN

    print("local engine (DuckDB + scipy/numba)", flush=True)
    store = open_store(work / "bench.duckdb")
    times: dict[str, float] = {}
    _, times["load into store"] = _timed("load into store", lambda: _load_store(store, folder))
    if "profiles" in steps:
        _, times["profiles"] = _timed("profiles", lambda: build_profiles(store))
    if "rfm" in steps:
        _, times["rfm"] = _timed("rfm", lambda: rfm_table(store))

    def knn(model_class: Any) -> int:
        events = store.query_df("SELECT user_id, item_id, event_type FROM events")
        inter = build_interactions(events)
        model = model_class(k=k, num_threads=2).fit(inter.matrix)
        ids, _ = model.recommend(np.arange(inter.matrix.shape[0]), inter.matrix, n=n)
        return int((ids >= 0).sum())

    for name, klass in (("item-knn", ItemKNN), ("user-knn", UserKNN)):
        if name in steps:
            rows, times[name] = _timed(name, lambda klass=klass: knn(klass))
            print(f"  {name} rows: {rows}", flush=True)
    store.close()
    return times


def _cancellable(spark: Any, label: str, func: Any, timeout: float) -> tuple[Any, float | None]:
    """Run a Spark step; cancel its jobs after ``timeout`` seconds (then the time is None)."""
    context = spark.sparkContext
    done = threading.Event()

    def watchdog() -> None:  # a step runs many jobs: keep cancelling until it gives up
        if done.wait(timeout):
            return
        while not done.is_set():
            context.cancelAllJobs()
            done.wait(1.0)

    thread = threading.Thread(target=watchdog, daemon=True)
    thread.start()
    try:
        return _timed(label, func)
    except Exception as exc:  # a cancelled job surfaces as a Py4J/Spark error
        print(f"  {label}: cancelled after {timeout:.0f} s ({type(exc).__name__})", flush=True)
        return None, None
    finally:
        done.set()
        thread.join()


def run_spark(
    folder: Path,
    work: Path,
    k: int,
    n: int,
    master: str,
    memory: str,
    steps: set[str],
    timeout: float,
    user_blocks: int,
    knn_modes: list[str],
) -> dict[str, float | None]:
    from shopguide.engine.spark.io import read_engine_data, write_parquet
    from shopguide.engine.spark.knn import item_neighbours, recommend_all, spark_interactions
    from shopguide.engine.spark.profiles import spark_profiles
    from shopguide.engine.spark.rfm import spark_rfm_table
    from shopguide.engine.spark.session import spark_session

    print(f"Spark engine ({master})", flush=True)
    times: dict[str, float | None] = {}
    spark, times["session start"] = _timed(
        "session start",
        lambda: spark_session(
            master, conf={"spark.driver.memory": memory, "spark.sql.shuffle.partitions": "16"}
        ),
    )
    data = read_engine_data(spark, folder)
    as_of = data.latest_event_time()
    if "profiles" in steps:
        _, times["profiles"] = _cancellable(
            spark,
            "profiles",
            lambda: write_parquet(spark_profiles(data, as_of), work / "profiles"),
            timeout,
        )
        spark.catalog.clearCache()
    if "rfm" in steps:
        _, times["rfm"] = _cancellable(
            spark,
            "rfm",
            lambda: write_parquet(spark_rfm_table(data, as_of), work / "rfm"),
            timeout,
        )
        spark.catalog.clearCache()

    def knn_exact() -> None:
        inter = spark_interactions(data.events).cache()
        neighbours = item_neighbours(inter, k).cache()
        write_parquet(neighbours, work / "neighbours")
        write_parquet(recommend_all(inter, neighbours, n), work / "recs")

    def knn_broadcast() -> None:
        from shopguide.engine.spark.broadcast import item_knn_broadcast

        inter = spark_interactions(data.events).cache()
        result = item_knn_broadcast(inter, k, n)
        write_parquet(result.neighbours, work / "neighbours")
        write_parquet(result.recommendations, work / "recs")

    if "item-knn" in steps:
        for mode in knn_modes:
            label = f"item-knn ({mode})"
            func = knn_broadcast if mode == "broadcast" else knn_exact
            _, times[label] = _cancellable(spark, label, func, timeout)
            spark.catalog.clearCache()

    def user_knn_exact() -> None:
        from shopguide.engine.spark.userknn import user_knn_blockwise

        inter = spark_interactions(data.events).cache()
        user_knn_blockwise(inter, work / "user-knn", k=k, n=n, blocks=user_blocks)

    def user_knn_broadcast() -> None:
        from shopguide.engine.spark.broadcast import user_knn_broadcast as run

        inter = spark_interactions(data.events).cache()
        result = run(inter, k, n)
        write_parquet(result.neighbours, work / "user-neighbours")
        write_parquet(result.recommendations, work / "user-recs")

    if "user-knn" in steps:
        for mode in knn_modes:
            label = f"user-knn ({mode})"
            func = user_knn_broadcast if mode == "broadcast" else user_knn_exact
            _, times[label] = _cancellable(spark, label, func, timeout)
            spark.catalog.clearCache()
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--users", type=int, default=None, help="default: events / 20")
    parser.add_argument("--items", type=int, default=None, help="default: events / 200")
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="6g")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--skip-local", action="store_true")
    parser.add_argument("--skip-spark", action="store_true")
    parser.add_argument(
        "--steps",
        "--spark-steps",
        default="profiles,rfm,item-knn",
        help="comma-separated steps (profiles, rfm, item-knn, user-knn) for both engines",
    )
    parser.add_argument(
        "--step-timeout", type=float, default=1200.0, help="cancel a Spark step after this"
    )
    parser.add_argument("--user-blocks", type=int, default=4, help="Spark user-KNN blocks")
    parser.add_argument(
        "--knn-modes",
        default="broadcast,exact",
        help="Spark item- and user-KNN modes to time, in order (broadcast, exact)",
    )
    args = parser.parse_args(argv)
    users = args.users or max(1_000, args.events // 20)
    items = args.items or max(200, args.events // 200)
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-spark-"))
    folder = work / "data"
    print(f"synthetic: ~{args.events:,} events, {users:,} users, {items:,} items -> {folder}")
    files, _ = _timed(
        "generate (streamed Parquet)",
        lambda: write_synthetic(folder, n_users=users, n_items=items, n_events=args.events, seed=1),
    )
    print(f"  events written: {files.n_events:,}", flush=True)
    steps = set(args.steps.split(","))
    local = {} if args.skip_local else run_local(folder, work, args.k, args.n, steps)
    spark = (
        {}
        if args.skip_spark
        else run_spark(
            folder,
            work,
            args.k,
            args.n,
            args.master,
            args.driver_memory,
            steps,
            args.step_timeout,
            args.user_blocks,
            args.knn_modes.split(","),
        )
    )
    print()
    print(f"{files.n_events:,} events, {users:,} users, {items:,} items; K={args.k}, N={args.n}")
    print(f"{'step':<18}{'local s':>10}{'spark s':>10}{'spark/local':>13}")
    modes = args.knn_modes.split(",")
    rows = ["load into store", "session start", "profiles", "rfm"]
    for model in ("item-knn", "user-knn"):
        rows += [model, *(f"{model} ({mode})" for mode in modes)]
    for step in rows:
        if step not in local and step not in spark:
            continue
        lo, sp = local.get(step.split(" (")[0]), spark.get(step)
        ratio = f"{sp / lo:.1f}x" if lo and sp else "-"
        if step in spark and sp is None:
            spark_text = f">{args.step_timeout:.0f}"
        else:
            spark_text = "-" if sp is None else f"{sp:.1f}"
        print(f"{step:<18}{'-' if lo is None else f'{lo:.1f}':>10}{spark_text:>10}{ratio:>13}")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
