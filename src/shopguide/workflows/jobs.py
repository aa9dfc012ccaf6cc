"""Background jobs (training and publishing a model): bounded, one per kind at a time.

:class:`JobRunner` runs jobs on a fixed pool of worker threads (one by default: a training
job uses the cores it can get, so two at once only slow each other down). A job has a *key*,
its kind unless given (``train:item-knn``): while a job of a key is queued or running, another
one of the same key is refused with :class:`~shopguide.errors.JobConflictError`, which names
the job to wait for. So a client repeating a train request gets 409, and the number of queued
jobs is bounded by the number of keys, not by how often clients ask.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shopguide.errors import JobConflictError, UnknownIdError

__all__ = ["Job", "JobRunner"]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class Job:
    """A background job's state (JSON-ready through :meth:`to_dict`)."""

    job_id: str
    kind: str
    status: str = "queued"  # queued, running, done, failed
    progress: float = 0.0
    step: str = ""
    result: dict[str, Any] | None = None
    error: str | None = None
    created_at: datetime = field(default_factory=_now)
    finished_at: datetime | None = None

    @property
    def finished(self) -> bool:
        """Done or failed."""
        return self.status in ("done", "failed")

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "kind": self.kind,
            "status": self.status,
            "progress": round(float(self.progress), 3),
            "step": self.step,
            "result": self.result,
            "error": self.error,
            "created_at": self.created_at.isoformat(),
            "finished_at": None if self.finished_at is None else self.finished_at.isoformat(),
        }


class JobRunner:
    """Runs jobs on ``workers`` threads, one job per key at a time, and keeps the state of
    the last ``keep`` jobs by id."""

    def __init__(self, keep: int = 100, *, workers: int = 1) -> None:
        self._jobs: dict[str, Job] = {}
        self._active: dict[str, Job] = {}  # key -> its queued or running job
        self._lock = threading.Lock()
        self._keep = keep
        self._workers = workers
        self._threads: list[threading.Thread] = []
        self._queue: queue.SimpleQueue[tuple[str, Job, Callable[[Job], Any]] | None] = (
            queue.SimpleQueue()
        )
        self._closed = False

    def submit(
        self, kind: str, work: Callable[[Job], dict[str, Any]], *, key: str | None = None
    ) -> Job:
        """Queue ``work(job)``, which may update ``job.progress``/``job.step``, and return the
        job at once. Raises :class:`~shopguide.errors.JobConflictError` while a job of the
        same ``key`` (default: ``kind``) is queued or running."""
        key = kind if key is None else key
        with self._lock:
            if self._closed:
                raise RuntimeError("the job runner is shut down")
            running = self._active.get(key)
            if running is not None:
                raise JobConflictError(kind, running.job_id)
            job = Job(uuid.uuid4().hex[:16], kind)
            self._active[key] = job
            self._jobs[job.job_id] = job
            while len(self._jobs) > self._keep:  # forget the oldest finished job
                oldest = next((j for j in self._jobs.values() if j.finished), None)
                if oldest is None:
                    break
                del self._jobs[oldest.job_id]
            if len(self._threads) < self._workers:  # started on demand, daemons: a running
                thread = threading.Thread(  # job does not keep the process from exiting
                    target=self._work, name=f"job-worker-{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
            self._queue.put((key, job, work))
        return job

    def _work(self) -> None:
        while (task := self._queue.get()) is not None:
            self._run(*task)

    def _run(self, key: str, job: Job, work: Callable[[Job], dict[str, Any]]) -> None:
        with self._lock:  # shutdown() fails queued jobs under the same lock
            if job.status != "queued":  # failed by shutdown() while it waited
                return
            job.status = "running"
        try:
            job.result = work(job)
            job.status = "done"
            job.progress = 1.0
        except Exception as exc:  # a job's failure is reported, never raised
            job.status = "failed"
            job.error = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        finally:
            job.finished_at = _now()
            with self._lock:
                self._active.pop(key, None)

    def get(self, job_id: str) -> Job:
        """A job by id (raises ``UnknownIdError``)."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise UnknownIdError("job", [job_id])
        return job

    def shutdown(self, wait: float = 0.0) -> None:
        """Refuse new jobs and let the workers end after the job each is running, waiting up
        to ``wait`` seconds in all for them; queued jobs are marked failed."""
        with self._lock:
            self._closed = True
            for job in self._active.values():
                if job.status == "queued":
                    job.status, job.error = "failed", "the service stopped before the job ran"
                    job.finished_at = _now()
        for _ in self._threads:
            self._queue.put(None)
        deadline = time.monotonic() + wait
        for thread in list(self._threads):
            if wait > 0 and thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
