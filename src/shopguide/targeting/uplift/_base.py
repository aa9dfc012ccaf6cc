"""What every uplift model shares: input checks, the fit/predict template, saving and loading.

A model subclasses :class:`UpliftModel` and implements ``_fit(M, t, y)`` and ``_predict(M)`` on
plain float matrices, plus ``_fitted_state()`` / ``_restore(fitted)`` naming what a saved file
holds. Subclasses register themselves by class name, so :func:`load_uplift_model` can rebuild
any of them from a file without a hand-kept list.

Files are skops archives written by :mod:`shopguide.model_files` (no pickle): a header (kind,
format version, model class, feature names), the constructor parameters as plain JSON-like
values (plus the base estimators of the meta-learners) and the fitted parts: scikit-learn
estimators for the meta-learners, plain arrays for the uplift forest.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator
from threadpoolctl import threadpool_limits

from shopguide.errors import DataError, ModelFormatError, NotFittedError
from shopguide.model_files import BOOSTER_TYPES, load_state, save_state

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
#: ``kind`` and format version of a saved uplift model.
UPLIFT_MODEL_KIND: Final = "shopguide.uplift"
UPLIFT_FORMAT_VERSION: Final = 1
#: Types a saved uplift model may hold beyond skops's defaults (a booster's internals).
UPLIFT_TRUSTED_TYPES: Final = BOOSTER_TYPES
_RETRAIN: Final = "refit the uplift model on the campaign's treated/control data and save it"

_REGISTRY: dict[str, type[UpliftModel]] = {}


def as_matrix(X: Any) -> FloatArray:
    """``X`` as a 2-D float64 array (data frames by their columns)."""
    if isinstance(X, pd.DataFrame):
        arr = X.to_numpy(dtype="float64")
    else:
        arr = np.asarray(X, dtype="float64")
    if arr.ndim != 2:
        raise DataError(f"X must be 2-dimensional, got shape {arr.shape}")
    return arr


def check_fit_inputs(
    X: Any, treatment: ArrayLike, outcome: ArrayLike
) -> tuple[FloatArray, IntArray, IntArray]:
    """Validate a randomised campaign's data: 0/1 treatment and outcome, both groups present,
    each with both outcomes."""
    M = as_matrix(X)
    t = np.asarray(treatment).ravel()
    y = np.asarray(outcome).ravel()
    if not (len(M) == len(t) == len(y)):
        raise DataError("X, treatment and outcome must have the same number of rows")
    if not np.all(np.isin(t, (0, 1))):
        raise DataError("treatment must be 0 (control) or 1 (treated)")
    if not np.all(np.isin(y, (0, 1))):
        raise DataError("outcome must be 0 or 1 (responded)")
    if not np.all(np.isfinite(M)):
        raise DataError("X holds missing or infinite values", hint="impute them before fitting")
    t = t.astype("int64")
    y = y.astype("int64")
    for g, name in ((1, "treated"), (0, "control")):
        ys = y[t == g]
        if len(ys) == 0:
            raise DataError(f"no {name} rows: uplift needs a randomised control group")
        if ys.min() == ys.max():
            raise DataError(f"the {name} group has only one outcome value; cannot model it")
    return M, t, y


class UpliftModel(BaseEstimator):
    """Base of the uplift models: ``fit(X, treatment, outcome) -> self``, ``predict_uplift``.

    The constructor of a subclass only stores its parameters (so ``sklearn.base.clone``
    works); every parameter must have a plain value or be a scikit-learn estimator.
    """

    n_threads: int | None
    #: Name of each fitted attribute saved with the model (subclasses override).
    _fitted_models: ClassVar[tuple[str, ...]] = ()
    #: How many columns the fitted parts see beyond ``X`` (the S-learner adds the flag).
    _extra_columns: ClassVar[int] = 0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):
            _REGISTRY[cls.__name__] = cls

    def fit(self, X: Any, treatment: ArrayLike, outcome: ArrayLike) -> Any:
        """Learn the uplift from features ``X``, a 0/1 ``treatment`` and a 0/1 ``outcome``."""
        M, t, y = check_fit_inputs(X, treatment, outcome)
        self.n_features_in_ = M.shape[1]
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.treatment_rate_ = float(t.mean())
        with threadpool_limits(limits=self.n_threads):
            self._fit(M, t, y)
        self.fitted_ = True
        return self

    def _checked(self, X: Any) -> FloatArray:
        if not getattr(self, "fitted_", False):
            raise NotFittedError(type(self).__name__)
        M = as_matrix(X)
        if M.shape[1] != self.n_features_in_:
            raise DataError(
                f"X has {M.shape[1]} features, the model was fit on {self.n_features_in_}"
            )
        return M

    def predict_uplift(self, X: Any) -> FloatArray:
        """Estimated uplift (treated minus control response probability) per row."""
        M = self._checked(X)
        with threadpool_limits(limits=self.n_threads):
            return np.asarray(self._predict(M), dtype="float64")

    def predict(self, X: Any) -> FloatArray:
        """Alias of :meth:`predict_uplift`."""
        return self.predict_uplift(X)

    def _fit(self, M: FloatArray, t: IntArray, y: IntArray) -> None:
        raise NotImplementedError

    def _predict(self, M: FloatArray) -> FloatArray:
        raise NotImplementedError

    def _fitted_state(self) -> dict[str, Any]:
        """The fitted parts to save, by attribute name."""
        return {name: getattr(self, name) for name in self._fitted_models}

    def _restore(self, fitted: dict[str, Any], n_features: int, path: Path) -> None:
        """Set the fitted parts read from ``path``; raise ModelFormatError if they are wrong."""
        if set(fitted) != set(self._fitted_models):
            raise ModelFormatError(f"{path}: the fitted parts do not match", hint=_RETRAIN)
        for name, part in fitted.items():
            if getattr(part, "n_features_in_", None) != n_features + self._extra_columns:
                raise ModelFormatError(f"{path}: feature count does not match", hint=_RETRAIN)
            setattr(self, name, part)

    def save(self, path: str | Path) -> Path:
        """Write the fitted model to ``path``: a skops archive (no pickle) with a format
        version, the model class and the feature names (see :mod:`shopguide.model_files`).
        Base estimators must be scikit-learn ones; anything skops would not load safely is
        refused here, before a file is written."""
        if not getattr(self, "fitted_", False):
            raise NotFittedError(type(self).__name__)
        names = getattr(self, "feature_names_in_", None)
        params = self.get_params(deep=False)
        state = {
            "kind": UPLIFT_MODEL_KIND,
            "format_version": UPLIFT_FORMAT_VERSION,
            "model": type(self).__name__,
            "features": None if names is None else [str(n) for n in names],
            "n_features": int(self.n_features_in_),
            "params": {k: v for k, v in params.items() if k != "estimator"},
            "estimator": params.get("estimator"),
            "treatment_rate": float(self.treatment_rate_),
            "fitted": self._fitted_state(),
        }
        return save_state(state, path, trusted=UPLIFT_TRUSTED_TYPES)

    @classmethod
    def load(cls, path: str | Path, features: Sequence[str] | None = None) -> Any:
        """Read a model written by :meth:`save` (call it on the class saved, or use
        :func:`load_uplift_model` for any). With ``features``, the saved feature names must
        equal them. A wrong kind, format version, model class, feature list or an untrusted
        type raises :class:`~shopguide.errors.ModelFormatError` saying to retrain."""
        state = load_state(
            path,
            kind=UPLIFT_MODEL_KIND,
            format_version=UPLIFT_FORMAT_VERSION,
            trusted=UPLIFT_TRUSTED_TYPES,
            retrain=_RETRAIN,
        )
        if state.get("model") != cls.__name__:
            raise ModelFormatError(
                f"{path} holds a {state.get('model')}, not a {cls.__name__}", hint=_RETRAIN
            )
        return cls._from_state(state, Path(path), features)

    @classmethod
    def _from_state(cls, state: dict[str, Any], path: Path, features: Sequence[str] | None) -> Any:
        saved = state.get("features")
        if features is not None and (saved is None or list(saved) != list(features)):
            raise ModelFormatError(
                f"{path} was fit on features {saved}, not {list(features)}", hint=_RETRAIN
            )
        fitted = state.get("fitted")
        params = dict(state.get("params") or {})
        if state.get("estimator") is not None or "estimator" in cls._get_param_names():
            params["estimator"] = state.get("estimator")
        if not isinstance(fitted, dict) or set(params) - set(cls._get_param_names()):
            raise ModelFormatError(f"{path}: the saved parameters do not match", hint=_RETRAIN)
        model = cls(**params)
        n_features = int(state["n_features"])
        model._restore(fitted, n_features, path)
        model.n_features_in_ = n_features
        if saved is not None:
            model.feature_names_in_ = np.asarray(saved, dtype=object)
        model.treatment_rate_ = float(state["treatment_rate"])
        model.fitted_ = True
        return model


def load_uplift_model(path: str | Path, features: Sequence[str] | None = None) -> Any:
    """Load any uplift model saved with ``save`` (the class is read from the file)."""
    state = load_state(
        path,
        kind=UPLIFT_MODEL_KIND,
        format_version=UPLIFT_FORMAT_VERSION,
        trusted=UPLIFT_TRUSTED_TYPES,
        retrain=_RETRAIN,
    )
    cls = _REGISTRY.get(str(state.get("model")))
    if cls is None:
        raise ModelFormatError(
            f"{path} holds an unknown uplift model {state.get('model')!r}", hint=_RETRAIN
        )
    return cls._from_state(state, Path(path), features)
