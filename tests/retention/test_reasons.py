"""Churn reasons in words: plain numbers, units, a comparison, never a feature that tells no
buyer apart."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from shopguide.retention.churn import FEATURES, ChurnModel
from shopguide.retention.churn.reasons import describe_driver, driver_texts, human_number

E_NOTATION = re.compile(r"\d[eE][+-]?\d")


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12))
def test_human_numbers_never_use_e_notation(value: float) -> None:
    text = human_number(value)
    assert not E_NOTATION.search(text) and "e" not in text.replace("bn", ""), text
    assert len(text) <= 8


def test_numbers_as_people_write_them() -> None:
    assert [human_number(v) for v in (77_200, 1_234_567, 4_310, 297.4, 35, 2.5, 0.07, 0)] == [
        "77k", "1.2M", "4,310", "297", "35", "2.5", "0.07", "0",
    ]  # fmt: skip


def test_drivers_in_shop_words() -> None:
    assert (
        describe_driver("monetary_mean", 77_200.0, 297.0, "£")
        == "spends £77k per purchase day, 260× the typical buyer's £297"
    )
    assert (
        describe_driver("recency_days", 210.0, 35.0)
        == "last purchase 210 days ago, 6× the typical buyer's 35 days"
    )
    assert (
        describe_driver("purchases_last_90", 1.0, 4.0)
        == "bought on 1 days in the last 90 days, 4× less than the typical buyer's 4"
    )
    # every feature has words of its own: no raw column name reaches the text
    for name in FEATURES:
        assert name not in describe_driver(name, 3.0, 1.0, "£")


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        rng.gamma(2.0, 20.0, size=(n, len(FEATURES))),
        columns=list(FEATURES),
        index=pd.Index([f"u{i}" for i in range(n)], name="user_id"),
    )
    X["monetary_mean"] = rng.gamma(2.0, 150.0, n) * np.where(rng.uniform(size=n) < 0.05, 300, 1)
    return X


def test_a_constant_feature_is_never_a_reason() -> None:
    X = _frame(400, seed=0)
    # churn follows recency
    y = (X["recency_days"] + np.random.default_rng(1).normal(0, 10, len(X)) > 40).astype(int)
    model = ChurnModel(with_btyd=False, blend_logistic=True).fit_features(
        X[[c for c in FEATURES if not c.startswith(("bg", "pn"))]], y
    )
    scored = X[model.feature_names_].copy()
    # at scoring time every buyer has the same, long recency: it raises everyone's risk, but
    # it tells nobody apart, so it is nobody's reason
    scored["recency_days"] = 300.0
    out = model.explain(scored, currency="£")
    assert not out["reasons"].str.contains("last purchase").any()
    assert not (out[["driver_1", "driver_2", "driver_3"]] == "recency_days").any().any()
    assert not out["reasons"].str.contains(E_NOTATION).any()
    assert not any(out["reasons"].str.contains(name, regex=False).any() for name in FEATURES)


def test_driver_texts_skip_values_equal_to_the_typical_buyer() -> None:
    X = pd.DataFrame({"recency_days": [50.0, 10.0], "frequency": [3.0, 1.0]})
    c = np.array([[0.2, 0.1], [0.3, 0.0]])
    typical = pd.Series({"recency_days": 10.0, "frequency": 2.0})
    texts = driver_texts(X, c, typical)
    assert texts[0].startswith("last purchase 50 days ago, 5× the typical buyer's 10 days")
    assert texts[1] == "no feature above typical risk"  # 10 days is the typical buyer's
