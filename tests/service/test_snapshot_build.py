"""A model re-published while requests arrive (issue 22 item 13): the new snapshot is built
without the store lock, so while a build is held mid-way (by a hook this test controls)
recommendations, event batches and store reads all answer, and the swap then catches up with
the events stored during the build."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import LiveServer, headers

from shopguide.data.datasets.synthetic import SyntheticData

READ, WRITE, ADMIN = headers("read"), headers("write"), headers("admin")


@pytest.fixture(scope="module")
def server(shop: tuple[Path, SyntheticData]) -> Iterator[LiveServer]:
    with LiveServer(shop[0]) as live:
        yield live


def _wait_job(client: httpx.Client, job_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}", headers=READ).json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise TimeoutError(job_id)


def test_requests_answer_while_a_snapshot_build_is_held(
    server: LiveServer, client: httpx.Client, shop: tuple[Path, SyntheticData]
) -> None:
    data = shop[1]
    user = str(data.events["user_id"].iloc[0])
    item = str(data.items["item_id"].iloc[-1])
    held, release = threading.Event(), threading.Event()

    def hold(step: str) -> None:
        if step == "events read":
            held.set()
            release.wait(120)

    before = client.get("/health").json()["version"]
    server.state.snapshot_progress = hold
    try:
        job = client.post("/v1/models/item-knn/train", headers=ADMIN).json()
        assert held.wait(60), "the snapshot build never reached its hook"
        quick = httpx.Client(base_url=server.url, timeout=10)  # a blocked route times out
        with quick:
            recs = quick.get(f"/v1/users/{user}/recommendations", headers=READ)
            assert recs.status_code == 200 and recs.json()["version"] == before
            event = {"event_id": "during-build", "user_id": "fresh-during-build",
                     "item_id": item, "event_type": "purchase",
                     "timestamp": "2024-03-01T10:00:00", "quantity": 1, "price": 3.0}  # fmt: skip
            stored = quick.post("/v1/events", json={"events": [event]}, headers=WRITE)
            assert stored.status_code == 200 and stored.json()["accepted"] == 1, stored.text
            assert quick.get("/v1/models", headers=READ).status_code == 200
            assert quick.get(f"/v1/users/{user}/history", headers=READ).status_code == 200
        assert client.get("/health").json()["version"] == before  # not swapped yet
    finally:
        release.set()
        server.state.snapshot_progress = None
    assert _wait_job(client, job["job_id"])["status"] == "done"
    snapshot = server.state.holder.current
    assert snapshot.version != before
    # the event stored during the build is in the new snapshot's rows (caught up at the swap)
    _, items, _ = snapshot.user_items("fresh-during-build")
    assert snapshot.items.external_ids[items].tolist() == [item]
