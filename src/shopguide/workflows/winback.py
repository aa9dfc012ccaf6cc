"""Win-back: the users most at risk, each with the recommendations most likely to bring them
back.

The at-risk users come from the stored churn predictions (:func:`shopguide.workflows.retention.
predictions`); their items from the store's current model (or the one named), with
already-bought items *allowed* (people come back for what they used to buy), exported as an
audience.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from shopguide.columns import Columns as C
from shopguide.recommend.rules import MaxPerCategory, Repurchase, RuleSet
from shopguide.recommend.saved import RecommenderStore
from shopguide.store.base import Store
from shopguide.workflows.current_model import open_snapshot
from shopguide.workflows.retention import predictions

__all__ = ["winback_store"]


def winback_store(
    store: Store,
    *,
    model: str | None = None,
    min_churn: float = 0.5,
    limit: int | None = 500,
    n: int = 5,
    out_dir: str | Path | None = None,
) -> pd.DataFrame:
    """At-risk users (churn probability ≥ ``min_churn``, most valuable first) with ``n``
    recommendations each, already-bought items allowed; written to ``winback.csv/.json``."""
    scored = predictions(store)
    risky = scored[scored["churn_probability"] >= min_churn].sort_values(
        ["clv", "churn_probability"], ascending=False, kind="stable"
    )
    if limit is not None:
        risky = risky.head(limit)
    snapshot = open_snapshot(store, RecommenderStore.for_store(store.path), model)
    rows = snapshot.users.to_internal(risky[C.USER_ID].tolist(), unknown="mask")
    known = rows >= 0
    risky, rows = risky[known], rows[known]
    rules = RuleSet((Repurchase(), MaxPerCategory(2)))
    ids, scores = rules.recommend(
        snapshot.model, rows, snapshot.matrix, snapshot.catalog, n=n, full_matrix=True
    )
    titles = snapshot.catalog.title
    records = []
    for (user, churn, clv), user_ids, user_scores in zip(
        risky[[C.USER_ID, "churn_probability", "clv"]].itertuples(index=False),
        ids,
        scores,
        strict=True,
    ):
        keep = user_ids >= 0
        items = snapshot.items.to_external(user_ids[keep])
        records.append(
            {
                C.USER_ID: user,
                "churn_probability": round(float(churn), 4),
                "clv": None if pd.isna(clv) else round(float(clv), 2),
                "items": [str(i) for i in items],
                "titles": [str(titles[i]) for i in user_ids[keep]],
                "scores": [round(float(s), 4) for s in user_scores[keep]],
            }
        )
    audience = pd.DataFrame(records)
    if out_dir is not None:
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        flat = audience.assign(
            items=audience["items"].str.join("|"), titles=audience["titles"].str.join("|")
        )
        flat.drop(columns="scores").to_csv(folder / "winback.csv", index=False)
        (folder / "winback.json").write_text(
            json.dumps(
                {"model": f"{snapshot.name} {snapshot.version}", "min_churn": min_churn, "n": n,
                 "users": records},
                indent=2, ensure_ascii=False,
            )
        )  # fmt: skip
    return audience
