"""Evaluation: ranking metrics over the full catalogue, model evaluation on a split,
cross-validated grid / random search (K and N included), and model comparison with evidence.

Splitters live in :mod:`shopguide.data.split`; definitions of every metric and splitter are in
``docs/metrics.md``.
"""

from __future__ import annotations

from shopguide.evaluate.compare import Comparison, compare_models, markdown_table
from shopguide.evaluate.evaluator import (
    EvaluationResult,
    RecommenderLike,
    TestRelevance,
    build_test_relevance,
    evaluate_model,
    evaluate_recommender,
)
from shopguide.evaluate.metrics import MetricsReport, compute_metrics
from shopguide.evaluate.tuning import TuningResult, parameter_settings, training_matrix, tune

__all__ = [
    "Comparison",
    "EvaluationResult",
    "MetricsReport",
    "RecommenderLike",
    "TestRelevance",
    "TuningResult",
    "build_test_relevance",
    "compare_models",
    "compute_metrics",
    "evaluate_model",
    "evaluate_recommender",
    "markdown_table",
    "parameter_settings",
    "training_matrix",
    "tune",
]
