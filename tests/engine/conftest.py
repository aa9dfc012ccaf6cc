"""One local Spark session and one small synthetic store shared by the whole test run.

Spark start-up costs seconds to minutes on a busy machine, so every engine test uses the
session-scoped ``spark`` fixture (``local[2]``, 4 shuffle partitions, no UI) and the data
fixtures below are built once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from shopguide.data.datasets.synthetic import SyntheticData, generate
from shopguide.engine import export_store
from shopguide.store import open_store
from shopguide.store.base import Store

pytest.importorskip("pyspark", reason="the Spark engine tests need the shopguide[spark] extra")

#: A version in the middle of the synthetic window: later events must not count.
AS_OF = datetime(2024, 5, 20, 12, 0, 0)

EVENT_COLUMNS = [
    "event_key", "user_id", "item_id", "event_type", "timestamp", "quantity", "price",
    "discount", "order_id", "load_id",
]  # fmt: skip

# Edge cases the synthetic data lacks: purchases without an order id (one order per day),
# refunds bigger than the purchase, a missing price, an item not in the catalogue, a user
# with only views, equal spend for tie handling, an event after AS_OF.
# (user, item, type, timestamp, quantity, price, discount, order_id)
EDGE_EVENTS = [
    ("zed1", "i-unknown", "purchase", "2024-03-01 10:00", 2, 7.5, None, None),
    ("zed1", "i-unknown", "purchase", "2024-03-01 18:00", 1, 7.5, 0.0, None),
    ("zed1", "i-unknown", "purchase", "2024-03-02 09:00", 1, None, None, None),
    ("zed1", "i-unknown", "refund", "2024-03-05 09:00", -3, 7.5, 0.0, "R1"),
    ("zed2", "i-unknown", "purchase", "2024-04-01 10:00", 1, 15.0, 0.0, "Z2A"),
    ("zed3", "i-unknown", "purchase", "2024-04-01 10:00", 1, 15.0, 0.0, "Z3A"),
    ("zed4", "i-unknown", "view", "2024-04-03 23:59:59", 1, None, None, None),
    ("zed4", "i-unknown", "view", "2024-05-21 08:00", 1, None, None, None),
    ("zed5", "i-unknown", "purchase", "2024-05-25 08:00", 1, 99.0, 0.0, "LATE"),
]


def edge_events() -> pd.DataFrame:
    """The edge-case events as store rows (their own load id)."""
    frame = pd.DataFrame(
        [
            (f"edge{i}", u, it, t, pd.Timestamp(ts), float(q), p, d, o, 99)
            for i, (u, it, t, ts, q, p, d, o) in enumerate(EDGE_EVENTS)
        ],
        columns=EVENT_COLUMNS,
    )
    return frame.astype({"price": "float64", "discount": "float64", "order_id": "object"})


def load_frames(store: Store, data: SyntheticData) -> None:
    """Put synthetic frames and the edge events straight into the store's tables.

    (Appending directly keeps these tests about the engines, independent of ingestion.)
    """
    store.append("items", data.items.assign(load_id=1))
    store.append("users", data.users.assign(load_id=1))
    events = data.events.assign(event_key=[f"s{i}" for i in range(len(data.events))], load_id=1)
    store.append("events", events)
    store.append("events", edge_events())


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """The one SparkSession of the test run."""
    from shopguide.engine.spark.session import spark_session, stop_session

    session = spark_session(
        "local[2]",
        app_name="shopguide-tests",
        conf={"spark.sql.shuffle.partitions": "4", "spark.driver.memory": "1g"},
    )
    yield session
    stop_session()


@dataclass
class ShopData:
    """A store loaded with small synthetic data plus edge cases, and its Parquet export."""

    store: Store
    synthetic: SyntheticData
    parquet: Path


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
