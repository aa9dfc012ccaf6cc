"""Property: an erasure removes exactly the rows whose user is the id, nothing else.

Ids are drawn from a tiny alphabet (digits, a letter, a space, an accented letter, JSON and CSV
metacharacters) so that ids are often prefixes, substrings or escaped forms of one another; rows
come in valid and invalid, from a JSON Lines file, a CSV file and an API batch.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shopguide.data.ingest import ingest_file
from shopguide.errors import InvalidIdError
from shopguide.store import open_store
from shopguide.workflows.privacy import erase_user, export_user
from shopguide.workflows.serving.live_ingest import ingest_events

ids = st.text(alphabet='1x2 é",{}\\', min_size=1, max_size=4).filter(lambda s: s.strip() != "")
rows = st.lists(
    st.tuples(ids, st.booleans(), st.sampled_from(["jsonl", "csv", "api"])), max_size=25
)


def _event(user: str, valid: bool, n: int) -> dict[str, str]:
    return {
        "event_id": f"e{n}",
        "user_id": user,
        "item_id": f"item-{n}",
        "event_type": "view" if valid else "teleport",
        "timestamp": "2024-01-01T00:00:00",
    }


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=rows, target=st.one_of(ids, st.text(alphabet="1x ", max_size=3)), pick=st.booleans())
def test_erase_removes_exactly_the_users_rows(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[str, bool, str]],
    target: str,
    pick: bool,
) -> None:
    if pick and rows:
        target = rows[0][0].strip()  # often erase a user that is really there
    folder = Path(tmp_path_factory.mktemp("erase"))
    events = {fmt: [_event(u, ok, n) for n, (u, ok, f) in enumerate(rows) if f == fmt]
              for fmt in ("jsonl", "csv", "api")}  # fmt: skip
    with open_store(folder / "shop.duckdb") as store:
        if events["jsonl"]:
            path = folder / "events.jsonl"
            path.write_text("".join(json.dumps(e) + "\n" for e in events["jsonl"]))
            ingest_file(store, "events", path)
        if events["csv"]:
            text = io.StringIO()
            writer = csv.DictWriter(text, fieldnames=list(events["csv"][0]))
            writer.writeheader()
            writer.writerows(events["csv"])
            path = folder / "events.csv"
            path.write_text(text.getvalue())
            ingest_file(store, "events", path)
        if events["api"]:
            ingest_events(store, events["api"], update_profiles=False)
        owners = {
            t: store.query_df(f"SELECT user_id FROM {t}")["user_id"].tolist()
            for t in ("events", "quarantine")
        }
        # every row is stored under its id as validation reads it (surrounding spaces trimmed)
        assert sorted(owners["events"] + owners["quarantine"]) == sorted(
            u.strip() for u, _, _ in rows
        )

        if not target.strip():
            with pytest.raises(InvalidIdError):
                erase_user(store, target)
            return
        exported = (
            export_user(store, target)
            if target in owners["events"] + owners["quarantine"]
            else None
        )
        result = erase_user(store, target)
        for table, before in owners.items():
            mine = sum(u == target for u in before)
            assert result["deleted"][table] == mine
            if exported is not None:
                assert len(exported[table]) == mine
            after = store.query_df(f"SELECT user_id FROM {table}")["user_id"].tolist()
            assert sorted(after) == sorted(u for u in before if u != target)
