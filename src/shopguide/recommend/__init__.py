"""Recommendation: one base class, neighbourhood CF as the founding document specifies,
popularity, EASE, RP3beta, ALS/BPR (through ``implicit``), blends of two models, business
rules, explanations, cold start, the catalogue of models by name
(:mod:`~shopguide.recommend.catalogue`) and fitted models in the versioned model store
(:class:`RecommenderStore`).

Every model takes a plain ``scipy.sparse`` CSR user x item matrix::

    model = create_model("item-knn", k=50).fit(user_items)
    ids, scores = model.recommend(user_rows, user_items, n=10)
"""

from __future__ import annotations

from shopguide.recommend.base import FORMAT_VERSION, Recommender, model_class
from shopguide.recommend.blend import Blend
from shopguide.recommend.catalogue import MODEL_NAMES, create_model
from shopguide.recommend.cost import Cost, FitPlan, plan_fit
from shopguide.recommend.ease import EASE
from shopguide.recommend.ease_large import EASELarge
from shopguide.recommend.ease_next import EASENext
from shopguide.recommend.frames import recommendations_frame, similar_items_frame
from shopguide.recommend.knn import ItemKNN, UserKNN
from shopguide.recommend.mf import ALS, BPR
from shopguide.recommend.popular import Popular
from shopguide.recommend.rp3beta import RP3beta
from shopguide.recommend.saved import LoadedModel, RecommenderStore

__all__ = [
    "ALS",
    "BPR",
    "EASE",
    "FORMAT_VERSION",
    "MODEL_NAMES",
    "Blend",
    "Cost",
    "EASELarge",
    "EASENext",
    "FitPlan",
    "ItemKNN",
    "LoadedModel",
    "Popular",
    "RP3beta",
    "Recommender",
    "RecommenderStore",
    "UserKNN",
    "create_model",
    "model_class",
    "plan_fit",
    "recommendations_frame",
    "similar_items_frame",
]


def __getattr__(name: str) -> object:
    # ``ModelRegistry`` was this package's name for the model store up to 0.1.0; kept for a
    # release so code written against the documented name keeps working, with a warning.
    if name == "ModelRegistry":
        import warnings

        warnings.warn(
            "shopguide.recommend.ModelRegistry is now shopguide.recommend.RecommenderStore",
            DeprecationWarning,
            stacklevel=2,
        )
        return RecommenderStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
