"""Audiences chosen on the command line are kept in the store with their audit record.

``shopguide campaign audience`` writes CSV and JSON files; it also stores the members in the
``audiences`` table (the one the service saves to) and the audit record (settings, sizes,
exclusions, estimate, model) in ``audience_audits``, so the report and later commands find them.
The audience id is derived from the campaign's settings and the scoring time: running the same
campaign again on the same data replaces its rows instead of adding a copy.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import pandas as pd

from shopguide.data.times import naive_utc
from shopguide.store.base import Store
from shopguide.targeting.campaign import Audience
from shopguide.workflows.audiences import write_audience


def audit_record(audience: Audience, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The audit record to store: the summary, with the opted-out ids replaced by their count."""
    record = audience.summary()
    settings = dict(record["campaign"])
    settings["opted_out"] = len(settings.get("opted_out") or ())
    return {**record, "campaign": settings, **(extra or {})}


def audience_id(audience: Audience, as_of: datetime | str) -> str:
    """A stable id for the campaign's settings scored at ``as_of``."""
    key = json.dumps(
        {"campaign": audience.campaign.settings(), "as_of": str(pd.Timestamp(as_of))},
        sort_keys=True, default=str,
    )  # fmt: skip
    return "cli-" + hashlib.sha256(key.encode()).hexdigest()[:12]


def store_audience(
    store: Store,
    audience: Audience,
    as_of: datetime | str,
    *,
    extra: dict[str, Any] | None = None,
) -> str:
    """Store the members and the audit record (replacing an earlier run of the same campaign on
    the same data); returns the audience id."""
    ident = audience_id(audience, as_of)
    created = naive_utc(audience.created_at)
    members = pd.DataFrame(
        {
            "user_id": audience.users["user_id"].astype(str),
            "score": audience.users["score"].astype(float),
            "rank": audience.users["rank"].astype("int32"),
            "reasons": audience.users["reasons"].astype(str),
        }
    )
    record = json.dumps(audit_record(audience, extra), default=str, ensure_ascii=False)
    naive = created.to_pydatetime()
    with store.transaction():
        write_audience(store, ident, naive, audience.campaign.name, members)
        store.execute("DELETE FROM audience_audits WHERE audience_id = ?", [ident])
        store.execute(
            "INSERT INTO audience_audits VALUES (?, ?, ?, ?)",
            [ident, naive, audience.campaign.name, record],
        )
    return ident
