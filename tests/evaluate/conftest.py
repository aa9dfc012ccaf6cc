"""Fixtures of the evaluation tests."""

from __future__ import annotations

import pandas as pd
import pytest
from evaluate_helpers import synthetic_events


@pytest.fixture
def events() -> pd.DataFrame:
    return synthetic_events()
