"""JobRunner: one job per key at a time, a fixed number of worker threads, failures reported."""

from __future__ import annotations

import threading
import time

import pytest

from shopguide.errors import JobConflictError
from shopguide.workflows.jobs import Job, JobRunner


def _wait(job: Job, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not job.finished and time.monotonic() < deadline:
        time.sleep(0.01)
    assert job.finished


def test_one_job_per_key_on_one_worker() -> None:
    runner = JobRunner()
    gate = threading.Event()
    first = runner.submit("train:a", lambda job: {"ok": gate.wait(10)})
    with pytest.raises(JobConflictError) as caught:
        runner.submit("train:a", lambda job: {})
    assert caught.value.job_id == first.job_id
    queued = runner.submit("train:b", lambda job: {"b": True})
    workers = [t for t in threading.enumerate() if t.name.startswith("job-worker")]
    assert len(workers) == 1
    assert queued.status == "queued"
    gate.set()
    _wait(first)
    _wait(queued)
    assert first.result == {"ok": True} and queued.result == {"b": True}
    again = runner.submit("train:a", lambda job: 1 / 0)  # free once the first is done
    _wait(again)
    assert again.status == "failed" and "ZeroDivisionError" in (again.error or "")
    runner.shutdown()
    with pytest.raises(RuntimeError):
        runner.submit("train:c", lambda job: {})


def test_shutdown_fails_the_queued_jobs() -> None:
    runner = JobRunner()
    gate = threading.Event()
    running = runner.submit("a", lambda job: {"ok": gate.wait(10)})
    waiting = runner.submit("b", lambda job: {"ran": True})
    while running.status == "queued":  # the worker has taken it
        time.sleep(0.01)
    runner.shutdown()
    gate.set()
    _wait(running)
    assert running.status == "done"
    assert waiting.status == "failed" and waiting.result is None
