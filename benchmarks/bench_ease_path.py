"""How long EASE's λ search takes: separate fits against one shared Gram matrix.

Run:  PYTHONPATH=src .venv/bin/python benchmarks/bench_ease_path.py [--lambdas 50,200,500,1000]
      [--data online-retail|complete-journey] [--dense-items 3000]

Fits the weights of every λ on the 0/1 matrix of the validation split that ``compare``'s
automatic tuning uses (the training period's last share), four ways:

- ``numpy inverse``: the closed form before issue 17's work, ``np.linalg.inv`` per λ;
- ``cholesky, separate``: :func:`~shopguide.recommend.ease_closed_form.dense_ease_weights`
  per λ (Gram matrix rebuilt each time);
- ``cholesky path``: :func:`~shopguide.recommend.ease_path.ease_weights_path` (one Gram);
- ``eigen path``: the same with ``method="eigen"`` (one eigendecomposition, a product per λ).

It prints the wall time of each and the largest difference from the numpy weights. With
``--dense-items`` only the most popular items are kept (``ease-large``'s dense head).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from shopguide.evaluate.tuning import training_matrix
from shopguide.recommend.ease_closed_form import dense_ease_weights
from shopguide.recommend.ease_path import ease_weights_path
from shopguide.workflows.time_split import validation_split

HERE = Path(__file__).resolve().parent


def _events(which: str) -> object:
    sys.path.insert(0, str(HERE))
    if which == "online-retail":
        from bench_compare import BUNDLED, SHARED, load_purchases

        return load_purchases(BUNDLED if BUNDLED.exists() else SHARED)
    from shopguide.data.datasets.complete_journey import complete_journey_events

    return complete_journey_events()


def _numpy_weights(x: sp.csr_matrix, lam: float) -> np.ndarray:
    gram = (x.T @ x).astype(np.float64).toarray()
    gram[np.diag_indices(gram.shape[0])] += lam
    p = np.linalg.inv(gram)
    del gram
    p /= -np.diag(p)
    p[np.diag_indices(p.shape[0])] = 0.0
    return p.astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lambdas", default="50,200,500,1000")
    ap.add_argument(
        "--data", choices=("online-retail", "complete-journey"), default="online-retail"
    )
    ap.add_argument("--dense-items", type=int, default=0)
    args = ap.parse_args(argv)
    lambdas = [float(v) for v in args.lambdas.split(",")]
    split = validation_split(_events(args.data))  # type: ignore[arg-type]
    x = training_matrix(split.train, {"purchase": 1.0}, binary=True).matrix
    if args.dense_items:
        popularity = np.bincount(x.indices, minlength=x.shape[1])
        head = np.sort(np.argsort(-popularity, kind="stable")[: args.dense_items])
        x = sp.csr_matrix(x[:, head])
    print(f"{args.data}: {x.shape[0]:,} users x {x.shape[1]:,} items, {x.nnz:,} interactions; "
          f"λ = {lambdas}; load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    reference: dict[float, np.ndarray] = {}
    t0 = time.perf_counter()
    for lam in lambdas:
        reference[lam] = _numpy_weights(x, lam)
    timings = {"numpy inverse, separate": time.perf_counter() - t0}
    diffs: dict[str, float] = {"numpy inverse, separate": 0.0}
    t0 = time.perf_counter()
    separate = {lam: dense_ease_weights(x, lam) for lam in lambdas}
    timings["cholesky, separate"] = time.perf_counter() - t0
    diffs["cholesky, separate"] = max(float(abs(separate[k] - reference[k]).max()) for k in lambdas)
    del separate
    for method in ("cholesky", "eigen"):
        label = f"{method} path"
        t0 = time.perf_counter()
        worst = 0.0
        for lam, weights in ease_weights_path(x, lambdas, method=method):  # type: ignore[arg-type]
            worst = max(worst, float(abs(weights - reference[lam]).max()))
        timings[label] = time.perf_counter() - t0
        diffs[label] = worst
    base = timings["numpy inverse, separate"]
    print("\n| method | seconds | speed-up | max abs difference |\n|---|---|---|---|")
    for label, seconds in timings.items():
        print(f"| {label} | {seconds:.1f} | {base / seconds:.2f}x | {diffs[label]:.1e} |")
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
