"""Profile build on 10M synthetic events, against a hand-written SQL reference of the same fields.

Usage::

    .venv/bin/python benchmarks/bench_profiles.py                        # 100k and 1M users
    .venv/bin/python benchmarks/bench_profiles.py --users 100000 --builds-only
    .venv/bin/python benchmarks/bench_profiles.py --events 1000000 --users 10000  # quicker
    .venv/bin/python benchmarks/bench_profiles.py --data DIR  # reuse DIR/users_N Parquet files

For each ``--users`` count (same ``--events``): the synthetic generator streams events to
Parquet (not timed); they are copied into a fresh DuckDB store with plain SQL (ingestion is
benchmarked elsewhere); then, in the same process and store, this times

* one plain ``SELECT user_id, count(*), sum(price * quantity) FROM events GROUP BY user_id``
  materialised as a temp table (a floor for any per-user work);
* ``build_profiles(store)``: every profile field for every user, written to the store, and
  :data:`REFERENCE_SQL`, the same 45 fields written by hand as one DuckDB statement and
  stored as a table, alternately (``--repeat`` times each; before each build the stored
  versions are deleted, untimed, so every build writes a new version as the reference writes
  a new table). The medians and their ratio are issue 18's target (build <= 1.5x the
  reference); the two results are compared field by field on a sample of users;
* unless ``--builds-only``: ``update_profiles`` after appending a new day of events for 1 % of
  the users, the live update the REST API's event ingestion runs (``update_profiles(live=True)``)
  after another such day in its steady state (a day for 1 % of the users, not a 10-event batch:
  ``bench_ingest_api.py`` times those), and, as a floor, copying the finished profile rows into
  a new stored table and committing.

A table at the end puts the sizes side by side.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from shopguide.data.datasets.synthetic import write_parquet
from shopguide.profiles import BuildResult, build_profiles, drop_profile_versions, update_profiles
from shopguide.store import open_store
from shopguide.store.base import Store

BASELINE_SQL = (
    "CREATE OR REPLACE TEMP TABLE _baseline AS "
    "SELECT user_id, count(*) AS n, sum(price * quantity) AS value FROM events GROUP BY user_id"
)


#: The reference for issue 18's target (a full build <= 1.5x this): the same 45 fields as
#: ``build_profiles`` computes, written by hand as one plain DuckDB statement (window functions
#: for the top-5 lists, the modes and the RFM ranks; no stored aggregates, no statistics) and
#: stored as a table. Its rows are checked against the build's on a sample of users.
REFERENCE_SQL = """
CREATE OR REPLACE TABLE reference_profiles AS
WITH
items_now AS (
    SELECT item_id,
           coalesce(nullif(trim(split_part(category, '>', 1)), ''), '(unknown)') AS category,
           nullif(trim(brand), '') AS brand
    FROM items
    QUALIFY row_number() OVER (PARTITION BY item_id ORDER BY load_id DESC NULLS LAST) = 1
),
users_now AS (
    SELECT user_id, gender, location, signup_at,
           coalesce(age_band, CASE WHEN age IS NULL THEN NULL WHEN age < 18 THEN '<18'
                WHEN age < 25 THEN '18-24' WHEN age < 35 THEN '25-34' WHEN age < 45 THEN '35-44'
                WHEN age < 55 THEN '45-54' WHEN age < 65 THEN '55-64' ELSE '65+' END) AS age_band
    FROM users
    QUALIFY row_number() OVER (PARTITION BY user_id ORDER BY load_id DESC NULLS LAST) = 1
),
ev AS (SELECT * FROM events WHERE "timestamp" <= $as_of),
activity AS (
    SELECT user_id, min("timestamp") AS first_event_at, max("timestamp") AS last_event_at,
           count(*) FILTER (WHERE event_type = 'view') AS views,
           count(*) FILTER (WHERE event_type = 'cart') AS carts
    FROM ev GROUP BY user_id
),
purchases AS (
    SELECT e.user_id, e."timestamp" AS ts, e.quantity, e.price AS list_price,
           coalesce(e.price, 0) AS price, coalesce(e.discount, 0) AS discount, e.order_id,
           coalesce(i.category, '(unknown)') AS category, i.brand
    FROM ev e LEFT JOIN items_now i USING (item_id)
    WHERE e.event_type = 'purchase'
),
refunds AS (
    SELECT user_id, count(*) AS refund_events,
           sum(abs(quantity) * coalesce(price, 0) - coalesce(discount, 0)) AS refund_value
    FROM ev WHERE event_type = 'refund' GROUP BY user_id
),
money AS (
    SELECT user_id, count(*) AS purchases, min(ts) AS first_order_at, max(ts) AS last_order_at,
           count(DISTINCT (order_id, CASE WHEN order_id IS NULL THEN CAST(ts AS DATE) END))
               AS orders,
           sum(quantity) AS items_bought, sum(quantity * price) AS list_value,
           sum(discount) AS discount_total, sum(quantity * price - discount) AS gross_spend,
           coalesce(sum(quantity * price - discount) FILTER (WHERE discount > 0), 0)
               AS discounted_spend
    FROM purchases GROUP BY user_id
),
weekday_counts AS (
    SELECT user_id, isodow(ts) AS weekday, count(*) AS n FROM purchases GROUP BY ALL
),
preferred_weekday AS (
    SELECT user_id, weekday AS preferred_weekday FROM weekday_counts
    QUALIFY row_number() OVER (PARTITION BY user_id ORDER BY n DESC, weekday) = 1
),
hour_counts AS (SELECT user_id, hour(ts) AS hour, count(*) AS n FROM purchases GROUP BY ALL),
preferred_hour AS (
    SELECT user_id, hour AS preferred_hour FROM hour_counts
    QUALIFY row_number() OVER (PARTITION BY user_id ORDER BY n DESC, hour) = 1
),
everyone AS (
    SELECT user_id FROM activity
    UNION SELECT user_id FROM users_now WHERE signup_at <= $as_of
),
base AS (
    SELECT p.user_id, u.gender, u.age_band, u.location, u.signup_at,
           least(u.signup_at, a.first_event_at) AS first_seen_at,
           a.last_event_at,
           coalesce(a.views, 0) AS views, coalesce(a.carts, 0) AS carts,
           coalesce(m.purchases, 0) AS purchases, coalesce(m.orders, 0) AS orders,
           m.first_order_at, m.last_order_at,
           coalesce(m.items_bought, 0) AS items_bought, coalesce(m.list_value, 0) AS list_value,
           coalesce(m.discount_total, 0) AS discount_total,
           coalesce(m.gross_spend, 0) AS gross_spend,
           coalesce(m.discounted_spend, 0) AS discounted_spend,
           coalesce(r.refund_value, 0) AS refunds,
           w.preferred_weekday, h.preferred_hour
    FROM everyone p
    LEFT JOIN users_now u USING (user_id)
    LEFT JOIN activity a USING (user_id)
    LEFT JOIN money m USING (user_id)
    LEFT JOIN refunds r USING (user_id)
    LEFT JOIN preferred_weekday w USING (user_id)
    LEFT JOIN preferred_hour h USING (user_id)
),
population AS (SELECT sum(gross_spend) AS gross_spend FROM base),
category_spend AS (
    SELECT user_id, category, sum(quantity * price - discount) AS spend,
           sum(quantity) AS quantity
    FROM purchases GROUP BY ALL
),
brand_spend AS (
    SELECT user_id, brand, sum(quantity * price - discount) AS spend
    FROM purchases WHERE brand IS NOT NULL GROUP BY ALL
),
category_share AS (
    SELECT category, sum(spend) / nullif(any_value(population.gross_spend), 0) AS share
    FROM category_spend, population GROUP BY category
),
brand_share AS (
    SELECT brand, sum(spend) / nullif(any_value(population.gross_spend), 0) AS share
    FROM brand_spend, population GROUP BY brand
),
top_categories AS (
    SELECT user_id,
           list({'name': category, 'spend': spend, 'share': share,
                 'affinity': share / nullif(population_share, 0)} ORDER BY position) AS entries
    FROM (
        SELECT c.user_id, c.category, c.spend, c.spend / nullif(b.gross_spend, 0) AS share,
               s.share AS population_share,
               row_number() OVER (PARTITION BY c.user_id
                                  ORDER BY round(c.spend * 100) DESC, c.category) AS position
        FROM category_spend c JOIN base b USING (user_id) JOIN category_share s USING (category)
    )
    WHERE position <= 5
    GROUP BY user_id
),
top_brands AS (
    SELECT user_id,
           list({'name': brand, 'spend': spend, 'share': share,
                 'affinity': share / nullif(population_share, 0)} ORDER BY position) AS entries
    FROM (
        SELECT c.user_id, c.brand, c.spend, c.spend / nullif(b.gross_spend, 0) AS share,
               s.share AS population_share,
               row_number() OVER (PARTITION BY c.user_id
                                  ORDER BY round(c.spend * 100) DESC, c.brand) AS position
        FROM brand_spend c JOIN base b USING (user_id) JOIN brand_share s USING (brand)
    )
    WHERE position <= 5
    GROUP BY user_id
),
median_price AS (
    SELECT category, median(list_price) AS median_price
    FROM purchases WHERE list_price IS NOT NULL GROUP BY category
),
price_index AS (
    SELECT c.user_id, sum(c.spend) / nullif(sum(c.quantity * p.median_price), 0) AS price_index
    FROM category_spend c JOIN median_price p USING (category)
    GROUP BY c.user_id
),
derived AS (
    SELECT b.*, t.price_index,
           date_diff('day', CAST(b.first_seen_at AS DATE), CAST($as_of AS DATE)) AS tenure_days,
           date_diff('day', CAST(b.last_order_at AS DATE), CAST($as_of AS DATE)) AS recency_days,
           b.gross_spend - b.refunds AS total_spend,
           b.discount_total / nullif(b.list_value, 0) AS discount_rate,
           CASE WHEN b.gross_spend > 0
                THEN greatest(0.0, least(1.0, b.discounted_spend / b.gross_spend)) END
               AS discount_spend_share
    FROM base b LEFT JOIN price_index t USING (user_id)
),
buyers AS (
    SELECT user_id, recency_days, orders, round(total_spend, 6) AS monetary
    FROM derived WHERE orders > 0
),
ranks AS (
    SELECT user_id,
           rank() OVER (ORDER BY recency_days DESC) + count(*) OVER (ORDER BY recency_days DESC)
               AS r_ranks,
           rank() OVER (ORDER BY orders) + count(*) OVER (ORDER BY orders) AS f_ranks,
           rank() OVER (ORDER BY monetary) + count(*) OVER (ORDER BY monetary) AS m_ranks,
           count(*) OVER () AS n
    FROM buyers
),
scores AS (  -- quintile of the average rank of ties: ceil(5 * (min + max) / 2 / n)
    SELECT user_id,
           CAST((5 * r_ranks + 2 * n - 1) // (2 * n) AS INTEGER) AS r_score,
           CAST((5 * f_ranks + 2 * n - 1) // (2 * n) AS INTEGER) AS f_score,
           CAST((5 * m_ranks + 2 * n - 1) // (2 * n) AS INTEGER) AS m_score
    FROM ranks
),
rfm AS (
    SELECT *, CAST((f_score + m_score + 1) // 2 AS INTEGER) AS fm_score
    FROM scores
)
SELECT CAST($as_of AS TIMESTAMP) AS as_of, d.user_id, d.gender, d.age_band, d.location,
       d.signup_at, d.first_seen_at, d.tenure_days, d.orders, d.items_bought,
       d.orders * 30.0 / greatest(d.tenure_days, 1) AS purchase_frequency,
       d.recency_days,
       date_diff('day', CAST(d.last_event_at AS DATE), CAST($as_of AS DATE))
           AS days_since_last_event,
       d.gross_spend, d.refunds, d.total_spend,
       d.total_spend / nullif(d.orders, 0) AS avg_order_value,
       CASE WHEN d.orders >= 2
            THEN epoch(d.last_order_at - d.first_order_at) / 86400.0 / (d.orders - 1)
       END AS avg_days_between_orders,
       d.preferred_weekday, d.preferred_hour, d.views, d.carts, d.purchases,
       d.carts / nullif(d.views, 0) AS view_to_cart,
       d.purchases / nullif(d.carts, 0) AS cart_to_purchase,
       d.purchases / nullif(d.views, 0) AS view_to_purchase,
       tc.entries AS top_categories, tc.entries[1].name AS top_category,
       tc.entries[1].share AS top_category_share, tc.entries[1].affinity AS top_category_affinity,
       tb.entries AS top_brands, tb.entries[1].name AS top_brand,
       tb.entries[1].share AS top_brand_share, tb.entries[1].affinity AS top_brand_affinity,
       d.discount_rate, d.discount_spend_share, d.price_index,
       CASE WHEN d.price_index < 0.8 THEN 'low' WHEN d.price_index > 1.25 THEN 'high'
            WHEN d.price_index IS NOT NULL THEN 'mid' END AS price_band,
       CASE WHEN d.orders = 0 OR d.discount_spend_share IS NULL THEN NULL
            WHEN d.price_index IS NULL THEN d.discount_spend_share
            ELSE 0.5 * d.discount_spend_share + 0.5 / (1 + d.price_index * d.price_index)
       END AS price_sensitivity,
       r.r_score, r.f_score, r.m_score, r.fm_score,
       CAST(r.r_score AS VARCHAR) || CAST(r.f_score AS VARCHAR) || CAST(r.m_score AS VARCHAR)
           AS rfm_cell,
       CASE WHEN r.r_score IS NULL THEN NULL
            WHEN r.r_score = 5 AND r.fm_score = 1 THEN 'New'
            WHEN r.r_score = 4 AND r.fm_score = 1 THEN 'Promising'
            WHEN r.r_score >= 4 AND r.fm_score <= 3 THEN 'Potential Loyalist'
            WHEN r.r_score = 5 THEN 'Champions'
            WHEN r.r_score >= 3 AND r.fm_score >= 4 THEN 'Loyal'
            WHEN r.r_score = 3 AND r.fm_score = 3 THEN 'Need Attention'
            WHEN r.r_score = 3 THEN 'About to Sleep'
            WHEN r.r_score = 1 AND r.fm_score = 1 THEN 'Lost'
            WHEN r.fm_score <= 2 THEN 'Hibernating'
            WHEN r.fm_score = 5 THEN 'Can''t Lose Them'
            ELSE 'At Risk' END AS segment
FROM derived d
LEFT JOIN top_categories tc USING (user_id)
LEFT JOIN top_brands tb USING (user_id)
LEFT JOIN rfm r USING (user_id)
"""


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


def _reference(store: Store, as_of: object) -> None:
    """Run the hand-written reference and commit (what the build's ratio is measured against)."""
    with store.transaction():
        store.execute(REFERENCE_SQL, {"as_of": as_of})


def _build_afresh(store: Store, as_of: object, results: list[BuildResult]) -> None:
    results.append(build_profiles(store, as_of))


def _drop_versions(store: Store) -> None:
    """Delete every stored version (not timed), so each timed build writes a new one."""
    if store.has_table("profile_builds"):
        drop_profile_versions(store, keep_latest=0)
    store.execute("CHECKPOINT")


def compare_sample(store: Store, as_of: object, every: int = 97) -> tuple[int, int, list[str]]:
    """Compare the build's profiles with the reference's, field by field, for the users whose
    id hashes to 0 modulo ``every``; returns (users compared, fields differing, examples).
    Floats agree within 1e-9 relative; the user sets must be equal (counted in full)."""
    sample = "hash(user_id) % $every = 0"
    params = {"as_of": as_of, "every": every}
    built = store.query_df(
        f"SELECT * FROM profiles WHERE as_of = $as_of AND {sample} ORDER BY user_id", params
    )
    reference = store.query_df(
        f"SELECT * FROM reference_profiles WHERE {sample} ORDER BY user_id", {"every": every}
    )
    problems: list[str] = []
    missing = store.scalar(
        "SELECT count(*) FROM (SELECT user_id FROM profiles WHERE as_of = $as_of "
        "EXCEPT SELECT user_id FROM reference_profiles)",
        {"as_of": as_of},
    ) + store.scalar(
        "SELECT count(*) FROM (SELECT user_id FROM reference_profiles EXCEPT "
        "SELECT user_id FROM profiles WHERE as_of = $as_of)",
        {"as_of": as_of},
    )
    if missing:
        problems.append(f"{missing} users in one table only")
    if list(built.columns) != list(reference.columns):
        problems.append(f"columns differ: {list(built.columns)} vs {list(reference.columns)}")
        return len(built), len(problems), problems
    for column in built.columns:
        for user, got, want in zip(built["user_id"], built[column], reference[column],
                                   strict=True):  # fmt: skip
            if not _same(got, want):
                problems.append(f"{user}.{column}: build {got!r}, reference {want!r}")
    return len(built), len(problems), problems[:5]


def _same(got: object, want: object) -> bool:
    if isinstance(want, list | tuple | np.ndarray) or isinstance(got, list | tuple | np.ndarray):
        if not isinstance(got, list | tuple | np.ndarray) or not isinstance(
            want, list | tuple | np.ndarray
        ):
            return False
        return len(got) == len(want) and all(
            g.keys() == w.keys() and all(_same(g[k], w[k]) for k in w)
            for g, w in zip(got, want, strict=True)
        )
    if want is None or (not isinstance(want, str) and pd.isna(want)):
        return got is None or (not isinstance(got, str) and bool(pd.isna(got)))
    if isinstance(want, float | np.floating):
        return isinstance(got, float | np.floating) and math.isclose(
            got, want, rel_tol=1e-9, abs_tol=1e-9
        )
    return bool(got == want)


def run_size(args: argparse.Namespace, users: int, work: Path) -> dict[str, float]:
    """Everything for one user count; returns the figures of the side-by-side table."""
    data = (args.data / f"users_{users}") if args.data else work / f"synthetic_{users}"
    if not (data / "events.parquet").exists():
        started = time.perf_counter()
        files = write_parquet(
            data,
            n_users=users,
            n_items=args.items,
            n_events=args.events,
            seed=args.seed,
            days=args.days,
        )
        print(f"generated {files.n_events:,} events in {time.perf_counter() - started:.1f} s")
    store_path = work / f"bench_{users}.duckdb"
    store_path.unlink(missing_ok=True)
    store = open_store(store_path)
    started = time.perf_counter()
    _load(store, data / "events.parquet", data / "users.parquet", data / "items.parquet")
    n_events = store.count("events")
    n_users = int(store.scalar("SELECT count(DISTINCT user_id) FROM events"))
    print(
        f"\n== {users:,} users: loaded {n_events:,} events of {n_users:,} users into DuckDB "
        f"in {time.perf_counter() - started:.1f} s (duckdb {duckdb.__version__})"
    )
    as_of = store.scalar('SELECT max("timestamp") FROM events')

    baseline, baseline_runs = _timed(lambda: store.execute(BASELINE_SQL), args.repeat)
    results: list[BuildResult] = []
    builds, references = [], []
    for _ in range(args.repeat):  # alternated, so both see the same machine load
        _drop_versions(store)
        builds.append(_timed(lambda: _build_afresh(store, as_of, results), 1)[0])
        store.execute("DROP TABLE IF EXISTS reference_profiles")
        store.execute("CHECKPOINT")
        references.append(_timed(lambda: _reference(store, as_of), 1)[0])
    build, reference = statistics.median(builds), statistics.median(references)
    compared, differing, examples = compare_sample(store, as_of)
    profiles = int(store.scalar("SELECT count(*) FROM profiles"))

    print(f"events                         {n_events:>12,}")
    print(f"users with profiles            {profiles:>12,}")
    print(f"plain GROUP BY user pass       {baseline:>10.2f} s   runs {_fmt(baseline_runs)}")
    print(f"full profile build             {build:>10.2f} s   runs {_fmt(builds)}")
    print(f"hand-written reference SQL     {reference:>10.2f} s   runs {_fmt(references)}")
    print(f"ratio build / reference        {build / reference:>10.2f} x   (goal <= 1.5)")
    print(f"ratio build / GROUP BY pass    {build / baseline:>10.1f} x")
    print(f"same rows as the reference: {compared:,} sampled users compared, "
          f"{differing} fields differ" + "".join(f"\n  {e}" for e in examples))  # fmt: skip
    print("where a full build spends its time (last run):")
    for name, seconds in results[-1].steps.items():
        print(f"  {name:40s} {seconds:>7.2f} s")
    figures = {"users": users, "events": n_events, "baseline": baseline, "build": build,
               "reference": reference, "differing": differing}  # fmt: skip
    if not args.builds_only:
        _updates(store)
    store.close()
    return figures


def _updates(store: Store) -> None:
    """The incremental and live updates and the write floor (see the module docs)."""
    write_floor, _ = _timed(lambda: _persist_copy(store), 1)
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
    print(
        f"writing the built profiles     {write_floor:>10.2f} s   (a floor: copying the "
        "finished rows into a stored table and committing)"
    )
    print(
        f"incremental update             {incremental:>10.2f} s   "
        f"({result.recomputed_users:,} of {result.users:,} users recomputed)"
    )
    print(
        f"live update (API ingestion)    {live_seconds:>10.2f} s   "
        f"({live.recomputed_users:,} users recomputed in place; {versions} versions stored)"
    )
    print("where the incremental update spends its time:")
    for name, seconds in result.steps.items():
        print(f"  {name:40s} {seconds:>7.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--users", type=int, nargs="+", default=[100_000, 1_000_000],
                        help="one run per user count, same number of events")  # fmt: skip
    parser.add_argument("--items", type=int, default=5_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, default=None,
                        help="folder of write_parquet folders, users_N per user count")  # fmt: skip
    parser.add_argument("--work", type=Path, default=None, help="folder for the stores")
    parser.add_argument("--builds-only", action="store_true",
                        help="skip the updates and the write floor")  # fmt: skip
    args = parser.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="shopguide-bench-profiles-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = [run_size(args, users, work) for users in args.users]
    print(f"\n{'users':>10} {'events':>12} {'build s':>9} {'reference s':>12} {'ratio':>7} "
          f"{'GROUP BY s':>11} {'fields differing':>17}")  # fmt: skip
    for row in rows:
        print(f"{row['users']:>10,} {row['events']:>12,} {row['build']:>9.2f} "
              f"{row['reference']:>12.2f} {row['build'] / row['reference']:>6.2f}x "
              f"{row['baseline']:>11.2f} {row['differing']:>17}")  # fmt: skip
    print("(goal, issue 18: a full build <= 1.5x the hand-written reference)")


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
