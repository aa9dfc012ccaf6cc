"""Execution engines for the heavy steps: ``local`` (DuckDB + scipy) and ``spark`` (PySpark).

The local engine is the domain packages themselves (:mod:`shopguide.profiles`,
:mod:`shopguide.analytics.rfm`, :mod:`shopguide.recommend`). The Spark engine
(:mod:`shopguide.engine.spark`) re-implements the same definitions as Spark SQL / DataFrame
jobs for data that outgrows one machine; it is imported lazily, only when asked for, and needs
the ``shopguide[spark]`` extra plus a Java 17 runtime.

This package (without ``spark``) holds what both engines share and what needs no PySpark:
exporting a DuckDB store to date-partitioned Parquet (the Spark engine's input) and loading
Parquet results back into the store.
"""

from shopguide.engine.exchange import (
    ENGINES,
    EngineName,
    ParquetLayout,
    check_engine,
    export_store,
    import_parquet,
    parquet_layout,
)

__all__ = [
    "ENGINES",
    "EngineName",
    "ParquetLayout",
    "check_engine",
    "export_store",
    "import_parquet",
    "parquet_layout",
]
