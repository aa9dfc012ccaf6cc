"""Recommendation: one base class, neighbourhood CF as the founding document specifies,
popularity, EASE, ALS/BPR (through ``implicit``), business rules, explanations, cold start,
and a versioned model registry.

Every model takes a plain ``scipy.sparse`` CSR user x item matrix::

    model = create_model("item-knn", k=50).fit(user_items)
    ids, scores = model.recommend(user_rows, user_items, n=10)
"""

from __future__ import annotations

from shopguide.recommend.base import FORMAT_VERSION, Recommender, model_class
from shopguide.recommend.cost import Cost, FitPlan, plan_fit
from shopguide.recommend.ease import EASE
from shopguide.recommend.ease_large import EASELarge
from shopguide.recommend.frames import recommendations_frame, similar_items_frame
from shopguide.recommend.knn import ItemKNN, UserKNN
from shopguide.recommend.mf import ALS, BPR
from shopguide.recommend.popular import Popular
from shopguide.recommend.registry import MODEL_NAMES, LoadedModel, ModelRegistry, create_model

__all__ = [
    "ALS",
    "BPR",
    "EASE",
    "FORMAT_VERSION",
    "MODEL_NAMES",
    "Cost",
    "EASELarge",
    "FitPlan",
    "ItemKNN",
    "LoadedModel",
    "ModelRegistry",
    "Popular",
    "Recommender",
    "UserKNN",
    "create_model",
    "model_class",
    "plan_fit",
    "recommendations_frame",
    "similar_items_frame",
]
