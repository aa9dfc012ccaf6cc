"""Uplift random forest: bagged divergence trees (:mod:`shopguide.targeting.uplift.tree`).

Each tree grows on a bootstrap sample (drawn separately within the treated and the control
group, so every tree sees the campaign's split), trying ``max_features`` random features at
each node; the forest's uplift is the mean of the trees' leaf uplifts. The fitted forest is
plain arrays (node feature, threshold, children, leaf uplift, one offset per tree) plus the
constructor parameters, so it saves without pickle and loads without trusting any type.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from shopguide.errors import DataError, ModelFormatError
from shopguide.targeting.uplift._base import _RETRAIN, FloatArray, IntArray, UpliftModel
from shopguide.targeting.uplift.tree import (
    CRITERIA,
    TreeParams,
    bin_features,
    grow_tree,
    honest_values,
)

_ARRAYS = ("feature", "threshold", "left", "right", "value", "tree_offsets")


class UpliftRandomForest(UpliftModel):
    """Random forest of uplift trees with the ED or KL split criterion.

    Parameters
    ----------
    n_estimators
        Number of trees.
    criterion
        ``"ED"`` (squared Euclidean distance) or ``"KL"`` (Kullback-Leibler divergence).
    max_depth
        Depth limit of each tree.
    min_samples_leaf
        Fewest treated users and fewest control users in any leaf (each group separately).
    max_features
        Features tried at each node: an int, a fraction in (0, 1], ``"sqrt"`` or ``None`` (all).
    max_bins
        Most thresholds tried per feature (quantiles of the training values).
    n_reg
        Pseudo-users shrinking each child's response rates towards its parent's.
    bootstrap
        Draw each tree's rows with replacement (per group); otherwise every tree sees all rows.
    normalize
        Divide each split's gain by the Rzepakowski-Jaroszewicz normaliser (see
        :mod:`~shopguide.targeting.uplift.tree`), which penalises splits that are very
        unbalanced or that separate the treated from the control users; ``False`` ranks
        splits by the plain divergence gain.
    honest
        Grow each tree on one half of the users (drawn per group; bootstrapped within it when
        ``bootstrap``) and estimate its leaves' uplift on the other half, so a leaf's value is
        not biased by the search that chose its split.
    n_threads
        Kept for the common interface (the trees are grown in this process, one at a time).
    random_state
        Seed of the bootstrap samples and feature draws.
    """

    _fitted_models: ClassVar[tuple[str, ...]] = _ARRAYS

    def __init__(
        self,
        n_estimators: int = 100,
        criterion: str = "ED",
        max_depth: int = 6,
        min_samples_leaf: int = 200,
        max_features: int | float | str | None = 0.8,
        max_bins: int = 32,
        n_reg: float = 10.0,
        bootstrap: bool = True,
        normalize: bool = True,
        honest: bool = False,
        n_threads: int | None = 1,
        random_state: int = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.max_bins = max_bins
        self.n_reg = n_reg
        self.bootstrap = bootstrap
        self.normalize = normalize
        self.honest = honest
        self.n_threads = n_threads
        self.random_state = random_state

    def _n_features_tried(self, n_features: int) -> int:
        mf = self.max_features
        if mf is None:
            return n_features
        if mf == "sqrt":
            return max(1, int(np.sqrt(n_features)))
        if isinstance(mf, float) and 0 < mf <= 1:
            return max(1, round(mf * n_features))
        if isinstance(mf, int) and not isinstance(mf, bool) and mf >= 1:
            return min(mf, n_features)
        raise DataError(
            f"max_features must be a count, a fraction in (0, 1], 'sqrt' or None, got {mf!r}"
        )

    def _check_params(self) -> None:
        if self.criterion not in CRITERIA:
            raise DataError(f"unknown split criterion {self.criterion!r}", hint="use 'ED' or 'KL'")
        for name in ("n_estimators", "max_depth", "min_samples_leaf", "max_bins"):
            if int(getattr(self, name)) < 1:
                raise DataError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.n_reg < 0:
            raise DataError(f"n_reg must be 0 or more, got {self.n_reg}")

    def _fit(self, M: FloatArray, t: IntArray, y: IntArray) -> None:
        self._check_params()
        params = TreeParams(
            criterion=self.criterion,
            max_depth=int(self.max_depth),
            min_samples_leaf=int(self.min_samples_leaf),
            n_reg=float(self.n_reg),
            max_features=self._n_features_tried(M.shape[1]),
            normalize=bool(self.normalize),
        )
        edges, codes = bin_features(M, int(self.max_bins))
        cell = (2 * t + y).astype("int64")
        groups = [np.flatnonzero(t == 1), np.flatnonzero(t == 0)]
        trees = []
        for i in range(int(self.n_estimators)):
            rng = np.random.default_rng([int(self.random_state), i])
            grow, estimate = groups, []
            if self.honest:
                perms = [rng.permutation(g) for g in groups]
                grow = [p[: len(p) // 2] for p in perms]
                estimate = [p[len(p) // 2 :] for p in perms]
            if self.bootstrap:
                rows = np.concatenate([g[rng.integers(0, len(g), len(g))] for g in grow])
            else:
                rows = np.concatenate(grow)
            tree = grow_tree(codes, edges, cell, rows, params, rng)
            if self.honest:
                tree.value = honest_values(
                    tree, M, cell, np.concatenate(estimate), float(self.n_reg)
                )
            trees.append(tree)
        sizes = np.array([len(tr.feature) for tr in trees], dtype=np.int64)
        offsets = np.r_[0, np.cumsum(sizes)].astype(np.int64)

        def children(attr: str) -> NDArray[np.int64]:
            parts = [
                np.where(getattr(tr, attr) >= 0, getattr(tr, attr) + off, -1)
                for tr, off in zip(trees, offsets[:-1], strict=True)
            ]
            return np.concatenate(parts).astype(np.int64)

        self.feature_ = np.concatenate([tr.feature for tr in trees]).astype(np.int64)
        self.threshold_ = np.concatenate([tr.threshold for tr in trees])
        self.left_ = children("left")
        self.right_ = children("right")
        self.value_ = np.concatenate([tr.value for tr in trees])
        self.tree_offsets_ = offsets

    def _predict(self, M: FloatArray) -> FloatArray:
        rows = np.arange(len(M))
        total = np.zeros(len(M))
        for start in self.tree_offsets_[:-1]:
            node = np.full(len(M), start, dtype=np.int64)
            for _ in range(len(self.feature_)):
                f = self.feature_[node]
                inner = f >= 0
                if not inner.any():
                    break
                x = M[rows, np.maximum(f, 0)]
                nxt = np.where(x <= self.threshold_[node], self.left_[node], self.right_[node])
                node = np.where(inner, nxt, node)
            total += self.value_[node]
        return np.asarray(total / (len(self.tree_offsets_) - 1), dtype="float64")

    def _fitted_state(self) -> dict[str, Any]:
        return {name: np.asarray(getattr(self, f"{name}_")) for name in _ARRAYS}

    def _restore(self, fitted: dict[str, Any], n_features: int, path: Path) -> None:
        """Check the saved arrays describe valid trees before using them: a wrong size,
        feature or child index would otherwise fail (or loop) at prediction time."""
        if set(fitted) != set(_ARRAYS):
            raise ModelFormatError(f"{path}: the forest's arrays do not match", hint=_RETRAIN)
        arr = {k: np.asarray(v) for k, v in fitted.items()}
        n = len(arr["feature"])
        off = arr["tree_offsets"]
        inner = arr["feature"] >= 0
        ok = (
            all(arr[k].ndim == 1 and len(arr[k]) == n for k in _ARRAYS[:-1])
            and off.ndim == 1
            and len(off) >= 2
            and off[0] == 0
            and off[-1] == n
            and bool(np.all(np.diff(off) > 0))
            and bool(np.all(arr["feature"] < n_features))
            and bool(np.all(np.isfinite(arr["value"])))
        )
        if ok and inner.any():
            node = np.flatnonzero(inner)
            kids = np.r_[arr["left"][inner], arr["right"][inner]]
            # children come after their parent, inside the same tree
            tree_of = np.searchsorted(off, np.r_[node, node], side="right")
            ok = bool(
                np.all(kids > np.r_[node, node])
                and np.all(kids < n)
                and np.all(np.searchsorted(off, kids, side="right") == tree_of)
            )
        if not ok:
            raise ModelFormatError(f"{path}: the forest's arrays are inconsistent", hint=_RETRAIN)
        self.feature_ = arr["feature"].astype(np.int64)
        self.threshold_ = arr["threshold"].astype("float64")
        self.left_ = arr["left"].astype(np.int64)
        self.right_ = arr["right"].astype(np.int64)
        self.value_ = arr["value"].astype("float64")
        self.tree_offsets_ = off.astype(np.int64)
