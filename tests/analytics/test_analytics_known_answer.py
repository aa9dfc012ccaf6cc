"""Analytics on the hand-made shop equal the values worked out by hand (see conftest.py)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from shopguide import analytics as A
from shopguide.errors import DataError
from shopguide.profiles import build_profiles, load_profiles
from shopguide.store import open_store
from shopguide.store.base import Store

AS_OF = datetime(2024, 3, 31)


def test_rfm_table(shop: Store) -> None:
    rfm = A.rfm_table(shop, AS_OF).set_index("user_id")
    # recency: u1 last order Feb 10 -> 50 days; u2 Jan 20 -> 71; u3 Feb 28 -> 32 (leap year)
    assert rfm["recency_days"].to_dict() == {"u1": 50, "u2": 71, "u3": 32}
    assert rfm["frequency"].to_dict() == {"u1": 2, "u2": 1, "u3": 3}
    # monetary: u1 10 + 20 + 20; u2 20 - 20 refund; u3 5 + (15 - 3) + 5
    assert rfm["monetary"].to_dict() == pytest.approx({"u1": 50.0, "u2": 0.0, "u3": 22.0})
    # 3 buyers, score = ceil(5 * rank / 3): ranks 1, 2, 3 -> 2, 4, 5
    # R (worst first by recency desc): u2, u1, u3; F asc: u2, u1, u3; M asc: u2, u3, u1
    assert rfm["rfm_cell"].to_dict() == {"u1": "445", "u2": "222", "u3": "554"}
    # FM = ceil((F + M) / 2): u1 5, u2 2, u3 5
    assert rfm["segment"].to_dict() == {"u1": "Loyal", "u2": "Hibernating", "u3": "Champions"}


def test_rfm_agrees_with_the_profiles(shop: Store) -> None:
    build_profiles(shop, AS_OF)
    profiles = load_profiles(shop, AS_OF).set_index("user_id")
    rfm = A.rfm_table(shop, AS_OF).set_index("user_id")
    for column in ("r_score", "f_score", "m_score", "segment"):
        assert profiles.loc[rfm.index, column].tolist() == rfm[column].tolist()


def test_segment_summary(shop: Store) -> None:
    summary = A.segment_summary(shop, AS_OF).set_index("segment")
    assert len(summary) == 11 and summary["users"].sum() == 3
    assert summary.loc["Loyal", "users"] == 1
    assert summary.loc["Loyal", "revenue_share"] == pytest.approx(50 / 72)
    assert summary.loc["Champions", "revenue_share"] == pytest.approx(22 / 72)
    assert summary.loc["Hibernating", "revenue"] == pytest.approx(0.0)
    assert summary.loc["Lost", "users"] == 0
    assert summary["user_share"].sum() == pytest.approx(1.0)


def test_funnel(shop: Store) -> None:
    overall = A.funnel(shop, as_of=AS_OF).iloc[0]
    # viewed pairs: (u1,p1) (u1,p2) (u2,p2) (u3,p1); carted among them: (u1,p1) (u2,p2) (u3,p1);
    # purchased among those: (u1,p1) (u2,p2). (u3,p3) was bought without a view.
    assert (overall["viewed"], overall["carted"], overall["purchased"]) == (4, 3, 2)
    assert overall["users_viewed"] == 3
    assert overall["view_to_cart"] == pytest.approx(0.75)
    assert overall["cart_to_purchase"] == pytest.approx(2 / 3)
    assert overall["view_to_purchase"] == pytest.approx(0.5)
    by_category = A.funnel(shop, "category", AS_OF).set_index("group")
    assert by_category.loc["Toys", ["viewed", "carted", "purchased"]].tolist() == [2, 2, 1]
    assert by_category.loc["Books", ["viewed", "carted", "purchased"]].tolist() == [2, 1, 1]
    by_segment = A.funnel(shop, "segment", AS_OF).set_index("group")
    # u1 Loyal: (u1,p1) full, (u1,p2) viewed only; u2 Hibernating: full; u3 Champions: carted
    assert by_segment.loc["Loyal", ["viewed", "carted", "purchased"]].tolist() == [2, 1, 1]
    assert by_segment.loc["Hibernating", ["viewed", "carted", "purchased"]].tolist() == [1, 1, 1]
    assert by_segment.loc["Champions", ["viewed", "carted", "purchased"]].tolist() == [1, 1, 0]
    with pytest.raises(ValueError, match="by must be"):
        A.funnel(shop, "brand")  # type: ignore[arg-type]


def test_cohort_retention(shop: Store) -> None:
    cohorts = A.cohort_retention(shop, AS_OF)
    cells = {
        (pd.Timestamp(r.cohort).strftime("%Y-%m"), r.months_since): r for r in cohorts.itertuples()
    }
    # January cohort: u1 (10) and u2 (20); in February only u1 returns (40); March: no purchase
    assert set(cells) == {("2024-01", 0), ("2024-01", 1), ("2024-02", 0)}
    jan0, jan1, feb0 = cells[("2024-01", 0)], cells[("2024-01", 1)], cells[("2024-02", 0)]
    assert (jan0.users, jan0.user_share, jan0.revenue) == (2, 1.0, pytest.approx(30.0))
    assert (jan1.users, jan1.user_share) == (1, 0.5)
    assert jan1.revenue == pytest.approx(40.0)
    assert jan1.revenue_share == pytest.approx(40 / 30)
    assert (feb0.users, feb0.revenue) == (1, pytest.approx(22.0))
    matrix = A.cohort_matrix(cohorts, "user_share")
    assert matrix.loc["2024-01", 1] == 0.5 and pd.isna(matrix.loc["2024-02", 1])


def test_repeat_purchase(shop: Store) -> None:
    gaps = A.order_gaps(shop, AS_OF)
    # u1: Jan 5 -> Feb 10 = 36 days; u3: Feb 3 -> 20 = 17, Feb 20 -> 28 = 8
    assert sorted(gaps["gap_days"].round(9)) == [8.0, 17.0, 36.0]
    dist = A.gap_distribution(shop, AS_OF).set_index("days")
    assert dist["gaps"].to_dict() == {
        "0-7": 0, "7-14": 1, "14-30": 1, "30-60": 1, "60-90": 0,
        "90-180": 0, "180-365": 0, "365+": 0,
    }  # fmt: skip
    summary = A.repeat_summary(shop, AS_OF)
    assert summary["buyers"] == 3 and summary["repeat_buyers"] == 2
    assert summary["repeat_rate"] == pytest.approx(2 / 3)
    assert summary["mean_gap_days"] == pytest.approx(61 / 3)
    assert summary["median_gap_days"] == pytest.approx(17.0)
    rebought = A.rebought_items(shop, as_of=AS_OF)
    # p3: u3 in 3 orders (2 rebuys); p1: u1 in 2 orders (1 rebuy); p2 never rebought
    assert rebought["item_id"].tolist() == ["p3", "p1"]
    assert rebought["rebuys"].tolist() == [2, 1]
    assert rebought["title"].tolist() == ["Notebook", "Robot"]


def test_trends(shop: Store) -> None:
    trends = A.monthly_trends(shop, "category", as_of=AS_OF)
    revenue = {
        (pd.Timestamp(r.month).strftime("%Y-%m"), r.name): r.revenue for r in trends.itertuples()
    }
    # Jan: Toys 10 (u1), Books 20 (u2). Feb: Toys 20 (u1), Books 20 (u1) + 22 (u3)
    assert revenue == pytest.approx(
        {("2024-01", "Toys"): 10.0, ("2024-01", "Books"): 20.0,
         ("2024-02", "Toys"): 20.0, ("2024-02", "Books"): 42.0}
    )  # fmt: skip
    brands = A.trend_matrix(A.monthly_trends(shop, "brand", as_of=AS_OF))
    assert brands.loc["2024-02"].to_dict() == pytest.approx(
        {"Acme": 20.0, "Bolt": 20.0, "(no brand)": 22.0}
    )
    assert brands.loc["2024-01", "(no brand)"] == 0.0
    top_one = A.monthly_trends(shop, "category", top=1, as_of=AS_OF)
    assert set(top_one["name"]) == {"Books", "Other"}


def test_kpis(shop: Store) -> None:
    k = A.kpis(shop, AS_OF)
    assert (k["users"], k["buyers"], k["orders"], k["items_sold"]) == (3, 3, 6, 3)
    assert k["gross_revenue"] == pytest.approx(92.0)  # 10 + 40 + 20 + 22
    assert k["refunds"] == pytest.approx(20.0)
    assert k["revenue"] == pytest.approx(72.0)
    assert k["avg_order_value"] == pytest.approx(12.0)
    assert k["events"] == 16


def test_empty_store_says_what_to_do(tmp_path: Path) -> None:
    store = open_store(tmp_path / "empty.duckdb")
    with pytest.raises(DataError, match="no events to analyse"):
        A.kpis(store)
    store.close()
