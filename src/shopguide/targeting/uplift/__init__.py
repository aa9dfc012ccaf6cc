"""Uplift models: who responds *because of* the campaign, learned from a randomised control group.

A response model finds the users likely to buy; many of them would have bought anyway. With a
past campaign whose audience was split at random into treated and control users, an uplift
model estimates ``tau(x) = P(respond | x, treated) - P(respond | x, control)`` so the audience
can be the users the campaign changes.

- Meta-learners wrapping scikit-learn estimators (:mod:`.meta`): :class:`TLearner`,
  :class:`SLearner`, :class:`ClassTransformation`, :class:`XLearner`, :class:`DRLearner`.
- :class:`UpliftRandomForest` (:mod:`.forest`): bagged uplift trees grown with a divergence
  split criterion, ED or KL (:mod:`.tree`), optionally honest (leaves estimated on users the
  splits did not see).
- :class:`UpliftAverage` (:mod:`.ensemble`): the mean uplift of several of these models, by
  default the uplift forest (300 trees) and the DR-learner.

Every model: ``fit(X, treatment, outcome) -> self``, ``predict_uplift(X) -> ndarray``
(``predict`` is an alias), ``save(path)`` / ``load(path)`` without pickle, and
``get_params``/``set_params`` so ``sklearn.base.clone`` works. ``UPLIFT_MODELS`` maps short
names (``t_learner``, ``s_learner``, ``class_transformation``, ``x_learner``, ``dr_learner``,
``uplift_forest``, ``uplift_average``) to the classes. Evaluate them with
:mod:`shopguide.targeting.metrics`.
"""

from __future__ import annotations

from shopguide.targeting.uplift._base import (
    UPLIFT_FORMAT_VERSION,
    UPLIFT_MODEL_KIND,
    UpliftModel,
    load_uplift_model,
)
from shopguide.targeting.uplift.ensemble import UpliftAverage
from shopguide.targeting.uplift.forest import UpliftRandomForest
from shopguide.targeting.uplift.meta import (
    ClassTransformation,
    DRLearner,
    SLearner,
    TLearner,
    XLearner,
    default_classifier,
    default_regressor,
)

#: The uplift models by short name, for CLIs and benchmarks.
UPLIFT_MODELS: dict[str, type[UpliftModel]] = {
    "t_learner": TLearner,
    "class_transformation": ClassTransformation,
    "s_learner": SLearner,
    "x_learner": XLearner,
    "dr_learner": DRLearner,
    "uplift_forest": UpliftRandomForest,
    "uplift_average": UpliftAverage,
}

# UPLIFT_MODELS is importable too; it is left out of __all__ so the API reference does not
# print a dict of classes (the module docstring names its keys).
__all__ = [
    "UPLIFT_FORMAT_VERSION",
    "UPLIFT_MODEL_KIND",
    "ClassTransformation",
    "DRLearner",
    "SLearner",
    "TLearner",
    "UpliftAverage",
    "UpliftModel",
    "UpliftRandomForest",
    "XLearner",
    "default_classifier",
    "default_regressor",
    "load_uplift_model",
]
