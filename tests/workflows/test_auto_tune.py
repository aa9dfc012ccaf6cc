"""Automatic tuning in ``compare`` and ``train --auto`` on a small synthetic shop: it measures
on a validation window inside the training period only, picks a setting that must win, and
records its search where people and the service can read it."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from shopguide.cli.app import app
from shopguide.data.datasets.synthetic import generate, load_synthetic
from shopguide.recommend.saved import RecommenderStore
from shopguide.store import open_store
from shopguide.workflows.auto_tune import auto_tune
from shopguide.workflows.modelling import DEFAULT_PARAMS, compare_store, store_events

runner = CliRunner()
TEST_DAYS = 30
SPACES = {
    "item-knn": {"k": (1, 40)},
    "ease": {"regularization": (50.0, 500.0), "binary": (True, False)},
    "ease-next": {"horizon_days": (10, 20), "weight": (0.0, 0.35)},
}


def cli(*args: str) -> dict:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _shop_data():
    return generate(n_users=600, n_items=150, n_events=60_000, seed=3, days=240)


def _planted(data):
    """The same shop plus a burst of purchases inside the test window only: 300 users each
    buy the five least bought items, a pattern no training event shows."""
    events = data.events
    last = pd.Timestamp(events["timestamp"].max())
    cut = last.normalize() - pd.Timedelta(days=TEST_DAYS)
    bought = events[events["event_type"] == "purchase"]["item_id"].value_counts()
    rare = [i for i in data.items["item_id"] if i not in bought.index][:5] or list(
        bought.index[-5:]
    )
    users = sorted(events["user_id"].unique())[:300]
    rows = []
    for u, user in enumerate(users):
        for j, item in enumerate(rare):
            rows.append(
                {
                    "event_id": f"planted-{u}-{j}",
                    "user_id": user,
                    "item_id": item,
                    "event_type": "purchase",
                    "timestamp": cut + pd.Timedelta(days=5, minutes=u + j),
                    "quantity": 1.0,
                    "price": 10.0,
                    "order_id": f"planted-{u}",
                }
            )
    planted = pd.DataFrame(rows).astype({"timestamp": events["timestamp"].dtype})
    assert planted["timestamp"].max() < last  # the cut (and so the training window) stays
    return dataclasses.replace(data, events=pd.concat([events, planted], ignore_index=True)), cut


@pytest.fixture(scope="module")
def shops(tmp_path_factory):
    folder = tmp_path_factory.mktemp("autotune")
    data = _shop_data()
    planted, cut = _planted(data)
    paths = {"plain": folder / "plain.duckdb", "planted": folder / "planted.duckdb"}
    for name, frames in (("plain", data), ("planted", planted)):
        with open_store(paths[name]) as store:
            load_synthetic(store, frames)
    return paths, cut, folder


def _measured(record):
    """A search record without its timings."""
    return [{k: v for k, v in p.items() if k != "fit_seconds"} for p in record["search"]]


def _compare(db):
    with open_store(db) as store:
        return compare_store(
            store,
            ["item-knn", "ease", "ease-next"],
            test_days=TEST_DAYS,
            publish=False,
            spaces=SPACES,
        )


def test_tuning_never_reads_the_test_window(shops):
    paths, cut, _ = shops
    plain, planted = _compare(paths["plain"]), _compare(paths["planted"])
    # the planted purchases are in the store and the test reads them ...
    assert plain.results["ease"].counts != planted.results["ease"].counts
    # ... but every validation score of every search point is the same to the last bit:
    # the search saw exactly the same events with and without them
    # (ease-next learns from first purchase dates: none of the test window's may reach it)
    assert plain.results["ease-next"].counts != planted.results["ease-next"].counts
    for label, points in (("item-knn", 2), ("ease", 4), ("ease-next", 4)):
        a, b = plain.tuning[label], planted.tuning[label]
        assert len(a["search"]) == points and all("score" in p for p in a["search"])
        assert _measured(a) == _measured(b)
        assert a["validation"] == b["validation"]
        assert pd.Timestamp(a["validation"]["validation_until"]) < cut
        assert pd.Timestamp(a["validation"]["validation_from"]) < cut
    # the window is the end of the training period, by the test window's own rule
    assert plain.tuning["ease"]["validation"]["validation_users"] > 50


def test_compare_picks_the_neighbourhood_that_must_win_and_refits_it(shops):
    paths, _, _ = shops
    comparison = _compare(paths["plain"])
    # a known answer: one neighbour per item cannot rank the shop's planted category
    # favourites as well as forty can (see test_user_actions' tune test)
    knn = comparison.tuning["item-knn"]
    assert knn["chosen_params"]["k"] == 40, knn
    scores = {p["params"]["k"]: p["score"] for p in knn["search"]}
    assert scores[40] > scores[1]
    # the model measured on the test is the winner, refitted on the whole training half
    assert comparison.results["item-knn"].params["k"] == 40
    assert comparison.evidence()["params"]["item-knn"]["k"] == 40
    ease = comparison.tuning["ease"]
    assert len(ease["search"]) == 4 and ease["input"] in ("0/1", "weighted")


def test_compare_cli_reports_the_chosen_params_and_no_auto_keeps_the_defaults(shops):
    paths, _, folder = shops
    db = str(paths["plain"])
    tuned = cli("compare", "--model", "item-knn", "--test-days", "30", "--no-publish",
                "--out", str(folder / "auto"), "--db", db)  # fmt: skip
    record = tuned["tuning"]["item-knn"]
    assert len(record["search"]) == 16 and record["validation_score"] is not None
    assert tuned["params"]["item-knn"]["k"] == record["chosen_params"]["k"]
    saved = json.loads((folder / "auto" / "evidence.json").read_text())
    assert saved["tuning"]["item-knn"]["chosen_params"] == record["chosen_params"]
    plain = cli("compare", "--model", "item-knn", "--test-days", "30", "--no-publish",
                "--no-auto", "--out", str(folder / "plain"), "--db", db)  # fmt: skip
    assert plain["tuning"] == {}
    assert plain["params"]["item-knn"]["k"] == DEFAULT_PARAMS["item-knn"]["k"]


def test_train_auto_publishes_the_best_params_and_records_the_search(shops):
    paths, _, _ = shops
    db = str(paths["plain"])
    result = cli("train", "ease", "--auto", "--param", "regularization=300", "--db", db)
    record = result["tuning"]
    # the given parameter is kept, only the input is searched
    assert [p["params"] for p in record["search"]] == [{}, {}]
    assert {p["binary"] for p in record["search"]} == {True, False}
    loaded = RecommenderStore.for_store(paths["plain"]).load("ease")
    assert loaded.meta["tuning"] == record
    assert loaded.meta["params"]["regularization"] == 300
    assert loaded.meta["binary"] is (record["input"] == "0/1")
    knn = cli("train", "item-knn", "--auto", "--db", db)
    meta = RecommenderStore.for_store(paths["plain"]).load("item-knn").meta
    assert len(meta["tuning"]["search"]) == 16
    for name in ("k", "shrink", "weighting"):
        assert meta["params"][name] == meta["tuning"]["chosen_params"][name] == knn["params"][name]
    # validation is carved from all events: it ends at the last one
    with open_store(paths["plain"]) as store:
        last = store.scalar('SELECT max("timestamp") FROM events')
    assert pd.Timestamp(meta["tuning"]["validation"]["validation_until"]) == pd.Timestamp(last)


def test_points_over_the_memory_budget_are_skipped_and_said(shops):
    paths, _, _ = shops
    with open_store(paths["plain"]) as store:
        events = store_events(store)
    tuned = auto_tune(events, {"ease": {}}, spaces=SPACES, budget_bytes=1000)["ease"]
    assert tuned.score is None and all("skipped" in p for p in tuned.points)
    assert "memory budget" in " ".join(tuned.notes)
    assert "not tuned" in tuned.describe()
