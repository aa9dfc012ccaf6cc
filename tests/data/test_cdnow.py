"""The bundled CDNOW files load with the documented counts and types."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopguide.columns import Columns, EventType
from shopguide.data.datasets.cdnow import cdnow_events, load_cdnow
from shopguide.errors import FileReadError


def test_sample_counts_and_types() -> None:
    df = load_cdnow(sample=True)
    assert list(df.columns) == ["customer_id", "date", "cds", "amount"]
    assert len(df) == 6919
    assert df["customer_id"].nunique() == 2357
    assert df["date"].min() == pd.Timestamp("1997-01-01")
    assert df["date"].max() == pd.Timestamp("1998-06-30")
    assert df["customer_id"].dtype == np.int64
    assert df["cds"].dtype == np.int64
    assert df["amount"].dtype == np.float64
    # first customer of the file: id 4, four purchases
    first = df[df["customer_id"] == 4]
    assert first["date"].dt.strftime("%Y%m%d").tolist() == [
        "19970101",
        "19970118",
        "19970802",
        "19971212",
    ]
    assert first["amount"].tolist() == [29.33, 29.73, 14.96, 26.48]


def test_master_counts() -> None:
    df = load_cdnow(sample=False)
    assert len(df) == 69659
    assert df["customer_id"].nunique() == 23570


def test_events_are_canonical_and_keep_spend() -> None:
    ev = cdnow_events()
    raw = load_cdnow()
    assert len(ev) == len(raw)
    assert set(ev[Columns.EVENT_TYPE]) == {EventType.PURCHASE}
    assert set(ev[Columns.ITEM_ID]) == {"cd"}
    assert ev[Columns.USER_ID].map(type).eq(str).all()
    assert ev[Columns.EVENT_ID].is_unique
    spend = (ev[Columns.PRICE] * ev[Columns.QUANTITY]).sum()
    assert spend == pytest.approx(raw["amount"].sum())


def test_own_file_and_bad_file(tmp_path) -> None:
    good = tmp_path / "mini.txt"
    good.write_text(" 00007 0001 19970105  3   30.00\n 00007 0001 19970301  1   9.99\n")
    df = load_cdnow(path=good)
    assert df["customer_id"].tolist() == [7, 7]
    assert df["cds"].tolist() == [3, 1]
    ev = cdnow_events(path=good)
    assert ev[Columns.PRICE].tolist() == pytest.approx([10.0, 9.99])
    bad = tmp_path / "bad.txt"
    bad.write_text(" 00007 0001 1997xx05  3   30.00\n")
    with pytest.raises(FileReadError):
        load_cdnow(path=bad)
