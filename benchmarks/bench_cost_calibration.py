"""Measure the time constants of ``shopguide.recommend.cost.TIME_CONSTANTS`` on this machine.

    PYTHONPATH=src python benchmarks/bench_cost_calibration.py [--items 3000]

Each constant is seconds per unit of work (see the comments in ``cost.py``); the script fits
the models on a synthetic power-law matrix, divides the measured time by the units of work,
and prints the constants as a Python dict to paste into ``cost.py`` with the date and machine.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import scipy.sparse as sp

from shopguide.recommend import ALS, BPR, ItemKNN, Popular
from shopguide.recommend.cost import pair_count
from shopguide.recommend.ease_closed_form import weights_from_gram


def power_law_matrix(users: int, items: int, nnz: int, seed: int = 0) -> sp.csr_matrix:
    """0/1 user x item matrix with Zipf-like item popularity."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, items + 1) ** 0.8
    cols = rng.choice(items, size=nnz, p=weights / weights.sum())
    rows = rng.integers(0, users, size=nnz)
    m = sp.csr_matrix((np.ones(nnz, np.float32), (rows, cols)), shape=(users, items))
    m.data[:] = 1.0
    return m


def timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=3000)
    parser.add_argument("--users", type=int, default=20000)
    parser.add_argument("--nnz", type=int, default=400_000)
    args = parser.parse_args()
    x = power_law_matrix(args.users, args.items, args.nnz)
    users, items, nnz = x.shape[0], x.shape[1], x.nnz
    out: dict[str, float] = {}

    n = args.items
    # EASE's own closed form on a Gram matrix of this size (Cholesky inverse in place, the
    # code every dense fit runs), not a general inverse: that one is about 2x slower
    g = np.asarray((x.T @ x).todense(), dtype=np.float64)
    out["dense_inverse"] = timed(lambda: weights_from_gram(g, 500.0, overwrite=True)) / n**3

    # true pair count of this matrix, and the same count as cost.pair_count estimates it
    pairs_true = float((np.diff(x.indptr).astype(np.float64) ** 2).sum())
    pairs_est = pair_count(users, items, nnz, axis=1)
    out["sparse_gram"] = timed(lambda: x.T @ x) / pairs_est
    small = power_law_matrix(200, 100, 2000)  # compile numba kernels before timing
    ItemKNN(k=10).fit(small)
    ALS(factors=4, iterations=1).fit(small)
    out["knn_pair"] = timed(lambda: ItemKNN(k=100).fit(x)) / pairs_est

    als = ALS(factors=64, iterations=5, num_threads=0)
    work = nnz * 64 * 64 + (users + items) * 64**3
    out["als_unit"] = timed(lambda: als.fit(x)) / (work * 5)
    bpr = BPR(factors=64, iterations=10, num_threads=1)
    out["bpr_unit"] = timed(lambda: bpr.fit(x)) / (nnz * 64 * 10)
    out["count"] = timed(lambda: Popular().fit(x)) / nnz

    print(
        json.dumps(
            {
                "matrix": {"users": users, "items": items, "nnz": nnz},
                "pairs": {"true": pairs_true, "estimated": pairs_est},
                "constants": {k: float(f"{v:.2g}") for k, v in out.items()},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
