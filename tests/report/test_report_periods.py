"""Partial months: a few hours of data in the last month are marked "partial" in the report's
cohort and trend tables and left out of their charts, instead of drawn as a collapse."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd
import pytest

from shopguide.report import write_report
from shopguide.report.periods import DataPeriod
from shopguide.store import open_store
from shopguide.store.base import Store


def _store(path: Path, last_purchase: str) -> Store:
    """Four buyers from January: 4, 3 and 2 of them buy in January, February and March, and
    one buys at ``last_purchase`` (the store's last event)."""
    rows = []

    def buy(user: str, when: str) -> None:
        rows.append(
            {
                "event_key": f"{user}@{when}",
                "user_id": user,
                "item_id": "x",
                "event_type": "purchase",
                "timestamp": pd.Timestamp(when),
                "quantity": 1.0,
                "price": 10.0,
                "order_id": f"{user}@{when}",
                "load_id": 1,
            }
        )

    for user in ("u1", "u2", "u3", "u4"):
        buy(user, "2024-01-01 09:00")
    for user in ("u1", "u2", "u3"):
        buy(user, "2024-02-10")
    for user in ("u1", "u2"):
        buy(user, "2024-03-10")
    buy("u1", last_purchase)
    store = open_store(path)
    store.append("events", pd.DataFrame(rows))
    return store


def _section(page: str, anchor: str) -> str:
    start = page.index(f'<section id="{anchor}">')
    return page[start : page.index("</section>", start)]


def _table(section: str, name: str) -> list[list[str]]:
    table = re.search(rf'<table data-table="{name}">(.*?)</table>', section, re.S)
    assert table is not None, name
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)
    return [[html.unescape(c) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r)] for r in rows]


def _svg_texts(section: str, chart: str) -> list[str]:
    figure = re.search(rf'<figure class="chart" data-chart="{chart}">(.*?)</figure>', section, re.S)
    assert figure is not None, chart
    return [html.unescape(t).strip() for t in re.findall(r"<text[^>]*>(.*?)</text>", figure[1])]


def test_three_hours_of_april_are_marked_partial_not_drawn_as_churn(tmp_path: Path) -> None:
    store = _store(tmp_path / "s.duckdb", "2024-04-01 03:00")
    page = write_report(store, tmp_path / "out").read_text(encoding="utf-8")
    store.close()

    cohorts = _section(page, "cohorts")
    header, january = _table(cohorts, "cohort-users")
    assert header == ["cohort", "size", "0", "1", "2", "3"]
    # January's cohort: 4 buyers, 75 % in February, 50 % in March, and April's one buyer in
    # three hours is marked as a partial month, not shown as a plain 25 % retention
    assert january == ["2024-01", "4", "100.0%", "75.0%", "50.0%", "25.0% (partial)"]
    assert "2024-04 (data to 2024-04-01)" in cohorts
    # the heat map leaves April's cell blank: its numbers are the three full months only
    shown = _svg_texts(cohorts, "cohort-users")
    assert {"100", "75", "50"} <= set(shown) and "25" not in shown

    trends = _section(page, "trends")
    months = [row[0] for row in _table(trends, "trend-category")[1:]]
    assert months == ["2024-01", "2024-02", "2024-03", "2024-04 (partial)"]
    ticks = _svg_texts(trends, "trend-category")
    assert "2024-03" in ticks and not any(t.startswith("2024-04") for t in ticks)
    assert "Partial months are left out." in trends


def test_a_month_covered_to_its_last_day_is_not_partial(tmp_path: Path) -> None:
    store = _store(tmp_path / "s.duckdb", "2024-04-30 22:00")
    page = write_report(store, tmp_path / "out").read_text(encoding="utf-8")
    store.close()
    assert "partial" not in page.lower()
    assert _table(_section(page, "cohorts"), "cohort-users")[1][-1] == "25.0%"


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("2010-12-01 08:26", "2011-12-09 12:50", {"2011-12": "data to 2011-12-09"}),
        ("2024-01-05", "2024-06-30 23:00", {"2024-01": "data from 2024-01-05"}),
        ("2024-01-01", "2024-03-31", {}),
        ("2024-02-03", "2024-02-10", {"2024-02": "data from 2024-02-03 to 2024-02-10"}),
    ],
)
def test_partial_months_known_answers(first: str, last: str, expected: dict[str, str]) -> None:
    assert DataPeriod(pd.Timestamp(first), pd.Timestamp(last)).partial_months() == expected
