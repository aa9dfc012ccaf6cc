"""BG/NBD, Pareto/NBD and Gamma-Gamma: published CDNOW estimates, hand-computed data, properties."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import hyp2f1

from shopguide.data.datasets.cdnow import load_cdnow
from shopguide.errors import DataError, ModelFormatError, NotFittedError
from shopguide.retention.btyd import (
    BetaGeoModel,
    GammaGammaModel,
    ParetoNBDModel,
    bgnbd_log_likelihood,
    customer_lifetime_value,
    holdout_comparison,
    pareto_nbd_log_likelihood,
    rfm_summary,
)


@pytest.fixture(scope="module")
def cdnow_summary() -> pd.DataFrame:
    return rfm_summary(
        load_cdnow(sample=True),
        customer="customer_id",
        date="date",
        amount="amount",
        calibration_end="1997-09-30",
        time_unit="W",
        merge_same_day=True,
        observation_end="1998-06-30",
    )


# ---------------------------------------------------------------- published CDNOW results


def test_cdnow_summary_shape(cdnow_summary: pd.DataFrame) -> None:
    s = cdnow_summary
    assert len(s) == 2357
    # everyone bought first in 1997 Q1, so T lies between 39-12 and 39 weeks
    assert s["T"].max() == pytest.approx(272 / 7)
    assert s["T"].min() > 26
    assert (s["frequency"] == 0).sum() == 1411
    assert s["duration_holdout"].iloc[0] == pytest.approx(39.0)


def test_bgnbd_matches_fader_hardie_lee_2005(cdnow_summary: pd.DataFrame) -> None:
    # Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way", Marketing Science
    # 24(2): r=0.243, alpha=4.414, a=0.793, b=2.426, LL=-9582.4 on this sample.
    s = cdnow_summary
    m = BetaGeoModel().fit(s["frequency"], s["recency"], s["T"])
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert m.params_[name] == pytest.approx(value, rel=0.01), name
    assert m.log_likelihood_ == pytest.approx(-9582.4, abs=0.5)


def test_pareto_nbd_matches_fader_hardie_note(cdnow_summary: pd.DataFrame) -> None:
    # Fader & Hardie (2005), "A Note on Deriving the Pareto/NBD Model and Related Expressions"
    # (brucehardie.com note 008), same CDNOW sample: r=0.55, alpha=10.58, s=0.61, beta=11.67,
    # LL=-9595.0.
    s = cdnow_summary
    m = ParetoNBDModel().fit(s["frequency"], s["recency"], s["T"])
    published = {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}
    for name, value in published.items():
        assert m.params_[name] == pytest.approx(value, rel=0.02), name
    assert m.log_likelihood_ == pytest.approx(-9595.0, abs=0.5)


def test_gamma_gamma_matches_fader_hardie_2013(cdnow_summary: pd.DataFrame) -> None:
    # Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value" (brucehardie.com note
    # 025), on the 946 repeat buyers of the CDNOW sample's calibration period, mean spend of
    # the repeat transactions: p=6.25, q=3.74, gamma=15.44, LL=-4055.92 (the same values are
    # the correctness test of the R package CLVTools).
    s = cdnow_summary
    rep = s[s["frequency"] > 0]
    m = GammaGammaModel().fit(rep["frequency"], rep["monetary_value"])
    assert m.n_customers_ == 946
    for name, value in {"p": 6.25, "q": 3.74, "gamma": 15.44}.items():
        assert m.params_[name] == pytest.approx(value, rel=0.01), name
    assert m.log_likelihood_ == pytest.approx(-4055.92, abs=0.05)


def test_holdout_comparison_is_close(cdnow_summary: pd.DataFrame) -> None:
    s = cdnow_summary
    m = BetaGeoModel().fit(s["frequency"], s["recency"], s["T"])
    table = holdout_comparison(m, s)
    assert table.loc["total", "customers"] == 2357
    assert table.loc["total", "actual"] == s["frequency_holdout"].sum()
    # predicted per-customer means follow the actual ones bin by bin
    bins = table.drop(index="total")
    corr = np.corrcoef(bins["actual_mean"], bins["predicted_mean"])[0, 1]
    assert corr > 0.98
    assert table.loc["total", "predicted"] == pytest.approx(table.loc["total", "actual"], rel=0.2)


# ---------------------------------------------------------------- hand-computed data


def test_rfm_summary_hand_computed() -> None:
    tx = pd.DataFrame(
        {
            "c": ["a", "a", "a", "a", "b", "c"],
            "d": pd.to_datetime(
                ["2020-01-01", "2020-01-01", "2020-01-08", "2020-02-05", "2020-01-15", "2020-03-01"]
            ),
            "v": [10.0, 5.0, 20.0, 99.0, 7.0, 3.0],
        }
    )
    s = rfm_summary(tx, "c", "d", "v", calibration_end="2020-01-29", observation_end="2020-02-26")
    assert list(s.index) == ["a", "b"]  # c first buys after the calibration end
    a = s.loc["a"]
    assert a["frequency"] == 1  # two same-day purchases merged, one repeat
    assert a["recency"] == pytest.approx(1.0)
    assert a["T"] == pytest.approx(4.0)
    assert a["monetary_value"] == pytest.approx(20.0)
    assert a["frequency_holdout"] == 1
    assert a["monetary_holdout"] == pytest.approx(99.0)
    assert s.loc["b", "frequency"] == 0
    assert s.loc["b", "monetary_value"] == 0.0
    assert s.loc["b", "T"] == pytest.approx(2.0)
    unmerged = rfm_summary(tx, "c", "d", "v", "2020-01-29", time_unit="D", merge_same_day=False)
    assert unmerged.loc["a", "frequency"] == 2
    assert unmerged.loc["a", "T"] == pytest.approx(28.0)


def test_bgnbd_likelihood_hand_computed() -> None:
    r, alpha, a, b = 0.5, 2.0, 1.5, 3.0
    # x = 0: nobody dies before a first repeat purchase, L = (alpha/(alpha+T))^r
    ll = bgnbd_log_likelihood((r, alpha, a, b), [0], [0], [4.0])
    assert ll[0] == pytest.approx(math.log((alpha / (alpha + 4.0)) ** r))
    # x = 1: B(a,b+1)/B(a,b) G(r+1)a^r/(G(r)(a+T)^(r+1))
    #      + B(a+1,b)/B(a,b) G(r+1)a^r/(G(r)(a+tx)^(r+1))
    g = r * alpha**r  # Gamma(r+1)/Gamma(r) * alpha^r
    term1 = b / (a + b) * g / (alpha + 4.0) ** (r + 1)
    term2 = a / (a + b) * g / (alpha + 1.0) ** (r + 1)
    ll1 = bgnbd_log_likelihood((r, alpha, a, b), [1], [1.0], [4.0])
    assert ll1[0] == pytest.approx(math.log(term1 + term2))


@pytest.mark.parametrize(("alpha", "beta"), [(3.0, 1.5), (1.5, 3.0), (2.0, 2.0)])
def test_pareto_nbd_likelihood_against_untransformed_formula(alpha: float, beta: float) -> None:
    r, s, x, t_x, T = 0.7, 0.9, 3.0, 5.0, 8.0
    rsx = r + s + x

    def a0(t: float) -> float:
        if alpha >= beta:
            return hyp2f1(rsx, s + 1, rsx + 1, (alpha - beta) / (alpha + t)) / (alpha + t) ** rsx
        return hyp2f1(rsx, r + x, rsx + 1, (beta - alpha) / (beta + t)) / (beta + t) ** rsx

    like = (
        math.gamma(r + x)
        * alpha**r
        * beta**s
        / math.gamma(r)
        * (1 / ((alpha + T) ** (r + x) * (beta + T) ** s) + s / rsx * (a0(t_x) - a0(T)))
    )
    ll = pareto_nbd_log_likelihood((r, alpha, s, beta), [x], [t_x], [T])
    assert ll[0] == pytest.approx(math.log(like), rel=1e-9)


def test_recovers_simulated_bgnbd_parameters() -> None:
    rng = np.random.default_rng(7)
    n, T = 6000, 52.0
    r, alpha, a, b = 0.8, 6.0, 0.6, 3.0
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    freq = np.zeros(n)
    rec = np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T:
                break
            freq[i] += 1
            rec[i] = t
            if rng.random() < p[i]:
                break
    m = BetaGeoModel().fit(freq, rec, np.full(n, T))
    assert m.params_["r"] == pytest.approx(r, rel=0.15)
    assert m.params_["alpha"] == pytest.approx(alpha, rel=0.2)
    assert m.params_["a"] == pytest.approx(a, rel=0.3)
    assert m.params_["b"] == pytest.approx(b, rel=0.4)


# ---------------------------------------------------------------- behaviour and properties


def test_not_fitted_and_bad_input() -> None:
    with pytest.raises(NotFittedError):
        BetaGeoModel().probability_alive([1], [1], [2])
    with pytest.raises(NotFittedError):
        GammaGammaModel().expected_spend()
    with pytest.raises(DataError):
        BetaGeoModel().fit([1, 2], [3, 1], [2, 2])  # recency > T
    with pytest.raises(DataError):
        BetaGeoModel().fit([0.5], [0], [2])


def test_json_round_trip(cdnow_summary: pd.DataFrame) -> None:
    s = cdnow_summary
    m = ParetoNBDModel().fit(s["frequency"], s["recency"], s["T"])
    back = ParetoNBDModel.from_json(m.to_json())
    assert back.params_ == m.params_
    np.testing.assert_allclose(
        back.probability_alive(s["frequency"], s["recency"], s["T"]),
        m.probability_alive(s["frequency"], s["recency"], s["T"]),
    )
    with pytest.raises(ModelFormatError):
        BetaGeoModel.from_json(m.to_json())
    with pytest.raises(ModelFormatError):
        BetaGeoModel.from_dict({"format_version": 99})


def test_clv_is_positive_and_discounting_lowers_it(cdnow_summary: pd.DataFrame) -> None:
    s = cdnow_summary
    bg = BetaGeoModel().fit(s["frequency"], s["recency"], s["T"])
    rep = s[s["frequency"] > 0]
    gg = GammaGammaModel().fit(rep["frequency"], rep["monetary_value"])
    args = (s["frequency"], s["recency"], s["T"], s["monetary_value"])
    plain = customer_lifetime_value(bg, gg, *args, horizon=52)
    disc = customer_lifetime_value(bg, gg, *args, horizon=52, discount_rate=0.01)
    assert np.all(plain > 0)
    assert np.all(disc < plain)
    expected = bg.conditional_expected_purchases(52, s["frequency"], s["recency"], s["T"])
    spend = gg.conditional_expected_spend(s["frequency"], s["monetary_value"])
    np.testing.assert_allclose(plain, expected * spend, rtol=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    x=st.integers(0, 30),
    frac=st.floats(0, 1),
    T=st.floats(0.5, 100),
    params=st.tuples(*[st.floats(0.05, 20)] * 4),
)
def test_probabilities_and_expectations_are_sane(
    x: int, frac: float, T: float, params: tuple[float, float, float, float]
) -> None:
    t_x = frac * T if x > 0 else 0.0
    for cls, names in (
        (BetaGeoModel, ("r", "alpha", "a", "b")),
        (ParetoNBDModel, ("r", "alpha", "s", "beta")),
    ):
        m = cls()
        m.params_ = dict(zip(names, params, strict=True))
        pa = m.probability_alive([x], [t_x], [T])[0]
        assert 0.0 <= pa <= 1.0
        e1 = m.conditional_expected_purchases(5.0, [x], [t_x], [T])[0]
        e2 = m.conditional_expected_purchases(20.0, [x], [t_x], [T])[0]
        assert np.isfinite(e1) and np.isfinite(e2)
        assert -1e-9 <= e1 <= e2 + 1e-9


def test_customer_value_table_from_events() -> None:
    from shopguide.data.datasets.cdnow import cdnow_events
    from shopguide.retention.btyd import customer_value_table

    ev = cdnow_events()
    table = customer_value_table(ev, as_of="1997-09-30", horizon_days=273)
    assert len(table) == 2357
    s = rfm_summary(load_cdnow(), "customer_id", "date", "amount", "1997-09-30")
    s.index = s.index.astype(str)
    np.testing.assert_allclose(table.loc[s.index, "frequency"], s["frequency"])
    assert table["p_alive"].between(0, 1).all()
    assert (table["clv"] > 0).all()
    # the most valuable customers are frequent, recent buyers
    top = table.nlargest(50, "clv")
    assert top["frequency"].median() > table["frequency"].median()
    # next order: only where half a purchase is expected within a year, and after as_of
    nxt = table["expected_next_order"].dropna()
    assert (nxt > pd.Timestamp("1997-09-30")).all()
    assert (nxt <= pd.Timestamp("1997-09-30") + pd.Timedelta(weeks=52)).all()
    assert table.loc[nxt.index, "expected_purchases"].min() > 0.1
    # the future does not leak into the as-of table
    later = customer_value_table(ev[ev["timestamp"] <= "1997-09-30"], as_of="1997-09-30")
    np.testing.assert_allclose(later["clv"], customer_value_table(ev, as_of="1997-09-30")["clv"])


def test_probability_no_purchase_bgnbd_closed_form() -> None:
    m = BetaGeoModel()
    m.params_ = {"r": 0.5, "alpha": 4.0, "a": 0.8, "b": 2.5}
    # no repeat purchase: alive for sure, so P(0 in t) = (alpha+T / (alpha+T+t))^r
    got = m.probability_no_purchase(10.0, [0], [0.0], [6.0])
    assert got[0] == pytest.approx((10.0 / 20.0) ** 0.5, rel=1e-12)
    # a repeat buyer: mixes "dead" and "alive but quiet"
    x, tx, T = np.array([3.0]), np.array([5.0]), np.array([12.0])
    alive = m.probability_alive(x, tx, T)[0]
    quiet = (16.0 / 26.0) ** 3.5
    assert m.probability_no_purchase(10.0, x, tx, T)[0] == pytest.approx(
        1 - alive + alive * quiet, rel=1e-12
    )


def test_probability_no_purchase_pareto_nbd_against_simulation() -> None:
    m = ParetoNBDModel()
    m.params_ = {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}
    x, tx, T = np.array([0.0, 2.0, 5.0]), np.array([0.0, 10.0, 30.0]), np.array([30.0, 35.0, 38.0])
    got = m.probability_no_purchase(39.0, x, tx, T)
    rng = np.random.default_rng(0)
    n = 200_000
    for i in range(3):
        alive = m.probability_alive(x[i : i + 1], tx[i : i + 1], T[i : i + 1])[0]
        lam = rng.gamma(0.55 + x[i], 1 / (10.58 + T[i]), n)
        mu = rng.gamma(0.61, 1 / (11.67 + T[i]), n)
        quiet = np.mean(rng.exponential(1 / lam) > np.minimum(rng.exponential(1 / mu), 39.0))
        assert got[i] == pytest.approx(1 - alive + alive * quiet, abs=0.005)
    # at t = 0 nobody buys; longer windows leave fewer customers without a purchase
    assert m.probability_no_purchase(0.0, x, tx, T) == pytest.approx(np.ones(3))
    assert np.all(m.probability_no_purchase(20.0, x, tx, T) > got)
