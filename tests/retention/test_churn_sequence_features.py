"""Known answers for the inter-purchase-time and trend features on hand-made histories, and
proof that a model fitted on calibration windows never reads what happens after them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopguide.retention.churn import ChurnModel, churn_features

START = pd.Timestamp("2024-01-01")


def _history(purchases: dict[str, list[tuple[int, float]]]) -> pd.DataFrame:
    """Purchase events from ``{user: [(day offset from START, amount), ...]}``."""
    rows = [
        (u, START + pd.Timedelta(days=d), amount) for u, ps in purchases.items() for d, amount in ps
    ]
    return pd.DataFrame(
        {
            "user_id": [r[0] for r in rows],
            "item_id": "x",
            "event_type": "purchase",
            "timestamp": [r[1] for r in rows],
            "quantity": 1,
            "price": [r[2] for r in rows],
        }
    )


def test_overdue_ratio_and_gap_statistics() -> None:
    # gaps of 10 and 10 days, then 25 days without a purchase: 2.5 usual gaps overdue
    ev = _history({"a": [(0, 5.0), (10, 5.0), (20, 5.0)], "b": [(0, 1.0), (5, 1.0), (20, 1.0)]})
    X = churn_features(ev, START + pd.Timedelta(days=45), horizon_days=30, with_btyd=False)
    a = X.loc["a"]
    assert a["recency_days"] == 25
    assert a["ipt_mean"] == 10
    assert a["ipt_std"] == 0
    assert a["ipt_last"] == 10
    assert a["recency_over_ipt"] == pytest.approx(2.5)
    b = X.loc["b"]  # gaps 5 and 15: mean 10, population std 5, last 15
    assert (b["ipt_mean"], b["ipt_std"], b["ipt_last"]) == (10, 5, 15)
    assert b["recency_over_ipt"] == pytest.approx(2.5)


def test_a_single_purchase_uses_its_tenure_as_the_usual_gap() -> None:
    # no gap observed yet: the usual gap is at least the time since that one purchase
    ev = _history({"a": [(0, 5.0)]})
    a = churn_features(ev, START + pd.Timedelta(days=40), horizon_days=30, with_btyd=False).loc["a"]
    assert (a["ipt_mean"], a["ipt_std"], a["ipt_last"]) == (40, 0, 40)
    assert a["recency_over_ipt"] == pytest.approx(1.0)
    assert a["recency_over_tenure"] == pytest.approx(1.0)
    assert a["purchase_rate"] == 0


def test_trend_of_the_last_90_days_against_the_90_before() -> None:
    # as of day 300: purchases 10 and 50 days ago (last 90), 100 days ago (previous 90),
    # 250 days ago (older, in neither)
    ev = _history({"a": [(50, 7.0), (200, 3.0), (250, 4.0), (290, 6.0)]})
    a = churn_features(ev, START + pd.Timedelta(days=300), horizon_days=60, with_btyd=False).loc[
        "a"
    ]
    assert (a["purchases_last_90"], a["purchases_prev_90"], a["trend_90"]) == (2, 1, 1)
    assert (a["spend_last_90"], a["spend_prev_90"]) == (10.0, 3.0)
    assert a["horizon_over_tenure"] == pytest.approx(60 / 250)
    assert a["purchase_rate"] == pytest.approx(3 / 250 * 7)


def _shop(n: int = 400, seed: int = 3) -> pd.DataFrame:
    """Users buying every ~3 weeks over a year, a third of them stopping part-way."""
    rng = np.random.default_rng(seed)
    rows: dict[str, list[tuple[int, float]]] = {}
    for u in range(n):
        stop = rng.uniform(60, 300) if rng.random() < 1 / 3 else 365.0
        t = rng.uniform(0, 40)
        days = []
        while t < stop:
            days.append((int(t), float(rng.gamma(2.0, 10.0))))
            t += rng.exponential(21.0)
        rows[f"u{u}"] = days
    return _history(rows)


def test_fitting_on_calibration_windows_never_reads_the_holdout() -> None:
    """A purchase planted after the calibration end must not change the fitted model; the
    same purchase planted inside the calibration period must (so the check has teeth)."""
    ev = _shop()
    calibration_end = START + pd.Timedelta(days=250)
    windows = [(START + pd.Timedelta(days=130), 120), (START + pd.Timedelta(days=190), 60)]
    X = churn_features(ev, calibration_end, 100)

    def fitted(events: pd.DataFrame) -> np.ndarray:
        model = ChurnModel(horizon_days=100, blend_btyd=True).fit_windows(events, windows)
        return model.predict_proba_features(X)

    base = fitted(ev)
    # users who churned in every training window (silent since before day 130) come back
    silent = ev.groupby("user_id")["timestamp"].max() < START + pd.Timedelta(days=120)
    returners = list(silent[silent].index[:60])
    assert len(returners) >= 30

    def plant(day: int) -> pd.DataFrame:
        extra = _history({u: [(day, 50.0)] for u in returners})
        return pd.concat([ev, extra], ignore_index=True)

    np.testing.assert_array_equal(fitted(plant(260)), base)  # holdout-only: ignored
    assert np.abs(fitted(plant(200)) - base).max() > 1e-3  # inside a label window: learned
