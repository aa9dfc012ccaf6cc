"""Shared plumbing of the BTYD models: input checks, the optimiser and JSON save/load.

:class:`_BTYDBase` gives every fitted model (:class:`~shopguide.retention.btyd.bgnbd.BetaGeoModel`,
:class:`~shopguide.retention.btyd.pareto_nbd.ParetoNBDModel`,
:class:`~shopguide.retention.btyd.gamma_gamma.GammaGammaModel`) its parameter vector, the
not-fitted check and a versioned JSON form (no pickle). The helpers check the per-customer
inputs, merge identical customer rows before fitting and minimise a negative log-likelihood over
the logarithm of the parameters, so that they stay positive.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize
from sklearn.base import BaseEstimator

from shopguide.errors import DataError, ModelFormatError, NotFittedError

FloatArray = NDArray[np.float64]

#: Format version of the JSON written by :meth:`_BTYDBase.to_json`.
CLV_FORMAT_VERSION = 1


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
