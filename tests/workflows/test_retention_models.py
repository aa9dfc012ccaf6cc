"""``churn train`` saves the model in the model store next to the store; ``churn score``
loads it."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopguide.errors import ModelFormatError
from shopguide.recommend import RecommenderStore
from shopguide.store import open_store
from shopguide.workflows.publishing import model_versions, train_and_publish
from shopguide.workflows.retention import (
    churn_model_path,
    load_churn_model,
    predictions,
    score_store,
    train_churn_store,
)


def _events(n: int = 250, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n):
        t, stop = rng.uniform(0, 30), rng.uniform(60, 500)
        while t < min(stop, 300):
            rows.append((f"u{u}", pd.Timestamp("2023-01-01") + pd.Timedelta(days=float(t))))
            t += rng.exponential(20)
    return pd.DataFrame(
        {
            "event_key": [f"k{i}" for i in range(len(rows))],
            "user_id": [r[0] for r in rows],
            "item_id": "x",
            "event_type": "purchase",
            "timestamp": [r[1] for r in rows],
            "quantity": 1.0,
            "price": rng.gamma(2, 10, len(rows)),
        }
    )


def test_train_saves_and_score_loads_the_same_model(tmp_path: Path) -> None:
    db = tmp_path / "shop.duckdb"
    with open_store(db) as store:
        store.append("events", _events())
        trained = train_churn_store(store, horizon_days=60)
        path = churn_model_path(store)
        assert path == tmp_path / "models" / "churn" / "v0001" / "model.skops" and path.is_file()
        assert trained["trained"] and trained["model_file"] == str(path)
        first = predictions(store)
        # forget what training stored, so every row read below was written by the loaded model
        store.execute("DELETE FROM user_predictions")
        scored = score_store(store)
        assert not scored["trained"] and scored["horizon_days"] == 60
        assert scored["train_cutoff"] == trained["train_cutoff"]  # the report travels too
        second = predictions(store)
        # the loaded model gives exactly the numbers of the one that was trained
        pd.testing.assert_frame_equal(first, second)
        assert list(second.columns) == [
            "as_of", "user_id", "churn_probability", "churn_reasons", "p_alive",
            "expected_purchases_90d", "clv", "expected_next_order", "value_note",
        ]  # fmt: skip
        with pytest.raises(ModelFormatError, match="--horizon 30"):
            score_store(store, horizon_days=30)
        assert load_churn_model(store) is not None


def test_rescoring_after_a_new_purchase_stores_a_new_version_from_the_new_data(
    tmp_path: Path,
) -> None:
    with open_store(tmp_path / "shop.duckdb") as store:
        store.append("events", _events())
        train_churn_store(store, horizon_days=60)
        before = predictions(store)
        old_day = before["as_of"].iloc[0]
        riskiest = before.iloc[0]
        # the riskiest buyer comes back the day after the last event
        later = pd.DataFrame(
            {
                "event_key": ["k-later"],
                "user_id": [riskiest["user_id"]],
                "item_id": "x",
                "event_type": "purchase",
                "timestamp": [old_day + pd.Timedelta(days=1, hours=12)],
                "quantity": 1.0,
                "price": 25.0,
            }
        )
        store.append("events", later)
        score_store(store)
        after = predictions(store)
        assert (after["as_of"] == old_day + pd.Timedelta(days=1)).all()
        assert len(after) == len(before)
        # the earlier version is kept as it was
        pd.testing.assert_frame_equal(predictions(store, as_of=str(old_day)), before)
        # the buyer who just bought is no longer the riskiest, and their risk fell
        now = after.set_index("user_id").loc[riskiest["user_id"]]
        assert now["churn_probability"] < riskiest["churn_probability"]
        assert after.iloc[0]["user_id"] != riskiest["user_id"]


def test_score_without_a_saved_model_trains_one(tmp_path: Path) -> None:
    with open_store(tmp_path / "shop.duckdb") as store:
        store.append("events", _events(150, seed=6))
        result = score_store(store, horizon_days=45)
        assert result["trained"] and churn_model_path(store).is_file()  # type: ignore[union-attr]
        assert score_store(store)["trained"] is False


def test_a_damaged_model_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    with open_store(tmp_path / "shop.duckdb") as store:
        store.append("events", _events(150, seed=7))
        train_churn_store(store, horizon_days=45)
        path = churn_model_path(store)
        assert path is not None
        path.write_bytes(path.read_bytes()[:200])
        with pytest.raises(ModelFormatError, match="shopguide churn train"):
            score_store(store)


def test_each_training_is_a_version_scoring_uses_the_current_and_old_ones_are_pruned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPGUIDE_KEEP_VERSIONS", "2")
    with open_store(tmp_path / "shop.duckdb") as store:
        store.append("events", _events(150, seed=8))
        reports = [train_churn_store(store, horizon_days=h) for h in (30, 45, 60)]
        folder = tmp_path / "models" / "churn"
        assert [r["model_version"] for r in reports] == ["v0001", "v0002", "v0003"]
        assert [r["pruned"] for r in reports] == [[], [], ["v0001"]]
        assert sorted(p.name for p in folder.iterdir()) == ["CURRENT", "v0002", "v0003"]
        assert reports[2]["model_file"] == str(folder / "v0003" / "model.skops")
        scored = score_store(store)
        assert (scored["model_version"], scored["horizon_days"]) == ("v0003", 60)
        assert churn_model_path(store) == folder / "v0003" / "model.skops"


def test_a_store_with_an_unversioned_churn_model_keeps_it(tmp_path: Path) -> None:
    with open_store(tmp_path / "shop.duckdb") as store:
        store.append("events", _events(150, seed=9))
        train_churn_store(store, horizon_days=45)
        first = predictions(store)
        store.execute("DELETE FROM user_predictions")
    # turn the store into one written before versioning: one models/churn.skops
    models = tmp_path / "models"
    (models / "churn" / "v0001" / "model.skops").rename(models / "churn.skops")
    shutil.rmtree(models / "churn")
    with open_store(tmp_path / "shop.duckdb") as store:
        assert churn_model_path(store) == models / "churn.skops"
        scored = score_store(store)
        assert not scored["trained"] and scored["model_version"] == "v0001"
        assert not (models / "churn.skops").exists()
        assert (models / "churn" / "v0001" / "model.skops").is_file()
        pd.testing.assert_frame_equal(predictions(store), first)


def test_the_recommender_listing_does_not_show_the_churn_model(tmp_path: Path) -> None:
    with open_store(tmp_path / "shop.duckdb") as store:
        store.append("events", _events(150, seed=10))
        train_churn_store(store, horizon_days=45)
        model_store = RecommenderStore.for_store(store.path)
        train_and_publish(store, model_store, "popular")
    listed = model_versions(model_store)
    assert [(v["model"], v["version"]) for v in listed] == [("popular", "v0001")]
    kinds = {m.name: m.kind for m in model_store.models()}
    assert kinds == {"churn": "churn", "popular": "recommender"}
