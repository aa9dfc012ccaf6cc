"""POST /v1/events applies the ingestion limits: a poisoned batch is rejected per event (#22).

Before the limits, a purchase with price and quantity 1e300 answered 500, was stored anyway,
and every later batch answered 500 (the profile update overflowed on it).
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from live_server import headers

from shopguide.data.datasets.synthetic import SyntheticData

WRITE, READ = headers("write"), headers("read")


def _purchase(user: str, item: str, **values: object) -> dict[str, object]:
    return {
        "user_id": user,
        "item_id": item,
        "event_type": "purchase",
        "timestamp": "2024-06-29T10:00:00",
        **values,
    }


def test_a_batch_of_impossible_amounts_is_rejected_per_event_and_later_batches_work(
    client: httpx.Client, shop: tuple[Path, SyntheticData]
) -> None:
    item = str(shop[1].items["item_id"].iloc[0])
    poisoned = [
        _purchase("api-big", item, event_id="big-1", price=1e300, quantity=1e300),
        _purchase("api-big", item, event_id="big-2", price=10_000, quantity=1e15),
        _purchase("api-big", item, event_id="big-3", price=5.0, quantity=1),
    ]
    first = client.post("/v1/events", json={"events": poisoned}, headers=WRITE)
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["accepted"], body["rejected"]) == (1, 2)
    reasons = {r["index"]: r for r in body["rejections"]}
    assert reasons[0]["field"] == "quantity"
    assert "quantity: too large" in reasons[0]["reason"]
    assert "price: too large" in reasons[0]["reason"]
    assert reasons[1]["reason"].startswith("quantity: too large")

    later = [_purchase("api-big", item, event_id="big-4", price=7.5, quantity=2)]
    second = client.post("/v1/events", json={"events": later}, headers=WRITE)
    assert second.status_code == 200, second.text
    assert second.json()["accepted"] == 1
    history = client.get("/v1/users/api-big/history", headers=READ)
    assert history.status_code == 200, history.text
    assert sorted((e["quantity"], e["price"]) for e in history.json()) == [(1, 5.0), (2, 7.5)]


def test_true_or_false_is_no_id_and_no_number(client: httpx.Client) -> None:
    # pydantic would make true the id 1 and the quantity 1.0; the files reject it too
    for field, value in [("user_id", True), ("item_id", False), ("quantity", True)]:
        event = {**_purchase("api-bool", "i1"), field: value}
        answer = client.post("/v1/events", json={"events": [event]}, headers=WRITE)
        assert answer.status_code == 422, answer.text
        assert field in answer.text


def test_a_lone_surrogate_escape_is_refused_and_the_service_keeps_working(
    client: httpx.Client,
) -> None:
    # json.dumps writes "\ud800" as the escape itself: half a character, which UTF-8 (and so
    # the store) cannot hold; the request validation refuses the batch naming the field
    body = json.dumps({"events": [_purchase("api-\ud800", "i1", event_id="sur-1")]})
    answer = client.post(
        "/v1/events", content=body, headers={**WRITE, "Content-Type": "application/json"}
    )
    assert answer.status_code == 422, answer.text
    assert "user_id" in answer.text
    fine = client.post(
        "/v1/events", json={"events": [_purchase("api-ok", "i1", event_id="sur-2")]}, headers=WRITE
    )
    assert fine.status_code == 200, fine.text
    assert fine.json()["accepted"] == 1
