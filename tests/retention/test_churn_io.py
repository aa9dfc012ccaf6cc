"""Saved churn models: skops archive, exact round trip, refused when wrong or altered."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from churn_shop import churn_shop

from shopguide.errors import ModelFormatError
from shopguide.model_files import save_state
from shopguide.retention.churn import CHURN_FORMAT_VERSION, ChurnModel, churn_features


def _events(n: int = 300, seed: int = 0) -> pd.DataFrame:
    return churn_shop(n, seed)


@pytest.fixture(scope="module")
def fitted() -> tuple[ChurnModel, pd.DataFrame]:
    ev = _events()
    model = ChurnModel(horizon_days=60).fit(ev, "2023-08-01")
    model.report_ = {"train_cutoff": "2023-08-01"}
    X = churn_features(ev, "2023-09-01", 60)
    return model, X


@pytest.mark.parametrize("params", [{}, {"blend_logistic": False, "blend_btyd": True}])
def test_round_trip_gives_identical_predictions(tmp_path: Path, params: dict) -> None:
    ev = _events(seed=1)
    model = ChurnModel(horizon_days=60, **params).fit(ev, "2023-08-01")
    X = churn_features(ev, "2023-09-01", 60)
    path = model.save(tmp_path / "churn.skops")
    back = ChurnModel.load(path)
    assert back.get_params() == model.get_params()
    assert back.feature_names_ == model.feature_names_
    assert back.cutoff_ == model.cutoff_
    np.testing.assert_array_equal(back.predict_proba_features(X), model.predict_proba_features(X))
    pd.testing.assert_frame_equal(back.explain(X), model.explain(X))
    assert zipfile.is_zipfile(path)  # a skops archive, not a pickle


def test_windows_and_report_survive(
    tmp_path: Path, fitted: tuple[ChurnModel, pd.DataFrame]
) -> None:
    model, _ = fitted
    back = ChurnModel.load(model.save(tmp_path / "m.skops"))
    assert back.report_ == {"train_cutoff": "2023-08-01"}


def _state(model: ChurnModel, **changes: object) -> dict:
    state = {
        "kind": "shopguide.churn",
        "format_version": CHURN_FORMAT_VERSION,
        "features": list(model.feature_names_),
        "params": model.get_params(),
        "medians": model.medians_.to_numpy(),
        "churn_rate": 0.5,
        "cutoff": None,
        "windows": [],
        "report": {},
        "booster": model.model_,
        "logistic": model.logistic_,
    }
    state.update(changes)
    return state


def test_wrong_version_is_refused(tmp_path: Path, fitted: tuple[ChurnModel, pd.DataFrame]) -> None:
    path = save_state(_state(fitted[0], format_version=99), tmp_path / "old.skops")
    with pytest.raises(ModelFormatError, match="format version 99") as err:
        ChurnModel.load(path)
    assert "shopguide churn train" in str(err.value)


def test_wrong_features_are_refused(
    tmp_path: Path, fitted: tuple[ChurnModel, pd.DataFrame]
) -> None:
    model = fitted[0]
    renamed = ["days_since_last", *model.feature_names_[1:]]
    path = save_state(_state(model, features=renamed), tmp_path / "f.skops")
    with pytest.raises(ModelFormatError, match="days_since_last"):
        ChurnModel.load(path)
    short = save_state(_state(model, features=model.feature_names_[:-1]), tmp_path / "s.skops")
    with pytest.raises(ModelFormatError, match="features"):
        ChurnModel.load(short)


def test_other_kind_is_refused(tmp_path: Path, fitted: tuple[ChurnModel, pd.DataFrame]) -> None:
    path = save_state(_state(fitted[0], kind="shopguide.propensity"), tmp_path / "k.skops")
    with pytest.raises(ModelFormatError, match=r"not a 'shopguide\.churn'"):
        ChurnModel.load(path)


def test_untrusted_type_is_refused(tmp_path: Path, fitted: tuple[ChurnModel, pd.DataFrame]) -> None:
    # a file carrying an object of a type outside the trusted list (here a Fraction standing in
    # for anything a tampered file could smuggle in) is not loaded at all
    from fractions import Fraction

    path = tmp_path / "evil.skops"
    sio.dump(_state(fitted[0], churn_rate=Fraction(1, 2)), path)
    with pytest.raises(ModelFormatError, match=r"not trusted.*fractions\.Fraction"):
        ChurnModel.load(path)


def test_tampered_schema_is_refused(
    tmp_path: Path, fitted: tuple[ChurnModel, pd.DataFrame]
) -> None:
    path = fitted[0].save(tmp_path / "good.skops")
    bad = tmp_path / "tampered.skops"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "schema.json":
                data = data.replace(b'"TreePredictor"', b'"Popen"').replace(
                    b"sklearn.ensemble._hist_gradient_boosting.predictor", b"subprocess"
                )
            dst.writestr(item, data)
    with pytest.raises(ModelFormatError, match=r"subprocess\.Popen"):
        ChurnModel.load(bad)


def test_garbage_and_missing_files_are_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.skops"
    junk.write_bytes(b"\x80\x04not a zip at all")
    with pytest.raises(ModelFormatError, match="not a readable model file"):
        ChurnModel.load(junk)
    with pytest.raises(ModelFormatError, match="no saved model"):
        ChurnModel.load(tmp_path / "absent.skops")
