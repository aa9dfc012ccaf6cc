"""A live batch's profile rows derived in Python, equal to :data:`LIVE_PROFILES_SQL`.

:data:`~shopguide.profiles.derive.LIVE_PROFILES_SQL` costs DuckDB's bind and optimise time
(some 30 ms) whatever the batch's size. For the handful of users of a live batch the same rows
cost a few milliseconds in plain Python and numpy: :func:`derive_profile_table` takes the batch's
aggregate rows (the columns of ``profile_agg_users``, ``profile_agg_categories`` and
``profile_agg_brands``) and the version's stored population statistics
(:func:`load_population`, which a caller caches per version and ``computed_at``) and gives
the ``profiles`` rows the SQL would insert, field for field (tested against the SQL on random
stores).

Where SQL and Python could part, this module follows the SQL:

* day counts are calendar days between the dates of two timestamps (``date_diff('day', ...)``);
* a user's categories and brands rank by spend rounded to the cent, half away from zero
  (DuckDB's ``round``), then by name in code-point order (``-0.0`` and ``0.0`` cents tie); the
  names a batch shares with nobody in the statistics get no population share, so no affinity;
* the monetary value is rounded to 6 decimals the way DuckDB rounds a DOUBLE: the exact
  binary value to the nearest multiple of 10^-6, half away from zero (not ``round(x * 1e6) /
  1e6``, which differs on values such as ``-77.9165345``);
* a price index only counts the categories that have a stored median price (an inner join in
  the SQL), and is NULL when their valuation is 0 or NULL;
* NULL in, NULL out: floats become NaN, integers a masked ``Int32``, strings and lists None.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Context, Decimal
from types import MappingProxyType
from typing import Any, Final

import numpy as np
import pyarrow as pa

from shopguide.profiles.derive import HIGH_PRICE_INDEX, LOW_PRICE_INDEX, TOP_N
from shopguide.profiles.lifecycle import SEGMENT_GRID, fm_score_of
from shopguide.store.base import Store

#: The columns of table ``profiles``, in table order (what :func:`derive_profile_table` returns).
PROFILE_COLUMNS: Final[tuple[str, ...]] = (
    "as_of", "user_id", "gender", "age_band", "location", "signup_at", "first_seen_at",
    "tenure_days", "orders", "items_bought", "purchase_frequency", "recency_days",
    "days_since_last_event", "gross_spend", "refunds", "total_spend", "avg_order_value",
    "avg_days_between_orders", "preferred_weekday", "preferred_hour", "views", "carts",
    "purchases", "view_to_cart", "cart_to_purchase", "view_to_purchase", "top_categories",
    "top_category", "top_category_share", "top_category_affinity", "top_brands", "top_brand",
    "top_brand_share", "top_brand_affinity", "discount_rate", "discount_spend_share",
    "price_index", "price_band", "price_sensitivity", "r_score", "f_score", "m_score",
    "fm_score", "rfm_cell", "segment",
)  # fmt: skip

_EPOCH: Final = date(1970, 1, 1)
_MICROS_PER_SECOND: Final = 1_000_000.0
_SECONDS_PER_DAY: Final = 86400.0
#: Enough digits to round any finite DOUBLE exactly (the largest has 309 integer digits).
_EXACT: Final = Context(prec=800, rounding=ROUND_HALF_UP)
_MICRO: Final = Decimal("1e-6")

Entry = dict[str, Any]


def _epoch_day(value: date | datetime) -> int:
    """Days from 1970-01-01 to the calendar date of ``value``."""
    day = value.date() if isinstance(value, datetime) else value
    return (day - _EPOCH).days


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


def _share(spend: float, gross: float | None) -> float | None:
    """``spend / nullif(gross, 0)``."""
    return None if gross is None or gross == 0 else spend / gross


@dataclass(frozen=True)
class PopulationStatistics:
    """What a live version's population-relative fields are measured against.

    The stored statistics of one version (:mod:`shopguide.profiles.population`): the
    population's gross spend, its spend per category and per brand, each category's median
    list unit price and the RFM cut points (``c_k`` for k = 2..5, None where no buyer scored
    k). Immutable; the derived lookups are computed once, on construction.
    """

    version: datetime
    gross_spend: float | None
    r_cuts: tuple[date | None, ...]
    f_cuts: tuple[int | None, ...]
    m_cuts: tuple[float | None, ...]
    category_spend: Mapping[str, float]
    brand_spend: Mapping[str, float]
    category_prices: Mapping[str, float | None]
    #: population share of wallet per category / brand (None when the gross spend is 0 or NULL)
    category_shares: Mapping[str, float | None] = field(init=False, repr=False, compare=False)
    brand_shares: Mapping[str, float | None] = field(init=False, repr=False, compare=False)
    r_cut_days: tuple[int | None, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        gross = self.gross_spend
        assign = object.__setattr__  # frozen: set the derived fields once, here
        assign(self, "category_spend", _frozen(self.category_spend))
        assign(self, "brand_spend", _frozen(self.brand_spend))
        assign(self, "category_prices", _frozen(self.category_prices))
        assign(self, "r_cuts", tuple(self.r_cuts))
        assign(self, "f_cuts", tuple(self.f_cuts))
        assign(self, "m_cuts", tuple(self.m_cuts))
        assign(self, "category_shares",
               _frozen({k: _share(v, gross) for k, v in self.category_spend.items()}))  # fmt: skip
        assign(self, "brand_shares",
               _frozen({k: _share(v, gross) for k, v in self.brand_spend.items()}))  # fmt: skip
        assign(self, "r_cut_days",
               tuple(None if d is None else _epoch_day(d) for d in self.r_cuts))  # fmt: skip


def load_population(store: Store, version: datetime) -> PopulationStatistics | None:
    """The stored population statistics of version ``version`` (None when it has none), read
    in one query."""
    rows = store.query_arrow(
        """SELECT p.gross_spend, p.r_cuts, p.f_cuts, p.m_cuts,
                  (SELECT list({'kind': kind, 'name': name, 'value': spend})
                   FROM profile_population_shares WHERE as_of = $version) AS shares,
                  (SELECT list({'kind': 'price', 'name': category, 'value': median_unit_price})
                   FROM profile_category_prices WHERE as_of = $version) AS prices
           FROM profile_population p WHERE p.as_of = $version LIMIT 1""",
        {"version": version},
    ).to_pylist()
    if not rows:
        return None
    row = rows[0]
    named: dict[str, dict[str, Any]] = {"category": {}, "brand": {}, "price": {}}
    for entry in (row["shares"] or []) + (row["prices"] or []):
        named[entry["kind"]][entry["name"]] = entry["value"]
    return PopulationStatistics(
        version=version,
        gross_spend=row["gross_spend"],
        r_cuts=tuple(row["r_cuts"]),
        f_cuts=tuple(row["f_cuts"]),
        m_cuts=tuple(row["m_cuts"]),
        category_spend=named["category"],
        brand_spend=named["brand"],
        category_prices=named["price"],
    )


# --- scalar rules, as DuckDB computes them --------------------------------------------------


def round_half_away(value: float) -> float:
    """DuckDB's ``round(x)`` of a DOUBLE (C ``round``: halves away from zero, sign kept)."""
    magnitude = abs(value)
    whole = math.floor(magnitude)
    if magnitude - whole >= 0.5:  # exact: a double minus its floor is representable
        whole += 1
    return math.copysign(float(whole), value)


def round_micro(value: float) -> float:
    """DuckDB's ``round(x, 6)`` of a DOUBLE: the exact binary value rounded to a multiple of
    10^-6, halves away from zero, as the nearest DOUBLE."""
    if not math.isfinite(value):
        return value
    return float(Decimal(value).quantize(_MICRO, context=_EXACT))


def score_from_cuts(value: float | None, cuts: Sequence[float | None]) -> int:
    """``1 + #{k : value >= c_k}``; a NULL value or cut point never counts."""
    if value is None:
        return 1
    return 1 + sum(1 for cut in cuts if cut is not None and value >= cut)


def rank_entries(spends: Sequence[tuple[str, float]], top: int = TOP_N) -> list[tuple[str, float]]:
    """The top ``top`` ``(name, spend)`` pairs: spend rounded to the cent first, then name."""
    return sorted(spends, key=lambda entry: (-round_half_away(entry[1] * 100.0), entry[0]))[:top]


def top_entries(
    spends: Sequence[tuple[str, float]] | None,
    gross_spend: float,
    population_shares: Mapping[str, float | None],
) -> list[Entry] | None:
    """A user's ``top_categories`` / ``top_brands`` (None without any spend rows)."""
    if not spends:
        return None
    entries = []
    for name, spend in rank_entries(spends):
        share = _share(spend, gross_spend)
        reference = population_shares.get(name)
        affinity = None if share is None or not reference else share / reference
        entries.append({"name": name, "spend": spend, "share": share, "affinity": affinity})
    return entries


# --- the batch --------------------------------------------------------------------------------


def _times(table: pa.Table, name: str) -> np.ndarray:
    """A timestamp column as ``datetime64[us]``, NaT for NULL."""
    values = table.column(name).cast(pa.timestamp("us")).to_numpy()
    return np.asarray(values, dtype="datetime64[us]")


def _numbers(table: pa.Table, name: str, dtype: type = np.float64) -> np.ndarray:
    """A numeric column as ``dtype`` (NaN for NULL in a float column)."""
    return np.asarray(table.column(name).to_numpy(), dtype=dtype)


def _days(times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Epoch days of the dates of ``times`` and the NaT mask."""
    missing = np.isnat(times)
    return np.where(missing, 0, times.astype("datetime64[D]").astype(np.int64)), missing


def _ints(values: np.ndarray, missing: np.ndarray) -> pa.Array:
    """32-bit integers, NULL where ``missing``."""
    return pa.array(np.where(missing, 0, values).astype(np.int32), mask=missing)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / nullif(denominator, 0)`` with NaN for NULL."""
    safe = np.where(denominator == 0, 1.0, denominator)
    return np.where(denominator == 0, np.nan, numerator / safe)


def _grouped(table: pa.Table, key: str, columns: Sequence[str]) -> dict[str, list[tuple]]:
    """The rows of ``table`` per user, in table order, as tuples of ``columns``."""
    groups: dict[str, list[tuple]] = {}
    lists = [table.column(column).to_pylist() for column in columns]
    for user, *values in zip(table.column(key).to_pylist(), *lists, strict=True):
        groups.setdefault(user, []).append(tuple(values))
    return groups


def _price_index(rows: list[tuple] | None, prices: Mapping[str, float | None]) -> float:
    """``sum(spend) / nullif(sum(quantity * median price), 0)`` over the categories with a
    stored price (NaN for NULL)."""
    spend, valued, joined, any_price = 0.0, 0.0, False, False
    for category, amount, quantity in rows or ():
        if category not in prices:
            continue
        joined = True
        spend += amount
        median = prices[category]
        if median is not None:
            any_price = True
            valued += quantity * median
    if not joined or not any_price or valued == 0:
        return math.nan
    return spend / valued


def _band(price_index: float) -> str | None:
    if math.isnan(price_index):
        return None
    if price_index < LOW_PRICE_INDEX:
        return "low"
    return "high" if price_index > HIGH_PRICE_INDEX else "mid"


def _objects(values: Sequence[Any]) -> np.ndarray:
    """An object array of ``values`` (set one by one: a list must stay one element)."""
    array = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        array[i] = value
    return array


def _first_name(entries: list[list[Entry] | None]) -> np.ndarray:
    return _objects([None if e is None else e[0]["name"] for e in entries])


def _first_value(entries: list[list[Entry] | None], key: str) -> np.ndarray:
    """Entry 1's ``key`` per user, NaN for NULL."""
    values = [None if e is None else e[0][key] for e in entries]
    return np.array([math.nan if v is None else v for v in values], dtype=np.float64)


def derive_profile_table(
    users: pa.Table,
    categories: pa.Table,
    brands: pa.Table,
    population: PopulationStatistics,
    version: datetime,
    as_of: datetime,
) -> pa.Table:
    """The ``profiles`` rows :data:`LIVE_PROFILES_SQL` inserts for these aggregate rows.

    ``users``, ``categories`` and ``brands`` hold the batch's rows with the columns of
    ``profile_agg_users``, ``profile_agg_categories`` and ``profile_agg_brands`` (as
    :func:`~shopguide.profiles.batch_aggregates.batch_aggregate_tables` makes them); the rows
    are keyed ``version`` and their day counts run to the date of ``as_of``. One row per user,
    in the order of ``users``, with the columns of ``profiles`` in table order (NaN as NULL).
    Arrow in and out: with pandas frames, ten users took about 5 ms more.
    """
    count = len(users)
    as_of_day = _epoch_day(as_of)
    orders = _numbers(users, "orders", np.int64)
    gross = _numbers(users, "gross_spend")
    refunds = _numbers(users, "refund_value")

    # behaviour
    first_seen = np.fmin(_times(users, "signup_at"), _times(users, "first_event_at"))
    seen_day, no_seen = _days(first_seen)
    tenure = as_of_day - seen_day
    frequency = orders * 30.0 / np.where(no_seen, 1, np.maximum(tenure, 1))
    first_order, last_order = _times(users, "first_order_at"), _times(users, "last_order_at")
    order_day, no_order = _days(last_order)
    event_day, no_event = _days(_times(users, "last_event_at"))
    total = gross - refunds
    gap_seconds = (last_order - first_order).astype(np.int64) / _MICROS_PER_SECOND
    gaps = np.where(orders >= 2, np.maximum(orders - 1, 1), 1)
    between = gap_seconds / _SECONDS_PER_DAY / gaps
    between[(orders < 2) | np.isnat(first_order) | no_order] = np.nan
    views = _numbers(users, "views", np.int64)
    carts = _numbers(users, "carts", np.int64)
    purchases = _numbers(users, "purchases", np.int64)

    # preferences
    ids = users.column("user_id").to_pylist()
    category_rows = _grouped(categories, "user_id", ("category", "spend", "quantity"))
    brand_rows = _grouped(brands, "user_id", ("brand", "spend"))
    top_categories = [
        top_entries([(n, s) for n, s, _ in category_rows.get(u, ())], g,
                    population.category_shares)
        for u, g in zip(ids, gross.tolist(), strict=True)
    ]  # fmt: skip
    top_brands = [
        top_entries(brand_rows.get(u), g, population.brand_shares)
        for u, g in zip(ids, gross.tolist(), strict=True)
    ]
    price_index = np.array(
        [_price_index(category_rows.get(u), population.category_prices) for u in ids],
        dtype=np.float64,
    )
    discounted = _numbers(users, "discounted_spend")
    positive = gross > 0
    discount_share = np.where(
        positive, np.clip(discounted / np.where(positive, gross, 1.0), 0.0, 1.0), np.nan
    )
    band = np.array([_band(p) for p in price_index.tolist()], dtype=object)
    sensitivity = np.where(
        np.isnan(price_index),
        discount_share,
        0.5 * discount_share + 0.5 / (1 + price_index * price_index),
    )
    sensitivity[orders == 0] = np.nan

    # lifecycle
    scores = np.zeros((count, 4), dtype=np.int32)
    cells: list[str | None] = [None] * count
    segments: list[str | None] = [None] * count
    buyer = orders > 0
    for i in np.flatnonzero(buyer).tolist():
        r = score_from_cuts(None if no_order[i] else int(order_day[i]), population.r_cut_days)
        f = score_from_cuts(int(orders[i]), population.f_cuts)
        m = score_from_cuts(round_micro(float(total[i])), population.m_cuts)
        fm = fm_score_of(f, m)
        scores[i] = (r, f, m, fm)
        cells[i] = f"{r}{f}{m}"
        segments[i] = SEGMENT_GRID[(r, fm)]
    unscored = ~buyer

    columns: dict[str, Any] = {
        "as_of": np.full(count, np.datetime64(version, "us")),
        "user_id": users.column("user_id"),
        "gender": users.column("gender"),
        "age_band": users.column("age_band"),
        "location": users.column("location"),
        "signup_at": users.column("signup_at"),
        "first_seen_at": first_seen,
        "tenure_days": _ints(tenure, no_seen),
        "orders": orders,
        "items_bought": _numbers(users, "items_bought"),
        "purchase_frequency": frequency,
        "recency_days": _ints(as_of_day - order_day, no_order),
        "days_since_last_event": _ints(as_of_day - event_day, no_event),
        "gross_spend": gross,
        "refunds": refunds,
        "total_spend": total,
        "avg_order_value": _ratio(total, orders.astype(np.float64)),
        "avg_days_between_orders": between,
        "preferred_weekday": users.column("preferred_weekday"),
        "preferred_hour": users.column("preferred_hour"),
        "views": views,
        "carts": carts,
        "purchases": purchases,
        "view_to_cart": _ratio(carts.astype(np.float64), views.astype(np.float64)),
        "cart_to_purchase": _ratio(purchases.astype(np.float64), carts.astype(np.float64)),
        "view_to_purchase": _ratio(purchases.astype(np.float64), views.astype(np.float64)),
        "top_categories": _objects(top_categories),
        "top_category": _first_name(top_categories),
        "top_category_share": _first_value(top_categories, "share"),
        "top_category_affinity": _first_value(top_categories, "affinity"),
        "top_brands": _objects(top_brands),
        "top_brand": _first_name(top_brands),
        "top_brand_share": _first_value(top_brands, "share"),
        "top_brand_affinity": _first_value(top_brands, "affinity"),
        "discount_rate": _ratio(
            _numbers(users, "discount_total"),
            _numbers(users, "list_value"),
        ),
        "discount_spend_share": discount_share,
        "price_index": price_index,
        "price_band": band,
        "price_sensitivity": sensitivity,
        "r_score": _ints(scores[:, 0], unscored),
        "f_score": _ints(scores[:, 1], unscored),
        "m_score": _ints(scores[:, 2], unscored),
        "fm_score": _ints(scores[:, 3], unscored),
        "rfm_cell": np.array(cells, dtype=object),
        "segment": np.array(segments, dtype=object),
    }
    return pa.table({name: _arrow(values) for name, values in columns.items()})


def _arrow(values: Any) -> pa.Array:
    """A column as Arrow: an input column as it is, a numpy one with NaN as NULL."""
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks()
    if isinstance(values, pa.Array):
        return values
    return pa.array(values, from_pandas=True)
