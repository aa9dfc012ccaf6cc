"""Lists of users to act on: a segment's members and the retention (churn) list, each sortable,
paged and exportable as CSV with the same rows.

One SQL query per page over the latest profile version and one version of
``user_predictions`` (the one :func:`~shopguide.workflows.serving.predictions.churn_predictions`
shows), so a list of a million buyers is sorted by DuckDB, never in Python. Value at risk is
CLV × churn probability: what the shop stands to lose from the user in the CLV horizon.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Literal

import pandas as pd

from shopguide.errors import DataError
from shopguide.store.base import Store
from shopguide.workflows.audiences import check_segments
from shopguide.workflows.json_records import records

__all__ = [
    "MEMBER_SORTS",
    "RETENTION_SORTS",
    "ListPage",
    "retention_csv",
    "retention_list",
    "segment_members",
    "segment_members_csv",
]

Order = Literal["asc", "desc"]

#: A segment's members can be sorted by: column and natural direction (most spend, most
#: recent, most at risk, most value at risk first).
MEMBER_SORTS: Final[Mapping[str, tuple[str, Order]]] = MappingProxyType(
    {
        "spend": ("total_spend", "desc"),
        "recency": ("recency_days", "asc"),
        "churn": ("churn_probability", "desc"),
        "value_at_risk": ("value_at_risk", "desc"),
    }
)
#: The retention list can be sorted by: churn risk, value at risk, CLV.
RETENTION_SORTS: Final[Mapping[str, tuple[str, Order]]] = MappingProxyType(
    {
        "churn": ("churn_probability", "desc"),
        "value_at_risk": ("value_at_risk", "desc"),
        "clv": ("clv", "desc"),
    }
)

_LATEST_PROFILES: Final = "SELECT * FROM profiles WHERE as_of = (SELECT max(as_of) FROM profiles)"
_PREDICTIONS: Final = """SELECT user_id, churn_probability, churn_reasons AS reasons, p_alive,
        expected_purchases_90d, clv, expected_next_order, value_note,
        clv * churn_probability AS value_at_risk
    FROM user_predictions WHERE as_of = $predictions_as_of"""

_MEMBERS: Final = f"""
    WITH p AS ({_LATEST_PROFILES}), u AS ({_PREDICTIONS})
    SELECT p.user_id, p.location, p.orders, p.total_spend, p.recency_days,
           u.churn_probability, u.clv, u.value_at_risk, u.reasons
    FROM p LEFT JOIN u USING (user_id)
    WHERE p.segment = $segment"""

_RETENTION: Final = f"""
    WITH p AS ({_LATEST_PROFILES}), u AS ({_PREDICTIONS})
    SELECT u.user_id, p.segment, u.churn_probability, u.clv, u.value_at_risk, u.reasons,
           u.p_alive, u.expected_purchases_90d, u.expected_next_order, u.value_note
    FROM u LEFT JOIN p USING (user_id)
    WHERE u.churn_probability IS NOT NULL AND u.churn_probability >= $min_probability
      AND ($segment IS NULL OR p.segment = $segment)"""


@dataclass(frozen=True)
class ListPage:
    """One page of a list: its rows (JSON-ready), how many rows the whole list has, and how
    it was asked for."""

    rows: list[dict[str, Any]]
    total: int
    sort: str
    order: Order
    offset: int
    limit: int | None

    def info(self) -> dict[str, Any]:
        return {"total": self.total, "sort": self.sort, "order": self.order,
                "offset": self.offset, "limit": self.limit}  # fmt: skip


def _order_by(sorts: Mapping[str, tuple[str, Order]], sort: str, order: Order | None) -> str:
    if sort not in sorts:
        raise DataError(f"sort: unknown sort {sort!r}", hint=f"sort by one of: {', '.join(sorts)}")
    column, natural = sorts[sort]
    direction = (order or natural).upper()
    return f"{column} {direction} NULLS LAST, user_id"


def _page(
    store: Store, sql: str, params: dict[str, Any], order_by: str, limit: int | None, offset: int
) -> tuple[pd.DataFrame, int]:
    bounded = f"{sql} ORDER BY {order_by}" + (
        "" if limit is None else f" LIMIT {int(limit)} OFFSET {int(offset)}"
    )
    total = int(store.query_df(f"SELECT count(*) AS n FROM ({sql})", params)["n"].iloc[0])
    return store.query_df(bounded, params), total


def _no_profiles(store: Store) -> bool:
    return not store.has_table("profiles")


def segment_members(
    store: Store,
    segment: str,
    predictions_as_of: pd.Timestamp | None,
    *,
    sort: str = "value_at_risk",
    order: Order | None = None,
    limit: int | None = 50,
    offset: int = 0,
) -> ListPage:
    """The members of RFM ``segment`` in the latest profile version, with spend, orders,
    recency and, from ``user_predictions`` version ``predictions_as_of``, churn risk, CLV and
    value at risk. ``sort``: a key of :data:`MEMBER_SORTS`; ``order`` overrides its natural
    direction; ``limit=None`` returns every member. An unknown segment raises ``DataError``
    naming the known ones (case and spaces in the name do not matter)."""
    name = check_segments([segment])[0]
    order_by = _order_by(MEMBER_SORTS, sort, order)
    if _no_profiles(store):
        return ListPage([], 0, sort, order or MEMBER_SORTS[sort][1], offset, limit)
    params = {"segment": name, "predictions_as_of": _stamp(predictions_as_of)}
    frame, total = _page(store, _MEMBERS, params, order_by, limit, offset)
    return ListPage(records(frame), total, sort, order or MEMBER_SORTS[sort][1], offset, limit)


def retention_list(
    store: Store,
    predictions_as_of: pd.Timestamp | None,
    *,
    sort: str = "churn",
    order: Order | None = None,
    segment: str | None = None,
    min_probability: float = 0.0,
    limit: int | None = 100,
    offset: int = 0,
) -> ListPage:
    """Buyers with a churn score in ``user_predictions`` version ``predictions_as_of``, with
    reasons, CLV, value at risk and their segment; ``segment`` keeps one RFM segment's members,
    ``min_probability`` those at least that much at risk. ``sort``: a key of
    :data:`RETENTION_SORTS` (``churn`` by default, riskiest first)."""
    name = None if segment is None else check_segments([segment])[0]
    order_by = _order_by(RETENTION_SORTS, sort, order)
    natural = order or RETENTION_SORTS[sort][1]
    if predictions_as_of is None:
        return ListPage([], 0, sort, natural, offset, limit)
    sql = _RETENTION
    if _no_profiles(store):  # no profile built: nobody has a segment yet
        if name is not None:
            return ListPage([], 0, sort, natural, offset, limit)
        sql = sql.replace(f"({_LATEST_PROFILES})", "(SELECT NULL::VARCHAR AS user_id, "
                          "NULL::VARCHAR AS segment WHERE false)")  # fmt: skip
    params = {"segment": name, "predictions_as_of": _stamp(predictions_as_of),
              "min_probability": float(min_probability)}  # fmt: skip
    frame, total = _page(store, sql, params, order_by, limit, offset)
    return ListPage(records(frame), total, sort, natural, offset, limit)


def _stamp(value: pd.Timestamp | None) -> Any:
    return None if value is None else pd.Timestamp(value).to_pydatetime()


def _csv(rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    pd.DataFrame(rows, columns=list(columns)).to_csv(buffer, index=False)
    return buffer.getvalue()


#: The columns of a segment's CSV export, in order.
MEMBER_COLUMNS: Final = ("user_id", "location", "orders", "total_spend", "recency_days",
                         "churn_probability", "clv", "value_at_risk", "reasons")  # fmt: skip
#: The columns of the retention list's CSV export, in order.
RETENTION_COLUMNS: Final = ("user_id", "segment", "churn_probability", "clv", "value_at_risk",
                            "reasons", "p_alive", "expected_purchases_90d",
                            "expected_next_order", "value_note")  # fmt: skip


def segment_members_csv(store: Store, segment: str, predictions_as_of: Any, **how: Any) -> str:
    """:func:`segment_members` (every member unless ``limit`` is given) as CSV."""
    how.setdefault("limit", None)
    page = segment_members(store, segment, predictions_as_of, **how)
    return _csv(page.rows, MEMBER_COLUMNS)


def retention_csv(store: Store, predictions_as_of: Any, **how: Any) -> str:
    """:func:`retention_list` (every row unless ``limit`` is given) as CSV."""
    how.setdefault("limit", None)
    page = retention_list(store, predictions_as_of, **how)
    return _csv(page.rows, RETENTION_COLUMNS)
