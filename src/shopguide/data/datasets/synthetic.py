"""Synthetic shop data with planted structure whose right answer the tests know.

Real data sets bundled with ShopGuide have no page views, carts or randomised campaigns, and
nobody knows the "true" segments of their shoppers. This generator produces canonical users,
items and events (views, clicks, favourites, carts, purchases, refunds) together with a
:class:`SyntheticTruth` holding the structure planted in them, so profiles, analytics,
recommenders, uplift and churn models can be checked against a known answer.

Everything is reproducible from ``seed``: the same arguments give identical frames. Users are
split into fixed blocks (``block_events`` expected events each, part of the configuration),
each drawn from its own random stream with ids sequential in block order, so the in-memory
frames, :func:`iter_event_chunks` and :func:`write_parquet` (whatever its row-group size) hold
exactly the same rows. Work is vectorised with numpy per block (no Python loop per event), so
:func:`write_parquet` streams 10M+ events with bounded memory.

Planted rules (defaults in :class:`SyntheticConfig`)
----------------------------------------------------
Catalogue
    ``n_items`` items in up to 18 two-level categories (``"Home > Kitchen"``); top-level
    categories have their own base price; item price = base x lognormal(0, 0.5) x brand price
    tier, rounded to cents. ``n_brands`` brands; the first ``n_loyal_brands`` are "loyalty
    brands" holding ~8 % of the items each. Item popularity is Zipf-like (weight
    ``rank ** -0.8`` over a random ranking). 95 % of items are ``in_stock`` (stock does not
    affect events). ``truth.items.premium`` marks items priced strictly above the median price of
    their (two-level) category.
Users
    ``user_id`` ``"u000001"``...; gender M/F/O (47/49/4 %), age 18-85 (18 + Gamma(4, 5)),
    location from a fixed list of ten cities, ``signup_at`` uniform between 180 days before
    ``start`` and 70 % of the way through the window. A user is active from
    ``max(signup_at, start)`` to the window's end, or to ``churn_at`` for churners.
    Activity intensity is lognormal(0, 0.7); sessions are spread over the active days.
    Each user has two favourite categories, drawn with weights = category popularity x
    demographic affinity (women x3 for Beauty and Fashion, men x3 for Electronics and Sports,
    age >= 50 x2 for Home and Books, age < 30 x2 for Toys).
Brand loyalty (``truth.users.brand_segment``)
    ``loyal_share`` of users are ``"loyal_<brand slug>"`` for one loyalty brand (uniform). For
    each item a loyalist views, with probability ``loyalty_strength`` (0.7) it is drawn from that
    brand's items (by popularity), otherwise as for everyone. Their purchase share of the brand
    is therefore about ``0.7 + 0.3 x`` (population share), against ~8 % for the population.
    Everyone else is ``"none"``.
Category taste
    Non-brand draws pick one of the user's favourite categories with probability
    ``favourite_share`` (0.5), otherwise a category by population popularity; then an item of
    that category by popularity. These rules choose the *viewed* items; clicks, carts and
    purchases follow from views through the funnel, so every event type shows the preferences.
Price sensitivity (``truth.users.price_segment``)
    ``discount_seeker_share`` are ``"discount_seeker"``: each purchase line is discounted with
    probability ``seeker_discount_prob`` (0.8) against ``base_discount_prob`` (0.12) for the
    others. ``premium_share`` are ``"premium"``: every item they view (and so buy) is drawn only
    among items priced above their category's median (``truth.items.premium``); they never get a
    discount outside campaigns. Everyone else is ``"regular"``. A discount takes 10/20/30/50 %
    off the line (``discount`` = fraction x unit price x quantity, rounded to cents).
Funnel (``truth.funnel``)
    Sessions hold 1 + Poisson(3) views. Each view is clicked with probability ``p_click``, a click
    is carted with ``p_cart`` and a cart line bought with ``p_purchase``; the three rates are set
    per top-level category (:data:`FUNNEL_RATES`) and multiplied per price segment
    (:data:`SEGMENT_FUNNEL_FACTORS`, capped at 0.95). A click becomes a favourite with
    probability 0.08. All purchases of a session form one order (``order_id``), stamped at the
    session's checkout time (3 minutes after its last view). ``truth.funnel`` holds the planted
    rates per (top-level category, price segment) and the observed event counts of the generated
    data. Bundle add-ons and campaign responses (below) must end in a purchase; they do so by
    repeating views until one is bought, each view following the same funnel, so the pooled
    rates (clicks/views, carts/clicks, purchases/carts) stay unbiased (Wald's identity).
Bundles (``truth.bundles``)
    ``n_bundles`` disjoint pairs (``item_a``, ``item_b``): ``item_a`` from the popular items
    (popularity rank 5-30 % of the catalogue), ``item_b`` from the middle (30-70 %). Whenever
    ``item_a`` is bought, with probability ``bundle_prob`` (0.6) ``item_b`` is shown in the same
    session until bought, so it lands in the same order: P(b in order | a in order) is about
    ``bundle_prob``, against well under 5 % for a random mid-popular item.
Refunds
    Each purchase line is refunded with probability ``refund_prob`` (0.03), 1-14 days later
    (same order, item, quantity, price, discount and campaign id, no session); refunds that
    would fall after the user's active period are not generated.
Churn (``truth.users.is_churner``, ``churn_at``)
    Users who signed up before 20 % of the window are churners with probability ``churn_share``
    (x0.5 for brand loyalists). ``churn_at`` is uniform between 30 % and 85 % of the window. A
    churner has no event at or after ``churn_at``, and their activity declines linearly to 30 %
    over the 60 days before it.
Campaigns (``truth.campaigns``, ``truth.assignments``)
    ``n_campaigns`` campaigns, each promoting one loyalty brand with a discount, running 14 days
    (shorter if the window is short), spread over the window. Users who signed up before a
    campaign starts and are not churned before it ends are eligible; each eligible user is
    randomly treated with probability ``treat_share`` (0.5; the others are the control group).
    Each eligible user has a latent uplift type: ``"sure_thing"`` (probability 0.5 for loyalists
    of the promoted brand, 0.03 otherwise) buys the promoted brand in the campaign window whether
    treated or not; ``"persuadable"`` (of the rest: 0.6 for discount seekers, 0.1 otherwise)
    buys it only if treated; ``"lost_cause"`` does nothing extra. A campaign purchase is a
    session inside the campaign window in which the user views promoted-brand items until one is
    bought; for treated users every event of that session carries ``campaign_id`` and the bought
    line gets the campaign's discount (control users pay their usual price).
    ``assignments.responded`` is the observed outcome: the user bought any promoted-brand item
    during the window (organic purchases count too).
Time
    Session starts follow a fixed hour-of-day profile (evening peak); steps inside a session are
    seconds apart; events of a user are sorted by time, and ids are sequential in that order.
    Event ids ``"e0000000001"``, session ids ``"s000000001"``, order ids ``"o000000001"``,
    campaign ids ``"c01"``; timestamps are naive UTC, second resolution.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from shopguide.columns import Columns, EventType
from shopguide.data.ingest import LoadReport, ingest_file, ingest_frame
from shopguide.errors import ConfigError
from shopguide.store import Store

__all__ = [
    "CATEGORIES",
    "FUNNEL_RATES",
    "SEGMENT_FUNNEL_FACTORS",
    "SyntheticConfig",
    "SyntheticData",
    "SyntheticFiles",
    "SyntheticTruth",
    "generate",
    "iter_event_chunks",
    "load_synthetic",
    "read_parquet",
    "write_parquet",
]

#: Two-level category paths, in the order they are used (the first ``n_categories``).
CATEGORIES: Final = (
    "Home > Kitchen",
    "Electronics > Phones",
    "Fashion > Women",
    "Beauty > Skincare",
    "Grocery > Snacks",
    "Sports > Fitness",
    "Toys > Games",
    "Books > Fiction",
    "Home > Bedding",
    "Electronics > Audio",
    "Fashion > Men",
    "Beauty > Makeup",
    "Grocery > Drinks",
    "Sports > Outdoor",
    "Home > Decor",
    "Electronics > Computers",
    "Fashion > Shoes",
    "Books > Non-fiction",
)

#: Base price per top-level category.
BASE_PRICE: Final = {
    "Home": 40.0,
    "Electronics": 150.0,
    "Fashion": 50.0,
    "Beauty": 20.0,
    "Grocery": 6.0,
    "Sports": 60.0,
    "Toys": 25.0,
    "Books": 15.0,
}

#: Planted funnel rates per top-level category: (view->click, click->cart, cart->purchase).
FUNNEL_RATES: Final = {
    "Home": (0.45, 0.40, 0.60),
    "Electronics": (0.35, 0.30, 0.45),
    "Fashion": (0.50, 0.35, 0.55),
    "Beauty": (0.45, 0.45, 0.65),
    "Grocery": (0.55, 0.50, 0.75),
    "Sports": (0.40, 0.35, 0.55),
    "Toys": (0.45, 0.40, 0.60),
    "Books": (0.40, 0.45, 0.70),
}

#: Multipliers of the funnel rates per price segment (capped at 0.95 after multiplying).
SEGMENT_FUNNEL_FACTORS: Final = {
    "regular": (1.0, 1.0, 1.0),
    "discount_seeker": (1.2, 1.1, 0.8),
    "premium": (0.9, 1.0, 1.25),
}

PRICE_SEGMENTS: Final = ("regular", "discount_seeker", "premium")
UPLIFT_TYPES: Final = ("lost_cause", "persuadable", "sure_thing")

_BRAND_NAMES: Final = (
    "Acme", "Northwind", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Tyrell",
    "Hooli", "Vandelay", "Soylent", "Cyberdyne", "Oscorp", "Wonka", "Gringotts", "Monarch",
    "Aperture", "Massive", "Pied Piper", "Dunder", "Zorg", "Virtucon", "Ollivander", "Nakatomi",
    "Bluth", "Krusty", "Sirius", "Duff", "Prestige", "Gekko",
)  # fmt: skip
_CITIES: Final = (
    "London", "Paris", "Berlin", "Madrid", "Rome", "Amsterdam", "Vienna", "Warsaw", "Lisbon",
    "Dublin",
)  # fmt: skip
_CITY_WEIGHTS: Final = (0.2, 0.15, 0.15, 0.1, 0.1, 0.08, 0.06, 0.06, 0.05, 0.05)
_HOUR_WEIGHTS: Final = (
    1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2, 3, 3.5, 4, 4.5, 5, 4.5, 4, 4, 4.5, 5, 6, 7, 7.5, 6.5, 4, 2,
)  # fmt: skip
_DISCOUNT_FRACTIONS: Final = np.array([0.1, 0.2, 0.3, 0.5])
_QUANTITIES: Final = np.array([1.0, 2.0, 3.0])
_QUANTITY_P: Final = np.array([0.8, 0.15, 0.05])

# event type codes, in the order used to break timestamp ties inside a session
_VIEW, _CLICK, _FAV, _CART, _PURCHASE, _REFUND = range(6)
_TYPE_NAMES: Final = (
    EventType.VIEW,
    EventType.CLICK,
    EventType.FAVORITE,
    EventType.CART,
    EventType.PURCHASE,
    EventType.REFUND,
)
_DAY: Final = 86_400
_DECLINE_DAYS: Final = 60
_DECLINE_FLOOR: Final = 0.3
_FAVORITE_PROB: Final = 0.08
_MEAN_EXTRA_VIEWS: Final = 3.0
_MAX_TRIES: Final = 200

EVENT_SCHEMA: Final = pa.schema(
    [
        (Columns.EVENT_ID, pa.string()),
        (Columns.USER_ID, pa.string()),
        (Columns.ITEM_ID, pa.string()),
        (Columns.EVENT_TYPE, pa.string()),
        (Columns.TIMESTAMP, pa.timestamp("us")),
        (Columns.QUANTITY, pa.float64()),
        (Columns.PRICE, pa.float64()),
        (Columns.DISCOUNT, pa.float64()),
        (Columns.ORDER_ID, pa.string()),
        (Columns.SESSION_ID, pa.string()),
        (Columns.CAMPAIGN_ID, pa.string()),
    ]
)


@dataclass(frozen=True)
class SyntheticConfig:
    """Every knob of the generator; see the module docstring for what each rule does."""

    n_users: int = 1_000
    n_items: int = 200
    n_events: int = 50_000
    seed: int = 0
    start: str = "2024-01-01"
    days: int = 180
    n_categories: int = 18
    n_brands: int = 12
    n_loyal_brands: int = 4
    loyal_share: float = 0.2
    loyalty_strength: float = 0.7
    favourite_share: float = 0.5
    discount_seeker_share: float = 0.15
    premium_share: float = 0.15
    base_discount_prob: float = 0.12
    seeker_discount_prob: float = 0.8
    n_bundles: int = 10
    bundle_prob: float = 0.6
    refund_prob: float = 0.03
    churn_share: float = 0.2
    n_campaigns: int = 3
    treat_share: float = 0.5
    #: expected events per block of users: the unit of generation and of memory use. The
    #: data depend on it (users are split into blocks, each with its own random stream), so
    #: it is part of the configuration; row-group size when writing is not.
    block_events: int = 200_000

    def validate(self) -> None:
        """Raise :class:`~shopguide.errors.ConfigError` for values the generator cannot use."""
        problems: list[str] = []
        if self.n_users < 1:
            problems.append("n_users must be >= 1")
        if self.n_events < 1:
            problems.append("n_events must be >= 1")
        if self.block_events < 1_000:
            problems.append("block_events must be >= 1000")
        if self.days < 30:
            problems.append("days must be >= 30 (churn and campaigns need room)")
        if not 1 <= self.n_categories <= len(CATEGORIES):
            problems.append(f"n_categories must be in 1..{len(CATEGORIES)}")
        if not 1 <= self.n_loyal_brands <= self.n_brands <= len(_BRAND_NAMES):
            problems.append(f"need 1 <= n_loyal_brands <= n_brands <= {len(_BRAND_NAMES)}")
        if self.n_items < max(2 * self.n_categories, self.n_brands, 4 * self.n_bundles, 10):
            problems.append(
                "n_items must be >= max(2*n_categories, n_brands, 4*n_bundles, 10) "
                f"(got {self.n_items})"
            )
        if self.n_campaigns < 0 or self.n_bundles < 0:
            problems.append("n_campaigns and n_bundles must be >= 0")
        if self.n_campaigns > 2 * self.days:
            problems.append("n_campaigns must be <= 2 * days (each needs a 6-hour window)")
        shares = {
            "loyal_share": self.loyal_share,
            "loyalty_strength": self.loyalty_strength,
            "favourite_share": self.favourite_share,
            "discount_seeker_share": self.discount_seeker_share,
            "premium_share": self.premium_share,
            "base_discount_prob": self.base_discount_prob,
            "seeker_discount_prob": self.seeker_discount_prob,
            "bundle_prob": self.bundle_prob,
            "refund_prob": self.refund_prob,
            "churn_share": self.churn_share,
            "treat_share": self.treat_share,
        }
        problems += [f"{k} must be in [0, 1]" for k, v in shares.items() if not 0 <= v <= 1]
        if self.discount_seeker_share + self.premium_share > 1:
            problems.append("discount_seeker_share + premium_share must be <= 1")
        try:
            pd.Timestamp(self.start)
        except ValueError:
            problems.append(f"start {self.start!r} is not a date")
        if problems:
            raise ConfigError(
                "invalid synthetic data settings: " + "; ".join(problems),
                hint="change the arguments of generate()/write_parquet()",
            )


@dataclass
class SyntheticTruth:
    """The structure planted in a synthetic data set (all frames keyed by external ids).

    Attributes
    ----------
    users
        ``user_id, brand_segment ("loyal_<slug>" | "none"), loyal_brand (brand or None),
        price_segment ("regular" | "discount_seeker" | "premium"), favourite_categories
        (two category paths joined by "|"), activity (relative intensity), is_churner (bool),
        churn_at (timestamp, NaT if not a churner), active_from, active_to``.
    items
        ``item_id, category, category_top, brand, price, premium (price above category
        median), popularity (relative weight), loyalty_brand (bool)``.
    bundles
        ``bundle_id, item_a (trigger), item_b (added), prob``.
    campaigns
        ``campaign_id, brand (promoted), discount (fraction), start, end`` (end exclusive).
    assignments
        One row per eligible (user, campaign): ``user_id, campaign_id, treated (bool),
        uplift_type ("persuadable" | "sure_thing" | "lost_cause"), responded (bool: bought a
        promoted-brand item in the window)``.
    funnel
        One row per (category_top, price_segment): planted ``p_click, p_cart, p_purchase``,
        ``p_view_to_purchase`` (their product) and observed counts ``views, clicks, carts,
        purchases`` of the generated events of users in that segment on items of that category.
    params
        The :class:`SyntheticConfig` as a dict.
    """

    users: pd.DataFrame
    items: pd.DataFrame
    bundles: pd.DataFrame
    campaigns: pd.DataFrame
    assignments: pd.DataFrame
    funnel: pd.DataFrame
    params: dict[str, Any] = field(default_factory=dict)

    TABLES: ClassVar[tuple[str, ...]] = (
        "users",
        "items",
        "bundles",
        "campaigns",
        "assignments",
        "funnel",
    )


@dataclass
class SyntheticData:
    """Canonical ``users``, ``items`` and ``events`` frames plus the planted ``truth``."""

    users: pd.DataFrame
    items: pd.DataFrame
    events: pd.DataFrame
    truth: SyntheticTruth


@dataclass(frozen=True)
class SyntheticFiles:
    """Paths written by :func:`write_parquet` and the number of events."""

    directory: Path
    events: Path
    users: Path
    items: Path
    truth: dict[str, Path]
    n_events: int


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


# ---------------------------------------------------------------------------------------------
# one block of users -> events


@dataclass
class _Block:
    table: pa.Table  # events without ids
    n_sessions: int
    n_orders: int
    funnel_counts: np.ndarray  # [n_top, n_pseg, 4] views, clicks, carts, purchases
    responded: np.ndarray  # indices into assignments that responded


def _sample_items(world: _World, table: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    pos = np.searchsorted(world.cdf, table + rng.random(len(table)), side="right")
    return world.cdf_items[np.minimum(pos, len(world.cdf_items) - 1)]


def _choose_items(world: _World, users: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One item per entry of ``users``, by the brand / taste / premium rules."""
    cfg = world.cfg
    n = len(users)
    premium = (world.u_pseg[users] == 2).astype(np.int64)
    loyal = world.u_loyal[users]
    brand_mode = (loyal >= 0) & (rng.random(n) < cfg.loyalty_strength)
    fav_mode = rng.random(n) < cfg.favourite_share
    fav = world.u_fav[users, rng.integers(0, 2, n)]
    pop_cat = np.searchsorted(world.cat_cdf, rng.random(n), side="right")
    cat = np.where(fav_mode, fav, np.minimum(pop_cat, len(world.categories) - 1))
    table = world.cat_table[cat, premium]
    if brand_mode.any():
        table = np.where(brand_mode, world.brand_table[np.maximum(loyal, 0), premium], table)
    return _sample_items(world, table, rng)


def _session_starts(
    world: _World, users: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Session (user, start second) pairs for ``users``, after thinning and hour profile."""
    n_sess = rng.poisson(world.u_sessions[users])
    s_user = np.repeat(users, n_sess)
    a, b = world.u_from[s_user], world.u_to[s_user]
    t = a + (rng.random(len(s_user)) * np.maximum(b - a, 0)).astype(np.int64)
    # replace the time of day with the shop's hour profile
    hp = np.array(_HOUR_WEIGHTS) / sum(_HOUR_WEIGHTS)
    hour = rng.choice(24, len(s_user), p=hp)
    t = (t // _DAY) * _DAY + hour * 3600 + rng.integers(0, 3600, len(s_user))
    keep = (t >= a) & (t < b - 3 * 3600)
    # churners: linear decline to _DECLINE_FLOOR over the last _DECLINE_DAYS before churn
    churn = world.u_churn[s_user]
    to_churn = (churn - t) / (_DECLINE_DAYS * _DAY)
    intensity = np.where(
        (churn >= 0) & (to_churn < 1),
        _DECLINE_FLOOR + (1 - _DECLINE_FLOOR) * np.clip(to_churn, 0, 1),
        1.0,
    )
    keep &= rng.random(len(s_user)) < intensity
    return s_user[keep], t[keep]


def _funnel_draw(
    p: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Click, cart and purchase flags for views with funnel probabilities ``p`` ([n, 3])."""
    u = rng.random((len(p), 3))
    click = u[:, 0] < p[:, 0]
    cart = click & (u[:, 1] < p[:, 1])
    buy = cart & (u[:, 2] < p[:, 2])
    return click, cart, buy


def _views_until_bought(
    world: _World,
    users: np.ndarray,
    rng: np.random.Generator,
    *,
    table: np.ndarray | None,
    item: np.ndarray | None,
) -> tuple[np.ndarray, ...]:
    """Repeat views (items from ``table`` or the fixed ``item``) until each user buys one.

    Every view goes through the planted funnel, so by Wald's identity the pooled rates
    (clicks / views, carts / clicks, purchases / carts) keep their planted values while each
    chain is certain to end in a purchase (capped at ``_MAX_TRIES`` views, practically never hit).
    Returns ``(origin index, round, item, click, cart, buy)`` per view.
    """
    out: list[list[np.ndarray]] = [[], [], [], [], [], []]
    active = np.arange(len(users))
    for rnd in range(_MAX_TRIES):
        if not len(active):
            break
        it = _sample_items(world, table[active], rng) if table is not None else item[active]  # type: ignore[index]
        p = world.funnel_p[world.item_top[it], world.u_pseg[users[active]]]
        click, cart, buy = _funnel_draw(p, rng)
        for lst, arr in zip(
            out, (active, np.full(len(active), rnd), it, click, cart, buy), strict=True
        ):
            lst.append(arr)
        active = active[~buy]
    if not out[0]:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty.astype(bool), empty.astype(bool), empty.astype(bool)
    return tuple(np.concatenate(lst) for lst in out)


def _first_appearance_rank(codes: np.ndarray) -> np.ndarray:
    """Relabel non-negative codes 0, 1, ... in the order they first appear; -1 stays."""
    out = np.full(len(codes), -1, dtype=np.int64)
    valid = codes >= 0
    uniq, first, inverse = np.unique(codes[valid], return_index=True, return_inverse=True)
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(uniq))
    out[valid] = rank[inverse]
    return out


def _generate_block(world: _World, block: int) -> _Block:
    cfg = world.cfg
    rng = np.random.default_rng(np.random.SeedSequence(cfg.seed, spawn_key=(1, block)))
    lo = block * world.block_users
    hi = min(cfg.n_users, lo + world.block_users)
    users = np.arange(lo, hi)

    # --- organic sessions
    s_user, s_start = _session_starts(world, users, rng)
    n_views = 1 + rng.poisson(_MEAN_EXTRA_VIEWS, len(s_user))
    gap = rng.integers(20, 120, len(s_user))
    v_sess = np.repeat(np.arange(len(s_user)), n_views)
    first = np.cumsum(n_views) - n_views
    v_pos = np.arange(len(v_sess)) - first[v_sess]
    v_user = s_user[v_sess]
    v_item = _choose_items(world, v_user, rng)
    v_time = s_start[v_sess] + v_pos * gap[v_sess]
    v_campaign = np.full(len(v_sess), -1)
    p = world.funnel_p[world.item_top[v_item], world.u_pseg[v_user]]
    click, cart, buy = _funnel_draw(p, rng)

    # --- campaign sessions: sure things always, persuadables if treated; the user browses
    # promoted-brand items until one is bought (each view follows the planted funnel)
    in_block = (world.asg_user >= lo) & (world.asg_user < hi)
    idx = np.flatnonzero(in_block)
    acts = idx[(world.asg_type[idx] == 2) | ((world.asg_type[idx] == 1) & world.asg_treated[idx])]
    c_user = world.asg_user[acts]
    c_camp = world.asg_camp[acts]
    c_start = world.camp_start[c_camp] + (
        rng.random(len(acts)) * (world.camp_end[c_camp] - world.camp_start[c_camp] - 3 * 3600)
    ).astype(np.int64)
    prem = (world.u_pseg[c_user] == 2).astype(np.int64)
    c_table = world.brand_table[world.camp_brand[c_camp], prem]
    c_sess = len(s_user) + np.arange(len(acts))
    j, r, c_item, c_click, c_cart, c_buy = _views_until_bought(
        world, c_user, rng, table=c_table, item=None
    )
    s_user = np.concatenate([s_user, c_user])
    s_start = np.concatenate([s_start, c_start])
    v_sess = np.concatenate([v_sess, c_sess[j]])
    v_user = np.concatenate([v_user, c_user[j]])
    v_item = np.concatenate([v_item, c_item])
    v_time = np.concatenate([v_time, c_start[j] + 30 * r])
    v_campaign = np.concatenate([v_campaign, np.where(world.asg_treated[acts], c_camp, -1)[j]])
    click = np.concatenate([click, c_click])
    cart = np.concatenate([cart, c_cart])
    buy = np.concatenate([buy, c_buy])

    # --- bundles: when a trigger is bought, its partner is shown in the same session until
    # bought (each view follows the planted funnel), so it lands in the same order
    partner = world.bundle_partner[v_item]
    add = np.flatnonzero(buy & (partner >= 0) & (rng.random(len(v_item)) < cfg.bundle_prob))
    if len(add):
        j, r, b_item, b_click, b_cart, b_buy = _views_until_bought(
            world, v_user[add], rng, table=None, item=partner[add]
        )
        src_view = add[j]
        v_sess = np.concatenate([v_sess, v_sess[src_view]])
        v_user = np.concatenate([v_user, v_user[src_view]])
        v_item = np.concatenate([v_item, b_item])
        v_time = np.concatenate([v_time, v_time[src_view] + 40 + 30 * r])
        v_campaign = np.concatenate([v_campaign, v_campaign[src_view]])
        click = np.concatenate([click, b_click])
        cart = np.concatenate([cart, b_cart])
        buy = np.concatenate([buy, b_buy])
    fav = click & (rng.random(len(v_item)) < _FAVORITE_PROB)

    # --- orders: one per session with a purchase, at checkout time (3 minutes after the
    # session's last view)
    last_view = np.zeros(len(s_user), dtype=np.int64)
    np.maximum.at(last_view, v_sess, v_time)
    checkout = last_view + 180
    has_order = np.zeros(len(s_user), dtype=bool)
    has_order[v_sess[buy]] = True
    order_of_session = np.full(len(s_user), -1)
    order_of_session[has_order] = np.arange(int(has_order.sum()))

    # quantities, prices, discounts
    qty = rng.choice(_QUANTITIES, len(v_item), p=_QUANTITY_P)
    price = world.item_price[v_item]
    pseg = world.u_pseg[v_user]
    p_disc = np.where(
        pseg == 1, cfg.seeker_discount_prob, np.where(pseg == 2, 0.0, cfg.base_discount_prob)
    )
    disc_frac = np.where(
        rng.random(len(v_item)) < p_disc,
        _DISCOUNT_FRACTIONS[rng.integers(0, len(_DISCOUNT_FRACTIONS), len(v_item))],
        0.0,
    )
    camp_line = v_campaign >= 0
    camp_disc = np.append(world.camp_discount, 0.0)  # index -1 (no campaign) -> 0.0
    disc_frac = np.where(camp_line, camp_disc[v_campaign], disc_frac)
    discount = np.round(disc_frac * price * qty, 2)

    # --- refunds
    refund = buy & (rng.random(len(v_item)) < cfg.refund_prob)
    r_time = checkout[v_sess] + rng.integers(1, 15, len(v_item)) * _DAY
    refund &= r_time < world.u_to[v_user]

    # --- assemble all event rows
    parts: list[tuple[np.ndarray, int, np.ndarray]] = [
        (np.ones(len(v_item), bool), _VIEW, v_time),
        (click, _CLICK, v_time + 10),
        (fav, _FAV, v_time + 15),
        (cart, _CART, v_time + 30),
        (buy, _PURCHASE, checkout[v_sess]),
        (refund, _REFUND, r_time),
    ]
    src = np.concatenate([np.flatnonzero(m) for m, _, _ in parts])
    etype = np.concatenate([np.full(int(m.sum()), code) for m, code, _ in parts])
    etime = np.concatenate([t[m] for m, _, t in parts])
    e_user = v_user[src]
    order = np.lexsort((src, etype, etime, e_user))
    src, etype, etime, e_user = src[order], etype[order], etime[order], e_user[order]
    e_item = v_item[src]
    money = (etype == _PURCHASE) | (etype == _REFUND)
    basket = (etype == _CART) | money
    e_qty = np.where(basket, qty[src], 1.0)
    e_disc = np.where(money, discount[src], 0.0)
    e_sess = np.where(etype == _REFUND, -1, v_sess[src])
    e_order = np.where(money, order_of_session[v_sess[src]], -1)
    e_camp = v_campaign[src]
    # number sessions and orders in the order they first appear (user, then time)
    e_sess = _first_appearance_rank(e_sess)
    e_order = _first_appearance_rank(e_order)

    # --- truth per block: funnel counts and campaign responses
    n_top, n_seg = world.funnel_p.shape[:2]
    cell = world.item_top[e_item] * n_seg + world.u_pseg[e_user]
    counts = np.zeros((n_top * n_seg, 4))
    for col, code in enumerate((_VIEW, _CLICK, _CART, _PURCHASE)):
        sel = etype == code
        counts[:, col] = np.bincount(cell[sel], minlength=n_top * n_seg)
    responded = np.zeros(0, np.int64)
    if len(idx):
        pur = etype == _PURCHASE
        p_user, p_time, p_brand = e_user[pur], etime[pur], world.item_brand[e_item[pur]]
        a_user, a_camp = world.asg_user[idx], world.asg_camp[idx]
        hit = np.zeros(len(idx), bool)
        for k in range(len(world.camp_ids)):  # loop over campaigns, not rows
            bought = (
                (p_brand == world.camp_brand[k])
                & (p_time >= world.camp_start[k])
                & (p_time < world.camp_end[k])
            )
            hit |= (a_camp == k) & np.isin(a_user, p_user[bought])
        responded = idx[hit]

    table = pa.table(
        {
            "_user": pa.array(e_user, pa.int64()),
            "_item": pa.array(e_item, pa.int64()),
            "_type": pa.array(etype, pa.int8()),
            "_time": pa.array(etime, pa.int64()),
            Columns.QUANTITY: pa.array(e_qty, pa.float64()),
            Columns.PRICE: pa.array(price[src], pa.float64()),
            Columns.DISCOUNT: pa.array(e_disc, pa.float64()),
            "_order": pa.array(e_order, pa.int64()),
            "_session": pa.array(e_sess, pa.int64()),
            "_campaign": pa.array(e_camp, pa.int64()),
        }
    )
    return _Block(
        table=table,
        n_sessions=len(s_user),
        n_orders=int(has_order.sum()),
        funnel_counts=counts.reshape(n_top, n_seg, 4),
        responded=responded,
    )


def _finish_block(
    world: _World, block: _Block, event_offset: int, session_offset: int, order_offset: int
) -> pa.Table:
    """Turn a block's integer columns into canonical string ids and timestamps."""
    t = block.table
    n = t.num_rows
    type_names = pa.array(_TYPE_NAMES, pa.string())
    sess = t.column("_session").to_numpy()
    order = t.column("_order").to_numpy()
    camp = t.column("_campaign").to_numpy()
    camp_names = pa.array(world.camp_ids or [""], pa.string())
    null = pa.scalar(None, pa.string())
    cols = {
        Columns.EVENT_ID: _ids("e", np.arange(event_offset + 1, event_offset + n + 1), 10),
        Columns.USER_ID: world.user_ids.take(t.column("_user")),
        Columns.ITEM_ID: world.item_ids.take(t.column("_item")),
        Columns.EVENT_TYPE: type_names.take(t.column("_type")),
        Columns.TIMESTAMP: pa.array(_to_datetime(t.column("_time").to_numpy()), pa.timestamp("us")),
        Columns.QUANTITY: t.column(Columns.QUANTITY),
        Columns.PRICE: t.column(Columns.PRICE),
        Columns.DISCOUNT: t.column(Columns.DISCOUNT),
        Columns.ORDER_ID: pc.if_else(
            pa.array(order >= 0), _ids("o", order_offset + order + 1, 9), null
        ),
        Columns.SESSION_ID: pc.if_else(
            pa.array(sess >= 0), _ids("s", session_offset + sess + 1, 9), null
        ),
        Columns.CAMPAIGN_ID: pc.if_else(
            pa.array(camp >= 0), camp_names.take(pa.array(np.maximum(camp, 0))), null
        ),
    }
    return pa.table(cols, schema=EVENT_SCHEMA)


class _Run:
    """Streams blocks in order, keeping the running id offsets and the truth accumulators."""

    def __init__(self, world: _World) -> None:
        self.world = world
        n_top, n_seg = world.funnel_p.shape[:2]
        self.funnel_counts = np.zeros((n_top, n_seg, 4))
        self.responded = np.zeros(len(world.asg_user), bool)
        self.n_events = 0

    def tables(self) -> Iterator[pa.Table]:
        world = self.world
        n_blocks = math.ceil(world.cfg.n_users / world.block_users)
        sessions = orders = 0
        for b in range(n_blocks):
            block = _generate_block(world, b)
            table = _finish_block(world, block, self.n_events, sessions, orders)
            sessions += block.n_sessions
            orders += block.n_orders
            self.n_events += table.num_rows
            self.funnel_counts += block.funnel_counts
            self.responded[block.responded] = True
            yield table

    def truth(self) -> SyntheticTruth:
        w = self.world
        rows = []
        for ti, top in enumerate(w.tops):
            for si, seg in enumerate(PRICE_SEGMENTS):
                p = w.funnel_p[ti, si]
                c = self.funnel_counts[ti, si]
                rows.append(
                    {
                        "category_top": top,
                        "price_segment": seg,
                        "p_click": p[0],
                        "p_cart": p[1],
                        "p_purchase": p[2],
                        "p_view_to_purchase": float(np.prod(p)),
                        "views": int(c[0]),
                        "clicks": int(c[1]),
                        "carts": int(c[2]),
                        "purchases": int(c[3]),
                    }
                )
        funnel = pd.DataFrame(rows).astype({"category_top": "str", "price_segment": "str"})
        assignments = pd.DataFrame(
            {
                Columns.USER_ID: w.user_ids.take(pa.array(w.asg_user, pa.int64())).to_pandas(),
                Columns.CAMPAIGN_ID: pd.array(
                    np.array(w.camp_ids or [""], dtype=object)[w.asg_camp], dtype="str"
                ),
                "treated": w.asg_treated,
                "uplift_type": pd.array(np.array(UPLIFT_TYPES)[w.asg_type], dtype="str"),
                "responded": self.responded,
            }
        )
        return SyntheticTruth(
            users=w.truth_users.copy(),
            items=w.truth_items.copy(),
            bundles=w.truth_bundles.copy(),
            campaigns=w.truth_campaigns.copy(),
            assignments=assignments,
            funnel=funnel,
            params=asdict(w.cfg),
        )


def _config(
    n_users: int,
    n_items: int,
    n_events: int,
    seed: int,
    start: str | pd.Timestamp,
    days: int,
    options: dict[str, Any],
) -> SyntheticConfig:
    known = set(SyntheticConfig.__dataclass_fields__)
    unknown = set(options) - known
    if unknown:
        raise ConfigError(
            f"unknown synthetic data option(s): {', '.join(sorted(unknown))}",
            hint=f"known options: {', '.join(sorted(known))}",
        )
    start_str = str(pd.Timestamp(start).date()) if isinstance(start, pd.Timestamp) else start
    return SyntheticConfig(
        n_users=n_users,
        n_items=n_items,
        n_events=n_events,
        seed=seed,
        start=start_str,
        days=days,
        **options,
    )


def iter_event_chunks(
    n_users: int = 1_000,
    n_items: int = 200,
    n_events: int = 50_000,
    seed: int = 0,
    start: str | pd.Timestamp = "2024-01-01",
    days: int = 180,
    **options: Any,
) -> Iterator[pa.Table]:
    """Yield the events as Arrow tables, one per block of users (same rows as :func:`generate`)."""
    cfg = _config(n_users, n_items, n_events, seed, start, days, options)
    yield from _Run(_build_world(cfg)).tables()


def generate(
    n_users: int = 1_000,
    n_items: int = 200,
    n_events: int = 50_000,
    seed: int = 0,
    start: str | pd.Timestamp = "2024-01-01",
    days: int = 180,
    **options: Any,
) -> SyntheticData:
    """Generate a synthetic data set in memory.

    Parameters
    ----------
    n_users, n_items
        Sizes of the user and item tables.
    n_events
        Target number of events; the result is within a few per cent of it.
    seed
        Everything is a function of the arguments and this seed.
    start, days
        The window of activity: ``[start, start + days)`` (``start`` is a date).
    **options
        Any other field of :class:`SyntheticConfig` (shares and probabilities of the planted
        rules).

    Returns
    -------
    SyntheticData
        ``users``, ``items``, ``events`` (canonical columns, sorted by user then time) and the
        planted ``truth``.
    """
    cfg = _config(n_users, n_items, n_events, seed, start, days, options)
    world = _build_world(cfg)
    run = _Run(world)
    tables = list(run.tables())
    events = pa.concat_tables(tables) if tables else EVENT_SCHEMA.empty_table()
    return SyntheticData(
        users=world.users_df.copy(),
        items=world.items_df.copy(),
        events=_events_to_pandas(events),
        truth=run.truth(),
    )


def _events_to_pandas(table: pa.Table) -> pd.DataFrame:
    df = table.to_pandas()
    df[Columns.TIMESTAMP] = df[Columns.TIMESTAMP].astype("datetime64[us]")
    return df


def write_parquet(
    directory: str | Path,
    n_users: int = 1_000,
    n_items: int = 200,
    n_events: int = 50_000,
    seed: int = 0,
    start: str | pd.Timestamp = "2024-01-01",
    days: int = 180,
    *,
    row_group_rows: int = 1_000_000,
    **options: Any,
) -> SyntheticFiles:
    """Stream a synthetic data set to Parquet files in ``directory`` with bounded memory.

    Writes ``events.parquet`` (row groups of about ``row_group_rows`` rows, written as the
    blocks are generated), ``users.parquet``, ``items.parquet``, ``truth_<table>.parquet`` for
    every truth table and ``truth_params.json``. The rows equal those of :func:`generate`
    with the same arguments. Memory stays at roughly one block (~200k events) plus one row
    group, whatever ``n_events`` is. Defaults are those of :func:`generate`.
    """
    cfg = _config(n_users, n_items, n_events, seed, start, days, options)
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    world = _build_world(cfg)
    run = _Run(world)
    events_path = out / "events.parquet"
    pending: list[pa.Table] = []
    pending_rows = 0
    with pq.ParquetWriter(events_path, EVENT_SCHEMA, compression="zstd") as writer:
        for table in run.tables():
            pending.append(table)
            pending_rows += table.num_rows
            if pending_rows >= row_group_rows:
                writer.write_table(pa.concat_tables(pending), row_group_size=pending_rows)
                pending, pending_rows = [], 0
        if pending:
            writer.write_table(pa.concat_tables(pending), row_group_size=max(pending_rows, 1))
    users_path, items_path = out / "users.parquet", out / "items.parquet"
    world.users_df.to_parquet(users_path, index=False)
    world.items_df.to_parquet(items_path, index=False)
    truth = run.truth()
    truth_paths: dict[str, Path] = {}
    for name in SyntheticTruth.TABLES:
        path = out / f"truth_{name}.parquet"
        getattr(truth, name).to_parquet(path, index=False)
        truth_paths[name] = path
    params_path = out / "truth_params.json"
    params_path.write_text(json.dumps(truth.params, indent=2) + "\n", encoding="utf-8")
    truth_paths["params"] = params_path
    return SyntheticFiles(
        directory=out,
        events=events_path,
        users=users_path,
        items=items_path,
        truth=truth_paths,
        n_events=run.n_events,
    )


def read_parquet(directory: str | Path) -> SyntheticData:
    """Read back a data set written by :func:`write_parquet` (events fully into memory)."""
    d = Path(directory)
    truth = SyntheticTruth(
        **{name: pd.read_parquet(d / f"truth_{name}.parquet") for name in SyntheticTruth.TABLES},
        params=json.loads((d / "truth_params.json").read_text(encoding="utf-8")),
    )
    return SyntheticData(
        users=pd.read_parquet(d / "users.parquet"),
        items=pd.read_parquet(d / "items.parquet"),
        events=_events_to_pandas(pq.read_table(d / "events.parquet")),
        truth=truth,
    )


def load_synthetic(
    store: Store, data: SyntheticData | SyntheticFiles, *, chunk_rows: int = 250_000
) -> dict[str, LoadReport]:
    """Load a synthetic data set into ``store`` through the normal ingestion (items, users,
    events), from memory (:class:`SyntheticData`) or from the files of :func:`write_parquet`
    (streamed in chunks). The truth is not a store table; keep it beside the store."""
    if isinstance(data, SyntheticFiles):
        return {
            "items": ingest_file(store, "items", data.items, chunk_rows=chunk_rows),
            "users": ingest_file(store, "users", data.users, chunk_rows=chunk_rows),
            "events": ingest_file(store, "events", data.events, chunk_rows=chunk_rows),
        }
    tag = json.dumps(data.truth.params, sort_keys=True)
    return {
        name: ingest_frame(
            store,
            name,
            getattr(data, name),
            source=f"synthetic:{name}:{tag}",
            chunk_rows=chunk_rows,
        )
        for name in ("items", "users", "events")
    }
