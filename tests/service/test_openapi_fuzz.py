"""Property-based fuzzing of every documented operation with schemathesis: whatever the
generated input (valid or not), the server never answers 5xx.

The schema comes from the app itself; the requests go to a real server on loopback with an
admin key (so role checks do not hide the handlers). Needs ``pip install schemathesis``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from live_server import LiveServer, headers, make_store

from shopguide.service import ServiceSettings, create_app

schema = schemathesis.openapi.from_dict(create_app(ServiceSettings(prepare=False)).openapi())


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    db = Path(tmp_path_factory.mktemp("fuzz")) / "shop.duckdb"
    make_store(db, n_users=150)
    with LiveServer(db) as server:
        yield server


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_error_for_any_input(case: schemathesis.Case, live: LiveServer) -> None:
    if case.method == "POST" and case.path == "/v1/models/{name}/train":
        case.path_parameters = {"name": "popular"}  # fuzz the body, keep each job cheap
    response = case.call(base_url=live.url, headers=headers("admin"), timeout=60)
    assert response.status_code < 500, (case.method, case.path, response.text[:500])
