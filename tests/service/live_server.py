"""A real uvicorn server on a free loopback port, serving a real DuckDB store (test helper).

Used by the service and dashboard tests: ``make_store`` loads a small synthetic shop through
ingestion; ``LiveServer`` runs the app in a background thread with ``uvicorn.Server`` and waits
until it accepts connections (the app's start-up builds profiles and, asked to by default here,
trains item-KNN; ``model=None`` serves the store's current model instead).
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

from shopguide.data.datasets.synthetic import SyntheticData, generate
from shopguide.data.ingest import ingest_frame
from shopguide.service import ServiceSettings, create_app
from shopguide.store import open_store

KEYS = {"read": "test-read-key", "write": "test-write-key", "admin": "test-admin-key"}


def headers(role: str) -> dict[str, str]:
    """The ``X-API-Key`` header of the test key with ``role``."""
    return {"X-API-Key": KEYS[role]}


def make_store(path: Path, *, n_users: int = 300, seed: int = 3) -> SyntheticData:
    """A store at ``path`` with a small synthetic shop loaded through ingestion."""
    data = generate(n_users=n_users, n_items=120, n_events=20_000, seed=seed)
    with open_store(path) as store:
        for table in ("items", "users", "events"):
            ingest_frame(store, table, getattr(data, table), source=f"synthetic-{table}")
    return data


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """``with LiveServer(db) as server: httpx.get(server.url + "/health")``."""

    def __init__(
        self,
        db: Path,
        *,
        model: str | None = "item-knn",
        check_seconds: float = 0.2,
        train_if_missing: bool = True,
        **overrides: Any,
    ) -> None:
        """``overrides``: further :class:`ServiceSettings` fields (``keep_versions=2``, ...)."""
        settings = ServiceSettings(
            db=db,
            api_keys={key: role for role, key in KEYS.items()},
            model=model,
            model_check_seconds=check_seconds,
            train_if_missing=train_if_missing,
            **overrides,
        )
        self.app = create_app(settings)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    @property
    def state(self):  # type: ignore[no-untyped-def]
        return self.app.state.service

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the server failed to start")
            if time.monotonic() > deadline:
                raise TimeoutError("the server did not start within 120 s")
            time.sleep(0.05)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
