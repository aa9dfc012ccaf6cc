"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987), fitted by maximum likelihood.

Customers buy at a gamma-distributed Poisson rate and die after an exponential lifetime whose
rate is also gamma distributed. The hypergeometric terms of the likelihood are rewritten with
the Euler/Pfaff transformations so that the series stays bounded, and everything is computed in
log space.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats
from scipy.special import gammaln, hyp2f1

from shopguide.retention.btyd.base import (
    FloatArray,
    IntArray,
    _as_float,
    _BTYDBase,
    _compress,
    _distinct_rows,
    _fit_logparams,
    _per_distinct_customer,
    _validate_rft,
)

#: Distinct (x, t) pairs and, per customer, the position of theirs (see :func:`_pairs`).
Pairs = tuple[FloatArray, FloatArray, IntArray]


def _pnbd_log_terms(
    r: float, alpha: float, s: float, beta: float, x: FloatArray, t: FloatArray
) -> FloatArray:
    """log of  2F1(r+s+x, .; r+s+x+1; .) / (max(alpha,beta)+t)^(r+s+x)  in a bounded form.

    With the Euler (alpha >= beta) or Pfaff (alpha < beta) transformation both cases of the
    Pareto/NBD likelihood reduce to ``F(z) / ((alpha+t)^(r+x) (beta+t)^s)`` with
    ``F = 2F1(1, r+x; r+s+x+1; z)``, ``z = (alpha-beta)/(alpha+t)``, which converges for every
    z < 1 and never overflows; for z < 0 it is evaluated as
    ``2F1(1, s+1; r+s+x+1; z/(z-1)) / (1-z)``.
    """
    z = (alpha - beta) / (alpha + t)
    if alpha >= beta:
        f = hyp2f1(1.0, r + x, r + s + x + 1.0, z)
    else:
        # z < 0: one more Pfaff step keeps the argument in [0, 1), where scipy's series is
        # reliable (its z < -1 branch can return wrong values for large parameters)
        w = z / (z - 1.0)
        f = hyp2f1(1.0, s + 1.0, r + s + x + 1.0, w) / (1.0 - z)
    return np.asarray(
        np.log(f) - (r + x) * np.log(alpha + t) - s * np.log(beta + t), dtype="float64"
    )


def _pairs(x: FloatArray, t: FloatArray) -> Pairs:
    """The distinct (x, t) pairs and, per customer, the position of theirs: the
    hypergeometric term depends on nothing else, and a million buyers share a few thousand
    pairs (a few hundred purchase counts and day counts)."""
    (ux, ut), where = _distinct_rows(x, t)
    return ux, ut, where


def _log_terms_by_pair(r: float, alpha: float, s: float, beta: float, pairs: Pairs) -> FloatArray:
    """:func:`_pnbd_log_terms` of every customer, computed once per distinct pair."""
    ux, ut, where = pairs
    return _pnbd_log_terms(r, alpha, s, beta, ux, ut)[where]


def _pnbd_parts(
    params: ArrayLike,
    x: FloatArray,
    t_x: FloatArray,
    tt: FloatArray,
    pairs: tuple[Pairs, Pairs] | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(log of the common factor, log of the 'alive at T' term, log of the full bracket).

    ``pairs``: the :func:`_pairs` of (x, t_x) and of (x, T), when the caller evaluates the
    same customers many times (a fit); found here otherwise.
    """
    r, alpha, s, beta = (float(v) for v in np.asarray(params, dtype="float64").ravel())
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    log_alive = -(r + x) * np.log(alpha + tt) - s * np.log(beta + tt)
    by_tx, by_T = pairs if pairs is not None else (_pairs(x, t_x), _pairs(x, tt))
    l_tx = _log_terms_by_pair(r, alpha, s, beta, by_tx)
    l_T = _log_terms_by_pair(r, alpha, s, beta, by_T)
    coef = s / (r + s + x)
    m = np.maximum(log_alive, l_tx)
    inner = np.exp(log_alive - m) + coef * (np.exp(l_tx - m) - np.exp(l_T - m))
    log_bracket = m + np.log(np.maximum(inner, np.finfo(float).tiny))
    return np.asarray(common), np.asarray(log_alive), np.asarray(log_bracket)


def pareto_nbd_log_likelihood(
    params: ArrayLike,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    pairs: tuple[Pairs, Pairs] | None = None,
) -> FloatArray:
    """Per-customer Pareto/NBD log-likelihood for (r, alpha, s, beta) (``pairs``: see
    :func:`_pnbd_parts`)."""
    x = np.asarray(frequency, dtype="float64")
    t_x = np.asarray(recency, dtype="float64")
    tt = np.asarray(T, dtype="float64")
    common, _, log_bracket = _pnbd_parts(params, x, t_x, tt, pairs)
    return np.asarray(common + log_bracket, dtype="float64")


class ParetoNBDModel(_BTYDBase):
    """Pareto/NBD repeat-purchase model (Schmittlein, Morrison & Colombo 1987).

    Customers buy at a gamma(r, alpha)-distributed Poisson rate and die after an exponential
    lifetime whose rate is gamma(s, beta) distributed. Same interface as :class:`BetaGeoModel`.
    """

    _param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")

    def __init__(self, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    def fit(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        weights: ArrayLike | None = None,
    ) -> ParetoNBDModel:
        """Estimate (r, alpha, s, beta) by maximum likelihood."""
        x, t_x, tt = _validate_rft(frequency, recency, T)
        w0 = np.ones_like(x) if weights is None else _as_float(weights, "weights")
        scale = float(np.mean(tt)) or 1.0
        (x, t_x, tt), w = _compress(x, t_x, tt, weights=w0)
        pairs = (_pairs(x, t_x), _pairs(x, tt))

        def negll(logp: FloatArray) -> float:
            p = np.exp(logp)
            with np.errstate(all="ignore"):
                ll = pareto_nbd_log_likelihood(p, x, t_x, tt, pairs)
            val = -float(np.sum(w * ll) / np.sum(w)) + self.penalizer * float(np.sum(p**2))
            return val if np.isfinite(val) else 1e100

        x0 = np.log(np.array([1.0, scale, 1.0, scale]))
        logp, _, ok = _fit_logparams(negll, x0)
        p = np.exp(logp)
        self.params_ = dict(zip(self._param_names, (float(v) for v in p), strict=True))
        self.log_likelihood_ = float(np.sum(w * pareto_nbd_log_likelihood(p, x, t_x, tt, pairs)))
        self.converged_ = ok
        self.n_customers_ = int(np.sum(w))
        return self

    def expected_purchases(self, t: ArrayLike) -> FloatArray:
        """E[X(t)] for a new customer."""
        r, alpha, s, beta = self._vec()
        tt = np.asarray(t, dtype="float64")
        if abs(s - 1.0) < 1e-9:
            val = r * beta / alpha * np.log((beta + tt) / beta)
        else:
            val = r * beta / (alpha * (s - 1.0)) * (1.0 - (beta / (beta + tt)) ** (s - 1.0))
        return np.asarray(val, dtype="float64")

    @_per_distinct_customer
    def probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """P(alive | x, t_x, T)."""
        x, t_x, tt = _validate_rft(frequency, recency, T)
        _, log_alive, log_bracket = _pnbd_parts(self._vec(), x, t_x, tt)
        return np.asarray(np.exp(np.minimum(log_alive - log_bracket, 0.0)), dtype="float64")

    @_per_distinct_customer
    def conditional_expected_purchases(
        self, t: float, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """E[Y(t) | x, t_x, T] in the next ``t`` time units."""
        r, alpha, s, beta = self._vec()
        x, t_x, tt = _validate_rft(frequency, recency, T)
        t = float(t)
        if abs(s - 1.0) < 1e-9:
            core = (r + x) * (beta + tt) / (alpha + tt) * np.log((beta + tt + t) / (beta + tt))
        else:
            core = (
                (r + x)
                * (beta + tt)
                / ((alpha + tt) * (s - 1.0))
                * (1.0 - ((beta + tt) / (beta + tt + t)) ** (s - 1.0))
            )
        return np.asarray(core * self.probability_alive(x, t_x, tt), dtype="float64")

    @_per_distinct_customer
    def probability_no_purchase(
        self,
        t: float,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        n_nodes: int = 32,
    ) -> FloatArray:
        """P(Y(t) = 0 | x, t_x, T): no purchase at all in the next ``t`` time units.

        Given alive at T the purchase rate lambda ~ gamma(r + x, alpha + T) and the drop-out
        rate mu ~ gamma(s, beta + T) are independent, and for fixed rates the chance of no
        purchase before dying or reaching ``t`` is ``(mu + lambda e^{-(lambda+mu) t}) /
        (lambda + mu)``. Its mean over the two gamma posteriors has no closed form; it is
        taken on an ``n_nodes`` x ``n_nodes`` grid of posterior quantiles (midpoint rule on
        the probability scale, accurate to about 1e-3, plenty for ranking customers).
        """
        r, alpha, s, beta = self._vec()
        x, t_x, tt = _validate_rft(frequency, recency, T)
        alive = self.probability_alive(x, t_x, tt)
        u = (np.arange(n_nodes) + 0.5) / n_nodes
        xu, tu, rows = _pairs(x, tt)
        mu_unit = stats.gamma.ppf(u, s)
        quiet = np.empty(len(xu))
        for start in range(0, len(xu), 2048):
            sl = slice(start, start + 2048)
            lam = stats.gamma.ppf(u[None, :], r + xu[sl, None]) / (alpha + tu[sl, None])
            mu = mu_unit[None, :] / (beta + tu[sl, None])
            lam3, mu3 = lam[:, :, None], mu[:, None, :]
            rate = lam3 + mu3
            quiet[sl] = np.mean((mu3 + lam3 * np.exp(-rate * float(t))) / rate, axis=(1, 2))
        return np.asarray(1.0 - alive + alive * quiet[rows], dtype="float64")
