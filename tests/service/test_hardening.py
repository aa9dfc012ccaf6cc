"""Service hardening against a real server (issue 22, items 8, 9, 11): the key is checked before
the body is read, bodies and fields have size limits, ids with '/' reach every route, and
audiences refuse unknown segments but keep legitimately empty ones."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
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
@pytest.mark.parametrize("body", [b'{"events": [', b"[1, 2", b'{"events": 7}'])
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


# --------------------------------------------------------------------------- item 9


def _events_stored(client: httpx.Client) -> int:
    return int(client.get("/v1/overview", headers=READ).json()["kpis"]["events"])


def test_a_body_over_the_limit_is_refused_before_it_is_read(client: httpx.Client) -> None:
    before = _events_stored(client)
    event = {"event_id": "big", "user_id": "big", "item_id": "i00001", "event_type": "view",
             "timestamp": "2024-01-01T00:00:00", "campaign_id": "x" * 11_000_000}  # fmt: skip
    body = json.dumps({"events": [event]}).encode()
    declared = client.post("/v1/events", content=body, headers={**JSON, **WRITE})
    assert declared.status_code == 413, declared.text
    assert "larger than 10,000,000 bytes" in declared.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for start in range(0, len(body), 1 << 20):
            yield body[start : start + (1 << 20)]

    chunked = client.post("/v1/events", content=chunks(), headers={**JSON, **WRITE})
    assert chunked.status_code == 413, chunked.text
    assert "larger than" in chunked.json()["detail"]
    assert _events_stored(client) == before


@pytest.mark.parametrize(
    ("field", "value"),
    [("user_id", "u" * 201), ("item_id", "i" * 201), ("event_id", "e" * 201),
     ("event_type", "view" * 100), ("timestamp", "2024" * 100)],
)  # fmt: skip
def test_event_fields_have_a_length_limit(client: httpx.Client, field: str, value: str) -> None:
    event = {"event_id": "len", "user_id": "u1", "item_id": "i00001", "event_type": "view",
             "timestamp": "2024-01-01T00:00:00", field: value}  # fmt: skip
    answer = client.post("/v1/events", json={"events": [event]}, headers=WRITE)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["field"].startswith(f"events.0.{field}")


def test_audience_and_train_fields_have_a_length_limit(client: httpx.Client) -> None:
    long_item = client.post("/v1/audiences", json={"items": ["i" * 201]}, headers=WRITE)
    assert long_item.status_code == 422
    assert long_item.json()["detail"][0]["field"] == "items.0"  # the schema's limit
    long_param = client.post(
        "/v1/models/popular/train", json={"params": {"x": "y" * 201}}, headers=ADMIN
    )
    assert long_param.status_code == 422
    assert long_param.json()["detail"][0]["field"].startswith("params.x")


def test_ids_with_a_slash_reach_every_route(client: httpx.Client) -> None:
    user, item = "a/b", "x/y"
    events = [
        {"event_id": f"slash-{k}", "user_id": u, "item_id": i, "event_type": "purchase",
         "timestamp": f"2024-02-0{1 + k % 5}T10:00:00", "quantity": 1, "price": 5.0,
         "order_id": f"slash-o{k}"}
        for k, (u, i) in enumerate(
            [(user, item), (user, "i00001"), ("u000001", item), ("u000002", item),
             ("u000002", "i00001"), ("u000003", item), ("u000003", "i00001")]
        )
    ]  # fmt: skip
    stored = client.post("/v1/events", json={"events": events}, headers=WRITE)
    assert stored.status_code == 200 and stored.json()["accepted"] == len(events), stored.text
    job = client.post("/v1/models/item-knn/train", headers=ADMIN).json()
    assert _wait_job(client, job["job_id"])["status"] == "done"

    quoted_user, quoted_item = "a%2Fb", "x%2Fy"  # percent-encoded works as well as plain
    for u in (user, quoted_user):
        profile = client.get(f"/v1/users/{u}/profile", headers=READ)
        assert profile.status_code == 200, profile.text
        assert profile.json()["user_id"] == user
        history = client.get(f"/v1/users/{u}/history", headers=READ)
        assert history.status_code == 200 and len(history.json()) == 2
        recs = client.get(f"/v1/users/{u}/recommendations", headers=READ)
        assert recs.status_code == 200 and recs.json()["user_id"] == user
        assert recs.json()["strategy"] == "model"
    for i in (item, quoted_item):
        similar = client.get(f"/v1/items/{i}/similar", headers=READ)
        assert similar.status_code == 200 and similar.json()["item_id"] == item
        assert similar.json()["items"], similar.text
        assert client.get(f"/v1/items/{i}/together", headers=READ).status_code == 200
        detail = client.get(f"/v1/items/{i}", headers=READ)  # reached, not in the catalogue
        assert detail.status_code == 404 and "'x/y'" in detail.json()["detail"], detail.text
    export = client.get(f"/v1/users/{user}/export", headers=ADMIN)
    assert export.status_code == 200 and len(export.json()["events"]) == 2
    assert export.headers["content-type"] == "application/json"
    unknown = client.get("/v1/users/nobody-at-all/export", headers=ADMIN)
    assert unknown.status_code == 404 and "nobody-at-all" in unknown.text, unknown.text
    erased = client.delete(f"/v1/users/{quoted_user}", headers=ADMIN)
    assert erased.status_code == 200 and erased.json()["user_id"] == user
    assert client.get(f"/v1/users/{user}/history", headers=READ).json() == []


def _wait_job(client: httpx.Client, job_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}", headers=READ).json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise TimeoutError(job_id)


# --------------------------------------------------------------------------- item 11


def test_an_unknown_segment_is_refused_naming_the_known_ones(client: httpx.Client) -> None:
    answer = client.post(
        "/v1/audiences", json={"categories": ["Home"], "segments": ["Big Spenders"]}, headers=WRITE
    )
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert "'Big Spenders'" in body["detail"]
    assert "Champions" in body["hint"] and "Hibernating" in body["hint"]


def test_an_audience_that_leaves_nobody_is_saved_read_and_exported(
    client: httpx.Client, shop: tuple[Any, Any]
) -> None:
    data = shop[1]
    # every category promoted and every buyer of it in 100 years excluded: nobody is left
    tops = sorted({str(c).split(">")[0].strip() for c in data.items["category"].dropna()})
    segments = [row["segment"] for row in client.get("/v1/segments", headers=READ).json()]
    request = {"categories": tops, "segments": segments, "exclude_bought_days": 36_500}
    made = client.post("/v1/audiences", json=request, headers=WRITE)
    assert made.status_code == 200, made.text
    assert made.json()["size"] == 0 and made.json()["users"] == []
    audience_id = made.json()["audience_id"]
    read = client.get(f"/v1/audiences/{audience_id}", headers=READ)
    assert read.status_code == 200, read.text
    assert read.json() == {"audience_id": audience_id, "users": []}
    exported = client.get(f"/v1/audiences/{audience_id}/export", headers=READ)
    assert exported.status_code == 200, exported.text
    assert exported.text.strip() == "user_id,score,rank,reasons"
    assert client.get("/v1/audiences/000000000000", headers=READ).status_code == 404
