"""Shared tiny data for the recommender tests."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp


def tiny_matrix() -> sp.csr_matrix:
    """8 users x 10 items with two taste groups (items 0-4 and 5-9) and a little overlap."""
    rows = [
        [1, 1, 1, 0, 0, 0, 0, 0, 0, 0],
        [1, 1, 0, 1, 0, 0, 0, 0, 0, 0],
        [0, 1, 1, 1, 1, 0, 0, 0, 0, 0],
        [1, 0, 1, 0, 1, 0, 0, 0, 1, 0],
        [0, 0, 0, 0, 0, 1, 1, 1, 0, 0],
        [0, 0, 0, 0, 0, 1, 0, 1, 1, 0],
        [0, 0, 0, 0, 1, 0, 1, 1, 1, 1],
        [0, 0, 0, 0, 0, 1, 1, 0, 0, 1],
    ]
    return sp.csr_matrix(np.array(rows, dtype=np.float32))


@pytest.fixture
def tiny() -> sp.csr_matrix:
    return tiny_matrix()


def power_law_matrix(users: int, items: int, per_user: int, seed: int = 0) -> sp.csr_matrix:
    """0/1 users x items with ``per_user`` draws per user from a power-law item popularity."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, items + 1) ** 0.7
    rows = np.repeat(np.arange(users), per_user)
    cols = rng.choice(items, size=users * per_user, p=weights / weights.sum())
    m = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(users, items))
    m.data[:] = 1.0
    return m


@pytest.fixture
def random_matrix():  # type: ignore[no-untyped-def]
    """:func:`power_law_matrix`, for tests that need larger data."""
    return power_law_matrix
