"""The Spark engine: the five heavy steps of :class:`~shopguide.engine.base.Engine` on Spark.

A store-based step exports the store to date-partitioned Parquet in a work folder
(:func:`shopguide.engine.export_store`), runs the Spark job on it and reads the result back:

=============  ==============================================================================
step           runs
=============  ==============================================================================
``profiles``   the profile SQL (:mod:`~shopguide.engine.spark.profiles`); rows loaded into the
               store's ``profiles`` table
``rfm``        :func:`~shopguide.engine.spark.rfm.spark_rfm_table`, the same frame
``item_knn``   join-based cosine + top-N, DIMSUM, or the local kernels in Spark tasks
``user_knn``   blockwise user cosine + top-N, or the local kernels in Spark tasks
``als``        MLlib implicit ALS, handed back as a local model
=============  ==============================================================================

Business rules apply as Spark columns (:mod:`shopguide.engine.spark.rules`); the lists equal
the local engine's. :meth:`SparkEngine.run_job` runs a :class:`~shopguide.engine.spark.job.
SparkJob` (Parquet in, Parquet out, no store).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from shopguide.columns import EVENTS, Columns
from shopguide.engine.base import (
    RECOMMENDATION_COLUMNS,
    ALSRun,
    KnnMode,
    check_item_knn_mode,
    check_user_knn_mode,
    store_as_of,
)
from shopguide.engine.exchange import EngineName, export_store, import_parquet, parquet_glob
from shopguide.engine.spark.io import read_engine_data, write_parquet
from shopguide.engine.spark.job import SparkJob, run_spark_job
from shopguide.engine.spark.session import job_session
from shopguide.profiles import ensure_profile_tables
from shopguide.recommend.rules import RuleSet
from shopguide.schema import spark_ddl
from shopguide.store.base import Store

__all__ = ["SparkEngine"]


class SparkEngine:
    """The heavy steps as Spark jobs.

    Parameters
    ----------
    master:
        Spark master URL (default ``$SHOPGUIDE_SPARK_MASTER``, else ``local[2]``; under
        ``spark-submit`` with neither, its own master).
    workdir:
        Folder for the exported store and the results (default: a temporary folder,
        removed after each step).
    mode:
        How KNN runs: ``exact`` (DataFrame joins), ``dimsum`` (item-KNN only, approximate)
        or ``broadcast`` (the local kernels in Spark tasks).
    threshold:
        DIMSUM similarity threshold.
    user_blocks:
        User-KNN compares and scores users in this many hash blocks (the lists do not
        depend on it).
    """

    name: EngineName = "spark"

    def __init__(
        self,
        master: str | None = None,
        workdir: str | Path | None = None,
        *,
        mode: KnnMode = "exact",
        threshold: float = 0.1,
        user_blocks: int = 1,
    ) -> None:
        check_item_knn_mode(mode)
        self.master = master
        self.workdir = None if workdir is None else Path(workdir)
        self.mode: KnnMode = mode
        self.threshold = threshold
        self.user_blocks = user_blocks

    def __repr__(self) -> str:
        return (
            f"SparkEngine(master={self.master!r}, workdir={self.workdir!r}, mode={self.mode!r}, "
            f"threshold={self.threshold!r}, user_blocks={self.user_blocks!r})"
        )

    # --- store-based steps ----------------------------------------------------------------
    def profiles(self, store: Store, as_of: datetime | str | None = None) -> dict[str, Any]:
        """Build the profile version ``as_of`` on Spark into the store's ``profiles`` table.

        Writes the same rows as the local build (tested). It fills only the ``profiles``
        table, not the per-user aggregate tables an incremental ``update_profiles`` starts
        from, so it records no entry in ``profile_builds``; read the result with
        :func:`shopguide.profiles.load_profiles` as usual.
        """
        from shopguide.engine.spark.profiles import spark_profiles

        stamp = store_as_of(store, as_of)
        started = time.perf_counter()
        ensure_profile_tables(store)
        with self._work() as work:
            layout = export_store(store, work / "data")
            data = read_engine_data(job_session(self.master), layout.directory)
            out = write_parquet(spark_profiles(data, stamp), work / "profiles")
            users = import_parquet(
                store,
                "profiles",
                out,
                delete_where=f"as_of = TIMESTAMP '{stamp.isoformat(sep=' ')}'",
            )
        return {
            "engine": self.name,
            "as_of": stamp.isoformat(sep=" "),
            "users": int(users),
            "seconds": round(time.perf_counter() - started, 3),
        }

    def rfm(self, store: Store, as_of: datetime | str | None = None) -> pd.DataFrame:
        """:func:`~shopguide.engine.spark.rfm.spark_rfm_table`, sorted by user id."""
        from shopguide.engine.spark.rfm import spark_rfm_table

        stamp = store_as_of(store, as_of)
        with self._work() as work:
            layout = export_store(store, work / "data")
            data = read_engine_data(job_session(self.master), layout.directory)
            frame = _read_parquet(write_parquet(spark_rfm_table(data, stamp), work / "rfm"))
        return frame.sort_values("user_id").reset_index(drop=True)

    def item_knn(
        self,
        store: Store,
        *,
        k: int = 50,
        n: int = 10,
        normalize: Literal["neighbours", "none"] = "neighbours",
        neighbourhood: Literal["candidate", "history"] = "candidate",
        binary: bool = False,
        rules: RuleSet | None = None,
        as_of: datetime | str | None = None,
    ) -> pd.DataFrame:
        """Item neighbours and top-``n`` for every user (ties to the smaller item id)."""
        from shopguide.engine.spark.knn import item_neighbours, recommend_all

        stamp = None if as_of is None else store_as_of(store, as_of)
        with self._work() as work:
            inter, items = self._inputs(store, work, stamp, binary)
            if self.mode == "broadcast":
                from shopguide.engine.spark.broadcast import item_knn_broadcast

                recommendations = item_knn_broadcast(
                    inter, k, n, normalize=normalize, neighbourhood=neighbourhood, rules=rules,
                    items=items,
                ).recommendations  # fmt: skip
            else:
                neighbours = item_neighbours(inter, k, mode=self.mode, threshold=self.threshold)
                recommendations = recommend_all(
                    inter, neighbours, n, normalize=normalize, neighbourhood=neighbourhood,
                    rules=rules, items=items,
                )  # fmt: skip
            frame = _lists(write_parquet(recommendations, work / "recommendations"))
            inter.unpersist()
        return frame

    def user_knn(
        self,
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
    ) -> pd.DataFrame:
        """The blockwise user-KNN job (``user_blocks``), or the broadcast kernels."""
        from shopguide.engine.spark.userknn import user_knn_blockwise

        check_user_knn_mode(self.mode)
        stamp = None if as_of is None else store_as_of(store, as_of)
        with self._work() as work:
            inter, items = self._inputs(store, work, stamp, binary)
            if self.mode == "broadcast":
                from shopguide.engine.spark.broadcast import user_knn_broadcast

                knn = user_knn_broadcast(
                    inter, k, n, similarity=similarity, shrink=shrink, normalize=normalize,
                    rules=rules, items=items,
                )  # fmt: skip
                out = write_parquet(knn.recommendations, work / "user-knn" / "recommendations")
                knn.neighbours.unpersist()
            else:
                out = user_knn_blockwise(
                    inter, work / "user-knn", k=k, n=n, blocks=self.user_blocks,
                    similarity=similarity, shrink=shrink, normalize=normalize, rules=rules,
                    items=items,
                ) / "recommendations"  # fmt: skip
            frame = _lists(out)
            inter.unpersist()
        return frame

    # --- frame-based step -----------------------------------------------------------------
    def als(
        self,
        events: pd.DataFrame,
        *,
        factors: int = 64,
        regularization: float = 0.01,
        alpha: float = 1.0,
        iterations: int = 15,
        random_state: int = 42,
    ) -> ALSRun:
        """MLlib implicit ALS; see :mod:`shopguide.engine.spark.als` for how it differs."""
        from shopguide.engine.spark.als import fit_spark_als
        from shopguide.engine.spark.knn import spark_interactions

        started = time.perf_counter()
        spark = job_session(self.master)
        # strengths need ids and event types only (no decay here), which also avoids PySpark
        # reading naive datetimes in the Python process's local zone
        cols = [Columns.USER_ID, Columns.ITEM_ID, Columns.EVENT_TYPE]
        frame = events[cols].astype(str)
        sdf = spark.createDataFrame(
            list(frame.itertuples(index=False, name=None)),
            spark_ddl(EVENTS, cols),
        )
        result = fit_spark_als(
            spark_interactions(sdf),
            factors=factors,
            regularization=regularization,
            alpha=alpha,
            iterations=iterations,
            random_state=random_state,
        )
        seconds = time.perf_counter() - started
        return ALSRun(self.name, result.model, result.users, result.items, seconds, spark=result)

    # --- Parquet in, Parquet out ----------------------------------------------------------
    def run_job(self, job: SparkJob) -> dict[str, Any]:
        """Run ``job`` on this engine's master (see :mod:`shopguide.engine.spark.job`)."""
        return run_spark_job(job, master=self.master)

    # --- helpers --------------------------------------------------------------------------
    @contextmanager
    def _work(self) -> Iterator[Path]:
        if self.workdir is not None:
            self.workdir.mkdir(parents=True, exist_ok=True)
            yield self.workdir
            return
        folder = Path(tempfile.mkdtemp(prefix="shopguide-spark-"))
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _inputs(
        self, store: Store, work: Path, stamp: datetime | None, binary: bool
    ) -> tuple[Any, Any]:
        """Export the store's events and items, read them on Spark: (cached interactions, items)."""
        from shopguide.engine.spark.knn import spark_interactions

        layout = export_store(store, work / "data", tables=("events", "items"))
        data = read_engine_data(job_session(self.master), layout.directory)
        events = data.events if stamp is None else data.events_until(stamp)
        return spark_interactions(events, binary=binary).cache(), data.items


def _read_parquet(path: Path) -> pd.DataFrame:
    import duckdb

    with duckdb.connect() as con:
        return con.execute(f"SELECT * FROM read_parquet('{parquet_glob(path)}')").df()


def _lists(path: Path) -> pd.DataFrame:
    frame = _read_parquet(path)
    return frame[RECOMMENDATION_COLUMNS].sort_values(["user_id", "rank"]).reset_index(drop=True)
