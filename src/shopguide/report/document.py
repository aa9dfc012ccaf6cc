"""A self-contained HTML report made of sections; later parts of ShopGuide append their own.

A :class:`Section` is a title, some HTML and a list of :class:`Figure` (inline SVG). A
:class:`Report` renders its sections into one HTML file with inline CSS and no scripts, fonts
or links to anything outside the file, so it opens anywhere without a network::

    report = Report("My shop")
    report.add(Section("Churn", html=table_html(frame), figures=[figure_svg(fig, "churn")]))
    report.write(Path("out/report.html"))
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class Figure:
    """One chart: ``svg`` markup (an ``<svg>`` element), an id-like ``name`` and a caption."""

    name: str
    svg: str
    caption: str = ""


@dataclass
class Section:
    """A part of the report: a title, body HTML (trusted) and figures shown above it."""

    title: str
    html: str = ""
    figures: list[Figure] = field(default_factory=list)
    anchor: str | None = None

    @property
    def id(self) -> str:
        """The HTML id of the section (``anchor`` or a slug of the title)."""
        return self.anchor or re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
       color: #1f2933; background: #f5f7fa; }
header { background: #243b53; color: #fff; padding: 1.2rem 2rem; }
header h1 { margin: 0 0 .3rem 0; font-size: 1.6rem; }
header p { margin: 0; opacity: .8; }
nav { padding: .6rem 2rem; background: #e4e7eb; }
nav a { margin-right: 1rem; color: #243b53; text-decoration: none; }
main { padding: 1rem 2rem 3rem 2rem; max-width: 1200px; }
section { background: #fff; border-radius: 8px; padding: 1rem 1.5rem; margin: 1rem 0;
          box-shadow: 0 1px 3px rgba(0,0,0,.08); }
h2 { margin-top: .2rem; color: #243b53; }
figure { margin: .5rem 0 1rem 0; }
figure svg { max-width: 100%; height: auto; }
figcaption { color: #52606d; font-size: .9rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem 0; font-size: .9rem; }
th, td { border-bottom: 1px solid #e4e7eb; padding: .3rem .7rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f0f4f8; }
.kpis { display: flex; flex-wrap: wrap; gap: .8rem; }
.kpi { background: #f0f4f8; border-radius: 6px; padding: .6rem 1rem; min-width: 9rem; }
.kpi .label { font-size: .8rem; color: #52606d; }
.kpi .value { font-size: 1.4rem; font-weight: 600; }
.note { color: #52606d; font-style: italic; }
"""


class Report:
    """An ordered list of sections rendered to one self-contained HTML page."""

    def __init__(self, title: str, subtitle: str = "") -> None:
        self.title = title
        self.subtitle = subtitle
        self.sections: list[Section] = []

    def add(self, *sections: Section) -> Report:
        """Append sections (returns ``self`` so calls chain)."""
        self.sections.extend(sections)
        return self

    def render(self) -> str:
        """The whole page as a string."""
        nav = " ".join(f'<a href="#{s.id}">{html.escape(s.title)}</a>' for s in self.sections)
        body = "\n".join(_render_section(s) for s in self.sections)
        generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        subtitle = html.escape(self.subtitle + (" · " if self.subtitle else "") + generated)
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            '<link rel="icon" href="data:,">\n'
            f"<title>{html.escape(self.title)}</title>\n<style>{_CSS}</style>\n</head>\n"
            f"<body>\n<header><h1>{html.escape(self.title)}</h1><p>{subtitle}</p></header>\n"
            f"<nav>{nav}</nav>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
        )

    def write(self, path: str | Path) -> Path:
        """Write the page (folders created as needed) and return its path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.render(), encoding="utf-8")
        return target


def _render_section(section: Section) -> str:
    figures = "\n".join(
        f'<figure class="chart" data-chart="{html.escape(f.name)}">{f.svg}'
        f"<figcaption>{html.escape(f.caption)}</figcaption></figure>"
        for f in section.figures
    )
    return (
        f'<section id="{section.id}">\n<h2>{html.escape(section.title)}</h2>\n'
        f"{figures}\n{section.html}\n</section>"
    )


def figure_svg(fig: Any, name: str, caption: str = "") -> Figure:
    """A matplotlib figure as an inline-SVG :class:`Figure` (the figure is closed)."""
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    svg = text[text.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    return Figure(name=name, svg=svg, caption=caption)


def table_html(
    frame: pd.DataFrame,
    *,
    name: str,
    formats: dict[str, Any] | None = None,
    index: bool = False,
) -> str:
    """An HTML table with ``data-table=name``; ``formats`` maps columns to value formatters."""
    formats = formats or {}
    data = frame.reset_index() if index else frame
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in data.columns)
    rows = []
    for record in data.itertuples(index=False):
        cells = []
        for column, value in zip(data.columns, record, strict=True):
            text = formats.get(column, format_value)(value)
            cells.append(f'<td data-col="{html.escape(str(column))}">{html.escape(text)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<table data-table="{html.escape(name)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def kpi_html(items: Sequence[tuple[str, str, str]]) -> str:
    """KPI tiles from ``(key, label, formatted value)``; each value has ``data-kpi=key``."""
    tiles = "".join(
        f'<div class="kpi"><div class="label">{html.escape(label)}</div>'
        f'<div class="value" data-kpi="{html.escape(key)}">{html.escape(value)}</div></div>'
        for key, label, value in items
    )
    return f'<div class="kpis">{tiles}</div>'


def note_html(text: str) -> str:
    """A short explanatory paragraph."""
    return f'<p class="note">{html.escape(text)}</p>'


def format_value(value: Any) -> str:
    """Default cell text: integers with separators, floats with 2 decimals, blanks for missing."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or (hasattr(value, "dtype") and "int" in str(value.dtype)):
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, pd.Timestamp | datetime):
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    return str(value)


def fmt_money(value: Any) -> str:
    """Money with separators and 2 decimals."""
    return "" if value is None or pd.isna(value) else f"{float(value):,.2f}"


def fmt_share(value: Any) -> str:
    """A share as a percentage with one decimal."""
    return "" if value is None or pd.isna(value) else f"{100 * float(value):.1f}%"


def fmt_count(value: Any) -> str:
    """A count with separators."""
    return "" if value is None or pd.isna(value) else f"{int(value):,}"


def fmt_float(value: Any) -> str:
    """A plain number with one decimal."""
    return "" if value is None or pd.isna(value) else f"{float(value):,.1f}"


def join_html(parts: Iterable[str]) -> str:
    """Concatenate HTML fragments."""
    return "\n".join(parts)
