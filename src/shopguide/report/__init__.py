"""The self-contained HTML report (KPIs, RFM segments, cohorts, funnel, repeat buying, trends).

:func:`write_report` writes one HTML file with every chart inline (SVG) and no network needs.
Other parts of ShopGuide add sections through ``extra_sections`` (or by building a
:class:`Report` from :func:`analytics_sections` and their own :class:`Section` objects).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from shopguide.report.document import Figure, Report, Section, figure_svg, kpi_html, table_html
from shopguide.report.sections import AsOf, analytics_sections, kpi_items
from shopguide.store.base import Store

REPORT_FILE = "report.html"


def write_report(
    store: Store,
    out_dir: str | Path,
    *,
    as_of: AsOf = None,
    title: str = "ShopGuide report",
    extra_sections: Iterable[Section] = (),
    filename: str = REPORT_FILE,
) -> Path:
    """Write the report to ``out_dir/filename`` and return its path.

    Parameters
    ----------
    store:
        The store to analyse.
    out_dir:
        Folder for the file (created if needed).
    as_of:
        Use only events up to this time (default: all).
    extra_sections:
        Sections appended after the analytics ones (recommendation evaluation, campaigns...).
    """
    subtitle = f"data from {store.path.name}" if str(store.path) != ":memory:" else ""
    report = Report(title, subtitle)
    report.add(*analytics_sections(store, as_of), *extra_sections)
    return report.write(Path(out_dir) / filename)


__all__ = [
    "REPORT_FILE",
    "Figure",
    "Report",
    "Section",
    "analytics_sections",
    "figure_svg",
    "kpi_html",
    "kpi_items",
    "table_html",
    "write_report",
]
