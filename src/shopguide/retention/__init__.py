"""Retention: lifetime value (BG/NBD, Pareto/NBD, Gamma-Gamma) and churn.

Plain data frames and numpy arrays in and out, so campaign, win-back, profile and report code
can call these directly:

- :func:`rfm_summary`, :class:`BetaGeoModel`, :class:`ParetoNBDModel`,
  :class:`GammaGammaModel`, :func:`customer_lifetime_value`, :func:`holdout_comparison`,
  :func:`customer_value_table` (per-user p_alive, expected purchases, CLV, next order date);
- :func:`choose_purchase_model`, :func:`check_fit`, :class:`FitCheck` (is a BTYD fit
  degenerate? which model predicts held-out weeks better?) and :func:`customer_value` (value
  fields that agree with the churn risk);
- :func:`churn_labels`, :func:`churn_features`, :func:`churn_dataset`, :class:`ChurnModel`,
  :func:`churn_baselines`, :func:`evaluate_churn_scores`, :func:`cross_fitted_churn_scores`,
  :func:`train_churn`, :func:`train_and_score_churn` (save and load a model with
  :meth:`ChurnModel.save` / :meth:`ChurnModel.load`: skops, no pickle).

Layout: :mod:`shopguide.retention.btyd` holds the purchase and spend models (summary, BG/NBD,
Pareto/NBD, Gamma-Gamma, holdout checks, degeneracy, value), one module each;
:mod:`shopguide.retention.churn` holds churn (labels, features, model, drivers, reasons,
evaluation, training). ``shopguide.retention.clv`` is the former module path of the BTYD
models, kept so that old imports still work.
"""

from shopguide.retention.btyd import (
    BetaGeoModel,
    FitCheck,
    GammaGammaModel,
    ParetoNBDModel,
    check_fit,
    choose_purchase_model,
    customer_lifetime_value,
    customer_value,
    customer_value_table,
    holdout_comparison,
    rfm_summary,
)
from shopguide.retention.churn import (
    FEATURES,
    ChurnModel,
    churn_baselines,
    churn_dataset,
    churn_features,
    churn_labels,
    cross_fitted_churn_scores,
    evaluate_churn_scores,
    top_decile_lift,
    train_and_score_churn,
    train_churn,
)

__all__ = [
    "FEATURES",
    "BetaGeoModel",
    "ChurnModel",
    "FitCheck",
    "GammaGammaModel",
    "ParetoNBDModel",
    "check_fit",
    "choose_purchase_model",
    "churn_baselines",
    "churn_dataset",
    "churn_features",
    "churn_labels",
    "cross_fitted_churn_scores",
    "customer_lifetime_value",
    "customer_value",
    "customer_value_table",
    "evaluate_churn_scores",
    "holdout_comparison",
    "rfm_summary",
    "top_decile_lift",
    "train_and_score_churn",
    "train_churn",
]
