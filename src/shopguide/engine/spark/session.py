"""One SparkSession per process, configured the way every ShopGuide job expects.

Settings that matter for correctness (not only speed):

- ``spark.sql.session.timeZone=UTC``: store timestamps are naive UTC; with any other session
  zone, day boundaries (recency in days, orders without an order id, partitions by date)
  would move;
- ``spark.sql.parquet.outputTimestampType=TIMESTAMP_MICROS``: results keep DuckDB's
  microsecond timestamps (Spark's legacy default, INT96, is deprecated).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from shopguide.compat import require

__all__ = ["DEFAULT_MASTER", "job_session", "spark_session", "stop_session"]

#: The master URL used when none is given: Spark inside this process on two cores.
DEFAULT_MASTER = "local[2]"

_BASE_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.adaptive.enabled": "true",
}

#: Extra settings for a local master: small shuffles, no web UI, loopback networking.
_LOCAL_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "4",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
}


def spark_session(
    master: str | None = DEFAULT_MASTER,
    *,
    app_name: str = "shopguide",
    conf: Mapping[str, str] | None = None,
    log_level: str = "ERROR",
) -> Any:
    """Get (or create) the process's SparkSession.

    Parameters
    ----------
    master:
        ``local[N]`` for Spark inside this process, a cluster URL (``spark://host:7077``,
        ``yarn``, ``k8s://...``), or ``None`` to take what ``spark-submit`` set.
    app_name:
        Shown in the Spark UI and the cluster manager.
    conf:
        Extra Spark settings (``spark.executor.memory`` and so on); they win over defaults.
    log_level:
        Spark's log level for this session.

    An existing session is returned as is (Spark allows one active session per JVM), so
    tests and workflows share one start-up.
    """
    sql = require("pyspark.sql", extra="spark", feature="the Spark engine")
    active = sql.SparkSession.getActiveSession()
    if active is not None:
        return active
    settings = dict(_BASE_CONF)
    if master is not None and master.startswith("local"):
        settings.update(_LOCAL_CONF)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        # Python tasks (the broadcast item-KNN) run ShopGuide's code: use this interpreter,
        # not whatever ``python3`` is first on PATH
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    settings.update(conf or {})
    builder = sql.SparkSession.builder.appName(app_name)
    if master is not None:
        builder = builder.master(master)
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel(log_level)
    return session


def job_session(master: str | None = None) -> Any:
    """The session a ShopGuide step runs in.

    ``master``, else ``$SHOPGUIDE_SPARK_MASTER``, else ``local[2]``; but when the process was
    launched by ``spark-submit`` and neither is set, the master ``spark-submit`` chose.
    """
    from shopguide.engine.base import MASTER_ENV, resolve_master

    if master is None and not os.environ.get(MASTER_ENV) and "PYSPARK_GATEWAY_PORT" in os.environ:
        return spark_session(None)
    return spark_session(resolve_master(master))


def stop_session() -> None:
    """Stop the active session, if any (frees the JVM's memory)."""
    sql = require("pyspark.sql", extra="spark", feature="the Spark engine")
    active = sql.SparkSession.getActiveSession()
    if active is not None:
        active.stop()
