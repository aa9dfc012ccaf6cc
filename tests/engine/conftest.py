"""One local Spark session and one small synthetic store shared by the whole test run.

Spark start-up costs seconds to minutes on a busy machine, so every engine test uses the
session-scoped ``spark`` fixture (``local[2]``, 4 shuffle partitions, no UI) and the data
fixtures below are built once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

# the Spark engine tests need the shopguide[spark] extra (make installs it): a missing pyspark
# fails them rather than skipping them
import pyspark  # noqa: F401
import pytest
from spark_testdata import ShopData, load_frames

from shopguide.data.datasets.synthetic import generate
from shopguide.engine import export_store
from shopguide.store import open_store

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Send every engine test to one xdist worker (``--dist loadgroup``): one JVM per run."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.xdist_group("spark"))


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """The one SparkSession of the test run."""
    from shopguide.engine.spark.session import spark_session, stop_session

    session = spark_session(
        "local[2]",
        app_name="shopguide-tests",
        conf={
            "spark.sql.shuffle.partitions": "4",
            "spark.driver.memory": "1g",
            # tiny data: query planning and code generation cost more than they save
            "spark.sql.adaptive.enabled": "false",
            "spark.sql.codegen.wholeStage": "false",
        },
    )
    yield session
    stop_session()


@pytest.fixture(scope="session")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShopData]:
    """~6k synthetic events over 300 users and 80 items, loaded through ingestion."""
    folder = tmp_path_factory.mktemp("engine")
    data = generate(n_users=300, n_items=80, n_events=6_000, seed=7, start="2024-01-01")
    store = open_store(folder / "shop.duckdb")
    load_frames(store, data)
    layout = export_store(store, folder / "parquet")
    yield ShopData(store, data, layout.directory)
    store.close()
