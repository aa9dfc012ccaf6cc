"""The degenerate-fit detector and the model choice on synthetic buyers with a known answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopguide.retention import BetaGeoModel, ParetoNBDModel, check_fit, choose_purchase_model
from shopguide.retention.btyd.degeneracy import dropout_share
from shopguide.retention.btyd.value import ONE_PURCHASE_NOTE, customer_value

START = pd.Timestamp("2022-01-01")
END = START + pd.Timedelta(weeks=78)


def _buyers(
    n: int, mean_life_weeks: float | None, seed: int, drop_after_purchase: float = 0.0
) -> pd.DataFrame:
    """Purchases of ``n`` buyers who join in the first 26 weeks and buy as a Poisson process
    (rates gamma(2, 0.25) per week); each leaves after an exponential lifetime with mean
    ``mean_life_weeks`` (Pareto/NBD's story), or never (``None``), and, BG/NBD's story, after
    each purchase with probability ``drop_after_purchase``."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, pd.Timestamp, float]] = []
    for u in range(n):
        rate = rng.gamma(2.0, 0.25)
        joined = rng.uniform(0, 26)
        life = np.inf if mean_life_weeks is None else rng.exponential(mean_life_weeks)
        t = joined
        while t < min(joined + life, 78.0):
            rows.append((f"u{u}", START + pd.Timedelta(weeks=float(t)), float(rng.gamma(2, 20))))
            if t > joined and rng.uniform() < drop_after_purchase:
                break
            t += rng.exponential(1.0 / rate)
    return pd.DataFrame(rows, columns=["user_id", "timestamp", "amount"])


@pytest.fixture(scope="module")
def dropping() -> tuple:
    return choose_purchase_model(_buyers(800, 15.0, seed=1), END)


@pytest.fixture(scope="module")
def steady() -> tuple:
    return choose_purchase_model(_buyers(800, None, seed=2), END)


def test_clear_dropout_is_not_flagged(dropping: tuple) -> None:
    model, check, summary = dropping
    assert not check.degenerate, check.reasons
    assert check.reasons == [] and check.note() is None
    # buyers leave after 15 weeks on average, over a 78-week span: most of a cohort is gone
    assert check.dropout_share > 0.5
    # the model sees the drop-out and so beats "everyone keeps their own pace" on the holdout
    assert check.holdout is not None and check.holdout.beats_baseline
    assert set(check.candidates) == {"BG/NBD", "Pareto/NBD"}
    p_alive = model.probability_alive(summary["frequency"], summary["recency"], summary["T"])
    assert p_alive.min() < 0.2  # some buyers are clearly gone


def test_steady_buyers_without_dropout_are_flagged(steady: tuple) -> None:
    _, check, _ = steady
    assert check.degenerate and check.no_dropout
    assert check.dropout_share < 0.01
    assert "finds no drop-out" in check.reasons[0]
    assert check.note() is not None and check.note().startswith("P(alive) not informative")
    d = check.to_dict()
    assert d["degenerate"] is True and d["model"] in {"BG/NBD", "Pareto/NBD"}
    assert d["reasons"] == check.reasons


def test_parameters_at_a_bound_are_named() -> None:
    bg = BetaGeoModel()
    bg.params_ = {"r": 0.8, "alpha": 9.0, "a": 1e-19, "b": 1.5e-6}
    check = check_fit(bg, span=52.0)
    assert check.at_bounds == ("a", "b") and check.degenerate
    assert "parameters a, b ran to their limits" in check.reasons[1]
    pn = ParetoNBDModel()
    pn.params_ = {"r": 0.8, "alpha": 9.0, "s": 0.8, "beta": 12.0}
    sound = check_fit(pn, span=52.0)
    # lifetimes with rate gamma(0.8, 12): 1 - (12 / 64)^0.8 of a cohort leave in 52 weeks
    assert sound.dropout_share == pytest.approx(1 - (12 / 64) ** 0.8)
    assert not sound.degenerate and sound.at_bounds == ()


def test_bgnbd_dropout_share_matches_its_formula() -> None:
    bg = BetaGeoModel()
    bg.params_ = {"r": 1.0, "alpha": 10.0, "a": 1.0, "b": 3.0}
    # n = r / alpha * span = 5 purchases, each survived with 1 - p, p ~ beta(1, 3):
    # E[(1 - p)^5] = B(1, 8) / B(1, 3) = 3 / 8
    assert dropout_share(bg, 50.0) == pytest.approx(1 - 3 / 8)


def _as_events(tx: pd.DataFrame) -> pd.DataFrame:
    return tx.rename(columns={"amount": "price"}).assign(event_type="purchase", quantity=1.0)


def test_value_follows_the_churn_risk_when_the_fit_is_degenerate() -> None:
    events = _as_events(_buyers(400, None, seed=3))
    users = sorted(events["user_id"].unique())
    risk = pd.Series(0.05, index=users)
    risk.iloc[::2] = 0.97  # every other buyer: the churn model is nearly sure they left
    value, check = customer_value(events, END, risk)
    assert check.degenerate
    # nobody is shown P(alive) from a model that calls everyone alive
    assert value["p_alive"].isna().all()
    assert value["value_note"].str.startswith("P(alive) not informative").all()
    # the chance of being active behind the value agrees with the risk: at a 97 % risk of no
    # purchase in 90 days, at most 3 % / (1 - q0) of the buyer can still be active
    risky = risk[risk > 0.9].index
    assert (value.loc[risky, "active_share"] < 0.2).all()
    calm = risk[risk < 0.1].index
    assert value.loc[risky, "clv"].median() < 0.2 * value.loc[calm, "clv"].median()
    without, _ = customer_value(events, END)  # no churn risk: no value where it cannot tell
    assert without["clv"].isna().all()


def test_bgnbd_one_time_buyers_are_not_called_alive() -> None:
    # buyers who leave after a repeat purchase with probability 0.25: BG/NBD's own story
    events = _as_events(_buyers(800, None, seed=5, drop_after_purchase=0.25))
    value, check = customer_value(events, END, pd.Series(0.5, index=events["user_id"].unique()))
    assert not check.degenerate and check.model == "BG/NBD", check.to_dict()
    single = value["frequency"] == 0
    assert single.sum() >= 5
    assert value.loc[single, "p_alive"].isna().all()
    assert (value.loc[single, "value_note"] == ONE_PURCHASE_NOTE).all()
    repeat = value[~single]
    assert repeat["p_alive"].notna().all() and repeat["value_note"].isna().all()
    assert (repeat["active_share"] == repeat["p_alive"]).all()
