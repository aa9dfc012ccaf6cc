"""API ingestion keeps one rolling live profile version instead of a full copy per batch."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pandas as pd
from live_server import LiveServer, headers, make_store

from shopguide.data.datasets.synthetic import SyntheticData
from shopguide.data.ingest import ingest_frame
from shopguide.profiles import build_profiles, load_profiles, profile_versions
from shopguide.service.state import ProfileUpdates
from shopguide.store import open_store
from shopguide.workflows.serving.live_ingest import ingest_events


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
        # the live version keeps the key it was made under (the first batch's time) while
        # its events run on; it is read by either
        made = pd.Timestamp("2024-01-05").to_pydatetime()
        live = pd.Timestamp("2024-01-07").to_pydatetime()
        assert sorted(pd.Timestamp(v) for v in versions["as_of"]) == [snapshot, made]
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


def test_the_profile_route_shows_when_the_population_was_measured(tmp_path: Path) -> None:
    """A live update places its users against stored population statistics; the profile
    route says as of when, and once they lag by more than the service's
    ``population_max_age_minutes`` a background refresh measures them again."""
    db = tmp_path / "shop.duckdb"
    data = make_store(db, n_users=200)
    user = str(data.events.loc[data.events["event_type"] == "purchase", "user_id"].iloc[0])
    start = pd.Timestamp(data.events["timestamp"].max()).floor("D") + pd.Timedelta(days=1)
    with (
        LiveServer(db, population_max_age_minutes=90) as server,
        httpx.Client(base_url=server.url, timeout=60) as http,
    ):
        updates = server.state.profile_updates

        def post(minutes: int) -> dict[str, object]:
            when = (start + pd.Timedelta(minutes=minutes)).isoformat()
            batch = {"events": [_purchase(user, when, f"pop-{minutes}")]}
            answer = http.post("/v1/events", json=batch, headers=headers("write"))
            assert answer.status_code == 200, answer.text
            return http.get(f"/v1/users/{user}/profile", headers=headers("read")).json()

        made = post(0)  # makes the live version: measured now
        assert made["population_as_of"] == made["as_of"] == start.isoformat()
        later = post(60)  # an hour on: the statistics lag, within the allowed age
        assert later["as_of"] == (start + pd.Timedelta(minutes=60)).isoformat()
        assert later["population_as_of"] == start.isoformat()
        assert updates.refreshes == 0
        post(120)  # two hours: stale, so the worker measures them again
        _wait_for(lambda: updates.refreshes == 1, "no population refresh ran")
        fresh = http.get(f"/v1/users/{user}/profile", headers=headers("read")).json()
        assert fresh["population_as_of"] == fresh["as_of"]
        assert fresh["as_of"] == (start + pd.Timedelta(minutes=120)).isoformat()
        assert fresh["behaviour"]["orders"] == made["behaviour"]["orders"] + 2


class _Shop:
    """A live server over a small shop, four of its buyers and a time after its events."""

    def __init__(self, server: LiveServer, data: SyntheticData) -> None:
        events = data.events
        self.server, self.state = server, server.state
        self.buyers = sorted(set(events.loc[events["event_type"] == "purchase", "user_id"]))[:4]
        self.later = (pd.Timestamp(events["timestamp"].max()) + pd.Timedelta(hours=1)).isoformat()
        self.answers: dict[str, dict[str, object]] = {}

    def orders(self, user: str) -> int:
        path = f"/v1/users/{user}/profile"
        profile = httpx.get(self.server.url + path, headers=headers("read"), timeout=60).json()
        return int(profile["behaviour"]["orders"])

    def stored_loads(self) -> int:
        return int(self.state.read(lambda store: store.scalar("SELECT count(*) FROM loads")))

    def posting(self, users: list[str]) -> list[threading.Thread]:
        """Started threads, each POSTing one purchase of one user."""

        def post(user: str) -> None:
            batch = {"events": [_purchase(user, self.later, f"together-{user}")]}
            self.answers[user] = httpx.post(
                self.server.url + "/v1/events", json=batch, headers=headers("write"), timeout=60
            ).json()

        threads = [threading.Thread(target=post, args=(user,)) for user in users]
        for thread in threads:
            thread.start()
        return threads


class _WatchedLock:
    """A lock that counts the threads blocked on it, so a test sees a waiter arrive instead of
    sleeping and hoping it did."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = threading.Lock()
        self.waiting = 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        with self._count:
            self.waiting += 1
        try:
            return self._lock.acquire(blocking, timeout)
        finally:
            with self._count:
                self.waiting -= 1

    def release(self) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


class _WatchedCondition(threading.Condition):
    """A condition that counts the threads inside ``wait_for``."""

    waiting = 0

    def wait_for(self, predicate: Callable[[], bool], timeout: float | None = None) -> bool:
        self.waiting += 1  # the condition's lock is held here
        try:
            return super().wait_for(predicate, timeout)
        finally:
            self.waiting -= 1


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_batches_that_arrive_together_share_one_profile_update(tmp_path: Path) -> None:
    """Batches ingested while a profile update runs are covered by the next single update, and
    each answer still comes only once its users' profiles include the batch."""
    db = tmp_path / "shop.duckdb"
    data = make_store(db, n_users=200)
    with LiveServer(db) as server:
        shop = _Shop(server, data)
        updates = shop.state.profile_updates
        before = {user: shop.orders(user) for user in shop.buyers}
        loads, runs = shop.stored_loads(), updates.runs
        with updates.turn:  # as if an update were running: the batches queue
            posts = shop.posting(shop.buyers)
            _wait_for(lambda: shop.stored_loads() == loads + 4, "the batches were not stored")
            assert not shop.answers  # stored, but none answered before its profile update
        for thread in posts:
            thread.join(60)

        assert updates.runs == runs + 1  # one update for the four batches
        shared = sorted(bool(a["profiles_update_shared"]) for a in shop.answers.values())
        assert shared == [False, True, True, True]
        assert {a["profiles_recomputed"] for a in shop.answers.values()} == {4}
        # each answer reports the time of the one update that took it in
        (took,) = {a["profiles_update_ms"] for a in shop.answers.values()}
        assert took > 0
        assert {u: shop.orders(u) for u in shop.buyers} == {u: n + 1 for u, n in before.items()}


def _profiled_shop(tmp_path: Path) -> tuple[Path, list[str], str]:
    """A 200-user store with built profiles, its buyers, and a time after its last event."""
    db = tmp_path / "shop.duckdb"
    data = make_store(db, n_users=200)
    buyers = sorted(set(data.events.loc[data.events["event_type"] == "purchase", "user_id"]))
    later = (pd.Timestamp(data.events["timestamp"].max()) + pd.Timedelta(hours=1)).isoformat()
    with open_store(db) as store:
        build_profiles(store)
    return db, buyers, later


def test_an_update_waits_for_the_batches_already_on_their_way_in(tmp_path: Path) -> None:
    """A batch still being stored when an update is due holds that update back (up to
    ``max_wait``), so one update covers both; without the wait the update would run at once."""
    db, buyers, later = _profiled_shop(tmp_path)
    with open_store(db) as store:
        updates = ProfileUpdates(store.reader, max_wait=30)  # updates on a connection of their own
        landed = updates._landed = _WatchedCondition()  # to see the update start waiting
        first = ingest_events(store, [_purchase(buyers[0], later, "w1")], update_profiles=False)
        covers: list[tuple[int | None, bool, float | None]] = []  # users, shared, seconds
        with updates.ingesting():  # a second batch is on its way in
            waiting = threading.Thread(
                target=lambda: covers.append(updates.cover(first.report.load_id))
            )
            waiting.start()
            _wait_for(lambda: landed.waiting == 1, "the update did not wait for the batch")
            assert updates.runs == 0 and not covers  # the first batch's update waits...
            second = ingest_events(
                store, [_purchase(buyers[1], later, "w2")], update_profiles=False
            )
        waiting.join(60)  # ...until the second batch is stored, then covers both
        assert updates.runs == 1 and [c[:2] for c in covers] == [(2, False)]
        assert updates.covered >= second.report.load_id
        took = covers[0][2]
        assert took is not None and took > 0
        assert updates.cover(second.report.load_id) == (2, True, took)  # the same update
        updates.stop()
        orders = load_profiles(store).set_index("user_id")["orders"]
        built = load_profiles(store, profile_versions(store)["as_of"].min()).set_index("user_id")
        assert orders[buyers[0]] == built.loc[buyers[0], "orders"] + 1
        assert orders[buyers[1]] == built.loc[buyers[1], "orders"] + 1


def test_an_update_does_not_wait_for_batches_that_arrive_after_it_started_waiting(
    tmp_path: Path,
) -> None:
    """With writers sending all the time some batch is nearly always on its way in: an update
    waits only for the batches that had arrived when it became due, not for a moment when none
    is (which made every update under 8 writers wait its whole ``max_wait``)."""
    db, buyers, later = _profiled_shop(tmp_path)
    with open_store(db) as store:
        updates = ProfileUpdates(store.reader, max_wait=120)
        landed = updates._landed = _WatchedCondition()
        first = ingest_events(store, [_purchase(buyers[0], later, "n1")], update_profiles=False)
        covers: list[tuple[int | None, bool]] = []  # users recomputed, shared
        earlier = updates.ingesting()
        earlier.__enter__()  # a batch on its way in before the update is due
        waiting = threading.Thread(
            target=lambda: covers.append(updates.cover(first.report.load_id)[:2])
        )
        waiting.start()
        _wait_for(lambda: landed.waiting == 1, "the update did not wait for the earlier batch")
        with updates.ingesting():  # a later batch arrives and stays on its way in...
            earlier.__exit__(None, None, None)  # ...while the earlier one lands
            started = time.monotonic()
            waiting.join(60)
            assert not waiting.is_alive(), "the update waited for the later batch"
            assert time.monotonic() - started < 30  # far from max_wait (120 s)
            assert updates.runs == 1 and covers == [(1, False)]
            assert updates.in_flight == 1
        updates.stop()


def test_a_batch_sent_without_waiting_is_answered_at_once_and_profiled_in_the_background(
    tmp_path: Path,
) -> None:
    """``wait_for_profiles=false``: the answer comes once the batch is stored, even while a
    profile update runs; the background worker then brings the batch's users' profiles up to
    date, and the default (waiting) mode is unchanged."""
    db = tmp_path / "shop.duckdb"
    data = make_store(db, n_users=200)
    with LiveServer(db) as server:
        shop = _Shop(server, data)
        updates = shop.state.profile_updates
        user = shop.buyers[0]
        before = shop.orders(user)
        batch = {"events": [_purchase(user, shop.later, "background-1")]}
        with updates.turn:  # an update is running: a waiting batch would block here
            answer = httpx.post(
                server.url + "/v1/events",
                params={"wait_for_profiles": "false"},
                json=batch,
                headers=headers("write"),
                timeout=30,
            )
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["accepted"] == 1 and body["profiles_pending"] is True
            assert body["profiles_recomputed"] is None
            assert shop.orders(user) == before  # not in the profile yet
        _wait_for(lambda: updates.covered >= body["load_id"], "no background update ran")
        assert shop.orders(user) == before + 1
        waited = shop.posting([shop.buyers[1]])  # the default mode still waits
        waited[0].join(60)
        assert shop.answers[shop.buyers[1]]["profiles_pending"] is False
        assert shop.answers[shop.buyers[1]]["profiles_recomputed"] == 1


def test_background_updates_go_on_while_a_population_refresh_waits_or_runs(
    tmp_path: Path,
) -> None:
    """A population refresh runs on a thread of its own: the worker that profiles batches
    sent with ``wait_for_profiles=false`` does not wait for it (at 1M users a refresh takes
    6-8 s)."""
    db = tmp_path / "shop.duckdb"
    data = make_store(db, n_users=200)
    with LiveServer(db) as server:
        shop = _Shop(server, data)
        updates = shop.state.profile_updates
        refreshing = updates.refreshing = _WatchedLock()
        user = shop.buyers[0]
        before = shop.orders(user)
        with refreshing:  # held as an erasure holds it: the refresh asked for now waits
            updates.refresh_soon()
            _wait_for(lambda: refreshing.waiting == 1, "no refresh was started")
            answer = httpx.post(
                server.url + "/v1/events",
                params={"wait_for_profiles": "false"},
                json={"events": [_purchase(user, shop.later, "during-refresh")]},
                headers=headers("write"),
                timeout=30,
            ).json()
            _wait_for(lambda: updates.covered >= answer["load_id"], "the update waited")
            assert shop.orders(user) == before + 1
            assert updates.refreshes == 0
        _wait_for(lambda: updates.refreshes == 1, "the refresh did not run once it could")
        assert shop.orders(user) == before + 1


def test_an_erasure_waits_for_a_running_profile_update(tmp_path: Path) -> None:
    """Profile updates run on their own connection; an erasure waits for a running one, so
    that the update cannot write the erased user's profile back."""
    db = tmp_path / "shop.duckdb"
    data = make_store(db, n_users=200)
    with LiveServer(db) as server:
        shop = _Shop(server, data)
        user = shop.buyers[0]
        erased: list[int] = []
        turn = shop.state.profile_updates.turn = _WatchedLock()  # to see the erasure queue

        def erase() -> None:
            url = f"{server.url}/v1/users/{user}"
            erased.append(httpx.delete(url, headers=headers("admin"), timeout=60).status_code)

        eraser = threading.Thread(target=erase)
        with turn:  # an update is running
            eraser.start()
            _wait_for(lambda: turn.waiting == 1, "the erasure did not queue for the update")
            assert not erased  # the erasure waits for it
        eraser.join(60)
        assert erased == [200]
        path = f"{server.url}/v1/users/{user}/profile"
        assert httpx.get(path, headers=headers("read"), timeout=30).status_code == 404
