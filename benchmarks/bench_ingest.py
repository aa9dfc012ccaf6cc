"""Ingestion throughput and memory: N events from CSV and from Parquet into a fresh store,
side by side with DuckDB's own read of the same file into a table.

    python benchmarks/bench_ingest.py --events 10000000 [--python] [--gzip]

Writes the input files (canonical columns, a few bad rows mixed in) in chunks. For each file it
then runs, each in its own child process on a new database file: DuckDB's
``CREATE TABLE t AS SELECT * FROM read_csv(...)`` (or ``read_parquet``), the reference, and
ShopGuide's load of the same file with the default settings. It prints rows/second, the ratio
of ShopGuide's rate to DuckDB's, each child's peak RSS, and checks the accounting identity
(rows read = accepted + rejected + duplicates, and rows read = the file's rows). ``--python``
also times the Python path (``SHOPGUIDE_SQL_INGEST=0``) for comparison.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
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


def gzipped(path: Path, *, reuse: bool) -> Path:
    """A gzip copy (level 6, gzip's default) of ``path`` beside it."""
    target = path.with_name(path.name + ".gz")
    if not (reuse and target.exists()):
        with open(path, "rb") as source, gzip.open(target, "wb", compresslevel=6) as sink:
            shutil.copyfileobj(source, sink, 1 << 22)
    return target


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

#: DuckDB alone, with its defaults: the file into a table, types sniffed by DuckDB.
REFERENCE = """
import json, resource, sys, time
import duckdb
con = duckdb.connect(sys.argv[1])
reader = "read_parquet" if sys.argv[2].endswith(".parquet") else "read_csv"
started = time.perf_counter()
con.execute(f"CREATE TABLE t AS SELECT * FROM {reader}('{sys.argv[2]}')")
rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
seconds = time.perf_counter() - started
con.close()
print(json.dumps({"rows_read": rows, "seconds": seconds,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_child(script: str, db: Path, path: Path, env: dict[str, str] | None = None) -> dict:
    db.unlink(missing_ok=True)
    proc = subprocess.run(
        [sys.executable, "-c", script, str(db), str(path)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )
    if proc.returncode:
        sys.exit(f"the run on {path.name} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["db_mb"] = db.stat().st_size / 2**20
    db.unlink()
    return result


def row(name: str, r: dict, reference: dict | None) -> str:
    rate = r["rows_read"] / r["seconds"]
    ratio = (
        "1"
        if reference is None
        else f"{rate / (reference['rows_read'] / reference['seconds']):.2f}"
    )
    accounting = (
        ""
        if reference is None
        else (
            "ok"
            if r["rows_read"]
            == r["accepted"] + r["rejected"] + r["duplicates"]
            == reference["rows_read"]
            else "BROKEN"
        )
    )
    return (
        f"| {name} | {r['rows_read']:,} | {r['seconds']:.1f} | {rate:,.0f} | {ratio} | "
        f"{r['peak_rss_mb']:,.0f} | {accounting} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="folder to keep the files in")
    parser.add_argument("--python", action="store_true", help="also time the Python path")
    parser.add_argument(
        "--reuse", action="store_true", help="use the files already in --keep (same --events)"
    )
    parser.add_argument(
        "--gzip", action="store_true", help="also time a gzip-compressed copy of the CSV"
    )
    parser.add_argument("--only", choices=["csv", "parquet", "csv.gz"], help="time one format only")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="sg-bench-ingest-"))
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    csv_path, parquet_path = folder / "events.csv", folder / "events.parquet"
    if not (args.reuse and csv_path.exists() and parquet_path.exists()):
        csv_path, parquet_path = write_inputs(folder, args.events)
    print(
        f"wrote {args.events:,} events in {time.perf_counter() - started:.0f} s "
        f"(CSV {csv_path.stat().st_size / 2**20:,.0f} MB, "
        f"Parquet {parquet_path.stat().st_size / 2**20:,.0f} MB)"
    )
    load = os.getloadavg()
    print(f"load average before the runs: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print("| run | rows | seconds | rows/s | vs DuckDB | peak RSS MB | accounting |")
    print("|---|---:|---:|---:|---:|---:|---|")
    paths = [csv_path, parquet_path]
    if args.gzip or args.only == "csv.gz":
        paths.append(gzipped(csv_path, reuse=args.reuse))
    for path in paths:
        kind = path.name.removeprefix("events.")
        if args.only and kind != args.only:
            continue
        reference = run_child(REFERENCE, folder / "reference.duckdb", path)
        print(row(f"DuckDB {kind} into a table", reference, None), flush=True)
        r = run_child(CHILD, folder / "shopguide.duckdb", path)
        print(row(f"ShopGuide load, {kind}", r, reference), flush=True)
        if args.python:
            r = run_child(CHILD, folder / "shopguide.duckdb", path, {"SHOPGUIDE_SQL_INGEST": "0"})
            print(row(f"ShopGuide load, {kind}, Python path", r, reference), flush=True)
    load = os.getloadavg()
    print(f"load average after the runs: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if args.keep is None:
        for path in paths:
            path.unlink()


if __name__ == "__main__":
    main()
