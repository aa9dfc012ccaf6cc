"""CDNOW: BG/NBD, Pareto/NBD and Gamma-Gamma against the published estimates; holdout
comparison; churn model against simple baselines.

    python benchmarks/bench_clv.py            # the 2,357-customer sample (about 1 minute)
    python benchmarks/bench_clv.py --master   # also the temporal churn check on 23,570 customers

Everything reads the bundled CDNOW files (weeks as the time unit, calibration to 1997-09-30 =
week 39 of 78, same-day purchases merged, as in Fader, Hardie & Lee 2005).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from shopguide.data.datasets.cdnow import cdnow_events, load_cdnow
from shopguide.retention.btyd import (
    BetaGeoModel,
    GammaGammaModel,
    ParetoNBDModel,
    customer_lifetime_value,
    holdout_comparison,
    rfm_summary,
)
from shopguide.retention.churn import (
    ChurnModel,
    churn_baselines,
    churn_dataset,
    cross_fitted_churn_scores,
    evaluate_churn_scores,
)

PUBLISHED = {
    "BG/NBD (Fader, Hardie & Lee 2005)": {
        "r": 0.243,
        "alpha": 4.414,
        "a": 0.793,
        "b": 2.426,
        "LL": -9582.4,
    },
    "Pareto/NBD (Fader & Hardie 2005, note 008)": {
        "r": 0.55,
        "alpha": 10.58,
        "s": 0.61,
        "beta": 11.67,
        "LL": -9595.0,
    },
    "Gamma-Gamma (Fader & Hardie 2013, note 025)": {
        "p": 6.25,
        "q": 3.74,
        "gamma": 15.44,
        "LL": -4055.92,
    },
}


def _param_table(name: str, fitted: dict[str, float], ll: float) -> None:
    pub = PUBLISHED[name]
    print(f"\n{name}")
    print(f"  {'param':<6} {'fitted':>10} {'published':>10} {'rel.diff':>9}")
    for k, v in fitted.items():
        print(f"  {k:<6} {v:>10.4f} {pub[k]:>10.4f} {v / pub[k] - 1:>+9.2%}")
    print(f"  {'LL':<6} {ll:>10.2f} {pub['LL']:>10.2f}")


def _fmt(res: dict[str, float]) -> str:
    return (
        f"AUC {res['auc']:.3f}  PR-AUC {res['pr_auc']:.3f}  "
        f"top-decile lift {res['lift_top_decile']:.2f}"
    )


def clv_section() -> None:
    t0 = time.perf_counter()
    s = rfm_summary(
        load_cdnow(sample=True),
        customer="customer_id",
        date="date",
        amount="amount",
        calibration_end="1997-09-30",
        time_unit="W",
        merge_same_day=True,
        observation_end="1998-06-30",
    )
    bg = BetaGeoModel().fit(s["frequency"], s["recency"], s["T"])
    pn = ParetoNBDModel().fit(s["frequency"], s["recency"], s["T"])
    rep = s[s["frequency"] > 0]
    gg = GammaGammaModel().fit(rep["frequency"], rep["monetary_value"])
    print(f"CDNOW sample: {len(s)} customers, {int(s['frequency'].sum())} repeat transactions in")
    print(f"weeks 1-39, {int(s['frequency_holdout'].sum())} in weeks 40-78")
    _param_table("BG/NBD (Fader, Hardie & Lee 2005)", bg.params_, bg.log_likelihood_)
    _param_table("Pareto/NBD (Fader & Hardie 2005, note 008)", pn.params_, pn.log_likelihood_)
    _param_table("Gamma-Gamma (Fader & Hardie 2013, note 025)", gg.params_, gg.log_likelihood_)
    print(f"  (fitted on the {gg.n_customers_} customers with repeat purchases)")

    for label, model in (("BG/NBD", bg), ("Pareto/NBD", pn)):
        table = holdout_comparison(model, s)
        print(f"\nHoldout weeks 40-78, {label}: repeat transactions by calibration frequency")
        print(
            table.to_string(
                formatters={
                    "actual": "{:.0f}".format,
                    "predicted": "{:.1f}".format,
                    "actual_mean": "{:.3f}".format,
                    "predicted_mean": "{:.3f}".format,
                }
            )
        )
    clv = customer_lifetime_value(
        bg,
        gg,
        s["frequency"],
        s["recency"],
        s["T"],
        s["monetary_value"],
        horizon=52,
        discount_rate=0.0019,
    )
    print(
        f"\n52-week CLV (BG/NBD x Gamma-Gamma, 10 %/year discount): mean ${clv.mean():.2f}, "
        f"median ${np.median(clv):.2f}, "
        f"top decile mean ${np.sort(clv)[-len(clv) // 10 :].mean():.2f}"
    )
    print(f"(CLV section: {time.perf_counter() - t0:.1f} s)")


def churn_section(master: bool) -> None:
    t0 = time.perf_counter()
    ev = cdnow_events(sample=True)
    X, y = churn_dataset(ev, "1997-09-30", 273)
    print(
        f"\nChurn on the CDNOW sample: features as of 1997-09-30, churn = no purchase in weeks "
        f"40-78 (rate {y.mean():.3f}, {len(y)} customers)"
    )
    for name, score in churn_baselines(X).items():
        print(f"  baseline {name:<22} {_fmt(evaluate_churn_scores(y, score))}")
    rows = []
    for seed in range(5):
        sc = cross_fitted_churn_scores(X, y, n_folds=2, random_state=seed)
        rows.append(evaluate_churn_scores(y, sc))
        sc_h = cross_fitted_churn_scores(X, y, n_folds=2, random_state=seed, blend_logistic=False)
        rows[-1]["auc_hgb_only"] = evaluate_churn_scores(y, sc_h)["auc"]
    df = pd.DataFrame(rows)
    print(
        "  ChurnModel, 2-fold over customers, 5 seeds: "
        f"AUC {df['auc'].mean():.3f} (min {df['auc'].min():.3f}, max {df['auc'].max():.3f})  "
        f"PR-AUC {df['pr_auc'].mean():.3f}  top-decile lift {df['lift_top_decile'].mean():.2f}"
    )
    print(f"  booster alone (no logistic blend): AUC {df['auc_hgb_only'].mean():.3f}")
    print(
        "  (out of fold over customers, so the model learns from holdout labels of other\n"
        "  customers; benchmarks/bench_churn.py trains on calibration-period labels only)"
    )
    model = ChurnModel(horizon_days=273).fit_features(X, y)
    imp = model.compute_importance(X, y, n_repeats=3)
    print("  permutation importance (AUC drop, in-sample):")
    for k, v in imp.head(6).items():
        print(f"    {k:<22} {v:.4f}")
    _temporal("sample", ev)
    if master:
        _temporal("master", cdnow_events(sample=False))
    print(f"(churn section: {time.perf_counter() - t0:.1f} s)")


def _temporal(label: str, ev: pd.DataFrame) -> None:
    """Train at 1997-12-30 with a 13-week label window, evaluate at 1998-03-31 (next 13 weeks)."""
    train_cut, test_cut, horizon = "1997-12-30", "1998-03-31", 91
    model = ChurnModel(horizon_days=horizon).fit(ev, train_cut)
    X, y = churn_dataset(ev, test_cut, horizon)
    print(
        f"\nTemporal churn check, CDNOW {label}: train as of {train_cut}, evaluate as of "
        f"{test_cut}, churn = no purchase in the next 13 weeks (rate {y.mean():.3f}, {len(y)} "
        "customers)"
    )
    res = evaluate_churn_scores(y, model.predict_proba_features(X))
    print(f"  ChurnModel                       {_fmt(res)}")
    for name, score in churn_baselines(X).items():
        print(f"  baseline {name:<22}  {_fmt(evaluate_churn_scores(y, score))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--master", action="store_true", help="also run on the 23,570 customers")
    args = parser.parse_args()
    clv_section()
    churn_section(args.master)


if __name__ == "__main__":
    main()
