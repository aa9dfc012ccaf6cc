"""A Spark job: one heavy step from an engine data folder (Parquet) to Parquet, no store.

What ``spark-submit`` runs on a cluster. The job is a small frozen value, :class:`SparkJob`,
that checks itself when made, so a bad step or mode fails before any Spark work::

    SparkJob("user-knn", "/data/shop", "/data/out", knn=KnnOptions(k=50, user_blocks=100))

:func:`run_spark_job` runs it and writes ``out_dir/<step>/``:

- ``profiles`` and ``rfm``: the frames (``as_of`` default: the latest event time);
- ``item-knn``: ``neighbours/`` and ``recommendations/`` (:attr:`KnnOptions.mode` as in
  :data:`~shopguide.engine.base.ITEM_KNN_MODES`; the join modes score in ``user_blocks`` hash
  blocks of users, to bound the shuffle);
- ``user-knn``: the same two folders, similarities and scores per hash block of users or,
  with ``mode="broadcast"``, by the local kernels in Spark tasks; ``max_item_users`` and
  ``min_co_items`` prune its pairs (:mod:`shopguide.engine.spark.userknn`; off by default);
- ``als``: ``user_factors/``, ``item_factors/``, ``recommendations/`` and a local ``model/``.

``rules`` (a local :class:`~shopguide.recommend.rules.RuleSet`, read against the folder's
items) apply to the recommendations of ``item-knn``, ``user-knn`` and ``als``; ``binary``
counts every (user, item) pair as 1.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Literal

from shopguide.data.times import naive_utc
from shopguide.engine.base import (
    KnnMode,
    check_item_knn_mode,
    check_user_knn_mode,
    resolve_master,
)
from shopguide.engine.spark.io import EngineData, read_engine_data, read_table, write_parquet
from shopguide.engine.spark.session import job_session
from shopguide.errors import ConfigError
from shopguide.recommend.rules import RuleSet

__all__ = ["STEPS", "AlsOptions", "KnnOptions", "SparkJob", "SparkStep", "run_spark_job"]

SparkStep = Literal["profiles", "rfm", "item-knn", "user-knn", "als"]
#: Steps a :class:`SparkJob` runs.
STEPS: Final[tuple[str, ...]] = ("profiles", "rfm", "item-knn", "user-knn", "als")


@dataclass(frozen=True)
class KnnOptions:
    """The neighbour options of ``item-knn`` and ``user-knn`` jobs."""

    #: Neighbours per item (item-KNN) or per user (user-KNN).
    k: int = 50
    #: ``exact``, ``dimsum`` (item-KNN only, approximate) or ``broadcast``.
    mode: KnnMode = "exact"
    #: DIMSUM similarity threshold (``mode="dimsum"``).
    threshold: float = 0.1
    #: Hash blocks of users the join modes score (and user-KNN compares) in.
    user_blocks: int = 1
    #: User-KNN: leave items bought by more users than this out of the similarity.
    max_item_users: int | None = None
    #: User-KNN: drop user pairs sharing fewer items.
    min_co_items: int = 1


@dataclass(frozen=True)
class AlsOptions:
    """The training options of an ``als`` job (MLlib implicit ALS)."""

    factors: int = 64
    regularization: float = 0.01
    alpha: float = 1.0
    iterations: int = 15


@dataclass(frozen=True)
class SparkJob:
    """One step on Spark, Parquet in and out; checked when made (:class:`ConfigError`)."""

    step: SparkStep
    #: The engine data folder (:mod:`shopguide.engine.exchange` layout).
    data_dir: Path
    #: Results go to ``out_dir/<step>/``.
    out_dir: Path
    #: Use events up to this time (default: the latest event).
    as_of: datetime | str | None = None
    #: Recommendations per user (``item-knn``, ``user-knn``, ``als``).
    n: int = 10
    #: Count every (user, item) pair as 1 instead of the event weights.
    binary: bool = False
    #: Business rules applied to the recommendations.
    rules: RuleSet | None = None
    knn: KnnOptions = field(default_factory=KnnOptions)
    als: AlsOptions = field(default_factory=AlsOptions)

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        object.__setattr__(self, "out_dir", Path(self.out_dir))
        if self.step not in STEPS:
            raise ConfigError(f"unknown step {self.step!r}", hint=f"use one of: {', '.join(STEPS)}")
        if self.step == "user-knn":
            check_user_knn_mode(self.knn.mode)
        else:
            check_item_knn_mode(self.knn.mode)

    @property
    def out(self) -> Path:
        """The folder this job writes."""
        return self.out_dir / self.step


def run_spark_job(job: SparkJob, *, master: str | None = None) -> dict[str, Any]:
    """Run ``job`` on Spark (``master`` as in :func:`~shopguide.engine.base.resolve_master`).

    Returns ``{"step", "master", "out", "seconds"}`` (and ``"as_of"`` for profiles and RFM).
    """
    started = time.perf_counter()
    data = read_engine_data(job_session(master), job.data_dir)
    stamp = data.latest_event_time() if job.as_of is None else naive_utc(job.as_of).to_pydatetime()
    summary: dict[str, Any] = {
        "step": job.step,
        "master": resolve_master(master),
        "out": str(job.out),
    }
    _RUNNERS[job.step](job, data, stamp)
    if job.step in ("profiles", "rfm"):
        summary["as_of"] = stamp.isoformat(sep=" ")
    summary["seconds"] = round(time.perf_counter() - started, 3)
    return summary


def _profiles(job: SparkJob, data: EngineData, stamp: datetime) -> None:
    from shopguide.engine.spark.profiles import spark_profiles

    write_parquet(spark_profiles(data, stamp), job.out)


def _rfm(job: SparkJob, data: EngineData, stamp: datetime) -> None:
    from shopguide.engine.spark.rfm import spark_rfm_table

    write_parquet(spark_rfm_table(data, stamp), job.out)


def _item_knn(job: SparkJob, data: EngineData, stamp: datetime) -> None:
    from shopguide.engine.spark.knn import item_neighbours, recommend_blockwise, spark_interactions

    knn, out = job.knn, job.out
    inter = spark_interactions(data.events_until(stamp), binary=job.binary).cache()
    if knn.mode == "broadcast":
        from shopguide.engine.spark.broadcast import item_knn_broadcast

        item_knn_broadcast(inter, knn.k, job.n, rules=job.rules, items=data.items).write(out)
    else:
        neighbours = item_neighbours(inter, knn.k, mode=knn.mode, threshold=knn.threshold)
        write_parquet(neighbours, out / "neighbours")
        # read the written neighbours back: the scoring blocks reuse them, not recompute
        written = read_table(data.events.sparkSession, out / "neighbours")
        recommend_blockwise(
            inter, written, out / "recommendations", job.n, blocks=knn.user_blocks,
            rules=job.rules, items=data.items,
        )  # fmt: skip
    inter.unpersist()


def _user_knn(job: SparkJob, data: EngineData, stamp: datetime) -> None:
    from shopguide.engine.spark.knn import spark_interactions
    from shopguide.engine.spark.userknn import user_knn_blockwise

    knn, out = job.knn, job.out
    inter = spark_interactions(data.events_until(stamp), binary=job.binary).cache()
    if knn.mode == "broadcast":
        from shopguide.engine.spark.broadcast import user_knn_broadcast

        user_knn_broadcast(inter, knn.k, job.n, rules=job.rules, items=data.items).write(out)
    else:
        user_knn_blockwise(
            inter, out, k=knn.k, n=job.n, blocks=knn.user_blocks, rules=job.rules,
            items=data.items, max_item_users=knn.max_item_users, min_co_items=knn.min_co_items,
        )  # fmt: skip
    inter.unpersist()


def _als(job: SparkJob, data: EngineData, stamp: datetime) -> None:
    from shopguide.engine.spark.als import fit_spark_als, recommend_all_als
    from shopguide.engine.spark.knn import spark_interactions

    options, out = job.als, job.out
    result = fit_spark_als(
        spark_interactions(data.events_until(stamp), binary=job.binary),
        factors=options.factors,
        regularization=options.regularization,
        alpha=options.alpha,
        iterations=options.iterations,
    )
    write_parquet(result.spark_model.userFactors, out / "user_factors")
    write_parquet(result.spark_model.itemFactors, out / "item_factors")
    recommendations = recommend_all_als(result, job.n, rules=job.rules, items=data.items)
    write_parquet(recommendations, out / "recommendations")
    model_dir = result.model.save(out / "model")
    result.users.save(model_dir / "users.npz")
    result.items.save(model_dir / "items.npz")


_RUNNERS: Final = {
    "profiles": _profiles,
    "rfm": _rfm,
    "item-knn": _item_knn,
    "user-knn": _user_knn,
    "als": _als,
}
