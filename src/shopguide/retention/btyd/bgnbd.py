"""BG/NBD (Fader, Hardie & Lee 2005, Marketing Science 24(2)), fitted by maximum likelihood.

While "alive" a customer buys as a Poisson process whose rate varies across customers as a
gamma distribution; after any purchase they "die" unobserved with a beta-distributed
probability. The likelihood is written in log space with :func:`scipy.special.gammaln` and
:func:`~scipy.special.betaln`, and optimised over the logarithm of the parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betaln, gammaln, hyp2f1

from shopguide.retention.btyd.base import (
    FloatArray,
    _as_float,
    _BTYDBase,
    _compress,
    _fit_logparams,
    _per_distinct_customer,
    _validate_rft,
)


def bgnbd_log_likelihood(
    params: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> FloatArray:
    """Per-customer BG/NBD log-likelihood (Fader, Hardie & Lee 2005, eq. 6) for (r, alpha, a, b)."""
    r, alpha, a, b = (float(v) for v in np.asarray(params, dtype="float64").ravel())
    x = np.asarray(frequency, dtype="float64")
    t_x = np.asarray(recency, dtype="float64")
    tt = np.asarray(T, dtype="float64")
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + tt)
    rep = x > 0
    # second term exists only for repeat buyers; b + x - 1 > 0 there
    a3 = np.full_like(x, -np.inf)
    xr = x[rep]
    a3[rep] = betaln(a + 1.0, b + xr - 1.0) - betaln(a, b) - (r + xr) * np.log(alpha + t_x[rep])
    return np.asarray(a1 + np.logaddexp(a2, a3), dtype="float64")


def _around_one(fn: Callable[[float], FloatArray], a: float, eps: float = 1e-5) -> FloatArray:
    """``fn(a)``, or the mean of ``fn(1 - eps)`` and ``fn(1 + eps)`` at the removable a = 1."""
    if abs(a - 1.0) >= eps:
        return fn(a)
    return np.asarray(0.5 * (fn(1.0 - eps) + fn(1.0 + eps)), dtype="float64")


class BetaGeoModel(_BTYDBase):
    """BG/NBD repeat-purchase model (Fader, Hardie & Lee 2005), fitted by maximum likelihood.

    Parameters
    ----------
    penalizer
        L2 penalty on the parameters (added to the mean negative log-likelihood); 0 gives the
        plain maximum-likelihood estimate, small values help on tiny data sets.

    Attributes
    ----------
    params_ : dict
        ``r``, ``alpha`` (gamma heterogeneity of the purchase rate), ``a``, ``b`` (beta
        heterogeneity of the drop-out probability).
    log_likelihood_ : float
        Total log-likelihood at the optimum.
    """

    _param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")

    def __init__(self, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    def fit(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        weights: ArrayLike | None = None,
    ) -> BetaGeoModel:
        """Estimate (r, alpha, a, b) from per-customer frequency, recency and T.

        ``weights`` counts how many customers share each row (for pre-aggregated data).
        """
        x, t_x, tt = _validate_rft(frequency, recency, T)
        w0 = np.ones_like(x) if weights is None else _as_float(weights, "weights")
        scale = float(np.mean(tt)) or 1.0
        (x, t_x, tt), w = _compress(x, t_x, tt, weights=w0)

        def negll(logp: FloatArray) -> float:
            p = np.exp(logp)
            ll = bgnbd_log_likelihood(p, x, t_x, tt)
            val = -float(np.sum(w * ll) / np.sum(w)) + self.penalizer * float(np.sum(p**2))
            return val if np.isfinite(val) else 1e100

        x0 = np.log(np.array([1.0, scale, 1.0, 1.0]))
        logp, _, ok = _fit_logparams(negll, x0)
        p = np.exp(logp)
        self.params_ = dict(zip(self._param_names, (float(v) for v in p), strict=True))
        self.log_likelihood_ = float(np.sum(w * bgnbd_log_likelihood(p, x, t_x, tt)))
        self.converged_ = ok
        self.n_customers_ = int(np.sum(w))
        return self

    def expected_purchases(self, t: ArrayLike) -> FloatArray:
        """E[X(t)]: expected purchases of a new customer in a period of length ``t``."""
        r, alpha, a, b = self._vec()
        tt = np.asarray(t, dtype="float64")
        z = tt / (alpha + tt)

        def at(a_: float) -> FloatArray:
            inner = 1.0 - (alpha / (alpha + tt)) ** r * hyp2f1(r, b, a_ + b - 1.0, z)
            return np.asarray((a_ + b - 1.0) / (a_ - 1.0) * inner, dtype="float64")

        return _around_one(at, a)

    @_per_distinct_customer
    def probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """P(alive | x, t_x, T); always 1 for customers with no repeat purchase."""
        r, alpha, a, b = self._vec()
        x, t_x, tt = _validate_rft(frequency, recency, T)
        rep = x > 0
        log_odds = np.full_like(x, -np.inf)
        xr = x[rep]
        log_odds[rep] = (
            np.log(a)
            - np.log(b + xr - 1.0)
            + (r + xr) * (np.log(alpha + tt[rep]) - np.log(alpha + t_x[rep]))
        )
        return np.asarray(1.0 / (1.0 + np.exp(log_odds)), dtype="float64")

    @_per_distinct_customer
    def conditional_expected_purchases(
        self, t: float, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """E[Y(t) | x, t_x, T]: expected purchases in the next ``t`` time units per customer."""
        r, alpha, a, b = self._vec()
        x, t_x, tt = _validate_rft(frequency, recency, T)
        t = float(t)
        z = t / (alpha + tt + t)
        ratio = np.exp((r + x) * (np.log(alpha + tt) - np.log(alpha + tt + t)))

        def at(a_: float) -> FloatArray:
            inner = 1.0 - ratio * hyp2f1(r + x, b + x, a_ + b + x - 1.0, z)
            return np.asarray((a_ + b + x - 1.0) / (a_ - 1.0) * inner, dtype="float64")

        core = _around_one(at, a)
        return np.asarray(core * self.probability_alive(x, t_x, tt), dtype="float64")

    @_per_distinct_customer
    def probability_no_purchase(
        self, t: float, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """P(Y(t) = 0 | x, t_x, T): no purchase at all in the next ``t`` time units.

        The event a churn label counts. A BG/NBD customer only drops out right after a
        purchase, so one who is alive makes no purchase in ``t`` exactly when their Poisson
        clock does not tick; given alive, the rate is gamma(r + x, alpha + T), hence
        ``1 - P(alive) + P(alive) ((alpha + T) / (alpha + T + t))^(r + x)``.
        """
        r, alpha, _, _ = self._vec()
        x, t_x, tt = _validate_rft(frequency, recency, T)
        alive = self.probability_alive(x, t_x, tt)
        quiet = np.exp((r + x) * (np.log(alpha + tt) - np.log(alpha + tt + float(t))))
        return np.asarray(1.0 - alive + alive * quiet, dtype="float64")
