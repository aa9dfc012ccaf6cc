"""The model registry: versions, atomic CURRENT pointer, load reproduces output."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopguide.data.idmap import IdMap
from shopguide.errors import ModelFormatError, ParameterError, UnknownModelError
from shopguide.recommend import ItemKNN, Popular, RecommenderStore
from shopguide.recommend.catalogue import MODEL_NAMES, create_model

USERS = IdMap([f"u{j}" for j in range(8)], kind="user")
ITEMS = IdMap([f"i{j}" for j in range(10)], kind="item")


def test_publish_versions_and_load_current(tiny, tmp_path) -> None:
    registry = RecommenderStore(tmp_path)
    assert registry.versions("item-knn") == [] and registry.current_version("item-knn") is None
    first = ItemKNN(k=3).fit(tiny)
    v1 = registry.publish("item-knn", first, USERS, ITEMS, {"note": "first"})
    second = ItemKNN(k=5).fit(tiny)
    v2 = registry.publish("item-knn", second, USERS, ITEMS)
    assert (v1, v2) == ("v0001", "v0002")
    assert registry.versions("item-knn") == ["v0001", "v0002"]
    assert (tmp_path / "models" / "item-knn" / "CURRENT").read_text().strip() == "v0002"
    loaded = registry.load("item-knn")
    assert loaded.version == "v0002" and loaded.model.get_params()["k"] == 5
    assert loaded.users == USERS and loaded.items == ITEMS
    for a, b in zip(
        second.recommend(np.arange(8), tiny, n=4),
        loaded.model.recommend(np.arange(8), tiny, n=4),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)
    registry.set_current("item-knn", "v0001")  # roll back
    back = registry.load("item-knn")
    assert back.version == "v0001" and back.meta["note"] == "first"
    assert not [p for p in (tmp_path / "models" / "item-knn").iterdir() if p.name.startswith(".")]


def test_registry_errors(tiny, tmp_path) -> None:
    registry = RecommenderStore.for_store(tmp_path / "shop.duckdb")
    assert registry.root == (tmp_path / "models").resolve()
    with pytest.raises(ModelFormatError, match="no published version"):
        registry.load("popular")
    model = Popular().fit(tiny)
    with pytest.raises(ValueError, match="not 'ease'"):
        registry.publish("ease", model, USERS, ITEMS)
    with pytest.raises(ValueError, match="id maps"):
        registry.publish("popular", model, USERS, IdMap(["x"]))
    with pytest.raises(ValueError, match="unknown model"):
        registry.versions("magic")
    registry.publish("popular", model, USERS, ITEMS, make_current=False)
    assert registry.current_version("popular") is None
    with pytest.raises(ModelFormatError, match="no version"):
        registry.set_current("popular", "v0009")


def test_parse_params_from_cli_strings() -> None:
    from shopguide.recommend.catalogue import parse_params

    params = parse_params(
        "item-knn", ["k=20", "similarity=jaccard", "shrink=2.5", "normalize=false"]
    )
    assert params == {"k": 20, "similarity": "jaccard", "shrink": 2.5, "normalize": False}
    assert parse_params("item-knn", ["weighting=bm25"]) == {"weighting": "bm25"}
    assert parse_params("ease", ["regularization=100"]) == {"regularization": 100.0}
    with pytest.raises(ValueError, match="bad parameter"):
        parse_params("ease", ["lambda=3"])
    with pytest.raises(ValueError):
        parse_params("item-knn", ["k=many"])


def test_prune_keeps_the_newest_the_current_and_the_protected(tiny, tmp_path) -> None:
    registry = RecommenderStore(tmp_path)
    model = Popular().fit(tiny)
    for _ in range(6):
        registry.publish("popular", model, USERS, ITEMS)
    registry.set_current("popular", "v0002")  # rolled back to an old version
    removed = registry.prune("popular", 2, protect=["v0003"])
    assert removed == ["v0001", "v0004"]
    assert registry.versions("popular") == ["v0002", "v0003", "v0005", "v0006"]
    assert registry.load("popular").version == "v0002"
    folder = tmp_path / "models" / "popular"
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith("v")) == [
        "v0002", "v0003", "v0005", "v0006"
    ]  # fmt: skip
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no trash left
    assert registry.publish("popular", model, USERS, ITEMS) == "v0007"  # numbering goes on
    assert registry.prune("popular", 10) == []
    with pytest.raises(ValueError, match="at least 1"):
        registry.prune("popular", 0)


def test_the_stores_current_model_is_one_record_naming_model_and_version(tiny, tmp_path) -> None:
    registry = RecommenderStore(tmp_path)
    assert registry.current() is None
    v1 = registry.publish("item-knn", ItemKNN(k=3).fit(tiny), USERS, ITEMS)
    assert registry.current() is None  # publishing alone does not choose the store's model
    registry.make_current("item-knn", v1, reason="first")
    pop = registry.publish("popular", Popular().fit(tiny), USERS, ITEMS)
    record = registry.make_current("popular", pop, reason="compare winner")
    current = registry.current()
    assert current == record and (current.model, current.version) == ("popular", "v0001")
    assert current.reason == "compare winner" and current.set_at
    v2 = registry.publish("item-knn", ItemKNN(k=5).fit(tiny), USERS, ITEMS)
    assert registry.current().model == "popular"  # a newer item-knn does not move it
    assert registry.current_version("item-knn") == v2
    with pytest.raises(ModelFormatError, match="no version 'v0009'"):
        registry.make_current("item-knn", "v0009")
    assert registry.current().model == "popular"  # a refused change leaves it as it was
    assert not [p for p in (tmp_path / "models").iterdir() if p.name.startswith(".")]
    (tmp_path / "models" / "current.json").write_text("{not json")
    with pytest.raises(ModelFormatError, match="current-model record"):
        registry.current()


def test_prune_never_removes_the_stores_current_model(tiny, tmp_path) -> None:
    registry = RecommenderStore(tmp_path)
    first = registry.publish("item-knn", ItemKNN(k=3).fit(tiny), USERS, ITEMS)
    registry.make_current("item-knn", first)
    for _ in range(3):
        registry.publish("item-knn", ItemKNN(k=4).fit(tiny), USERS, ITEMS)
    assert registry.prune("item-knn", keep=1) == ["v0002", "v0003"]
    assert registry.versions("item-knn") == [first, "v0004"]
    assert registry.load("item-knn", registry.current().version).version == first  # type: ignore[union-attr]


_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 500), st.floats(allow_nan=False), st.text(max_size=8)
)


@given(name=st.sampled_from(MODEL_NAMES), data=st.data(), value=_VALUES)
@settings(max_examples=300, deadline=None)
def test_create_model_takes_a_parameter_or_says_which_are_wrong(name, data, value) -> None:
    """Half the keys drawn are the model's own parameters (so values are really checked), half
    any text: a model is made with exactly that value, or a ParameterError names the key."""
    from shopguide.recommend.catalogue import model_class

    known = model_class(name)().get_params()
    key = data.draw(st.one_of(st.sampled_from(sorted(known)), st.text(min_size=1, max_size=12)))
    try:
        model = create_model(name, **{key: value})
    except ParameterError as error:  # never a TypeError from the constructor
        assert repr(key) in error.message or key in error.message, error.message
        return
    assert key in known and model.get_params()[key] == value


def test_a_parameter_called_name_is_refused_like_any_unknown_one() -> None:
    """``name`` is create_model's own argument: as a model parameter it was a TypeError."""
    with pytest.raises(ParameterError) as caught:
        create_model("item-knn", name="x")
    assert "'name'" in caught.value.message


def test_a_misspelt_model_name_gets_the_closest_suggested() -> None:
    with pytest.raises(UnknownModelError) as caught:
        create_model("itemknn")
    assert caught.value.suggestion == "item-knn"
    assert caught.value.hint.startswith("did you mean 'item-knn'? choose one of user-knn")
    with pytest.raises(UnknownModelError) as caught:
        create_model("zzz")
    assert caught.value.suggestion is None


def test_the_old_name_of_the_store_still_works_and_says_the_new_one() -> None:
    import shopguide.recommend as recommend

    with pytest.warns(DeprecationWarning, match="now shopguide.recommend.RecommenderStore"):
        assert recommend.ModelRegistry is RecommenderStore
    with pytest.raises(AttributeError, match="no attribute 'ModelRegistri'"):
        _ = recommend.ModelRegistri  # type: ignore[attr-defined]
