"""``export-user`` writes its JSON a batch of rows at a time: the streamed document is the same
as the one built in memory, and a file appears only once it is complete."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from shopguide.cli.app import app
from shopguide.data.ingest import ingest_file, ingest_frame
from shopguide.errors import UnknownIdError
from shopguide.profiles import build_profiles
from shopguide.store import open_store
from shopguide.workflows import privacy

USER = "zoë-1"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(tmp_path_factory.mktemp("export"))
    events = pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(12)],
            "user_id": [USER] * 9 + ["other"] * 3,
            "item_id": [f"i{i % 4}" for i in range(12)],
            "event_type": ["view", "purchase", "cart"] * 4,
            "timestamp": pd.date_range("2024-01-01 10:00:00.123456", periods=12, freq="7h"),
            "quantity": [1.0, 2.0, None] * 4,
            "price": [9.5, None, 3.25] * 4,
        }
    )
    bad = folder / "bad.csv"
    bad.write_text(f"user_id,item_id,event_type,timestamp\n{USER},i1,teleport,2024-02-01\n")
    db = folder / "shop.duckdb"
    with open_store(db) as store:
        ingest_frame(store, "users", pd.DataFrame({"user_id": [USER], "age": [33]}), source="u")
        ingest_frame(store, "events", events, source="events")
        ingest_file(store, "events", bad)
        build_profiles(store)
    return db


def test_the_streamed_export_is_the_document_built_in_memory(shop, monkeypatch):
    monkeypatch.setattr(privacy, "_EXPORT_BATCH_ROWS", 2)  # several batches per table
    with open_store(shop) as store:
        whole = privacy.export_user(store, USER)
        sink = io.StringIO()
        counts = privacy.write_user_export(store, USER, sink)
    streamed = json.loads(sink.getvalue())
    assert streamed.pop("exported_at") and whole.pop("exported_at")
    assert streamed == whole
    assert counts == {t: len(v) for t, v in whole.items() if t != "user_id"}
    assert counts["events"] == 9 and counts["quarantine"] == 1 and counts["profiles"] == 1
    prices = {e["event_id"]: e["price"] for e in streamed["events"]}
    assert prices["e0"] == 9.5 and prices["e1"] is None and prices["e2"] == 3.25


def test_an_unknown_user_writes_nothing(shop):
    with open_store(shop) as store:
        sink = io.StringIO()
        with pytest.raises(UnknownIdError):
            privacy.write_user_export(store, "nobody", sink)
    assert sink.getvalue() == ""
    out = shop.parent / "nobody.json"
    result = CliRunner().invoke(
        app, ["export-user", "nobody", "--db", str(shop), "--out", str(out)]
    )
    assert result.exit_code == 2 and "nobody" in result.output
    assert not out.exists() and not out.with_name("nobody.json.part").exists()


def test_the_cli_writes_the_file_and_counts_its_rows(shop):
    out = shop.parent / "mine.json"
    result = CliRunner().invoke(
        app, ["export-user", USER, "--db", str(shop), "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    data = json.loads(out.read_text(encoding="utf-8"))
    assert report["rows"]["events"] == len(data["events"]) == 9
    assert data["user_id"] == USER and data["users"][0]["age"] == 33
