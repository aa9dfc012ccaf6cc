"""Churn: labels, as-of features, a gradient-boosting model, baselines and per-user drivers.

A user *churns* at a cut-off date when they make no purchase in the ``horizon_days`` after it
(:mod:`~shopguide.retention.churn.labels`). Everything the model sees is computed from the
events up to and including the cut-off day (:mod:`~shopguide.retention.churn.features`), so
there is no leakage from the label window. The model
(:mod:`~shopguide.retention.churn.model`) is a small, monotone-constrained gradient-boosting
classifier, by default blended with a logistic regression; it is trained and used by
:mod:`~shopguide.retention.churn.training`, judged by
:mod:`~shopguide.retention.churn.evaluation` (AUC, PR-AUC, top-decile lift and the baselines
every model must beat) and explained per user by :mod:`~shopguide.retention.churn.drivers`,
in words a shop manager reads (:mod:`~shopguide.retention.churn.reasons`).

Works on any canonical events frame (``user_id``, ``timestamp``, ``event_type``, ``quantity``,
``price``; ``discount`` optional); only ``purchase`` events count as purchases.
"""

from shopguide.retention.churn.drivers import (
    driver_table,
    median_contributions,
    permutation_importance,
)
from shopguide.retention.churn.evaluation import (
    churn_baselines,
    evaluate_churn_scores,
    top_decile_lift,
)
from shopguide.retention.churn.features import (
    BTYD_FEATURES,
    FEATURE_DESCRIPTIONS,
    FEATURES,
    churn_dataset,
    churn_features,
)
from shopguide.retention.churn.labels import churn_labels
from shopguide.retention.churn.model import CHURN_FORMAT_VERSION, CHURN_MODEL_KIND, ChurnModel
from shopguide.retention.churn.reasons import (
    describe_driver,
    driver_texts,
    human_number,
    informative_features,
    usable_contributions,
)
from shopguide.retention.churn.training import (
    cross_fitted_churn_scores,
    train_and_score_churn,
    train_churn,
)

__all__ = [
    "BTYD_FEATURES",
    "CHURN_FORMAT_VERSION",
    "CHURN_MODEL_KIND",
    "FEATURES",
    "FEATURE_DESCRIPTIONS",
    "ChurnModel",
    "churn_baselines",
    "churn_dataset",
    "churn_features",
    "churn_labels",
    "cross_fitted_churn_scores",
    "describe_driver",
    "driver_table",
    "driver_texts",
    "evaluate_churn_scores",
    "human_number",
    "informative_features",
    "median_contributions",
    "permutation_importance",
    "top_decile_lift",
    "train_and_score_churn",
    "train_churn",
    "usable_contributions",
]
