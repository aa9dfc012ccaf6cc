"""Tests of grid/random search and of model comparison."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from evaluate_helpers import TinyPopular

from shopguide.data.matrix import build_interactions
from shopguide.data.split import RollingWindowSplit, TemporalSplit, UserKFold
from shopguide.evaluate.compare import compare_models, markdown_table
from shopguide.evaluate.evaluator import build_test_relevance, evaluate_recommender
from shopguide.evaluate.tuning import parameter_settings, tune


def test_parameter_settings() -> None:
    grid = {"k": [1, 2, 3], "shrink": [0, 10]}
    full = parameter_settings(grid)
    assert len(full) == 6 and full[0] == {"k": 1, "shrink": 0}
    a = parameter_settings(grid, search="random", n_iter=3, seed=4)
    b = parameter_settings(grid, search="random", n_iter=3, seed=4)
    assert a == b and len(a) == 3 and all(p in full for p in a)
    assert len(parameter_settings(grid, search="random", n_iter=99)) == 6
    with pytest.raises(ValueError):
        parameter_settings({"k": []})
    with pytest.raises(ValueError):
        parameter_settings(grid, search="random")


def test_tune_matches_direct_evaluation(events: pd.DataFrame, tmp_path: Path) -> None:
    splitter = UserKFold(3, seed=1)
    res = tune(
        TinyPopular,
        {"shift": [0, 1, 3], "n": [5, 10]},
        events,
        splitter,
        out_dir=tmp_path,
        plot_param="shift",
    )
    assert res.metric == "ndcg@10" and res.ns == [5, 10]
    assert len(res.folds) == 9 and len(res.summary) == 3
    # unrotated popularity ranks best on this data; mean and std recomputed by hand
    splits = splitter.splits(events)
    means = {}
    for shift in (0, 1, 3):
        scores = []
        for s in splits:
            train = build_interactions(s.train)
            rel = build_test_relevance(train, s.test)
            r = evaluate_recommender(TinyPopular(shift=shift), train.matrix, rel, [5, 10])
            scores.append(r.metrics["ndcg@10"])
        row = res.summary.set_index("shift").loc[shift]
        assert row["ndcg@10_mean"] == pytest.approx(np.mean(scores))
        assert row["ndcg@10_std"] == pytest.approx(np.std(scores))
        means[shift] = np.mean(scores)
    best = max(means, key=lambda k: means[k])
    assert res.best_params == {"shift": best}
    assert type(res.best_params["shift"]) is int
    assert res.best_score == pytest.approx(means[best])
    assert (res.summary["ndcg@10_mean"].diff().dropna() <= 0).all()  # sorted best first
    for p in res.plots.values():
        assert p.exists() and p.read_bytes()[:4] == b"\x89PNG"
    assert set(res.plots) == {"ndcg_vs_shift", "ndcg_vs_n"}
    saved = json.loads((tmp_path / "tuning.json").read_text())
    assert saved["best_params"] == {"shift": best}
    assert len(saved["splits"]) == 3


def test_tune_registry_model_k_on_rolling_windows(events: pd.DataFrame, tmp_path: Path) -> None:
    res = tune(
        "item-knn",
        {"k": [2, 10]},
        events,
        RollingWindowSplit(2, test_span="15D"),
        ns=[5, 10],
        out_dir=tmp_path,
    )
    assert set(res.plots) == {"ndcg_vs_k", "ndcg_vs_n"}
    assert res.best_params["k"] in (2, 10)
    assert len(res.splits) == 2 and "rolling window" in res.splits[0]


def test_tune_random_search_and_errors(events: pd.DataFrame) -> None:
    res = tune(
        TinyPopular, {"shift": [0, 1, 2, 3]}, events, UserKFold(2), search="random", n_iter=2
    )
    assert len(res.summary) == 2
    with pytest.raises(ValueError, match="target_n"):
        tune(TinyPopular, {"shift": [0]}, events, UserKFold(2), ns=[5], target_n=10)


def test_compare_models(events: pd.DataFrame, tmp_path: Path) -> None:
    split = TemporalSplit(fraction=0.7).split(events)
    comp = compare_models(
        {"pop": TinyPopular(), "rotated": TinyPopular(shift=5), "popular": "popular"},
        split,
        n=[5, 10],
        out_dir=tmp_path,
    )
    assert comp.best == comp.table["ndcg@10"].idxmax()
    assert comp.table["ndcg@10"].is_monotonic_decreasing
    assert comp.table.loc["pop", "ndcg@10"] == pytest.approx(comp.table.loc["popular", "ndcg@10"])
    md = comp.to_markdown(10)
    assert md.splitlines()[0].startswith("| model | ndcg@10 | recall@10")
    ev = json.loads((tmp_path / "evidence.json").read_text())
    assert not comp.is_tie and ev["chosen_model"] == comp.chosen == comp.best
    assert ev["split"]["description"].startswith("global temporal cut")
    assert ev["split"]["report"]["n_test"] == len(split.test)
    assert len(ev["table"]) == 3
    assert (tmp_path / "comparison.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="primary"):
        compare_models(["popular"], split, n=5)


def test_markdown_table() -> None:
    t = pd.DataFrame(
        {"a": [0.5, float("nan")], "b": ["x", "y"]}, index=pd.Index(["m1", "m2"], name="model")
    )
    assert markdown_table(t, digits=2).splitlines() == [
        "| model | a | b |",
        "|---|---|---|",
        "| m1 | 0.50 | x |",
        "| m2 |  | y |",
    ]


def test_tune_with_none_and_string_values(events: pd.DataFrame, tmp_path: Path) -> None:
    def factory(shift: int, tag: str | None) -> TinyPopular:
        return TinyPopular(shift=shift)

    res = tune(
        factory,
        {"shift": [0, 2], "tag": [None, "x"], "n": [5, 10]},
        events,
        UserKFold(2, seed=3),
        out_dir=tmp_path,
        plot_param="shift",
    )
    assert len(res.summary) == 4
    assert set(res.summary["tag"].map(str)) == {"None", "x"}
    assert (res.summary["splits"] == 2).all()
    assert res.best_params["tag"] is None  # ties keep grid order: None comes first
    assert set(res.plots) == {"ndcg_vs_shift", "ndcg_vs_n"}


def test_compare_fitted_models_without_refit(events: pd.DataFrame) -> None:
    split = TemporalSplit(fraction=0.7).split(events)
    model = TinyPopular()
    first = compare_models({"pop": model}, split, n=10)
    order = model.order_.copy()
    again = compare_models({"pop": model}, split, n=10, fit=False, filter_already_liked=False)
    assert np.array_equal(model.order_, order)
    # without filtering, repurchases count as relevant too: more evaluated users
    assert (
        again.results["pop"].counts["evaluated_users"]
        >= first.results["pop"].counts["evaluated_users"]
    )
    assert again.results["pop"].counts["test_pairs_already_in_train"] == 0
    with pytest.raises(ValueError, match="split"):
        compare_models({"pop": model})
