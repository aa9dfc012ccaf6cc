"""``UserProfile``: one user's profile as a typed record (pydantic), grouped like the table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict


class TopEntry(BaseModel):
    """A category or brand in a user's top list."""

    name: str
    spend: float
    share: float | None
    affinity: float | None


class BasicProfile(BaseModel):
    """Who the user is."""

    gender: str | None
    age_band: str | None
    location: str | None
    signup_at: datetime | None
    first_seen_at: datetime | None
    tenure_days: int | None


class BehaviourProfile(BaseModel):
    """What the user does."""

    orders: int
    items_bought: float
    purchase_frequency: float | None
    recency_days: int | None
    days_since_last_event: int | None
    gross_spend: float
    refunds: float
    total_spend: float
    avg_order_value: float | None
    avg_days_between_orders: float | None
    preferred_weekday: int | None
    preferred_hour: int | None
    views: int
    carts: int
    purchases: int
    view_to_cart: float | None
    cart_to_purchase: float | None
    view_to_purchase: float | None
    top_categories: list[TopEntry]


class PreferenceProfile(BaseModel):
    """What the user likes and how price-sensitive they are."""

    top_brands: list[TopEntry]
    top_category: str | None
    top_category_share: float | None
    top_category_affinity: float | None
    top_brand: str | None
    top_brand_share: float | None
    top_brand_affinity: float | None
    discount_rate: float | None
    discount_spend_share: float | None
    price_index: float | None
    price_band: str | None
    price_sensitivity: float | None


class LifecycleProfile(BaseModel):
    """Where the user is in their life as a customer."""

    r_score: int | None
    f_score: int | None
    m_score: int | None
    fm_score: int | None
    rfm_cell: str | None
    segment: str | None


class UserProfile(BaseModel):
    """One row of the ``profiles`` table, grouped as basic, behaviour, preferences, lifecycle."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    as_of: datetime
    #: when the population the population-relative fields (affinity, price index, RFM scores,
    #: segment) compare the user with was measured: ``as_of`` after a build; earlier for a
    #: live version between refreshes (None for a version without stored statistics)
    population_as_of: datetime | None = None
    basic: BasicProfile
    behaviour: BehaviourProfile
    preferences: PreferenceProfile
    lifecycle: LifecycleProfile

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> UserProfile:
        """Build from a ``profiles`` row (a dict of column -> value; NaN/NaT become None)."""
        clean = {k: _clean(v) for k, v in row.items()}
        for key in ("top_categories", "top_brands"):
            clean[key] = [
                {k: _clean(v) for k, v in dict(e).items()} for e in (clean.get(key) or [])
            ]

        def pick(model: type[BaseModel]) -> dict[str, Any]:
            return {name: clean.get(name) for name in model.model_fields}

        return cls(
            user_id=clean["user_id"],
            as_of=clean["as_of"],
            population_as_of=clean.get("population_as_of"),
            basic=BasicProfile(**pick(BasicProfile)),
            behaviour=BehaviourProfile(**pick(BehaviourProfile)),
            preferences=PreferenceProfile(**pick(PreferenceProfile)),
            lifecycle=LifecycleProfile(**pick(LifecycleProfile)),
        )


def _clean(value: Any) -> Any:
    """NaN / NaT / pandas NA -> None; numpy scalars -> Python; timestamps -> datetime."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list | tuple | dict):
        return value
    if hasattr(value, "tolist") and getattr(value, "ndim", 0) > 0:  # numpy array of entries
        return list(value)
    if pd.isna(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item"):
        return value.item()
    return value
