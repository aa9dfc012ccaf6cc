"""The behaviour-analytics sections of the report: KPIs, RFM segments, cohorts, funnel,
repeat purchase and category/brand trends. Each builder takes the store and returns a
:class:`~shopguide.report.document.Section`; figures are matplotlib (Agg) drawn as inline SVG.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from shopguide import analytics as A
from shopguide.report.document import (
    Figure,
    Section,
    figure_svg,
    fmt_count,
    fmt_float,
    fmt_money,
    fmt_share,
    join_html,
    kpi_html,
    note_html,
    table_html,
)
from shopguide.report.periods import PARTIAL, data_period, month_label, partial_note
from shopguide.store.base import Store

plt.rcParams.update({"svg.fonttype": "none", "font.size": 9, "figure.dpi": 100})

AsOf = datetime | str | None


def kpi_items(store: Store, as_of: AsOf = None) -> list[tuple[str, str, str]]:
    """The KPI tiles as ``(key, label, formatted value)`` (tests compare these with the page)."""
    k = A.kpis(store, as_of)
    repeat = A.repeat_summary(store, as_of)
    first, last = pd.Timestamp(k["first_event"]), pd.Timestamp(k["last_event"])
    return [
        ("users", "Users", fmt_count(k["users"])),
        ("buyers", "Buyers", fmt_count(k["buyers"])),
        ("orders", "Orders", fmt_count(k["orders"])),
        ("revenue", "Revenue (net of refunds)", fmt_money(k["revenue"])),
        ("avg_order_value", "Average order value", fmt_money(k["avg_order_value"])),
        ("repeat_rate", "Repeat-buyer rate", fmt_share(repeat["repeat_rate"])),
        ("items_sold", "Items sold", fmt_count(k["items_sold"])),
        ("events", "Events", fmt_count(k["events"])),
        ("period", "Period", f"{first:%Y-%m-%d} to {last:%Y-%m-%d}"),
    ]


def kpi_section(store: Store, as_of: AsOf = None) -> Section:
    """Headline figures."""
    return Section("Key figures", html=kpi_html(kpi_items(store, as_of)), anchor="kpis")


SEGMENT_FORMATS: dict[str, Any] = {
    "users": fmt_count,
    "user_share": fmt_share,
    "revenue": fmt_money,
    "revenue_share": fmt_share,
    "avg_recency_days": fmt_float,
    "avg_frequency": fmt_float,
    "avg_monetary": fmt_money,
}


def segment_section(store: Store, as_of: AsOf = None) -> Section:
    """RFM segment sizes and revenue shares."""
    summary = A.segment_summary(store, as_of)
    fig, ax = plt.subplots(figsize=(9, 3.8))
    y = np.arange(len(summary))
    ax.barh(y - 0.2, summary["user_share"] * 100, height=0.4, label="share of buyers")
    ax.barh(y + 0.2, summary["revenue_share"] * 100, height=0.4, label="share of revenue")
    ax.set_yticks(y, summary["segment"])
    ax.invert_yaxis()
    ax.set_xlabel("%")
    ax.legend(loc="lower right")
    ax.set_title("RFM segments")
    figure = figure_svg(fig, "rfm-segments", "Share of buyers and of revenue per RFM segment.")
    body = join_html(
        [
            table_html(summary, name="segments", formats=SEGMENT_FORMATS),
            note_html(
                "Scores are quintiles (1-5) of recency, frequency (orders) and monetary value "
                "(net spend) among buyers; segments follow the R x FM grid documented in "
                "shopguide.profiles.lifecycle."
            ),
        ]
    )
    return Section("RFM segments", html=body, figures=[figure], anchor="segments")


def _heatmap(
    matrix: pd.DataFrame, title: str, name: str, caption: str, percent: bool,
    hidden: np.ndarray | None = None,
) -> Figure:  # fmt: skip
    """A cohort heat map; cells where ``hidden`` is true (partial months) are left blank."""
    height = max(2.5, 0.32 * len(matrix) + 1.2)
    fig, ax = plt.subplots(figsize=(min(12, 0.6 * len(matrix.columns) + 3), height))
    values = matrix.to_numpy(dtype=float)
    if hidden is not None:
        values = np.where(hidden, np.nan, values)
    shown = np.clip(values, 0, 1) if percent else values
    ax.imshow(np.ma.masked_invalid(shown), cmap="Blues", aspect="auto", vmin=0)
    ax.set_xticks(range(len(matrix.columns)), [str(c) for c in matrix.columns])
    ax.set_yticks(range(len(matrix.index)), list(matrix.index))
    ax.set_xlabel("months since first purchase")
    ax.set_title(title)
    if values.size <= 400:
        for (i, j), v in np.ndenumerate(values):
            if not np.isnan(v):
                text = f"{100 * v:.0f}" if percent else f"{v:,.0f}"
                dark = percent and min(v, 1) > 0.6
                ax.text(j, i, text, ha="center", va="center", fontsize=7,
                        color="white" if dark else "black")  # fmt: skip
    return figure_svg(fig, name, caption)


def _partial_cells(matrix: pd.DataFrame, partial: dict[str, str]) -> np.ndarray:
    """True where a cohort cell (after month 0) falls in a partial calendar month."""
    cohorts = [pd.Period(label, "M") for label in matrix.index]
    return np.array(
        [
            [int(k) > 0 and f"{cohort + int(k)}" in partial for k in matrix.columns]
            for cohort in cohorts
        ],
        dtype=bool,
    ).reshape(len(matrix.index), len(matrix.columns))


def cohort_section(store: Store, as_of: AsOf = None) -> Section:
    """Cohort retention as heat maps of user and revenue share, plus the tables.

    Cells in a partial calendar month (see :mod:`shopguide.report.periods`) are blank in the
    heat maps and marked "partial" in the table, so a few hours of data are not read as churn.
    """
    cohorts = A.cohort_retention(store, as_of)
    if cohorts.empty:
        return Section("Cohort retention", html=note_html("No purchases yet."), anchor="cohorts")
    period = data_period(store, as_of)
    partial = period.partial_months() if period is not None else {}
    users = A.cohort_matrix(cohorts, "user_share")
    revenue = A.cohort_matrix(cohorts, "revenue_share")
    hidden = _partial_cells(users, partial)
    labels = [month_label(m, partial) for m in users.index]
    figures = [
        _heatmap(users.set_axis(labels), "Share of the cohort buying again (%)", "cohort-users",
                 "Rows: month of first purchase; columns: months since.", True, hidden),
        _heatmap(revenue.set_axis(labels), "Revenue vs the cohort's first month (%)",
                 "cohort-revenue",
                 "Revenue of each cohort month over the cohort's first-month revenue.", True,
                 hidden),
    ]  # fmt: skip
    users_table = users.map(fmt_share).rename(columns=str)
    marked = pd.DataFrame(hidden, users.index, users_table.columns) & (users_table != "")
    users_table = users_table.mask(marked, users_table + f" ({PARTIAL})")
    users_table.insert(0, "size", A.cohort_matrix(cohorts, "users")[0].map(fmt_count))
    parts = [
        "<h3>Share of users retained</h3>",
        table_html(users_table.set_axis(labels).rename_axis("cohort"), name="cohort-users",
                   index=True),
    ]  # fmt: skip
    if partial:
        parts.append(note_html(partial_note(partial, "left blank in the heat maps")))
    return Section("Cohort retention", html=join_html(parts), figures=figures, anchor="cohorts")


FUNNEL_FORMATS: dict[str, Any] = {
    "viewed": fmt_count,
    "carted": fmt_count,
    "purchased": fmt_count,
    "users_viewed": fmt_count,
    "view_to_cart": fmt_share,
    "cart_to_purchase": fmt_share,
    "view_to_purchase": fmt_share,
}


def funnel_section(store: Store, as_of: AsOf = None) -> Section:
    """View -> cart -> purchase, overall, per category and per segment."""
    overall = A.funnel(store, "overall", as_of)
    if overall.empty:
        return Section(
            "Funnel",
            html=note_html(
                "This data has no view or cart events, so there is no view -> cart -> purchase "
                "funnel to show."
            ),
            anchor="funnel",
        )
    row = overall.iloc[0]
    fig, ax = plt.subplots(figsize=(7, 2.8))
    stages = ["viewed", "carted", "purchased"]
    counts = [int(row[s]) for s in stages]
    bars = ax.barh(stages, counts, color=["#9fb3c8", "#486581", "#243b53"])
    ax.invert_yaxis()
    for bar, count in zip(bars, counts, strict=True):
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {count:,}", va="center")
    ax.set_title("Funnel (user-item pairs)")
    by_category = A.funnel(store, "category", as_of)
    fig2, ax2 = plt.subplots(figsize=(9, 3.2))
    x = np.arange(len(by_category))
    ax2.bar(x - 0.2, by_category["view_to_cart"] * 100, width=0.4, label="view -> cart")
    ax2.bar(x + 0.2, by_category["cart_to_purchase"] * 100, width=0.4, label="cart -> purchase")
    ax2.set_xticks(x, by_category["group"], rotation=30, ha="right")
    ax2.set_ylabel("%")
    ax2.legend()
    ax2.set_title("Conversion by category")
    body = join_html(
        [
            table_html(overall, name="funnel-overall", formats=FUNNEL_FORMATS),
            "<h3>By category</h3>",
            table_html(by_category, name="funnel-category", formats=FUNNEL_FORMATS),
            "<h3>By RFM segment</h3>",
            table_html(
                A.funnel(store, "segment", as_of), name="funnel-segment", formats=FUNNEL_FORMATS
            ),
            note_html(
                "Unit: (user, item) pairs. Carted = viewed and carted; purchased = viewed, "
                "carted and bought."
            ),
        ]
    )
    figures = [
        figure_svg(fig, "funnel", "Pairs reaching each stage."),
        figure_svg(fig2, "funnel-category", "Stage conversion per top-level category."),
    ]
    return Section("Funnel", html=body, figures=figures, anchor="funnel")


def repeat_section(store: Store, as_of: AsOf = None) -> Section:
    """Days between orders, repeat rate and the most rebought items."""
    dist = A.gap_distribution(store, as_of)
    summary = A.repeat_summary(store, as_of)
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.bar(dist["days"], dist["gaps"], color="#486581")
    ax.set_xlabel("days between consecutive orders")
    ax.set_ylabel("gaps")
    ax.set_title("Time between orders")
    facts = kpi_html(
        [
            ("repeat_buyers", "Repeat buyers", fmt_count(summary["repeat_buyers"])),
            ("repeat_rate_2", "Repeat rate", fmt_share(summary["repeat_rate"])),
            ("median_gap_days", "Median days between orders",
             fmt_float(summary["median_gap_days"])),
            ("mean_gap_days", "Mean days between orders", fmt_float(summary["mean_gap_days"])),
        ]
    )  # fmt: skip
    rebought = A.rebought_items(store, top=10, as_of=as_of)
    body = join_html(
        [
            facts,
            "<h3>Days between orders</h3>",
            table_html(dist, name="gaps", formats={"gaps": fmt_count, "share": fmt_share}),
            "<h3>Most rebought items</h3>",
            table_html(
                rebought,
                name="rebought",
                formats={
                    "rebuyers": fmt_count,
                    "rebuys": fmt_count,
                    "buyers": fmt_count,
                    "rebuy_rate": fmt_share,
                },
            ),
        ]
    )
    figure = figure_svg(fig, "repeat-gaps", "Distribution of days between a buyer's orders.")
    return Section("Repeat purchase", html=body, figures=[figure], anchor="repeat")


def _trend_figure(matrix: pd.DataFrame, title: str, name: str, caption: str) -> Figure:
    fig, ax = plt.subplots(figsize=(9, 3.6))
    for column in matrix.columns:
        ax.plot(matrix.index, matrix[column], marker="o", markersize=3, label=str(column))
    ax.set_ylabel("revenue")
    ax.set_title(title)
    ax.tick_params(axis="x", rotation=45)
    ax.legend(fontsize=7, ncol=2, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return figure_svg(fig, name, caption)


def _trend_parts(
    matrix: pd.DataFrame, partial: dict[str, str], title: str, name: str, what: str
) -> tuple[Figure, list[str]]:
    """The chart (without partial months) and the table (partial months labelled)."""
    caption = "Monthly revenue (purchases net of discount, before refunds)."
    full = matrix.loc[[m for m in matrix.index if m not in partial]]
    if partial:
        caption += " Partial months are left out."
    figure = _trend_figure(full if len(full) else matrix, title, name, caption)
    table = matrix.map(fmt_money).set_axis([month_label(m, partial) for m in matrix.index])
    return figure, [
        f"<h3>Revenue by {what} and month</h3>",
        table_html(table.rename_axis("month"), name=name, index=True),
    ]


def trends_section(store: Store, as_of: AsOf = None) -> Section:
    """Monthly revenue per top category and per top brand (partial months marked)."""
    period = data_period(store, as_of)
    partial = period.partial_months() if period is not None else {}
    categories = A.trend_matrix(A.monthly_trends(store, "category", top=8, as_of=as_of))
    brands = A.trend_matrix(A.monthly_trends(store, "brand", top=8, as_of=as_of))
    figure, parts = _trend_parts(
        categories, partial, "Revenue by category", "trend-category", "category"
    )
    figures = [figure]
    if set(brands.columns) - {"(no brand)", "Other"}:
        figure, more = _trend_parts(brands, partial, "Revenue by brand", "trend-brand", "brand")
        figures.append(figure)
        parts += more
    else:
        parts.append(note_html("The items have no brands, so there is no brand trend."))
    if partial:
        parts.append(note_html(partial_note(partial, "left out of the charts")))
    return Section("Category and brand trends", html=join_html(parts), figures=figures,
                   anchor="trends")  # fmt: skip


def analytics_sections(store: Store, as_of: AsOf = None) -> list[Section]:
    """Every behaviour-analytics section, in report order."""
    return [
        kpi_section(store, as_of),
        segment_section(store, as_of),
        cohort_section(store, as_of),
        funnel_section(store, as_of),
        repeat_section(store, as_of),
        trends_section(store, as_of),
    ]
