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

from shopguide.data.datasets.synthetic.config import (
    CATEGORIES,
    FUNNEL_RATES,
    SEGMENT_FUNNEL_FACTORS,
    SyntheticConfig,
    SyntheticData,
    SyntheticFiles,
    SyntheticTruth,
)
from shopguide.data.datasets.synthetic.run import (
    generate,
    iter_event_chunks,
    load_synthetic,
    read_parquet,
    write_parquet,
)

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
