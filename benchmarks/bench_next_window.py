"""EASE blended with a next-window item regression on Online Retail (issue #17 experiment).

Run:  .venv/bin/python benchmarks/bench_next_window.py [--threads 2] [--half-lives off,60,120,240]

Same data, split, validation window, 0/1 matrix and recency option as ``bench_compare.py``
(read its docstring); the test window is never looked at while tuning.

The next-window model asks the question the test asks: given what a customer bought before a
date, which items *new to them* do they buy in the following weeks? Inside the training
period (only there) it takes ``windows`` cut dates, the latest ``horizon`` days before the
last training purchase and each further one 30 days earlier. For every cut, each customer
who bought something new in ``[cut, cut + horizon]`` gives one training row: the input ``x``
is their history before the cut (0/1, or ``0.5 ** (age / half_life)`` with the age measured
at the cut), the target ``y`` the items first bought in that window. The weights solve the
ridge regression ``min ||Y - X W||² + λ ||W||²``: ``W = (XᵀX + λI)⁻¹ XᵀY``, one item x item
solve like EASE's. A user is then scored by ``x_u W`` on their whole training history.

Alone it ranks worse than EASE (its training rows are few); blended with EASE on per-user
z-scored scores (``(1 - w) * EASE + w * next-window``, over the items the user does not
have, as the ``blend`` model does) it adds what EASE's symmetric co-purchase fit cannot see:
the order of purchases and what is being adopted lately. Every parameter (the window length,
the number of windows, λ and w) is chosen on the validation window; EASE and implicit's ALS
are tuned exactly as ``bench_compare.py`` tunes them.

The catalogue's ``ease-next`` (:mod:`shopguide.recommend.ease_next`) is this model with 0/1
inputs, fitted from each pair's first purchase time; ``bench_compare.py`` measures it. This
script keeps the wider grid and the option of decayed inputs at each cut.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.linalg import cho_factor, cho_solve
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_compare import BUNDLED, SHARED, implicit_factory, load_purchases
from shopguide.data.matrix import Interactions
from shopguide.data.split import TemporalSplit
from shopguide.evaluate.compare import compare_models, markdown_table
from shopguide.evaluate.tuning import training_matrix, tune
from shopguide.recommend import create_model
from shopguide.recommend.ease_closed_form import dense_ease_weights

WEIGHTS = {"purchase": 1.0}
DAY = np.timedelta64(86_400, "s")
STEP_DAYS = 30


def window_rows(
    events: pd.DataFrame,
    inter: Interactions,
    *,
    horizon_days: int,
    windows: int,
    half_life_days: float | None,
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """The stacked (history before a cut, items first bought after it) rows of every window."""
    rows = inter.users.to_internal(events["user_id"].astype(str).to_numpy(), unknown="mask")
    cols = inter.items.to_internal(events["item_id"].astype(str).to_numpy(), unknown="mask")
    when = pd.to_datetime(events["timestamp"]).to_numpy()
    keep = (rows >= 0) & (cols >= 0)
    rows, cols, when = rows[keep].astype(np.int64), cols[keep].astype(np.int64), when[keep]
    n_users, n_items = inter.shape
    end = when.max()
    inputs, targets = [], []
    for k in range(windows):
        cut = end - (horizon_days + k * STEP_DAYS) * DAY
        before = when < cut
        inside = (when >= cut) & (when <= cut + horizon_days * DAY)  # the last one: to the end
        if not before.any() or not inside.any():
            continue
        keys = rows[before] * n_items + cols[before]
        youngest = pd.Series((cut - when[before]) / DAY).groupby(keys).min()
        had = youngest.index.to_numpy()
        value = (
            np.power(0.5, youngest.to_numpy() / half_life_days)
            if half_life_days is not None
            else np.ones(had.size)
        )
        x = sp.csr_matrix((value, (had // n_items, had % n_items)), shape=(n_users, n_items))
        new = np.setdiff1d(np.unique(rows[inside] * n_items + cols[inside]), had)
        y = sp.csr_matrix(
            (np.ones(new.size), (new // n_items, new % n_items)), shape=(n_users, n_items)
        )
        used = np.flatnonzero((np.diff(x.indptr) > 0) & (np.diff(y.indptr) > 0))
        inputs.append(x[used])
        targets.append(y[used])
    if not inputs:
        raise ValueError("no window holds purchases before and inside it")
    return sp.vstack(inputs).tocsr(), sp.vstack(targets).tocsr()


def next_window_weights(x: sp.csr_matrix, y: sp.csr_matrix, regularization: float) -> np.ndarray:
    """``(XᵀX + λI)⁻¹ XᵀY`` by a Cholesky solve on one BLAS thread."""
    gram = np.asarray((x.T @ x).toarray(), dtype=np.float64)
    gram[np.diag_indices_from(gram)] += regularization
    right = np.asarray((x.T @ y).toarray(), dtype=np.float64)
    with threadpool_limits(limits=1, user_api="blas"):
        return np.asarray(cho_solve(cho_factor(gram, overwrite_a=True), right, overwrite_b=True))


def zscores(scores: np.ndarray, owned: sp.csr_matrix) -> np.ndarray:
    """Per-user z-scores over the items the user does not have (owned items score 0)."""
    out = np.array(scores, dtype=np.float64)
    out[owned.nonzero()] = np.nan
    centred = out - np.nanmean(out, axis=1, keepdims=True)
    spread = np.nanstd(out, axis=1, keepdims=True)
    return np.nan_to_num(centred / np.where(spread > 0, spread, 1.0), nan=0.0)


class NextWindowBlend:
    """``(1 - weight) * EASE + weight * next-window`` on z-scores (see the module docstring).

    The last fitted weights are cached, so a grid that varies ``weight`` fastest refits nothing.
    """

    _cache: ClassVar[dict[tuple[Any, ...], np.ndarray]] = {}

    def __init__(
        self,
        events: pd.DataFrame,
        inter: Interactions,
        ease_regularization: float,
        half_life_days: float | None,
        horizon_days: int = 45,
        windows: int = 2,
        regularization: float = 500.0,
        weight: float = 0.35,
    ) -> None:
        self.events, self.inter = events, inter
        self.params: dict[str, Any] = {
            "ease_regularization": ease_regularization,
            "half_life_days": half_life_days,
            "horizon_days": horizon_days,
            "windows": windows,
            "regularization": regularization,
            "weight": weight,
        }

    def get_params(self) -> dict[str, Any]:
        return dict(self.params)

    def fit(self, user_items: sp.csr_matrix) -> NextWindowBlend:
        p = self.params
        key = (id(self.events), user_items.shape, user_items.nnz, float(user_items.sum()))
        ease_key = (*key, "ease", p["ease_regularization"])
        if ease_key not in self._cache:
            self._cache.clear()  # another matrix: the cached weights are of no more use
            self._cache[ease_key] = dense_ease_weights(user_items, p["ease_regularization"])
        nw_key = (*key, "next", p["horizon_days"], p["windows"], p["regularization"])
        if nw_key not in self._cache:
            for old in [k for k in self._cache if "next" in k]:
                del self._cache[old]  # the grid varies the weight fastest: keep one at a time
            x, y = window_rows(
                self.events, self.inter, horizon_days=p["horizon_days"], windows=p["windows"],
                half_life_days=p["half_life_days"],
            )  # fmt: skip
            self._cache[nw_key] = next_window_weights(x, y, p["regularization"])
        self.ease_, self.next_ = self._cache[ease_key], self._cache[nw_key]
        return self

    def recommend(
        self,
        user_rows: np.ndarray,
        user_items: sp.csr_matrix,
        n: int = 10,
        filter_already_liked: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        rows = np.asarray(user_rows)
        history = sp.csr_matrix(user_items[rows])
        w = float(self.params["weight"])
        scores = (1 - w) * zscores(history @ self.ease_, history) + w * zscores(
            history @ self.next_, history
        )
        if filter_already_liked:
            scores[history.nonzero()] = -np.inf
        top = np.argpartition(-scores, n, axis=1)[:, :n]
        order = np.argsort(-np.take_along_axis(scores, top, 1), axis=1)
        ids = np.take_along_axis(top, order, 1)
        return ids, np.take_along_axis(scores, ids, 1)


def _best(
    factory: Any, grid: Mapping[str, list[Any]], split: Any, half_lives: list[float | None]
) -> tuple[dict[str, Any], float | None, float]:
    """The validation winner of ``grid`` over ``half_lives`` (first on a tie)."""
    best: tuple[dict[str, Any], float | None, float] | None = None
    for h in half_lives:
        res = tune(
            factory, grid, None, [split], ns=[10], weights=WEIGHTS, binary=True, half_life_days=h
        )
        if best is None or res.best_score > best[2]:
            best = (res.best_params, h, res.best_score)
    assert best is not None
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--half-lives", default="off,60,120,240")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore", message="Method expects CSR input")
    start = time.perf_counter()
    events = load_purchases(args.data or (BUNDLED if BUNDLED.exists() else SHARED))
    test = TemporalSplit("2011-11-01").split(events)
    val = TemporalSplit("2011-09-01", test_end="2011-11-01").split(test.train)
    half_lives = [None if h.strip() == "off" else float(h) for h in args.half_lives.split(",")]

    print("## Tuning on the validation window\n")
    ease_p, ease_h, ease_v = _best(
        "ease", {"regularization": [100.0, 250.0, 500.0, 1000.0]}, val, half_lives
    )
    print(f"- EASE: {ease_p}, half-life {ease_h}: {ease_v:.4f}", flush=True)
    als = implicit_factory("als", args.threads)
    als_p, als_h, als_v = _best(
        als, {"factors": [32, 64, 100, 128], "regularization": [0.01, 0.1]}, val, half_lives
    )
    print(f"- implicit ALS: {als_p}, half-life {als_h}: {als_v:.4f}", flush=True)
    grid: dict[str, list[Any]] = {
        "horizon_days": [45, 60, 90],
        "windows": [1, 2, 3],
        "regularization": [200.0, 500.0, 1000.0],
        "weight": [0.0, 0.25, 0.35, 0.45],
    }

    def blend_on(split: Any) -> Any:
        inter = training_matrix(split.train, WEIGHTS, binary=True)
        lam = ease_p["regularization"]
        return lambda **p: NextWindowBlend(split.train, inter, lam, ease_h, **p)

    blend_p, _, blend_v = _best(blend_on(val), grid, val, [ease_h])
    print(f"- EASE + next-window: {blend_p}: {blend_v:.4f}", flush=True)

    print(f"\n## Test: {test.report.description}\n")
    train = training_matrix(test.train, WEIGHTS, binary=True)
    decayed = {"EASE": ease_h, "implicit ALS": als_h, "EASE + next-window": ease_h}
    matrices = {
        label: training_matrix(test.train, WEIGHTS, binary=True, half_life_days=h).matrix
        for label, h in decayed.items()
        if h is not None
    }
    models = {
        "EASE + next-window": blend_on(test)(**blend_p),
        "EASE": create_model("ease", **ease_p),
        "implicit ALS": als(**als_p),
    }
    comp = compare_models(
        models, matrices=matrices, train=train, test_events=test.test, n=[10],
        primary="ndcg@10", split_description=test.report.description,
    )  # fmt: skip
    cols = ["ndcg@10", "recall@10", "precision@10", "map@10", "hit_rate@10", "coverage@10"]
    print(markdown_table(comp.table[[*cols, "fit_s"]]))
    ours = comp.results["EASE + next-window"].report.per_user["ndcg@10"].to_numpy()
    base = comp.results["implicit ALS"].report.per_user["ndcg@10"].to_numpy()
    rng = np.random.default_rng(0)
    idx = rng.integers(0, ours.size, (1000, ours.size))
    low, high = np.percentile(np.nanmean(ours[idx] - base[idx], axis=1), [2.5, 97.5])
    table = comp.table["ndcg@10"]
    ratio = table["EASE + next-window"] / table["implicit ALS"]
    print(
        f"\nEASE + next-window / implicit ALS on test NDCG@10: {ratio:.3f}x; paired bootstrap "
        f"(1000 resamples of test users) of the difference: [{low:+.4f}, {high:+.4f}]"
    )
    print(f"total run time {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
