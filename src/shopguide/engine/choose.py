"""Choose the engine once: :func:`get_engine` is the one place that maps a name to an engine."""

from __future__ import annotations

from pathlib import Path

from shopguide.engine.base import Engine, KnnMode, check_item_knn_mode, resolve_engine
from shopguide.errors import ConfigError

__all__ = ["get_engine"]


def get_engine(
    name: str | None = None,
    *,
    master: str | None = None,
    workdir: str | Path | None = None,
    mode: KnnMode = "exact",
    threshold: float = 0.1,
    user_blocks: int = 1,
) -> Engine:
    """The engine called ``name`` (default ``$SHOPGUIDE_ENGINE``, else ``local``).

    An unknown name raises :class:`~shopguide.errors.ConfigError` listing the engines. The
    keyword settings configure the Spark engine
    (:class:`~shopguide.engine.spark.engine.SparkEngine`); the local engine computes
    everything in this process and needs none, so it ignores them, except that it refuses
    ``mode="dimsum"``: it computes exact neighbours only and would not give what was asked.
    Nothing imports :mod:`pyspark` until a Spark step runs.
    """
    chosen = resolve_engine(name)
    check_item_knn_mode(mode)
    if chosen == "spark":
        from shopguide.engine.spark.engine import SparkEngine

        return SparkEngine(master, workdir, mode=mode, threshold=threshold, user_blocks=user_blocks)
    if mode == "dimsum":
        raise ConfigError(
            "the local engine computes exact neighbours only",
            hint="drop --mode dimsum, or use --engine spark",
        )
    from shopguide.engine.local import LocalEngine

    return LocalEngine()
