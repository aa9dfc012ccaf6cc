"""Churn risk in the service is the ``user_predictions`` table that ``shopguide churn score``
(``workflows.retention.score_store``) writes: one model and one set of numbers.

Against a real server and store: the churn list and the user 360° answer equal the table's
rows; a changed or erased row shows at once; an empty table is scored on demand through the
same workflow; when purchases of a later day arrive the stored rows are served as ``stale``
while a background rescoring brings them to the new day.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from live_server import LiveServer, headers, make_store

from shopguide.store import open_store
from shopguide.workflows.retention import predictions

READ, WRITE, ADMIN = headers("read"), headers("write"), headers("admin")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Path]]:
    db = Path(tmp_path_factory.mktemp("churn")) / "shop.duckdb"
    make_store(db, n_users=150, seed=5)
    with LiveServer(db) as server:
        yield server, db


@pytest.fixture(scope="module")
def client(live: tuple[LiveServer, Path]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live[0].url, timeout=300) as http:
        yield http


def _table(db: Path) -> pd.DataFrame:
    """The latest ``user_predictions`` rows, read the way ``shopguide churn list`` reads them
    (a second connection of this process to the server's database)."""
    with open_store(db) as store:
        return predictions(store)


def _all_listed(client: httpx.Client) -> dict[str, Any]:
    answer = client.get("/v1/churn?limit=10000", headers=READ)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def _wait_current(client: httpx.Client, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = _all_listed(client)
        if not listed["stale"] and not listed["scoring"]:
            return listed
        time.sleep(0.5)
    raise TimeoutError("the churn rescoring did not finish")


def _assert_same(listed: dict[str, Any], table: pd.DataFrame) -> None:
    scored = table[table["churn_probability"].notna()]
    assert listed["as_of"] == pd.Timestamp(scored["as_of"].iloc[0]).isoformat()
    assert listed["buyers"] == len(scored)
    assert [u["user_id"] for u in listed["users"]] == scored["user_id"].astype(str).tolist()
    assert [u["churn_probability"] for u in listed["users"]] == scored["churn_probability"].tolist()
    assert [u["reasons"] for u in listed["users"]] == scored["churn_reasons"].tolist()
    clv = [None if pd.isna(v) else v for v in scored["clv"]]
    assert [u["clv"] for u in listed["users"]] == clv


def test_churn_numbers_are_the_user_predictions_rows(
    client: httpx.Client, live: tuple[LiveServer, Path]
) -> None:
    db = live[1]
    listed = _wait_current(client)
    table = _table(db)
    _assert_same(listed, table)
    assert listed["source"].startswith("user_predictions")
    # the user 360 answer is the same row
    for row in table[table["churn_probability"].notna()].head(3).itertuples():
        one = client.get(f"/v1/users/{row.user_id}/retention", headers=READ).json()
        assert one["churn"]["churn_probability"] == row.churn_probability
        assert one["churn"]["reasons"] == row.churn_reasons
        assert one["clv"]["clv"] == pytest.approx(row.clv, abs=0, rel=0)
        # an empty P(alive) (not informative) is null, with the reason beside it
        assert one["clv"]["p_alive"] == (None if pd.isna(row.p_alive) else row.p_alive)
        assert one["clv"]["value_note"] == (None if pd.isna(row.value_note) else row.value_note)
    # a new scoring of the same day (here: one changed row) shows at the next read
    user = str(table["user_id"].iloc[0])
    with open_store(db) as store:
        store.execute(
            "UPDATE user_predictions SET churn_probability = 0.123456 WHERE user_id = ?", [user]
        )
    one = client.get(f"/v1/users/{user}/retention", headers=READ).json()
    assert one["churn"]["churn_probability"] == 0.123456
    _assert_same(_all_listed(client), _table(db))
    # erasing a user removes their predictions from the table and from the list
    assert client.delete(f"/v1/users/{user}", headers=ADMIN).status_code == 200
    assert (_table(db)["user_id"] != user).all()
    assert user not in [u["user_id"] for u in _all_listed(client)["users"]]
    assert client.get(f"/v1/users/{user}/retention", headers=READ).status_code == 404


def test_no_predictions_are_scored_on_demand_by_the_cli_workflow(
    client: httpx.Client, live: tuple[LiveServer, Path]
) -> None:
    db = live[1]
    _wait_current(client)  # no background scoring left running
    with open_store(db) as store:
        store.execute("DELETE FROM user_predictions")
    listed = _all_listed(client)  # scores now, then answers
    assert not listed["stale"] and listed["buyers"] > 0
    _assert_same(listed, _table(db))


def test_later_purchases_make_predictions_stale_until_rescored(
    client: httpx.Client, live: tuple[LiveServer, Path]
) -> None:
    db = live[1]
    before = _wait_current(client)
    old_day = pd.Timestamp(before["as_of"])
    later = old_day + pd.Timedelta(days=3, hours=10)
    buyer = before["users"][-1]["user_id"]  # the safest buyer buys again
    answer = client.post(
        "/v1/events",
        json={"events": [{"event_id": "churn-later-1", "user_id": buyer, "item_id": "i00003",
                          "event_type": "purchase", "timestamp": later.isoformat(),
                          "quantity": 1, "price": 12.5, "order_id": "churn-later-order"}]},
        headers=WRITE,
    ).json()  # fmt: skip
    assert answer["accepted"] == 1
    stale = _all_listed(client)
    assert stale["data_as_of"] == later.floor("D").isoformat()
    if stale["stale"]:  # unless the rescoring already finished: the old day's rows meanwhile
        assert stale["as_of"] == old_day.isoformat()
        with open_store(db) as store:  # the old day's rows stay in the table
            _assert_same(stale, predictions(store, as_of=old_day.isoformat()))
    fresh = _wait_current(client)
    assert fresh["as_of"] == later.floor("D").isoformat()
    _assert_same(fresh, _table(db))


def test_the_churn_model_is_versioned_and_not_listed_as_a_recommender(
    client: httpx.Client, live: tuple[LiveServer, Path]
) -> None:
    db = live[1]
    _wait_current(client)  # the service has scored, so it trained and saved a churn model
    folder = db.parent / "models" / "churn"
    current = (folder / "CURRENT").read_text().strip()
    assert (folder / current / "model.skops").is_file()
    assert not (db.parent / "models" / "churn.skops").exists()
    listed = client.get("/v1/models", headers=READ)
    assert listed.status_code == 200, listed.text
    assert "churn" not in {v["model"] for v in listed.json()["versions"]}
