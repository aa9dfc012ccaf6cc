"""``GET /v1/search``'s work, :func:`shopguide.workflows.serving.lookup.search`, on a store of
1M users (issue 20: ≤ 50 ms p99).

Usage::

    .venv/bin/python benchmarks/bench_search.py                  # 1M users, 20k items
    .venv/bin/python benchmarks/bench_search.py --users 100000   # quicker

The store is filled with plain SQL (ids ``u0000001``... in no particular order, as a profile build
writes them; ten cities; the RFM segments; one profile version; ingestion is benchmarked
elsewhere).
Then each query of a mixed list (id prefixes of 1 to 7 characters, id fragments, a city, a
segment, item titles and categories, text that matches nothing) is run ``--repeat`` times on
one connection, as the service's reader connections do; p50, p99 and max are reported.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from shopguide.profiles.lifecycle import SEGMENTS
from shopguide.profiles.tables import ensure_profile_tables
from shopguide.store import open_store
from shopguide.workflows.serving.lookup import SearchCache, search

QUERIES = ("u", "u0", "u01", "u012", "u0123", "u01234", "u012345", "1234", "99999",
           "lond", "at ris", "champ", "audio", "bedding", "i0001", "grocery > sn",
           "zzzz-nothing")  # fmt: skip
CITIES = ("London", "Paris", "Berlin", "Madrid", "Rome", "Vienna", "Lisbon", "Dublin", "Oslo",
          "Prague")  # fmt: skip


def fill(path: Path, users: int, items: int) -> None:
    with open_store(path) as store:
        ensure_profile_tables(store)
        segments = ", ".join(f"'{s.replace(chr(39), chr(39) * 2)}'" for s in SEGMENTS)
        cities = ", ".join(f"'{c}'" for c in CITIES)
        store.execute(
            f"""INSERT INTO users (user_id, location, load_id)
            SELECT 'u' || lpad(i::VARCHAR, 7, '0'), ([{cities}])[1 + i % 10], 1
            FROM range(1, {users} + 1) t(i)"""
        )
        store.execute(
            f"""INSERT INTO profiles (as_of, user_id, location, orders, items_bought, gross_spend,
                refunds, total_spend, views, carts, purchases, segment)
            SELECT TIMESTAMP '2024-06-30', 'u' || lpad(i::VARCHAR, 7, '0'),
                   ([{cities}])[1 + i % 10], 1, 1, 10, 0, 10, 1, 1, 1,
                   ([{segments}])[1 + (hash(i) % {len(SEGMENTS)})::BIGINT]
            FROM range(1, {users} + 1) t(i) ORDER BY hash(i * 7)"""
        )
        store.execute(
            f"""INSERT INTO items (item_id, title, category, price, load_id)
            SELECT 'i' || lpad(i::VARCHAR, 5, '0'),
                   (['Acme', 'Stark', 'Wayne'])[1 + i % 3] || ' ' ||
                   (['Audio', 'Bedding', 'Snacks', 'Shoes'])[1 + i % 4] || ' ' || i,
                   (['Electronics > Audio', 'Home > Bedding', 'Grocery > Snacks',
                     'Fashion > Shoes'])[1 + i % 4], 10, 1
            FROM range(1, {items} + 1) t(i)"""
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "shop.duckdb"
        started = time.perf_counter()
        fill(path, args.users, args.items)
        print(f"store: {args.users:,} users, {args.items:,} items "
              f"({time.perf_counter() - started:.1f} s to fill)")  # fmt: skip
        with open_store(path, create=False) as store:
            reader = store.reader()
            cache = SearchCache()
            t0 = time.perf_counter()
            search(reader, "u", 8, cache=cache)  # the first search reads the user index in
            print(f"first search (reads the index): {time.perf_counter() - t0:.2f} s")
            for q in QUERIES:  # warm
                search(reader, q, 8, cache=cache)
            times: list[float] = []
            worst: dict[str, float] = {}
            for _ in range(args.repeat):
                for q in QUERIES:
                    t0 = time.perf_counter()
                    search(reader, q, 8, cache=cache)
                    ms = (time.perf_counter() - t0) * 1000
                    times.append(ms)
                    worst[q] = max(worst.get(q, 0.0), ms)
            times.sort()
            p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
            print(f"{len(times)} searches: p50 {statistics.median(times):.1f} ms, "
                  f"p99 {p99:.1f} ms, max {times[-1]:.1f} ms")  # fmt: skip
            slowest = sorted(worst.items(), key=lambda kv: -kv[1])[:5]
            print("slowest queries (max ms): " + ", ".join(f"{q!r} {ms:.1f}" for q, ms in slowest))
            reader.close()


if __name__ == "__main__":
    main()
