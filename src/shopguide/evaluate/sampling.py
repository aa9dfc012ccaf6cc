"""Measure on a seeded sample of users when there are too many to score them all.

Scoring every test user of a large shop costs as much as the fits themselves (every user is
ranked over the whole catalogue, once per model and once per tuning point), while the mean
NDCG@10 of ten thousand users is already known to about the third decimal. Ranking a user
costs one score per item, so the cap (:func:`max_scored_users`) is set by the scored cells: at
most :data:`EVALUATED_CELLS` (users x items) per model, between :data:`MIN_EVALUATED_USERS` and
:data:`MAX_EVALUATED_USERS` users; validation during tuning gets half as many cells per search
point. Above the cap :func:`sample_relevance` keeps a seeded random sample of users, the same
for every model, and says so; the comparison's paired bootstrap then measures on the sample.
"""

from __future__ import annotations

import numpy as np

from shopguide.evaluate.evaluator import TestRelevance

__all__ = [
    "EVALUATED_CELLS",
    "MAX_EVALUATED_USERS",
    "MIN_EVALUATED_USERS",
    "max_scored_users",
    "sample_relevance",
]

#: User x item scores a comparison computes per model at most (a sample of users above it).
EVALUATED_CELLS = 2_000_000_000
#: The sample never has more users than this ...
MAX_EVALUATED_USERS = 50_000
#: ... nor fewer than this (whatever the catalogue size).
MIN_EVALUATED_USERS = 10_000


def max_scored_users(n_items: int, *, validation: bool = False) -> int:
    """How many users to score per model on a catalogue of ``n_items``: the comparison's
    cap, or half of it for each search point of automatic tuning (``validation``)."""
    users = EVALUATED_CELLS // max(n_items, 1)
    capped = int(min(MAX_EVALUATED_USERS, max(MIN_EVALUATED_USERS, users)))
    return capped // 2 if validation else capped


def sample_relevance(
    relevance: TestRelevance, max_users: int | None, seed: int = 0
) -> tuple[TestRelevance, str | None]:
    """``relevance`` restricted to a seeded random sample of ``max_users`` users (kept in
    their order), with a sentence saying so; unchanged (and ``None``) when it has no more
    users than that or ``max_users`` is ``None``."""
    total = int(relevance.user_rows.size)
    if max_users is None or total <= max_users:
        return relevance, None
    if max_users < 1:
        raise ValueError("max_users must be at least 1")
    keep = np.sort(np.random.default_rng(seed).choice(total, size=max_users, replace=False))
    counts = {**relevance.counts, "evaluated_users": int(max_users), "users_sampled_from": total}
    sampled = TestRelevance(
        user_rows=relevance.user_rows[keep], relevant=relevance.relevant[keep], counts=counts
    )
    note = (
        f"measured on a random sample of {max_users:,} of the {total:,} users with purchases "
        f"to find (seed {seed}), the same users for every model"
    )
    return sampled, note
