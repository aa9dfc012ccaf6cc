"""Time and peak memory of streaming synthetic events to Parquet.

Usage::

    .venv/bin/python benchmarks/bench_generate.py                  # 10M events, 100k users
    .venv/bin/python benchmarks/bench_generate.py --events 1000000 --out /tmp/synth

Prints wall time, events per second, the process's peak resident memory and Arrow's peak
allocation, so the "bounded memory" claim can be checked: peak memory should stay flat as
``--events`` grows.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from shopguide.data.datasets.synthetic import write_parquet


def _peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes
    return peak / 1024 / (1024 if sys.platform == "darwin" else 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=5_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--row-group-rows", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=None, help="keep the files here")
    args = parser.parse_args()

    out = args.out or Path(tempfile.mkdtemp(prefix="shopguide-synth-"))
    rss_before = _peak_rss_mib()
    started = time.perf_counter()
    files = write_parquet(
        out,
        n_users=args.users,
        n_items=args.items,
        n_events=args.events,
        seed=args.seed,
        days=args.days,
        row_group_rows=args.row_group_rows,
    )
    elapsed = time.perf_counter() - started
    meta = pq.ParquetFile(files.events).metadata
    size_mib = files.events.stat().st_size / 2**20
    print(f"events written      {files.n_events:,} ({meta.num_row_groups} row groups)")
    print(f"users / items       {args.users:,} / {args.items:,}")
    print(f"wall time           {elapsed:.1f} s")
    print(f"throughput          {files.n_events / elapsed:,.0f} events/s")
    print(f"events.parquet      {size_mib:,.1f} MiB (zstd)")
    print(f"peak RSS            {_peak_rss_mib():,.0f} MiB (before generating: {rss_before:,.0f})")
    print(f"peak Arrow memory   {pa.default_memory_pool().max_memory() / 2**20:,.0f} MiB")
    if args.out is None:
        shutil.rmtree(out)
    else:
        print(f"files in            {out}")


if __name__ == "__main__":
    main()
