"""Saved propensity and uplift models: skops archives, exact round trips, refusals."""

from __future__ import annotations

import zipfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression

from shopguide.errors import ModelFormatError, NotFittedError
from shopguide.model_files import save_state
from shopguide.targeting.campaign import MODEL_FEATURES, PropensityModel
from shopguide.targeting.uplift import (
    UPLIFT_MODELS,
    ClassTransformation,
    SLearner,
    TLearner,
    UpliftRandomForest,
    load_uplift_model,
)


def _uplift_data(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    t = rng.integers(0, 2, n)
    p = 0.1 + 0.2 * (X["a"] > 0) * t
    return X, t, (rng.random(n) < p).astype(int)


def _propensity_frame(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {name: rng.gamma(2.0, 2.0, n) for name in MODEL_FEATURES},
        index=pd.Index([f"u{i}" for i in range(n)], name="user_id"),
    )
    y = rng.random(n) < 1 / (1 + np.exp(-(frame["promo_affinity"] - 4)))
    return frame, y


@pytest.mark.parametrize("name", sorted(UPLIFT_MODELS))
def test_uplift_round_trip_is_exact(tmp_path: Path, name: str) -> None:
    X, t, y = _uplift_data()
    model = UPLIFT_MODELS[name]().fit(X, t, y)
    path = model.save(tmp_path / f"{name}.skops")
    assert zipfile.is_zipfile(path)
    for back in (type(model).load(path, features=["a", "b", "c"]), load_uplift_model(path)):
        assert type(back) is type(model)
        np.testing.assert_array_equal(back.predict_uplift(X), model.predict_uplift(X))
        assert list(back.feature_names_in_) == ["a", "b", "c"]


def test_uplift_with_a_logistic_base_and_arrays(tmp_path: Path) -> None:
    X, t, y = _uplift_data(seed=2)
    model = ClassTransformation(LogisticRegression()).fit(X.to_numpy(), t, y)
    back = ClassTransformation.load(model.save(tmp_path / "ct.skops"))
    np.testing.assert_array_equal(back.predict(X.to_numpy()), model.predict(X.to_numpy()))
    assert isinstance(back.estimator, LogisticRegression)


def test_uplift_refusals(tmp_path: Path) -> None:
    X, t, y = _uplift_data(seed=3)
    path = TLearner().fit(X, t, y).save(tmp_path / "t.skops")
    with pytest.raises(ModelFormatError, match="not a SLearner"):
        SLearner.load(path)
    with pytest.raises(ModelFormatError, match="features"):
        TLearner.load(path, features=["a", "b", "d"])
    with pytest.raises(NotFittedError):
        TLearner().save(tmp_path / "unfitted.skops")
    state = sio.load(path, trusted=[*sio.get_untrusted_types(file=path)])
    state["format_version"] = 2
    old = save_state(state, tmp_path / "v2.skops")
    with pytest.raises(ModelFormatError, match="format version 2"):
        load_uplift_model(old)


class _Custom(LogisticRegression):
    """A classifier type outside the trusted list."""


def test_an_untrusted_base_classifier_is_not_saved(tmp_path: Path) -> None:
    X, t, y = _uplift_data(seed=4)
    model = TLearner(_Custom()).fit(X, t, y)
    with pytest.raises(ModelFormatError, match="cannot save this model safely"):
        model.save(tmp_path / "custom.skops")
    assert not (tmp_path / "custom.skops").exists()


def test_propensity_round_trip_is_exact(tmp_path: Path) -> None:
    frame, y = _propensity_frame()
    model = PropensityModel(C=0.5).fit(frame, y)
    back = PropensityModel.load(model.save(tmp_path / "p.skops"))
    assert back.features == model.features and back.C == 0.5
    pd.testing.assert_series_equal(back.predict_proba(frame), model.predict_proba(frame))
    pd.testing.assert_frame_equal(back.contributions(frame), model.contributions(frame))


def test_propensity_refusals(tmp_path: Path) -> None:
    frame, y = _propensity_frame(seed=1)
    model = PropensityModel().fit(frame, y)
    base = {
        "kind": "shopguide.propensity",
        "format_version": 1,
        "features": list(model.features),
        "params": {"C": 1.0},
        "scaler": model.scaler_,
        "model": model.model_,
    }
    for change, message in (
        ({"format_version": 0}, "format version 0"),
        ({"features": ["clicks", *model.features[1:]]}, "unknown: clicks"),
        ({"features": list(model.features[:-1])}, "propensity features"),
        ({"kind": "shopguide.churn"}, "not a 'shopguide.propensity'"),
    ):
        path = save_state({**base, **change}, tmp_path / "bad.skops")
        with pytest.raises(ModelFormatError, match=message) as err:
            PropensityModel.load(path)
        assert "retrain" in str(err.value)
    evil = tmp_path / "evil.skops"
    sio.dump({**base, "params": {"C": Fraction(1, 1)}}, evil)
    with pytest.raises(ModelFormatError, match="not trusted"):
        PropensityModel.load(evil)


def test_a_forest_is_saved_as_plain_arrays(tmp_path: Path) -> None:
    X, t, y = _uplift_data(seed=5)
    model = UpliftRandomForest(n_estimators=5, criterion="KL", max_depth=3).fit(X, t, y)
    path = model.save(tmp_path / "forest.skops")
    # nothing but builtins and numpy arrays: skops trusts every part without being told
    assert sio.get_untrusted_types(file=path) == []
    state = sio.load(path)
    assert state["params"]["criterion"] == "KL" and state["params"]["n_estimators"] == 5
    assert set(state["fitted"]) == {
        "feature",
        "threshold",
        "left",
        "right",
        "value",
        "tree_offsets",
    }
    assert len(state["fitted"]["tree_offsets"]) == 6
    # a tampered file (a child pointing outside its tree, a feature the model has not) is refused
    for name, change in (("left", 10**6), ("feature", 99)):
        bad = {**state, "fitted": dict(state["fitted"])}
        arr = np.array(bad["fitted"][name])
        inner = np.flatnonzero(np.array(bad["fitted"]["feature"]) >= 0)
        arr[inner[0]] = change
        bad["fitted"][name] = arr
        with pytest.raises(ModelFormatError, match="inconsistent"):
            load_uplift_model(save_state(bad, tmp_path / f"bad-{name}.skops"))
