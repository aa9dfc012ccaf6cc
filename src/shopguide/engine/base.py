"""The engine protocol: the five heavy steps every engine runs, with the same inputs and outputs.

An :class:`Engine` is chosen once (:func:`shopguide.engine.get_engine`) and then asked for
steps; nothing downstream asks which engine it holds. Two implementations exist:

- :class:`~shopguide.engine.local.LocalEngine`: the domain packages on DuckDB and scipy;
- :class:`~shopguide.engine.spark.engine.SparkEngine`: the same definitions as Spark jobs
  (the only implementation that imports :mod:`pyspark`, lazily).

==============  ====================================  ==========================================
method          input                                 output
==============  ====================================  ==========================================
``profiles``    a store, ``as_of``                    a summary; rows in the store's ``profiles``
``rfm``         a store, ``as_of``                    the RFM frame, one row per buyer
``item_knn``    a store, model options, rules         ``(user_id, rank, item_id, score)`` rows
``user_knn``    a store, model options, rules         ``(user_id, rank, item_id, score)`` rows
``als``         an events frame, ALS options          :class:`ALSRun` (a local ALS model)
==============  ====================================  ==========================================

This module also holds what both engines and the workflow layer share: the environment
variables that set the defaults and the validation of KNN modes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal, Protocol, cast, runtime_checkable

import pandas as pd

from shopguide.data.idmap import IdMap
from shopguide.data.times import naive_utc
from shopguide.engine.exchange import EngineName, check_engine
from shopguide.errors import ConfigError
from shopguide.profiles import default_as_of
from shopguide.recommend.mf import ALS
from shopguide.recommend.rules import RuleSet
from shopguide.store.base import Store

__all__ = [
    "ENGINE_ENV",
    "ITEM_KNN_MODES",
    "KNN_MODES",
    "MASTER_ENV",
    "RECOMMENDATION_COLUMNS",
    "USER_KNN_MODES",
    "ALSRun",
    "Engine",
    "KnnMode",
    "check_item_knn_mode",
    "check_user_knn_mode",
    "resolve_engine",
    "resolve_master",
    "store_as_of",
]

#: Environment variable choosing the default engine (``local`` or ``spark``).
ENGINE_ENV: Final = "SHOPGUIDE_ENGINE"
#: Environment variable with the default Spark master URL.
MASTER_ENV: Final = "SHOPGUIDE_SPARK_MASTER"
KnnMode = Literal["exact", "dimsum", "broadcast"]
#: How Spark computes item-KNN: ``exact`` DataFrame joins, ``dimsum`` MLlib sampling
#: (approximate), ``broadcast`` the local kernels in Spark tasks over a broadcast matrix.
ITEM_KNN_MODES: Final[tuple[str, ...]] = ("exact", "dimsum", "broadcast")
#: The same for user-KNN, which has no sampled mode.
USER_KNN_MODES: Final[tuple[str, ...]] = ("exact", "broadcast")
#: Every mode some step knows (the item-KNN ones).
KNN_MODES: Final = ITEM_KNN_MODES
#: Columns of the top-N frames ``item_knn`` and ``user_knn`` return.
RECOMMENDATION_COLUMNS: Final = ["user_id", "rank", "item_id", "score"]


def resolve_engine(engine: str | None = None) -> EngineName:
    """``engine``, else ``$SHOPGUIDE_ENGINE``, else ``"local"`` (validated)."""
    return check_engine(engine or os.environ.get(ENGINE_ENV) or "local")


def resolve_master(master: str | None = None) -> str:
    """``master``, else ``$SHOPGUIDE_SPARK_MASTER``, else ``local[2]``."""
    return master or os.environ.get(MASTER_ENV) or "local[2]"


def check_item_knn_mode(mode: str) -> KnnMode:
    """``mode`` if it is one of :data:`ITEM_KNN_MODES`, else a :class:`ConfigError`."""
    if mode not in ITEM_KNN_MODES:
        raise ConfigError(
            f"unknown item-KNN mode {mode!r}", hint=f"use one of: {', '.join(ITEM_KNN_MODES)}"
        )
    return cast(KnnMode, mode)


def check_user_knn_mode(mode: str) -> KnnMode:
    """``mode`` if it is one of :data:`USER_KNN_MODES`, else a :class:`ConfigError`."""
    if mode not in USER_KNN_MODES:
        raise ConfigError(
            f"unknown user-KNN mode {mode!r}", hint="use exact (blockwise joins) or broadcast"
        )
    return cast(KnnMode, mode)


def store_as_of(store: Store, as_of: datetime | str | None) -> datetime:
    """``as_of`` as naive UTC, default the store's latest event time."""
    return default_as_of(store) if as_of is None else naive_utc(as_of).to_pydatetime()


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


@runtime_checkable
class Engine(Protocol):
    """What every engine does. Implementations differ in where the work runs, not in results.

    ``name`` is ``"local"`` or ``"spark"``. Engine-specific knobs (a Spark master, a work
    folder, Spark's KNN mode) are settings of the engine object, given once when it is made,
    so the methods take the same arguments on every engine.
    """

    name: EngineName

    def profiles(self, store: Store, as_of: datetime | str | None = None) -> dict[str, Any]:
        """Build the profile version ``as_of`` (default: the latest event) into the store.

        Returns ``{"engine", "as_of", "users", "seconds"}``.
        """
        ...

    def rfm(self, store: Store, as_of: datetime | str | None = None) -> pd.DataFrame:
        """The RFM table, one row per buyer, sorted by user id."""
        ...

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
        """Top-``n`` item-KNN recommendations for every user (:data:`RECOMMENDATION_COLUMNS`)."""
        ...

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
        """Top-``n`` user-KNN recommendations for every user (:data:`RECOMMENDATION_COLUMNS`)."""
        ...

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
        """Fit implicit ALS on ``events`` (canonical columns); a local model either way."""
        ...
