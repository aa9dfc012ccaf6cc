"""A tiny hand-made store for the analytics known-answer tests.

Items: p1 Toys/Acme, p2 Books/Bolt, p3 Books/(no brand). Purchases are at 12:00.

* u1: 2024-01-05 view, cart, buy p1 (1 x 10, order O1); 2024-02-10 order O2: 2 x p1 at 10 and
  1 x p2 at 20; 2024-03-01 views p2 (already bought, never carted).
* u2: 2024-01-20 views p2 twice, carts it, buys it (1 x 20, O3); 2024-03-15 refunds it (20).
* u3: 2024-02-03 views and carts p1 but buys p3 instead (1 x 5, O4, never viewed);
  2024-02-20 buys 3 x p3 at 5 with 3 off (O5); 2024-02-28 buys 1 x p3 at 5 (O6).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from shopguide.store import open_store
from shopguide.store.base import Store

ROWS = [
    # user, item, type, timestamp, quantity, price, discount, order
    ("u1", "p1", "view", "2024-01-05 11:50", 1, None, None, None),
    ("u1", "p1", "cart", "2024-01-05 11:55", 1, None, None, None),
    ("u1", "p1", "purchase", "2024-01-05 12:00", 1, 10.0, 0.0, "O1"),
    ("u1", "p1", "purchase", "2024-02-10 12:00", 2, 10.0, 0.0, "O2"),
    ("u1", "p2", "purchase", "2024-02-10 12:00", 1, 20.0, 0.0, "O2"),
    ("u1", "p2", "view", "2024-03-01 09:00", 1, None, None, None),
    ("u2", "p2", "view", "2024-01-20 11:40", 1, None, None, None),
    ("u2", "p2", "view", "2024-01-20 11:45", 1, None, None, None),
    ("u2", "p2", "cart", "2024-01-20 11:50", 1, None, None, None),
    ("u2", "p2", "purchase", "2024-01-20 12:00", 1, 20.0, 0.0, "O3"),
    ("u2", "p2", "refund", "2024-03-15 12:00", 1, 20.0, 0.0, "R3"),
    ("u3", "p1", "view", "2024-02-03 11:00", 1, None, None, None),
    ("u3", "p1", "cart", "2024-02-03 11:10", 1, None, None, None),
    ("u3", "p3", "purchase", "2024-02-03 12:00", 1, 5.0, 0.0, "O4"),
    ("u3", "p3", "purchase", "2024-02-20 12:00", 3, 5.0, 3.0, "O5"),
    ("u3", "p3", "purchase", "2024-02-28 12:00", 1, 5.0, 0.0, "O6"),
]


@pytest.fixture()
def shop(tmp_path: Path) -> Iterator[Store]:
    """The hand-made shop in a store file."""
    store = open_store(tmp_path / "shop.duckdb")
    store.append(
        "items",
        pd.DataFrame(
            {
                "item_id": ["p1", "p2", "p3"],
                "title": ["Robot", "Novel", "Notebook"],
                "category": ["Toys > Robots", "Books", "Books > Paper"],
                "brand": ["Acme", "Bolt", None],
                "load_id": [1, 1, 1],
            }
        ),
    )
    events = pd.DataFrame(
        [
            (f"k{i}", u, it, t, pd.Timestamp(ts), float(q), p, d, o, 1)
            for i, (u, it, t, ts, q, p, d, o) in enumerate(ROWS)
        ],
        columns=[
            "event_key",
            "user_id",
            "item_id",
            "event_type",
            "timestamp",
            "quantity",
            "price",
            "discount",
            "order_id",
            "load_id",
        ],
    ).astype({"price": "float64", "discount": "float64", "order_id": "object"})
    store.append("events", events)
    yield store
    store.close()
