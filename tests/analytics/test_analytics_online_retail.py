"""On Online Retail, the RFM figures equal an independent pandas computation from the raw file.

The pandas side reads the bundled Parquet file itself and applies the documented rules: keep
lines with a customer and a positive price; purchases are lines of normal invoices with a
positive quantity, refunds are lines of cancellation invoices ("C...") valued at
``|quantity| * price``; as_of is the last kept line's time; recency = calendar days from the
last invoice to as_of; frequency = distinct invoices; monetary = purchases - refunds; scores are
``ceil(5 * average tied rank / n)``; segments from the R x ceil((F+M)/2) grid, written out here
again as ranges so that a slip in the module's grid would show.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopguide import analytics as A
from shopguide.data.datasets.online_retail import default_path, load_online_retail
from shopguide.profiles import build_profiles, load_profiles
from shopguide.store import open_store
from shopguide.store.base import Store

# (R range, FM range, segment) -- the grid of shopguide.profiles.lifecycle, as ranges
SEGMENT_RULES = [
    ((5, 5), (4, 5), "Champions"),
    ((3, 4), (4, 5), "Loyal"),
    ((4, 5), (2, 3), "Potential Loyalist"),
    ((5, 5), (1, 1), "New"),
    ((4, 4), (1, 1), "Promising"),
    ((3, 3), (3, 3), "Need Attention"),
    ((3, 3), (1, 2), "About to Sleep"),
    ((1, 2), (3, 4), "At Risk"),
    ((1, 2), (5, 5), "Can't Lose Them"),
    ((1, 1), (1, 1), "Lost"),
    ((1, 2), (1, 2), "Hibernating"),  # after Lost: (1, 1) is taken
]


def _segment(r: int, fm: int) -> str:
    for (r_lo, r_hi), (fm_lo, fm_hi), name in SEGMENT_RULES:
        if r_lo <= r <= r_hi and fm_lo <= fm <= fm_hi:
            return name
    raise AssertionError(f"no segment for R={r}, FM={fm}")


def _scores(values: pd.Series) -> pd.Series:
    """ceil(5 * avg_rank / n) with average ranks of ties, in integers."""
    n = len(values)
    lo = values.rank(method="min").astype("int64")
    hi = values.rank(method="max").astype("int64")
    return (5 * (lo + hi) + 2 * n - 1) // (2 * n)


def pandas_rfm() -> pd.DataFrame:
    raw = pd.read_parquet(default_path())
    raw = raw[raw["CustomerID"].notna() & (raw["UnitPrice"] > 0)].copy()
    raw["user_id"] = raw["CustomerID"].astype("int64").astype(str)
    cancel = raw["InvoiceNo"].str.startswith("C")
    buys = raw[~cancel & (raw["Quantity"] > 0)]
    refunds = raw[cancel]
    as_of = max(buys["InvoiceDate"].max(), refunds["InvoiceDate"].max())
    spend = (buys["Quantity"] * buys["UnitPrice"]).groupby(buys["user_id"]).sum()
    refunded = (refunds["Quantity"].abs() * refunds["UnitPrice"]).groupby(refunds["user_id"]).sum()
    per_invoice = buys.groupby(["user_id", "InvoiceNo"])["InvoiceDate"].min().reset_index()
    grouped = per_invoice.groupby("user_id")
    frame = pd.DataFrame(
        {
            "recency_days": (
                as_of.normalize() - grouped["InvoiceDate"].max().dt.normalize()
            ).dt.days,
            "frequency": grouped.size(),
        }
    )
    frame["monetary"] = spend - refunded.reindex(spend.index).fillna(0.0)
    frame["r_score"] = _scores(-frame["recency_days"])  # fewer days = better = higher rank
    frame["f_score"] = _scores(frame["frequency"])
    frame["m_score"] = _scores(frame["monetary"].round(6))
    fm = (frame["f_score"] + frame["m_score"] + 1) // 2
    frame["segment"] = [_segment(r, f) for r, f in zip(frame["r_score"], fm, strict=True)]
    return frame.sort_index()


@pytest.fixture(scope="module")
def retail(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = open_store(Path(tmp_path_factory.mktemp("retail")) / "retail.duckdb")
    load_online_retail(store)
    yield store
    store.close()


def test_rfm_equals_independent_pandas(retail: Store) -> None:
    want = pandas_rfm()
    got = A.rfm_table(retail).set_index("user_id").sort_index()
    assert len(want) == 4338  # customers with a valid purchase (data README)
    assert list(got.index) == list(want.index)
    np.testing.assert_array_equal(got["recency_days"], want["recency_days"])
    np.testing.assert_array_equal(got["frequency"], want["frequency"])
    np.testing.assert_allclose(got["monetary"], want["monetary"], rtol=1e-9, atol=1e-6)
    for column in ("r_score", "f_score", "m_score", "segment"):
        mismatched = (got[column] != want[column]).sum()
        assert mismatched == 0, f"{column}: {mismatched} users differ"

    # the profiles carry the same scores, and the segment sizes follow
    build_profiles(retail)
    profiles = load_profiles(retail).set_index("user_id")
    buyers = profiles[profiles["orders"] > 0].sort_index()
    assert list(buyers.index) == list(want.index)
    for column in ("r_score", "f_score", "m_score", "segment"):
        assert (buyers[column].to_numpy() == want[column].to_numpy()).all(), column
    summary = A.segment_summary(retail).set_index("segment")
    sizes = want["segment"].value_counts()
    for segment, row in summary.iterrows():
        assert row["users"] == sizes.get(segment, 0)
        revenue = want.loc[want["segment"] == segment, "monetary"].sum()
        assert row["revenue"] == pytest.approx(revenue, rel=1e-9, abs=1e-6)


def test_online_retail_analytics_are_consistent(retail: Store) -> None:
    k = A.kpis(retail)
    assert (k["buyers"], k["orders"]) == (4338, 18532)  # data README figures
    cohorts = A.cohort_retention(retail)
    first_month = cohorts[cohorts["months_since"] == 0]
    assert first_month["users"].sum() == 4338  # every buyer is in exactly one cohort
    assert (cohorts["user_share"] <= 1).all()
    assert A.funnel(retail).empty  # no views or carts in this data
    summary = A.repeat_summary(retail)
    assert summary["buyers"] == 4338
    assert summary["repeat_buyers"] == int((pandas_rfm()["frequency"] >= 2).sum())
