"""Fixtures: one live server over a synthetic store for the module's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from live_server import LiveServer, make_store

from shopguide.data.datasets.synthetic import SyntheticData


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SyntheticData]:
    folder = Path(tmp_path_factory.mktemp("service"))
    db = folder / "shop.duckdb"
    return db, make_store(db)


@pytest.fixture(scope="module")
def server(shop: tuple[Path, SyntheticData]) -> Iterator[LiveServer]:
    with LiveServer(shop[0]) as live:
        yield live


@pytest.fixture(scope="module")
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        yield http
