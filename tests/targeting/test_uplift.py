"""Uplift models: planted responders, the Hillstrom check, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from shopguide.data.datasets.hillstrom import hillstrom_features, load_hillstrom
from shopguide.errors import DataError, NotFittedError
from shopguide.targeting.metrics import qini_auc_score, uplift_at_k
from shopguide.targeting.uplift import (
    UPLIFT_MODELS,
    ClassTransformation,
    DRLearner,
    SLearner,
    TLearner,
    UpliftAverage,
    UpliftRandomForest,
    XLearner,
)
from shopguide.targeting.uplift.tree import TreeArrays, bin_features, honest_values, split_gain


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


def _three_kinds(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Persuadables (x0 < 1/3) respond 50 % when treated, 10 % otherwise; sure things
    (middle third) 60 % either way; lost causes (top third) 5 % either way. A response model
    would put the sure things first; an uplift model must put the persuadables first."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, 4))
    kind = np.digitize(X[:, 0], [1 / 3, 2 / 3])  # 0 persuadable, 1 sure thing, 2 lost cause
    t = rng.integers(0, 2, n)
    p = np.choose(kind, [np.where(t == 1, 0.5, 0.1), np.full(n, 0.6), np.full(n, 0.05)])
    y = (rng.random(n) < p).astype(int)
    return X, t, y, kind


@pytest.mark.parametrize("name", sorted(UPLIFT_MODELS))
def test_persuadables_rank_above_sure_things_and_lost_causes(name: str) -> None:
    X, t, y, _ = _three_kinds(8000, seed=11)
    Xte, _, _, kind = _three_kinds(3000, seed=12)
    u = UPLIFT_MODELS[name](random_state=0).fit(X, t, y).predict_uplift(Xte)
    persuadable = kind == 0
    assert roc_auc_score(persuadable, u) > 0.9
    assert u[persuadable].mean() == pytest.approx(0.4, abs=0.1)
    for other in (1, 2):
        assert u[persuadable].mean() > u[kind == other].mean() + 0.25
        assert abs(u[kind == other].mean()) < 0.1


@pytest.mark.parametrize("name", sorted(UPLIFT_MODELS))
def test_clone_and_params(name: str) -> None:
    cls = UPLIFT_MODELS[name]
    X, t, y, _ = _planted(1500, 0.5, seed=6)
    model = cls(random_state=3).fit(X, t, y)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "fitted_")
    assert copy.set_params(random_state=5) is copy and copy.random_state == 5
    # same parameters, same seed: the refit clone predicts the same
    again = clone(model).fit(X, t, y)
    np.testing.assert_allclose(again.predict_uplift(X), model.predict_uplift(X))


def test_x_and_dr_learners_take_any_estimators() -> None:
    from sklearn.linear_model import LinearRegression

    X, t, y, seg = _planted(4000, 0.4, seed=8)
    for model in (
        XLearner(LogisticRegression(), LinearRegression()),
        DRLearner(LogisticRegression(), LinearRegression(), n_folds=3),
    ):
        u = model.fit(X, t, y).predict_uplift(X)
        assert u[seg].mean() > u[~seg].mean() + 0.15
    # the doubly robust pseudo-outcome averages to the difference of group means
    phi = DRLearner(LogisticRegression()).pseudo_outcome(X, t, y)
    ate = y[t == 1].mean() - y[t == 0].mean()
    assert phi.mean() == pytest.approx(ate, abs=0.02)


def test_split_gain_hand_computed() -> None:
    # node: controls 100 users, 20 responders; treated 100 users, 40 responders
    # left: controls 40 (8 responders), treated 60 (36); right: controls 60 (12), treated 40 (4)
    left = np.array([40.0, 8.0, 60.0, 36.0])
    right = np.array([60.0, 12.0, 40.0, 4.0])
    node = (0.4, 0.2)
    # ED: children 0.5 * 2 * 0.4^2 + 0.5 * 2 * 0.1^2 = 0.17, node 2 * 0.2^2 = 0.08;
    # normaliser Gini(1/2) * 2 * (0.6 - 0.4)^2 + 0.5 * Gini(0.6) + 0.5 * Gini(0.4) + 0.5 = 1.02
    assert split_gain(left, right, node, "ED", n_reg=0.0) == pytest.approx(0.09 / 1.02)
    # KL (nats) with the entropy terms in bits, as in Rzepakowski & Jaroszewicz
    kl = lambda a, b: a * np.log(a / b) + (1 - a) * np.log((1 - a) / (1 - b))  # noqa: E731
    h = lambda p: -(p * np.log2(p) + (1 - p) * np.log2(1 - p))  # noqa: E731
    gain = 0.5 * kl(0.6, 0.2) + 0.5 * kl(0.1, 0.2) - kl(0.4, 0.2)
    norm = 1.0 * kl(0.6, 0.4) + 0.5 * h(0.6) + 0.5 * h(0.4) + 0.5
    assert split_gain(left, right, node, "KL", n_reg=0.0) == pytest.approx(gain / norm)
    assert gain / norm == pytest.approx(0.06743, abs=1e-5)
    # without the normaliser the gain is the plain divergence gain
    assert split_gain(left, right, node, "ED", n_reg=0.0, normalize=False) == pytest.approx(0.09)
    assert split_gain(left, right, node, "KL", n_reg=0.0, normalize=False) == pytest.approx(gain)
    # shrinkage: with n_reg pseudo-users each child's rates move towards the node's
    shrunk = split_gain(left, right, node, "ED", n_reg=1e9)
    assert shrunk == pytest.approx(0.0, abs=1e-9)


def test_binning_keeps_every_value_of_a_small_feature() -> None:
    M = np.array([[0.0, 1.0], [1.0, 2.0], [1.0, 3.0], [0.0, 4.0], [1.0, 5.0]])
    edges, codes = bin_features(M, max_bins=2)
    np.testing.assert_array_equal(edges[0], [0.0])  # the split x <= 0
    assert len(edges[1]) <= 2 and set(edges[1]) <= {1.0, 2.0, 3.0, 4.0}
    # code <= b is exactly x <= edges[b]
    for j in range(2):
        for b, e in enumerate(edges[j]):
            np.testing.assert_array_equal(codes[:, j] <= b, M[:, j] <= e)


def test_forest_parameters_are_checked() -> None:
    X, t, y, _ = _planted(600, 0.5, seed=9)
    with pytest.raises(DataError, match="criterion"):
        UpliftRandomForest(criterion="gini").fit(X, t, y)
    with pytest.raises(DataError, match="max_features"):
        UpliftRandomForest(max_features=1.5).fit(X, t, y)
    with pytest.raises(DataError, match="n_estimators"):
        UpliftRandomForest(n_estimators=0).fit(X, t, y)
    # a leaf holds at least min_samples_leaf treated and control users: too few rows, one leaf
    flat = UpliftRandomForest(n_estimators=3, min_samples_leaf=400).fit(X, t, y)
    assert np.ptp(flat.predict_uplift(X)) == 0.0


def test_honest_values_hand_computed() -> None:
    # one split, x <= 0.5 left; the estimation users: left 2 control (1 responder) and
    # 2 treated (2 responders); right 2 control (0) and 4 treated (1)
    tree = TreeArrays(
        feature=np.array([0, -1, -1], dtype=np.int32),
        threshold=np.array([0.5, 0.0, 0.0]),
        left=np.array([1, -1, -1], dtype=np.int32),
        right=np.array([2, -1, -1], dtype=np.int32),
        value=np.array([9.0, 9.0, 9.0]),  # what the growing sample said: replaced
    )
    M = np.array([[0.1], [0.2], [0.3], [0.4], [0.9], [0.8], [0.7], [0.6], [0.95], [0.85]])
    t = np.array([0, 0, 1, 1, 0, 0, 1, 1, 1, 1])
    y = np.array([1, 0, 1, 1, 0, 0, 1, 0, 0, 0])
    cell = (2 * t + y).astype(np.int64)
    rows = np.arange(10)
    # root: treated 3/6, control 1/4 -> 0.25; without shrinkage left 1 - 0.5, right 0.25 - 0
    np.testing.assert_allclose(honest_values(tree, M, cell, rows, n_reg=0.0), [0.25, 0.5, 0.25])
    # n_reg = 2: left treated (2 + 2 * 0.5) / 4 = 0.75, control (1 + 2 * 0.25) / 4 = 0.375;
    # right treated (1 + 1) / 6 = 1/3, control (0 + 0.5) / 4 = 0.125
    np.testing.assert_allclose(
        honest_values(tree, M, cell, rows, n_reg=2.0), [0.25, 0.375, 1 / 3 - 0.125]
    )
    # a leaf no estimation user reaches keeps its parent's rates
    np.testing.assert_allclose(honest_values(tree, M, cell, rows[:4], n_reg=0.0), [0.5, 0.5, 0.5])


def test_honest_forest_does_not_inflate_uplift_where_there_is_none() -> None:
    # no one responds to the campaign: a forest whose leaves are measured on the users that
    # chose the splits reports the noise it selected; honest leaves stay near zero
    rng = np.random.default_rng(11)
    X = rng.random((8000, 4))
    t = rng.integers(0, 2, 8000)
    y = (rng.random(8000) < 0.3).astype(int)
    kw = {"n_estimators": 20, "min_samples_leaf": 50, "n_reg": 0.0, "random_state": 0}
    adaptive = UpliftRandomForest(**kw).fit(X, t, y)
    honest = UpliftRandomForest(honest=True, **kw).fit(X, t, y)
    assert honest.get_params()["honest"] is True
    Xte = rng.random((4000, 4))
    mean_abs = lambda m: float(np.abs(m.predict_uplift(Xte)).mean())  # noqa: E731
    assert mean_abs(honest) < 0.7 * mean_abs(adaptive)


def test_average_is_the_mean_of_its_members() -> None:
    X, t, y, _ = _planted(3000, 0.5, seed=12)
    params = {"uplift_forest": {"n_estimators": 5, "min_samples_leaf": 50}}
    avg = UpliftAverage(("uplift_forest", "t_learner"), params, random_state=3).fit(X, t, y)
    forest = UpliftRandomForest(n_estimators=5, min_samples_leaf=50, random_state=3).fit(X, t, y)
    t_learner = TLearner(random_state=3).fit(X, t, y)
    np.testing.assert_allclose(
        avg.predict_uplift(X), (forest.predict_uplift(X) + t_learner.predict_uplift(X)) / 2
    )
    # the default: a 300-tree forest and the DR-learner
    assert UpliftAverage().get_params()["members"] == ("uplift_forest", "dr_learner")
    assert clone(avg).get_params() == avg.get_params()


@pytest.mark.parametrize(
    ("members", "params", "match"),
    [
        ((), None, "distinct uplift model names"),
        (("uplift_forest", "uplift_forest"), None, "distinct uplift model names"),
        (("random_forest",), None, "distinct uplift model names"),
        (("t_learner",), {"x_learner": {}}, "not in members"),
    ],
)
def test_average_members_are_checked(members: tuple[str, ...], params: dict, match: str) -> None:
    X, t, y, _ = _planted(600, 0.5, seed=13)
    with pytest.raises(DataError, match=match):
        UpliftAverage(members, params).fit(X, t, y)
