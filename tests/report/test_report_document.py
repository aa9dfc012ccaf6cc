"""The report file: self-contained, sections appendable, graceful on data without funnels."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from shopguide.report import Report, Section, figure_svg, table_html, write_report
from shopguide.store import open_store


def _store_without_views(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = open_store(tmp_path / "plain.duckdb")
    store.append(
        "events",
        pd.DataFrame(
            {
                "event_key": ["a", "b", "c"],
                "user_id": ["u1", "u1", "u2"],
                "item_id": ["x", "y", "x"],
                "event_type": ["purchase", "purchase", "purchase"],
                "timestamp": pd.to_datetime(["2024-01-02", "2024-02-03", "2024-01-05"]),
                "quantity": [1.0, 2.0, 1.0],
                "price": [3.0, 4.0, 3.0],
                "order_id": ["o1", "o2", "o3"],
                "load_id": [1, 1, 1],
            }
        ),
    )
    return store


def test_report_is_self_contained_and_extensible(tmp_path: Path) -> None:
    store = _store_without_views(tmp_path)
    fig, ax = plt.subplots()
    ax.plot([1, 2], [3, 4])
    extra = Section(
        "Recommendation evaluation",
        html=table_html(pd.DataFrame({"model": ["ease"], "ndcg@10": [0.25]}), name="eval"),
        figures=[figure_svg(fig, "eval-chart", "a later section")],
    )
    path = write_report(store, tmp_path / "out", extra_sections=[extra])
    text = path.read_text(encoding="utf-8")
    assert path.name == "report.html"
    # nothing is loaded from elsewhere: no scripts, no remote src/href/url()/@import
    assert "<script" not in text
    assert not re.search(r"""(src|href)\s*=\s*["'](https?:)?//""", text)
    assert "url(http" not in text and "@import" not in text
    # the appended section comes last, with its chart and table
    assert text.index('id="recommendation-evaluation"') > text.index('id="trends"')
    assert 'data-chart="eval-chart"' in text and 'data-table="eval"' in text
    # data without views or carts says so instead of drawing an empty funnel
    assert "no view or cart events" in text
    assert 'data-chart="funnel"' not in text
    # items have no brands here: no brand chart, a note instead
    assert 'data-chart="trend-brand"' not in text and "no brands" in text
    store.close()


def test_report_object_renders_sections_in_order(tmp_path: Path) -> None:
    report = Report("T").add(Section("First", html="<p>1</p>"), Section("Second & more"))
    html = report.render()
    assert html.index('id="first"') < html.index('id="second-more"')
    assert "Second &amp; more" in html
    assert report.write(tmp_path / "a" / "r.html").exists()


def test_missing_metrics_are_blank_not_none_or_nan() -> None:
    from shopguide.report.model_sections import comparison_section

    table = pd.DataFrame(
        {"ndcg@10": [0.25, 0.125], "coverage@10": [None, float("nan")]}, index=["ease", "popular"]
    )
    section = comparison_section(table, "ndcg@10", "a split", "ease", ["ndcg@10", "coverage@10"])
    cells = re.findall(r'<td data-col="coverage@10">(.*?)</td>', section.html)
    assert cells == ["", ""]
    assert re.findall(r'<td data-col="ndcg@10">(.*?)</td>', section.html) == ["0.2500", "0.1250"]
