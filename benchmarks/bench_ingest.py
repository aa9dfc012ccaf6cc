"""Ingestion throughput and memory: N events from CSV and from Parquet into a fresh store.

    python benchmarks/bench_ingest.py --events 10000000

Writes the input files (canonical columns, a few bad rows mixed in) in chunks, then loads each
into a new DuckDB store in a child process, and prints rows/second and the child's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

CHUNK = 1_000_000


def make_chunk(start: int, n: int, rng: np.random.Generator) -> pd.DataFrame:
    ids = np.arange(start, start + n)
    seconds = rng.integers(0, 365 * 86_400, n)
    frame = pd.DataFrame(
        {
            "event_id": np.char.add("e", ids.astype(str)),
            "user_id": np.char.add("u", rng.zipf(1.3, n).clip(max=500_000).astype(str)),
            "item_id": np.char.add("i", rng.zipf(1.2, n).clip(max=50_000).astype(str)),
            "event_type": rng.choice(
                ["view", "click", "cart", "purchase"], n, p=[0.6, 0.2, 0.1, 0.1]
            ),
            "timestamp": (pd.Timestamp("2024-01-01") + pd.to_timedelta(seconds, unit="s")).strftime(
                "%Y-%m-%dT%H:%M:%S"
            ),
            "quantity": rng.integers(1, 4, n).astype(str),
            "price": (rng.gamma(2.0, 10.0, n)).round(2).astype(str),
        }
    )
    bad = rng.random(n) < 0.001  # one row in a thousand is broken
    frame.loc[bad, "price"] = "-1"
    return frame


def write_inputs(folder: Path, events: int) -> tuple[Path, Path]:
    rng = np.random.default_rng(7)
    csv_path, parquet_path = folder / "events.csv", folder / "events.parquet"
    writer = None
    with open(csv_path, "w") as handle:
        for start in range(0, events, CHUNK):
            chunk = make_chunk(start, min(CHUNK, events - start), rng)
            chunk.to_csv(handle, index=False, header=start == 0)
            table = pa.Table.from_pandas(chunk, preserve_index=False)
            writer = writer or pq.ParquetWriter(parquet_path, table.schema)
            writer.write_table(table)
    assert writer is not None
    writer.close()
    return csv_path, parquet_path


CHILD = """
import json, resource, sys, time
from shopguide.data.ingest import ingest_file
from shopguide.store import open_store
store = open_store(sys.argv[1])
report = ingest_file(store, "events", sys.argv[2])
store.close()
print(json.dumps({**report.to_dict(),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def load(folder: Path, path: Path) -> dict[str, float]:
    db = folder / f"{path.suffix.strip('.')}.duckdb"
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(db), str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = time.perf_counter() - started
    result["db_mb"] = db.stat().st_size / 2**20
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="folder to keep the files in")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="sg-bench-ingest-"))
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    csv_path, parquet_path = write_inputs(folder, args.events)
    print(
        f"wrote {args.events:,} events in {time.perf_counter() - started:.0f} s "
        f"(CSV {csv_path.stat().st_size / 2**20:,.0f} MB, "
        f"Parquet {parquet_path.stat().st_size / 2**20:,.0f} MB)"
    )
    print("| input | rows | accepted | rejected | seconds | rows/s | peak RSS MB | store MB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for path in (parquet_path, csv_path):
        r = load(folder, path)
        print(
            f"| {path.name} | {r['rows_read']:,} | {r['accepted']:,} | {r['rejected']:,} | "
            f"{r['seconds']:.0f} | {r['rows_per_second']:,.0f} | {r['peak_rss_mb']:,.0f} | "
            f"{r['db_mb']:,.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
