"""A load that runs out of DuckDB's memory says so and how to fix it, stores nothing, and the
same command with more memory then loads the file whole."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from shopguide.store import open_store

SHOPGUIDE = Path(sys.executable).with_name("shopguide")
HEADER = "event_id,user_id,item_id,event_type,timestamp,quantity,price\n"


def _run(*args: str, limit: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SHOPGUIDE_MEMORY_LIMIT"}
    if limit:
        env["SHOPGUIDE_MEMORY_LIMIT"] = limit
    return subprocess.run(
        [str(SHOPGUIDE), *args], capture_output=True, text=True, env=env, timeout=600, check=False
    )


def test_an_out_of_memory_load_is_an_error_to_act_on_and_stores_nothing(tmp_path):
    path = tmp_path / "events.csv"
    rows = (f"e{i},u{i % 5000},i{i % 700},view,2024-01-01T10:00:00,1,1.5\n" for i in range(300_000))
    path.write_text(HEADER + "".join(rows))
    db = str(tmp_path / "sg.duckdb")
    with open_store(db):
        pass
    failed = _run("ingest", "events", str(path), "--db", db, "--json", limit="4MB")
    assert failed.returncode == 2, failed.stderr
    error = json.loads(failed.stdout)
    assert error["type"] == "StoreMemoryError"
    assert error["error"].startswith("the store ran out of memory: Out of Memory Error")
    assert "SHOPGUIDE_MEMORY_LIMIT" in error["hint"] and "Traceback" not in failed.stderr
    with open_store(db) as store:
        assert store.scalar("SELECT count(*) FROM events") == 0
        assert store.scalar("SELECT count(*) FROM loads") == 0
    plain = _run("ingest", "events", str(path), "--db", db, limit="4MB")
    assert plain.returncode == 2 and "how to fix" in plain.stderr + plain.stdout
    assert "Traceback" not in plain.stderr
    done = _run("ingest", "events", str(path), "--db", db, "--json", limit=None)
    assert done.returncode == 0, done.stderr
    with open_store(db) as store:
        assert store.scalar("SELECT count(*) FROM events") == 300_000
