"""``compare`` on a large shop: the time budget skips the slowest fits and makes tuning search on
a sample of users, evaluation scores a bounded sample of users, and each says so. The sizes of
a million-user shop go only through the estimates; everything fitted is small."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from shopguide.cli.app import app
from shopguide.data.datasets.synthetic import generate, load_synthetic
from shopguide.errors import InputError
from shopguide.evaluate.compare import compare_models
from shopguide.evaluate.evaluator import TestRelevance as Relevance
from shopguide.evaluate.sampling import max_scored_users, sample_relevance
from shopguide.evaluate.tuning import training_matrix
from shopguide.store import open_store
from shopguide.workflows.auto_tune import SEARCH_SPACES, auto_tune
from shopguide.workflows.budget import plan_models
from shopguide.workflows.modelling import DEFAULT_PARAMS, store_events
from shopguide.workflows.time_budget import parse_seconds, tuning_user_share
from shopguide.workflows.time_split import temporal_split

runner = CliRunner()
MILLION = (1_000_000, 200_000, 18_000_000)  # users, items, training interactions
TEN_GB = 10 * 10**9


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    db = tmp_path_factory.mktemp("timebudget") / "shop.duckdb"
    with open_store(db) as store:
        load_synthetic(store, generate(n_users=600, n_items=150, n_events=60_000, seed=3))
        events = store_events(store)
    return db, events


def test_a_fit_estimated_over_a_quarter_of_the_time_budget_is_skipped_with_the_reason() -> None:
    names = ["popular", "item-knn", "bpr"]
    planned = plan_models(names, DEFAULT_PARAMS, MILLION, TEN_GB, time_budget=20 * 60)
    assert planned.plans["bpr"].action == "skipped" and "bpr" not in planned.factories
    message = planned.plans["bpr"].message
    assert "bpr would take about" in message and "20.0 min time budget" in message
    assert "--time-budget" in message and "shopguide train bpr" in message
    assert message in planned.notes
    # the cheap models are fitted as they are; without a time budget nothing is skipped
    assert planned.plans["popular"].action == planned.plans["item-knn"].action == "fit"
    unlimited = plan_models(names, DEFAULT_PARAMS, MILLION, TEN_GB, time_budget=None)
    assert set(unlimited.factories) == set(names)


def test_tuning_searches_on_a_sample_of_users_only_when_the_search_would_not_fit() -> None:
    searched = {name: DEFAULT_PARAMS[name] for name in ("item-knn", "ease-large", "als")}
    share, why = tuning_user_share(searched, SEARCH_SPACES, MILLION, 20 * 60)
    assert 0.02 <= share < 1.0
    assert why is not None and f"({int(1_000_000 * share):,} of 1,000,000)" in why
    assert "time budget" in why
    # a small shop, or no budget: everyone
    assert tuning_user_share(searched, SEARCH_SPACES, (5_000, 2_000, 80_000), 20 * 60) == (
        1.0,
        None,
    )
    assert tuning_user_share(searched, SEARCH_SPACES, MILLION, None) == (1.0, None)


def test_auto_tune_on_a_user_share_searches_on_those_users_only_and_says_so(shop) -> None:
    _, events = shop
    spaces = {"item-knn": {"k": (5, 40)}}
    full = auto_tune(events, {"item-knn": {}}, spaces=spaces)["item-knn"]
    half = auto_tune(events, {"item-knn": {}}, spaces=spaces, user_share=0.5,
                     sample_note="tuned on half")["item-knn"]  # fmt: skip
    assert half.validation["user_share"] == 0.5 and half.validation["sampling"] == ["tuned on half"]
    assert half.validation["train_events"] < 0.7 * full.validation["train_events"]
    assert half.validation["validation_users"] < full.validation["validation_users"]
    assert "searched on 50% of the users" in half.describe()
    assert "searched on" not in full.describe()


def test_evaluation_scores_a_seeded_sample_of_users_the_same_for_every_model(shop) -> None:
    _, events = shop
    split = temporal_split(events, test_days=30)
    train = training_matrix(split.train, binary=True)
    models = {"popular": "popular", "item-knn": "item-knn"}
    everyone = compare_models(models, train=train, test_events=split.test, n=10)
    users = everyone.results["popular"].counts["evaluated_users"]
    sampled = compare_models(models, train=train, test_events=split.test, n=10, max_users=40)
    per_user = {label: r.report.per_user.index for label, r in sampled.results.items()}
    assert len(per_user["popular"]) == 40 and list(per_user["popular"]) == list(
        per_user["item-knn"]
    )
    assert sampled.results["popular"].counts["users_sampled_from"] == users
    assert f"random sample of 40 of the {users:,} users" in sampled.split_description


def test_sample_relevance_keeps_everyone_up_to_the_cap() -> None:
    relevance = Relevance(np.arange(5), sp.csr_matrix(np.eye(5, 3)), {"evaluated_users": 5})
    assert sample_relevance(relevance, 5) == (relevance, None)
    assert sample_relevance(relevance, None) == (relevance, None)
    smaller, note = sample_relevance(relevance, 2)
    assert smaller.user_rows.size == 2 and smaller.relevant.shape == (2, 3)
    assert np.all(np.diff(smaller.user_rows) > 0) and note is not None


@given(st.floats(min_value=0.01, max_value=1e5), st.sampled_from(["s", "min", "h", ""]))
def test_parse_seconds_reads_durations(number: float, unit: str) -> None:
    scale = {"s": 1, "min": 60, "h": 3600, "": 1}[unit]
    assert parse_seconds(f"{number:.2f}{unit}") == pytest.approx(round(number, 2) * scale)


@pytest.mark.parametrize("text", ["", "soon", "-5min", "0", "20 minutes", "1e3"])
def test_parse_seconds_rejects_what_is_not_a_duration(text: str) -> None:
    with pytest.raises(InputError, match="time budget"):
        parse_seconds(text)


def test_compare_cli_rejects_a_bad_time_budget_without_a_traceback(shop) -> None:
    db, _ = shop
    result = runner.invoke(app, ["compare", "--db", str(db), "--time-budget", "soon"])
    assert result.exit_code == 2
    assert "time budget 'soon' is not a duration" in result.output
    assert "Traceback" not in result.output


def test_compare_json_says_what_the_time_budget_skipped(shop, tmp_path) -> None:
    db, _ = shop
    # on 600 users every fit takes well under a second; a 0.1 s budget leaves only the
    # models estimated under 25 ms (popularity counts)
    args = ["--time-budget", "0.1s", "--no-publish", "--no-auto", "--out", str(tmp_path)]
    result = runner.invoke(app, ["compare", "--db", str(db), *args, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    skipped = {name for name, plan in payload["budget"].items() if plan["action"] == "skipped"}
    assert "bpr" in skipped and "popular" not in skipped
    assert "time budget" in payload["budget"]["bpr"]["message"]
    assert set(payload["params"]) == set(payload["budget"]) - skipped


def test_the_number_of_scored_users_shrinks_with_the_catalogue() -> None:
    assert max_scored_users(3_000) == 50_000  # a small catalogue: the upper cap
    assert max_scored_users(100_000) == 20_000  # 2e9 scored cells
    assert max_scored_users(200_000) == max_scored_users(10**7) == 10_000  # the lower cap
    assert max_scored_users(200_000, validation=True) == 5_000
