"""Training jobs against a real server (issue 22 item 10): one training per model at a time
(a second request gets 409 naming the running job), a bounded number of job threads, and old
model versions pruned to the newest ``keep_versions`` (plus the current and served one)."""

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

READ, ADMIN = headers("read"), headers("admin")


@pytest.fixture(scope="module")
def server(shop: tuple[Path, SyntheticData]) -> Iterator[LiveServer]:
    with LiveServer(shop[0], keep_versions=2) as live:
        yield live


def _wait_job(client: httpx.Client, job_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}", headers=READ).json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise TimeoutError(job_id)


def _job_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("job")]


def test_one_training_per_model_at_a_time(server: LiveServer, client: httpx.Client) -> None:
    with server.state.lock:  # the job stops at its first store read until the block ends
        first = client.post("/v1/models/item-knn/train", headers=ADMIN)
        again = [client.post("/v1/models/item-knn/train", headers=ADMIN) for _ in range(20)]
        other = client.post("/v1/models/popular/train", headers=ADMIN)
        assert len(_job_threads()) == 1  # 22 requests, one worker thread (started, blocked)
    assert first.status_code == 202, first.text
    job_id = first.json()["job_id"]
    assert {r.status_code for r in again} == {409}
    conflict = again[0].json()
    assert conflict["job_id"] == job_id and job_id in conflict["detail"]
    assert f"/v1/jobs/{job_id}" in conflict["hint"]
    assert other.status_code == 202, other.text  # another model: queued behind it
    assert _wait_job(client, job_id)["status"] == "done"
    assert _wait_job(client, other.json()["job_id"])["status"] == "done"
    after = client.post("/v1/models/item-knn/train", headers=ADMIN)  # free again once done
    assert after.status_code == 202
    assert _wait_job(client, after.json()["job_id"])["status"] == "done"


def test_old_versions_are_pruned(server: LiveServer, client: httpx.Client) -> None:
    folder = server.state.model_store.root / "item-knn"
    for _ in range(3):
        job = client.post("/v1/models/item-knn/train", headers=ADMIN).json()
        done = _wait_job(client, job["job_id"])
        assert done["status"] == "done", done
    on_disk = sorted(p.name for p in folder.iterdir() if p.is_dir())
    assert len(on_disk) == 2, on_disk  # keep_versions=2: the newest two, one of them served
    assert on_disk[-1] == done["result"]["version"]
    assert done["result"]["pruned"] and done["result"]["serving"] is True
    listed = [
        v["version"]
        for v in client.get("/v1/models", headers=READ).json()["versions"]
        if v["model"] == "item-knn"
    ]
    assert listed == on_disk
    assert client.get("/health").json()["version"] == on_disk[-1]
