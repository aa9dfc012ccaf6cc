"""Uplift models: planted responders, the Hillstrom check, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from shopguide.data.datasets.hillstrom import hillstrom_features, load_hillstrom
from shopguide.errors import DataError, NotFittedError
from shopguide.targeting.metrics import qini_auc_score, uplift_at_k
from shopguide.targeting.uplift import UPLIFT_MODELS, ClassTransformation, SLearner, TLearner


def _planted(
    n: int, treat_share: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Segment A (x0 > 0.6) responds 50 % when treated and 20 % otherwise; everyone else
    responds 20 % whatever happens. So only A has uplift (+0.3); A is 40 % of users."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, 4))
    seg_a = X[:, 0] > 0.6
    t = (rng.random(n) < treat_share).astype(int)
    p = np.where(seg_a & (t == 1), 0.5, 0.2)
    y = (rng.random(n) < p).astype(int)
    return X, t, y, seg_a


@pytest.mark.parametrize("name", sorted(UPLIFT_MODELS))
@pytest.mark.parametrize("treat_share", [0.5, 0.3])
def test_planted_responders_are_found(name: str, treat_share: float) -> None:
    X, t, y, _ = _planted(6000, treat_share, seed=1)
    Xte, tte, yte, ate = _planted(4000, 0.5, seed=2)
    model = UPLIFT_MODELS[name](random_state=0).fit(X, t, y)
    u = model.predict_uplift(Xte)
    # the segment with uplift is ranked first
    assert roc_auc_score(ate, u) > 0.9
    # uplift@30 %: everyone in the top 30 % should be in A (true uplift 0.3); random gives 0.12
    assert uplift_at_k(u, tte, yte, k=0.3) > 0.22
    # Qini coefficient near that of the oracle ranking (the true segment), far above random (0)
    oracle = qini_auc_score(ate.astype(float), tte, yte)
    assert qini_auc_score(u, tte, yte) > 0.8 * oracle > 0.05
    # the estimated uplift is about right in each segment
    assert u[ate].mean() == pytest.approx(0.3, abs=0.1)
    assert u[~ate].mean() == pytest.approx(0.0, abs=0.1)


def test_any_classifier_and_data_frames() -> None:
    X, t, y, seg = _planted(3000, 0.5, seed=4)
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    m = TLearner(LogisticRegression()).fit(df, t, y)
    u = m.predict(df)
    assert u.shape == (3000,)
    assert u[seg].mean() > u[~seg].mean() + 0.1
    pt, pc = m.predict_response(df)
    np.testing.assert_allclose(pt - pc, u)
    assert list(m.feature_names_in_) == ["a", "b", "c", "d"]


def test_errors() -> None:
    X, t, y, _ = _planted(200, 0.5, seed=5)
    with pytest.raises(NotFittedError):
        TLearner().predict_uplift(X)
    with pytest.raises(DataError):
        ClassTransformation().fit(X, np.ones_like(t), y)  # no control group
    with pytest.raises(DataError):
        SLearner().fit(X, t, y * 2)  # outcome not 0/1
    with pytest.raises(DataError):
        TLearner().fit(X[:10], t, y)
    m = SLearner().fit(X, t, y)
    with pytest.raises(DataError):
        m.predict_uplift(X[:, :2])


@pytest.mark.parametrize("cls", [TLearner, ClassTransformation])
def test_hillstrom_uplift_at_30(cls: type) -> None:
    # Hillstrom, Womens e-mail vs no e-mail, outcome visit; 70/30 split stratified by
    # treatment x outcome, 5 seeds. Random targeting gives the average effect, about 0.045;
    # issue 6 asks for at least 0.06 (published class-transformation results are about 0.066).
    df = load_hillstrom()
    df = df[df["segment"].isin(["Womens E-Mail", "No E-Mail"])]
    X = hillstrom_features(df).to_numpy()
    t = (df["segment"] == "Womens E-Mail").to_numpy().astype(int)
    y = df["visit"].to_numpy()
    scores = []
    for seed in range(5):
        tr, te = train_test_split(
            np.arange(len(y)), test_size=0.3, random_state=seed, stratify=2 * t + y
        )
        u = cls(random_state=seed).fit(X[tr], t[tr], y[tr]).predict_uplift(X[te])
        scores.append(uplift_at_k(u, t[te], y[te], k=0.3))
    assert np.mean(scores) >= 0.06
