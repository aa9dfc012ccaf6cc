"""Typing a chunk of events: plain Python (``plain_table``) against pandas (``validate_chunk``).

A load types each chunk of a file with ``validate_chunk``, column by column with pandas and
pyarrow; chunks of up to ``PLAIN_ROWS`` plainly valid rows (an API batch) are typed by
``plain_table`` in a loop instead. This prints both times for chunks of API-like events of
several sizes, side by side, so ``PLAIN_ROWS`` can be set where the loop stops being cheaper.

    python benchmarks/bench_plain_rows.py
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from shopguide.columns import EVENT_FILE_COLUMNS
from shopguide.data.plain_rows import PLAIN_ROWS, plain_table
from shopguide.data.validate import EVENTS, validate_chunk

OUT = Path(__file__).parent / "output"


def api_frame(rows: int) -> pd.DataFrame:
    """``rows`` purchases as the service's event endpoint hands them to ingestion."""
    events = [
        {
            "event_id": f"api-{i}",
            "user_id": f"u{i * 7919 % 1_000_000:07d}",
            "item_id": f"i{i % 2000:05d}",
            "event_type": "purchase",
            "timestamp": f"2024-06-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00",
            "quantity": 1 + i % 3,
            "price": round(5 + (i % 100) * 0.37, 2),
        }
        for i in range(rows)
    ]
    frame = pd.DataFrame(events, columns=list(EVENT_FILE_COLUMNS)).astype(object)
    return frame.where(frame.notna(), None)


def median_ms(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return float(np.median(times) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,100,250,500,1000,2000")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    print(f"PLAIN_ROWS = {PLAIN_ROWS} (chunks up to it go through plain_table)")
    print(f"{'rows':>6} {'plain_table ms':>15} {'validate_chunk ms':>18} {'ratio':>6}")
    results = []
    for rows in (int(s) for s in args.sizes.split(",")):
        frame = api_frame(rows)

        def plain(frame: pd.DataFrame = frame, rows: int = rows) -> object:
            table = plain_table(EVENTS, frame, max_rows=rows)  # past PLAIN_ROWS too
            assert table is not None and len(table) == rows
            return table

        plain_ms = median_ms(plain, args.repeats)
        pandas_ms = median_ms(lambda frame=frame: validate_chunk(EVENTS, frame), args.repeats)
        results.append({"rows": rows, "plain_ms": plain_ms, "validate_chunk_ms": pandas_ms})
        print(f"{rows:>6} {plain_ms:>15.2f} {pandas_ms:>18.2f} {pandas_ms / plain_ms:>5.1f}x")
    OUT.mkdir(exist_ok=True)
    (OUT / "bench_plain_rows.json").write_text(json.dumps(results, indent=2))
    print(f"wrote {OUT / 'bench_plain_rows.json'}")


if __name__ == "__main__":
    main()
