"""GET /v1/models gives, for each published version, the automatic parameter search behind it
(``compare``'s per-model searches, ``train --auto``'s one search): every point with its
parameters and validation score, which one was chosen, the metric and the validation window;
``{}`` for a version nothing was searched for (real CLI runs, real HTTP server)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from live_server import LiveServer, headers, make_store
from typer.testing import CliRunner

from shopguide.recommend import create_model
from shopguide.recommend.saved import RecommenderStore
from shopguide.workflows.auto_tune import KEPT_DEFAULTS
from shopguide.workflows.modelling import DEFAULT_PARAMS

runner = CliRunner()


def cli(*args: str) -> Any:
    from shopguide.cli.app import app

    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _meta(db: Path, model: str, version: str) -> dict[str, Any]:
    root = Path(RecommenderStore.for_store(db).root)
    return dict(json.loads((root / model / version / "meta.json").read_text()))


def _expected_points(record: dict[str, Any]) -> list[tuple[dict[str, Any], float | None]]:
    """(params with the searched input, score) of every point of a stored search record."""
    return [
        ({**p["params"], **({"binary": p["binary"]} if "binary" in p else {})}, p.get("score"))
        for p in record["search"]
    ]


@pytest.fixture(scope="module")
def listed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any]]]:
    folder = Path(tmp_path_factory.mktemp("tuning"))
    db = folder / "shop.duckdb"
    make_store(db)
    db_arg = ("--db", str(db))
    cli("train", "popular", *db_arg)
    cli("train", "ease", "--auto", *db_arg)
    out = ("--test-days", "30", "--out")
    cli("compare", "--model", "item-knn", "--no-auto", *out, str(folder / "plain"), *db_arg)
    cli("compare", "--model", "popular", "--model", "item-knn", *out, str(folder / "auto"), *db_arg)
    with (
        LiveServer(db, model=None, train_if_missing=False) as server,
        httpx.Client(base_url=server.url, headers=headers("read"), timeout=60) as client,
    ):
        response = client.get("/v1/models")
    assert response.status_code == 200, response.text
    yield db, response.json()


def test_a_compared_version_lists_each_models_search_and_the_chosen_point(
    listed: tuple[Path, dict[str, Any]],
) -> None:
    db, body = listed
    published = [v for v in body["versions"] if v["evaluation"] and v["tuning"]]
    assert len(published) == 1
    version = published[0]
    evidence = _meta(db, version["model"], version["version"])["evaluation"]
    tuning = version["tuning"]
    assert set(tuning) == set(evidence["tuning"]) == {"popular", "item-knn"}
    # popularity has nothing to search
    assert tuning["popular"]["tuned"] is False
    assert tuning["popular"]["points"] == [] and tuning["popular"]["chosen"] is None
    knn, record = tuning["item-knn"], evidence["tuning"]["item-knn"]
    assert knn["tuned"] is True and knn["metric"] == record["metric"] == "ndcg@10"
    assert [(p["params"], p["score"]) for p in knn["points"]] == _expected_points(record)
    assert len(knn["points"]) == 16
    # the chosen point: the chosen parameters; the best validation score unless the search
    # kept the defaults because the best was ahead only by noise (the notes say so)
    chosen = knn["points"][knn["chosen"]]
    assert chosen["score"] == record["validation_score"] == knn["chosen_score"]
    kept = [n for n in knn["notes"] if n.startswith(KEPT_DEFAULTS)]
    assert knn["notes"] == record["notes"]
    if kept:
        assert chosen["score"] < max(p["score"] for p in knn["points"])
        defaults = create_model("item-knn", **DEFAULT_PARAMS["item-knn"]).get_params()
        assert chosen["params"] == {k: defaults[k] for k in chosen["params"]}
    else:
        assert chosen["score"] == max(p["score"] for p in knn["points"])
    assert all(record["chosen_params"][k] == v for k, v in chosen["params"].items())
    assert knn["points"][0]["label"] == "k=20, shrink=0, weighting=none"
    window = record["validation"]
    assert knn["validation"] == {
        "from": window["validation_from"],
        "until": window["validation_until"],
        "users": window["validation_users"],
        "train_events": window["train_events"],
    }
    # the window is carved from the training half: it ends before the comparison's test cut
    test_from = re.search(r"test = events on/after (\S+ \S+)", evidence["split"]["description"])
    assert test_from is not None
    assert pd.Timestamp(knn["validation"]["until"]) < pd.Timestamp(test_from.group(1))


def test_train_auto_and_untuned_versions(listed: tuple[Path, dict[str, Any]]) -> None:
    db, body = listed
    ease = [v for v in body["versions"] if v["model"] == "ease"]
    assert len(ease) == 1 and set(ease[0]["tuning"]) == {"ease"}
    record = _meta(db, "ease", ease[0]["version"])["tuning"]
    search = ease[0]["tuning"]["ease"]
    assert [(p["params"], p["score"]) for p in search["points"]] == _expected_points(record)
    assert {p["params"]["binary"] for p in search["points"]} == {True, False}
    assert search["points"][search["chosen"]]["score"] == record["validation_score"]
    assert any(p["label"].endswith("0/1 input") for p in search["points"])
    # plain train and compare --no-auto searched nothing
    popular = [v for v in body["versions"] if v["model"] == "popular" and not v["evaluation"]]
    assert popular and all(v["tuning"] == {} for v in popular)
    compared = [v for v in body["versions"] if v["evaluation"]]
    no_auto = [
        v for v in compared if not _meta(db, v["model"], v["version"])["evaluation"]["tuning"]
    ]
    assert len(no_auto) == 1 and no_auto[0]["tuning"] == {}
    # the search is given once, as ``tuning``; the evaluation does not repeat it
    assert compared and all("tuning" not in v["evaluation"] for v in compared)
