"""Buy till you die: BG/NBD, Pareto/NBD and Gamma-Gamma, fitted by maximum likelihood.

The "buy till you die" models describe each customer by three numbers taken from their purchase
history in a calibration period (:mod:`~shopguide.retention.btyd.summary`): ``frequency`` x,
the number of *repeat* purchases; ``recency`` t_x, the time from the first to the last
purchase; and ``T``, the time from the first purchase to the end of the calibration period.
While "alive" a customer buys as a Poisson process whose rate varies across customers as a
gamma distribution; customers "die" unobserved, after any purchase with a beta-distributed
probability (:mod:`~shopguide.retention.btyd.bgnbd`) or after an exponential lifetime whose
rate is gamma distributed (:mod:`~shopguide.retention.btyd.pareto_nbd`). The Gamma-Gamma model
(:mod:`~shopguide.retention.btyd.gamma_gamma`) gives the expected spend per transaction.
Together they give expected purchases in a horizon, the probability a customer is still alive
and a discounted lifetime value (:mod:`~shopguide.retention.btyd.lifetime_value`).

Checking a fit: :mod:`~shopguide.retention.btyd.holdout` compares predicted and actual holdout
purchases; :mod:`~shopguide.retention.btyd.degeneracy` says when a fit sees no drop-out and
chooses between BG/NBD and Pareto/NBD by their holdout fit; :mod:`~shopguide.retention.btyd.value`
derives the value fields scoring stores, consistent with the churn risk.

Inputs and outputs are plain numpy arrays / pandas objects, so campaign or win-back code can call
these functions directly.
"""

from shopguide.retention.btyd.base import CLV_FORMAT_VERSION
from shopguide.retention.btyd.bgnbd import BetaGeoModel, bgnbd_log_likelihood
from shopguide.retention.btyd.degeneracy import (
    FitCheck,
    HoldoutFit,
    check_fit,
    choose_purchase_model,
    dropout_share,
    holdout_fit,
)
from shopguide.retention.btyd.gamma_gamma import GammaGammaModel, gamma_gamma_log_likelihood
from shopguide.retention.btyd.holdout import holdout_comparison
from shopguide.retention.btyd.lifetime_value import customer_lifetime_value, customer_value_table
from shopguide.retention.btyd.pareto_nbd import ParetoNBDModel, pareto_nbd_log_likelihood
from shopguide.retention.btyd.summary import rfm_summary
from shopguide.retention.btyd.value import ONE_PURCHASE_NOTE, customer_value

__all__ = [
    "CLV_FORMAT_VERSION",
    "ONE_PURCHASE_NOTE",
    "BetaGeoModel",
    "FitCheck",
    "GammaGammaModel",
    "HoldoutFit",
    "ParetoNBDModel",
    "bgnbd_log_likelihood",
    "check_fit",
    "choose_purchase_model",
    "customer_lifetime_value",
    "customer_value",
    "customer_value_table",
    "dropout_share",
    "gamma_gamma_log_likelihood",
    "holdout_comparison",
    "holdout_fit",
    "pareto_nbd_log_likelihood",
    "rfm_summary",
]
