"""Execution engines for the heavy steps: ``local`` (DuckDB + scipy) and ``spark`` (PySpark).

Both implement one protocol, :class:`~shopguide.engine.base.Engine` (profiles, RFM, item-KNN,
user-KNN, ALS), and :func:`~shopguide.engine.choose.get_engine` chooses one by name, once.
The local engine (:mod:`shopguide.engine.local`) calls the domain packages
(:mod:`shopguide.profiles`, :mod:`shopguide.analytics.rfm`, :mod:`shopguide.recommend`). The
Spark engine (:mod:`shopguide.engine.spark`) runs the same definitions as Spark SQL /
DataFrame jobs for data that outgrows one machine; it is imported lazily, only when asked
for, and needs the ``shopguide[spark]`` extra plus a Java 17 runtime.

This module exports what needs neither the domain packages nor PySpark (so importing it is
cheap): exporting a DuckDB store to date-partitioned Parquet (the Spark engine's input) and
loading Parquet results back into the store.
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
