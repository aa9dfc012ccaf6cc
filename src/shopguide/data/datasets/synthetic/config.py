"""The generator's settings, its constants and what it returns (data, files, truth)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Final

import numpy as np
import pandas as pd

from shopguide.columns import EVENTS, EventType
from shopguide.errors import ConfigError
from shopguide.schema import arrow_schema

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

#: The generated events file: the events table's file columns and types.
EVENT_SCHEMA: Final = arrow_schema(EVENTS)


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
