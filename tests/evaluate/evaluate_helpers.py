"""Helpers for the evaluation tests: a tiny popularity model and planted-structure events."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp


class TinyPopular:
    """Most popular items (by number of users), ties by lower index; written for the tests."""

    def __init__(self, shift: int = 0) -> None:
        self.shift = shift  # a knob for tuning tests: rotate the ranking by `shift` places

    def get_params(self) -> dict[str, Any]:
        return {"shift": self.shift}

    def fit(self, user_items: sp.csr_matrix) -> TinyPopular:
        binary = (user_items > 0).astype(np.int64)
        self.pop_ = np.asarray(binary.sum(axis=0)).ravel()
        order = np.lexsort((np.arange(self.pop_.size), -self.pop_))
        self.order_ = np.roll(order, -self.shift)
        return self

    def recommend(
        self,
        user_rows: Any,
        user_items: sp.csr_matrix,
        n: int = 10,
        filter_already_liked: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        rows = np.atleast_1d(np.asarray(user_rows))
        ids = np.full((rows.size, n), -1, dtype=np.int64)
        for j, u in enumerate(rows):
            seen = set(user_items[u].indices.tolist()) if filter_already_liked else set()
            picks = [i for i in self.order_ if i not in seen][:n]
            ids[j, : len(picks)] = picks
        scores = np.where(ids >= 0, 1.0, -np.inf).astype(np.float32)
        return ids, scores


def synthetic_events(
    n_users: int = 60, n_items: int = 30, n: int = 900, seed: int = 0
) -> pd.DataFrame:
    """Events with planted structure: users in two groups prefer two halves of the catalogue,
    so a personalised model can beat popularity."""
    rng = np.random.default_rng(seed)
    users = rng.integers(0, n_users, n)
    group = users % 2
    half = n_items // 2
    local = rng.zipf(1.6, n) % half
    items = np.where(group == 0, local, half + local)
    start = pd.Timestamp("2024-01-01")
    return pd.DataFrame(
        {
            "user_id": [f"u{u}" for u in users],
            "item_id": [f"i{i}" for i in items],
            "event_type": "purchase",
            "timestamp": start + pd.to_timedelta(rng.integers(0, 90 * 24, n), unit="h"),
        }
    )
