"""``shopguide train`` deletes the versions beyond the newest ``--keep`` (or
``SHOPGUIDE_KEEP_VERSIONS``) after publishing."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from shopguide.cli.app import app
from shopguide.data.ingest import ingest_frame
from shopguide.store import open_store

runner = CliRunner()


def _train(db: Path, *extra: str) -> dict[str, object]:
    result = runner.invoke(app, ["train", "popular", "--db", str(db), "--json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_train_keeps_the_newest_versions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "shop.duckdb"
    events = pd.DataFrame(
        {"user_id": ["a", "a", "b"], "item_id": ["i1", "i2", "i1"],
         "event_type": ["purchase"] * 3, "timestamp": ["2024-01-01"] * 3}
    )  # fmt: skip
    with open_store(db) as store:
        ingest_frame(store, "events", events, source="events.csv")
    monkeypatch.setenv("SHOPGUIDE_KEEP_VERSIONS", "3")
    for _ in range(4):
        last = _train(db)
    folder = tmp_path / "models" / "popular"
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == ["v0002", "v0003", "v0004"]
    assert last["pruned"] == ["v0001"]
    assert _train(db, "--keep", "1")["pruned"] == ["v0002", "v0003", "v0004"]
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == ["v0005"]


def test_train_help_names_every_model_of_the_catalogue() -> None:
    from typer.testing import CliRunner

    from shopguide.cli.app import app
    from shopguide.recommend.catalogue import MODEL_NAMES

    result = CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    missing = [name for name in MODEL_NAMES if name not in text.replace("│", " ")]
    assert not missing, missing
