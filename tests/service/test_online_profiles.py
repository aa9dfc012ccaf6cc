"""API ingestion keeps one rolling live profile version instead of a full copy per batch."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pandas as pd
from live_server import LiveServer, headers, make_store

from shopguide.data.ingest import ingest_frame
from shopguide.profiles import build_profiles, load_profiles, profile_versions
from shopguide.store import open_store
from shopguide.workflows.serving import ingest_events


def _purchase(user: str, when: str, order: str) -> dict[str, object]:
    return {"event_id": f"api-{order}", "user_id": user, "item_id": "i1",
            "event_type": "purchase", "timestamp": when, "quantity": 1, "price": 4.0,
            "order_id": order}  # fmt: skip


def test_api_batches_roll_one_live_version_and_keep_the_built_snapshot(tmp_path: Path) -> None:
    events = pd.DataFrame(
        {
            "user_id": ["ann", "bob", "cid"],
            "item_id": ["i1", "i2", "i1"],
            "event_type": ["purchase", "purchase", "view"],
            "timestamp": ["2024-01-01", "2024-01-03", "2024-01-04"],
            "price": [4.0, 6.0, None],
        }
    )
    with open_store(tmp_path / "shop.duckdb") as store:
        ingest_frame(store, "events", events, source="events.csv")
        snapshot = build_profiles(store).as_of
        for day, user in [(5, "ann"), (6, "bob"), (7, "ann")]:
            answer = ingest_events(store, [_purchase(user, f"2024-01-0{day}", f"o{day}")])
            assert answer.profiles_updated == 1
        versions = profile_versions(store)
        assert sorted(versions["mode"]) == ["full", "live"]
        live = pd.Timestamp("2024-01-07").to_pydatetime()
        assert sorted(pd.Timestamp(v) for v in versions["as_of"]) == [snapshot, live]
        assert store.scalar("SELECT count(DISTINCT as_of) FROM profile_agg_users") == 2
        # the snapshot still describes January 4th; the live version has every API purchase
        assert load_profiles(store, snapshot).set_index("user_id").loc["ann", "orders"] == 1
        rows = load_profiles(store, live).set_index("user_id")
        assert rows.loc["ann", "orders"] == 3 and rows.loc["bob", "orders"] == 2


def test_profile_reads_answer_while_a_write_holds_the_store(tmp_path: Path) -> None:
    """A read route uses its own connection: it neither waits for a write that holds the store
    lock (an ingested batch and its profile update) nor sees that write before it commits."""
    db = tmp_path / "shop.duckdb"
    data = make_store(db, n_users=200)
    user = str(data.events.loc[data.events["event_type"] == "purchase", "user_id"].iloc[0])
    with LiveServer(db) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        path = f"/v1/users/{user}/profile"
        before = http.get(path, headers=headers("read")).json()["behaviour"]["orders"]
        state = server.state
        writing, release = threading.Event(), threading.Event()
        later = (pd.Timestamp(data.events["timestamp"].max()) + pd.Timedelta(hours=1)).isoformat()

        def write() -> None:  # what POST /v1/events does, held open half-way
            with state.lock, state.store.transaction():
                ingest_events(state.store, [_purchase(user, later, "held-1")])
                writing.set()
                release.wait(30)

        writer = threading.Thread(target=write)
        writer.start()
        try:
            assert writing.wait(30)
            # a read that waited for the lock would run into this timeout and fail the test
            during = http.get(path, headers=headers("read"), timeout=10)
            assert during.status_code == 200
            assert during.json()["behaviour"]["orders"] == before  # nothing uncommitted seen
            assert http.get(f"/v1/users/{user}/history", headers=headers("read")).status_code == 200
        finally:
            release.set()
            writer.join(30)
        after = http.get(path, headers=headers("read")).json()["behaviour"]["orders"]
        assert after == before + 1  # committed: the next read sees the new order


def test_batches_that_arrive_together_share_one_profile_update(tmp_path: Path) -> None:
    """Batches ingested while a profile update runs are covered by the next single update, and
    each answer still comes only once its users' profiles include the batch."""
    db = tmp_path / "shop.duckdb"
    data = make_store(db, n_users=200)
    buyers = sorted(set(data.events.loc[data.events["event_type"] == "purchase", "user_id"]))[:4]
    later = (pd.Timestamp(data.events["timestamp"].max()) + pd.Timedelta(hours=1)).isoformat()
    with LiveServer(db) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        state = server.state

        def orders(user: str) -> int:
            profile = http.get(f"/v1/users/{user}/profile", headers=headers("read")).json()
            return int(profile["behaviour"]["orders"])

        def stored_loads() -> int:
            return int(state.read(lambda store: store.scalar("SELECT count(*) FROM loads")))

        before = {user: orders(user) for user in buyers}
        loads, runs = stored_loads(), state.profile_updates.runs
        answers: dict[str, dict[str, object]] = {}

        def post(user: str) -> None:
            with httpx.Client(base_url=server.url, timeout=60) as own:
                batch = {"events": [_purchase(user, later, f"together-{user}")]}
                answers[user] = own.post("/v1/events", json=batch, headers=headers("write")).json()

        posts = [threading.Thread(target=post, args=(user,)) for user in buyers]
        with state.profile_updates.turn:  # as if an update were running: the batches queue
            for thread in posts:
                thread.start()
            deadline = time.monotonic() + 60
            while stored_loads() < loads + len(buyers):  # every batch is stored...
                assert time.monotonic() < deadline, "the batches were not ingested"
                time.sleep(0.05)
            assert not answers  # ...but none is answered before its profile update
        for thread in posts:
            thread.join(60)

        assert state.profile_updates.runs == runs + 1  # one update for the four batches
        assert sorted(bool(a["profiles_update_shared"]) for a in answers.values()) == [
            False, True, True, True,
        ]  # fmt: skip
        assert {a["profiles_recomputed"] for a in answers.values()} == {len(buyers)}
        assert {user: orders(user) for user in buyers} == {u: n + 1 for u, n in before.items()}
