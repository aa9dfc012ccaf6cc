"""Compare every ShopGuide recommender with the `implicit` library's baselines on Online Retail.

Run:  .venv/bin/python benchmarks/bench_compare.py [--out reports/compare] [--threads 2]
      [--models "rp3beta,item-knn,ease"]   (a subset; popularity always runs)

Data: UCI Online Retail (Chen, Sain & Guo 2012), purchases only — cancellations (InvoiceNo
starting with "C"), Quantity <= 0, UnitPrice <= 0 and rows without CustomerID are dropped;
user = CustomerID, item = StockCode, one event per invoice line.

Split (global temporal, exactly):
  test  = purchases on/after 2011-11-01 00:00 (to the end of the data, 2011-12-09), of users
          and items that occur in training; relevant = items a user bought in the test window
          that they had NOT bought before the cut (every model filters already-bought items,
          so a repurchase can never be a hit);
  train = every purchase before 2011-11-01.
  Validation for tuning, carved from train only: fit on purchases before 2011-09-01, measure on
  2011-09-01 .. 2011-10-31 with the same rules. The test window is never looked at while tuning.

Matrix: the same scipy CSR for every model, ours and implicit's: 1 if the user bought the item
before the cut, else 0 (``--matrix count`` uses the number of invoice lines instead; binary
was chosen on the validation split, where it helped EASE and item-KNN and did not hurt ALS).

Recency (``--half-lives``, default ``off,60,120,240``): for EASE, item-KNN, ALS and the
blend, ours and implicit's alike (an input choice, not a model feature), the half-life in days
is tuned with the other parameters: each pair (user, item) is then valued
``0.5 ** (age / half_life)`` for the age of its latest purchase at the end of the training
period (:func:`shopguide.data.recency.decayed_binary`). ``--half-lives off`` is the plain 0/1
matrix for every model.

Blend: ``blend`` = (1 - w) * EASE + w * ALS on per-user z-scored scores, each part with its
own tuned parameters; the weight w is tuned on the validation split (``w = 0`` is EASE alone).

EASE + next-window: ``ease-next`` (:mod:`shopguide.recommend.ease_next`) with EASE's λ and
half-life as tuned for EASE; the window length, the number of windows and the blend weight are
tuned on the validation split (``weight = 0`` is EASE alone). It learns from the first purchase
date of each training pair (``fit_inputs``), inside the training period only.

Metrics: full catalogue ranking (no sampled negatives), definitions in docs/metrics.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from shopguide.data.first_seen import first_seen_times
from shopguide.data.split import TemporalSplit
from shopguide.evaluate.compare import compare_models, markdown_table
from shopguide.evaluate.tuning import training_matrix, tune
from shopguide.recommend import create_model

HERE = Path(__file__).resolve().parent
BUNDLED = HERE.parent / "src/shopguide/data/bundled/online_retail/online_retail.parquet"
SHARED = Path("/work/shared/data/online-retail/online_retail.parquet")


def load_purchases(path: Path) -> pd.DataFrame:
    """Online Retail as canonical purchase events (see the module docstring for the rules)."""
    raw = pd.read_parquet(path)
    invoice = raw["InvoiceNo"].astype(str)
    keep = (
        ~invoice.str.startswith("C")
        & (raw["Quantity"] > 0)
        & (raw["UnitPrice"] > 0)
        & raw["CustomerID"].notna()
    )
    df = raw[keep]
    return pd.DataFrame(
        {
            "user_id": df["CustomerID"].astype("int64").astype(str).to_numpy(),
            "item_id": df["StockCode"].astype(str).to_numpy(),
            "event_type": "purchase",
            "timestamp": pd.to_datetime(df["InvoiceDate"]).to_numpy(),
            "quantity": df["Quantity"].astype(float).to_numpy(),
            "price": df["UnitPrice"].astype(float).to_numpy(),
            "order_id": invoice[keep].to_numpy(),
        }
    )


class ImplicitModel:
    """Runs an `implicit` model directly on the CSR arrays (no ShopGuide code in between)."""

    def __init__(self, make: Callable[..., Any], **params: Any) -> None:
        self.make = make
        self.params = params

    def get_params(self) -> dict[str, Any]:
        return dict(self.params)

    def fit(self, user_items: sp.csr_matrix) -> ImplicitModel:
        self.model_ = self.make(**self.params)
        with threadpool_limits(limits=1, user_api="blas"):
            self.model_.fit(sp.csr_matrix(user_items, dtype=np.float32), show_progress=False)
        return self

    def recommend(
        self,
        user_rows: np.ndarray,
        user_items: sp.csr_matrix,
        n: int = 10,
        filter_already_liked: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        rows = np.asarray(user_rows)
        ids, scores = self.model_.recommend(
            rows,
            sp.csr_matrix(user_items[rows], dtype=np.float32),
            N=n,
            filter_already_liked_items=filter_already_liked,
        )
        ids = np.asarray(ids, dtype=np.int64)
        # implicit pads short lists with id -1 / score -inf or returns fewer columns; both are
        # treated as padding by the metrics.
        ids[~np.isfinite(np.asarray(scores))] = -1
        return ids, scores


def implicit_factory(kind: str, threads: int) -> Callable[..., ImplicitModel]:
    from implicit.als import AlternatingLeastSquares
    from implicit.bpr import BayesianPersonalizedRanking
    from implicit.nearest_neighbours import CosineRecommender

    classes: dict[str, Any] = {
        "als": AlternatingLeastSquares,
        "bpr": BayesianPersonalizedRanking,
        "cosine": CosineRecommender,
    }

    def make(**params: Any) -> ImplicitModel:
        extra = {"random_state": 42} if kind != "cosine" else {}
        return ImplicitModel(classes[kind], num_threads=threads, **extra, **params)

    return make


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--cut", default="2011-11-01")
    ap.add_argument("--val-cut", default="2011-09-01")
    ap.add_argument("--matrix", choices=("count", "binary"), default="binary")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--half-lives",
        default="off,60,120,240",
        help="half-lives (days) tried for the recency-weighted input; 'off' = plain 0/1",
    )
    ap.add_argument("--quick", action="store_true", help="smaller grids (smoke run)")
    ap.add_argument(
        "--with-repurchases",
        action="store_true",
        help="also score the same fitted models with already-bought items allowed",
    )
    ap.add_argument("--out", type=Path, default=None, help="folder for evidence.json + chart")
    ap.add_argument(
        "--models",
        default=None,
        help="comma-separated labels to run (e.g. 'rp3beta,item-knn,ease,implicit cosine'); "
        "popularity always runs; default: every model",
    )
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore", message="Method expects CSR input")
    t_start = time.perf_counter()
    path = args.data or (BUNDLED if BUNDLED.exists() else SHARED)
    events = load_purchases(path)
    print(f"# Model comparison on Online Retail ({path.name})\n")
    print(
        f"purchases: {len(events):,} lines, {events['user_id'].nunique():,} customers, "
        f"{events['item_id'].nunique():,} items, "
        f"{events['timestamp'].min():%Y-%m-%d} .. {events['timestamp'].max():%Y-%m-%d}"
    )
    weights = {"purchase": 1.0}

    binary = args.matrix == "binary"

    test_split = TemporalSplit(args.cut).split(events)
    val_split = TemporalSplit(args.val_cut, test_end=args.cut).split(test_split.train)
    for label, s in (("test", test_split), ("validation", val_split)):
        r = s.report
        print(
            f"{label}: train {r.n_train:,} lines / {r.n_train_users:,} users / "
            f"{r.n_train_items:,} items; test {r.n_test:,} lines / {r.n_test_users:,} users; "
            f"dropped {r.n_dropped_cold_user:,} lines of new customers and "
            f"{r.n_dropped_cold_item:,} of new items"
            + (f", {r.n_dropped_outside:,} outside the window" if r.n_dropped_outside else "")
        )
    th = args.threads
    ours: dict[str, tuple[Any, dict[str, list[Any]]]] = {
        "user-knn": ("user-knn", {"k": [25, 50, 100, 200]}),
        "item-knn": (
            "item-knn",
            {"k": [25, 50, 100, 200], "normalize": ["neighbours", "none"]},
        ),
        "ease": ("ease", {"regularization": [100.0, 250.0, 500.0, 1000.0]}),
        "rp3beta": (
            lambda **p: create_model("rp3beta", num_threads=th, **p),
            {"k": [10, 15, 25, 50], "alpha": [0.5, 0.75, 1.0], "beta": [0.4, 0.5, 0.6]},
        ),
        "als": (
            lambda **p: create_model("als", num_threads=th, **p),
            {"factors": [32, 64, 128], "regularization": [0.01, 0.1]},
        ),
        "bpr": (
            lambda **p: create_model("bpr", num_threads=1, **p),
            {"factors": [64, 128]},
        ),
        # the factory is made once EASE and ALS are tuned (see _blend_factory)
        "blend": ("blend", {"weight": [0.0, 0.1, 0.2, 0.3, 0.5], "normalize": ["zscore"]}),
        # EASE's λ and half-life as tuned for EASE (see _ease_next_factory)
        "ease-next": (
            "ease-next",
            {"horizon_days": [45, 60], "windows": [1, 2], "weight": [0.0, 0.35, 0.45]},
        ),
    }
    theirs: dict[str, tuple[Any, dict[str, list[Any]]]] = {
        "implicit ALS": (
            implicit_factory("als", th),
            {"factors": [32, 64, 100, 128], "regularization": [0.01, 0.1]},
        ),
        "implicit BPR": (
            implicit_factory("bpr", 1),
            {"factors": [64, 128]},
        ),
        "implicit cosine": (implicit_factory("cosine", th), {"K": [20, 50, 100, 200]}),
    }
    if args.models:
        keep = {m.strip() for m in args.models.split(",") if m.strip()}
        unknown = keep - set(ours) - set(theirs)
        if unknown:
            ap.error(f"unknown model labels {sorted(unknown)}; known: {sorted({*ours, *theirs})}")
        ours = {k: v for k, v in ours.items() if k in keep}
        theirs = {k: v for k, v in theirs.items() if k in keep}
    if args.quick:
        ours = {k: (f, {p: v[:1] for p, v in g.items()}) for k, (f, g) in ours.items()}
        theirs = {k: (f, {p: v[:1] for p, v in g.items()}) for k, (f, g) in theirs.items()}

    half_lives = [None if h.strip() == "off" else float(h) for h in args.half_lives.split(",")]
    if "blend" in ours and not {"ease", "als"} <= set(ours):
        ap.error("the blend needs ease and als in --models")
    if "ease-next" in ours and "ease" not in ours:
        ap.error("ease-next needs ease in --models")

    print("\n## Tuning on the validation split (carved from training)\n")
    chosen: dict[str, dict[str, Any]] = {}
    decay: dict[str, float | None] = {}
    tune_rows = []
    for label, (factory, grid) in {**ours, **theirs}.items():
        t0 = time.perf_counter()
        if label == "blend":  # its parts as tuned above, on EASE's input
            factory = _blend_factory(chosen, th)
        if label == "ease-next":  # EASE's part as tuned above, on EASE's input
            factory = _ease_next_factory(chosen)
        tried = half_lives if label in DECAYED else [None]
        if label in ("blend", "ease-next"):
            tried = [decay["ease"]]
        best_res, best_h, settings = None, None, 0
        for h in tried:
            res = tune(
                factory, grid, None, [val_split], ns=[10], weights=weights, binary=binary,
                half_life_days=h,
            )  # fmt: skip
            settings += len(res.summary)
            if best_res is None or res.best_score > best_res.best_score:  # first on a tie
                best_res, best_h, worst = res, h, float(res.summary["ndcg@10_mean"].min())
            else:
                worst = min(worst, float(res.summary["ndcg@10_mean"].min()))
        assert best_res is not None
        chosen[label], decay[label] = best_res.best_params, best_h
        tune_rows.append(
            {
                "model": label,
                "settings": settings,
                "best params": _params_text(label, chosen, decay),
                "val ndcg@10 best": best_res.best_score,
                "val ndcg@10 worst": worst,
                "seconds": round(time.perf_counter() - t0, 1),
            }
        )
        print(
            f"- {label}: best {_params_text(label, chosen, decay)} "
            f"val ndcg@10={best_res.best_score:.4f}",
            flush=True,
        )
    print()
    print(markdown_table(pd.DataFrame(tune_rows).set_index("model")))

    print(f"\n## Test: {test_split.report.description}\n")
    models: dict[str, Any] = {"popular": create_model("popular")}
    for label, (factory, _) in {**ours, **theirs}.items():
        params = chosen[label]
        if label == "blend":
            factory = _blend_factory(chosen, th)
        if label == "ease-next":
            factory = _ease_next_factory(chosen)
        models[label] = (
            create_model(factory, **params) if isinstance(factory, str) else factory(**params)
        )
    train = training_matrix(test_split.train, weights, binary=binary)
    matrices = {
        label: training_matrix(test_split.train, weights, binary=binary, half_life_days=h).matrix
        for label, h in decay.items()
        if h is not None
    }
    comp = compare_models(
        models,
        matrices=matrices,
        train=train,
        test_events=test_split.test,
        n=[10],
        primary="ndcg@10",
        split_description=test_split.report.description,
        split_report=test_split.report.to_dict(),
        fit_inputs={"first_seen": first_seen_times(test_split.train, train, weights)},
    )
    cols = ["ndcg@10", "recall@10", "precision@10", "map@10", "hit_rate@10", "mrr@10"]
    table = comp.table[[*cols, "coverage@10", "novelty@10", "fit_s"]].copy()
    table.insert(0, "params", [_params_text(label, chosen, decay) for label in table.index])
    print(markdown_table(table))
    counts = next(iter(comp.results.values())).counts
    print(
        f"\n{counts['evaluated_users']:,} test users evaluated "
        f"({counts['users_without_relevant_items']:,} test users bought only items they had "
        f"bought before and are not scored); {counts['test_pairs_already_in_train']:,} of "
        f"{counts['test_pairs']:,} test (user, item) pairs were repurchases."
    )

    baselines = ["popular", *theirs]
    best_ours = max(
        (m for m in comp.table.index if m not in baselines),
        key=lambda m: comp.table.loc[m, "ndcg@10"],
    )
    # als / bpr are thin wrappers of implicit's own ALS / BPR: they can only tie with those
    own = max(
        (m for m in comp.table.index if m not in baselines and m not in ("als", "bpr")),
        key=lambda m: comp.table.loc[m, "ndcg@10"],
    )
    ours_score = float(comp.table.loc[best_ours, "ndcg@10"])
    print(f"\n## Verdict\n\nour best model on test NDCG@10: **{best_ours}** = {ours_score:.4f}")
    all_beaten = True
    for b in baselines:
        other = float(comp.table.loc[b, "ndcg@10"])
        diff = ours_score - other
        rel = diff / other * 100 if other > 0 else float("inf")
        verdict = "beats" if diff > 0 else "does NOT beat"
        all_beaten &= diff > 0
        print(f"- {verdict} {b} ({other:.4f}): {diff:+.4f} absolute, {rel:+.1f}% relative")
    print(
        "\n"
        + (
            "Our best model beats every implicit baseline and popularity on NDCG@10."
            if all_beaten
            else "Our best model does NOT beat every baseline on NDCG@10 (see above)."
        )
    )
    if own != best_ours:
        print(
            f"\nbest model that is not a wrapper of implicit: **{own}** = "
            f"{comp.table.loc[own, 'ndcg@10']:.4f}"
        )
    # paired bootstrap over test users: how sure is the margin over the strongest baseline?
    strongest = max(baselines, key=lambda b: comp.table.loc[b, "ndcg@10"])
    rng = np.random.default_rng(0)
    for mine in dict.fromkeys([best_ours, own]):
        a = comp.results[mine].report.per_user["ndcg@10"].to_numpy()
        b = comp.results[strongest].report.per_user["ndcg@10"].to_numpy()
        idx = rng.integers(0, a.size, (1000, a.size))
        diffs = np.nanmean(a[idx] - b[idx], axis=1)
        lo, hi = np.percentile(diffs, [2.5, 97.5])
        print(
            f"paired bootstrap (1000 resamples of test users), {mine} minus {strongest}: "
            f"mean {np.nanmean(a - b):+.4f}, 95% interval [{lo:+.4f}, {hi:+.4f}]"
        )
    if args.with_repurchases:
        again = compare_models(
            models,
            train=train,
            test_events=test_split.test,
            n=[10],
            primary="ndcg@10",
            filter_already_liked=False,
            fit=False,
            split_description=test_split.report.description,
        )
        print(
            "\n## Same fitted models, repurchases allowed\n\n"
            "Already-bought items are neither filtered from the lists nor removed from the "
            "relevant sets (every test purchase counts). Parameters were tuned for the "
            "main setting above, not re-tuned.\n"
        )
        print(markdown_table(again.table[[*cols, "coverage@10"]]))
    if args.out is not None:
        paths = comp.save(args.out)
        print(f"\nevidence written: {paths['evidence']}")
    print(f"\ntotal run time {time.perf_counter() - t_start:.0f} s on {os.cpu_count()} cores")
    return 0


#: Labels whose input half-life is tuned (``--half-lives``).
DECAYED = ("ease", "item-knn", "als", "implicit ALS", "implicit cosine")


def _blend_factory(chosen: dict[str, dict[str, Any]], threads: int) -> Callable[..., Any]:
    """``blend`` of EASE and ALS with the parameters tuned for each on its own."""

    def make(**params: Any) -> Any:
        return create_model(
            "blend", first="ease", second="als", first_params=dict(chosen["ease"]),
            second_params={**chosen["als"], "num_threads": threads}, **params,
        )  # fmt: skip

    return make


def _ease_next_factory(chosen: dict[str, dict[str, Any]]) -> Callable[..., Any]:
    """``ease-next`` with EASE's λ as tuned for EASE alone."""

    def make(**params: Any) -> Any:
        return create_model("ease-next", **chosen["ease"], **params)

    return make


def _params_text(
    label: str, chosen: dict[str, dict[str, Any]], decay: dict[str, float | None] | None = None
) -> str:
    text = ", ".join(f"{k}={v}" for k, v in chosen.get(label, {}).items()) or "defaults"
    h = (decay or {}).get(label)
    return text + (f", half-life {h:g} d" if h is not None else "")


if __name__ == "__main__":
    sys.exit(main())
