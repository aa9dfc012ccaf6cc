"""API ingestion keeps one rolling live profile version instead of a full copy per batch."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shopguide.data.ingest import ingest_frame
from shopguide.profiles import build_profiles, load_profiles, profile_versions
from shopguide.store import open_store
from shopguide.workflows.serving import ingest_events


def _purchase(user: str, when: str, order: str) -> dict[str, object]:
    return {"event_id": f"api-{order}", "user_id": user, "item_id": "i1",
            "event_type": "purchase", "timestamp": when, "quantity": 1, "price": 4.0,
            "order_id": order}  # fmt: skip


def test_api_batches_roll_one_live_version_and_keep_the_built_snapshot(tmp_path: Path) -> None:
    events = pd.DataFrame(
        {
            "user_id": ["ann", "bob", "cid"],
            "item_id": ["i1", "i2", "i1"],
            "event_type": ["purchase", "purchase", "view"],
            "timestamp": ["2024-01-01", "2024-01-03", "2024-01-04"],
            "price": [4.0, 6.0, None],
        }
    )
    with open_store(tmp_path / "shop.duckdb") as store:
        ingest_frame(store, "events", events, source="events.csv")
        snapshot = build_profiles(store).as_of
        for day, user in [(5, "ann"), (6, "bob"), (7, "ann")]:
            answer = ingest_events(store, [_purchase(user, f"2024-01-0{day}", f"o{day}")])
            assert answer.profiles_updated == 1
        versions = profile_versions(store)
        assert sorted(versions["mode"]) == ["full", "live"]
        live = pd.Timestamp("2024-01-07").to_pydatetime()
        assert sorted(pd.Timestamp(v) for v in versions["as_of"]) == [snapshot, live]
        assert store.scalar("SELECT count(DISTINCT as_of) FROM profile_agg_users") == 2
        # the snapshot still describes January 4th; the live version has every API purchase
        assert load_profiles(store, snapshot).set_index("user_id").loc["ann", "orders"] == 1
        rows = load_profiles(store, live).set_index("user_id")
        assert rows.loc["ann", "orders"] == 3 and rows.loc["bob", "orders"] == 2
