"""The churn model in the versioned model store: a version per training, a legacy file moved in."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from churn_shop import churn_shop

from shopguide.errors import ModelFormatError, NotFittedError
from shopguide.model_store import ModelStore
from shopguide.recommend import RecommenderStore
from shopguide.retention.churn import ChurnModel, churn_features
from shopguide.retention.churn.saved import (
    CHURN,
    current_churn_file,
    load_churn,
    migrate_legacy_churn,
    publish_churn,
)


def _events(n: int = 200, seed: int = 0) -> pd.DataFrame:
    return churn_shop(n, seed)


@pytest.fixture(scope="module")
def two_models() -> tuple[ChurnModel, ChurnModel, pd.DataFrame]:
    events = _events()
    first = ChurnModel(horizon_days=60).fit(events, "2023-07-01")
    second = ChurnModel(horizon_days=45, blend_logistic=False).fit(events, "2023-08-01")
    return first, second, churn_features(events, "2023-09-01", 60)


def test_two_trainings_are_two_versions_and_the_second_is_current(
    tmp_path: Path, two_models: tuple[ChurnModel, ChurnModel, pd.DataFrame]
) -> None:
    first, second, X = two_models
    store = ModelStore(tmp_path)
    assert load_churn(store) is None and current_churn_file(store) is None
    assert publish_churn(store, first) == "v0001"
    assert publish_churn(store, second) == "v0002"
    folder = tmp_path / "models" / "churn"
    assert (folder / "CURRENT").read_text().strip() == "v0002"
    assert sorted(p.name for p in (folder / "v0002").iterdir()) == ["meta.json", "model.skops"]
    saved = load_churn(store)
    assert saved is not None and saved.version == "v0002"
    assert saved.file == folder / "v0002" / "model.skops" == current_churn_file(store)
    assert saved.model.horizon_days == 45
    np.testing.assert_array_equal(
        saved.model.predict_proba_features(X[saved.model.feature_names_]),
        second.predict_proba_features(X[second.feature_names_]),
    )
    older = load_churn(store, "v0001")
    assert older is not None and older.model.horizon_days == 60
    meta = json.loads((folder / "v0002" / "meta.json").read_text())
    assert meta["kind"] == "churn" and meta["horizon_days"] == 45


def test_prune_keeps_the_newest_churn_versions(
    tmp_path: Path, two_models: tuple[ChurnModel, ChurnModel, pd.DataFrame]
) -> None:
    store = ModelStore(tmp_path)
    for _ in range(4):
        publish_churn(store, two_models[0])
    assert store.prune(CHURN, 2) == ["v0001", "v0002"]
    assert store.versions(CHURN) == ["v0003", "v0004"]
    saved = load_churn(store)
    assert saved is not None and saved.version == "v0004"


def test_a_failed_save_publishes_nothing(
    tmp_path: Path, two_models: tuple[ChurnModel, ChurnModel, pd.DataFrame]
) -> None:
    store = ModelStore(tmp_path)
    publish_churn(store, two_models[0])
    with pytest.raises(NotFittedError):
        publish_churn(store, ChurnModel())
    assert store.versions(CHURN) == ["v0001"] and store.current_version(CHURN) == "v0001"
    assert not [p for p in (tmp_path / "models" / "churn").iterdir() if p.name.startswith(".")]


def test_a_legacy_churn_file_is_moved_into_the_store_and_still_loads(
    tmp_path: Path, two_models: tuple[ChurnModel, ChurnModel, pd.DataFrame]
) -> None:
    first, second, X = two_models
    legacy = tmp_path / "models" / "churn.skops"
    first.save(legacy)
    store = ModelStore(tmp_path)
    assert current_churn_file(store) == legacy  # reading the path moves nothing
    saved = load_churn(store)
    assert saved is not None and saved.version == "v0001" and not legacy.exists()
    assert store.meta(CHURN, "v0001")["migrated_from"] == "churn.skops"
    np.testing.assert_array_equal(
        saved.model.predict_proba_features(X[saved.model.feature_names_]),
        first.predict_proba_features(X[first.feature_names_]),
    )
    assert migrate_legacy_churn(store) is None  # once only
    # a store whose legacy file was never loaded keeps it as the version before a new training
    other = ModelStore(tmp_path / "other")
    first.save(other.root / "churn.skops")
    assert publish_churn(other, second) == "v0002"
    assert other.meta(CHURN, "v0001")["migrated_from"] == "churn.skops"


def test_a_damaged_legacy_file_is_refused_and_a_new_training_replaces_it(
    tmp_path: Path, two_models: tuple[ChurnModel, ChurnModel, pd.DataFrame]
) -> None:
    legacy = tmp_path / "models" / "churn.skops"
    two_models[0].save(legacy)
    legacy.write_bytes(legacy.read_bytes()[:200])
    store = ModelStore(tmp_path)
    with pytest.raises(ModelFormatError, match="shopguide churn train"):
        load_churn(store)
    assert legacy.exists() and store.versions(CHURN) == []  # nothing moved, nothing lost
    assert publish_churn(store, two_models[1]) == "v0001"
    saved = load_churn(store)
    assert saved is not None and saved.model.horizon_days == 45


def test_churn_is_not_a_recommender_in_the_store(
    tmp_path: Path, two_models: tuple[ChurnModel, ChurnModel, pd.DataFrame]
) -> None:
    publish_churn(ModelStore(tmp_path), two_models[0])
    recommenders = RecommenderStore(tmp_path)
    assert [m.name for m in recommenders.models(kind="recommender")] == []
    assert [(m.name, m.kind) for m in recommenders.models()] == [("churn", "churn")]
    with pytest.raises(ValueError, match="unknown model 'churn'"):
        recommenders.load("churn")
