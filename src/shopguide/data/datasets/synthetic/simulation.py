"""One block of users turned into events: sessions, item choice, the funnel, campaigns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shopguide.columns import Columns
from shopguide.data.datasets.synthetic.config import (
    _CART,
    _CLICK,
    _DAY,
    _DECLINE_DAYS,
    _DECLINE_FLOOR,
    _DISCOUNT_FRACTIONS,
    _FAV,
    _FAVORITE_PROB,
    _HOUR_WEIGHTS,
    _MAX_TRIES,
    _MEAN_EXTRA_VIEWS,
    _PURCHASE,
    _QUANTITIES,
    _QUANTITY_P,
    _REFUND,
    _TYPE_NAMES,
    _VIEW,
    EVENT_SCHEMA,
)
from shopguide.data.datasets.synthetic.world import (
    _ids,
    _to_datetime,
    _World,
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
