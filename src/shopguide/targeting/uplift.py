"""Uplift models: who responds *because of* the campaign, learned from a randomised control group.

A response model finds the users likely to buy; many of them would have bought anyway. With a
past campaign whose audience was split at random into treated and control users, an uplift
model estimates ``tau(x) = P(respond | x, treated) - P(respond | x, control)`` so the audience
can be the users the campaign changes.

Three classic meta-learners, each wrapping any scikit-learn classifier with ``predict_proba``:

- :class:`TLearner` ("two models"): one classifier on the treated, one on the controls; uplift
  is the difference of their probabilities.
- :class:`ClassTransformation` (Jaskowski & Jaroszewicz 2012, "Uplift modeling for clinical
  trial data"): with ``z = 1`` for treated responders and control non-responders, and a 50/50
  split, ``tau(x) = 2 P(z = 1 | x) - 1``, so one classifier suffices. When the split is not
  50/50, rows are weighted so that each group carries half of the total weight, which restores
  the identity.
- :class:`SLearner` ("single model"): one classifier with the treatment flag as an extra
  feature; uplift is the prediction with the flag on minus with it off.

Every model: ``fit(X, treatment, outcome) -> self``, ``predict_uplift(X) -> ndarray``
(``predict`` is an alias), numpy arrays or data frames in, numpy out. Evaluate them with
:mod:`shopguide.targeting.metrics`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from shopguide.errors import DataError, ModelFormatError, NotFittedError
from shopguide.model_files import load_state, save_state

FloatArray = NDArray[np.float64]
#: ``kind`` and format version of a saved uplift model.
UPLIFT_MODEL_KIND: Final = "shopguide.uplift"
UPLIFT_FORMAT_VERSION: Final = 1


def default_classifier(random_state: int = 0) -> HistGradientBoostingClassifier:
    """The base classifier used when none is given: a small, regularised gradient booster."""
    return HistGradientBoostingClassifier(
        max_iter=100,
        learning_rate=0.05,
        max_leaf_nodes=8,
        min_samples_leaf=200,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=random_state,
    )


def _matrix(X: Any) -> FloatArray:
    if isinstance(X, pd.DataFrame):
        arr = X.to_numpy(dtype="float64")
    else:
        arr = np.asarray(X, dtype="float64")
    if arr.ndim != 2:
        raise DataError(f"X must be 2-dimensional, got shape {arr.shape}")
    return arr


def _check_fit_inputs(
    X: Any, treatment: ArrayLike, outcome: ArrayLike
) -> tuple[FloatArray, NDArray[np.int64], NDArray[np.int64]]:
    M = _matrix(X)
    t = np.asarray(treatment).ravel()
    y = np.asarray(outcome).ravel()
    if not (len(M) == len(t) == len(y)):
        raise DataError("X, treatment and outcome must have the same number of rows")
    if not np.all(np.isin(t, (0, 1))):
        raise DataError("treatment must be 0 (control) or 1 (treated)")
    if not np.all(np.isin(y, (0, 1))):
        raise DataError("outcome must be 0 or 1 (responded)")
    t = t.astype("int64")
    y = y.astype("int64")
    for g, name in ((1, "treated"), (0, "control")):
        ys = y[t == g]
        if len(ys) == 0:
            raise DataError(f"no {name} rows: uplift needs a randomised control group")
        if ys.min() == ys.max():
            raise DataError(f"the {name} group has only one outcome value; cannot model it")
    return M, t, y


def _proba(model: Any, M: FloatArray) -> FloatArray:
    return np.asarray(model.predict_proba(M)[:, 1], dtype="float64")


class _UpliftBase(BaseEstimator):
    """Shared checks; subclasses implement ``_fit`` and ``_predict``."""

    estimator: Any
    n_threads: int | None
    random_state: int

    def _base(self) -> Any:
        return (
            clone(self.estimator)
            if self.estimator is not None
            else default_classifier(self.random_state)
        )

    def fit(self, X: Any, treatment: ArrayLike, outcome: ArrayLike) -> Any:
        """Learn the uplift from features ``X``, a 0/1 ``treatment`` and a 0/1 ``outcome``."""
        M, t, y = _check_fit_inputs(X, treatment, outcome)
        self.n_features_in_ = M.shape[1]
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.treatment_rate_ = float(t.mean())
        with threadpool_limits(limits=self.n_threads):
            self._fit(M, t, y)
        self.fitted_ = True
        return self

    def predict_uplift(self, X: Any) -> FloatArray:
        """Estimated uplift (treated minus control response probability) per row."""
        if not getattr(self, "fitted_", False):
            raise NotFittedError(type(self).__name__)
        M = _matrix(X)
        if M.shape[1] != self.n_features_in_:
            raise DataError(
                f"X has {M.shape[1]} features, the model was fit on {self.n_features_in_}"
            )
        with threadpool_limits(limits=self.n_threads):
            return self._predict(M)

    def predict(self, X: Any) -> FloatArray:
        """Alias of :meth:`predict_uplift`."""
        return self.predict_uplift(X)

    def _fit(self, M: FloatArray, t: NDArray[np.int64], y: NDArray[np.int64]) -> None:
        raise NotImplementedError

    def _predict(self, M: FloatArray) -> FloatArray:
        raise NotImplementedError

    #: Fitted attributes holding classifiers, saved by :meth:`save`.
    _fitted_models: tuple[str, ...] = ("model_",)

    def save(self, path: str | Path) -> Path:
        """Write the fitted model to ``path``: a skops archive (no pickle) with a format
        version, the model class and the feature names (see
        :mod:`shopguide.model_files`). The base classifier must be a scikit-learn one;
        anything skops would not load safely is refused here, before a file is written."""
        if not getattr(self, "fitted_", False):
            raise NotFittedError(type(self).__name__)
        names = getattr(self, "feature_names_in_", None)
        state = {
            "kind": UPLIFT_MODEL_KIND,
            "format_version": UPLIFT_FORMAT_VERSION,
            "model": type(self).__name__,
            "features": None if names is None else [str(n) for n in names],
            "n_features": int(self.n_features_in_),
            "params": {"n_threads": self.n_threads, "random_state": int(self.random_state)},
            "estimator": self.estimator,
            "treatment_rate": float(self.treatment_rate_),
            "fitted": {name: getattr(self, name) for name in self._fitted_models},
        }
        return save_state(state, path)

    @classmethod
    def load(cls, path: str | Path, features: Sequence[str] | None = None) -> Any:
        """Read a model written by :meth:`save` (call it on the class saved, or on
        :func:`load_uplift_model` for any). With ``features``, the saved feature names must
        equal them. A wrong kind, format version, model class, feature list or an untrusted
        type raises :class:`~shopguide.errors.ModelFormatError` saying to retrain."""
        retrain = "refit the uplift model on the campaign's treated/control data and save it"
        state = load_state(
            path, kind=UPLIFT_MODEL_KIND, format_version=UPLIFT_FORMAT_VERSION, retrain=retrain
        )
        if state.get("model") != cls.__name__:
            raise ModelFormatError(
                f"{path} holds a {state.get('model')}, not a {cls.__name__}", hint=retrain
            )
        saved = state["features"]
        if features is not None and (saved is None or list(saved) != list(features)):
            raise ModelFormatError(
                f"{path} was fit on features {saved}, not {list(features)}", hint=retrain
            )
        fitted = state["fitted"]
        if not isinstance(fitted, dict) or set(fitted) != set(cls._fitted_models):
            raise ModelFormatError(f"{path}: the fitted parts do not match", hint=retrain)
        for part in fitted.values():
            if getattr(part, "n_features_in_", state["n_features"]) != state["n_features"] + (
                1 if cls is SLearner else 0
            ):
                raise ModelFormatError(f"{path}: feature count does not match", hint=retrain)
        model = cls(estimator=state["estimator"], **state["params"])
        for name, part in fitted.items():
            setattr(model, name, part)
        model.n_features_in_ = int(state["n_features"])
        if saved is not None:
            model.feature_names_in_ = np.asarray(saved, dtype=object)
        model.treatment_rate_ = float(state["treatment_rate"])
        model.fitted_ = True
        return model


class TLearner(_UpliftBase):
    """Two-model uplift: separate classifiers for treated and control users.

    Parameters
    ----------
    estimator
        Any scikit-learn classifier with ``predict_proba``; cloned twice. ``None`` uses
        :func:`default_classifier`.
    n_threads
        OpenMP threads while fitting and predicting (``None``: library default).
    random_state
        Seed of the default classifier.

    Attributes
    ----------
    model_treated_, model_control_ : classifier
    """

    def __init__(
        self, estimator: Any = None, n_threads: int | None = 1, random_state: int = 0
    ) -> None:
        self.estimator = estimator
        self.n_threads = n_threads
        self.random_state = random_state

    _fitted_models = ("model_treated_", "model_control_")

    def _fit(self, M: FloatArray, t: NDArray[np.int64], y: NDArray[np.int64]) -> None:
        self.model_treated_ = self._base().fit(M[t == 1], y[t == 1])
        self.model_control_ = self._base().fit(M[t == 0], y[t == 0])

    def _predict(self, M: FloatArray) -> FloatArray:
        return _proba(self.model_treated_, M) - _proba(self.model_control_, M)

    def predict_response(self, X: Any) -> tuple[FloatArray, FloatArray]:
        """``(P(respond | treated), P(respond | control))`` per row."""
        self.predict_uplift(X)  # checks
        M = _matrix(X)
        return _proba(self.model_treated_, M), _proba(self.model_control_, M)


class ClassTransformation(_UpliftBase):
    """Class-transformation uplift (Jaskowski & Jaroszewicz 2012).

    Learns ``z = treatment * outcome + (1 - treatment) * (1 - outcome)`` with one classifier
    and returns ``2 P(z = 1 | x) - 1``. With an unbalanced split each group's rows are weighted
    by ``0.5 / share`` so the identity ``tau(x) = 2 P(z=1|x) - 1`` still holds; the estimator
    must then accept ``sample_weight`` in ``fit``.

    Parameters are those of :class:`TLearner`.
    """

    def __init__(
        self, estimator: Any = None, n_threads: int | None = 1, random_state: int = 0
    ) -> None:
        self.estimator = estimator
        self.n_threads = n_threads
        self.random_state = random_state

    def _fit(self, M: FloatArray, t: NDArray[np.int64], y: NDArray[np.int64]) -> None:
        z = (t * y + (1 - t) * (1 - y)).astype("int64")
        p = float(t.mean())
        model = self._base()
        if abs(p - 0.5) < 1e-3:
            self.model_ = model.fit(M, z)
        else:
            w = np.where(t == 1, 0.5 / p, 0.5 / (1.0 - p))
            self.model_ = model.fit(M, z, sample_weight=w)

    def _predict(self, M: FloatArray) -> FloatArray:
        return np.asarray(2.0 * _proba(self.model_, M) - 1.0, dtype="float64")


class SLearner(_UpliftBase):
    """Single-model uplift: the treatment flag is one more feature (the last column).

    Parameters are those of :class:`TLearner`.
    """

    def __init__(
        self, estimator: Any = None, n_threads: int | None = 1, random_state: int = 0
    ) -> None:
        self.estimator = estimator
        self.n_threads = n_threads
        self.random_state = random_state

    def _fit(self, M: FloatArray, t: NDArray[np.int64], y: NDArray[np.int64]) -> None:
        self.model_ = self._base().fit(np.column_stack([M, t]), y)

    def _predict(self, M: FloatArray) -> FloatArray:
        on = np.column_stack([M, np.ones(len(M))])
        off = np.column_stack([M, np.zeros(len(M))])
        return _proba(self.model_, on) - _proba(self.model_, off)


#: The uplift models by short name, for CLIs and benchmarks.
UPLIFT_MODELS: dict[str, type[_UpliftBase]] = {
    "t_learner": TLearner,
    "class_transformation": ClassTransformation,
    "s_learner": SLearner,
}


def load_uplift_model(path: str | Path, features: Sequence[str] | None = None) -> Any:
    """Load any uplift model saved with ``save`` (the class is read from the file)."""
    state = load_state(
        path,
        kind=UPLIFT_MODEL_KIND,
        format_version=UPLIFT_FORMAT_VERSION,
        retrain="refit the uplift model and save it",
    )
    by_class = {c.__name__: c for c in UPLIFT_MODELS.values()}
    cls = by_class.get(str(state.get("model")))
    if cls is None:
        raise ModelFormatError(
            f"{path} holds an unknown uplift model {state.get('model')!r}",
            hint="refit the uplift model and save it",
        )
    return cls.load(path, features=features)
