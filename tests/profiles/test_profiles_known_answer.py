"""Every profile field on hand-made data equals the value worked out by hand.

Data (tests/profiles/conftest.py), profile version as of 2024-03-31 00:00:

* items: i1 Toys/Acme, i2 Toys/Bolt, i3 Books/Acme, i4 Books/(no brand)
  (categories are the top level of "Toys > Lego" etc.)
* alice: F, age 30, London, signup 2024-01-01; order A1 on Wed 2024-01-10 09:30
  (2 x i1 at 10, 1 x i3 at 20 with 5 off), order A2 on Fri 2024-03-01 18:05 (1 x i2 at 30),
  refund of 1 x i1 at 10 on Wed 2024-03-20; 2 views, 1 cart; a purchase on 2024-04-02 is after
  as_of and must be ignored.
* bob: M, band 45-54, Leeds, signup 2024-02-01; purchases without order ids on Sat 2024-02-10
  (12:00 1 x i3 at 20; 15:00 2 x i4 at 5 with 1 off) and Sun 2024-02-11 12:00 (1 x i3 at 18);
  a view on Sat 2024-03-30 12:00.
* carol: no user row; one order C1 on Mon 2024-03-25 20:00 (1 x i1 at 12).
* dave: signed up 2024-03-05, no events. erin signs up after as_of: not in this version.
"""

from __future__ import annotations

import math
from datetime import datetime

import pandas as pd
import pytest

from shopguide.errors import UnknownIdError
from shopguide.profiles import (
    ProfilesNotBuiltError,
    build_profiles,
    get_profile,
    load_profiles,
    profile_card,
    profile_record,
    segment_of,
)
from shopguide.store.base import Store
from shopguide.store.user_indexes import ensure_user_indexes, has_user_index

AS_OF = datetime(2024, 3, 31)

# Population spend (gross, net of discount) = alice 65 + bob 47 + carol 12 + dave 0 = 124.
# Category population spend: Toys = 50 (alice) + 12 (carol) = 62; Books = 15 + 47 = 62.
# Brand population spend: Acme = 35 + 38 + 12 = 85; Bolt = 30.
POP = 124.0
# Median list unit price of purchase lines as of AS_OF:
# Toys lines 10, 30, 12 -> 12; Books lines 20, 20, 5, 18 -> (18 + 20) / 2 = 19.
TOYS_MEDIAN, BOOKS_MEDIAN = 12.0, 19.0

EXPECTED: dict[str, dict[str, object]] = {
    "alice": {
        "gender": "F",
        "age_band": "25-34",  # age 30
        "location": "London",
        "first_seen_at": datetime(2024, 1, 1),  # signup is before the first event
        "tenure_days": 90,  # Jan 31 + Feb 29 + Mar 30
        "orders": 2,  # A1, A2
        "items_bought": 4.0,  # 2 + 1 + 1
        "purchase_frequency": 2 * 30 / 90,
        "recency_days": 30,  # 2024-03-01 -> 2024-03-31
        "days_since_last_event": 11,  # refund on 2024-03-20
        "gross_spend": 65.0,  # 2*10 + (20 - 5) + 30
        "refunds": 10.0,
        "total_spend": 55.0,
        "avg_order_value": 27.5,  # 55 / 2
        # 2024-01-10 09:30 -> 2024-03-01 18:05 = 51 days 8h35m
        "avg_days_between_orders": 51 + (8 * 60 + 35) / 1440,
        "preferred_weekday": 3,  # purchase lines: 2 on Wednesday, 1 on Friday
        "preferred_hour": 9,  # purchase lines: 2 at 9h, 1 at 18h
        "views": 2,
        "carts": 1,
        "purchases": 3,
        "view_to_cart": 0.5,
        "cart_to_purchase": 3.0,
        "view_to_purchase": 1.5,
        # Toys 20 + 30 = 50 of 65; Books 15 of 65; population shares 62/124 = 0.5 each
        "top_categories": [
            ("Toys", 50.0, 50 / 65, (50 / 65) / 0.5),
            ("Books", 15.0, 15 / 65, (15 / 65) / 0.5),
        ],
        "top_category": "Toys",
        "top_category_share": 50 / 65,
        "top_category_affinity": (50 / 65) / 0.5,
        # Acme = i1 20 + i3 15 = 35; Bolt = 30
        "top_brands": [
            ("Acme", 35.0, 35 / 65, (35 / 65) / (85 / POP)),
            ("Bolt", 30.0, 30 / 65, (30 / 65) / (30 / POP)),
        ],
        "top_brand": "Acme",
        "top_brand_share": 35 / 65,
        "top_brand_affinity": (35 / 65) / (85 / POP),
        "discount_rate": 5 / 70,  # 5 off a list value of 20 + 20 + 30
        "discount_spend_share": 15 / 65,  # only the i3 line had a discount
        # paid 65 for 3 toys and 1 book: at medians 3*12 + 19 = 55
        "price_index": 65 / (3 * TOYS_MEDIAN + BOOKS_MEDIAN),
        "price_band": "mid",
        "price_sensitivity": 0.5 * 15 / 65 + 0.5 / (1 + (65 / 55) ** 2),
        # buyers by recency desc: bob 49, alice 30, carol 6 -> alice rank 2 -> ceil(10/3) = 4
        # orders asc: carol 1 (rank 1), alice and bob tied 2 (ranks 2,3 -> 2.5) -> ceil(12.5/3)=5
        # spend asc: carol 12, bob 47, alice 55 -> alice rank 3 -> 5
        "r_score": 4,
        "f_score": 5,
        "m_score": 5,
        "fm_score": 5,
        "rfm_cell": "455",
        "segment": "Loyal",  # R 4, FM 5
    },
    "bob": {
        "gender": "M",
        "age_band": "45-54",
        "location": "Leeds",
        "first_seen_at": datetime(2024, 2, 1),
        "tenure_days": 59,  # Feb 29 + Mar 30
        "orders": 2,  # no order ids: one order per purchase day (Feb 10, Feb 11)
        "items_bought": 4.0,
        "purchase_frequency": 2 * 30 / 59,
        "recency_days": 49,  # Feb 11 -> Mar 31 (leap year)
        "days_since_last_event": 1,
        "gross_spend": 47.0,  # 20 + (10 - 1) + 18
        "refunds": 0.0,
        "total_spend": 47.0,
        "avg_order_value": 23.5,
        "avg_days_between_orders": 1.0,  # Feb 10 12:00 -> Feb 11 12:00
        "preferred_weekday": 6,  # purchase lines: 2 on Saturday, 1 on Sunday
        "preferred_hour": 12,  # purchase lines at 12h, 15h, 12h
        "views": 1,
        "carts": 0,
        "purchases": 3,
        "view_to_cart": 0.0,
        "cart_to_purchase": None,
        "view_to_purchase": 3.0,
        "top_categories": [("Books", 47.0, 1.0, 1.0 / 0.5)],
        "top_category": "Books",
        "top_category_share": 1.0,
        "top_category_affinity": 2.0,
        "top_brands": [("Acme", 38.0, 38 / 47, (38 / 47) / (85 / POP))],  # i4 has no brand
        "top_brand": "Acme",
        "top_brand_share": 38 / 47,
        "top_brand_affinity": (38 / 47) / (85 / POP),
        "discount_rate": 1 / 48,
        "discount_spend_share": 9 / 47,
        "price_index": 47 / (4 * BOOKS_MEDIAN),  # 0.618 -> low
        "price_band": "low",
        "price_sensitivity": 0.5 * 9 / 47 + 0.5 / (1 + (47 / 76) ** 2),
        # recency rank 1 -> ceil(5/3) = 2; orders 2.5 -> 5; spend rank 2 -> ceil(10/3) = 4
        "r_score": 2,
        "f_score": 5,
        "m_score": 4,
        "fm_score": 5,  # ceil(9/2)
        "rfm_cell": "254",
        "segment": "Can't Lose Them",  # R 2, FM 5
    },
    "carol": {
        "gender": None,
        "age_band": None,
        "location": None,
        "first_seen_at": datetime(2024, 3, 25, 20),
        "tenure_days": 6,
        "orders": 1,
        "items_bought": 1.0,
        "purchase_frequency": 30 / 6,
        "recency_days": 6,
        "days_since_last_event": 6,
        "gross_spend": 12.0,
        "refunds": 0.0,
        "total_spend": 12.0,
        "avg_order_value": 12.0,
        "avg_days_between_orders": None,
        "preferred_weekday": 1,
        "preferred_hour": 20,
        "views": 0,
        "carts": 0,
        "purchases": 1,
        "view_to_cart": None,
        "cart_to_purchase": None,
        "view_to_purchase": None,
        "top_categories": [("Toys", 12.0, 1.0, 2.0)],
        "top_category": "Toys",
        "top_category_share": 1.0,
        "top_category_affinity": 2.0,
        "top_brands": [("Acme", 12.0, 1.0, POP / 85)],
        "top_brand": "Acme",
        "top_brand_share": 1.0,
        "top_brand_affinity": POP / 85,
        "discount_rate": 0.0,
        "discount_spend_share": 0.0,
        "price_index": 1.0,  # paid 12 = the Toys median
        "price_band": "mid",
        "price_sensitivity": 0.25,  # 0 + 0.5 / (1 + 1)
        # recency rank 3 -> 5; orders rank 1 -> 2; spend rank 1 -> 2
        "r_score": 5,
        "f_score": 2,
        "m_score": 2,
        "fm_score": 2,
        "rfm_cell": "522",
        "segment": "Potential Loyalist",  # R 5, FM 2
    },
    "dave": {
        "gender": None,
        "age_band": None,
        "location": None,
        "first_seen_at": datetime(2024, 3, 5),
        "tenure_days": 26,
        "orders": 0,
        "items_bought": 0.0,
        "purchase_frequency": 0.0,
        "recency_days": None,
        "days_since_last_event": None,
        "gross_spend": 0.0,
        "refunds": 0.0,
        "total_spend": 0.0,
        "avg_order_value": None,
        "avg_days_between_orders": None,
        "preferred_weekday": None,
        "preferred_hour": None,
        "views": 0,
        "carts": 0,
        "purchases": 0,
        "view_to_cart": None,
        "cart_to_purchase": None,
        "view_to_purchase": None,
        "top_categories": [],
        "top_category": None,
        "top_category_share": None,
        "top_category_affinity": None,
        "top_brands": [],
        "top_brand": None,
        "top_brand_share": None,
        "top_brand_affinity": None,
        "discount_rate": None,
        "discount_spend_share": None,
        "price_index": None,
        "price_band": None,
        "price_sensitivity": None,
        "r_score": None,
        "f_score": None,
        "m_score": None,
        "fm_score": None,
        "rfm_cell": None,
        "segment": None,
    },
}


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _entries(value: object) -> list[tuple[str, float, float, float]]:
    if _is_missing(value):
        return []
    return [(e["name"], e["spend"], e["share"], e["affinity"]) for e in value]  # type: ignore[attr-defined]


def assert_field(user: str, field: str, got: object, want: object) -> None:
    where = f"{user}.{field}: got {got!r}, want {want!r}"
    if field in ("top_categories", "top_brands"):
        got_entries = _entries(got)
        assert len(got_entries) == len(want), where  # type: ignore[arg-type]
        for g, w in zip(got_entries, want, strict=True):  # type: ignore[call-overload]
            assert g[0] == w[0], where
            assert all(
                math.isclose(a, b, rel_tol=1e-12) for a, b in zip(g[1:], w[1:], strict=True)
            ), where
        return
    if want is None:
        assert _is_missing(got), where
        return
    assert not _is_missing(got), where
    if isinstance(want, float):
        assert math.isclose(float(got), want, rel_tol=1e-12), where  # type: ignore[arg-type]
    elif isinstance(want, datetime):
        assert pd.Timestamp(got) == pd.Timestamp(want), where  # type: ignore[arg-type]
    else:
        assert got == want, where


def test_every_field_equals_the_hand_computed_value(hand_store: Store) -> None:
    result = build_profiles(hand_store, AS_OF)
    assert result.users == 4  # erin signs up after as_of, a later purchase is ignored
    frame = load_profiles(hand_store, AS_OF).set_index("user_id")
    assert sorted(frame.index) == sorted(EXPECTED)
    for user, fields in EXPECTED.items():
        row = frame.loc[user]
        for field, want in fields.items():
            assert_field(user, field, row[field], want)
        if fields["r_score"] is not None:
            assert fields["segment"] == segment_of(
                fields["r_score"],  # type: ignore[arg-type]
                fields["f_score"],  # type: ignore[arg-type]
                fields["m_score"],  # type: ignore[arg-type]
            )


def test_get_profile_groups_the_fields(hand_store: Store) -> None:
    build_profiles(hand_store, AS_OF)
    profile = get_profile(hand_store, "alice")
    assert profile.as_of == AS_OF
    assert profile.basic.age_band == "25-34"
    assert profile.behaviour.orders == 2
    assert profile.behaviour.top_categories[0].name == "Toys"
    assert profile.preferences.top_brand == "Acme"
    assert profile.preferences.price_band == "mid"
    assert profile.lifecycle.segment == "Loyal"
    dave = get_profile(hand_store, "dave")
    assert dave.lifecycle.segment is None and dave.behaviour.recency_days is None
    card = profile_card(profile)
    assert "orders 2" in card and "segment Loyal" in card and "Toys 77% (x1.5)" in card
    assert "buys mostly on Wed at 09h" in card
    assert "segment no purchase yet" in profile_card(dave)
    record = profile_record(hand_store, "bob")
    assert record["lifecycle"]["segment"] == "Can't Lose Them"
    assert record["behaviour"]["cart_to_purchase"] is None


def test_a_profile_reads_the_same_through_the_user_index(hand_store: Store) -> None:
    early = datetime(2024, 2, 15)
    build_profiles(hand_store, early)
    build_profiles(hand_store, AS_OF)  # the index finds a user's rows of both versions
    wanted = [(user, version) for version in (early, AS_OF) for user in ("alice", "bob")]
    scanned = [get_profile(hand_store, user, version) for user, version in wanted]
    ensure_user_indexes(hand_store)
    assert has_user_index(hand_store, "profiles")
    assert [get_profile(hand_store, user, version) for user, version in wanted] == scanned
    assert scanned[0].behaviour.orders == 1 and scanned[2].behaviour.orders == 2
    with pytest.raises(UnknownIdError):
        get_profile(hand_store, "carol", early)  # not a customer yet on Feb 15


def test_versions_do_not_see_the_future(hand_store: Store) -> None:
    build_profiles(hand_store, AS_OF)
    build_profiles(hand_store, datetime(2024, 2, 15))
    early = load_profiles(hand_store, datetime(2024, 2, 15)).set_index("user_id")
    # as of Feb 15: alice has only order A1, bob both his orders, carol and dave do not exist
    assert sorted(early.index) == ["alice", "bob"]
    assert early.loc["alice", "orders"] == 1
    assert early.loc["alice", "gross_spend"] == 35.0
    assert early.loc["bob", "recency_days"] == 4
    # the later version is untouched and is the default
    assert load_profiles(hand_store).set_index("user_id").loc["alice", "orders"] == 2
    # a version is rebuilt in place, not duplicated
    build_profiles(hand_store, AS_OF)
    assert len(load_profiles(hand_store, AS_OF)) == 4


def test_missing_versions_and_users_raise_clear_errors(hand_store: Store) -> None:
    with pytest.raises(ProfilesNotBuiltError, match="profiles build"):
        load_profiles(hand_store)
    build_profiles(hand_store, AS_OF)
    with pytest.raises(ProfilesNotBuiltError, match="built versions"):
        get_profile(hand_store, "alice", datetime(2020, 1, 1))
    with pytest.raises(UnknownIdError):
        get_profile(hand_store, "nobody")


def test_line_filter_selects_exactly_purchases_and_refunds() -> None:
    """The purchase-line filter is a range (so DuckDB pushes it into the scan); it must pick
    purchase and refund and no other event type ingestion admits."""
    import duckdb

    from shopguide.columns import EventType
    from shopguide.profiles.aggregates import LINE_TYPES_FILTER

    con = duckdb.connect()
    con.execute("CREATE TABLE t (event_type VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?)", [[t] for t in EventType.ALL])
    picked = {
        row[0]
        for row in con.execute(f"SELECT event_type FROM t WHERE {LINE_TYPES_FILTER}").fetchall()
    }
    assert picked == {EventType.PURCHASE, EventType.REFUND}
