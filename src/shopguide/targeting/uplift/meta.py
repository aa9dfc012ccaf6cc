"""Meta-learners: uplift from ordinary scikit-learn classifiers and regressors.

- :class:`TLearner` ("two models"): one classifier on the treated, one on the controls; uplift
  is the difference of their probabilities.
- :class:`ClassTransformation` (Jaskowski & Jaroszewicz 2012): with ``z = 1`` for treated
  responders and control non-responders, and a 50/50 split, ``tau(x) = 2 P(z = 1 | x) - 1``,
  so one classifier suffices. With another split, rows are weighted so each group carries half
  of the total weight, which restores the identity.
- :class:`SLearner` ("single model"): one classifier with the treatment flag as an extra
  feature; uplift is the prediction with the flag on minus with it off.
- :class:`XLearner` (Kuenzel et al. 2019): the T-learner's two outcome models impute each
  user's individual effect (a treated user's outcome minus what the control model expected,
  and the reverse for controls); two regressors learn those imputed effects and are blended
  with the treatment share as weight.
- :class:`DRLearner` (doubly robust, Kennedy 2020): a regressor learns the augmented inverse
  propensity pseudo-outcome ``mu1 - mu0 + t (y - mu1) / e - (1 - t) (y - mu0) / (1 - e)``,
  whose mean is the effect whether or not the outcome models are right; the outcome models
  are cross-fitted so no row's pseudo-outcome uses a model that saw it. In a randomised
  campaign the propensity ``e`` is the treatment share, known by design.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.model_selection import StratifiedKFold

from shopguide.errors import DataError
from shopguide.targeting.uplift._base import FloatArray, IntArray, UpliftModel, as_matrix


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


def default_regressor(random_state: int = 0) -> HistGradientBoostingRegressor:
    """The effect regressor used when none is given: a shallow, strongly regularised booster
    (imputed effects are noisy, so it must not chase them)."""
    return HistGradientBoostingRegressor(
        max_iter=100,
        learning_rate=0.05,
        max_leaf_nodes=8,
        min_samples_leaf=200,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=random_state,
    )


def _proba(model: Any, M: FloatArray) -> FloatArray:
    return np.asarray(model.predict_proba(M)[:, 1], dtype="float64")


def _value(model: Any, M: FloatArray) -> FloatArray:
    return np.asarray(model.predict(M), dtype="float64")


class _MetaLearner(UpliftModel):
    """Shared parameters of the meta-learners: a base classifier, threads, a seed, and for
    the learners that regress an imputed effect (X, DR) the effect regressor."""

    estimator: Any
    random_state: int
    #: set by the learners that take one (X, DR); the others never call ``_regressor``
    effect_estimator: Any = None

    def _classifier(self) -> Any:
        if self.estimator is not None:
            return clone(self.estimator)
        return default_classifier(self.random_state)

    def _regressor(self) -> Any:
        if self.effect_estimator is not None:
            return clone(self.effect_estimator)
        return default_regressor(self.random_state)


class TLearner(_MetaLearner):
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
    """

    _fitted_models = ("model_treated_", "model_control_")

    def __init__(
        self, estimator: Any = None, n_threads: int | None = 1, random_state: int = 0
    ) -> None:
        self.estimator = estimator
        self.n_threads = n_threads
        self.random_state = random_state

    def _fit(self, M: FloatArray, t: IntArray, y: IntArray) -> None:
        self.model_treated_ = self._classifier().fit(M[t == 1], y[t == 1])
        self.model_control_ = self._classifier().fit(M[t == 0], y[t == 0])

    def _predict(self, M: FloatArray) -> FloatArray:
        return _proba(self.model_treated_, M) - _proba(self.model_control_, M)

    def predict_response(self, X: Any) -> tuple[FloatArray, FloatArray]:
        """``(P(respond | treated), P(respond | control))`` per row."""
        M = self._checked(X)
        return _proba(self.model_treated_, M), _proba(self.model_control_, M)


class ClassTransformation(_MetaLearner):
    """Class-transformation uplift (Jaskowski & Jaroszewicz 2012).

    Learns ``z = treatment * outcome + (1 - treatment) * (1 - outcome)`` with one classifier
    and returns ``2 P(z = 1 | x) - 1``. With an unbalanced split each group's rows are weighted
    by ``0.5 / share``; the estimator must then accept ``sample_weight`` in ``fit``.

    Parameters are those of :class:`TLearner`.
    """

    _fitted_models = ("model_",)

    def __init__(
        self, estimator: Any = None, n_threads: int | None = 1, random_state: int = 0
    ) -> None:
        self.estimator = estimator
        self.n_threads = n_threads
        self.random_state = random_state

    def _fit(self, M: FloatArray, t: IntArray, y: IntArray) -> None:
        z = (t * y + (1 - t) * (1 - y)).astype("int64")
        p = float(t.mean())
        model = self._classifier()
        if abs(p - 0.5) < 1e-3:
            self.model_ = model.fit(M, z)
        else:
            w = np.where(t == 1, 0.5 / p, 0.5 / (1.0 - p))
            self.model_ = model.fit(M, z, sample_weight=w)

    def _predict(self, M: FloatArray) -> FloatArray:
        return np.asarray(2.0 * _proba(self.model_, M) - 1.0, dtype="float64")


class SLearner(_MetaLearner):
    """Single-model uplift: the treatment flag is one more feature (the last column).

    Parameters are those of :class:`TLearner`.
    """

    _fitted_models = ("model_",)
    _extra_columns: ClassVar[int] = 1

    def __init__(
        self, estimator: Any = None, n_threads: int | None = 1, random_state: int = 0
    ) -> None:
        self.estimator = estimator
        self.n_threads = n_threads
        self.random_state = random_state

    def _fit(self, M: FloatArray, t: IntArray, y: IntArray) -> None:
        self.model_ = self._classifier().fit(np.column_stack([M, t]), y)

    def _predict(self, M: FloatArray) -> FloatArray:
        on = np.column_stack([M, np.ones(len(M))])
        off = np.column_stack([M, np.zeros(len(M))])
        return _proba(self.model_, on) - _proba(self.model_, off)


class XLearner(_MetaLearner):
    """X-learner (Kuenzel, Sekhon, Bickel & Yu 2019).

    1. Outcome models ``mu1`` on the treated and ``mu0`` on the controls (as the T-learner).
    2. Imputed effects: ``y - mu0(x)`` for each treated user, ``mu1(x) - y`` for each control.
    3. Effect regressors ``tau1`` (on the treated's imputed effects) and ``tau0`` (controls').
    4. ``tau(x) = e * tau0(x) + (1 - e) * tau1(x)`` with ``e`` the treatment share: the
       regressor fit on the larger group gets the larger weight.

    Parameters
    ----------
    estimator
        Classifier for the outcome models (``None``: :func:`default_classifier`).
    effect_estimator
        Regressor for the imputed effects (``None``: :func:`default_regressor`).
    n_threads, random_state
        As for :class:`TLearner`.
    """

    _fitted_models = ("model_treated_", "model_control_", "effect_treated_", "effect_control_")

    def __init__(
        self,
        estimator: Any = None,
        effect_estimator: Any = None,
        n_threads: int | None = 1,
        random_state: int = 0,
    ) -> None:
        self.estimator = estimator
        self.effect_estimator = effect_estimator
        self.n_threads = n_threads
        self.random_state = random_state

    def _fit(self, M: FloatArray, t: IntArray, y: IntArray) -> None:
        Mt, yt = M[t == 1], y[t == 1]
        Mc, yc = M[t == 0], y[t == 0]
        self.model_treated_ = self._classifier().fit(Mt, yt)
        self.model_control_ = self._classifier().fit(Mc, yc)
        d_treated = yt - _proba(self.model_control_, Mt)
        d_control = _proba(self.model_treated_, Mc) - yc
        self.effect_treated_ = self._regressor().fit(Mt, d_treated)
        self.effect_control_ = self._regressor().fit(Mc, d_control)

    def _predict(self, M: FloatArray) -> FloatArray:
        e = self.treatment_rate_
        return e * _value(self.effect_control_, M) + (1.0 - e) * _value(self.effect_treated_, M)


class DRLearner(_MetaLearner):
    """Doubly robust learner (Kennedy 2020) for a randomised campaign.

    The outcome models ``mu1``, ``mu0`` are cross-fitted over ``n_folds`` folds (stratified by
    treatment and outcome): each row's pseudo-outcome

    ``phi = mu1(x) - mu0(x) + t (y - mu1(x)) / e - (1 - t) (y - mu0(x)) / (1 - e)``

    uses models that never saw it; ``e`` is the treatment share. A regressor learns ``phi``
    from ``x``; its prediction is the uplift. Only the final regressor is kept.

    Parameters
    ----------
    estimator
        Classifier for the outcome models (``None``: :func:`default_classifier`).
    effect_estimator
        Regressor for the pseudo-outcome (``None``: :func:`default_regressor`).
    n_folds
        Cross-fitting folds (at least 2).
    n_threads, random_state
        As for :class:`TLearner`; ``random_state`` also seeds the folds.
    """

    _fitted_models = ("effect_",)

    def __init__(
        self,
        estimator: Any = None,
        effect_estimator: Any = None,
        n_folds: int = 2,
        n_threads: int | None = 1,
        random_state: int = 0,
    ) -> None:
        self.estimator = estimator
        self.effect_estimator = effect_estimator
        self.n_folds = n_folds
        self.n_threads = n_threads
        self.random_state = random_state

    def pseudo_outcome(self, X: Any, treatment: Any, outcome: Any) -> FloatArray:
        """The cross-fitted doubly robust pseudo-outcome of each row (what ``fit`` regresses)."""
        M = as_matrix(X)
        t = np.asarray(treatment).astype("int64").ravel()
        y = np.asarray(outcome).astype("float64").ravel()
        return self._pseudo(M, t, y)

    def _pseudo(self, M: FloatArray, t: IntArray, y: FloatArray) -> FloatArray:
        if int(self.n_folds) < 2:
            raise DataError(f"n_folds must be at least 2, got {self.n_folds}")
        e = float(t.mean())
        mu1 = np.empty(len(y))
        mu0 = np.empty(len(y))
        folds = StratifiedKFold(int(self.n_folds), shuffle=True, random_state=self.random_state)
        for train, held in folds.split(M, 2 * t + y.astype("int64")):
            tt, yy = t[train], y[train]
            m1 = self._classifier().fit(M[train][tt == 1], yy[tt == 1])
            m0 = self._classifier().fit(M[train][tt == 0], yy[tt == 0])
            mu1[held] = _proba(m1, M[held])
            mu0[held] = _proba(m0, M[held])
        return np.asarray(
            mu1 - mu0 + t * (y - mu1) / e - (1 - t) * (y - mu0) / (1.0 - e), dtype="float64"
        )

    def _fit(self, M: FloatArray, t: IntArray, y: IntArray) -> None:
        phi = self._pseudo(M, t, y.astype("float64"))
        self.effect_ = self._regressor().fit(M, phi)

    def _predict(self, M: FloatArray) -> FloatArray:
        return _value(self.effect_, M)
