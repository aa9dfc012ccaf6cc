"""Parity: the Spark engine's profiles and RFM equal the local engine's on the same data."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from spark_testdata import AS_OF, ShopData

from shopguide.analytics.rfm import rfm_table
from shopguide.engine import import_parquet
from shopguide.engine.spark.io import read_engine_data, write_parquet
from shopguide.engine.spark.profiles import PROFILE_COLUMNS, spark_profiles
from shopguide.engine.spark.rfm import RFM_COLUMNS, spark_rfm_table
from shopguide.profiles import build_profiles, load_profiles

RTOL = 1e-9
SCORE_COLUMNS = ["r_score", "f_score", "m_score", "fm_score", "rfm_cell", "segment"]


def _read(path: Path) -> pd.DataFrame:
    """Read a Spark Parquet output with DuckDB (what the store would see)."""
    return duckdb.sql(f"SELECT * FROM read_parquet('{path}/*.parquet')").df()


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _assert_same(where: str, got: Any, want: Any) -> None:
    if isinstance(want, list | np.ndarray) or isinstance(got, list | np.ndarray):
        got_l, want_l = list(got if got is not None else []), list(want)
        assert len(got_l) == len(want_l), f"{where}: {got_l} != {want_l}"
        for k, (g, w) in enumerate(zip(got_l, want_l, strict=True)):
            _assert_same(f"{where}[{k}]", g, w)
        return
    if isinstance(want, dict):
        assert set(got) == set(want), f"{where}: keys {set(got)} != {set(want)}"
        for key in want:
            _assert_same(f"{where}.{key}", got[key], want[key])
        return
    if _missing(want) or _missing(got):
        assert _missing(want) and _missing(got), f"{where}: {got!r} != {want!r}"
        return
    if isinstance(want, float | np.floating):
        assert math.isclose(float(got), float(want), rel_tol=RTOL, abs_tol=1e-12), (
            f"{where}: {got!r} != {want!r}"
        )
        return
    if isinstance(want, pd.Timestamp | np.datetime64):
        assert pd.Timestamp(got) == pd.Timestamp(want), f"{where}: {got!r} != {want!r}"
        return
    assert got == want, f"{where}: {got!r} != {want!r}"


def assert_frames_match(got: pd.DataFrame, want: pd.DataFrame, key: str = "user_id") -> None:
    """Same rows (by key) and columns; numbers equal within 1e-9 relative."""
    assert list(got.columns) == list(want.columns)
    got = got.sort_values(key).reset_index(drop=True)
    want = want.sort_values(key).reset_index(drop=True)
    assert got[key].tolist() == want[key].tolist()
    for column in want.columns:
        for i in range(len(want)):
            _assert_same(f"{want[key][i]}.{column}", got[column][i], want[column][i])


def test_profiles_equal_the_local_engine(spark: Any, shop: ShopData, tmp_path: Path) -> None:
    build_profiles(shop.store, AS_OF)
    local = load_profiles(shop.store, AS_OF)
    assert len(local) > 250 and local["segment"].notna().sum() > 100

    data = read_engine_data(spark, shop.parquet)
    out = write_parquet(spark_profiles(data, AS_OF), tmp_path / "profiles")
    remote = _read(out)
    assert list(remote.columns) == list(PROFILE_COLUMNS)
    assert_frames_match(remote[list(local.columns)], local)
    # RFM scores and segments are identical, not just close
    merged = local.merge(remote, on="user_id", suffixes=("", "_spark"))
    for column in SCORE_COLUMNS:
        left = merged[column].astype("object").where(merged[column].notna(), None)
        right = merged[f"{column}_spark"].astype("object")
        right = right.where(merged[f"{column}_spark"].notna(), None)
        assert left.tolist() == right.tolist(), column

    # the Parquet output loads into the store as a profile version
    added = import_parquet(
        shop.store, "profiles", out, delete_where="as_of = TIMESTAMP '2024-05-20 12:00:00'"
    )
    assert added == len(local)
    assert_frames_match(load_profiles(shop.store, AS_OF), local)


def test_rfm_table_equals_the_local_engine(spark: Any, shop: ShopData, tmp_path: Path) -> None:
    local = rfm_table(shop.store, AS_OF)
    data = read_engine_data(spark, shop.parquet)
    remote = _read(write_parquet(spark_rfm_table(data, AS_OF), tmp_path / "rfm"))
    assert list(remote.columns) == list(RFM_COLUMNS)
    assert_frames_match(remote[list(local.columns)], local)
    # the edge users: three orders on two days without order ids, refund bigger than spend
    zed1 = remote.set_index("user_id").loc["zed1"]
    assert zed1["frequency"] == 2 and math.isclose(zed1["monetary"], 22.5 - 22.5)
    # equal R, F and M values get equal scores (zed2 and zed3 are twins)
    twins = remote.set_index("user_id").loc[["zed2", "zed3"], SCORE_COLUMNS]
    assert twins.iloc[0].tolist() == twins.iloc[1].tolist()
