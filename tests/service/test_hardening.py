"""Service hardening against a real server (issue 22, items 8, 9, 11): the key is checked before
the body is read, bodies and fields have size limits, ids with '/' reach every route, and
audiences refuse unknown segments but keep legitimately empty ones."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from live_server import headers

READ, WRITE, ADMIN = headers("read"), headers("write"), headers("admin")
WRONG = {"X-API-Key": "not-a-key"}
JSON = {"Content-Type": "application/json"}

# --------------------------------------------------------------------------- item 8

BODY_ROUTES = [
    ("/v1/events", "write"),
    ("/v1/audiences", "write"),
    ("/v1/models/popular/train", "admin"),
]


@pytest.mark.parametrize(("path", "needs"), BODY_ROUTES)
@pytest.mark.parametrize("body", [b"{\"events\": [", b"[1, 2", b"{\"events\": 7}"])
def test_the_key_is_checked_before_the_body(
    client: httpx.Client, path: str, needs: str, body: bytes
) -> None:
    missing = client.post(path, content=body, headers=JSON)
    assert missing.status_code == 401, missing.text
    assert "X-API-Key" in missing.json()["detail"]
    assert client.post(path, content=body, headers={**JSON, **WRONG}).status_code == 401
    low = client.post(path, content=body, headers={**JSON, **READ})
    assert low.status_code == 403, low.text
    right = client.post(path, content=body, headers={**JSON, **headers(needs)})
    assert right.status_code == 422, right.text
