"""The HTML report opens in a real headless browser (Debian chromium) without errors, shows
every chart, and the numbers on the page equal the analytics tables.

Needs ``apt-get install -y chromium`` (at /usr/bin/chromium) and ``pip install playwright``
(no ``playwright install``: the system chromium is used). A screenshot of the page is saved as
``test-artifacts/report.png``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from shopguide import analytics as A
from shopguide.data.datasets.synthetic import generate
from shopguide.data.ingest import ingest_frame
from shopguide.report import kpi_items, write_report
from shopguide.store import open_store
from shopguide.store.base import Store

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHARTS = [
    "rfm-segments",
    "cohort-users",
    "cohort-revenue",
    "funnel",
    "funnel-category",
    "repeat-gaps",
    "trend-category",
    "trend-brand",
]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Path]]:
    data = generate(n_users=300, n_items=120, n_events=20_000, seed=3)
    folder = Path(tmp_path_factory.mktemp("report"))
    store = open_store(folder / "shop.duckdb")
    for table in ("items", "users", "events"):
        ingest_frame(store, table, getattr(data, table), source=f"synthetic-{table}")
    path = write_report(store, folder / "out")
    yield store, path
    store.close()


def _table(page: object, name: str) -> pd.DataFrame:
    """The text of an HTML table on the page, as strings."""
    rows = page.eval_on_selector(  # type: ignore[attr-defined]
        f'table[data-table="{name}"]',
        """t => ({head: [...t.querySelectorAll('thead th')].map(c => c.innerText.trim()),
                 rows: [...t.querySelectorAll('tbody tr')].map(
                     r => [...r.querySelectorAll('td')].map(c => c.innerText.trim()))})""",
    )
    return pd.DataFrame(rows["rows"], columns=rows["head"])


def test_report_in_headless_chromium(shop: tuple[Store, Path], browser: Any) -> None:
    store, path = shop
    problems: list[str] = []
    outside: list[str] = []
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.on(
            "console",
            lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning")
            else None,
        )  # fmt: skip
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on(
            "request",
            lambda r: None if r.url.startswith(("file:", "data:")) else outside.append(r.url),
        )
        page.goto(path.as_uri())
        page.wait_for_load_state("load")

        assert problems == []
        assert outside == []  # nothing fetched from outside the file
        # every chart is on the page, drawn (an SVG with a real size)
        for name in CHARTS:
            box = page.locator(f'figure[data-chart="{name}"] svg').bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 50, name

        # KPI tiles show exactly the analytics figures
        for key, _label, value in kpi_items(store):
            assert page.locator(f'[data-kpi="{key}"]').inner_text().strip() == value, key
        k = A.kpis(store)
        assert page.locator('[data-kpi="orders"]').inner_text() == f"{k['orders']:,}"
        assert page.locator('[data-kpi="revenue"]').inner_text() == f"{k['revenue']:,.2f}"

        # the segment table equals segment_summary
        shown = _table(page, "segments")
        summary = A.segment_summary(store)
        assert shown["segment"].tolist() == summary["segment"].tolist()
        assert shown["users"].tolist() == [f"{u:,}" for u in summary["users"]]
        assert shown["revenue_share"].tolist() == [
            f"{100 * s:.1f}%" for s in summary["revenue_share"]
        ]
        assert sum(int(u.replace(",", "")) for u in shown["users"]) == k["buyers"]

        # funnel numbers equal the funnel table
        funnel = A.funnel(store).iloc[0]
        overall = _table(page, "funnel-overall").iloc[0]
        for stage in ("viewed", "carted", "purchased"):
            assert overall[stage] == f"{int(funnel[stage]):,}", stage

        # cohort sizes and month-0 retention
        cohorts = A.cohort_retention(store)
        first = cohorts[cohorts["months_since"] == 0]
        table = _table(page, "cohort-users")
        assert table["size"].tolist() == [f"{n:,}" for n in first["users"]]
        assert set(table["0"]) == {"100.0%"}

        # repeat purchase: the gap histogram counts
        gaps = _table(page, "gaps")
        assert gaps["gaps"].tolist() == [f"{g:,}" for g in A.gap_distribution(store)["gaps"]]

        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
    finally:
        page.close()
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000
