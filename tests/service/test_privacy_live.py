"""``DELETE /v1/users/{id}`` and ``GET /v1/users/{id}/export`` on a real server and store.

The store holds users ``1``, ``12`` and ``1x`` with events and one quarantined row each, and
quarantined rows of user ``2`` whose text holds ``1`` elsewhere: erasing ``1`` must take only
user 1's rows, everywhere (quarantine, campaign contacts, the published model's id map).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
from live_server import LiveServer, headers, make_store

from shopguide.data.idmap import IdMap
from shopguide.data.ingest import ingest_frame
from shopguide.recommend import RecommenderStore
from shopguide.store import open_store

READ, ADMIN = headers("read"), headers("admin")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Path]]:
    db = Path(tmp_path_factory.mktemp("privacy-live")) / "shop.duckdb"
    data = make_store(db, n_users=120)
    items = data.items["item_id"].astype(str).tolist()
    users = ["1", "12", "1x"]
    with open_store(db) as store:
        ingest_frame(
            store, "events",
            pd.DataFrame({"user_id": [u for u in users for _ in range(3)],
                          "item_id": items[:3] * len(users),
                          "event_type": "purchase",
                          "timestamp": "2024-03-01T10:00:00"}),
            source="ones.csv",
        )  # fmt: skip
        ingest_frame(
            store, "events",
            pd.DataFrame({"user_id": [*users, "2", "2"],
                          "item_id": [items[0], items[0], items[0], "1", "1 1"],
                          "event_type": "teleport",
                          "timestamp": "2024-01-01"}),
            source="bad.csv",
        )  # fmt: skip
        store.execute(
            "INSERT INTO campaign_contacts VALUES ('spring', '1', now()), ('spring', '12', now())"
        )
    with LiveServer(db) as server:
        yield server, db


def test_export_holds_quarantine_and_campaign_contacts(
    live: tuple[LiveServer, Path],
) -> None:
    server, _ = live
    with httpx.Client(base_url=server.url, timeout=60) as client:
        data = client.get("/v1/users/12/export", headers=ADMIN).json()
    assert len(data["events"]) == 3
    assert [r["reason"].split(":")[0] for r in data["quarantine"]] == ["event_type"]
    assert [r["campaign"] for r in data["campaign_contacts"]] == ["spring"]


def test_erase_over_rest_takes_only_the_users_own_rows(live: tuple[LiveServer, Path]) -> None:
    server, db = live
    registry = RecommenderStore.for_store(db)
    with httpx.Client(base_url=server.url, timeout=60) as client:
        version = client.get("/health").json()["version"]
        assert "1" in registry.load("item-knn", version).users

        blank = client.delete("/v1/users/%20", headers=ADMIN)
        assert blank.status_code == 422
        assert blank.json()["type"] == "InvalidIdError"

        erased = client.delete("/v1/users/1", headers=ADMIN)
        assert erased.status_code == 200, erased.text
        body = erased.json()
        assert body["deleted"]["quarantine"] == 1
        assert body["deleted"]["campaign_contacts"] == 1
        assert body["deleted"]["events"] == 3
        assert body["models_scrubbed"] == [f"item-knn/{version}/users.npz"]

        # everyone else is still served
        assert client.get("/v1/users/12/recommendations", headers=READ).status_code == 200
        assert client.get("/v1/users/1/recommendations", headers=READ).status_code == 404
        assert client.get("/v1/users/1/export", headers=ADMIN).status_code == 404
        left = client.get("/v1/users/2/export", headers=ADMIN).json()["quarantine"]
        assert len(left) == 2

        state = server.state
        with state.lock:
            quarantined = state.store.query_df("SELECT user_id FROM quarantine ORDER BY user_id")[
                "user_id"
            ].tolist()
            contacts = state.store.query_df("SELECT user_id FROM campaign_contacts")["user_id"]
        assert quarantined == ["12", "1x", "2", "2"]
        assert contacts.tolist() == ["12"]
        assert state.store.scalar("SELECT count(*) FROM suppressed_users") == 1

    users = IdMap.load(db.parent / "models" / "item-knn" / version / "users.npz")
    assert "1" not in users and "12" in users and "1x" in users
