"""The shortcuts that make churn scoring fast give, bit for bit, what the long way gives.

Each distinct (frequency, recency, T) row computed once, the Pareto/NBD hypergeometric term
once per distinct pair, the booster's median substitutions through the trees that split on
the feature only: every test compares with the straightforward computation, with exact
equality.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from churn_shop import churn_shop
from hypothesis import given, settings
from hypothesis import strategies as st

from shopguide.retention import BetaGeoModel, ParetoNBDModel
from shopguide.retention.btyd.base import _distinct_rows
from shopguide.retention.btyd.pareto_nbd import _pairs, _pnbd_log_terms, _pnbd_parts
from shopguide.retention.btyd.summary import rfm_summary
from shopguide.retention.churn import ChurnModel, churn_features
from shopguide.retention.churn.drivers import median_contributions
from shopguide.retention.churn.substitution import (
    substituted_logistic_proba,
    substituted_raw_scores,
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 9), st.integers(-3, 30)),
        min_size=1,
        max_size=80,
    )
)
def test_distinct_rows_are_numpys_unique_rows(rows: list[tuple[int, int, int]]) -> None:
    data = np.array(rows, dtype="float64") / np.array([1.0, 7.0, 3.0])
    columns, where = _distinct_rows(data[:, 0], data[:, 1], data[:, 2])
    uniq, inverse = np.unique(data, axis=0, return_inverse=True)
    np.testing.assert_array_equal(np.column_stack(columns), uniq)
    np.testing.assert_array_equal(where, inverse.ravel())


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    ev = churn_shop(400, seed=2)
    tx = ev.assign(amount=ev["price"])
    return rfm_summary(tx, "user_id", "timestamp", "amount", time_unit="W")


@pytest.mark.parametrize("kind", [BetaGeoModel, ParetoNBDModel])
def test_per_customer_values_are_computed_once_per_distinct_row(
    kind: type[BetaGeoModel] | type[ParetoNBDModel], summary: pd.DataFrame
) -> None:
    x, rec, tt = (summary[c].to_numpy() for c in ("frequency", "recency", "T"))
    # many buyers per row, in no order: the values must land on the right buyer
    take = np.random.default_rng(0).integers(0, len(x), 5 * len(x))
    x, rec, tt = x[take], rec[take], tt[take]
    model = kind(penalizer=1e-4).fit(x, rec, tt)
    assert len(np.unique(np.column_stack([x, rec, tt]), axis=0)) < len(x) / 4
    for name, options in [
        ("probability_alive", ()),
        ("conditional_expected_purchases", (90 / 7,)),
        ("probability_no_purchase", (90 / 7,)),
    ]:
        method = getattr(kind, name)
        every_row = method.__wrapped__(model, *options, x, rec, tt)
        np.testing.assert_array_equal(method(model, *options, x, rec, tt), every_row, name)


def test_pareto_nbd_terms_once_per_pair_equal_every_row(summary: pd.DataFrame) -> None:
    x, rec, tt = (summary[c].to_numpy() for c in ("frequency", "recency", "T"))
    r, alpha, s, beta = 0.8, 4.0, 0.6, 9.0
    _, _, bracket = _pnbd_parts((r, alpha, s, beta), x, rec, tt, (_pairs(x, rec), _pairs(x, tt)))
    # the bracket from the terms of every row, as before the pairs
    l_tx = _pnbd_log_terms(r, alpha, s, beta, x, rec)
    l_T = _pnbd_log_terms(r, alpha, s, beta, x, tt)
    log_alive = -(r + x) * np.log(alpha + tt) - s * np.log(beta + tt)
    m = np.maximum(log_alive, l_tx)
    inner = np.exp(log_alive - m) + s / (r + s + x) * (np.exp(l_tx - m) - np.exp(l_T - m))
    np.testing.assert_array_equal(bracket, m + np.log(np.maximum(inner, np.finfo(float).tiny)))


@pytest.fixture(
    scope="module",
    params=[{}, {"blend_logistic": False, "blend_btyd": True}, {"blend_btyd": True}],
    ids=["default", "booster-and-pnbd", "all-three"],
)
def fitted(request: pytest.FixtureRequest) -> tuple[ChurnModel, pd.DataFrame]:
    ev = churn_shop(500, seed=4)
    model = ChurnModel(horizon_days=60, **request.param).fit(ev, "2023-08-01")
    return model, churn_features(ev, "2023-10-01", 60)


def test_substituted_raw_scores_equal_full_predictions(
    fitted: tuple[ChurnModel, pd.DataFrame],
) -> None:
    model, X = fitted
    M = X[model.feature_names_].to_numpy()
    reference = model.medians_[model.feature_names_].to_numpy()
    raws = substituted_raw_scores(model.model_, M, reference, 1)
    assert raws is not None  # the shortcut is taken, not the fallback
    np.testing.assert_array_equal(raws[:, 0], model.model_._raw_predict(M).ravel())
    for j in range(M.shape[1]):
        alt = M.copy()
        alt[:, j] = reference[j]
        np.testing.assert_array_equal(raws[:, j + 1], model.model_._raw_predict(alt).ravel())


def test_contributions_equal_scoring_each_substituted_matrix(
    fitted: tuple[ChurnModel, pd.DataFrame],
) -> None:
    model, X = fitted
    M = X[model.feature_names_].to_numpy()
    slow = median_contributions(model._proba, M, model.feature_names_, model.medians_)
    assert np.abs(slow).max() > 0
    np.testing.assert_array_equal(model.contributions(X).to_numpy(), slow)
    if model.logistic_ is not None:
        reference = model.medians_[model.feature_names_].to_numpy()
        fast = substituted_logistic_proba(model.logistic_, M, reference)
        assert fast is not None  # the shortcut is taken, not the fallback
        np.testing.assert_array_equal(fast[:, 0], model.logistic_.predict_proba(M)[:, 1])
        for j in range(M.shape[1]):
            alt = M.copy()
            alt[:, j] = reference[j]
            np.testing.assert_array_equal(fast[:, j + 1], model.logistic_.predict_proba(alt)[:, 1])
    np.testing.assert_array_equal(
        model.explain(X).sort_index()["churn_probability"].to_numpy(),
        model._proba(M)[np.argsort(X.index.to_numpy(), kind="stable")],
    )
