"""``shopguide erase`` and ``shopguide export-user`` on a real store file."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import typer
from typer.testing import CliRunner

from shopguide.cli import privacy
from shopguide.data.ingest import ingest_frame
from shopguide.store import open_store
from shopguide.workflows.serving.live_ingest import ingest_events


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """test app"""

    privacy.register(app)
    return app


def _store(path: Path) -> None:
    events = pd.DataFrame(
        {
            "user_id": ["ann", "ann", "bob", "ann-2"],
            "item_id": ["i1", "i2", "i1", "i1"],
            "event_type": ["purchase", "view", "purchase", "view"],
            "timestamp": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"],
        }
    )
    users = pd.DataFrame({"user_id": ["ann", "bob"], "location": ["Oslo", "Rome"]})
    with open_store(path) as store:
        ingest_frame(store, "users", users, source="users.csv")
        ingest_frame(store, "events", events, source="events.csv")
        # a quarantined row mentioning ann (and one mentioning ann-2, a different user)
        ingest_frame(
            store, "events",
            pd.DataFrame({"user_id": ["ann", "ann-2"], "item_id": ["i9", "i9"],
                          "event_type": ["teleport", "teleport"],
                          "timestamp": ["2024-01-05", "2024-01-05"]}),
            source="bad.csv",
        )  # fmt: skip


def test_export_then_erase_then_suppress(tmp_path: Path) -> None:
    db = tmp_path / "shop.duckdb"
    _store(db)
    runner = CliRunner()
    out = tmp_path / "ann.json"
    result = runner.invoke(_app(), ["export-user", "ann", "--db", str(db), "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert len(data["events"]) == 2 and data["users"][0]["location"] == "Oslo"

    result = runner.invoke(_app(), ["erase", "ann", "--yes", "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    deleted = json.loads(result.output)["deleted"]
    assert deleted["events"] == 2 and deleted["users"] == 1 and deleted["quarantine"] == 1

    with open_store(db) as store:
        assert store.scalar("SELECT count(*) FROM events WHERE user_id = 'ann'") == 0
        assert store.scalar("SELECT count(*) FROM events WHERE user_id = 'ann-2'") == 1
        assert store.scalar("SELECT count(*) FROM quarantine") == 1  # ann-2's row stays
        assert store.scalar("SELECT count(*) FROM users") == 1
        # the suppression list holds a hash, not the id
        assert store.scalar("SELECT count(*) FROM suppressed_users WHERE user_hash = 'ann'") == 0
        later = ingest_events(
            store,
            [{"user_id": "ann", "item_id": "i1", "event_type": "view",
              "timestamp": "2024-02-01"},
             {"user_id": "bob", "item_id": "i2", "event_type": "view",
              "timestamp": "2024-02-01"}],
        )  # fmt: skip
        assert later.report.accepted == 1 and later.report.rejected == 1
        assert later.rejected[0]["reason"] == "user erased"
        assert store.scalar("SELECT count(*) FROM events WHERE user_id = 'ann'") == 0

    gone = runner.invoke(_app(), ["export-user", "ann", "--db", str(db), "--json"])
    assert gone.exit_code == 2 and "unknown user" in gone.output
