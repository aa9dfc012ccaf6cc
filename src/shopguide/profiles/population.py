"""Population statistics: what a profile's population-relative fields are measured against.

A profile's affinity indexes (a user's share of wallet over the population's share), price
index (against each category's median list unit price) and RFM scores and segment compare the
user with everybody. A build measures the population on the spot and stores what it measured
with the version, under the version's ``as_of`` key:

* ``profile_population``: one row, ``population_as_of`` (the event time the statistics are
  measured at), ``computed_at`` (wall clock), the users and buyers counted, the population's
  gross spend, and the RFM cut points (:mod:`shopguide.profiles.lifecycle`);
* ``profile_population_shares``: the population's spend per category and per brand;
* ``profile_category_prices``: each category's median list unit price.

A live update (:mod:`shopguide.profiles.live`) derives its batch's users against these stored
statistics instead of measuring everybody again, so its cost follows the batch. The
statistics then lag the version by the events that arrived since; :func:`refresh_population`
measures them again (every user is re-derived, the cost of a build's population step) and
afterwards the live version equals a full rebuild as of its ``events_through``. The service
refreshes in the background when a live update finds them older than its
``population_max_age`` (event time) or from an earlier calendar day; ``shopguide profiles
refresh`` does it by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import pandas as pd

from shopguide.profiles.derive import PROFILES_SQL, category_prices_sql
from shopguide.profiles.lifecycle import rfm_cut_points_sql
from shopguide.store.base import Store

#: Default age (in event time) past which a live update asks for a refresh.
POPULATION_MAX_AGE: Final = timedelta(hours=1)

_SHARES_SQL: Final = """
INSERT INTO profile_population_shares
SELECT CAST($version AS TIMESTAMP), 'category', category, sum(spend)
FROM profile_agg_categories WHERE as_of = $version GROUP BY category
UNION ALL
SELECT CAST($version AS TIMESTAMP), 'brand', brand, sum(spend)
FROM profile_agg_brands WHERE as_of = $version GROUP BY brand
"""

_POPULATION_SQL: Final = f"""
INSERT INTO profile_population
WITH
base AS (SELECT * FROM profile_agg_users WHERE as_of = $version),
buyers AS (
    SELECT date_diff('day', CAST(last_order_at AS DATE), CAST($as_of AS DATE)) AS recency_days,
           CAST(last_order_at AS DATE) AS last_order_day, orders,
           gross_spend - refund_value AS monetary
    FROM base WHERE orders > 0
),
cuts AS ({rfm_cut_points_sql("buyers")})
SELECT CAST($version AS TIMESTAMP), CAST($as_of AS TIMESTAMP), now()::TIMESTAMP,
       (SELECT count(*) FROM base), cuts.buyers, (SELECT sum(gross_spend) FROM base),
       cuts.r_cuts, cuts.f_cuts, cuts.m_cuts
FROM cuts
"""


def measure_population(store: Store, version: datetime, as_of: datetime) -> None:
    """Store the population statistics of version ``version`` (whose aggregates are complete)
    measured as of ``as_of``, replacing earlier ones; the category median prices are written
    by the caller's population step (:func:`shopguide.profiles.derive.category_prices_sql`)."""
    params = {"version": version, "as_of": as_of}
    for table in ("profile_population", "profile_population_shares"):
        store.execute(f"DELETE FROM {table} WHERE as_of = $version", {"version": version})
    store.execute(_SHARES_SQL, {"version": version})
    store.execute(_POPULATION_SQL, params)


@dataclass(frozen=True)
class PopulationStatus:
    """When the statistics a version's population-relative fields use were measured."""

    as_of: datetime  # the version's key
    population_as_of: datetime  # event time the statistics were measured at
    computed_at: datetime  # wall-clock time they were computed
    events_through: datetime  # how far the version's events go (its as_of but for live)

    @property
    def lag(self) -> timedelta:
        """Event time the statistics are behind the version's events."""
        return self.events_through - self.population_as_of

    def stale(self, max_age: timedelta) -> bool:
        """Older than ``max_age`` in event time, or measured on an earlier calendar day."""
        return self.lag > max_age or self.events_through.date() != self.population_as_of.date()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "as_of": pd.Timestamp(self.as_of).isoformat(),
            "population_as_of": pd.Timestamp(self.population_as_of).isoformat(),
            "computed_at": pd.Timestamp(self.computed_at).isoformat(),
            "events_through": pd.Timestamp(self.events_through).isoformat(),
            "lag_seconds": self.lag.total_seconds(),
        }


def _ts(value: Any) -> datetime:
    return pd.Timestamp(value).to_pydatetime()


def population_status(store: Store, version: datetime) -> PopulationStatus | None:
    """The statistics of version ``version`` (None when it has none: made before they existed,
    or imported from Spark)."""
    frame = store.query_df(
        """SELECT p.as_of, p.population_as_of, p.computed_at,
                  coalesce(l.events_through, p.as_of) AS events_through
           FROM profile_population p LEFT JOIN profile_live l USING (as_of)
           WHERE p.as_of = $version""",
        {"version": version},
    )
    if frame.empty:
        return None
    row = frame.iloc[0]
    return PopulationStatus(
        _ts(row["as_of"]),
        _ts(row["population_as_of"]),
        _ts(row["computed_at"]),
        _ts(row["events_through"]),
    )


@dataclass(frozen=True)
class RefreshResult:
    """What :func:`refresh_population` did."""

    as_of: datetime  # the version's key after the refresh
    population_as_of: datetime
    users: int
    seconds: float
    #: the live version's key before the refresh (it moves to its ``events_through``)
    previous_as_of: datetime | None = None


def rederive_version(store: Store, version: datetime, as_of: datetime) -> int:
    """Measure the population of version ``version`` as of ``as_of`` and re-derive every user
    (inside the caller's transaction); returns the number of profiles."""
    if version != as_of:  # the full step keys its rows by $as_of
        raise ValueError("a full re-derive needs the version keyed by its as_of")
    params = {"as_of": as_of}
    store.execute("DELETE FROM profile_category_prices WHERE as_of = $as_of", params)
    store.execute(category_prices_sql(True), params)
    measure_population(store, version, as_of)
    store.execute("DELETE FROM profiles WHERE as_of = $as_of", params)
    store.execute(PROFILES_SQL, params)
    return int(store.scalar("SELECT count(*) FROM profiles WHERE as_of = $as_of", params))
