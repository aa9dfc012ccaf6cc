"""Report sections built from what earlier commands stored: churn and value predictions, the
comparison evidence of a published model, and campaign audiences with their audit records.

Each builder returns ``None`` when its inputs are not in the store; :func:`missing_section`
lists those with the command that produces them, so a report says what it leaves out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from shopguide.data.times import naive_utc
from shopguide.report.document import Section, join_html, note_html, table_html
from shopguide.report.model_sections import audience_section, churn_section, comparison_section
from shopguide.report.sections import AsOf
from shopguide.store.base import Store

#: Metric columns the comparison section shows when the evidence has them.
COMPARISON_METRICS = ("ndcg@10", "recall@10", "precision@10", "map@10", "hit_rate@10",
                      "coverage@10")  # fmt: skip


def _stamp(as_of: AsOf) -> Any:
    if as_of is None:
        return None
    return naive_utc(as_of).to_pydatetime()


def comparison_from_evidence(evidence: Mapping[str, Any]) -> Section | None:
    """The model comparison a published model was chosen by (its ``evaluation`` metadata)."""
    rows = evidence.get("table")
    primary = evidence.get("primary_metric")
    if not rows or not primary:
        return None
    table = pd.DataFrame(rows)
    if "model" not in table.columns or primary not in table.columns:
        return None
    split = evidence.get("split") or {}
    description = split.get("description", "") if isinstance(split, Mapping) else ""
    columns = [primary, *[c for c in COMPARISON_METRICS if c != primary]]
    return comparison_section(
        table.set_index("model"), primary, str(description), str(evidence["chosen_model"]),
        columns,
    )  # fmt: skip


def stored_churn_section(store: Store, as_of: AsOf = None) -> Section | None:
    """Churn risk and lifetime value from the latest stored ``user_predictions`` (up to
    ``as_of``), with the RFM segments of the latest profiles when they exist."""
    if not store.has_table("user_predictions"):
        return None
    when = store.scalar(
        "SELECT max(as_of) FROM user_predictions WHERE ?::TIMESTAMP IS NULL OR as_of <= ?",
        [_stamp(as_of), _stamp(as_of)],
    )
    if when is None:
        return None
    predictions = store.query_df(
        "SELECT * FROM user_predictions WHERE as_of = ? "
        "ORDER BY churn_probability DESC NULLS LAST, user_id",
        [pd.Timestamp(when).to_pydatetime()],
    )
    segments = None
    if store.has_table("profiles"):
        segments = store.query_df(
            "SELECT user_id, segment FROM profiles "
            "WHERE as_of = (SELECT max(as_of) FROM profiles) AND segment IS NOT NULL"
        )
    section = churn_section(predictions, segments)
    section.html = join_html(
        [note_html(f"Scores as of {pd.Timestamp(when):%Y-%m-%d} (shopguide churn score)."),
         section.html]
    )  # fmt: skip
    return section


def _audits(store: Store) -> dict[str, dict[str, Any]]:
    if not store.has_table("audience_audits"):
        return {}
    rows = store.query_df("SELECT audience_id, record FROM audience_audits")
    return {str(r.audience_id): json.loads(str(r.record)) for r in rows.itertuples()}


def stored_audience_sections(store: Store, limit: int = 3) -> list[Section]:
    """The ``limit`` newest stored audiences: members, and the audit record when there is one
    (audiences the service saved have none)."""
    if not store.has_table("audiences"):
        return []
    latest = store.query_df(
        """SELECT audience_id, any_value(name) AS name, max(created_at) AS created_at,
                  count(*) AS users
           FROM audiences GROUP BY audience_id ORDER BY created_at DESC, audience_id LIMIT ?""",
        [limit],
    )
    audits = _audits(store)
    sections = []
    for number, row in enumerate(latest.itertuples(), start=1):
        members = store.query_df(
            "SELECT user_id, rank, score, reasons FROM audiences WHERE audience_id = ? "
            "ORDER BY rank",
            [row.audience_id],
        )
        name = str(row.name) if row.name is not None and not pd.isna(row.name) else "unnamed"
        title = f"Campaign audience: {name}"
        anchor = f"audience-{number}"
        audit = audits.get(str(row.audience_id))
        if audit is not None:
            section = audience_section(audit, members, title=title, anchor=anchor)
        else:
            body = [
                note_html(
                    f"{int(row.users):,} users, saved {pd.Timestamp(row.created_at):%Y-%m-%d} "
                    "by the service or dashboard (no audit record is kept for those)."
                ),
                table_html(members.head(15), name=anchor),
            ]
            section = Section(title, html=join_html(body), anchor=anchor)
        section.html = join_html(
            [section.html, note_html(f"Audience id {row.audience_id} (shopguide campaign export).")]
        )
        sections.append(section)
    return sections


def missing_section(missing: Sequence[tuple[str, str]]) -> Section:
    """One line per section left out: what it would show and the command that produces it."""
    table = pd.DataFrame(missing, columns=["section", "how to add it"])
    return Section(
        "Not in this report",
        html=join_html(
            [
                note_html("These sections need results the store does not hold yet."),
                table_html(table, name="missing"),
            ]
        ),
        anchor="missing",
    )


__all__ = [
    "comparison_from_evidence",
    "missing_section",
    "stored_audience_sections",
    "stored_churn_section",
]
