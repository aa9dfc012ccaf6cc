"""A 2M-event load killed midway leaves the store as it was; a re-run gives the clean load's rows.

The load runs in a child process that SIGKILLs itself halfway through its chunks: by then the
SQL path has read the whole file into its temporary tables and staged its clean rows, so the
kill lands in the middle of a real load, not before it starts.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopguide.data.ingest import ingest_file
from shopguide.store import open_store

EVENTS = 2_000_000

KILL_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from shopguide.data import sql_ingest
    from shopguide.data.ingest import ingest_file
    from shopguide.store import open_store

    attached = []
    real = sql_ingest.SqlEventsReader.attach
    sql_ingest.SqlEventsReader.attach = lambda self, *a: (attached.append(1), real(self, *a))[1]

    def stop(chunks_done):
        if chunks_done == 4:  # of 8
            assert attached, "the load did not take the SQL path"
            os.kill(os.getpid(), signal.SIGKILL)

    store = open_store(sys.argv[1])
    ingest_file(store, "events", sys.argv[2], on_chunk=stop)
    """
)


def write_events(path: Path, n: int) -> None:
    """n events with ids, one row in a thousand with a negative price, a few repeated lines."""
    rng = np.random.default_rng(18)
    seconds = rng.integers(0, 365 * 86_400, n)
    frame = pd.DataFrame(
        {
            "event_id": np.char.add("e", np.arange(n).astype(str)),
            "user_id": np.char.add("u", rng.integers(0, 50_000, n).astype(str)),
            "item_id": np.char.add("i", rng.integers(0, 5_000, n).astype(str)),
            "event_type": rng.choice(["view", "click", "cart", "purchase"], n),
            "timestamp": (pd.Timestamp("2024-01-01") + pd.to_timedelta(seconds, unit="s")).strftime(
                "%Y-%m-%dT%H:%M:%S"
            ),
            "quantity": rng.integers(1, 4, n).astype(str),
            "price": rng.gamma(2.0, 10.0, n).round(2).astype(str),
        }
    )
    frame.loc[rng.random(n) < 0.001, "price"] = "-1"
    repeat = rng.random(n) < 0.0005
    frame.loc[repeat, "event_id"] = "e0"  # repeats of one id: the first wins, the rest duplicate
    frame.to_csv(path, index=False)


@pytest.mark.slow
def test_a_2m_event_load_killed_midway_then_rerun_equals_a_clean_load(tmp_path):
    path = tmp_path / "events.csv"
    write_events(path, EVENTS)
    db, clean_db = tmp_path / "killed.duckdb", tmp_path / "clean.duckdb"
    first = tmp_path / "first.csv"
    first.write_text(
        "event_id,user_id,item_id,event_type,timestamp\nx1,u1,i1,view,2024-01-01T00:00:00\n"
    )
    with open_store(db) as store:  # something committed before the interrupted load
        ingest_file(store, "events", first)
    proc = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, str(db), str(path)], capture_output=True, check=False
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    with open_store(db) as store:
        assert store.count("events") == 1  # nothing of the killed load
        assert store.count("loads") == 1
        assert store.count("quarantine") == 0
        rerun = ingest_file(store, "events", path)
    with open_store(clean_db) as clean:
        ingest_file(clean, "events", first)
        reference = ingest_file(clean, "events", path)
    assert rerun.rows_read == reference.rows_read == EVENTS
    assert (rerun.accepted, rerun.rejected, rerun.duplicates) == (
        reference.accepted, reference.rejected, reference.duplicates,
    )  # fmt: skip
    assert rerun.rejected > 1000 and rerun.duplicates > 500
    with open_store(db) as store:
        store.execute(f"ATTACH '{clean_db}' AS clean (READ_ONLY)")
        for table, columns in [
            ("events", "* EXCLUDE (load_id)"),
            ("quarantine", "line, column_name, value, reason, raw, user_id"),
        ]:
            differ = store.scalar(
                f"""SELECT count(*) FROM (
                        (SELECT {columns} FROM {table} EXCEPT ALL
                         SELECT {columns} FROM clean.{table})
                        UNION ALL
                        (SELECT {columns} FROM clean.{table} EXCEPT ALL
                         SELECT {columns} FROM {table}))"""
            )
            assert differ == 0, table
        assert store.count("events") == EVENTS - rerun.rejected - rerun.duplicates + 1
