"""Profile build on 10M synthetic events, against one plain GROUP BY user pass over the same events.

Usage::

    .venv/bin/python benchmarks/bench_profiles.py                   # 10M events, 100k users
    .venv/bin/python benchmarks/bench_profiles.py --events 1000000  # quicker
    .venv/bin/python benchmarks/bench_profiles.py --data DIR        # reuse write_parquet files

Steps: the synthetic generator streams events to Parquet (not timed in the ratio); they are
copied into a fresh DuckDB store with plain SQL (ingestion is benchmarked elsewhere); then, in
the same process and store, this times

* the baseline: ``SELECT user_id, count(*), sum(price * quantity) FROM events GROUP BY user_id``
  materialised as a temp table, and
* ``build_profiles(store)``: every profile field for every user, written to the store,
* ``update_profiles`` after appending a new day of events for 1 % of the users,
* the live update the REST API's event ingestion runs (``update_profiles(live=True)``) after
  another such day, in its steady state: it rewrites the changed users' rows of the live
  version in place (a day of events for 1 % of the users, not a 10-event batch:
  ``bench_ingest_api.py`` times those),
* and, as a floor, copying the finished profile rows into a new stored table and committing:
  what persisting the profile costs whatever the computation before it.

Each is run ``--repeat`` times; the median is reported with the ratio build / baseline
(the goal is <= 5).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import duckdb

from shopguide.data.datasets.synthetic import write_parquet
from shopguide.profiles import build_profiles, update_profiles
from shopguide.store import open_store
from shopguide.store.base import Store

BASELINE_SQL = (
    "CREATE OR REPLACE TEMP TABLE _baseline AS "
    "SELECT user_id, count(*) AS n, sum(price * quantity) AS value FROM events GROUP BY user_id"
)


def _load(store: Store, events: Path, users: Path, items: Path) -> None:
    store.execute(
        f"""INSERT INTO items (item_id, title, category, brand, price, in_stock, load_id)
        SELECT item_id, title, category, brand, price, in_stock, 1 FROM read_parquet('{items}')"""
    )
    store.execute(
        f"""INSERT INTO users (user_id, gender, age, location, signup_at, load_id)
        SELECT user_id, gender, age, location, signup_at, 1 FROM read_parquet('{users}')"""
    )
    store.execute(
        f"""INSERT INTO events (event_key, event_id, user_id, item_id, event_type, "timestamp",
            quantity, price, discount, order_id, session_id, campaign_id, load_id)
        SELECT event_id, event_id, user_id, item_id, event_type, "timestamp", quantity, price,
               discount, order_id, session_id, campaign_id, 1
        FROM read_parquet('{events}')"""
    )
    store.execute("CHECKPOINT")


def _persist_copy(store: Store) -> None:
    """Copy the finished profile rows into a new stored table and commit: what storing the
    profile costs by itself, however fast the computation before it."""
    store.execute("DROP TABLE IF EXISTS _bench_profiles_copy")
    store.execute("CREATE TABLE _bench_profiles_copy AS SELECT * FROM profiles LIMIT 0")
    store.execute("CHECKPOINT")
    with store.transaction():
        store.execute("INSERT INTO _bench_profiles_copy SELECT * FROM profiles")
    store.execute("DROP TABLE _bench_profiles_copy")


def _timed(action: object, repeat: int) -> tuple[float, list[float]]:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        runs.append(time.perf_counter() - started)
    return statistics.median(runs), runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=5_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, default=None, help="folder of write_parquet files")
    parser.add_argument("--work", type=Path, default=None, help="folder for the store")
    args = parser.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="shopguide-bench-profiles-"))
    data = args.data or work / "synthetic"
    if not (data / "events.parquet").exists():
        started = time.perf_counter()
        files = write_parquet(
            data,
            n_users=args.users,
            n_items=args.items,
            n_events=args.events,
            seed=args.seed,
            days=args.days,
        )
        print(f"generated {files.n_events:,} events in {time.perf_counter() - started:.1f} s")
    store_path = work / "bench.duckdb"
    store_path.unlink(missing_ok=True)
    store = open_store(store_path)
    started = time.perf_counter()
    _load(store, data / "events.parquet", data / "users.parquet", data / "items.parquet")
    n_events = store.count("events")
    n_users = int(store.scalar("SELECT count(DISTINCT user_id) FROM events"))
    print(
        f"loaded {n_events:,} events of {n_users:,} users into DuckDB "
        f"in {time.perf_counter() - started:.1f} s (duckdb {duckdb.__version__})"
    )

    baseline, baseline_runs = _timed(lambda: store.execute(BASELINE_SQL), args.repeat)
    results = []
    build, build_runs = _timed(lambda: results.append(build_profiles(store)), args.repeat)
    profiles = int(store.scalar("SELECT count(*) FROM profiles"))
    write_floor, write_runs = _timed(lambda: _persist_copy(store), args.repeat)

    # incremental: one more day of events for 1 % of the users, then update the same version
    last = store.scalar('SELECT max("timestamp") FROM events')
    _append_day(store, load_id=2)
    as_of = store.scalar('SELECT max("timestamp") FROM events')
    build_profiles(store, last)  # base version before the new events
    started = time.perf_counter()
    result = update_profiles(store, as_of=as_of + timedelta(0))
    incremental = time.perf_counter() - started

    # live: the first live update creates the live version, the next ones update it in place
    _append_day(store, load_id=3)
    update_profiles(store, live=True)
    _append_day(store, load_id=4)
    started = time.perf_counter()
    live = update_profiles(store, live=True)
    live_seconds = time.perf_counter() - started
    versions = int(store.scalar("SELECT count(DISTINCT as_of) FROM profiles"))

    print()
    print(f"events                         {n_events:>12,}")
    print(f"users with profiles            {profiles:>12,}")
    print(f"plain GROUP BY user pass       {baseline:>10.2f} s   runs {_fmt(baseline_runs)}")
    print(f"full profile build             {build:>10.2f} s   runs {_fmt(build_runs)}")
    print(f"ratio build / GROUP BY pass    {build / baseline:>10.1f} x   (goal <= 5)")
    print(
        f"writing the built profiles     {write_floor:>10.2f} s   runs {_fmt(write_runs)}  "
        f"= {write_floor / baseline:.1f} x the pass (a floor: copying the finished rows into a "
        "stored table and committing)"
    )
    print(
        f"incremental update             {incremental:>10.2f} s   "
        f"({result.recomputed_users:,} of {result.users:,} users recomputed)"
    )
    print(
        f"live update (API ingestion)    {live_seconds:>10.2f} s   "
        f"({live.recomputed_users:,} users recomputed in place; {versions} versions stored)"
    )
    print("\nwhere a full build spends its time (last run):")
    for name, seconds in results[-1].steps.items():
        print(f"  {name:40s} {seconds:>7.2f} s")
    print("where the incremental update spends its time:")
    for name, seconds in result.steps.items():
        print(f"  {name:40s} {seconds:>7.2f} s")
    store.close()


def _append_day(store: Store, load_id: int) -> None:
    """Copy the last day's events of 1 % of the users one day later, as a new load."""
    last = store.scalar('SELECT max("timestamp") FROM events')
    store.execute(
        """INSERT INTO events (event_key, user_id, item_id, event_type, "timestamp", quantity,
            price, discount, order_id, load_id)
        SELECT $tag || event_key, user_id, item_id, event_type, "timestamp" + INTERVAL 1 DAY,
               quantity, price, discount, $tag || order_id, $load
        FROM events
        WHERE hash(user_id) % 100 = 0 AND "timestamp" > $last - INTERVAL 1 DAY""",
        {"last": last, "tag": f"new{load_id}-", "load": load_id},
    )


def _fmt(runs: list[float]) -> str:
    return ", ".join(f"{r:.2f}" for r in runs)


if __name__ == "__main__":
    main()
