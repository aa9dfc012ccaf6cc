"""One uplift tree grown with a divergence split criterion, in NumPy.

An uplift tree (Rzepakowski & Jaroszewicz 2012, "Decision trees for uplift modeling with single
and multiple treatments") splits where the treated and the control response rates drift apart
the most. For a node with treated response rate ``p_t`` and control rate ``p_c``:

- ``ED`` (squared Euclidean distance) ``D = (p_t - p_c)^2 + ((1 - p_t) - (1 - p_c))^2``
  ``= 2 (p_t - p_c)^2``;
- ``KL`` (Kullback-Leibler) ``D = p_t log(p_t / p_c) + (1 - p_t) log((1 - p_t) / (1 - p_c))``.

A split's gain is ``n_L / n * D(left) + n_R / n * D(right) - D(node)``, divided by the
paper's normaliser, which penalises splits that send treated and control users to different
sides or that are very unbalanced:

- KL: ``H(N_t/N, N_c/N) KL(a_t : a_c) + N_t/N H(a_t) + N_c/N H(a_c) + 1/2``,
- ED: ``Gini(N_t/N, N_c/N) ED(a_t : a_c) + N_t/N Gini(a_t) + N_c/N Gini(a_c) + 1/2``,

with ``a_t`` (``a_c``) the share of the node's treated (control) users sent left, ``H`` the
binary entropy and ``Gini(p) = 2 p (1 - p)``. Each rate in a child is shrunk towards the
node's rate with ``n_reg`` pseudo-users, ``(responses + n_reg * p_node) / (n + n_reg)``, so
small children do not look divergent by chance; a leaf's uplift is its shrunk ``p_t - p_c``.

The split search is vectorised: features are binned once (at most ``max_bins`` thresholds
each, taken from the training values), and at each node one ``bincount`` gives, for every
candidate feature and bin, the counts of treated/control responders/non-responders; cumulative
sums give both children of every threshold at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: The split criteria by name.
CRITERIA = ("ED", "KL")
_EPS = 1e-6


def divergence(p_t: FloatArray, p_c: FloatArray, criterion: str) -> FloatArray:
    """Divergence of treated from control response rates, elementwise (see module doc)."""
    if criterion == "ED":
        return np.asarray(2.0 * (p_t - p_c) ** 2, dtype="float64")
    a = np.clip(p_t, _EPS, 1 - _EPS)
    b = np.clip(p_c, _EPS, 1 - _EPS)
    return np.asarray(a * np.log(a / b) + (1 - a) * np.log((1 - a) / (1 - b)), dtype="float64")


def _impurity(p: FloatArray, criterion: str) -> FloatArray:
    """Binary entropy (KL) or Gini impurity (ED) of a share ``p``."""
    if criterion == "ED":
        return np.asarray(2.0 * p * (1.0 - p), dtype="float64")
    q = np.clip(p, _EPS, 1 - _EPS)
    return np.asarray(-(q * np.log2(q) + (1 - q) * np.log2(1 - q)), dtype="float64")


def split_gain(
    left: FloatArray,
    right: FloatArray,
    p_node: tuple[float, float],
    criterion: str,
    n_reg: float,
    normalize: bool = True,
) -> FloatArray:
    """Divergence gain of candidate splits, divided by the normaliser unless ``normalize``
    is false.

    ``left`` and ``right`` have a last axis of four counts: control users, control
    responders, treated users, treated responders; ``p_node`` is the node's (shrunk)
    ``(p_t, p_c)``. Returns the gain for each candidate (the leading axes).
    """
    pt_node, pc_node = p_node
    n_l = left[..., 0] + left[..., 2]
    n_r = right[..., 0] + right[..., 2]
    n = n_l + n_r
    d_children = np.zeros_like(n_l)
    for side, n_side in ((left, n_l), (right, n_r)):
        p_t = (side[..., 3] + n_reg * pt_node) / (side[..., 2] + n_reg)
        p_c = (side[..., 1] + n_reg * pc_node) / (side[..., 0] + n_reg)
        d_children = d_children + n_side / n * divergence(p_t, p_c, criterion)
    gain = d_children - divergence(np.array(pt_node), np.array(pc_node), criterion)
    if not normalize:
        return np.asarray(gain, dtype="float64")
    n_t = left[..., 2] + right[..., 2]
    n_c = left[..., 0] + right[..., 0]
    a_t = left[..., 2] / n_t
    a_c = left[..., 0] / n_c
    share_t = n_t / n
    norm = (
        _impurity(share_t, criterion) * divergence(a_t, a_c, criterion)
        + share_t * _impurity(a_t, criterion)
        + (1 - share_t) * _impurity(a_c, criterion)
        + 0.5
    )
    return np.asarray(gain / norm, dtype="float64")


def bin_features(M: FloatArray, max_bins: int) -> tuple[list[FloatArray], NDArray[np.int32]]:
    """Candidate thresholds per feature and each value's bin code.

    A feature with at most ``max_bins + 1`` distinct values gets every distinct value but the
    largest as a threshold; otherwise ``max_bins`` quantiles (values seen in the data). Code
    ``b`` means ``edges[b - 1] < x <= edges[b]``, so the split "code <= b" is ``x <= edges[b]``.
    """
    edges: list[FloatArray] = []
    codes = np.empty(M.shape, dtype=np.int32)
    for j in range(M.shape[1]):
        col = M[:, j]
        values = np.unique(col)
        if len(values) > max_bins + 1:
            qs = np.quantile(col, np.linspace(0, 1, max_bins + 2)[1:-1], method="lower")
            values = np.unique(np.r_[qs, values[-1]])
        e = np.asarray(values[:-1], dtype="float64")
        edges.append(e)
        codes[:, j] = np.searchsorted(e, col, side="left")
    return edges, codes


def _group_counts(cells: FloatArray) -> FloatArray:
    """Counts per cell (last axis: control non-responders, control responders, treated
    non-responders, treated responders) to (control users, control responders, treated users,
    treated responders), the layout :func:`split_gain` takes."""
    return np.stack(
        [
            cells[..., 0] + cells[..., 1],
            cells[..., 1],
            cells[..., 2] + cells[..., 3],
            cells[..., 3],
        ],
        axis=-1,
    )


@dataclass
class TreeArrays:
    """A grown tree as arrays; node 0 is the root. ``feature`` is -1 at a leaf."""

    feature: NDArray[np.int32]
    threshold: FloatArray
    left: NDArray[np.int32]
    right: NDArray[np.int32]
    value: FloatArray


@dataclass(frozen=True)
class TreeParams:
    """How a tree grows (see :class:`~shopguide.targeting.uplift.forest.UpliftRandomForest`)."""

    criterion: str = "ED"
    max_depth: int = 6
    min_samples_leaf: int = 200
    n_reg: float = 10.0
    max_features: int | None = None
    min_gain: float = 0.0
    normalize: bool = True


def grow_tree(
    codes: NDArray[np.int32],
    edges: list[FloatArray],
    cell: IntArray,
    rows: IntArray,
    params: TreeParams,
    rng: np.random.Generator,
) -> TreeArrays:
    """Grow one tree on ``rows`` (may repeat: a bootstrap sample).

    ``cell`` is ``2 * treatment + outcome`` per row (0 control non-responder, 1 control
    responder, 2 treated non-responder, 3 treated responder).
    """
    n_features = codes.shape[1]
    n_edges = np.array([len(e) for e in edges], dtype=np.int64)
    n_bins = int(n_edges.max()) + 1
    k = n_features if params.max_features is None else min(params.max_features, n_features)
    feature: list[int] = []
    threshold: list[float] = []
    left: list[int] = []
    right: list[int] = []
    value: list[float] = []

    def new_node() -> int:
        feature.append(-1)
        threshold.append(0.0)
        left.append(-1)
        right.append(-1)
        value.append(0.0)
        return len(feature) - 1

    root = new_node()
    counts = _group_counts(np.bincount(cell[rows], minlength=4).astype("float64"))
    p_root = (counts[3] / max(counts[2], 1.0), counts[1] / max(counts[0], 1.0))
    stack: list[tuple[int, IntArray, int, tuple[float, float]]] = [(root, rows, 0, p_root)]
    msl = params.min_samples_leaf
    while stack:
        node, idx, depth, p_node = stack.pop()
        value[node] = p_node[0] - p_node[1]
        c = _group_counts(np.bincount(cell[idx], minlength=4).astype("float64"))
        if depth >= params.max_depth or min(c[0], c[2]) < 2 * msl:
            continue
        feats = rng.choice(n_features, size=k, replace=False) if k < n_features else None
        sub = codes[idx] if feats is None else codes[idx][:, feats]
        m = sub.shape[1]
        key = (np.arange(m, dtype=np.int64) * n_bins + sub) * 4 + cell[idx][:, None]
        hist = np.bincount(key.ravel(), minlength=m * n_bins * 4).reshape(m, n_bins, 4)
        cum = _group_counts(np.cumsum(hist, axis=1)[:, :-1, :].astype("float64"))
        rest = c[None, None, :] - cum
        ok = np.minimum(cum[..., 0], cum[..., 2]) >= msl
        ok &= np.minimum(rest[..., 0], rest[..., 2]) >= msl
        chosen: IntArray = np.arange(n_features) if feats is None else np.asarray(feats)
        ok &= np.arange(n_bins - 1)[None, :] < n_edges[chosen][:, None]
        if not ok.any():
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            gain = split_gain(cum, rest, p_node, params.criterion, params.n_reg, params.normalize)
        gain = np.where(ok, gain, -np.inf)
        f_pos, b = (int(i) for i in np.unravel_index(int(np.argmax(gain)), gain.shape))
        if not gain[f_pos, b] > params.min_gain:
            continue
        f = int(chosen[f_pos])
        go_left = codes[idx, f] <= b
        feature[node] = f
        threshold[node] = float(edges[f][b])
        for side_rows, counts_side, attr in (
            (idx[go_left], cum[f_pos, b], left),
            (idx[~go_left], rest[f_pos, b], right),
        ):
            child = new_node()
            attr[node] = child
            rates = shrunk_rates(counts_side, p_node, params.n_reg)
            stack.append((child, side_rows, depth + 1, rates))
    return TreeArrays(
        feature=np.asarray(feature, dtype=np.int32),
        threshold=np.asarray(threshold, dtype="float64"),
        left=np.asarray(left, dtype=np.int32),
        right=np.asarray(right, dtype=np.int32),
        value=np.asarray(value, dtype="float64"),
    )


def shrunk_rates(
    counts: FloatArray, parent: tuple[float, float], n_reg: float
) -> tuple[float, float]:
    """A node's ``(p_t, p_c)`` from its four counts (see :func:`split_gain`), each rate shrunk
    towards the parent's with ``n_reg`` pseudo-users (a group with no users and no
    pseudo-users keeps the parent's rate)."""
    d_t, d_c = counts[2] + n_reg, counts[0] + n_reg
    p_t = (counts[3] + n_reg * parent[0]) / d_t if d_t > 0 else parent[0]
    p_c = (counts[1] + n_reg * parent[1]) / d_c if d_c > 0 else parent[1]
    return float(p_t), float(p_c)


def honest_values(
    tree: TreeArrays, M: FloatArray, cell: IntArray, rows: IntArray, n_reg: float
) -> FloatArray:
    """Every node's uplift re-estimated on ``rows``, users the tree did not split on.

    The rows are sent down the tree; each node's rates are its own counts shrunk towards its
    parent's (shrunk) rates with ``n_reg`` pseudo-users, the root's are the plain rates. A
    node no estimation user reaches keeps its parent's rates. Nodes are visited in order,
    which puts every parent before its children.
    """
    n_nodes = len(tree.feature)
    members: list[IntArray] = [np.empty(0, dtype=np.int64)] * n_nodes
    members[0] = rows
    rates: list[tuple[float, float]] = [(0.0, 0.0)] * n_nodes
    values = np.zeros(n_nodes)
    root = _group_counts(np.bincount(cell[rows], minlength=4).astype("float64"))
    rates[0] = (root[3] / max(root[2], 1.0), root[1] / max(root[0], 1.0))
    for node in range(n_nodes):
        idx = members[node]
        f = int(tree.feature[node])
        if node > 0:
            c = _group_counts(np.bincount(cell[idx], minlength=4).astype("float64"))
            rates[node] = shrunk_rates(c, rates[node], n_reg)
        values[node] = rates[node][0] - rates[node][1]
        if f < 0:
            continue
        go_left = M[idx, f] <= tree.threshold[node]
        for child, part in ((tree.left[node], idx[go_left]), (tree.right[node], idx[~go_left])):
            members[child] = part
            rates[child] = rates[node]
    return values
