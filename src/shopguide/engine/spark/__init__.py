"""The Spark engine: the heavy ShopGuide steps as PySpark jobs (extra ``shopguide[spark]``).

Nothing here imports :mod:`pyspark` at module import time except the submodules that need
it, and those import it through :func:`shopguide.compat.require`, so a missing extra fails
with the exact install command. Modules:

- :mod:`~shopguide.engine.spark.engine`: :class:`SparkEngine`, the five steps of the
  engine protocol on a store;
- :mod:`~shopguide.engine.spark.job`: :class:`SparkJob`, one step from Parquet to Parquet;
- :mod:`~shopguide.engine.spark.session`: one configured :class:`SparkSession` per process;
- :mod:`~shopguide.engine.spark.io`: read the engine data folder, write Parquet results;
- :mod:`~shopguide.engine.spark.dialect`: the local DuckDB SQL translated to Spark SQL;
- :mod:`~shopguide.engine.spark.profiles`: profiles (the local engine's SQL, translated);
- :mod:`~shopguide.engine.spark.rfm`: RFM scores and segments (tie-safe quintiles);
- :mod:`~shopguide.engine.spark.knn`: interaction strengths, item-item cosine with top-K
  (exact join-based or DIMSUM-sampled) and batch top-N for all users;
- :mod:`~shopguide.engine.spark.broadcast`: item-KNN with the local compiled kernels in Spark
  tasks over a broadcast interaction matrix (fast while the matrix fits in memory);
- :mod:`~shopguide.engine.spark.als`: implicit-feedback ALS with Spark MLlib.
"""
