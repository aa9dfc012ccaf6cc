"""Uplift and response metrics on hand-computed data, plus properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopguide.errors import DataError
from shopguide.targeting.metrics import (
    lift_by_decile,
    qini_auc_score,
    qini_curve,
    uplift_at_k,
    uplift_by_decile,
)


def test_uplift_at_k_hand_computed() -> None:
    s = [4, 3, 2, 1]
    t = [1, 0, 1, 0]
    y = [1, 0, 0, 0]
    assert uplift_at_k(s, t, y, k=0.5) == pytest.approx(1.0)
    assert uplift_at_k(s, t, y, k=1.0) == pytest.approx(0.5)  # 1/2 - 0/2
    assert uplift_at_k(s, t, y, k=0.5, strategy="by_group") == pytest.approx(1.0)
    assert np.isnan(uplift_at_k(s, t, y, k=0.25))  # only a treated user in the top
    with pytest.raises(DataError):
        uplift_at_k(s, t, y, k=0)
    with pytest.raises(DataError):
        uplift_at_k(s, t, y, strategy="best")
    with pytest.raises(DataError):
        uplift_at_k(s, [1, 1, 1, 1], y)
    with pytest.raises(DataError):
        uplift_at_k(s, [1, 2, 1, 0], y)


def test_qini_curve_hand_computed() -> None:
    x, q = qini_curve([4, 3, 2, 1], [1, 0, 1, 0], [1, 1, 1, 0])
    np.testing.assert_allclose(x, [0, 1, 2, 3, 4])
    # n=1: 1 treated response, no control; n=2: 1 - 1*1/1; n=3: 2 - 1*2/1; n=4: 2 - 1*2/2
    np.testing.assert_allclose(q, [0, 1, 0, 0, 1])
    x, q = qini_curve([1, 1, 1, 1], [1, 0, 1, 0], [1, 1, 1, 0])
    np.testing.assert_allclose(x, [0, 4])
    np.testing.assert_allclose(q, [0, 1])


def test_qini_auc_perfect_random_and_reversed() -> None:
    rng = np.random.default_rng(3)
    n = 4000
    t = rng.integers(0, 2, n)
    y = rng.integers(0, 2, n)
    perfect = y * (2 * t - 1)
    assert qini_auc_score(perfect, t, y) == pytest.approx(1.0)
    assert qini_auc_score(-perfect, t, y) < -0.1  # worse than random
    rand = [qini_auc_score(rng.random(n), t, y) for _ in range(20)]
    assert abs(np.mean(rand)) < 0.05


def test_deciles() -> None:
    rng = np.random.default_rng(1)
    n = 1000
    s = rng.random(n)
    t = rng.integers(0, 2, n)
    y = (rng.random(n) < 0.1 + 0.3 * s * t).astype(int)
    tab = uplift_by_decile(s, t, y)
    assert list(tab.index) == list(range(1, 11))
    assert tab["n_treated"].sum() + tab["n_control"].sum() == n
    assert tab["cum_uplift"].iloc[-1] == pytest.approx(uplift_at_k(s, t, y, k=1.0))
    assert tab["cum_uplift"].iloc[2] == pytest.approx(uplift_at_k(s, t, y, k=0.3))
    assert tab["uplift"].iloc[0] > tab["uplift"].iloc[-1]
    lift = lift_by_decile(y, s)
    assert lift["n"].sum() == n
    assert lift["cum_capture"].iloc[-1] == pytest.approx(1.0)
    assert lift["cum_lift"].iloc[-1] == pytest.approx(1.0)
    assert lift["lift"].iloc[0] > 1.0


@settings(max_examples=50, deadline=None)
@given(
    data=st.lists(
        st.tuples(st.floats(-5, 5), st.integers(0, 1), st.integers(0, 1)), min_size=4, max_size=60
    ),
    k=st.floats(0.05, 1.0),
)
def test_metric_properties(data: list[tuple[float, int, int]], k: float) -> None:
    s = np.array([d[0] for d in data])
    t = np.array([d[1] for d in data])
    y = np.array([d[2] for d in data])
    if t.min() == t.max():
        return
    # whole population: uplift@100% is the difference of group means
    ate = y[t == 1].mean() - y[t == 0].mean()
    assert uplift_at_k(s, t, y, k=1.0) == pytest.approx(ate)
    u = uplift_at_k(s, t, y, k=k)
    assert np.isnan(u) or -1.0 <= u <= 1.0
    # Qini depends on the order only: a monotone transform changes nothing
    x1, q1 = qini_curve(s, t, y)
    x2, q2 = qini_curve(2.0 * s + 0.0, t, y)  # exact in floating point
    np.testing.assert_allclose(x1, x2)
    np.testing.assert_allclose(q1, q2)
    assert q1[-1] == pytest.approx(y[t == 1].sum() - y[t == 0].sum() * t.sum() / (1 - t).sum())


def test_summary_matches_the_single_metrics() -> None:
    from shopguide.targeting.metrics import uplift_summary

    rng = np.random.default_rng(2)
    s, t, y = rng.random(500), rng.integers(0, 2, 500), rng.integers(0, 2, 500)
    out = uplift_summary(s, t, y)
    assert out["uplift@30%"] == pytest.approx(uplift_at_k(s, t, y, k=0.3))
    assert out["uplift@10%"] == pytest.approx(uplift_at_k(s, t, y, k=0.1))
    assert out["qini"] == pytest.approx(qini_auc_score(s, t, y))
    assert out["ate"] == pytest.approx(uplift_at_k(s, t, y, k=1.0))
    assert out["n"] == 500


def test_uplift_at_k_agrees_with_scikit_uplift_on_distinct_scores() -> None:
    from sklift.metrics import uplift_at_k as sklift_uplift_at_k

    rng = np.random.default_rng(7)
    n = 200
    s = rng.permutation(n) + rng.random(n) * 0.5  # distinct
    t = rng.permutation(np.r_[np.ones(100, dtype=int), np.zeros(100, dtype=int)])
    y = (rng.random(n) < 0.2 + 0.3 * (s > 100) * t).astype(int)
    for strategy in ("overall", "by_group"):
        # k * n (and k * n_t, k * n_c) whole numbers: ceil and int agree
        for k in (0.1, 0.3, 0.5):
            ours = uplift_at_k(s, t, y, k=k, strategy=strategy)
            assert ours == pytest.approx(sklift_uplift_at_k(y, s, t, strategy=strategy, k=k))
    # scikit-uplift takes a row count too; ours keeps ceil(k * n) rows
    for m in (7, 33, 61, 151):
        ours = uplift_at_k(s, t, y, k=m / n)
        assert ours == pytest.approx(sklift_uplift_at_k(y, s, t, strategy="overall", k=m))


def test_uplift_at_k_ties_at_the_cut_share_the_places() -> None:
    # top 3 of 6: score 9 is in; four users tie at 5 for the 2 places left (weight 1/2 each)
    s = [9, 5, 5, 5, 5, 1]
    t = [1, 1, 0, 1, 0, 0]
    y = [1, 0, 1, 1, 0, 1]
    # treated: 1 * 1 + 0.5 * 0 + 0.5 * 1 over weight 2 -> 0.75; control: 0.5 * 1 + 0.5 * 0 -> 0.5
    assert uplift_at_k(s, t, y, k=0.5) == pytest.approx(0.25)
    # by group, top ceil(0.5 * 3) = 2 of each: treated 9 then the 5s share one place
    # (1 + 0.5 * 0 + 0.5 * 1) / 2 = 0.75; controls: two tied at 5 fill both places -> 0.5
    assert uplift_at_k(s, t, y, k=0.5, strategy="by_group") == pytest.approx(0.25)


def test_uplift_at_k_rounds_k_n_up_without_float_noise() -> None:
    # 0.07 * 100 is 7.000000000000001 in floating point; 7 users are targeted, not 8
    s = np.arange(100, 0, -1)
    t = np.tile([1, 0], 50)
    y = np.zeros(100)
    y[7] = 1.0  # the 8th user, a control: inside the top 8, outside the top 7
    assert uplift_at_k(s, t, y, k=0.07) == pytest.approx(0.0)
    assert uplift_at_k(s, t, y, k=0.075) == pytest.approx(-0.25)  # ceil(7.5) = 8 users


@settings(max_examples=100, deadline=None)
@given(
    data=st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 1), st.integers(0, 1)), min_size=4, max_size=40
    ),
    k=st.floats(0.05, 1.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_uplift_at_k_does_not_depend_on_row_order(
    data: list[tuple[int, int, int]], k: float, seed: int
) -> None:
    # few distinct scores, so ties at the cut are the rule, not the exception
    s = np.array([d[0] for d in data], dtype=float)
    t = np.array([d[1] for d in data])
    y = np.array([d[2] for d in data])
    if t.min() == t.max():
        return
    perm = np.random.default_rng(seed).permutation(len(s))
    for strategy in ("overall", "by_group"):
        a = uplift_at_k(s, t, y, k=k, strategy=strategy)
        b = uplift_at_k(s[perm], t[perm], y[perm], k=k, strategy=strategy)
        assert (np.isnan(a) and np.isnan(b)) or a == pytest.approx(b, abs=1e-12)
