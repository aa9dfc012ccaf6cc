"""Churn and value scores of a fixed shop, against the figures the per-row code gave.

``data/churn_known_scores.csv.gz`` holds what training, scoring and valuing a fixed shop
gave before the scoring was made set-based (2026-12): every probability, driver, reason,
P(alive), expected purchase count and value, to the last bit. The faster code must give the
same, so a change of a single float shows up here. Regenerate it only for a change that is
meant to change the scores: ``python tests/retention/test_churn_known_scores.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from churn_shop import churn_shop

from shopguide.retention import customer_value, train_churn

KNOWN = Path(__file__).parent / "data" / "churn_known_scores.csv.gz"
HORIZON = 60


def known_shop() -> pd.DataFrame:
    """Purchases of 800 users, and a refund for every seventh purchase (refunds count as
    other events in the features, as in a store's purchase-and-refund read)."""
    purchases = churn_shop(800, seed=5)
    refunds = purchases.iloc[::7].assign(event_type="refund")
    return pd.concat([purchases, refunds], ignore_index=True)


def score_shop(events: pd.DataFrame) -> pd.DataFrame:
    """Train on the shop, score every buyer and value them, as ``shopguide churn score``
    does: one row per buyer, sorted by user id."""
    as_of = pd.to_datetime(events["timestamp"]).max().floor("D")
    model = train_churn(events, horizon_days=HORIZON)
    churn = model.score_users(events, as_of)
    value, _ = customer_value(events, as_of, churn["churn_probability"], churn_horizon_days=HORIZON)
    table = churn.join(value, how="outer").sort_index()
    table.index.name = "user_id"
    return table.reset_index()


def _read_known() -> pd.DataFrame:
    frame = pd.read_csv(KNOWN, float_precision="round_trip", keep_default_na=False)
    return frame


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as exact text (floats to 17 significant digits), so the comparison is
    exact and the file reads back the same."""
    out = frame.copy()
    for col in out.columns:
        values = out[col]
        if pd.api.types.is_float_dtype(values):
            out[col] = [repr(float(v)) for v in values]
        else:
            out[col] = ["" if v is None or v is pd.NaT or v != v else str(v) for v in values]
    return out


def test_scores_equal_the_known_ones() -> None:
    got = _as_text(score_shop(known_shop()))
    known = _read_known().astype(str)
    assert list(got.columns) == list(known.columns)
    assert len(got) == len(known) > 500
    for col in known.columns:
        differ = np.flatnonzero(got[col].to_numpy() != known[col].to_numpy())
        assert not len(differ), (
            f"{col}: {len(differ)} rows differ, first: user {known['user_id'].iloc[differ[0]]}"
            f" {got[col].iloc[differ[0]]!r} != {known[col].iloc[differ[0]]!r}"
        )


if __name__ == "__main__":
    _as_text(score_shop(known_shop())).to_csv(KNOWN, index=False)
    print(f"wrote {KNOWN}")
