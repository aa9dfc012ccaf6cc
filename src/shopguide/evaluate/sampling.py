"""Measure on a seeded sample of users when there are too many to score them all.

Scoring every test user of a large shop costs as much as the fits themselves (every user is
ranked over the whole catalogue, once per model and once per tuning point), while the mean
NDCG@10 of a few tens of thousands of users is already known to the third decimal. Above
:data:`MAX_EVALUATED_USERS` test users, :func:`sample_relevance` keeps a random sample of that
many, the same for every model (the same seed), and says so; the comparison's paired bootstrap
then measures on the sample.
"""

from __future__ import annotations

import numpy as np

from shopguide.evaluate.evaluator import TestRelevance

__all__ = ["MAX_EVALUATED_USERS", "MAX_VALIDATION_USERS", "sample_relevance"]

#: Test users a comparison scores at most (a random sample above it).
MAX_EVALUATED_USERS = 50_000
#: Validation users automatic tuning scores at most for each search point.
MAX_VALIDATION_USERS = 20_000


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
