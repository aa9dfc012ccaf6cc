"""The versioned model store shared by every kind of model: kinds, listing, atomic publish."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopguide.errors import InputError, ModelFormatError
from shopguide.model_store import RECOMMENDER, ModelStore, StoredModel


def _writer(text: str) -> Callable[[Path], None]:
    def write(folder: Path) -> None:
        (folder / "payload.txt").write_text(text)

    return write


def test_each_name_holds_one_kind_and_listing_says_which(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    assert store.models() == [] and store.kind("churn") is None
    assert store.publish_folder("churn", _writer("a"), kind="churn") == "v0001"
    assert store.publish_folder("churn", _writer("b"), kind="churn") == "v0002"
    store.publish_folder("item-knn", _writer("c"), kind=RECOMMENDER, make_current=False)
    with pytest.raises(ModelFormatError, match="models/churn holds churn models"):
        store.publish_folder("churn", _writer("d"), kind=RECOMMENDER)
    with pytest.raises(ModelFormatError, match="holds recommender models"):
        store.publish_folder("item-knn", _writer("e"), kind="churn")
    assert store.versions("churn") == ["v0001", "v0002"]  # the refused ones left nothing
    assert store.models() == [
        StoredModel("churn", "churn", ("v0001", "v0002"), "v0002"),
        StoredModel("item-knn", RECOMMENDER, ("v0001",), None),
    ]
    assert [m.name for m in store.models(kind=RECOMMENDER)] == ["item-knn"]
    meta = store.meta("churn", "v0002")
    assert meta["kind"] == "churn" and meta["created_at"]
    assert (store.version_dir("churn", "v0002") / "payload.txt").read_text() == "b"


def test_a_version_written_before_kinds_were_recorded_is_a_recommender(tmp_path: Path) -> None:
    old = tmp_path / "models" / "ease" / "v0001"
    old.mkdir(parents=True)
    (old / "meta.json").write_text(json.dumps({"created_at": "2026-01-01", "model": "ease"}))
    store = ModelStore(tmp_path)
    assert store.kind("ease") == RECOMMENDER
    with pytest.raises(ModelFormatError, match="holds recommender models"):
        store.publish_folder("ease", _writer("x"), kind="churn")
    assert store.publish_folder("ease", _writer("y"), kind=RECOMMENDER) == "v0002"


def test_only_a_recommender_can_be_the_stores_current_model(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    version = store.publish_folder("churn", _writer("a"), kind="churn")
    with pytest.raises(ModelFormatError, match="only a recommender"):
        store.make_current("churn", version)
    assert store.current() is None


def test_a_failed_write_leaves_no_version_and_the_current_one_in_place(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    store.publish_folder("churn", _writer("good"), kind="churn")

    def broken(folder: Path) -> None:
        (folder / "half.txt").write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        store.publish_folder("churn", broken, kind="churn")
    folder = tmp_path / "models" / "churn"
    assert sorted(p.name for p in folder.iterdir()) == ["CURRENT", "v0001"]  # no staging left
    assert store.current_version("churn") == "v0001"


def test_prune_keeps_the_newest_and_the_current(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    for i in range(5):
        store.publish_folder("churn", _writer(str(i)), kind="churn")
    store.set_current("churn", "v0002")
    assert store.prune("churn", 2) == ["v0001", "v0003"]
    assert store.versions("churn") == ["v0002", "v0004", "v0005"]
    with pytest.raises(ModelFormatError, match="no version 'v0001'"):
        store.version_dir("churn", "v0001")


@given(st.text(max_size=70))
def test_a_name_is_a_plain_folder_name_or_refused(name: str) -> None:
    store = ModelStore("/nonexistent-shopguide-folder")
    plain = (
        0 < len(name) <= 64
        and name[0] in "abcdefghijklmnopqrstuvwxyz0123456789"
        and all(c in "abcdefghijklmnopqrstuvwxyz0123456789-_" for c in name)
    )
    if plain:
        assert store.versions(name) == []
    else:
        with pytest.raises(InputError, match="cannot name a stored model"):
            store.versions(name)
