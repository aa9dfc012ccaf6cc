"""Dense EASE next to ``ease-large`` (EASE on the head, item-KNN on the tail), side by side.

Run:  PYTHONPATH=src .venv/bin/python benchmarks/bench_ease_large.py [--dataset all]

Datasets and splits:
  online-retail     the bench_compare.py protocol: purchases before 2011-11-01 train, new
                    purchases after it test, 0/1 matrix (see bench_compare.py);
  complete-journey  the bundled Complete Journey transactions with ``shopguide compare``'s
                    split: the last 10 % of the span (37 days) test, the rest train, 0/1 matrix.

Every model is fitted in its own child process, so its peak memory is that process's peak
resident set (``ru_maxrss``, data and interpreter included) and fits do not share caches.
Reported: NDCG@10 and recall@10 on the test users (full ranking, seen items filtered), fit
seconds, peak RSS, and the cost estimate of ``shopguide.recommend.cost``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from shopguide.evaluate.compare import markdown_table

HERE = Path(__file__).resolve().parent

CONFIGS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "online-retail": [
        ("ease", {"regularization": 500.0}),
        ("ease-large", {"regularization": 500.0, "dense_items": 1000}),
        ("ease-large", {"regularization": 500.0, "dense_items": 2000}),
        ("ease-large", {"regularization": 500.0, "dense_items": 3000}),
        ("item-knn", {"k": 100, "normalize": "none"}),
    ],
    "complete-journey": [
        ("ease", {"regularization": 500.0, "max_items": 30000}),
        ("ease-large", {"regularization": 500.0, "dense_items": 1000}),
        ("ease-large", {"regularization": 500.0, "dense_items": 3000}),
        ("ease-large", {"regularization": 500.0, "dense_items": 5000}),
        ("item-knn", {"k": 100, "normalize": "none"}),
    ],
}


def load_split(dataset: str) -> Any:
    """The training interactions and test events of ``dataset``."""
    from shopguide.data.eval_window import default_test_days
    from shopguide.data.split import TemporalSplit

    if dataset == "online-retail":
        sys.path.insert(0, str(HERE))
        from bench_compare import BUNDLED, SHARED, load_purchases

        events = load_purchases(BUNDLED if BUNDLED.exists() else SHARED)
        return TemporalSplit("2011-11-01").split(events)
    from shopguide.data.datasets.complete_journey import complete_journey_events

    events = complete_journey_events()
    days = default_test_days(events["timestamp"])
    cut = pd.Timestamp(events["timestamp"].max()).normalize() - pd.Timedelta(days=days)
    return TemporalSplit(cut=cut).split(events)


def run_one(dataset: str, name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Fit and evaluate one model in this process; return the figures."""
    from shopguide.evaluate.evaluator import build_test_relevance, evaluate_recommender
    from shopguide.evaluate.tuning import training_matrix
    from shopguide.recommend import create_model

    split = load_split(dataset)
    train = training_matrix(split.train, {"purchase": 1.0}, binary=True)
    relevance = build_test_relevance(train, split.test)
    x = train.matrix
    model = create_model(name, **params)
    cost = model.estimate_cost(x.shape[0], x.shape[1], x.nnz)  # type: ignore[attr-defined]
    start = time.perf_counter()
    model.fit(x)
    fit_seconds = time.perf_counter() - start
    result = evaluate_recommender(model, x, relevance, 10, fit=False)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "dataset": dataset,
        "model": name,
        "params": params,
        "users": x.shape[0],
        "items": x.shape[1],
        "interactions": int(x.nnz),
        "ndcg@10": round(float(result.metrics["ndcg@10"]), 4),
        "recall@10": round(float(result.metrics["recall@10"]), 4),
        "fit_s": round(fit_seconds, 1),
        "peak_rss_gb": round(peak / 1e9, 2),
        "estimated_gb": round(cost.memory_bytes / 1e9, 2),
        "estimated_s": round(cost.seconds, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", choices=(*CONFIGS, "all"), default="all")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # child mode: JSON [dataset, name, params]
    ap.add_argument("--skip-dense", action="store_true", help="leave dense EASE out")
    ap.add_argument("--only", default=None, help="run only this model name (e.g. ease)")
    ap.add_argument("--out", type=Path, default=None, help="also write the rows as JSON lines")
    args = ap.parse_args(argv)
    if args.one:
        dataset, name, params = json.loads(args.one)
        print(json.dumps(run_one(dataset, name, params)))
        return 0
    datasets = list(CONFIGS) if args.dataset == "all" else [args.dataset]
    rows = []
    for dataset in datasets:
        for name, params in CONFIGS[dataset]:
            if (args.skip_dense and name == "ease") or (args.only and name != args.only):
                continue
            spec = json.dumps([dataset, name, params])
            done = subprocess.run(
                [sys.executable, __file__, "--one", spec],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            row = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(json.dumps(row), flush=True)
            if args.out is not None:
                with args.out.open("a") as handle:
                    handle.write(json.dumps(row) + "\n")
    table = pd.DataFrame(rows)
    table["params"] = table["params"].map(
        lambda p: ", ".join(f"{k}={v}" for k, v in p.items() if k != "max_items")
    )
    print()
    print(markdown_table(table.drop(columns=["users", "interactions"]).set_index("dataset")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
