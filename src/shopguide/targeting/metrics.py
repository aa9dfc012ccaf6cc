"""Metrics for response and uplift models evaluated on a randomised campaign.

All functions take plain arrays: ``score`` (higher = target first), ``treatment`` (1 = received
the campaign, 0 = control) and ``outcome`` (1 = responded; any real number works for the
uplift metrics, e.g. spend). :func:`uplift_at_k` and :func:`qini_curve` depend only on the
set of (score, treatment, outcome) rows, never on their order; the decile tables break ties in
``score`` by row order after a stable sort.

Definitions
-----------
uplift@k (``strategy="overall"``, the default)
    Target ``m = ceil(k * n)`` users (``k * n`` is rounded to 9 decimals first, so that e.g.
    ``0.07 * 100`` gives 7, not 8): uplift@k = (mean outcome of the treated among them) -
    (mean outcome of the controls among them). Targeting at random gives the average
    treatment effect in expectation.
    **Ties at the cut**: users scoring above the ``m``-th highest score are all in; the users
    tied *at* that score share the remaining places equally, each counting with weight
    ``(places left) / (users tied)`` in both means. The total weight is exactly ``m``, no
    tied user is preferred to another, and so the value does not depend on row order. With
    distinct scores this is the plain top ``m``.
uplift@k (``strategy="by_group"``)
    Rank the treated and the controls separately and take the top ``ceil(k * n_t)`` treated
    and the top ``ceil(k * n_c)`` controls (same rounding and tie rule within each group);
    same difference of means.
    scikit-uplift's ``uplift_at_k`` keeps ``int(k * n)`` rows and breaks ties by reversed row
    order; on distinct scores with ``k * n`` a whole number the two agree exactly.
Qini curve
    For the top ``n`` users: ``Q(n) = R_t(n) - R_c(n) * N_t(n) / N_c(n)``, the incremental
    responses (treated responses minus control responses rescaled to the treated count). The
    random line goes from (0, 0) to (N, Q(N)).
Qini coefficient (normalised area)
    ``(area(model) - area(random)) / (area(perfect) - area(random))`` with trapezoid areas
    over the fraction targeted; "perfect" ranks treated responders first and control responders
    last (``outcome * (2 * treatment - 1)``). 0 is random, 1 is perfect; negative is worse than
    random.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from shopguide.errors import DataError

FloatArray = NDArray[np.float64]


def _check(
    score: ArrayLike, treatment: ArrayLike, outcome: ArrayLike
) -> tuple[FloatArray, NDArray[np.int64], FloatArray]:
    s = np.asarray(score, dtype="float64").ravel()
    t = np.asarray(treatment).ravel()
    y = np.asarray(outcome, dtype="float64").ravel()
    if not (len(s) == len(t) == len(y)):
        raise DataError("score, treatment and outcome must have the same length")
    if len(s) == 0:
        raise DataError("no rows to evaluate")
    if not np.all(np.isin(t, (0, 1))):
        raise DataError("treatment must be 0 (control) or 1 (treated)")
    if np.any(~np.isfinite(s)) or np.any(~np.isfinite(y)):
        raise DataError("score and outcome must be finite")
    t = t.astype("int64")
    if t.min() == t.max():
        raise DataError("uplift metrics need both treated and control rows")
    return s, t, y


def _top_count(k: float, n: int) -> int:
    """``ceil(k * n)`` after rounding ``k * n`` to 9 decimals (float noise is not a user)."""
    return max(1, math.ceil(round(k * n, 9)))


def top_weights(score: FloatArray, m: int) -> FloatArray:
    """Weight of each row in "the top ``m`` by score", sharing places equally among ties.

    Rows scoring above the ``m``-th highest score get 1, rows tied at it share the places
    left, everyone else gets 0. The weights sum to ``m`` and do not depend on row order.
    """
    s = np.asarray(score, dtype="float64")
    m = min(int(m), len(s))
    w = np.zeros(len(s))
    if m <= 0:
        return w
    cut = np.partition(s, len(s) - m)[len(s) - m]  # the m-th highest score
    above = s > cut
    tied = s == cut
    w[above] = 1.0
    w[tied] = (m - int(above.sum())) / int(tied.sum())
    return w


def _weighted_mean(y: FloatArray, w: FloatArray) -> float:
    total = float(w.sum())
    return float(np.dot(w, y) / total) if total > 0 else float("nan")


def uplift_at_k(
    score: ArrayLike,
    treatment: ArrayLike,
    outcome: ArrayLike,
    k: float = 0.3,
    strategy: str = "overall",
) -> float:
    """Difference of mean outcome, treated minus control, among the top ``k`` fraction by score.

    See the module docstring for the two strategies, the rounding of ``k * n`` and the tie
    rule (tied users at the cut share the places left). Returns ``nan`` when the top group
    has no treated or no control user.
    """
    if not 0 < k <= 1:
        raise DataError(f"k must be a fraction in (0, 1], got {k}")
    s, t, y = _check(score, treatment, outcome)
    if strategy == "overall":
        w = top_weights(s, _top_count(k, len(s)))
        treated = t == 1
        return _weighted_mean(y[treated], w[treated]) - _weighted_mean(y[~treated], w[~treated])
    if strategy == "by_group":
        means = []
        for g in (1, 0):
            idx = np.flatnonzero(t == g)
            w = top_weights(s[idx], _top_count(k, len(idx)))
            means.append(_weighted_mean(y[idx], w))
        return float(means[0] - means[1])
    raise DataError(f"unknown strategy {strategy!r}", hint="use 'overall' or 'by_group'")


def qini_curve(
    score: ArrayLike, treatment: ArrayLike, outcome: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Qini curve points ``(n_targeted, incremental_responses)``, starting at (0, 0).

    Points are placed after each group of tied scores.
    """
    s, t, y = _check(score, treatment, outcome)
    order = np.argsort(-s, kind="stable")
    s, t, y = s[order], t[order], y[order]
    n_t = np.cumsum(t)
    n_c = np.cumsum(1 - t)
    r_t = np.cumsum(y * t)
    r_c = np.cumsum(y * (1 - t))
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(n_c[last] > 0, r_t[last] - r_c[last] * n_t[last] / n_c[last], r_t[last])
    x = np.r_[0.0, (last + 1).astype("float64")]
    return x, np.r_[0.0, q].astype("float64")


def _area(x: FloatArray, y: FloatArray) -> float:
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2.0))


def qini_auc_score(score: ArrayLike, treatment: ArrayLike, outcome: ArrayLike) -> float:
    """Normalised Qini coefficient: 0 random, 1 perfect (see the module docstring)."""
    s, t, y = _check(score, treatment, outcome)
    n = float(len(s))
    x_m, q_m = qini_curve(s, t, y)
    x_p, q_p = qini_curve(y * (2 * t - 1), t, y)
    end = q_m[-1]
    rand = end * n / 2.0  # area under the straight line from (0, 0) to (n, end)
    denom = _area(x_p, q_p) - rand
    if denom == 0:
        return float("nan")
    return float((_area(x_m, q_m) - rand) / denom)


def uplift_by_decile(
    score: ArrayLike, treatment: ArrayLike, outcome: ArrayLike, n_bins: int = 10
) -> pd.DataFrame:
    """Response of treated and controls and their difference in each score decile.

    Bin 1 holds the highest scores. Columns: ``n_treated``, ``n_control``,
    ``response_treated``, ``response_control``, ``uplift`` (difference), ``cum_uplift`` (uplift
    among bins 1..i, i.e. uplift@k at the bin edges, "overall" strategy).
    """
    s, t, y = _check(score, treatment, outcome)
    order = np.argsort(-s, kind="stable")
    bins = np.empty(len(s), dtype="int64")
    bins[order] = np.arange(len(s)) * n_bins // len(s) + 1
    df = pd.DataFrame({"bin": bins, "t": t, "y": y, "yt": y * t, "yc": y * (1 - t)})
    g = df.groupby("bin").agg(
        n_treated=("t", "sum"),
        n=("t", "size"),
        r_t=("yt", "sum"),
        r_c=("yc", "sum"),
    )
    g["n_control"] = g["n"] - g["n_treated"]
    with np.errstate(divide="ignore", invalid="ignore"):
        g["response_treated"] = g["r_t"] / g["n_treated"]
        g["response_control"] = g["r_c"] / g["n_control"]
        g["uplift"] = g["response_treated"] - g["response_control"]
        c = g[["n_treated", "n_control", "r_t", "r_c"]].cumsum()
        g["cum_uplift"] = c["r_t"] / c["n_treated"] - c["r_c"] / c["n_control"]
    g.index.name = "decile"
    return g[
        [
            "n_treated",
            "n_control",
            "response_treated",
            "response_control",
            "uplift",
            "cum_uplift",
        ]
    ]


def lift_by_decile(outcome: ArrayLike, score: ArrayLike, n_bins: int = 10) -> pd.DataFrame:
    """Response rate and lift (rate / overall rate) per score decile, for response models.

    Bin 1 holds the highest scores. Columns ``n``, ``responses``, ``response_rate``, ``lift``,
    ``cum_response_rate``, ``cum_lift`` and ``cum_capture`` (share of all responses in bins
    1..i).
    """
    y = np.asarray(outcome, dtype="float64").ravel()
    s = np.asarray(score, dtype="float64").ravel()
    if len(y) != len(s) or len(y) == 0:
        raise DataError("outcome and score must be non-empty and of the same length")
    order = np.argsort(-s, kind="stable")
    bins = np.empty(len(s), dtype="int64")
    bins[order] = np.arange(len(s)) * n_bins // len(s) + 1
    df = pd.DataFrame({"bin": bins, "y": y})
    g = df.groupby("bin").agg(n=("y", "size"), responses=("y", "sum"))
    base = y.mean()
    with np.errstate(divide="ignore", invalid="ignore"):
        g["response_rate"] = g["responses"] / g["n"]
        g["lift"] = g["response_rate"] / base
        cn = g["n"].cumsum()
        cr = g["responses"].cumsum()
        g["cum_response_rate"] = cr / cn
        g["cum_lift"] = g["cum_response_rate"] / base
        g["cum_capture"] = cr / y.sum()
    g.index.name = "decile"
    return g


def uplift_summary(
    score: ArrayLike,
    treatment: ArrayLike,
    outcome: ArrayLike,
    ks: tuple[float, ...] = (0.1, 0.2, 0.3),
) -> dict[str, float]:
    """The headline figures of an uplift score on held-out data, as a flat dict.

    Keys: ``uplift@10%`` ... (one per ``ks``, "overall" strategy), ``qini``, ``ate`` (the
    average effect, i.e. what random targeting gives in expectation), ``n``.
    """
    s, t, y = _check(score, treatment, outcome)
    out = {f"uplift@{round(k * 100)}%": uplift_at_k(s, t, y, k=k) for k in ks}
    out["qini"] = qini_auc_score(s, t, y)
    out["ate"] = float(y[t == 1].mean() - y[t == 0].mean())
    out["n"] = float(len(s))
    return out
