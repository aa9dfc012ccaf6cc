"""The comparison's margin: a paired bootstrap interval over test users, and "tie" instead of a
winner when the interval contains 0 (then the simplest tied model is chosen)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from evaluate_helpers import TinyPopular

from shopguide.data.split import TemporalSplit
from shopguide.evaluate.compare import Margin, compare_models, paired_bootstrap


def test_paired_bootstrap_known_answers() -> None:
    assert paired_bootstrap(np.full(50, 0.25)) == pytest.approx((0.25, 0.25))
    low, high = paired_bootstrap(np.tile([-1.0, 1.0], 100))
    assert low < 0 < high
    low, high = paired_bootstrap(np.r_[np.full(90, 1.0), np.zeros(10)])
    assert 0.8 < low <= 0.9 <= high < 1.0
    assert np.isnan(paired_bootstrap(np.array([]))).all()
    assert Margin("x", float("nan"), float("nan"), float("nan"), 0).tie  # no evidence: no winner
    assert paired_bootstrap(np.arange(30.0)) == paired_bootstrap(np.arange(30.0))  # seeded


def test_two_identical_models_tie_and_the_simplest_is_chosen(
    events: pd.DataFrame, tmp_path: Path
) -> None:
    split = TemporalSplit(fraction=0.7).split(events)
    # the same model under two labels: every user's difference is 0
    comp = compare_models({"bpr": TinyPopular(), "popular": TinyPopular()}, split, out_dir=tmp_path)
    assert comp.best == "bpr"  # equal scores: table order
    (margin,) = comp.margins
    assert (margin.other, margin.difference, margin.low, margin.high) == ("popular", 0, 0, 0)
    assert comp.is_tie and set(comp.tied) == {"bpr", "popular"}
    assert comp.chosen == "popular"  # first of the tied ones in SIMPLICITY_ORDER
    assert comp.verdict().startswith("tie: bpr, popular")
    assert "publishing the simplest tied model, popular" in comp.verdict()
    evidence = json.loads((tmp_path / "evidence.json").read_text())
    assert evidence["tie"] is True and evidence["chosen_model"] == "popular"
    assert evidence["best_model"] == "bpr" and evidence["margins"][0]["interval"] == [0, 0]


def test_a_clear_margin_crowns_the_winner_with_its_interval(events: pd.DataFrame) -> None:
    split = TemporalSplit(fraction=0.7).split(events)
    # popularity against popularity rolled 20 places down its ranking (of 30 items)
    comp = compare_models({"popular": TinyPopular(), "bpr": TinyPopular(shift=20)}, split)
    (margin,) = comp.margins
    assert comp.best == comp.chosen == "popular" and not comp.is_tie
    assert 0 < margin.low <= margin.difference <= margin.high
    ndcg = comp.table["ndcg@10"]
    assert margin.difference == pytest.approx(ndcg["popular"] - ndcg["bpr"])
    assert comp.verdict().startswith("winner: popular, ndcg@10 +")
    assert "95% interval" in comp.verdict()
