"""The synthetic generator: reproducible, canonical, and its planted structure is really there."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shopguide.columns import EVENT_FILE_COLUMNS, ITEM_FILE_COLUMNS, USER_FILE_COLUMNS, EventType
from shopguide.data.datasets.synthetic import (
    SyntheticData,
    SyntheticTruth,
    generate,
    iter_event_chunks,
    load_synthetic,
    read_parquet,
    write_parquet,
)
from shopguide.errors import ConfigError
from shopguide.store import open_store

N_EVENTS = 200_000


@pytest.fixture(scope="module")
def data() -> SyntheticData:
    return generate(n_users=1_000, n_items=200, n_events=N_EVENTS, seed=7)


@pytest.fixture(scope="module")
def purchases(data: SyntheticData) -> pd.DataFrame:
    ev = data.events
    return (
        ev[ev.event_type == EventType.PURCHASE]
        .merge(data.truth.users, on="user_id")
        .merge(data.items[["item_id", "brand", "category"]], on="item_id")
    )


def _assert_same(a: SyntheticData, b: SyntheticData) -> None:
    pd.testing.assert_frame_equal(a.users, b.users)
    pd.testing.assert_frame_equal(a.items, b.items)
    pd.testing.assert_frame_equal(a.events, b.events)
    for name in SyntheticTruth.TABLES:
        pd.testing.assert_frame_equal(getattr(a.truth, name), getattr(b.truth, name))
    assert a.truth.params == b.truth.params


# ---------------------------------------------------------------------------------- reproducible


def test_same_seed_gives_identical_frames() -> None:
    _assert_same(generate(n_events=20_000, seed=3), generate(n_events=20_000, seed=3))


def test_other_seed_gives_other_data() -> None:
    a, b = generate(n_events=20_000, seed=3), generate(n_events=20_000, seed=4)
    assert not a.events[["user_id", "item_id"]].equals(b.events[["user_id", "item_id"]])


def test_chunks_concatenate_to_the_in_memory_events() -> None:
    # n_events large relative to users forces several user blocks
    kwargs = {"n_users": 300, "n_items": 100, "n_events": 30_000, "seed": 5, "block_events": 5_000}
    chunks = list(iter_event_chunks(**kwargs))
    assert len(chunks) > 1
    streamed = pa.concat_tables(chunks).to_pandas()
    streamed["timestamp"] = streamed["timestamp"].astype("datetime64[us]")
    pd.testing.assert_frame_equal(streamed, generate(**kwargs).events)


def test_streaming_writer_writes_the_same_rows_as_in_memory(tmp_path) -> None:
    kwargs = {"n_users": 300, "n_items": 100, "n_events": 30_000, "seed": 5, "block_events": 5_000}
    files = write_parquet(tmp_path / "synth", row_group_rows=8_000, **kwargs)
    assert pq.ParquetFile(files.events).metadata.num_row_groups > 1
    back = read_parquet(files.directory)
    expected = generate(**kwargs)
    assert files.n_events == len(expected.events)
    _assert_same(back, expected)


# ---------------------------------------------------------------------------- canonical frames


def test_canonical_columns_and_types(data: SyntheticData) -> None:
    ev, users, items = data.events, data.users, data.items
    assert tuple(ev.columns) == EVENT_FILE_COLUMNS
    assert tuple(users.columns) == USER_FILE_COLUMNS
    assert tuple(items.columns) == ITEM_FILE_COLUMNS
    assert set(ev.event_type.unique()) == set(EventType.ALL)
    assert ev.event_id.is_unique
    assert ev.event_id.str.fullmatch(r"e\d{10}").all()
    assert users.user_id.str.fullmatch(r"u\d{6}").all() and users.user_id.is_unique
    assert items.item_id.str.fullmatch(r"i\d{5}").all() and items.item_id.is_unique
    assert str(ev.timestamp.dtype) == "datetime64[us]"
    assert (ev.quantity > 0).all() and (ev.price >= 0).all() and (ev.discount >= 0).all()
    assert (ev.discount <= ev.price * ev.quantity + 1e-9).all()
    assert set(ev.user_id) <= set(users.user_id) and set(ev.item_id) <= set(items.item_id)
    assert set(users.gender) <= {"M", "F", "O"} and users.age.between(18, 85).all()
    assert items.category.str.contains(" > ").all() and (items.price > 0).all()
    # ids and money only where they belong
    money = ev.event_type.isin([EventType.PURCHASE, EventType.REFUND])
    assert ev.order_id[money].notna().all() and ev.order_id[~money].isna().all()
    assert (ev.discount[~money] == 0).all()
    assert ev.session_id[ev.event_type != EventType.REFUND].notna().all()
    # the window and sign-up order
    start, end = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-01") + pd.Timedelta(days=180)
    assert ev.timestamp.min() >= start and ev.timestamp.max() < end
    first = ev.groupby("user_id").timestamp.min()
    signup = users.set_index("user_id").signup_at.reindex(first.index)
    assert (first >= signup).all()


def test_event_count_is_close_to_the_target(data: SyntheticData) -> None:
    assert abs(len(data.events) - N_EVENTS) / N_EVENTS < 0.05


def test_refunds_follow_a_purchase_of_the_same_line(data: SyntheticData) -> None:
    ev = data.events
    keys = ["order_id", "item_id"]
    pur = ev[ev.event_type == EventType.PURCHASE].groupby(keys).timestamp.min()
    ref = ev[ev.event_type == EventType.REFUND].set_index(keys).timestamp
    assert len(ref) > 0
    assert ref.index.isin(pur.index).all()
    assert (ref > pur.reindex(ref.index)).all()


def test_each_order_belongs_to_one_session_user_and_time(data: SyntheticData) -> None:
    pur = data.events[data.events.event_type == EventType.PURCHASE]
    per_order = pur.groupby("order_id")[["user_id", "session_id", "timestamp"]].nunique()
    assert (per_order == 1).all().all()


# ---------------------------------------------------------------------------- planted structure


def test_loyalists_buy_their_brand_far_more_than_the_population(purchases: pd.DataFrame) -> None:
    others = purchases[purchases.brand_segment == "none"]
    brands = purchases.loyal_brand.dropna().unique()
    assert len(brands) == 4
    for brand in brands:
        loyal = purchases[purchases.loyal_brand == brand]
        loyal_share = (loyal.brand == brand).mean()
        population_share = (others.brand == brand).mean()
        assert loyal_share >= 0.55, brand
        assert population_share <= 0.2, brand
        assert loyal_share >= 4 * population_share, brand


def test_discount_seekers_buy_mostly_discounted_lines(purchases: pd.DataFrame) -> None:
    discounted = (purchases.discount > 0).groupby(purchases.price_segment).mean()
    assert discounted["discount_seeker"] >= 0.7
    assert discounted["regular"] <= 0.2
    assert discounted["discount_seeker"] - discounted["regular"] >= 0.5


def test_premium_users_buy_above_the_category_median(
    data: SyntheticData, purchases: pd.DataFrame
) -> None:
    # the median is recomputed here from the items frame, not read from the truth
    median = data.items.groupby("category").price.median()
    above = purchases.price > purchases.category.map(median)
    share = above.groupby(purchases.price_segment).mean()
    assert share["premium"] >= 0.9
    assert share["regular"] <= 0.6
    # and the truth's premium flag agrees with that recomputation
    flags = data.items.price > data.items.category.map(median)
    assert (flags.to_numpy() == data.truth.items.premium.to_numpy()).all()


def test_planted_pairs_are_bought_together(data: SyntheticData) -> None:
    pur = data.events[data.events.event_type == EventType.PURCHASE]
    lines = pur[["order_id", "item_id"]].drop_duplicates()
    n_orders = lines.order_id.nunique()
    orders_of = lines.groupby("item_id").order_id.apply(set)
    lifts, conditionals = [], []
    for a, b in data.truth.bundles[["item_a", "item_b"]].itertuples(index=False):
        oa, ob = orders_of.get(a, set()), orders_of.get(b, set())
        assert len(oa) >= 10, a
        both = len(oa & ob)
        conditionals.append(both / len(oa))
        lifts.append(both * n_orders / (len(oa) * len(ob)))
    assert len(lifts) == 10
    assert np.median(conditionals) >= 0.45
    assert min(lifts) >= 10
    # a non-planted comparison: the same triggers with random mid-popular partners
    rng = np.random.default_rng(0)
    planted_b = set(data.truth.bundles.item_b)
    pool = [i for i in orders_of.index if i not in planted_b and len(orders_of[i]) >= 10]
    random_lifts = []
    for a in data.truth.bundles.item_a:
        b = pool[rng.integers(len(pool))]
        random_lifts.append(
            len(orders_of[a] & orders_of[b]) * n_orders / (len(orders_of[a]) * len(orders_of[b]))
        )
    assert np.median(lifts) >= 5 * max(np.median(random_lifts), 1.0)


def test_churners_stop_at_their_churn_date(data: SyntheticData) -> None:
    users = data.truth.users
    churners = users[users.is_churner]
    assert 0.05 <= users.is_churner.mean() <= 0.3
    assert users.churn_at.isna().eq(~users.is_churner).all()
    ev = data.events.merge(churners[["user_id", "churn_at"]], on="user_id")
    assert len(ev) > 0
    assert (ev.timestamp < ev.churn_at).all()
    # non-churners stay active to the end: most have an event in the last 30 days
    end = pd.Timestamp("2024-01-01") + pd.Timedelta(days=180)
    last = data.events.groupby("user_id").timestamp.max()
    stayers = users[~users.is_churner & (users.activity > 1)].user_id
    assert (last.reindex(stayers) >= end - pd.Timedelta(days=30)).mean() >= 0.7


def test_funnel_counts_match_the_events_and_rates_match_the_plan(data: SyntheticData) -> None:
    ev = data.events.merge(data.truth.users[["user_id", "price_segment"]], on="user_id")
    ev["category_top"] = ev.item_id.map(data.truth.items.set_index("item_id").category_top)
    counts = (
        ev.groupby(["category_top", "price_segment", "event_type"]).size().unstack(fill_value=0)
    )
    funnel = data.truth.funnel.set_index(["category_top", "price_segment"])
    for col, etype in (
        ("views", "view"),
        ("clicks", "click"),
        ("carts", "cart"),
        ("purchases", "purchase"),
    ):
        assert (funnel[col] == counts[etype].reindex(funnel.index)).all(), col
    # observed pooled rates within 4 standard errors (+0.01) of the planted ones
    for num, den, p in (
        ("clicks", "views", "p_click"),
        ("carts", "clicks", "p_cart"),
        ("purchases", "carts", "p_purchase"),
    ):
        rate = funnel[num] / funnel[den]
        se = np.sqrt(funnel[p] * (1 - funnel[p]) / funnel[den])
        assert ((rate - funnel[p]).abs() <= 4 * se + 0.01).all(), p
    # the plan itself differs by category and segment
    assert funnel.p_view_to_purchase.max() >= 1.5 * funnel.p_view_to_purchase.min()


def test_campaign_responders_respond_only_when_treated(data: SyntheticData) -> None:
    asg, campaigns = data.truth.assignments, data.truth.campaigns
    assert set(asg.uplift_type) == {"persuadable", "sure_thing", "lost_cause"}
    assert 0.4 <= asg.treated.mean() <= 0.6
    rate = asg.groupby(["uplift_type", "treated"]).responded.mean()
    assert rate["persuadable", True] == 1.0
    assert rate["sure_thing", True] == 1.0 and rate["sure_thing", False] == 1.0
    assert rate["persuadable", False] <= 0.3
    assert rate["lost_cause", True] <= 0.3
    # randomisation: the treated and control groups are alike
    shares = asg.groupby("treated").uplift_type.value_counts(normalize=True).unstack()
    assert (shares.loc[True] - shares.loc[False]).abs().max() < 0.05
    # uplift is learnable from the profile: discount seekers are mostly persuadable
    seg = asg.merge(data.truth.users[["user_id", "price_segment"]], on="user_id")
    by = seg.groupby(["price_segment", "treated"]).responded.mean()
    assert by["discount_seeker", True] - by["discount_seeker", False] >= 0.3
    assert by["regular", True] - by["regular", False] <= 0.2
    # responded recomputed from the events: bought a promoted-brand item in the window
    ev = data.events[data.events.event_type == EventType.PURCHASE].merge(
        data.items[["item_id", "brand"]], on="item_id"
    )
    recomputed = []
    for c in campaigns.itertuples(index=False):
        inside = ev[(ev.brand == c.brand) & (ev.timestamp >= c.start) & (ev.timestamp < c.end)]
        buyers = set(inside.user_id)
        rows = asg[asg.campaign_id == c.campaign_id]
        recomputed.append(pd.Series(rows.user_id.isin(buyers).to_numpy(), index=rows.index))
    assert (pd.concat(recomputed).sort_index() == asg.responded).all()
    # campaign ids only on treated users' events, inside the campaign window (refunds of a
    # campaign line keep its campaign id and come later)
    tagged = data.events[data.events.campaign_id.notna()].merge(
        campaigns[["campaign_id", "start", "end"]], on="campaign_id"
    )
    assert len(tagged) > 0
    inside = tagged.timestamp.between(tagged.start, tagged.end, inclusive="left")
    assert (inside | (tagged.event_type == EventType.REFUND)).all()
    assert (tagged.timestamp[~inside] > tagged.end[~inside]).all()
    treated = set(map(tuple, asg[asg.treated][["user_id", "campaign_id"]].to_numpy()))
    assert set(map(tuple, tagged[["user_id", "campaign_id"]].to_numpy())) <= treated


def test_loads_into_a_real_store_from_memory_and_from_files(tmp_path) -> None:
    kwargs = {"n_users": 200, "n_items": 60, "n_events": 8_000, "seed": 11}
    data = generate(**kwargs)
    files = write_parquet(tmp_path / "files", **kwargs)
    for label, source in (("memory", data), ("files", files)):
        with open_store(tmp_path / f"{label}.duckdb") as store:
            reports = load_synthetic(store, source)
            assert {k: r.rejected for k, r in reports.items()} == {
                "items": 0,
                "users": 0,
                "events": 0,
            }
            assert reports["events"].accepted == len(data.events)
            counts = store.query_df(
                "SELECT event_type, count(*) AS n FROM events GROUP BY 1"
            ).set_index("event_type")["n"]
            assert counts.to_dict() == data.events.event_type.value_counts().to_dict()
            spend = store.scalar(
                "SELECT round(sum(price * quantity - discount), 2) FROM events "
                "WHERE event_type = 'purchase'"
            )
            pur = data.events[data.events.event_type == EventType.PURCHASE]
            assert spend == pytest.approx(
                round((pur.price * pur.quantity - pur.discount).sum(), 2), abs=0.01
            )
            # loading the same data again adds nothing
            assert load_synthetic(store, source)["events"].accepted == 0


# ---------------------------------------------------------------------------- settings and edges


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_users": 0},
        {"n_items": 5},
        {"days": 10},
        {"loyal_share": 1.5},
        {"discount_seeker_share": 0.7, "premium_share": 0.6},
        {"start": "not a date"},
        {"days": 30, "n_campaigns": 61},
        {"no_such_option": 1},
    ],
)
def test_bad_settings_raise_config_error(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        generate(**kwargs)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_users=st.integers(1, 60),
    n_items=st.integers(40, 80),
    n_events=st.integers(1, 3_000),
    seed=st.integers(0, 2**32 - 1),
    n_campaigns=st.integers(0, 4),
    n_bundles=st.integers(0, 10),
)
def test_small_random_configurations_stay_valid(
    n_users: int, n_items: int, n_events: int, seed: int, n_campaigns: int, n_bundles: int
) -> None:
    d = generate(
        n_users=n_users,
        n_items=n_items,
        n_events=n_events,
        seed=seed,
        days=60,
        n_campaigns=n_campaigns,
        n_bundles=n_bundles,
    )
    ev = d.events
    assert tuple(ev.columns) == EVENT_FILE_COLUMNS
    assert len(d.users) == n_users and len(d.items) == n_items
    assert ev.event_id.is_unique
    assert set(ev.event_type) <= set(EventType.ALL)
    assert (ev.quantity > 0).all() and (ev.price >= 0).all() and (ev.discount >= 0).all()
    churn = d.truth.users.set_index("user_id").churn_at
    assert not (ev.timestamp >= ev.user_id.map(churn)).any()
    assert len(d.truth.campaigns) == n_campaigns and len(d.truth.bundles) == n_bundles
