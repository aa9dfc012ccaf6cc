"""``ease-next`` through the product: ``compare`` fits it with each pair's first purchase time,
can choose and publish it, and ``train`` fits it from the store's events."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp
from typer.testing import CliRunner

from shopguide.cli.app import app
from shopguide.data.datasets.synthetic import generate, load_synthetic
from shopguide.recommend import EASENext, create_model
from shopguide.recommend.saved import RecommenderStore
from shopguide.store import open_store
from shopguide.workflows.auto_tune import SEARCH_SPACES
from shopguide.workflows.modelling import COMPARED_BY_DEFAULT, compare_store
from shopguide.workflows.time_budget import search_seconds

runner = CliRunner()


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    path = tmp_path_factory.mktemp("easenext") / "shop.duckdb"
    with open_store(path) as store:
        load_synthetic(store, generate(n_users=400, n_items=120, n_events=30_000, seed=5, days=200))
    return path


def test_compare_runs_it_by_default_and_searches_its_window_and_weight() -> None:
    assert "ease-next" in COMPARED_BY_DEFAULT
    space = SEARCH_SPACES["ease-next"]
    assert space["horizon_days"] == (45, 60) and space["windows"] == (1, 2)
    assert space["weight"] == (0.0, 0.35, 0.45)
    assert space["regularization"] == SEARCH_SPACES["ease"]["regularization"]


def test_compare_can_choose_it_and_publishes_it_fitted_with_dates(shop) -> None:
    with open_store(shop) as store:
        comparison = compare_store(
            store, ["popular", "ease-next"], test_days=30, publish=True, auto=False
        )
    table = comparison.table["ndcg@10"]
    assert comparison.chosen == "ease-next", table
    assert table["ease-next"] > table["popular"]
    loaded = RecommenderStore.for_store(shop).load("ease-next")
    assert isinstance(loaded.model, EASENext)
    # the next-window part was learned from dated training rows, not left empty
    assert np.abs(loaded.model.next_weights_).sum() > 0
    assert loaded.model.n_items_ == len(loaded.items)


def test_train_fits_it_from_the_store_events(shop) -> None:
    result = runner.invoke(
        app, ["train", "ease-next", "--param", "weight=0.3", "--db", str(shop), "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["params"]["weight"] == 0.3
    model = RecommenderStore.for_store(shop).load("ease-next").model
    assert isinstance(model, EASENext) and model.weight == 0.3
    history = sp.csr_matrix(([1.0], ([0], [0])), shape=(1, model.n_items_), dtype=np.float32)
    ids, _ = model.recommend(0, history, n=5)
    assert (ids >= 0).all() and 0 not in ids


def test_the_time_budget_counts_each_shared_solve_once() -> None:
    sizes = (100_000, 8_000, 2_000_000)
    one = create_model("ease").estimate_cost(*sizes).seconds
    space = SEARCH_SPACES["ease-next"]
    # 48 points, but 4 EASE solves (one per λ) and 4 regressions (window length x count)
    assert search_seconds({"ease-next": {}}, SEARCH_SPACES, sizes) == pytest.approx(8 * one)
    assert len(space["regularization"]) == 4
