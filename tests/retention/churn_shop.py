"""A synthetic shop for the churn tests: users buying about every 20 days from early 2023, each
stopping at a random day between 60 and 400 (the data ends at day 300), so some have churned."""

from __future__ import annotations

import numpy as np
import pandas as pd


def churn_shop(n: int, seed: int = 0) -> pd.DataFrame:
    """Purchase events (user_id, event_type, timestamp, quantity, price) of ``n`` users."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n):
        t, stop = rng.uniform(0, 30), rng.uniform(60, 400)
        while t < min(stop, 300):
            rows.append((f"u{u}", pd.Timestamp("2023-01-01") + pd.Timedelta(days=t)))
            t += rng.exponential(20)
    return pd.DataFrame(
        {
            "user_id": [r[0] for r in rows],
            "event_type": "purchase",
            "timestamp": [r[1] for r in rows],
            "quantity": 1,
            "price": rng.gamma(2, 10, len(rows)),
        }
    )
