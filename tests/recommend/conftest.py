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
