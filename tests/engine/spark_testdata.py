"""Shared test data and comparison helpers of the engine tests (a uniquely named module:
``conftest`` names clash across test folders)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from shopguide.data.datasets.synthetic import SyntheticData
from shopguide.recommend.rules import (
    ExcludeCategories,
    InStock,
    MaxPerCategory,
    PriceRange,
    Repurchase,
    RuleSet,
)
from shopguide.store.base import Store

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


@dataclass
class ShopData:
    """A store loaded with small synthetic data plus edge cases, and its Parquet export."""

    store: Store
    synthetic: SyntheticData
    parquet: Path


Ranked = list[tuple[str, float]]
#: Score tolerance between float32 (local) and float64 (Spark) similarities and scores.
TOL = 1e-5


def close(a: float, b: float) -> bool:
    """Equal within :data:`TOL` (relative, absolute below 1)."""
    return abs(a - b) <= TOL * max(1.0, abs(a), abs(b))


def assert_same_ranking(where: str, got: Ranked, want: Ranked) -> bool:
    """Tie-aware equality of two ranked ``(id, score)`` lists; True when identical.

    Scores must agree at every position; ids must agree outside groups of tied scores and
    as sets inside a tie group; a tie group cut by the end of the list may differ.
    """
    assert len(got) == len(want), f"{where}: {len(got)} != {len(want)} entries"
    for p, ((_, gs), (_, ws)) in enumerate(zip(got, want, strict=True)):
        assert close(gs, ws), f"{where}: score at {p}: {gs} != {ws}"
    if [i for i, _ in got] == [i for i, _ in want]:
        return True
    start = 0
    while start < len(want):  # walk the tie groups of the wanted list
        end = start + 1
        while end < len(want) and close(want[end][1], want[start][1]):
            end += 1
        got_ids = {i for i, _ in got[start:end]}
        want_ids = {i for i, _ in want[start:end]}
        if end < len(want):
            assert got_ids == want_ids, (
                f"{where}: tie group {start}..{end}: {got_ids} != {want_ids}"
            )
        start = end
    return False


#: Business rules of the top-N parity tests: in stock, a category excluded, a price range
#: (items without a price fall out), repurchasable groceries, at most two per top category.
RULES = RuleSet(
    (
        InStock(),
        ExcludeCategories(["Toys"]),
        PriceRange(5.0, 80.0),
        Repurchase(["Grocery"]),
        MaxPerCategory(2),
    )
)
