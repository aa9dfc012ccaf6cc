"""The world drawn once before any event: items, users, planted segments, sampling tables."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from shopguide.columns import Columns
from shopguide.data.datasets.synthetic.config import (
    _BRAND_NAMES,
    _CITIES,
    _CITY_WEIGHTS,
    _DAY,
    _DECLINE_DAYS,
    _DECLINE_FLOOR,
    _FAVORITE_PROB,
    _MEAN_EXTRA_VIEWS,
    BASE_PRICE,
    CATEGORIES,
    FUNNEL_RATES,
    PRICE_SEGMENTS,
    SEGMENT_FUNNEL_FACTORS,
    SyntheticConfig,
)

# ---------------------------------------------------------------------------------------------
# the world: users, items, planted segments, sampling tables (drawn once, before any event)


@dataclass
class _World:
    cfg: SyntheticConfig
    start_s: int
    end_s: int
    # items
    item_ids: pa.Array
    item_cat: np.ndarray  # int, index into categories
    item_top: np.ndarray  # int, index into top-level names
    item_brand: np.ndarray
    item_price: np.ndarray
    item_premium: np.ndarray
    item_pop: np.ndarray
    categories: list[str]
    tops: list[str]
    brands: list[str]
    # sampling: one global cumulative array; table t spans values (t, t+1]
    cdf: np.ndarray
    cdf_items: np.ndarray
    cat_table: np.ndarray  # [n_cat, 2] table index for (category, premium)
    brand_table: np.ndarray  # [n_loyal, 2]
    cat_cdf: np.ndarray  # population category choice
    bundle_partner: np.ndarray  # item -> partner item or -1
    # users
    user_ids: pa.Array
    u_loyal: np.ndarray  # loyalty brand index or -1
    u_pseg: np.ndarray  # index into PRICE_SEGMENTS
    u_fav: np.ndarray  # [n_users, 2] category indices
    u_from: np.ndarray  # active from, seconds
    u_to: np.ndarray  # active to (exclusive), seconds
    u_churn: np.ndarray  # churn seconds or -1
    u_sessions: np.ndarray  # expected sessions
    # funnel probabilities [n_top, n_pseg, 3]
    funnel_p: np.ndarray
    # campaigns
    camp_brand: np.ndarray
    camp_discount: np.ndarray
    camp_start: np.ndarray
    camp_end: np.ndarray
    camp_ids: list[str]
    # responses: rows (user, campaign, treated, uplift type) of eligible pairs
    asg_user: np.ndarray
    asg_camp: np.ndarray
    asg_treated: np.ndarray
    asg_type: np.ndarray
    block_users: int
    users_df: pd.DataFrame = field(repr=False)
    items_df: pd.DataFrame = field(repr=False)
    truth_users: pd.DataFrame = field(repr=False)
    truth_items: pd.DataFrame = field(repr=False)
    truth_bundles: pd.DataFrame = field(repr=False)
    truth_campaigns: pd.DataFrame = field(repr=False)


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded numbers, built in Arrow (fast for millions of ids)."""
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), width, "0")
    return pc.binary_join_element_wise(pa.scalar(prefix), digits, "")


def _slug(name: str) -> str:
    return name.lower().replace(" ", "_")


def _seconds(ts: pd.Timestamp) -> int:
    return int(ts.value // 1_000_000_000)


def _to_datetime(seconds: np.ndarray) -> np.ndarray:
    return np.asarray(seconds, dtype="int64").astype("datetime64[s]").astype("datetime64[us]")


def _expected_events_per_view(world_funnel: np.ndarray, seg_share: np.ndarray) -> float:
    """Average events one view produces under the planted funnel (for sizing)."""
    pc_, pk, pb = world_funnel[..., 0], world_funnel[..., 1], world_funnel[..., 2]
    per = 1 + pc_ * (1 + _FAVORITE_PROB) + pc_ * pk + pc_ * pk * pb
    return float((per.mean(axis=0) * seg_share).sum())


def _build_world(cfg: SyntheticConfig) -> _World:
    cfg.validate()
    rng = np.random.default_rng(np.random.SeedSequence(cfg.seed, spawn_key=(0,)))
    start = pd.Timestamp(cfg.start).normalize()
    start_s = _seconds(start)
    end_s = start_s + cfg.days * _DAY

    # ---- catalogue
    categories = list(CATEGORIES[: cfg.n_categories])
    tops = sorted({c.split(" > ")[0] for c in categories})
    cat_top = np.array([tops.index(c.split(" > ")[0]) for c in categories])
    n_items, n_cat = cfg.n_items, len(categories)
    item_cat = np.concatenate([np.arange(n_cat), rng.integers(0, n_cat, n_items - n_cat)])
    rng.shuffle(item_cat)
    brands = list(_BRAND_NAMES[: cfg.n_brands])
    # loyalty brands hold ~8% of items each, the rest share what is left; every brand >= 1 item
    loyal_w = min(0.08, 0.8 / cfg.n_loyal_brands)
    other = cfg.n_brands - cfg.n_loyal_brands
    bw = np.full(cfg.n_brands, loyal_w)
    if other:
        bw[cfg.n_loyal_brands :] = (1 - loyal_w * cfg.n_loyal_brands) / other
    bw /= bw.sum()
    item_brand = np.concatenate(
        [np.arange(cfg.n_brands), rng.choice(cfg.n_brands, n_items - cfg.n_brands, p=bw)]
    )
    rng.shuffle(item_brand)
    brand_tier = rng.choice([0.8, 1.0, 1.3], cfg.n_brands)
    base = np.array([BASE_PRICE[tops[t]] for t in cat_top])[item_cat]
    item_price = np.round(
        np.maximum(0.5, base * rng.lognormal(0, 0.5, n_items) * brand_tier[item_brand]), 2
    )
    medians = np.array(
        [np.median(item_price[item_cat == c]) if (item_cat == c).any() else 0 for c in range(n_cat)]
    )
    item_premium = item_price > medians[item_cat]
    rank = rng.permutation(n_items)  # popularity rank of each item (0 = most popular)
    item_pop = (rank + 1.0) ** -0.8
    item_top = cat_top[item_cat]
    in_stock = rng.random(n_items) < 0.95
    id_width = max(5, len(str(n_items)))
    item_ids = _ids("i", np.arange(1, n_items + 1), id_width)
    sub = np.array([c.split(" > ")[1] for c in categories])[item_cat]
    titles = [
        f"{brands[b]} {s} {i:0{id_width}d}"
        for b, s, i in zip(item_brand, sub, range(1, n_items + 1), strict=True)
    ]

    # ---- bundles: disjoint pairs, trigger popular, partner mid-popular
    order = np.argsort(rank)  # items from most to least popular
    partner = np.full(n_items, -1)
    bundle_rows = []
    if cfg.n_bundles:
        a_pool = order[int(0.05 * n_items) : max(int(0.3 * n_items), int(0.05 * n_items) + 1)]
        b_pool = order[int(0.3 * n_items) : int(0.7 * n_items)]
        if len(a_pool) < cfg.n_bundles:
            a_pool = order[: int(0.3 * n_items)]
        a_items = rng.choice(a_pool, cfg.n_bundles, replace=False)
        b_items = rng.choice(b_pool, cfg.n_bundles, replace=False)
        partner[a_items] = b_items
        bundle_rows = list(zip(a_items, b_items, strict=True))

    # ---- sampling tables: (category, premium) and (loyalty brand, premium)
    groups: list[np.ndarray] = []
    cat_table = np.zeros((n_cat, 2), dtype=np.int64)
    for c in range(n_cat):
        in_cat = np.flatnonzero(item_cat == c)
        cat_table[c, 0] = len(groups)
        groups.append(in_cat)
        prem = in_cat[item_premium[in_cat]]
        if len(prem):
            cat_table[c, 1] = len(groups)
            groups.append(prem)
        else:
            cat_table[c, 1] = cat_table[c, 0]
    brand_table = np.zeros((cfg.n_loyal_brands, 2), dtype=np.int64)
    for b in range(cfg.n_loyal_brands):
        of_b = np.flatnonzero(item_brand == b)
        brand_table[b, 0] = len(groups)
        groups.append(of_b)
        prem = of_b[item_premium[of_b]]
        if len(prem):
            brand_table[b, 1] = len(groups)
            groups.append(prem)
        else:
            brand_table[b, 1] = brand_table[b, 0]
    cdf_parts, item_parts = [], []
    for t, members in enumerate(groups):
        w = np.cumsum(item_pop[members])
        part = t + w / w[-1]
        part[-1] = t + 1.0
        cdf_parts.append(part)
        item_parts.append(members)
    cdf = np.concatenate(cdf_parts)
    cdf_items = np.concatenate(item_parts)
    cat_pop = np.bincount(item_cat, weights=item_pop, minlength=n_cat)
    cat_cdf = np.cumsum(cat_pop / cat_pop.sum())
    cat_cdf[-1] = 1.0

    # ---- users
    n_users = cfg.n_users
    gender = rng.choice(np.array(["M", "F", "O"]), n_users, p=[0.47, 0.49, 0.04])
    age = np.minimum(85, 18 + rng.gamma(4.0, 5.0, n_users)).astype(np.int64)
    location = rng.choice(np.array(_CITIES), n_users, p=np.array(_CITY_WEIGHTS))
    signup = (
        start_s
        - 180 * _DAY
        + (rng.random(n_users) * (180 + 0.7 * cfg.days) * _DAY).astype(np.int64)
    )
    u_from = np.maximum(signup, start_s)
    user_width = max(6, len(str(n_users)))
    user_ids = _ids("u", np.arange(1, n_users + 1), user_width)

    is_loyal = rng.random(n_users) < cfg.loyal_share
    u_loyal = np.where(is_loyal, rng.integers(0, cfg.n_loyal_brands, n_users), -1)
    r = rng.random(n_users)
    u_pseg = np.where(
        r < cfg.discount_seeker_share,
        1,
        np.where(r < cfg.discount_seeker_share + cfg.premium_share, 2, 0),
    )
    # favourite categories: popularity x demographic affinity, two distinct
    top_names = np.array(tops)[cat_top]
    aff = np.ones((n_users, n_cat))
    female, male = gender == "F", gender == "M"
    for t_name, mask, factor in (
        ("Beauty", female, 3.0),
        ("Fashion", female, 3.0),
        ("Electronics", male, 3.0),
        ("Sports", male, 3.0),
        ("Home", age >= 50, 2.0),
        ("Books", age >= 50, 2.0),
        ("Toys", age < 30, 2.0),
    ):
        aff[np.ix_(mask, top_names == t_name)] *= factor
    fav_w = aff * cat_pop
    fav_w /= fav_w.sum(axis=1, keepdims=True)
    # Gumbel top-2 = two draws without replacement, vectorised over users
    keys = np.log(fav_w) - np.log(-np.log(rng.random((n_users, n_cat))))
    u_fav = np.argsort(-keys, axis=1)[:, :2] if n_cat >= 2 else np.zeros((n_users, 2), int)

    # churn
    churn_p = np.where(is_loyal, 0.5 * cfg.churn_share, cfg.churn_share)
    can_churn = signup < start_s + int(0.2 * cfg.days * _DAY)
    is_churner = (rng.random(n_users) < churn_p) & can_churn
    churn_at = start_s + ((0.3 + 0.55 * rng.random(n_users)) * cfg.days * _DAY).astype(np.int64)
    u_churn = np.where(is_churner, churn_at, -1)
    u_to = np.where(is_churner, churn_at, end_s)

    # activity: lognormal intensity x active days x mean decline factor of churners
    activity = rng.lognormal(0.0, 0.7, n_users)
    active_days = np.maximum(u_to - u_from, 0) / _DAY
    decline_len = np.minimum(_DECLINE_DAYS, active_days)
    mean_intensity = np.where(
        is_churner,
        1 - (1 - _DECLINE_FLOOR) / 2 * decline_len / np.maximum(active_days, 1e-9),
        1.0,
    )
    funnel_p = np.zeros((len(tops), len(PRICE_SEGMENTS), 3))
    for ti, t_name in enumerate(tops):
        for si, seg in enumerate(PRICE_SEGMENTS):
            funnel_p[ti, si] = np.minimum(
                0.95, np.array(FUNNEL_RATES[t_name]) * np.array(SEGMENT_FUNNEL_FACTORS[seg])
            )
    # ---- campaigns
    n_c = cfg.n_campaigns
    length = min(14 * _DAY, cfg.days * _DAY // max(2 * n_c, 1))
    camp_start = np.array(
        [start_s + int((0.15 + 0.7 * k / max(n_c, 1)) * cfg.days) * _DAY for k in range(n_c)],
        dtype=np.int64,
    )
    camp_end = camp_start + length
    camp_brand = np.arange(n_c) % cfg.n_loyal_brands
    camp_discount = np.array([(0.2, 0.3, 0.25)[k % 3] for k in range(n_c)])
    camp_ids = [f"c{k + 1:02d}" for k in range(n_c)]
    asg_u, asg_c, asg_t, asg_ty = [], [], [], []
    for k in range(n_c):
        eligible = (signup <= camp_start[k]) & (~is_churner | (churn_at >= camp_end[k]))
        users_k = np.flatnonzero(eligible)
        treated = rng.random(len(users_k)) < cfg.treat_share
        p_sure = np.where(u_loyal[users_k] == camp_brand[k], 0.5, 0.03)
        p_pers = np.where(u_pseg[users_k] == 1, 0.6, 0.1)
        r1, r2 = rng.random(len(users_k)), rng.random(len(users_k))
        utype = np.where(r1 < p_sure, 2, np.where(r2 < p_pers, 1, 0))
        asg_u.append(users_k)
        asg_c.append(np.full(len(users_k), k))
        asg_t.append(treated)
        asg_ty.append(utype)

    seg_share = np.array(
        [
            1 - cfg.discount_seeker_share - cfg.premium_share,
            cfg.discount_seeker_share,
            cfg.premium_share,
        ]
    )
    per_view = _expected_events_per_view(funnel_p, seg_share)
    # budget: campaign sessions are known now (views until bought, ~1/p(view->purchase) views
    # each); bundle add-ons grow every trigger purchase into another chain of that length
    chain_views = 1.0 / float((funnel_p.prod(axis=2).mean(axis=0) * seg_share).sum())
    per_view += cfg.refund_prob / chain_views  # refunds: a share of the purchases
    n_acts = sum(
        int(((t == 2) | ((t == 1) & tr)).sum()) for t, tr in zip(asg_ty, asg_t, strict=True)
    )
    budget = max(cfg.n_events - n_acts * chain_views * per_view, 0.2 * cfg.n_events)
    trigger_share = item_pop[partner >= 0].sum() / item_pop.sum()
    per_view *= 1 + trigger_share * cfg.bundle_prob
    views_needed = budget / per_view
    sessions_needed = views_needed / (1 + _MEAN_EXTRA_VIEWS)
    weight = activity * active_days * mean_intensity
    total = weight.sum()
    share = weight / total if total > 0 else np.full(n_users, 1 / n_users)
    # candidate sessions before thinning (churners' decline removes the expected excess)
    u_sessions = sessions_needed * share / mean_intensity

    def cat_or_empty(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)

    block_users = int(
        max(1, min(n_users, math.ceil(cfg.block_events * n_users / max(cfg.n_events, 1))))
    )

    users_df = pd.DataFrame(
        {
            Columns.USER_ID: user_ids.to_pandas(),
            Columns.GENDER: pd.array(gender, dtype="str"),
            Columns.AGE: age,
            Columns.LOCATION: pd.array(location, dtype="str"),
            Columns.SIGNUP_AT: _to_datetime(signup),
        }
    )
    items_df = pd.DataFrame(
        {
            Columns.ITEM_ID: item_ids.to_pandas(),
            Columns.TITLE: pd.array(titles, dtype="str"),
            Columns.CATEGORY: pd.array(np.array(categories)[item_cat], dtype="str"),
            Columns.BRAND: pd.array(np.array(brands)[item_brand], dtype="str"),
            Columns.PRICE: item_price,
            Columns.IN_STOCK: in_stock,
        }
    )
    truth_users = pd.DataFrame(
        {
            Columns.USER_ID: users_df[Columns.USER_ID],
            "brand_segment": pd.array(
                [f"loyal_{_slug(brands[b])}" if b >= 0 else "none" for b in u_loyal], dtype="str"
            ),
            "loyal_brand": pd.array([brands[b] if b >= 0 else None for b in u_loyal], dtype="str"),
            "price_segment": pd.array(np.array(PRICE_SEGMENTS)[u_pseg], dtype="str"),
            "favourite_categories": pd.array(
                [f"{categories[a]}|{categories[b]}" for a, b in u_fav], dtype="str"
            ),
            "activity": activity,
            "is_churner": is_churner,
            "churn_at": pd.Series(_to_datetime(churn_at)).where(is_churner),
            "active_from": _to_datetime(u_from),
            "active_to": _to_datetime(u_to),
        }
    )
    truth_items = pd.DataFrame(
        {
            Columns.ITEM_ID: items_df[Columns.ITEM_ID],
            Columns.CATEGORY: items_df[Columns.CATEGORY],
            "category_top": pd.array(np.array(tops)[item_top], dtype="str"),
            Columns.BRAND: items_df[Columns.BRAND],
            Columns.PRICE: item_price,
            "premium": item_premium,
            "popularity": item_pop,
            "loyalty_brand": item_brand < cfg.n_loyal_brands,
        }
    )
    iid = items_df[Columns.ITEM_ID].to_numpy()
    truth_bundles = pd.DataFrame(
        {
            "bundle_id": pd.array([f"b{k + 1:02d}" for k in range(len(bundle_rows))], dtype="str"),
            "item_a": pd.array([iid[a] for a, _ in bundle_rows], dtype="str"),
            "item_b": pd.array([iid[b] for _, b in bundle_rows], dtype="str"),
            "prob": np.full(len(bundle_rows), cfg.bundle_prob),
        }
    )
    truth_campaigns = pd.DataFrame(
        {
            Columns.CAMPAIGN_ID: pd.array(camp_ids, dtype="str"),
            Columns.BRAND: pd.array([brands[b] for b in camp_brand], dtype="str"),
            Columns.DISCOUNT: camp_discount,
            "start": _to_datetime(camp_start),
            "end": _to_datetime(camp_end),
        }
    )
    return _World(
        cfg=cfg,
        start_s=start_s,
        end_s=end_s,
        item_ids=item_ids,
        item_cat=item_cat,
        item_top=item_top,
        item_brand=item_brand,
        item_price=item_price,
        item_premium=item_premium,
        item_pop=item_pop,
        categories=categories,
        tops=tops,
        brands=brands,
        cdf=cdf,
        cdf_items=cdf_items,
        cat_table=cat_table,
        brand_table=brand_table,
        cat_cdf=cat_cdf,
        bundle_partner=partner,
        user_ids=user_ids,
        u_loyal=u_loyal,
        u_pseg=u_pseg,
        u_fav=u_fav,
        u_from=u_from,
        u_to=u_to,
        u_churn=u_churn,
        u_sessions=u_sessions,
        funnel_p=funnel_p,
        camp_brand=camp_brand,
        camp_discount=camp_discount,
        camp_start=camp_start,
        camp_end=camp_end,
        camp_ids=camp_ids,
        asg_user=cat_or_empty(asg_u, np.int64),
        asg_camp=cat_or_empty(asg_c, np.int64),
        asg_treated=cat_or_empty(asg_t, bool),
        asg_type=cat_or_empty(asg_ty, np.int64),
        block_users=block_users,
        users_df=users_df,
        items_df=items_df,
        truth_users=truth_users,
        truth_items=truth_items,
        truth_bundles=truth_bundles,
        truth_campaigns=truth_campaigns,
    )
