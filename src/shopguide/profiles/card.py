"""A readable text card of one profile (what ``shopguide profile USER_ID`` prints)."""

from __future__ import annotations

from shopguide.profiles.model import TopEntry, UserProfile

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _num(value: float | int | None, fmt: str = "{:,.2f}", missing: str = "-") -> str:
    return missing if value is None else fmt.format(value)


def _entries(entries: list[TopEntry]) -> str:
    if not entries:
        return "-"
    return ", ".join(
        f"{e.name} {_num(e.share, '{:.0%}')} (x{_num(e.affinity, '{:.1f}')})" for e in entries
    )


def profile_card(profile: UserProfile) -> str:
    """Plain-text summary of a profile, one fact per line, grouped like the profile."""
    b, h, p, life = profile.basic, profile.behaviour, profile.preferences, profile.lifecycle
    weekday = None if h.preferred_weekday is None else _WEEKDAYS[h.preferred_weekday - 1]
    hour = None if h.preferred_hour is None else f"{h.preferred_hour:02d}h"
    lines = [
        f"User {profile.user_id}  (profile as of {profile.as_of:%Y-%m-%d %H:%M})",
        "Basic",
        f"  gender {b.gender or '-'} · age {b.age_band or '-'} · location {b.location or '-'}"
        f" · tenure {_num(b.tenure_days, '{:,}')} days",
        "Behaviour",
        f"  orders {h.orders:,} · items {h.items_bought:,.0f} · spend {h.total_spend:,.2f}"
        f" (refunds {h.refunds:,.2f}) · average order {_num(h.avg_order_value)}",
        f"  last order {_num(h.recency_days, '{:,}')} days ago · "
        f"{_num(h.purchase_frequency)} orders / 30 days · "
        f"{_num(h.avg_days_between_orders, '{:,.1f}')} days between orders",
        f"  buys mostly on {weekday or '-'} at {hour or '-'} · views {h.views:,} · carts "
        f"{h.carts:,} · view->cart {_num(h.view_to_cart, '{:.0%}')} · cart->purchase "
        f"{_num(h.cart_to_purchase, '{:.0%}')}",
        f"  top categories: {_entries(h.top_categories)}",
        "Preferences",
        f"  top brands: {_entries(p.top_brands)}",
        f"  price: index {_num(p.price_index)} ({p.price_band or '-'}) · bought on discount "
        f"{_num(p.discount_spend_share, '{:.0%}')} of spend · sensitivity "
        f"{_num(p.price_sensitivity)}",
        "Lifecycle",
        f"  RFM {life.rfm_cell or '-'} · segment {life.segment or 'no purchase yet'}",
    ]
    if profile.population_as_of is not None:  # what affinity, price index and RFM compare with
        lines.insert(1, f"Population statistics as of {profile.population_as_of:%Y-%m-%d %H:%M}")
    return "\n".join(lines)
