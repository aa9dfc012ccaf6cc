"""The bundled Hillstrom file loads typed, with the published group rates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopguide.data.datasets.hillstrom import (
    HILLSTROM_SEGMENTS,
    hillstrom_features,
    load_hillstrom,
)
from shopguide.errors import MissingColumnsError


def test_counts_types_and_rates() -> None:
    df = load_hillstrom()
    assert len(df) == 64000
    assert list(df["segment"].cat.categories) == list(HILLSTROM_SEGMENTS)
    assert df["visit"].dtype == np.int64
    assert df["newbie"].dtype == bool
    rates = df.groupby("segment", observed=True)[["visit", "conversion"]].mean()
    assert rates.loc["Mens E-Mail", "visit"] == pytest.approx(0.183, abs=0.001)
    assert rates.loc["Womens E-Mail", "visit"] == pytest.approx(0.151, abs=0.001)
    assert rates.loc["No E-Mail", "visit"] == pytest.approx(0.106, abs=0.001)
    assert rates.loc["No E-Mail", "conversion"] == pytest.approx(0.0057, abs=0.0001)


def test_features_are_numeric_without_outcomes() -> None:
    X = hillstrom_features(load_hillstrom().head(500))
    assert all(dt == np.float64 for dt in X.dtypes)
    assert not {"segment", "visit", "conversion", "spend"} & set(X.columns)
    assert not X.isna().any().any()


def test_missing_column_is_reported(tmp_path) -> None:
    f = tmp_path / "h.csv"
    pd.DataFrame({"recency": [1], "history": [2.0]}).to_csv(f, index=False)
    with pytest.raises(MissingColumnsError):
        load_hillstrom(f)
