"""Churn labels, as-of features, model, baselines and drivers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest

from shopguide.data.datasets.cdnow import cdnow_events
from shopguide.errors import DataError, NotFittedError
from shopguide.retention.churn import (
    FEATURES,
    ChurnModel,
    churn_baselines,
    churn_dataset,
    churn_features,
    churn_labels,
    cross_fitted_churn_scores,
    evaluate_churn_scores,
    top_decile_lift,
)


def _events(
    rows: list[tuple[str, str, float]], extra: Sequence[tuple[str, str, str]] = ()
) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "user_id": [r[0] for r in rows],
            "item_id": "x",
            "event_type": "purchase",
            "timestamp": pd.to_datetime([r[1] for r in rows], format="mixed"),
            "quantity": 1,
            "price": [r[2] for r in rows],
        }
    )
    if extra:
        df = pd.concat(
            [
                df,
                pd.DataFrame(
                    {
                        "user_id": [e[0] for e in extra],
                        "item_id": "x",
                        "event_type": [e[2] for e in extra],
                        "timestamp": pd.to_datetime([e[1] for e in extra]),
                        "quantity": 1,
                        "price": 0.0,
                    }
                ),
            ],
            ignore_index=True,
        )
    return df


def test_labels_and_features_hand_computed() -> None:
    ev = _events(
        [
            ("a", "2021-01-01 10:00", 10.0),
            ("a", "2021-01-01 18:00", 5.0),  # same day: merged
            ("a", "2021-03-02", 20.0),
            ("a", "2021-05-01", 30.0),  # after the cut-off: label window
            ("b", "2021-02-01", 8.0),
            ("c", "2021-04-15", 9.0),  # first purchase after the cut-off: not labelled
            ("z", "2021-07-30", 1.0),  # keeps the data running past the label window
        ],
        extra=[("a", "2021-03-01", "view"), ("b", "2021-01-01", "view")],
    )
    y = churn_labels(ev, "2021-03-31", horizon_days=60)
    assert y.to_dict() == {"a": 0, "b": 1}
    X = churn_features(ev, "2021-03-31", horizon_days=60, with_btyd=False)
    assert list(X.index) == ["a", "b"]
    a = X.loc["a"]
    assert a["frequency"] == 2
    assert a["recency_days"] == 29  # 2021-03-02 -> 2021-03-31
    assert a["tenure_days"] == 89
    assert a["monetary_total"] == pytest.approx(35.0)  # the May purchase is not seen
    assert a["monetary_mean"] == pytest.approx(17.5)
    assert a["ipt_mean"] == 60
    assert a["purchases_last_90"] == 2
    assert a["other_events_last_90"] == 1
    assert X.loc["b", "other_events_last_90"] == 1
    assert X.loc["b", "frequency"] == 1
    with pytest.raises(DataError):
        churn_labels(ev, "2021-06-30", horizon_days=60)  # data ends before the window does


def test_features_ignore_the_future() -> None:
    ev = cdnow_events()
    cut = "1997-09-30"
    X1 = churn_features(ev, cut, 273)
    X2 = churn_features(ev[ev["timestamp"] <= cut], cut, 273)
    pd.testing.assert_frame_equal(X1, X2)
    assert list(X1.columns) == list(FEATURES)


def _planted(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    """Users buy every ~2 weeks; a planted third stops buying at day 150 (before the cut-off
    at day 180) and never comes back; the rest keep buying. Churners are therefore
    recognisable from recency, which the model must find."""
    rng = np.random.default_rng(seed)
    churner = rng.random(n) < 1 / 3
    stop = np.where(churner, rng.uniform(100, 150, n), 365.0)
    mean_gap = np.where(churner, 10.0, 14.0)
    gaps = rng.exponential(1.0, (n, 60)) * mean_gap[:, None]
    times = rng.uniform(0, 20, n)[:, None] + np.cumsum(gaps, axis=1) - gaps[:, :1]
    keep = times < stop[:, None]
    users, _ = np.nonzero(keep)
    return pd.DataFrame(
        {
            "user_id": np.char.add("u", users.astype(str)),
            "item_id": "x",
            "event_type": "purchase",
            "timestamp": pd.Timestamp("2022-01-01") + pd.to_timedelta(times[keep], unit="D"),
            "quantity": 1,
            "price": rng.gamma(2, 10, len(users)),
        }
    )


def test_planted_churners_are_recovered() -> None:
    ev = _planted()
    start = pd.Timestamp("2022-01-01")
    train_cut = start + pd.Timedelta(days=180)
    # train on the first cut-off, evaluate on a later one with new labels
    m = ChurnModel(horizon_days=60).fit(ev, train_cut)
    X, y = churn_dataset(ev, start + pd.Timedelta(days=240), 60)
    res = evaluate_churn_scores(y, m.predict_proba_features(X))
    assert res["auc"] > 0.95
    assert res["lift_top_decile"] > 1.8
    drivers = m.explain(X)
    top = drivers.iloc[0]
    assert top["churn_probability"] > 0.8
    assert top["driver_1"] in {
        "recency_days",
        "recency_over_ipt",
        "purchases_last_90",
        "bgnbd_p_alive",
        "pnbd_p_alive",
        "pnbd_expected",
        "bgnbd_expected",
        "spend_last_90",
        "trend_90",
        "recency_over_tenure",
        "purchase_rate",
        "pnbd_p_zero",
        "bgnbd_p_zero",
    }
    assert top["driver_1_contribution"] > 0
    imp = m.compute_importance(X, y, n_repeats=2)
    assert imp.index[0] != "other_events_last_90"
    # recency enters through several correlated columns (recency, recency / tenure, the BTYD
    # scores), which share the permutation importance between them
    assert imp.iloc[0] > 0.005


def test_cdnow_churn_against_baselines() -> None:
    # CDNOW sample, features as of week 39 (1997-09-30), churn = no purchase in weeks 40-78.
    # Only one labelled period exists, so the model is evaluated out of fold (2 halves of the
    # customers, 3 seeds). Issue 6 quotes Pareto/NBD ~0.78 and recency ~0.77; the model reaches
    # about 0.777 (mean of the seeds), i.e. it ties the Pareto/NBD baseline. The protocol with
    # calibration-period labels only is the next-but-one test and benchmarks/bench_churn.py.
    X, y = churn_dataset(cdnow_events(), "1997-09-30", 273)
    base = {k: evaluate_churn_scores(y, s)["auc"] for k, s in churn_baselines(X).items()}
    assert base["recency"] == pytest.approx(0.77, abs=0.01)
    assert base["pareto_nbd_expected"] == pytest.approx(0.78, abs=0.01)
    assert base["bgnbd_p_alive"] < 0.5  # P(alive) alone is a poor churn score here
    aucs = [
        evaluate_churn_scores(y, cross_fitted_churn_scores(X, y, random_state=s))["auc"]
        for s in range(3)
    ]
    assert np.mean(aucs) >= 0.775
    assert np.mean(aucs) > base["recency"]


def test_metrics_and_errors() -> None:
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 0])
    s = np.array([0.9, 0.1, 0.8, 0.2, 0.3, 0.1, 0.1, 0.0, 0.0, 0.0])
    assert top_decile_lift(y, s) == pytest.approx(1 / 0.2)
    assert evaluate_churn_scores(y, s)["auc"] == pytest.approx(1.0)
    with pytest.raises(DataError):
        evaluate_churn_scores([1, 1], [0.2, 0.3])
    with pytest.raises(NotFittedError):
        ChurnModel().predict_proba_features(pd.DataFrame({"recency_days": [1.0]}))
    with pytest.raises(DataError):
        ChurnModel().fit_features(pd.DataFrame({"a": [1.0, 2.0]}), [1, 1])


def test_train_and_score_current_users() -> None:
    from shopguide.retention import train_and_score_churn

    ev = _planted(800, seed=3)
    model, scores, report = train_and_score_churn(ev, horizon_days=60)
    assert model.cutoff_ == pd.Timestamp(report["train_cutoff"])
    last = pd.to_datetime(ev["timestamp"]).max().floor("D")
    assert report["as_of"] == str(last.date())
    assert report["train_cutoff"] == str((last - pd.Timedelta(days=60)).date())
    assert report["train_auc_model"] > 0.9
    assert scores.index.is_unique
    assert len(scores) == report["scored_users"] == ev["user_id"].nunique()
    assert scores["churn_probability"].is_monotonic_decreasing
    assert {"driver_1", "driver_1_contribution", "reasons"} <= set(scores.columns)


def test_events_read_back_from_a_duckdb_store(tmp_path) -> None:
    """The functions take events as the store returns them (quantity DOUBLE, extra columns)."""
    from shopguide.retention import customer_value_table
    from shopguide.store import open_store

    ev = _planted(300, seed=5)
    ev["event_key"] = [f"k{i}" for i in range(len(ev))]
    store = open_store(tmp_path / "shop.duckdb")
    try:
        store.append("events", ev)
        back = store.query_df('SELECT * FROM events ORDER BY user_id, "timestamp"')
    finally:
        store.close()
    assert back["quantity"].dtype == np.float64
    cut = pd.Timestamp("2022-07-01")
    pd.testing.assert_frame_equal(
        churn_features(back, cut, 60), churn_features(ev, cut, 60), check_exact=False
    )
    v1 = customer_value_table(back, as_of=cut)
    v2 = customer_value_table(ev, as_of=cut)
    np.testing.assert_allclose(v1["clv"], v2["clv"], rtol=1e-9)


def test_cdnow_holdout_with_labels_from_the_calibration_period_only() -> None:
    """The issue's CDNOW check without fitting on the holdout: train on windows that end on
    1997-09-30, score as of then for the 39-week holdout (benchmarks/bench_churn.py prints
    the model choice and all figures)."""
    windows = [("1997-03-31", 183), ("1997-05-16", 137), ("1997-07-01", 91)]
    ev = cdnow_events()
    calibration = ev[ev["timestamp"] <= "1997-09-30"]
    model = ChurnModel(horizon_days=273, blend_logistic=False, monotonic=False, blend_btyd=True)
    model.fit_windows(calibration, windows)  # the holdout is not even passed in
    assert model.windows_ == windows
    X, y = churn_dataset(ev, "1997-09-30", 273)
    res = evaluate_churn_scores(y, model.predict_proba_features(X))
    base = {k: evaluate_churn_scores(y, s)["auc"] for k, s in churn_baselines(X).items()}
    print(f"\nCDNOW holdout AUC {res['auc']:.4f} (Pareto/NBD {base['pareto_nbd_expected']:.4f})")
    # ties the Pareto/NBD score (within the ~0.01 sampling noise), beats recency alone
    assert res["auc"] > base["recency"]
    assert abs(res["auc"] - base["pareto_nbd_expected"]) < 0.01
    assert res["lift_top_decile"] > 1.2


def test_blend_btyd_needs_the_feature() -> None:
    ev = _planted(200, seed=1)
    with pytest.raises(DataError, match="pnbd_p_zero"):
        ChurnModel(horizon_days=60, with_btyd=False, blend_btyd=True).fit(
            ev, pd.Timestamp("2022-07-01")
        )
