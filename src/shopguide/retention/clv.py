"""Customer lifetime value: BG/NBD, Pareto/NBD and Gamma-Gamma, fitted by maximum likelihood.

The "buy till you die" models describe each customer by three numbers taken from their purchase
history in a calibration period (see :func:`rfm_summary`): ``frequency`` x, the number of
*repeat* purchases; ``recency`` t_x, the time from the first to the last purchase; and ``T``,
the time from the first purchase to the end of the calibration period. While "alive" a customer
buys as a Poisson process whose rate varies across customers as a gamma distribution; customers
"die" unobserved, after any purchase with a beta-distributed probability (BG/NBD, Fader, Hardie &
Lee 2005, Marketing Science 24(2)) or after an exponential lifetime whose rate is gamma
distributed (Pareto/NBD, Schmittlein, Morrison & Colombo 1987). The Gamma-Gamma model (Colombo &
Jiang 1999; Fader, Hardie & Lee 2005, J. Marketing Research 42(4)) gives the expected spend per
transaction. Together they give expected purchases in a horizon, the probability a customer is
still alive and a discounted lifetime value.

All likelihoods are written in log space with :func:`scipy.special.gammaln`,
:func:`~scipy.special.betaln` and :func:`~scipy.special.hyp2f1` (the Pareto/NBD hypergeometric
terms are rewritten with the Euler/Pfaff transformations so that the series stays bounded), and
optimised over the logarithm of the parameters so that they stay positive.

Inputs and outputs are plain numpy arrays / pandas objects, so campaign or win-back code can call
these functions directly.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, stats
from scipy.special import betaln, gammaln, hyp2f1
from sklearn.base import BaseEstimator

from shopguide.errors import DataError, ModelFormatError, NotFittedError

FloatArray = NDArray[np.float64]

#: Format version of the JSON written by :meth:`_BTYDBase.to_json`.
CLV_FORMAT_VERSION = 1

_TIME_UNITS = {"D": 1.0, "W": 7.0, "M": 365.25 / 12.0, "Y": 365.25}


# --------------------------------------------------------------------------- summaries


def _unit_days(time_unit: str | float) -> float:
    if isinstance(time_unit, int | float):
        if time_unit <= 0:
            raise DataError(f"time_unit must be positive, got {time_unit}")
        return float(time_unit)
    try:
        return _TIME_UNITS[time_unit.upper()]
    except KeyError:
        raise DataError(
            f"unknown time_unit {time_unit!r}",
            hint=f"use one of {', '.join(_TIME_UNITS)} or a number of days",
        ) from None


def rfm_summary(
    transactions: pd.DataFrame,
    customer: str = "user_id",
    date: str = "timestamp",
    amount: str | None = None,
    calibration_end: str | pd.Timestamp | None = None,
    time_unit: str | float = "W",
    merge_same_day: bool = True,
    observation_end: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Per-customer frequency, recency, age and spend, as the BTYD models need them.

    Parameters
    ----------
    transactions
        One row per purchase (or purchase line).
    customer, date, amount
        Column names of the customer id, the purchase time and (optionally) the money spent.
    calibration_end
        Last instant of the calibration period (a date means the whole day is included).
        Purchases after it are ignored for the summary; customers whose first purchase is after
        it are left out. Defaults to the last purchase in the data.
    time_unit
        ``"D"``, ``"W"`` (default), ``"M"``, ``"Y"`` or a number of days per unit. Times are
        fractional: ``(later_day - first_day).days / days_per_unit``.
    merge_same_day
        Count several purchases of one customer on one day as one transaction (amounts summed),
        as in the published CDNOW analyses.
    observation_end
        If given, also count each customer's transactions after ``calibration_end`` up to this
        instant (``frequency_holdout``, ``monetary_holdout``) and the holdout length
        (``duration_holdout``), for holdout comparisons.

    Returns
    -------
    DataFrame indexed by customer with
        ``frequency`` (repeat transactions: distinct transactions minus one), ``recency`` (first
        to last transaction), ``T`` (first transaction to ``calibration_end``), ``monetary_value``
        (mean amount of the *repeat* transactions, 0 when there are none; only with ``amount``),
        ``first_purchase`` and optionally the holdout columns.
    """
    missing = [c for c in (customer, date, amount) if c is not None and c not in transactions]
    if missing:
        raise DataError(f"rfm_summary: column(s) {', '.join(missing)} not in the transactions")
    days = _unit_days(time_unit)
    cols = [customer, date] + ([amount] if amount is not None else [])
    tx = transactions[cols].copy()
    tx[date] = pd.to_datetime(tx[date])
    if tx[date].isna().any():
        raise DataError("rfm_summary: some purchase times are missing")
    tx["_day"] = tx[date].dt.floor("D")
    if calibration_end is None:
        cal_day = tx["_day"].max()
    else:
        cal_day = pd.Timestamp(calibration_end).floor("D")
    key = "_day" if merge_same_day else date
    agg: dict[str, Any] = {}
    if amount is not None:
        agg[amount] = "sum"
    if merge_same_day:
        grouped = tx.groupby([customer, "_day"], sort=True, observed=True)
        trans = (
            grouped.agg(agg).reset_index()
            if agg
            else grouped.size().reset_index()[[customer, "_day"]]
        )
    else:
        trans = tx.sort_values([customer, key], kind="stable")
    trans = trans.sort_values([customer, "_day"], kind="stable")

    cal = trans[trans["_day"] <= cal_day]
    first = cal.groupby(customer, observed=True)["_day"].min()
    last = cal.groupby(customer, observed=True)["_day"].max()
    count = cal.groupby(customer, observed=True).size()
    out = pd.DataFrame(index=first.index)
    out["frequency"] = (count - 1).astype("int64")
    out["recency"] = (last - first).dt.days.astype("float64") / days
    out["T"] = (cal_day - first).dt.days.astype("float64") / days
    if amount is not None:
        # mean of the repeat transactions: drop each customer's first (earliest) transaction
        is_first = cal.groupby(customer, observed=True).cumcount() == 0
        repeat = cal[~is_first.to_numpy()]
        mean_repeat = repeat.groupby(customer, observed=True)[amount].mean()
        out["monetary_value"] = mean_repeat.reindex(out.index).fillna(0.0).astype("float64")
    out["first_purchase"] = first
    if observation_end is not None:
        obs_day = pd.Timestamp(observation_end).floor("D")
        hold = trans[(trans["_day"] > cal_day) & (trans["_day"] <= obs_day)]
        hcount = hold.groupby(customer, observed=True).size()
        out["frequency_holdout"] = hcount.reindex(out.index).fillna(0).astype("int64")
        if amount is not None:
            hsum = hold.groupby(customer, observed=True)[amount].sum()
            out["monetary_holdout"] = hsum.reindex(out.index).fillna(0.0).astype("float64")
        out["duration_holdout"] = (obs_day - cal_day).days / days
    out.index.name = customer
    return out


# --------------------------------------------------------------------------- helpers


def _as_float(values: ArrayLike, name: str) -> FloatArray:
    arr = np.asarray(values, dtype="float64").ravel()
    if not np.all(np.isfinite(arr)):
        raise DataError(f"{name} has missing or infinite values")
    return arr


def _validate_rft(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    x = _as_float(frequency, "frequency")
    t_x = _as_float(recency, "recency")
    tt = _as_float(T, "T")
    if not (len(x) == len(t_x) == len(tt)):
        raise DataError("frequency, recency and T must have the same length")
    if len(x) == 0:
        raise DataError("no customers to fit")
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise DataError("frequency must be a non-negative whole number of repeat purchases")
    if np.any(t_x < 0) or np.any(t_x > tt + 1e-9):
        raise DataError("recency must lie between 0 and T", hint="check calibration_end")
    if np.any((x == 0) & (t_x > 0)):
        raise DataError("customers with no repeat purchase must have recency 0")
    return x, t_x, tt


def _compress(*columns: FloatArray, weights: FloatArray) -> tuple[list[FloatArray], FloatArray]:
    """Merge identical customer rows, summing their weights (many customers share (x, t_x, T))."""
    stacked = np.column_stack(columns)
    uniq, inverse = np.unique(stacked, axis=0, return_inverse=True)
    w = np.bincount(inverse.ravel(), weights=weights, minlength=len(uniq))
    return [uniq[:, i].copy() for i in range(uniq.shape[1])], np.asarray(w, dtype="float64")


def _fit_logparams(
    negll: Callable[[FloatArray], float], x0: FloatArray, n_restarts: int = 1
) -> tuple[FloatArray, float, bool]:
    """Minimise ``negll`` over log-parameters: L-BFGS-B, then a Nelder-Mead polish."""
    best: tuple[FloatArray, float, bool] | None = None
    starts = [x0] + [x0 + s for s in np.linspace(-1.0, 1.0, max(n_restarts - 1, 0))]
    for start in starts:
        res = optimize.minimize(negll, start, method="L-BFGS-B")
        res2 = optimize.minimize(
            negll,
            res.x,
            method="Nelder-Mead",
            options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 20000, "maxfev": 20000},
        )
        cand = (np.asarray(res2.x, dtype="float64"), float(res2.fun), bool(res2.success))
        if best is None or cand[1] < best[1]:
            best = cand
    assert best is not None
    return best


class _BTYDBase(BaseEstimator):
    """Shared plumbing: parameter vector, not-fitted check and JSON save/load."""

    _param_names: ClassVar[tuple[str, ...]] = ()

    def _check_fitted(self) -> dict[str, float]:
        params = getattr(self, "params_", None)
        if params is None:
            raise NotFittedError(type(self).__name__)
        return dict(params)

    def _vec(self) -> tuple[float, ...]:
        p = self._check_fitted()
        return tuple(p[n] for n in self._param_names)

    def to_dict(self) -> dict[str, Any]:
        """Fitted state as plain JSON-able data (with a format version)."""
        params = self._check_fitted()
        return {
            "format_version": CLV_FORMAT_VERSION,
            "model": type(self).__name__,
            "config": self.get_params(),
            "params": params,
            "log_likelihood": float(getattr(self, "log_likelihood_", float("nan"))),
            "n_customers": int(getattr(self, "n_customers_", 0)),
        }

    def to_json(self) -> str:
        """:meth:`to_dict` as a JSON string (no pickle)."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        """Rebuild a fitted model from :meth:`to_dict` output."""
        if data.get("format_version") != CLV_FORMAT_VERSION:
            raise ModelFormatError(
                f"unsupported CLV model format version {data.get('format_version')!r}, "
                f"expected {CLV_FORMAT_VERSION}"
            )
        if data.get("model") != cls.__name__:
            raise ModelFormatError(f"saved model is a {data.get('model')}, not a {cls.__name__}")
        params = data.get("params", {})
        if set(params) != set(cls._param_names):
            raise ModelFormatError(f"saved parameters {sorted(params)} do not match {cls.__name__}")
        model = cls(**data.get("config", {}))
        model.params_ = {k: float(v) for k, v in params.items()}
        model.log_likelihood_ = float(data.get("log_likelihood", float("nan")))
        model.n_customers_ = int(data.get("n_customers", 0))
        return model

    @classmethod
    def from_json(cls, text: str) -> Any:
        """Rebuild a fitted model from :meth:`to_json` output."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelFormatError(f"saved CLV model is not valid JSON: {exc}") from exc
        return cls.from_dict(data)


# --------------------------------------------------------------------------- BG/NBD


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


# --------------------------------------------------------------------------- Pareto/NBD


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


def _pnbd_parts(
    params: ArrayLike, x: FloatArray, t_x: FloatArray, tt: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(log of the common factor, log of the 'alive at T' term, log of the full bracket)."""
    r, alpha, s, beta = (float(v) for v in np.asarray(params, dtype="float64").ravel())
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    log_alive = -(r + x) * np.log(alpha + tt) - s * np.log(beta + tt)
    l_tx = _pnbd_log_terms(r, alpha, s, beta, x, t_x)
    l_T = _pnbd_log_terms(r, alpha, s, beta, x, tt)
    coef = s / (r + s + x)
    m = np.maximum(log_alive, l_tx)
    inner = np.exp(log_alive - m) + coef * (np.exp(l_tx - m) - np.exp(l_T - m))
    log_bracket = m + np.log(np.maximum(inner, np.finfo(float).tiny))
    return np.asarray(common), np.asarray(log_alive), np.asarray(log_bracket)


def pareto_nbd_log_likelihood(
    params: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> FloatArray:
    """Per-customer Pareto/NBD log-likelihood for (r, alpha, s, beta)."""
    x = np.asarray(frequency, dtype="float64")
    t_x = np.asarray(recency, dtype="float64")
    tt = np.asarray(T, dtype="float64")
    common, _, log_bracket = _pnbd_parts(params, x, t_x, tt)
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

        def negll(logp: FloatArray) -> float:
            p = np.exp(logp)
            with np.errstate(all="ignore"):
                ll = pareto_nbd_log_likelihood(p, x, t_x, tt)
            val = -float(np.sum(w * ll) / np.sum(w)) + self.penalizer * float(np.sum(p**2))
            return val if np.isfinite(val) else 1e100

        x0 = np.log(np.array([1.0, scale, 1.0, scale]))
        logp, _, ok = _fit_logparams(negll, x0)
        p = np.exp(logp)
        self.params_ = dict(zip(self._param_names, (float(v) for v in p), strict=True))
        self.log_likelihood_ = float(np.sum(w * pareto_nbd_log_likelihood(p, x, t_x, tt)))
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

    def probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """P(alive | x, t_x, T)."""
        x, t_x, tt = _validate_rft(frequency, recency, T)
        _, log_alive, log_bracket = _pnbd_parts(self._vec(), x, t_x, tt)
        return np.asarray(np.exp(np.minimum(log_alive - log_bracket, 0.0)), dtype="float64")

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
        uniq, inverse = np.unique(np.column_stack([x, tt]), axis=0, return_inverse=True)
        xu, tu, rows = uniq[:, 0], uniq[:, 1], inverse.ravel()
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


# --------------------------------------------------------------------------- Gamma-Gamma


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


# --------------------------------------------------------------------------- CLV and checks


def customer_lifetime_value(
    purchase_model: BetaGeoModel | ParetoNBDModel,
    spend_model: GammaGammaModel,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    horizon: int = 52,
    discount_rate: float = 0.0,
    step: float = 1.0,
    margin: float = 1.0,
) -> FloatArray:
    """Discounted expected value of each customer's purchases over the next ``horizon`` steps.

    ``CLV = margin * E[M] * sum_k (E[Y(k*step)] - E[Y((k-1)*step)]) / (1 + discount_rate)^k``,
    with ``discount_rate`` per step (e.g. 0.0019 per week for 10 % a year).
    """
    x, t_x, tt = _validate_rft(frequency, recency, T)
    spend = spend_model.conditional_expected_spend(x, monetary_value)
    total = np.zeros_like(x)
    prev = np.zeros_like(x)
    for k in range(1, int(horizon) + 1):
        cum = purchase_model.conditional_expected_purchases(k * step, x, t_x, tt)
        total += (cum - prev) / (1.0 + discount_rate) ** k
        prev = cum
    return np.asarray(margin * spend * total, dtype="float64")


def holdout_comparison(
    model: BetaGeoModel | ParetoNBDModel,
    summary: pd.DataFrame,
    max_bin: int = 7,
) -> pd.DataFrame:
    """Predicted vs actual holdout transactions, per calibration-frequency bin and in total.

    ``summary`` is :func:`rfm_summary` output with ``observation_end`` set. Rows are the
    calibration frequencies 0..max_bin-1 and ``f"{max_bin}+"``, plus ``"total"``; columns
    ``customers``, ``actual`` and ``predicted`` (sums of holdout transactions) and
    ``actual_mean``, ``predicted_mean`` (per customer).
    """
    needed = {"frequency", "recency", "T", "frequency_holdout", "duration_holdout"}
    if not needed <= set(summary.columns):
        raise DataError(
            "holdout_comparison needs an rfm_summary with observation_end set",
            hint="call rfm_summary(..., observation_end=...)",
        )
    horizon = float(summary["duration_holdout"].iloc[0])
    pred = model.conditional_expected_purchases(
        horizon, summary["frequency"], summary["recency"], summary["T"]
    )
    freq = summary["frequency"].to_numpy()
    labels = np.where(freq >= max_bin, f"{max_bin}+", freq.astype(int).astype(str))
    df = pd.DataFrame(
        {"bin": labels, "actual": summary["frequency_holdout"].to_numpy(), "predicted": pred}
    )
    order = [str(i) for i in range(max_bin)] + [f"{max_bin}+"]
    table = df.groupby("bin").agg(
        customers=("actual", "size"), actual=("actual", "sum"), predicted=("predicted", "sum")
    )
    table = table.reindex([b for b in order if b in table.index])
    table.loc["total"] = [len(df), df["actual"].sum(), df["predicted"].sum()]
    table["customers"] = table["customers"].astype("int64")
    table["actual_mean"] = table["actual"] / table["customers"]
    table["predicted_mean"] = table["predicted"] / table["customers"]
    table.index.name = "calibration_frequency"
    return table


def customer_value_table(
    events: pd.DataFrame,
    as_of: str | pd.Timestamp | None = None,
    horizon_days: int = 90,
    clv_weeks: int = 52,
    annual_discount_rate: float = 0.10,
) -> pd.DataFrame:
    """Per-user predicted value fields from canonical events, for profiles and reports.

    Fits BG/NBD and Gamma-Gamma (weeks as the unit, same-day purchases merged) on the
    ``purchase`` events up to ``as_of`` (default: the last event day) and returns, indexed by
    ``user_id``: ``frequency``, ``recency_weeks``, ``T_weeks``, ``monetary_value``,
    ``p_alive``, ``expected_purchases`` (in the next ``horizon_days``), ``expected_spend``
    (per future purchase), ``clv`` (discounted over ``clv_weeks`` weeks) and
    ``expected_next_order``: the first day on which the BG/NBD conditional expected purchases
    since ``as_of`` reach 0.5 (so it accounts for the chance the user has left), NaT when that
    does not happen within a year. A point estimate of "when we expect them back", not a
    promise.

    The amount of a purchase is ``price * quantity - discount`` (missing parts count as 0 / 1).
    Gamma-Gamma needs at least 3 repeat buyers; with fewer the spend falls back to each user's
    mean purchase amount.
    """
    needed = ["user_id", "timestamp"]
    missing = [c for c in needed if c not in events.columns]
    if missing:
        raise DataError(f"customer_value_table: events lack column(s) {', '.join(missing)}")
    ev = events
    if "event_type" in ev.columns:
        ev = ev[ev["event_type"] == "purchase"]
    if ev.empty:
        raise DataError("customer_value_table: no purchase events")
    qty = pd.to_numeric(ev["quantity"], errors="coerce").fillna(1.0) if "quantity" in ev else 1.0
    price = pd.to_numeric(ev["price"], errors="coerce").fillna(0.0) if "price" in ev else 0.0
    disc = pd.to_numeric(ev["discount"], errors="coerce").fillna(0.0) if "discount" in ev else 0.0
    tx = pd.DataFrame(
        {
            "user_id": ev["user_id"].astype(str),
            "timestamp": pd.to_datetime(ev["timestamp"]),
            "amount": price * qty - disc,
        }
    )
    cut = pd.Timestamp(as_of).floor("D") if as_of is not None else tx["timestamp"].max().floor("D")
    s = rfm_summary(tx, "user_id", "timestamp", "amount", calibration_end=cut, time_unit="W")
    x, rec, tt = s["frequency"], s["recency"], s["T"]
    bg = BetaGeoModel(penalizer=1e-4).fit(x, rec, tt)
    out = pd.DataFrame(index=s.index)
    out["frequency"] = x
    out["recency_weeks"] = rec
    out["T_weeks"] = tt
    out["monetary_value"] = s["monetary_value"]
    out["p_alive"] = bg.probability_alive(x, rec, tt)
    out["expected_purchases"] = bg.conditional_expected_purchases(horizon_days / 7.0, x, rec, tt)
    rep = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
    weekly = (1.0 + annual_discount_rate) ** (1.0 / 52.0) - 1.0
    try:
        gg = GammaGammaModel().fit(rep["frequency"], rep["monetary_value"])
        out["expected_spend"] = gg.conditional_expected_spend(x, s["monetary_value"])
        out["clv"] = customer_lifetime_value(
            bg, gg, x, rec, tt, s["monetary_value"], horizon=clv_weeks, discount_rate=weekly
        )
    except DataError:
        mean_amount = (
            tx[tx["timestamp"] <= cut + pd.Timedelta(days=1)].groupby("user_id")["amount"].mean()
        )
        out["expected_spend"] = mean_amount.reindex(out.index).fillna(0.0)
        cum = np.zeros(len(out))
        prev = np.zeros(len(out))
        for k in range(1, clv_weeks + 1):
            now = bg.conditional_expected_purchases(k, x, rec, tt)
            cum += (now - prev) / (1.0 + weekly) ** k
            prev = now
        out["clv"] = out["expected_spend"].to_numpy() * cum
    out["expected_next_order"] = _expected_next_order(bg, x, rec, tt, cut)
    out.index.name = "user_id"
    return out


def _expected_next_order(
    model: BetaGeoModel | ParetoNBDModel,
    x: ArrayLike,
    rec: ArrayLike,
    tt: ArrayLike,
    cut: pd.Timestamp,
    threshold: float = 0.5,
    max_weeks: int = 52,
) -> pd.Series:
    """Day when E[Y(t) | x, t_x, T] first reaches ``threshold`` (linear between weeks)."""
    xs, rs, ts = _validate_rft(x, rec, tt)
    prev = np.zeros(len(xs))
    weeks = np.full(len(xs), np.nan)
    for k in range(1, max_weeks + 1):
        now = model.conditional_expected_purchases(float(k), xs, rs, ts)
        hit = np.isnan(weeks) & (now >= threshold)
        frac = (threshold - prev[hit]) / np.maximum(now[hit] - prev[hit], 1e-12)
        weeks[hit] = k - 1 + frac
        prev = now
    days = np.round(weeks * 7.0)
    index = x.index if isinstance(x, pd.Series) else None
    return pd.Series(cut + pd.to_timedelta(days, unit="D"), index=index)
