"""``train`` and ``compare`` estimate each model's memory first and adapt or skip what would
not fit ``--memory-budget`` (or ``SHOPGUIDE_MEMORY_BUDGET``), saying why."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from shopguide.cli.app import app
from shopguide.data.ingest import ingest_frame
from shopguide.store import open_store

runner = CliRunner()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 users buying ~960 of 1,500 items over 60 days (dense EASE: ~22 MB)."""
    rng = np.random.default_rng(1)
    weights = 1.0 / np.arange(1, 1501) ** 0.7
    n = 300 * 8
    events = pd.DataFrame(
        {
            "user_id": [f"u{u}" for u in np.repeat(np.arange(300), 8)],
            "item_id": [f"i{i}" for i in rng.choice(1500, size=n, p=weights / weights.sum())],
            "event_type": "purchase",
            "timestamp": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 60 * 24, size=n), unit="h"),
        }
    )
    path = tmp_path_factory.mktemp("budget") / "shop.duckdb"
    with open_store(path) as store:
        ingest_frame(store, "events", events, source="events.csv")
    return path


def test_train_adapts_ease_to_the_budget(db: Path) -> None:
    result = runner.invoke(
        app, ["train", "ease", "--memory-budget", "8MB", "--db", str(db), "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["model"] == "ease-large"
    assert payload["plan"]["action"] == "adapted"
    assert payload["plan"]["original_cost"]["memory_bytes"] > 8_000_000
    assert payload["plan"]["cost"]["memory_bytes"] <= 8_000_000
    assert (db.parent / "models" / "ease-large" / payload["version"]).is_dir()
    assert not (db.parent / "models" / "ease").exists()


def test_train_skips_a_model_that_cannot_fit_and_says_what_to_do(db: Path) -> None:
    result = runner.invoke(app, ["train", "item-knn", "--memory-budget", "100kB", "--db", str(db)])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "item-knn would need about" in text and "budget 100.0 kB" in text
    assert "--memory-budget" in text and "Traceback" not in result.output
    assert not (db.parent / "models" / "item-knn").exists()


def test_a_bad_budget_is_a_clear_error(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = runner.invoke(app, ["train", "popular", "--memory-budget", "lots", "--db", str(db)])
    assert result.exit_code == 2 and "memory budget 'lots' is not a size" in result.output
    monkeypatch.setenv("SHOPGUIDE_MEMORY_BUDGET", "-5")
    result = runner.invoke(app, ["train", "popular", "--db", str(db), "--json"])
    assert result.exit_code == 2
    assert "SHOPGUIDE_MEMORY_BUDGET" in json.loads(result.stdout)["error"]


def test_compare_adapts_and_reports_the_plan(db: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["compare", "--model", "ease", "--model", "popular", "--memory-budget", "8MB",
         "--no-publish", "--out", str(tmp_path / "cmp"), "--db", str(db), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["budget"]["ease"]["action"] == "adapted"
    assert payload["budget"]["ease"]["model"] == "ease-large"
    assert payload["budget"]["popular"]["action"] == "fit"
    assert {row["model"] for row in payload["table"]} == {"ease-large", "popular"}


def test_the_eta_bar_advances_with_the_estimate_and_stops_short_of_the_end() -> None:
    from shopguide.cli.fit_budget import EtaTicker
    from shopguide.recommend.cost import Cost

    seen: list[tuple[int, int]] = []
    ticker = EtaTicker(lambda done, total: seen.append((done, total)))
    ticker.step(0.4, "fitting ease", Cost(0, 0.5))
    time.sleep(1.2)  # past the estimate: the bar waits below the fitting step's end
    ticker.stop()
    fractions = [done / total for done, total in seen]
    assert fractions[0] == 0.4 and fractions == sorted(fractions)
    assert 0.4 < fractions[-1] < 0.85
    ticker.step(0.85, "publishing", Cost(0, 0.5))
    assert seen[-1] == (850, 1000) and ticker._thread is None
