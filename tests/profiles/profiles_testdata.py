"""Hand-made users, items and events for the profile tests."""

from __future__ import annotations

import pandas as pd

EVENT_COLUMNS = [
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
]


def events_frame(rows: list[tuple], load_id: int = 1, start_key: int = 0) -> pd.DataFrame:
    """Rows of (user, item, type, timestamp, quantity, price, discount, order_id) -> events."""
    frame = pd.DataFrame(
        [
            (f"k{start_key + i}", u, it, t, pd.Timestamp(ts), float(q), p, d, o, load_id)
            for i, (u, it, t, ts, q, p, d, o) in enumerate(rows)
        ],
        columns=EVENT_COLUMNS,
    )
    frame["price"] = frame["price"].astype("float64")
    frame["discount"] = frame["discount"].astype("float64")
    frame["order_id"] = frame["order_id"].astype("object")
    return frame


ITEMS = pd.DataFrame(
    {
        "item_id": ["i1", "i2", "i3", "i4"],
        "category": ["Toys > Lego", "Toys > Dolls", "Books", "Books"],
        "brand": ["Acme", "Bolt", "Acme", None],
        "price": [10.0, 30.0, 20.0, 5.0],
        "load_id": [1, 1, 1, 1],
    }
)

USERS = pd.DataFrame(
    {
        "user_id": ["alice", "bob", "dave", "erin"],
        "gender": ["F", "M", None, "F"],
        "age": [30, None, None, 50],
        "age_band": [None, "45-54", None, None],
        "location": ["London", "Leeds", None, "York"],
        "signup_at": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-05", "2024-04-01"]),
        "load_id": [1, 1, 1, 1],
    }
).astype({"age": "Int64"})

# (user, item, type, timestamp, quantity, price, discount, order_id)
HAND_EVENTS = [
    ("alice", "i1", "view", "2024-01-10 09:15", 1, None, None, None),
    ("alice", "i1", "cart", "2024-01-10 09:20", 1, None, None, None),
    ("alice", "i1", "purchase", "2024-01-10 09:30", 2, 10.0, 0.0, "A1"),
    ("alice", "i3", "purchase", "2024-01-10 09:30", 1, 20.0, 5.0, "A1"),
    ("alice", "i2", "view", "2024-03-01 18:00", 1, None, None, None),
    ("alice", "i2", "purchase", "2024-03-01 18:05", 1, 30.0, 0.0, "A2"),
    ("alice", "i1", "refund", "2024-03-20 18:10", 1, 10.0, 0.0, "A1R"),
    ("alice", "i3", "purchase", "2024-04-02 10:00", 5, 20.0, 0.0, "A3"),  # after as_of
    ("bob", "i3", "purchase", "2024-02-10 12:00", 1, 20.0, 0.0, None),
    ("bob", "i4", "purchase", "2024-02-10 15:00", 2, 5.0, 1.0, None),
    ("bob", "i3", "purchase", "2024-02-11 12:00", 1, 18.0, 0.0, None),
    ("bob", "i1", "view", "2024-03-30 12:00", 1, None, None, None),
    ("carol", "i1", "purchase", "2024-03-25 20:00", 1, 12.0, 0.0, "C1"),
]
