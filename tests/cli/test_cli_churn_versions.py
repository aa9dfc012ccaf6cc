"""``shopguide churn train`` says which version it saved; ``churn score`` which it loaded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from shopguide.cli.app import app
from shopguide.data.ingest import ingest_frame
from shopguide.store import open_store

runner = CliRunner()


def _events(n: int = 150, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n):
        t, stop = rng.uniform(0, 30), rng.uniform(60, 500)
        while t < min(stop, 300):
            rows.append((f"u{u}", pd.Timestamp("2023-01-01") + pd.Timedelta(days=float(t))))
            t += rng.exponential(20)
    return pd.DataFrame(
        {
            "user_id": [r[0] for r in rows],
            "item_id": "x",
            "event_type": "purchase",
            "timestamp": [r[1] for r in rows],
            "quantity": 1.0,
            "price": rng.gamma(2, 10, len(rows)).round(2),
        }
    )


def test_churn_train_reports_the_version_it_saved(tmp_path: Path) -> None:
    db = tmp_path / "shop.duckdb"
    with open_store(db) as store:
        ingest_frame(store, "events", _events(), source="events.csv")
    first = runner.invoke(app, ["churn", "train", "--horizon", "45", "--db", str(db), "--json"])
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    folder = tmp_path / "models" / "churn"
    assert report["model_version"] == "v0001" and report["pruned"] == []
    assert report["model_file"] == str(folder / "v0001" / "model.skops")
    second = runner.invoke(app, ["churn", "train", "--horizon", "45", "--db", str(db)])
    assert second.exit_code == 0, second.output
    assert "trained and saved the churn model (version v0002, " in second.stdout
    assert (folder / "CURRENT").read_text().strip() == "v0002"
    scored = runner.invoke(app, ["churn", "score", "--db", str(db), "--json"])
    assert scored.exit_code == 0, scored.output
    assert json.loads(scored.stdout)["model_version"] == "v0002"
