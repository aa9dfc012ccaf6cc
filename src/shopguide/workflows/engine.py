"""Engine selection: the heavy steps on the local engine or on Spark, same inputs and outputs.

One function per heavy step; each takes ``engine="local" | "spark"`` (default: the
``SHOPGUIDE_ENGINE`` environment variable, else ``local``) and ``master`` (default:
``SHOPGUIDE_SPARK_MASTER``, else ``local[2]``):

========================  ====================================  ================================
step                      local engine                          Spark engine
========================  ====================================  ================================
:func:`profiles_step`     ``profiles.build_profiles``           Spark SQL, rows loaded into the
                                                                store's ``profiles`` table
:func:`rfm_step`          ``analytics.rfm.rfm_table``           Spark SQL, same frame
:func:`item_knn_step`     ``recommend.ItemKNN`` + ``recommend``  join-based cosine + top-N
:func:`user_knn_step`     ``recommend.UserKNN`` + ``recommend``  blockwise user cosine + top-N
:func:`als_step`          ``recommend.mf.ALS`` (implicit)        MLlib implicit ALS
========================  ====================================  ================================

The recommendation steps take an optional :class:`~shopguide.recommend.rules.RuleSet`: the
local engine applies it with ``RuleSet.recommend``, the Spark engine with the same rules
translated to Spark columns (:mod:`shopguide.engine.spark.rules`); the lists are equal.

Store-based steps export the store to date-partitioned Parquet in a work folder first
(:func:`shopguide.engine.export_store`). :func:`spark_job` runs a step on an engine data
folder (Parquet, no store) and writes the result as Parquet: what ``spark-submit`` runs on a
cluster.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import pandas as pd

from shopguide.columns import Columns
from shopguide.data.idmap import IdMap
from shopguide.data.matrix import build_interactions
from shopguide.engine import EngineName, check_engine, export_store, import_parquet
from shopguide.engine.exchange import parquet_glob
from shopguide.errors import ConfigError
from shopguide.profiles import build_profiles, default_as_of, ensure_profile_tables
from shopguide.recommend.base import Recommender
from shopguide.recommend.knn import ItemKNN, UserKNN
from shopguide.recommend.mf import ALS
from shopguide.recommend.rules import ItemCatalog, RuleSet
from shopguide.store.base import Store

__all__ = [
    "ENGINE_ENV",
    "MASTER_ENV",
    "STEPS",
    "ALSRun",
    "als_step",
    "item_knn_step",
    "profiles_step",
    "resolve_engine",
    "resolve_master",
    "rfm_step",
    "spark_job",
    "user_knn_step",
]

#: Environment variable choosing the default engine (``local`` or ``spark``).
ENGINE_ENV: Final = "SHOPGUIDE_ENGINE"
#: Environment variable with the default Spark master URL.
MASTER_ENV: Final = "SHOPGUIDE_SPARK_MASTER"
#: Steps :func:`spark_job` runs.
STEPS: Final = ("profiles", "rfm", "item-knn", "user-knn", "als")
#: How Spark computes item-KNN: ``exact`` DataFrame joins, ``dimsum`` MLlib sampling
#: (approximate), ``broadcast`` the local kernels in Spark tasks over a broadcast matrix.
KNN_MODES: Final = ("exact", "dimsum", "broadcast")
KnnMode = Literal["exact", "dimsum", "broadcast"]
RECOMMENDATION_COLUMNS: Final = ["user_id", "rank", "item_id", "score"]


def resolve_engine(engine: str | None = None) -> EngineName:
    """``engine``, else ``$SHOPGUIDE_ENGINE``, else ``"local"`` (validated)."""
    return check_engine(engine or os.environ.get(ENGINE_ENV) or "local")


def resolve_master(master: str | None = None) -> str:
    """``master``, else ``$SHOPGUIDE_SPARK_MASTER``, else ``local[2]``."""
    return master or os.environ.get(MASTER_ENV) or "local[2]"


def _session(master: str | None) -> Any:
    from shopguide.engine.spark.session import spark_session

    if master is None and not os.environ.get(MASTER_ENV) and "PYSPARK_GATEWAY_PORT" in os.environ:
        return spark_session(None)  # launched by spark-submit: keep its --master
    return spark_session(resolve_master(master))


@contextmanager
def _workdir(workdir: str | Path | None) -> Iterator[Path]:
    if workdir is not None:
        folder = Path(workdir)
        folder.mkdir(parents=True, exist_ok=True)
        yield folder
        return
    folder = Path(tempfile.mkdtemp(prefix="shopguide-spark-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _check_user_knn_mode(mode: str) -> None:
    if mode not in ("exact", "broadcast"):
        raise ConfigError(
            f"unknown user-KNN mode {mode!r}", hint="use exact (blockwise joins) or broadcast"
        )


def _check_knn_mode(mode: str) -> None:
    if mode not in KNN_MODES:
        raise ConfigError(
            f"unknown item-KNN mode {mode!r}", hint=f"use one of: {', '.join(KNN_MODES)}"
        )


def _as_of(store: Store, as_of: datetime | str | None) -> datetime:
    return default_as_of(store) if as_of is None else _naive(as_of)


def _naive(as_of: datetime | str) -> datetime:
    """A timestamp as naive UTC."""
    ts = pd.Timestamp(as_of)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.to_pydatetime()


def _read_parquet(path: Path) -> pd.DataFrame:
    import duckdb

    with duckdb.connect() as con:
        return con.execute(f"SELECT * FROM read_parquet('{parquet_glob(path)}')").df()


# --- profiles -----------------------------------------------------------------------------
def profiles_step(
    store: Store,
    as_of: datetime | str | None = None,
    *,
    engine: str | None = None,
    master: str | None = None,
    workdir: str | Path | None = None,
) -> dict[str, Any]:
    """Build the profile version ``as_of`` into the store's ``profiles`` table.

    The Spark engine writes the same rows as the local build (tested). It fills only the
    ``profiles`` table, not the per-user aggregate tables an incremental
    ``update_profiles`` starts from, so it records no entry in ``profile_builds``; read the
    result with :func:`shopguide.profiles.load_profiles` as usual.
    """
    chosen = resolve_engine(engine)
    stamp = _as_of(store, as_of)
    started = time.perf_counter()
    if chosen == "local":
        result = build_profiles(store, stamp)
        users = result.users
    else:
        from shopguide.engine.spark.io import read_engine_data, write_parquet
        from shopguide.engine.spark.profiles import spark_profiles

        ensure_profile_tables(store)
        with _workdir(workdir) as work:
            layout = export_store(store, work / "data")
            spark = _session(master)
            out = write_parquet(
                spark_profiles(read_engine_data(spark, layout.directory), stamp), work / "profiles"
            )
            users = import_parquet(
                store,
                "profiles",
                out,
                delete_where=f"as_of = TIMESTAMP '{stamp.isoformat(sep=' ')}'",
            )
    return {
        "engine": chosen,
        "as_of": stamp.isoformat(sep=" "),
        "users": int(users),
        "seconds": round(time.perf_counter() - started, 3),
    }


# --- RFM ----------------------------------------------------------------------------------
def rfm_step(
    store: Store,
    as_of: datetime | str | None = None,
    *,
    engine: str | None = None,
    master: str | None = None,
    workdir: str | Path | None = None,
) -> pd.DataFrame:
    """The RFM table (one row per buyer, sorted by user id) on the chosen engine."""
    chosen = resolve_engine(engine)
    stamp = _as_of(store, as_of)
    if chosen == "local":
        from shopguide.analytics.rfm import rfm_table

        return rfm_table(store, stamp)
    from shopguide.engine.spark.io import read_engine_data, write_parquet
    from shopguide.engine.spark.rfm import spark_rfm_table

    with _workdir(workdir) as work:
        layout = export_store(store, work / "data")
        spark = _session(master)
        out = write_parquet(
            spark_rfm_table(read_engine_data(spark, layout.directory), stamp), work / "rfm"
        )
        frame = _read_parquet(out)
    return frame.sort_values("user_id").reset_index(drop=True)


# --- item-KNN -----------------------------------------------------------------------------
def _events_frame(store: Store, as_of: datetime | None) -> pd.DataFrame:
    where = 'WHERE "timestamp" <= $as_of' if as_of is not None else ""
    return store.query_df(
        f'SELECT user_id, item_id, event_type, "timestamp", quantity FROM events {where}',
        {"as_of": as_of} if as_of is not None else None,
    )


def recommendations_frame(
    ids: np.ndarray, scores: np.ndarray, users: IdMap, items: IdMap, user_rows: np.ndarray
) -> pd.DataFrame:
    """Padded ``(ids, scores)`` arrays as ``(user_id, rank, item_id, score)`` rows."""
    valid = ids >= 0
    row_idx, pos = np.nonzero(valid)
    return pd.DataFrame(
        {
            "user_id": users.external_ids[user_rows[row_idx]],
            "rank": (pos + 1).astype("int64"),
            "item_id": items.external_ids[ids[valid]],
            "score": scores[valid].astype("float64"),
        }
    )


def _local_top_n(
    store: Store, model: Recommender, inter: Any, n: int, rules: RuleSet | None
) -> pd.DataFrame:
    """Top-``n`` for every user of ``inter`` with the local model (and rules)."""
    rows = np.arange(inter.matrix.shape[0])
    if rules is not None and rules.rules:
        items = store.query_df("SELECT item_id, title, category, brand, price, in_stock FROM items")
        catalog = ItemCatalog.from_frame(items, inter.items)
        ids, scores = rules.recommend(model, rows, inter.matrix, catalog, n=n)
    else:
        ids, scores = model.recommend(rows, inter.matrix, n=n)
    frame = recommendations_frame(ids, scores, inter.users, inter.items, rows)
    return frame.sort_values(["user_id", "rank"]).reset_index(drop=True)


def _local_interactions(store: Store, stamp: datetime | None, binary: bool) -> Any:
    from shopguide.data.matrix import Interactions

    inter = build_interactions(_events_frame(store, stamp))
    return Interactions(inter.binary(), inter.users, inter.items) if binary else inter


def _spark_inputs(
    store: Store, work: Path, master: str | None, stamp: datetime | None, binary: bool
) -> tuple[Any, Any]:
    """Export the store's events and items, read them on Spark: (interactions, items)."""
    from shopguide.engine.spark.io import read_engine_data
    from shopguide.engine.spark.knn import spark_interactions

    layout = export_store(store, work / "data", tables=("events", "items"))
    spark = _session(master)
    data = read_engine_data(spark, layout.directory)
    events = data.events if stamp is None else data.events_until(stamp)
    return spark_interactions(events, binary=binary), data.items


def _frame_of(path: Path) -> pd.DataFrame:
    frame = _read_parquet(path)
    return frame[RECOMMENDATION_COLUMNS].sort_values(["user_id", "rank"]).reset_index(drop=True)


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
    chosen = resolve_engine(engine)
    _check_knn_mode(mode)
    stamp = None if as_of is None else _as_of(store, as_of)
    if chosen == "local":
        if mode == "dimsum":
            raise ConfigError(
                "the local engine computes exact neighbours only",
                hint="drop --mode dimsum, or use --engine spark",
            )
        inter = _local_interactions(store, stamp, binary)
        model = ItemKNN(k=k, normalize=normalize, neighbourhood=neighbourhood).fit(inter.matrix)
        return _local_top_n(store, model, inter, n, rules)
    from shopguide.engine.spark.io import write_parquet
    from shopguide.engine.spark.knn import item_neighbours, recommend_all

    with _workdir(workdir) as work:
        inter, items = _spark_inputs(store, work, master, stamp, binary)
        inter = inter.cache()
        if mode == "broadcast":
            from shopguide.engine.spark.broadcast import item_knn_broadcast

            recommendations = item_knn_broadcast(
                inter, k, n, normalize=normalize, neighbourhood=neighbourhood, rules=rules,
                items=items,
            ).recommendations  # fmt: skip
        else:
            neighbours = item_neighbours(inter, k, mode=mode, threshold=threshold)
            recommendations = recommend_all(
                inter, neighbours, n, normalize=normalize, neighbourhood=neighbourhood,
                rules=rules, items=items,
            )  # fmt: skip
        out = write_parquet(recommendations, work / "recommendations")
        frame = _frame_of(out)
        inter.unpersist()
    return frame


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

    Same inputs and conventions as :func:`item_knn_step`; the local engine fits
    :class:`~shopguide.recommend.UserKNN`, the Spark engine runs the blockwise job of
    :mod:`shopguide.engine.spark.userknn` in ``user_blocks`` hash blocks of users (Spark
    only; the lists do not depend on it), or with ``mode="broadcast"`` the local kernels in
    Spark tasks. All give the same lists and float32 scores.
    """
    chosen = resolve_engine(engine)
    _check_user_knn_mode(mode)
    stamp = None if as_of is None else _as_of(store, as_of)
    if chosen == "local":
        inter = _local_interactions(store, stamp, binary)
        model = UserKNN(k=k, similarity=similarity, shrink=shrink, normalize=normalize)
        return _local_top_n(store, model.fit(inter.matrix), inter, n, rules)
    from shopguide.engine.spark.io import write_parquet
    from shopguide.engine.spark.userknn import user_knn_blockwise

    with _workdir(workdir) as work:
        inter, items = _spark_inputs(store, work, master, stamp, binary)
        inter = inter.cache()
        if mode == "broadcast":
            from shopguide.engine.spark.broadcast import user_knn_broadcast

            knn = user_knn_broadcast(
                inter, k, n, similarity=similarity, shrink=shrink, normalize=normalize,
                rules=rules, items=items,
            )  # fmt: skip
            out = write_parquet(knn.recommendations, work / "user-knn" / "recommendations")
            knn.neighbours.unpersist()
        else:
            out = user_knn_blockwise(
                inter, work / "user-knn", k=k, n=n, blocks=user_blocks, similarity=similarity,
                shrink=shrink, normalize=normalize, rules=rules, items=items,
            ) / "recommendations"  # fmt: skip
        frame = _frame_of(out)
        inter.unpersist()
    return frame


# --- ALS ----------------------------------------------------------------------------------
@dataclass
class ALSRun:
    """A fitted ALS (a local :class:`~shopguide.recommend.mf.ALS`, whoever trained it)."""

    engine: str
    model: ALS
    users: IdMap
    items: IdMap
    seconds: float
    #: The Spark run's :class:`~shopguide.engine.spark.als.SparkALSResult` (MLlib model,
    #: for batch top-N on the cluster with ``recommend_all_als``); ``None`` locally.
    spark: Any = None


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
    ``recommend``, rules, ``save`` and service apply); see
    :mod:`shopguide.engine.spark.als` for how the two trainers differ.
    """
    chosen = resolve_engine(engine)
    started = time.perf_counter()
    if chosen == "local":
        inter = build_interactions(events)
        model = ALS(
            factors=factors,
            regularization=regularization,
            alpha=alpha,
            iterations=iterations,
            random_state=random_state,
        ).fit(inter.matrix)
        return ALSRun(chosen, model, inter.users, inter.items, time.perf_counter() - started)
    from shopguide.engine.spark.als import fit_spark_als
    from shopguide.engine.spark.knn import spark_interactions

    spark = _session(master)
    # strengths need ids and event types only (no decay here), which also avoids PySpark
    # reading naive datetimes in the Python process's local zone
    cols = [Columns.USER_ID, Columns.ITEM_ID, Columns.EVENT_TYPE]
    frame = events[cols].astype(str)
    sdf = spark.createDataFrame(
        list(frame.itertuples(index=False, name=None)),
        "user_id STRING, item_id STRING, event_type STRING",
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
    return ALSRun(chosen, result.model, result.users, result.items, seconds, spark=result)


# --- Parquet in, Parquet out ----------------------------------------------------------------
def spark_job(
    step: str,
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    master: str | None = None,
    as_of: datetime | str | None = None,
    k: int = 50,
    n: int = 10,
    mode: KnnMode = "exact",
    threshold: float = 0.1,
    user_blocks: int = 1,
    factors: int = 64,
    regularization: float = 0.01,
    alpha: float = 1.0,
    iterations: int = 15,
    binary: bool = False,
    rules: RuleSet | None = None,
    max_item_users: int | None = None,
    min_co_items: int = 1,
) -> dict[str, Any]:
    """Run one step on Spark from an engine data folder to ``out_dir/<step>/`` (Parquet).

    ``profiles`` and ``rfm`` use ``as_of`` (default: the latest event time); ``item-knn``
    writes ``neighbours/`` and ``recommendations/`` (``mode`` as in :data:`KNN_MODES`; the
    join modes score in ``user_blocks`` hash blocks of users, to bound the shuffle);
    ``user-knn`` writes the same two folders, similarities and scores computed per hash
    block of users (``user_blocks``) or, with ``mode="broadcast"``, by the local kernels in
    Spark tasks; ``als`` writes
    ``user_factors/``, ``item_factors/`` and ``recommendations/``. ``rules`` (a local
    :class:`~shopguide.recommend.rules.RuleSet`, read against the folder's items) apply to
    the recommendations of ``item-knn``, ``user-knn`` and ``als``; ``binary`` counts every
    (user, item) pair as 1. ``max_item_users`` and ``min_co_items`` prune user-KNN's pairs
    (:mod:`shopguide.engine.spark.userknn`; off by default). Returns a small summary.
    """
    if step not in STEPS:
        raise ConfigError(f"unknown step {step!r}", hint=f"use one of: {', '.join(STEPS)}")
    (_check_user_knn_mode if step == "user-knn" else _check_knn_mode)(mode)
    from shopguide.engine.spark.io import read_engine_data, read_table, write_parquet

    started = time.perf_counter()
    spark = _session(master)
    data = read_engine_data(spark, data_dir)
    out = Path(out_dir) / step
    stamp = data.latest_event_time() if as_of is None else _naive(as_of)
    summary: dict[str, Any] = {"step": step, "master": resolve_master(master), "out": str(out)}
    if step == "profiles":
        from shopguide.engine.spark.profiles import spark_profiles

        write_parquet(spark_profiles(data, stamp), out)
        summary["as_of"] = stamp.isoformat(sep=" ")
    elif step == "rfm":
        from shopguide.engine.spark.rfm import spark_rfm_table

        write_parquet(spark_rfm_table(data, stamp), out)
        summary["as_of"] = stamp.isoformat(sep=" ")
    elif step == "item-knn":
        from shopguide.engine.spark.knn import (
            item_neighbours,
            recommend_blockwise,
            spark_interactions,
        )

        inter = spark_interactions(data.events_until(stamp), binary=binary).cache()
        if mode == "broadcast":
            from shopguide.engine.spark.broadcast import item_knn_broadcast

            item_knn_broadcast(inter, k, n, rules=rules, items=data.items).write(out)
        else:
            write_parquet(
                item_neighbours(inter, k, mode=mode, threshold=threshold), out / "neighbours"
            )
            # read the written neighbours back: the scoring blocks reuse them, not recompute
            neighbours = read_table(data.events.sparkSession, out / "neighbours")
            recommend_blockwise(
                inter, neighbours, out / "recommendations", n, blocks=user_blocks, rules=rules,
                items=data.items,
            )  # fmt: skip
        inter.unpersist()
    elif step == "user-knn":
        from shopguide.engine.spark.knn import spark_interactions
        from shopguide.engine.spark.userknn import user_knn_blockwise

        inter = spark_interactions(data.events_until(stamp), binary=binary).cache()
        if mode == "broadcast":
            from shopguide.engine.spark.broadcast import user_knn_broadcast

            user_knn_broadcast(inter, k, n, rules=rules, items=data.items).write(out)
        else:
            user_knn_blockwise(
                inter, out, k=k, n=n, blocks=user_blocks, rules=rules, items=data.items,
                max_item_users=max_item_users, min_co_items=min_co_items,
            )  # fmt: skip
        inter.unpersist()
    else:
        from shopguide.engine.spark.als import fit_spark_als, recommend_all_als
        from shopguide.engine.spark.knn import spark_interactions

        result = fit_spark_als(
            spark_interactions(data.events_until(stamp), binary=binary),
            factors=factors,
            regularization=regularization,
            alpha=alpha,
            iterations=iterations,
        )
        write_parquet(result.spark_model.userFactors, out / "user_factors")
        write_parquet(result.spark_model.itemFactors, out / "item_factors")
        write_parquet(
            recommend_all_als(result, n, rules=rules, items=data.items), out / "recommendations"
        )
        model_dir = result.model.save(out / "model")
        result.users.save(model_dir / "users.npz")
        result.items.save(model_dir / "items.npz")
    summary["seconds"] = round(time.perf_counter() - started, 3)
    return summary
