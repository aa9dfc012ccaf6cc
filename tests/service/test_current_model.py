"""One current model: after ``compare``, the CLI's ``recommend``/``similar``/``campaign`` and the
real HTTP server all use the model it published; before, nothing trains behind the user's back
(the CLI says how to publish one, the server serves popularity under a name that says so)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import LiveServer, headers, make_store
from typer.testing import CliRunner

from shopguide.cli.app import app
from shopguide.data.datasets.synthetic import SyntheticData
from shopguide.recommend.saved import RecommenderStore
from shopguide.workflows.current_model import FALLBACK_MODEL

runner = CliRunner()
READ, WRITE, ADMIN = headers("read"), headers("write"), headers("admin")


def cli(*args: str, code: int = 0) -> Any:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == code, result.output
    return json.loads(result.output) if code == 0 else result.output


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SyntheticData]:
    db = Path(tmp_path_factory.mktemp("current")) / "shop.duckdb"
    return db, make_store(db)


def _buyer(data: SyntheticData) -> str:
    buys = data.events[data.events["event_type"] == "purchase"]
    return str(buys["user_id"].value_counts().index[0])


def _item(data: SyntheticData) -> str:
    return str(data.events["item_id"].value_counts().index[0])


@pytest.fixture(scope="module")
def before_compare(store: tuple[Path, SyntheticData]) -> Iterator[dict[str, Any]]:
    """What the CLI and a started server do on the store before any model is published."""
    db, data = store
    seen: dict[str, Any] = {
        "recommend": cli("recommend", _buyer(data), "--db", str(db), code=2),
        "similar": cli("similar", _item(data), "--db", str(db), code=2),
    }
    with (
        LiveServer(db, model=None, train_if_missing=False) as server,
        httpx.Client(base_url=server.url, timeout=60) as http,
    ):
        seen["health"] = http.get("/health").json()
        seen["answer"] = http.get(f"/v1/users/{_buyer(data)}/recommendations", headers=READ).json()
    seen["registry_versions"] = {
        name: RecommenderStore.for_store(db).versions(name) for name in ("item-knn", "popular")
    }
    yield seen


def test_without_a_current_model_nothing_is_trained_and_every_answer_says_so(
    before_compare: dict[str, Any],
) -> None:
    for command in ("recommend", "similar"):
        message = before_compare[command]
        assert "has no current model" in message and "shopguide compare" in message
        assert "Traceback" not in message
    assert before_compare["health"]["model"] == FALLBACK_MODEL
    answer = before_compare["answer"]
    assert answer["model"] == FALLBACK_MODEL and "run shopguide compare" in answer["model"]
    assert answer["items"]  # popularity is served meanwhile
    assert before_compare["registry_versions"] == {"item-knn": [], "popular": []}  # no training


@pytest.fixture(scope="module")
def winner(store: tuple[Path, SyntheticData], before_compare: dict[str, Any]) -> dict[str, Any]:
    db, _ = store
    evidence = cli(
        "compare", "--model", "popular", "--model", "item-knn", "--model", "ease",
        "--test-days", "30", "--out", str(db.parent / "cmp"), "--db", str(db),
    )  # fmt: skip
    current = RecommenderStore.for_store(db).current()
    assert current is not None and current.model == evidence["chosen_model"]
    return {"model": current.model, "version": current.version, "evidence": evidence}


def test_compare_reports_the_margin_and_makes_its_choice_current(winner: dict[str, Any]) -> None:
    evidence = winner["evidence"]
    margin = evidence["margins"][0]
    low, high = margin["interval"]
    assert low <= margin["difference"] <= high and margin["tie"] == (low <= 0 <= high)
    assert evidence["verdict"].startswith("tie: " if evidence["tie"] else "winner: ")


def test_recommend_and_similar_use_the_compared_model(
    store: tuple[Path, SyntheticData], winner: dict[str, Any]
) -> None:
    db, data = store
    rec = cli("recommend", _buyer(data), "--db", str(db))
    assert (rec["model"], rec["version"]) == (winner["model"], winner["version"])
    assert rec["items"]
    like = cli("similar", _item(data), "--db", str(db))
    assert (like["model"], like["version"]) == (winner["model"], winner["version"])


def test_campaign_audience_audit_names_the_model_it_used(
    store: tuple[Path, SyntheticData], winner: dict[str, Any]
) -> None:
    db, _ = store
    out = db.parent / "aud"
    args = ("campaign", "audience", "toys", "--category", "Toys", "--size", "20")
    summary = cli(*args, "--out", str(out), "--db", str(db))
    used = summary["recommender"]
    assert used["used"] is True
    assert (used["model"], used["version"]) == (winner["model"], winner["version"])
    audit = json.loads(Path(summary["files"]["json"]).read_text())
    assert audit["recommender"] == used
    none = cli(*args, "--model", "", "--out", str(out), "--db", str(db))["recommender"]
    assert none["used"] is False and "no recommender" in none["reason"]


def test_train_makes_its_model_current_unless_told_not_to(
    store: tuple[Path, SyntheticData], winner: dict[str, Any]
) -> None:
    db, _ = store
    registry = RecommenderStore.for_store(db)
    other = "user-knn"
    published = cli("train", other, "--no-current", "--db", str(db))
    assert published["current"] is False
    assert (registry.current().model, registry.current().version) == (  # type: ignore[union-attr]
        winner["model"], winner["version"],
    )  # fmt: skip
    assert registry.versions(other) == [published["version"]]
    _, data = store
    named = cli("recommend", _buyer(data), "--model", other, "--db", str(db))
    assert named["model"] == other  # --model chooses another published model
    assert cli("recommend", _buyer(data), "--db", str(db))["model"] == winner["model"]


def test_the_server_serves_the_current_model_and_follows_it(
    store: tuple[Path, SyntheticData], winner: dict[str, Any]
) -> None:
    db, data = store
    with (
        LiveServer(db, model=None, train_if_missing=False) as server,
        httpx.Client(base_url=server.url, timeout=60) as http,
    ):
        health = http.get("/health").json()
        assert (health["model"], health["version"]) == (winner["model"], winner["version"])
        answer = http.get(f"/v1/users/{_buyer(data)}/recommendations", headers=READ).json()
        assert (answer["model"], answer["version"]) == (winner["model"], winner["version"])
        like = http.get(f"/v1/items/{_item(data)}/similar", headers=READ).json()
        assert (like["model"], like["version"]) == (winner["model"], winner["version"])
        models = http.get("/v1/models", headers=READ).json()
        assert models["store_current"]["model"] == winner["model"]
        audience = http.post(
            "/v1/audiences", json={"categories": ["Toys"], "size": 5, "name": "t"}, headers=WRITE
        ).json()
        assert audience["recommender"] == {
            "used": True, "model": winner["model"], "version": winner["version"],
        }  # fmt: skip
        # training through the service makes that model current, and the server follows
        other = "popular" if winner["model"] != "popular" else "item-knn"
        job = http.post(f"/v1/models/{other}/train", headers=ADMIN).json()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            state = http.get(f"/v1/jobs/{job['job_id']}", headers=READ).json()
            if state["status"] in ("done", "failed"):
                break
            time.sleep(0.1)
        assert state["status"] == "done" and state["result"]["serving"] is True, state
        assert http.get("/health").json()["model"] == other
    assert RecommenderStore.for_store(db).current().model == other  # type: ignore[union-attr]
