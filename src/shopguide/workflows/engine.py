"""The heavy steps on a chosen engine: one engine object, chosen once, the same outputs.

:func:`~shopguide.engine.choose.get_engine` picks the engine (``"local"`` or ``"spark"``;
default ``$SHOPGUIDE_ENGINE``, else ``local``) and returns an object with the five steps of
:class:`~shopguide.engine.base.Engine`::

    engine = get_engine("spark", master="local[4]", mode="broadcast")
    engine.profiles(store)                       # same rows as get_engine("local").profiles
    lists = engine.item_knn(store, k=50, n=10, rules=rules)

The ``*_step`` functions below are the same calls in one line each, taking the engine name
and its settings as keywords (``engine=``, ``master=`` default ``$SHOPGUIDE_SPARK_MASTER``,
else ``local[2]``; ``workdir=``, ``mode=``, ``threshold=``, ``user_blocks=``, which only the
Spark engine uses). :func:`spark_job` runs a :class:`~shopguide.engine.spark.job.SparkJob` on
an engine data folder (Parquet in, Parquet out, no store): what ``spark-submit`` runs on a
cluster.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from shopguide.engine.base import (
    ENGINE_ENV,
    KNN_MODES,
    MASTER_ENV,
    ALSRun,
    Engine,
    KnnMode,
    check_item_knn_mode,
    check_user_knn_mode,
    resolve_engine,
    resolve_master,
)
from shopguide.engine.choose import get_engine
from shopguide.engine.spark.job import STEPS, AlsOptions, KnnOptions, SparkJob
from shopguide.recommend.rules import RuleSet
from shopguide.store.base import Store

__all__ = [
    "ENGINE_ENV",
    "KNN_MODES",
    "MASTER_ENV",
    "STEPS",
    "ALSRun",
    "AlsOptions",
    "Engine",
    "KnnOptions",
    "SparkJob",
    "als_step",
    "check_item_knn_mode",
    "check_user_knn_mode",
    "get_engine",
    "item_knn_step",
    "profiles_step",
    "resolve_engine",
    "resolve_master",
    "rfm_step",
    "spark_job",
    "user_knn_step",
]


def profiles_step(
    store: Store,
    as_of: datetime | str | None = None,
    *,
    engine: str | None = None,
    master: str | None = None,
    workdir: str | Path | None = None,
) -> dict[str, Any]:
    """``get_engine(engine, ...).profiles(store, as_of)``: a profile version in the store."""
    return get_engine(engine, master=master, workdir=workdir).profiles(store, as_of)


def rfm_step(
    store: Store,
    as_of: datetime | str | None = None,
    *,
    engine: str | None = None,
    master: str | None = None,
    workdir: str | Path | None = None,
) -> pd.DataFrame:
    """``get_engine(engine, ...).rfm(store, as_of)``: one row per buyer, sorted by user id."""
    return get_engine(engine, master=master, workdir=workdir).rfm(store, as_of)


def item_knn_step(
    store: Store,
    *,
    k: int = 50,
    n: int = 10,
    normalize: Literal["neighbours", "none"] = "neighbours",
    neighbourhood: Literal["candidate", "history"] = "candidate",
    binary: bool = False,
    rules: RuleSet | None = None,
    as_of: datetime | str | None = None,
    engine: str | None = None,
    master: str | None = None,
    mode: KnnMode = "exact",
    threshold: float = 0.1,
    workdir: str | Path | None = None,
) -> pd.DataFrame:
    """Top-``n`` item-KNN recommendations for every user: ``(user_id, rank, item_id, score)``.

    Interactions use the default event weights (:func:`shopguide.data.matrix.build_interactions`;
    ``binary=True``: 1 per pair); seen items are excluded; ``rules`` apply as in
    ``RuleSet.recommend``; ties go to the smaller item id on both engines. ``mode`` and
    ``threshold`` apply to Spark only (``"dimsum"`` is approximate; ``"broadcast"`` runs the
    local kernels in Spark tasks, :mod:`shopguide.engine.spark.broadcast`).
    """
    check_item_knn_mode(mode)
    chosen = get_engine(engine, master=master, workdir=workdir, mode=mode, threshold=threshold)
    return chosen.item_knn(
        store, k=k, n=n, normalize=normalize, neighbourhood=neighbourhood, binary=binary,
        rules=rules, as_of=as_of,
    )  # fmt: skip


def user_knn_step(
    store: Store,
    *,
    k: int = 50,
    n: int = 10,
    similarity: Literal["cosine", "asymmetric", "jaccard"] = "cosine",
    shrink: float = 0.0,
    normalize: Literal["neighbours", "rated", "none"] = "neighbours",
    binary: bool = False,
    rules: RuleSet | None = None,
    as_of: datetime | str | None = None,
    engine: str | None = None,
    master: str | None = None,
    user_blocks: int = 1,
    mode: KnnMode = "exact",
    workdir: str | Path | None = None,
) -> pd.DataFrame:
    """Top-``n`` user-KNN recommendations for every user: ``(user_id, rank, item_id, score)``.

    Same inputs and conventions as :func:`item_knn_step`; the Spark engine compares users in
    ``user_blocks`` hash blocks (the lists do not depend on it) or, with
    ``mode="broadcast"``, runs the local kernels in Spark tasks. All give the same lists and
    float32 scores.
    """
    check_user_knn_mode(mode)
    chosen = get_engine(engine, master=master, workdir=workdir, mode=mode, user_blocks=user_blocks)
    return chosen.user_knn(
        store, k=k, n=n, similarity=similarity, shrink=shrink, normalize=normalize,
        binary=binary, rules=rules, as_of=as_of,
    )  # fmt: skip


def als_step(
    events: pd.DataFrame,
    *,
    factors: int = 64,
    regularization: float = 0.01,
    alpha: float = 1.0,
    iterations: int = 15,
    random_state: int = 42,
    engine: str | None = None,
    master: str | None = None,
) -> ALSRun:
    """Fit implicit ALS on ``events`` (canonical columns) with the chosen engine.

    Both engines return a local ALS model over the sorted user and item ids (so the same
    ``recommend``, rules, ``save`` and service apply); see :mod:`shopguide.engine.spark.als`
    for how the two trainers differ.
    """
    return get_engine(engine, master=master).als(
        events, factors=factors, regularization=regularization, alpha=alpha,
        iterations=iterations, random_state=random_state,
    )  # fmt: skip


def spark_job(job: SparkJob, *, master: str | None = None) -> dict[str, Any]:
    """Run ``job`` on Spark, Parquet in and out (see :mod:`shopguide.engine.spark.job`).

    ``master`` defaults to ``$SHOPGUIDE_SPARK_MASTER``, else ``local[2]``; under
    ``spark-submit`` with neither set, the master it chose. Returns a small summary.
    """
    from shopguide.engine.spark.engine import SparkEngine

    return SparkEngine(master).run_job(job)
