"""Complete Journey loaders: known answers on the bundled real files."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest

from shopguide.columns import EVENT_FILE_COLUMNS, Columns, EventType
from shopguide.data.datasets.complete_journey import (
    COMPLETE_JOURNEY_TABLES,
    complete_journey_campaigns,
    complete_journey_dir,
    complete_journey_event_rejects,
    complete_journey_events,
    complete_journey_items,
    complete_journey_users,
    load_complete_journey,
    read_complete_journey,
)
from shopguide.errors import FileReadError, MissingColumnsError
from shopguide.store import open_store


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return complete_journey_events(extra_columns=True)


@pytest.fixture(scope="module")
def items() -> pd.DataFrame:
    return complete_journey_items()


@pytest.fixture(scope="module")
def users() -> pd.DataFrame:
    return complete_journey_users()


@pytest.mark.parametrize(
    ("name", "rows"),
    [
        ("transactions_sample", 75_000),
        ("demographics", 801),
        ("products", 92_331),
        ("campaigns", 6_589),
        ("campaign_descriptions", 27),
        ("coupons", 116_204),
        ("coupon_redemptions", 2_102),
        ("promotions_sample", 360_535),
    ],
)
def test_bundled_tables_have_their_published_sizes(name: str, rows: int) -> None:
    df = read_complete_journey(name)
    assert len(df) == rows
    assert tuple(df.columns) == COMPLETE_JOURNEY_TABLES[name]


def test_ids_are_read_as_text_without_float_damage(events: pd.DataFrame) -> None:
    tx = read_complete_journey("transactions_sample")
    assert tx.basket_id.iloc[0] == "31625220889"
    # the source has one basket id already written as a float; it is a zero-quantity line,
    # so it never reaches the events
    bad = tx[~tx.basket_id.str.fullmatch(r"\d{11}")]
    assert bad.basket_id.tolist() == ["4.0128e+10"] and (bad.quantity == 0).all()
    assert events.order_id.str.fullmatch(r"\d{11}").all()


def test_users_are_the_801_households_with_demographics(users: pd.DataFrame) -> None:
    assert len(users) == 801 and users.user_id.is_unique
    assert list(users.columns) == [
        "user_id",
        "gender",
        "age",
        "age_band",
        "location",
        "signup_at",
        "attributes",
    ]
    assert users.gender.isna().all() and users.age.isna().all() and users.location.isna().all()
    assert users.age_band.value_counts().to_dict() == {
        "45-54": 288,
        "35-44": 194,
        "25-34": 142,
        "65+": 72,
        "55-64": 59,
        "19-24": 46,
    }
    first = users.set_index("user_id").loc["1"]
    assert first.age_band == "65+"
    assert first.attributes == {
        "income": "35-49K",
        "home_ownership": "Homeowner",
        "marital_status": "Married",
        "household_size": "2",
        "household_comp": "2 Adults No Kids",
        "kids_count": "0",
    }
    # household 1003 has no home ownership in the source (third line of the file)
    assert users.set_index("user_id").loc["1003"].attributes["home_ownership"] is None
    owners = pd.Series([a["home_ownership"] for a in users.attributes])
    assert owners.isna().sum() == 233 and (owners == "Homeowner").sum() == 504


def test_unprofiled_households_can_be_included() -> None:
    everyone = complete_journey_users(include_unprofiled=True)
    # every household named in any of the three files, counted straight from the gzip text
    seen: set[str] = set()
    for name, col in (("transactions_sample", 0), ("campaigns", 1), ("coupon_redemptions", 0)):
        with gzip.open(complete_journey_dir() / f"{name}.csv.gz", "rt") as fh:
            next(fh)
            seen |= {line.split(",")[col].strip() for line in fh}
    demo = set(complete_journey_users().user_id)
    assert set(everyone.user_id) == seen | demo
    assert len(everyone) == 2_379
    assert everyone[~everyone.user_id.isin(demo)].age_band.isna().all()


def test_items_have_category_paths_and_brands(items: pd.DataFrame) -> None:
    assert len(items) == 92_331 and items.item_id.is_unique
    assert items.brand.value_counts().to_dict() == {"National": 78_516, "Private": 13_815}
    assert items.price.isna().all()
    by_id = items.set_index("item_id")
    ice = by_id.loc["25671"]
    assert ice.category == "GROCERY > FRZN ICE > ICE - CRUSHED/CUBED"
    assert ice.title == "ICE - CRUSHED/CUBED"
    assert ice.attributes == {"manufacturer_id": "2", "package_size": "22 LB"}
    misc = by_id.loc["26081"]  # no category or type in the source
    assert misc.category == "MISCELLANEOUS" and misc.title == "MISCELLANEOUS"
    assert misc.attributes["package_size"] is None
    assert not items.category.str.contains("nan").any()
    assert not items.category.str.contains(" >  > ").any()


def test_events_drop_zero_quantity_lines_and_keep_the_rest(events: pd.DataFrame) -> None:
    raw = read_complete_journey("transactions_sample")
    assert (raw.quantity == 0).sum() == 416
    assert len(events) == 75_000 - 416 == 74_584
    assert events.user_id.nunique() == 2_373
    assert events.order_id.nunique() == 47_034
    assert events.item_id.nunique() == 20_833
    assert events.event_id.is_unique
    assert tuple(events.columns[: len(EVENT_FILE_COLUMNS)]) == EVENT_FILE_COLUMNS
    assert (events.event_type == EventType.PURCHASE).all()
    assert (events.quantity > 0).all() and (events.price >= 0).all()
    assert (events.discount >= 0).all()
    assert events.session_id.isna().all() and events.campaign_id.isna().all()
    assert str(events.timestamp.dtype) == "datetime64[us]"


def test_money_follows_the_documented_convention(events: pd.DataFrame) -> None:
    # price x quantity - discount gives back what the source booked as sales_value
    booked = events.price * events.quantity - events.discount
    assert np.allclose(booked, events.sales_value, atol=0.006)
    parts = events.retail_disc + events.coupon_disc + events.coupon_match_disc
    assert np.allclose(events.discount, parts, atol=0.006)
    # hand-checked lines
    by_id = events.set_index("event_id")
    first = by_id.loc["31625220889-940996-0"]  # 1 x, paid 3.86, loyalty discount 0.43
    assert (first.user_id, first.item_id, first.order_id) == ("2261", "940996", "31625220889")
    assert first.quantity == 1 and first.price == pytest.approx(4.29)
    assert first.discount == pytest.approx(0.43)
    assert first.timestamp == pd.Timestamp("2017-01-28 19:06:53")
    coupon = by_id.loc["33770325654-13007434-0"]  # 2 x, paid 3.50, 2.78 + 1.50 + 0.50 off
    assert coupon.quantity == 2 and coupon.discount == pytest.approx(4.78)
    assert coupon.price == pytest.approx((3.50 + 4.78) / 2)


def test_canonical_event_columns_only_by_default() -> None:
    assert tuple(complete_journey_events().columns) == EVENT_FILE_COLUMNS


def test_campaign_tables(events: pd.DataFrame) -> None:
    camp = complete_journey_campaigns()
    assert len(camp.received) == 6_589 and not camp.received.duplicated().any()
    assert len(camp.descriptions) == 27 and camp.descriptions.campaign_id.is_unique
    assert len(camp.coupons) == 116_204
    assert len(camp.redemptions) == 2_102
    assert camp.descriptions.campaign_type.value_counts().to_dict() == {
        "Type B": 17,
        "Type C": 6,
        "Type A": 4,
    }
    c24 = camp.descriptions.set_index("campaign_id").loc["24"]
    assert (c24.start, c24.end) == (pd.Timestamp("2016-11-14"), pd.Timestamp("2017-01-16"))
    assert (camp.descriptions.start <= camp.descriptions.end).all()
    assert set(camp.received.campaign_id) <= set(camp.descriptions.campaign_id)
    assert set(camp.redemptions.campaign_id) <= set(camp.descriptions.campaign_id)
    first = camp.redemptions.iloc[0]
    assert (first.user_id, first.coupon_upc, first.campaign_id) == ("1029", "51380041013", "26")
    assert first.redeemed_at == pd.Timestamp("2017-01-01")
    # ids line up with the users and items of the other loaders
    assert camp.coupons.item_id.isin(complete_journey_items().item_id).mean() > 0.99
    assert camp.received.user_id.isin(events.user_id).mean() > 0.9


def test_frames_load_into_a_real_store(tmp_path, users, items, events) -> None:
    with open_store(tmp_path / "cj.duckdb") as store:
        store.append("users", users.assign(attributes=users.attributes.map(json.dumps)))
        store.append("items", items.assign(attributes=items.attributes.map(json.dumps)))
        canonical = events[list(EVENT_FILE_COLUMNS)].assign(event_key=events.event_id)
        store.append("events", canonical)
        assert store.scalar("SELECT count(*) FROM events") == 74_584
        assert store.scalar("SELECT count(DISTINCT user_id) FROM events") == 2_373
        spent = store.scalar("SELECT round(sum(price * quantity - discount), 2) FROM events")
        assert spent == pytest.approx(round(events.sales_value.sum(), 2), abs=0.05)
        income = store.scalar("SELECT attributes->>'income' FROM users WHERE user_id = '1'")
        assert income == "35-49K"
        path = store.scalar("SELECT category FROM items WHERE item_id = '25671'")
        assert path == "GROCERY > FRZN ICE > ICE - CRUSHED/CUBED"
        assert store.scalar(f"SELECT count(*) FROM events WHERE {Columns.QUANTITY} <= 0") == 0


def test_unreadable_and_incomplete_files_give_typed_errors(tmp_path) -> None:
    with pytest.raises(FileReadError):
        read_complete_journey("demographics", tmp_path)
    with gzip.open(tmp_path / "demographics.csv.gz", "wt") as fh:
        fh.write("household_id,age\n1,65+\n")
    with pytest.raises(MissingColumnsError):
        complete_journey_users(tmp_path)
    with pytest.raises(ValueError, match="unknown Complete Journey table"):
        read_complete_journey("nope")


def test_rejects_account_for_every_source_line(events: pd.DataFrame) -> None:
    lines, rejects = complete_journey_event_rejects()
    assert len(lines) == len(events) and len(rejects) == 416
    assert sorted([*lines, *rejects.line]) == list(range(2, 75_002))
    # line 2 of the file is the first event; the first zero-quantity line is data row 29
    assert lines[0] == 2
    assert rejects.line.iloc[0] == 31 and json.loads(rejects.raw.iloc[0])["household_id"] == "1038"


def test_load_into_a_store_accounts_for_every_line_and_is_idempotent(tmp_path) -> None:
    with open_store(tmp_path / "cj.duckdb") as store:
        first = load_complete_journey(store)
        ev = first["events"]
        assert (ev.rows_read, ev.accepted, ev.rejected, ev.duplicates) == (75_000, 74_584, 416, 0)
        assert first["users"].accepted == 801 and first["items"].accepted == 92_331
        assert store.scalar("SELECT count(*) FROM quarantine") == 416
        again = load_complete_journey(store)
        assert again["events"].accepted == 0
        assert store.scalar("SELECT count(*) FROM events") == 74_584
