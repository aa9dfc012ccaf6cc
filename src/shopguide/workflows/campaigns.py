"""User-facing campaign actions: score users for a campaign, choose and export its audience.

The recommendation score of the promoted items comes from the store's current model (or the
one named; with no current model the score does without it, and the audit record says so).
The propensity is the documented rule-based score of :mod:`shopguide.targeting.campaign`, or a
model trained on past responses when given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from shopguide.errors import DataError, NoCurrentModelError
from shopguide.recommend.registry import ModelRegistry
from shopguide.store.base import Store
from shopguide.targeting.campaign import (
    Audience,
    Campaign,
    campaign_features,
    contacted_recently,
    export_audience,
    promoted_items,
    record_contacts,
    rule_based_score,
    rule_components,
    select_audience,
)
from shopguide.workflows.audience_store import store_audience
from shopguide.workflows.current_model import NO_CURRENT_REASON, open_snapshot, recommender_record
from shopguide.workflows.serving.campaign_audience import promotion_scores
from shopguide.workflows.serving.snapshot import ModelSnapshot


def _as_of(store: Store, as_of: str | None) -> pd.Timestamp:
    when = as_of or store.scalar('SELECT max("timestamp") FROM events')
    if when is None:
        raise DataError("the store has no events", hint="ingest events first")
    return pd.Timestamp(when)


def _recommender(store: Store, model: str | None) -> tuple[ModelSnapshot | None, dict[str, Any]]:
    """The snapshot whose scores feed ``rec_score`` and the audit record saying so.

    ``model``: ``None`` the store's current model (none current: do without, and say so);
    ``""`` no recommender; a name: that model's published version (missing: an error).
    """
    if model == "":
        return None, recommender_record(None, "no recommender asked for (--model '')")
    try:
        snapshot = open_snapshot(store, ModelRegistry.for_store(store.path), model)
    except NoCurrentModelError:
        reason = f"{NO_CURRENT_REASON}; the score uses no recommendation part"
        return None, recommender_record(None, reason)
    origin = "named with --model" if model else "the store's current model"
    return snapshot, recommender_record(snapshot, origin)


def score_campaign(
    store: Store, campaign: Campaign, *, model: str | None = None, as_of: str | None = None
) -> tuple[pd.DataFrame, pd.Series, pd.Timestamp, dict[str, Any]]:
    """Every buyer's features and rule-based propensity for ``campaign`` (best first), and
    the record of the recommender used for ``rec_score`` (see :func:`_recommender` for
    ``model``)."""
    when = _as_of(store, as_of)
    promoted = promoted_items(store, campaign)["item_id"].astype(str).tolist()
    if not promoted:
        raise DataError(
            f"campaign {campaign.name!r} matches no item of the catalogue",
            hint="check the item ids, category paths (prefixes such as 'Home') and brands",
        )
    snapshot, used = _recommender(store, model)
    rec = None if snapshot is None else promotion_scores(snapshot, promoted)
    features = campaign_features(store, campaign, when, rec_scores=rec)
    scores = rule_based_score(features, campaign).sort_values(ascending=False, kind="stable")
    return features, scores, when, used


def build_audience(
    store: Store,
    campaign: Campaign,
    *,
    model: str | None = None,
    as_of: str | None = None,
    out_dir: str | Path | None = None,
    record: bool = False,
    keep: bool = True,
) -> tuple[Audience, dict[str, Any]]:
    """Choose the audience under the campaign's constraints; export and log it if asked.

    With ``keep`` the members and the audit record are stored (``audiences`` and
    ``audience_audits``, see :mod:`shopguide.workflows.audience_store`); the returned dict then
    holds the ``audience_id`` next to the exported files. The audit record names the
    recommender model and version behind ``rec_score``, or says that none was used and why.
    """
    features, scores, when, used = score_campaign(store, campaign, model=model, as_of=as_of)
    recent = (
        contacted_recently(store, campaign.exclude_contacted_days, when)
        if campaign.exclude_contacted_days is not None
        else None
    )
    audience = select_audience(
        campaign, features, scores, when,
        contributions=rule_components(features, campaign), recently_contacted=recent,
    )  # fmt: skip
    audience.recommender = used
    files: dict[str, Any] = {}
    if out_dir is not None:
        files = {k: str(v) for k, v in export_audience(audience, out_dir).items()}
    if record:
        record_contacts(store, audience, when)
    if keep:
        files["audience_id"] = store_audience(store, audience, when)
    return audience, files
