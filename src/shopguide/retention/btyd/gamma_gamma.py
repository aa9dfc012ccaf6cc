"""Gamma-Gamma spend per transaction (Colombo & Jiang 1999; Fader, Hardie & Lee 2005).

Gives each customer's expected spend per future transaction from the mean of their repeat
transactions, shrunk towards the population mean; combined with a purchase model it gives a
lifetime value (:mod:`shopguide.retention.btyd.lifetime_value`).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import gammaln

from shopguide.errors import DataError
from shopguide.retention.btyd.base import (
    FloatArray,
    _as_float,
    _BTYDBase,
    _compress,
    _fit_logparams,
)


def gamma_gamma_log_likelihood(
    params: ArrayLike, frequency: ArrayLike, monetary_value: ArrayLike
) -> FloatArray:
    """Per-customer Gamma-Gamma log-likelihood of the mean spend ``m`` of ``x`` transactions."""
    p, q, gam = (float(v) for v in np.asarray(params, dtype="float64").ravel())
    x = np.asarray(frequency, dtype="float64")
    m = np.asarray(monetary_value, dtype="float64")
    px = p * x
    return np.asarray(
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(gam)
        + (px - 1.0) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(gam + m * x),
        dtype="float64",
    )


class GammaGammaModel(_BTYDBase):
    """Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005; Fader & Hardie 2013).

    Each transaction value is gamma(p, nu) with a customer-specific nu ~ gamma(q, gamma). Fit it
    on customers with at least one repeat transaction and a positive mean repeat spend; it
    assumes spend is independent of purchase frequency (check the correlation first).

    Attributes
    ----------
    params_ : dict
        ``p``, ``q``, ``gamma``.
    """

    _param_names: ClassVar[tuple[str, ...]] = ("p", "q", "gamma")

    def __init__(self, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    def fit(
        self, frequency: ArrayLike, monetary_value: ArrayLike, weights: ArrayLike | None = None
    ) -> GammaGammaModel:
        """Estimate (p, q, gamma); rows with frequency 0 or spend <= 0 are ignored."""
        x = _as_float(frequency, "frequency")
        m = _as_float(monetary_value, "monetary_value")
        if len(x) != len(m):
            raise DataError("frequency and monetary_value must have the same length")
        w = np.ones_like(x) if weights is None else _as_float(weights, "weights")
        keep = (x > 0) & (m > 0)
        if keep.sum() < 3:
            raise DataError("Gamma-Gamma needs at least 3 customers with repeat purchases")
        (x, m), w = _compress(x[keep], m[keep], weights=w[keep])

        def negll(logp: FloatArray) -> float:
            pr = np.exp(logp)
            ll = gamma_gamma_log_likelihood(pr, x, m)
            val = -float(np.sum(w * ll) / np.sum(w)) + self.penalizer * float(np.sum(pr**2))
            return val if np.isfinite(val) else 1e100

        x0 = np.log(np.array([1.0, 1.0, float(np.mean(m))]))
        logp, _, ok = _fit_logparams(negll, x0)
        pr = np.exp(logp)
        self.params_ = dict(zip(self._param_names, (float(v) for v in pr), strict=True))
        self.log_likelihood_ = float(np.sum(w * gamma_gamma_log_likelihood(pr, x, m)))
        self.converged_ = ok
        self.n_customers_ = int(np.sum(w))
        return self

    def expected_spend(self) -> float:
        """Population mean spend per transaction, p*gamma/(q-1) (infinite when q <= 1)."""
        p, q, gam = self._vec()
        return p * gam / (q - 1.0) if q > 1.0 else float("inf")

    def conditional_expected_spend(
        self, frequency: ArrayLike, monetary_value: ArrayLike
    ) -> FloatArray:
        """E[M | x, m]: expected spend per future transaction of each customer.

        Customers with no repeat purchase get the population mean.
        """
        p, q, gam = self._vec()
        x = _as_float(frequency, "frequency")
        m = _as_float(monetary_value, "monetary_value")
        has = (x > 0) & (m > 0)
        out = np.full_like(x, self.expected_spend())
        out[has] = (gam + m[has] * x[has]) * p / (p * x[has] + q - 1.0)
        return np.asarray(out, dtype="float64")
