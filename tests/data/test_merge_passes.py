"""A load's insert runs in passes of consecutive lines (a 10M-event load into a 10M-event store
did not fit the load's 1 GB in one statement); the passes store exactly what one pass stores,
in the file's line order."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopguide.data import merge
from shopguide.data.ingest import ingest_file
from shopguide.store import open_store

HEADER = "event_id,user_id,item_id,event_type,timestamp,quantity,price\n"
FIRST = HEADER + "".join(
    f"e{i},u{i % 3},i{i % 4},view,2024-01-0{1 + i % 5},1,2\n" for i in range(8)
)
# held events (e2, e5), ids repeated in the file (e20 twice, far apart), rows without an id
# whose content repeats (their keys number the repeats), a bad row and new events
SECOND = HEADER + "".join(
    [
        "e2,u2,i2,view,2024-01-03,1,2\n",
        "e20,u1,i1,cart,2024-02-01,1,5\n",
        ",u1,i3,view,2024-02-02,1,1\n",
        "e21,u2,i1,purchase,2024-02-03,2,7.5\n",
        ",u1,i3,view,2024-02-02,1,1\n",
        "e22,u0,i0,view,not a date,1,1\n",
        "e5,u2,i1,view,2024-01-01,1,2\n",
        "e23,u0,i2,click,2024-02-04,,\n",
        "e20,u1,i1,cart,2024-02-09,1,5\n",
        ",u1,i3,view,2024-02-02,1,1\n",
        "e24,u1,i0,view,2024-02-05,1,1\n",
    ]
)


def _load_twice(tmp_path: Path, name: str) -> tuple[list, list]:
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text(FIRST)
    second.write_text(SECOND)
    with open_store(tmp_path / f"{name}.duckdb") as store:
        ingest_file(store, "events", first)
        report = ingest_file(store, "events", second)
        rows = store.query_df(
            "SELECT event_key, user_id, item_id, event_type, timestamp, load_id "
            "FROM events ORDER BY rowid"
        ).values.tolist()
    return rows, [report.rows_read, report.accepted, report.rejected, report.duplicates]


@pytest.mark.parametrize("sql_path", ["1", "0"])
def test_passes_of_three_lines_store_what_one_pass_stores(tmp_path, monkeypatch, sql_path):
    monkeypatch.setenv("SHOPGUIDE_SQL_INGEST", sql_path)
    whole = _load_twice(tmp_path, "whole")
    monkeypatch.setattr(merge, "_ROWS_PER_INSERT", 3)
    passes = _load_twice(tmp_path, "passes")
    assert passes == whole
    rows, counts = whole
    assert counts == [11, 7, 1, 3]  # held back: e2, e5 (stored) and the second e20
    keys = [r[0] for r in rows if r[5] == 2]
    # the file's line order, the id-less repeats numbered 1, 2, 3
    shape = [k if k.startswith("id:") else "h:" + k.rsplit(":", 1)[1] for k in keys]
    assert shape == ["id:e20", "h:1", "id:e21", "h:2", "id:e23", "h:3", "id:e24"]
