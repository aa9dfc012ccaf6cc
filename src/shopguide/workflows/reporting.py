"""``shopguide report``: the whole report of a store, with every section whose inputs exist.

The behaviour analytics come from the events. The other sections come from what earlier
commands left in the store and next to it:

* **recommendations** — the store's current model (:func:`report_model`): a few top
  customers' recommendations with the reason for each item, and the comparison evidence the
  model was published with (``shopguide compare``);
* **churn and lifetime value** — the stored ``user_predictions`` (``shopguide churn score``);
* **campaign audiences** — the stored ``audiences`` with their audit records
  (``shopguide campaign audience``).

A section whose inputs are missing is left out, and the last section lists each with the
command that produces it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from shopguide.errors import ModelFormatError
from shopguide.recommend.catalogue import MODEL_NAMES
from shopguide.recommend.saved import RecommenderStore
from shopguide.report import REPORT_FILE, Section, write_report
from shopguide.report.model_sections import recommendations_section
from shopguide.report.sections import AsOf
from shopguide.report.store_sections import (
    comparison_from_evidence,
    missing_section,
    stored_audience_sections,
    stored_churn_section,
)
from shopguide.store.base import Store
from shopguide.workflows.retention import churn_model_path
from shopguide.workflows.serving.answers import recommend_for_user
from shopguide.workflows.serving.snapshot import build_snapshot

#: Customers whose recommendations the report shows.
EXAMPLE_CUSTOMERS = 3


def _published_at(model_store: RecommenderStore, name: str, version: str) -> str:
    meta = model_store.root / name / version / "meta.json"
    try:
        return str(json.loads(meta.read_text()).get("created_at", ""))
    except (OSError, ValueError):
        return ""


def report_model(store: Store) -> tuple[str, str] | None:
    """The recommender the report shows, as ``(model, version)``: the store's current model
    (set by ``shopguide compare`` or ``shopguide train``); for a store published before there
    was a current model, the newest published version of any model."""
    model_store = RecommenderStore.for_store(store.path)
    current = model_store.current()
    if current is not None:
        return current.model, current.version
    newest: tuple[str, str, str] | None = None
    for name in MODEL_NAMES:
        version = model_store.current_version(name)
        if version is None:
            continue
        stamp = _published_at(model_store, name, version)
        if newest is None or stamp > newest[0]:
            newest = (stamp, name, version)
    return None if newest is None else (newest[1], newest[2])


def top_customers(store: Store, limit: int = EXAMPLE_CUSTOMERS) -> list[str]:
    """The biggest spenders (from the latest profiles, else from the purchase events)."""
    if store.has_table("profiles") and store.scalar("SELECT count(*) FROM profiles"):
        frame = store.query_df(
            """SELECT user_id FROM profiles WHERE as_of = (SELECT max(as_of) FROM profiles)
               ORDER BY total_spend DESC NULLS LAST, user_id LIMIT ?""",
            [limit],
        )
    else:
        frame = store.query_df(
            """SELECT user_id FROM events WHERE event_type = 'purchase' GROUP BY user_id
               ORDER BY sum(quantity * coalesce(price, 0)) DESC, user_id LIMIT ?""",
            [limit],
        )
    return [str(u) for u in frame["user_id"]]


def recommendation_sections(store: Store) -> tuple[list[Section], list[tuple[str, str]]]:
    """Example recommendations and the comparison evidence of the model :func:`report_model`
    chooses; with no published model, the missing-section lines instead."""
    train_hint = "shopguide compare (or shopguide train MODEL) publishes a model"
    chosen = report_model(store)
    if chosen is None:
        return [], [
            ("Recommendations with explanations", train_hint),
            ("Recommendation: model comparison", "shopguide compare"),
        ]
    try:
        snapshot = build_snapshot(store, RecommenderStore.for_store(store.path), *chosen)
    except ModelFormatError as error:
        return [], [("Recommendations with explanations", f"{error.message}; {train_hint}")]
    examples: list[dict[str, Any]] = []
    for user in top_customers(store):
        items, _strategy = recommend_for_user(snapshot, user, 5, explanations=True)
        examples.append({"user_id": user, "items": [dict(i.__dict__) for i in items]})
    sections: list[Section] = []
    missing: list[tuple[str, str]] = []
    if examples:
        section = recommendations_section(examples)
        section.html = (
            f'<p class="note">Model {snapshot.name} {snapshot.version}; the '
            f"{len(examples)} biggest spenders.</p>\n{section.html}"
        )
        sections.append(section)
    evidence = snapshot.meta.get("evaluation")
    comparison = comparison_from_evidence(evidence) if isinstance(evidence, dict) else None
    if comparison is not None:
        sections.append(comparison)
    else:
        missing.append(("Recommendation: model comparison", "shopguide compare"))
    return sections, missing


def store_sections(store: Store, as_of: AsOf = None) -> list[Section]:
    """Every model-based section whose inputs exist, then the list of those left out."""
    sections, missing = recommendation_sections(store)
    churn = stored_churn_section(store, as_of)
    if churn is not None:
        sections.append(churn)
    else:
        path = churn_model_path(store)
        trained = path is not None and path.exists()
        missing.append(
            (
                "Retention: churn and lifetime value",
                "shopguide churn score" if trained else "shopguide churn train",
            )
        )
    audiences = stored_audience_sections(store)
    sections += audiences
    if not audiences:
        missing.append(("Campaign audiences", "shopguide campaign audience NAME --category ..."))
    missing.append(
        (
            "Campaign uplift",
            "needs a randomised campaign test; no command stores uplift results yet "
            "(shopguide demo shows one on the Hillstrom e-mail test)",
        )
    )
    return [*sections, missing_section(missing)]


def whole_report(
    store: Store,
    out_dir: str | Path,
    *,
    as_of: AsOf = None,
    title: str = "ShopGuide report",
    extra: Iterable[Section] = (),
    filename: str = REPORT_FILE,
) -> Path:
    """Write the report of everything the store holds to ``out_dir/filename`` (see the
    module doc)."""
    when = None if as_of is None else pd.Timestamp(as_of)
    return write_report(
        store, out_dir, as_of=when, title=title,
        extra_sections=[*store_sections(store, when), *extra], filename=filename,
    )  # fmt: skip
