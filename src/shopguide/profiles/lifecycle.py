"""Lifecycle group: RFM quintile scores and the named RFM segments.

Who is scored
    Users with at least one order up to ``as_of`` ("buyers"). Users without orders get no
    scores and a ``NULL`` segment.

The three measures
    * **R**ecency: whole calendar days from the last order to ``as_of`` (smaller is better).
    * **F**requency: number of orders (distinct ``order_id``; lines without an order id count
      one order per purchase day).
    * **M**onetary: net spend, ``sum(quantity * price - discount)`` of purchases minus refunds,
      rounded to 6 decimals before ranking so float summation order never changes a rank.

Quintile scores (1-5), tie-safe and deterministic
    Rank the buyers from worst to best (R: by recency descending; F and M: ascending). A user
    whose value is shared by others gets the *average* of the tied positions,
    ``avg_rank = (rank_min + rank_max) / 2``, and the score is ``ceil(5 * avg_rank / n)``
    for ``n`` buyers, computed in integers as ``(5 * (rank_min + rank_max) + 2n - 1) // (2n)``.
    With distinct values this gives exact quintiles; equal values always get equal scores.

Scoring against stored cut points (live updates)
    The score only grows along the worst-to-best order, so it is a step function of the value:
    the population statistics (:mod:`shopguide.profiles.population`) keep, for k = 2..5, the
    *cut point* ``c_k``, the worst value among buyers scoring at least k (recency as the date
    of the last order, so the cut points do not age with ``as_of``; monetary rounded to 6
    decimals), and a live update scores a user as ``1 + #{k : value at least as good as c_k}``
    (a missing ``c_k``, no buyer scoring k or more, never counts). For every value the measured
    population holds this is exactly the score above (:func:`rfm_scores_sql`), ties included;
    a value it did not hold (a batch's buyer between refreshes) gets the score of the cut
    points it reaches, i.e. it is placed among the population as the statistics saw it.

Segments
    ``fm_score = ceil((F + M) / 2)`` and the segment is looked up on the R x FM grid
    (rows R = 5..1, columns FM = 1..5)::

        R\\FM   1                2                   3                   4           5
        5      New              Potential Loyalist  Potential Loyalist  Champions   Champions
        4      Promising        Potential Loyalist  Potential Loyalist  Loyal       Loyal
        3      About to Sleep   About to Sleep      Need Attention      Loyal       Loyal
        2      Hibernating      Hibernating         At Risk             At Risk     Can't Lose Them
        1      Lost             Hibernating         At Risk             At Risk     Can't Lose Them

    In words: Champions bought recently, often and much (R 5, FM 4-5); Loyal buy often and
    much and not long ago (R 3-4, FM 4-5); Potential Loyalists are recent with middling
    frequency/spend (R 4-5, FM 2-3); New bought very recently but little (R 5, FM 1); Promising
    recent but little (R 4, FM 1); Need Attention are average on everything (R 3, FM 3);
    About to Sleep are fading low-value buyers (R 3, FM 1-2); At Risk were good customers
    who have not bought for a while (R 1-2, FM 3-4); Can't Lose Them were the best and are
    leaving (R 1-2, FM 5); Hibernating are long gone, low-value buyers (R 1-2, FM 1-2 except
    R 1 FM 1); Lost are the lowest on both axes (R 1, FM 1).
"""

from __future__ import annotations

from typing import Final

#: The named segments, best first (report order).
SEGMENTS: Final[tuple[str, ...]] = (
    "Champions",
    "Loyal",
    "Potential Loyalist",
    "New",
    "Promising",
    "Need Attention",
    "About to Sleep",
    "At Risk",
    "Can't Lose Them",
    "Hibernating",
    "Lost",
)

_GRID_ROWS: Final[dict[int, tuple[str, str, str, str, str]]] = {
    5: ("New", "Potential Loyalist", "Potential Loyalist", "Champions", "Champions"),
    4: ("Promising", "Potential Loyalist", "Potential Loyalist", "Loyal", "Loyal"),
    3: ("About to Sleep", "About to Sleep", "Need Attention", "Loyal", "Loyal"),
    2: ("Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"),
    1: ("Lost", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"),
}

#: ``(r_score, fm_score) -> segment`` for every one of the 25 cells.
SEGMENT_GRID: Final[dict[tuple[int, int], str]] = {
    (r, fm): name for r, row in _GRID_ROWS.items() for fm, name in enumerate(row, start=1)
}


def segment_of(r_score: int, f_score: int, m_score: int) -> str:
    """The named segment of one user's scores (the Python twin of :func:`segment_sql`)."""
    return SEGMENT_GRID[(r_score, fm_score_of(f_score, m_score))]


def fm_score_of(f_score: int, m_score: int) -> int:
    """``ceil((F + M) / 2)``."""
    return (f_score + m_score + 1) // 2


def quintile_score_sql(order_by: str) -> str:
    """SQL for a tie-safe 1-5 quintile score of a window ordered worst-to-best by ``order_by``."""
    rank_min = f"rank() OVER (ORDER BY {order_by})"
    rank_max = f"count(*) OVER (ORDER BY {order_by})"  # default RANGE frame includes ties
    n = "count(*) OVER ()"
    return f"CAST((5 * ({rank_min} + {rank_max}) + 2 * {n} - 1) // (2 * {n}) AS INTEGER)"


def rfm_cut_points_sql(buyers: str) -> str:
    """A SELECT of one row, the cut points ``r_cuts`` (DATE[]), ``f_cuts`` and ``m_cuts``
    (each the worst value scoring at least 2, 3, 4, 5) and ``buyers``, from a relation
    ``buyers(recency_days, last_order_day, orders, monetary)`` (see the module docs)."""

    def cuts(value: str, score: str, worst: str) -> str:
        return "[" + ", ".join(f"{worst}({value}) FILTER (WHERE {score} >= {k})"
                               for k in range(2, 6)) + "]"  # fmt: skip

    return f"""
    SELECT count(*) AS buyers,
           {cuts("last_order_day", "r_score", "min")} AS r_cuts,
           {cuts("orders", "f_score", "min")} AS f_cuts,
           {cuts("monetary", "m_score", "min")} AS m_cuts
    FROM (
        SELECT last_order_day, orders, round(monetary, 6) AS monetary,
               {quintile_score_sql("recency_days DESC")} AS r_score,
               {quintile_score_sql("orders")} AS f_score,
               {quintile_score_sql("round(monetary, 6)")} AS m_score
        FROM {buyers}
    )
    """


def rfm_scores_from_cuts_sql(buyers: str, cuts: str) -> str:
    """Like :func:`rfm_scores_sql`, scoring ``buyers(user_id, last_order_day, orders,
    monetary)`` against the cut points of the one-row relation ``cuts`` (see the module docs)."""

    def score(value: str, column: str) -> str:
        return f"CAST(1 + len(list_filter(c.{column}, lambda x: {value} >= x)) AS INTEGER)"

    return f"""
    WITH scored AS (
        SELECT b.user_id,
               {score("b.last_order_day", "r_cuts")} AS r_score,
               {score("b.orders", "f_cuts")} AS f_score,
               {score("round(b.monetary, 6)", "m_cuts")} AS m_score
        FROM {buyers} b CROSS JOIN {cuts} c
    ),
    with_fm AS (
        SELECT *, CAST((f_score + m_score + 1) // 2 AS INTEGER) AS fm_score FROM scored
    )
    SELECT user_id, r_score, f_score, m_score, fm_score,
           CAST(r_score AS VARCHAR) || CAST(f_score AS VARCHAR) || CAST(m_score AS VARCHAR)
               AS rfm_cell,
           {segment_sql("r_score", "fm_score")} AS segment
    FROM with_fm
    """


def segment_sql(r_col: str, fm_col: str) -> str:
    """A SQL ``CASE`` mapping R and FM score columns to the segment name (NULL if unscored)."""
    whens = " ".join(
        f"WHEN {r_col} = {r} AND {fm_col} = {fm} THEN '{name.replace(chr(39), chr(39) * 2)}'"
        for (r, fm), name in sorted(SEGMENT_GRID.items())
    )
    return f"CASE {whens} END"


def rfm_scores_sql(buyers: str) -> str:
    """A SELECT scoring a relation ``buyers(user_id, recency_days, orders, monetary)``.

    Returns ``user_id, r_score, f_score, m_score, fm_score, rfm_cell, segment``.
    """
    return f"""
    WITH scored AS (
        SELECT user_id,
               {quintile_score_sql("recency_days DESC")} AS r_score,
               {quintile_score_sql("orders")} AS f_score,
               {quintile_score_sql("round(monetary, 6)")} AS m_score
        FROM {buyers}
    ),
    with_fm AS (
        SELECT *, CAST((f_score + m_score + 1) // 2 AS INTEGER) AS fm_score FROM scored
    )
    SELECT user_id, r_score, f_score, m_score, fm_score,
           CAST(r_score AS VARCHAR) || CAST(f_score AS VARCHAR) || CAST(m_score AS VARCHAR)
               AS rfm_cell,
           {segment_sql("r_score", "fm_score")} AS segment
    FROM with_fm
    """
