"""The ML-100K benchmark's own protocol: the per-user split and the NDCG it reports."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

PATH = Path(__file__).resolve().parents[2] / "benchmarks/bench_ml100k.py"
_spec = importlib.util.spec_from_file_location("bench_ml100k", PATH)
assert _spec is not None and _spec.loader is not None
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 12), min_size=1, max_size=15), st.integers(0, 2**16))
def test_split_gives_each_user_the_floor_of_three_quarters_and_loses_nothing(
    sizes: list[int], seed: int
) -> None:
    users = np.repeat(np.arange(len(sizes)), sizes)
    ratings = pd.DataFrame(
        {"user": users, "item": np.arange(users.size), "rating": 1.0, "timestamp": 0}
    )
    train, test = bench.stratified_split(ratings, seed=seed)
    assert sorted([*train["item"], *test["item"]]) == list(range(users.size))
    for user, size in enumerate(sizes):
        # rank / size <= 0.75 holds for ranks 1 .. floor(0.75 * size)
        assert (train["user"] == user).sum() == int(np.floor(0.75 * size))


def test_split_is_the_seeded_draw_and_repeats() -> None:
    ratings = pd.DataFrame(
        {"user": [1, 1, 1, 1], "item": [10, 11, 12, 13], "rating": 1.0, "timestamp": 0}
    )
    train, test = bench.stratified_split(ratings, seed=42)
    np.random.seed(42)
    draw = np.random.rand(4)  # the three smallest draws are training
    assert sorted(train["item"]) == sorted(np.array([10, 11, 12, 13])[np.argsort(draw)[:3]])
    again, _ = bench.stratified_split(ratings, seed=42)
    assert list(again["item"]) == list(train["item"])
    assert len(test) == 1


def test_ndcg_known_answer_counts_unreachable_truth_in_the_ideal() -> None:
    recommended = np.array([[5, 7, -1], [1, 2, 3]])
    # user 0: hit at rank 2 of truth {7, 99}; user 1: no truth, not averaged
    value = bench.ndcg_at_10(recommended, [{7, 99}, set()], k=3)
    expected = (1 / np.log2(3)) / (1 + 1 / np.log2(3))
    assert value == pytest.approx(expected)


def test_missing_data_is_a_clear_message_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bench.main(["--data", str(tmp_path / "u.data")]) == 2
    err = capsys.readouterr().err
    assert "not bundled" in err and "--data" in err
