"""User-facing retention actions: churn risk and lifetime value into the profile, and win-back.

:func:`score_retention` trains the churn model on the latest fully observed window, scores every
buyer as of the last event, fits BG/NBD + Gamma-Gamma for value, and stores the predicted
profile fields (churn probability and its reasons, P(alive), expected purchases in 90 days, CLV,
expected next order date) in ``user_predictions`` under that ``as_of``.

:func:`winback` takes the users most at risk and gives each the recommendations most likely to
bring them back: the published model's items with already-bought items *allowed* (people come
back for what they used to buy), exported as an audience.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shopguide.columns import Columns as C
from shopguide.errors import DataError
from shopguide.recommend.registry import ModelRegistry
from shopguide.recommend.rules import MaxPerCategory, Repurchase, RuleSet
from shopguide.retention import customer_value_table, train_and_score_churn
from shopguide.store import open_store
from shopguide.store.base import Store
from shopguide.workflows.serving import build_snapshot


def purchase_events(store: Store) -> pd.DataFrame:
    """Purchase and refund events with the columns the retention models use."""
    return store.query_df(
        """SELECT user_id, item_id, event_type, "timestamp", quantity, price, discount, order_id
           FROM events WHERE event_type IN ('purchase', 'refund')"""
    )


def score_store(store: Store, *, horizon_days: int = 90) -> dict[str, Any]:
    """Score churn and value for every buyer and store them in ``user_predictions``."""
    events = purchase_events(store)
    if events.empty:
        raise DataError("no purchases in the store", hint="ingest purchase events first")
    _, churn, report = train_and_score_churn(events, horizon_days=horizon_days)
    as_of = pd.Timestamp(report["as_of"])
    value = customer_value_table(events, as_of=as_of, horizon_days=90)
    table = churn[["churn_probability", "reasons"]].join(value, how="outer")
    rows = pd.DataFrame(
        {
            "as_of": as_of,
            C.USER_ID: table.index.astype(str),
            "churn_probability": table["churn_probability"].to_numpy(),
            "churn_reasons": table["reasons"].to_numpy(),
            "p_alive": table["p_alive"].to_numpy(),
            "expected_purchases_90d": table["expected_purchases"].to_numpy(),
            "clv": table["clv"].to_numpy(),
            "expected_next_order": pd.to_datetime(table["expected_next_order"]).to_numpy(),
        }
    )
    with store.transaction():
        store.execute("DELETE FROM user_predictions WHERE as_of = ?", [as_of.to_pydatetime()])
        store.append("user_predictions", rows)
    return {**report, "users": len(rows), "mean_churn_probability": float(
        np.nanmean(rows["churn_probability"])
    ), "total_clv": float(np.nansum(rows["clv"]))}  # fmt: skip


def score_retention(db: str | Path, *, horizon_days: int = 90) -> dict[str, Any]:
    """:func:`score_store` on the store at ``db``."""
    with open_store(db) as store:
        return score_store(store, horizon_days=horizon_days)


def predictions(store: Store, as_of: str | None = None) -> pd.DataFrame:
    """The stored predicted fields (latest version unless ``as_of``), riskiest first."""
    when = as_of or store.scalar("SELECT max(as_of) FROM user_predictions")
    if when is None:
        raise DataError("no churn or value scores yet", hint="run: shopguide churn score")
    return store.query_df(
        "SELECT * FROM user_predictions WHERE as_of = ? "
        "ORDER BY churn_probability DESC NULLS LAST, user_id",
        [pd.Timestamp(when).to_pydatetime()],
    )


def winback_store(
    store: Store,
    *,
    model: str = "item-knn",
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
    snapshot = build_snapshot(store, ModelRegistry.for_store(store.path), model)
    rows = snapshot.users.to_internal(risky[C.USER_ID].tolist(), unknown="mask")
    known = rows >= 0
    risky, rows = risky[known], rows[known]
    rules = RuleSet((Repurchase(), MaxPerCategory(2)))
    ids, scores = rules.recommend(snapshot.model, rows, snapshot.matrix, snapshot.catalog, n=n)
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
                {"model": f"{model} {snapshot.version}", "min_churn": min_churn, "n": n,
                 "users": records},
                indent=2, ensure_ascii=False,
            )
        )  # fmt: skip
    return audience
