"""The names this module held before the BTYD models moved to :mod:`shopguide.retention.btyd`.

Kept so that ``from shopguide.retention.clv import BetaGeoModel`` (and the rest) keeps working;
new code imports from :mod:`shopguide.retention.btyd`, where each model has its own module.
"""

from shopguide.retention.btyd.base import CLV_FORMAT_VERSION, FloatArray
from shopguide.retention.btyd.bgnbd import BetaGeoModel, bgnbd_log_likelihood
from shopguide.retention.btyd.gamma_gamma import GammaGammaModel, gamma_gamma_log_likelihood
from shopguide.retention.btyd.holdout import holdout_comparison
from shopguide.retention.btyd.lifetime_value import customer_lifetime_value, customer_value_table
from shopguide.retention.btyd.pareto_nbd import ParetoNBDModel, pareto_nbd_log_likelihood
from shopguide.retention.btyd.summary import rfm_summary

__all__ = [
    "CLV_FORMAT_VERSION",
    "BetaGeoModel",
    "FloatArray",
    "GammaGammaModel",
    "ParetoNBDModel",
    "bgnbd_log_likelihood",
    "customer_lifetime_value",
    "customer_value_table",
    "gamma_gamma_log_likelihood",
    "holdout_comparison",
    "pareto_nbd_log_likelihood",
    "rfm_summary",
]
