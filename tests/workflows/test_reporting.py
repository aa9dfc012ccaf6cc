"""``shopguide report`` on a shop's own data holds every section whose inputs the store has,
and nothing a person reads is a Python repr (the report, the demo summary, CLI output)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from shopguide.cli.app import app
from shopguide.data.datasets.synthetic import generate
from shopguide.data.idmap import IdMap
from shopguide.data.ingest import ingest_frame
from shopguide.data.matrix import build_interactions
from shopguide.recommend.saved import RecommenderStore
from shopguide.store import open_store
from shopguide.targeting.campaign import Campaign
from shopguide.workflows import demo
from shopguide.workflows.interaction_events import interaction_events
from shopguide.workflows.serving.answers import recommend_for_user
from shopguide.workflows.serving.snapshot import build_snapshot

runner = CliRunner()
#: What a Python repr leaves in text; "None" and "nan" as whole words.
REPR_MARKS = re.compile(r"\{'|\['|\(\)|\bNone\b|\bnan\b|Timestamp\(")


def cli(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


class _Page(HTMLParser):
    """The visible text of a page, its section headings and its tables by ``data-table``."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text: list[str] = []
        self.headings: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self._skip = 0
        self._h2 = False
        self._table: str | None = None
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self._skip += 1
        elif tag == "h2":
            self._h2 = True
            self.headings.append("")
        elif tag == "table":
            self._table = dict(attrs).get("data-table") or ""
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip -= 1
        elif tag == "h2":
            self._h2 = False
        elif tag == "table":
            self._table = None
        elif tag in ("td", "th") and self._table is not None and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text.append(data)
        if self._h2:
            self.headings[-1] += data
        if self._cell is not None:
            self._cell.append(data)

    def frame(self, name: str) -> pd.DataFrame:
        head, *rows = self.tables[name]
        return pd.DataFrame(rows, columns=head)


def _repr_leaks(text: str) -> list[str]:
    return [text[max(0, m.start() - 60) : m.end() + 20] for m in REPR_MARKS.finditer(text)]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A small store of synthetic (not demo) data: items, users and events."""
    folder = Path(tmp_path_factory.mktemp("own"))
    data = generate(n_users=200, n_items=80, n_events=8_000, seed=1)
    with open_store(folder / "shop.duckdb") as store:
        for table in ("items", "users", "events"):
            ingest_frame(store, table, getattr(data, table), source=table)
    return folder / "shop.duckdb"


def test_bare_store_report_lists_what_is_missing_and_how_to_add_it(shop: Path) -> None:
    bare = shop.parent / "bare"
    bare.mkdir()
    with open_store(shop) as source, open_store(bare / "b.duckdb") as store:
        store.append("events", source.query_df("SELECT * FROM events"))
    cli("report", "--out", str(bare / "out"), "--db", str(bare / "b.duckdb"))
    page = _Page((bare / "out" / "report.html").read_text(encoding="utf-8"))
    assert "Recommendations with explanations" not in page.headings
    assert page.headings[-1] == "Not in this report"
    missing = dict(page.frame("missing").to_numpy().tolist())
    assert missing["Recommendations with explanations"].startswith("shopguide compare")
    assert missing["Retention: churn and lifetime value"] == "shopguide churn train"
    assert missing["Campaign audiences"].startswith("shopguide campaign audience")


def test_report_on_own_data_has_recommendation_churn_and_campaign_sections(shop: Path) -> None:
    db, out = str(shop), shop.parent / "report"
    cli("profiles", "build", "--db", db)
    cli("train", "item-knn", "--db", db)
    cli("churn", "train", "--db", db)
    audience_args = ("campaign", "audience", "spring", "--category", "Electronics", "--size",
                     "20", "--exclude-bought-days", "10", "--out", str(shop.parent / "aud"),
                     "--db", db)  # fmt: skip
    printed = cli(*audience_args)
    assert not _repr_leaks(printed), printed
    assert "excluded: 0 opted out" in printed
    cli(*audience_args)  # the same campaign on the same data again: replaced, not added
    cli("report", "--out", str(out), "--db", db)
    page = _Page((out / "report.html").read_text(encoding="utf-8"))

    for heading in ("Key figures", "RFM segments", "Cohort retention",
                    "Recommendations with explanations", "Retention: churn and lifetime value",
                    "Campaign audience: spring", "Not in this report"):  # fmt: skip
        assert heading in page.headings, heading
    missing = page.frame("missing")["section"].tolist()
    assert "Recommendations with explanations" not in missing
    assert "Campaign audiences" not in missing
    assert "Retention: churn and lifetime value" not in missing

    with open_store(shop) as store:
        # recommendations: the published model's items for the biggest spenders
        top = store.query_df(
            "SELECT user_id FROM profiles WHERE as_of = (SELECT max(as_of) FROM profiles) "
            "ORDER BY total_spend DESC, user_id LIMIT 3"
        )["user_id"].tolist()
        # what the published model itself ranks first among the items each user has not
        # touched and that are in stock, from the user's own events (not the serving path)
        loaded = RecommenderStore.for_store(shop).load("item-knn")
        weights = loaded.meta["weights"]
        out_of_stock = store.query_df("SELECT item_id FROM items WHERE NOT in_stock")["item_id"]
        blocked = loaded.items.to_internal(out_of_stock.tolist(), unknown="drop")
        snapshot = build_snapshot(store, RecommenderStore.for_store(shop), "item-knn")
        for user in top:
            mine = build_interactions(
                interaction_events(store, [user]), weights,
                user_map=IdMap([user], kind="user"), item_map=loaded.items,
            )  # fmt: skip
            ids, _ = loaded.model.recommend(
                loaded.users.to_internal([user]), mine.matrix, n=5,
                items_blocked=blocked if len(blocked) else None, full_matrix=False,
            )  # fmt: skip
            expected = loaded.items.to_external(ids[0][ids[0] >= 0]).tolist()
            shown = page.frame(f"recs-{user}")
            assert shown["item_id"].tolist() == expected, user
            items, _ = recommend_for_user(snapshot, user, 5, explanations=True)
            assert shown["reason"].tolist() == [i.reason or "" for i in items]
            assert all(shown["reason"])  # every item says why
        # churn: the riskiest stored predictions, in order
        predictions = store.query_df(
            "SELECT user_id, churn_probability FROM user_predictions "
            "ORDER BY churn_probability DESC NULLS LAST, user_id LIMIT 10"
        )
        assert page.frame("churn-top")["user_id"].tolist() == predictions["user_id"].tolist()
        # the campaign: stored once, and the page shows its members and its audit record
        stored = store.query_df("SELECT * FROM audiences ORDER BY rank")
        audits = store.query_df("SELECT * FROM audience_audits")
    assert stored["audience_id"].nunique() == 1 and len(stored) == 20 and len(audits) == 1
    record = json.loads(audits["record"].iloc[0])
    shown = page.frame("audience-1")
    assert shown["user_id"].tolist() == stored["user_id"].head(15).tolist()
    text = " ".join(" ".join(page.text).split())
    assert (
        f"{record['size']} of {record['eligible']} eligible users" in text
        and "Settings: promotes categories Electronics; no discount; at most 20 users" in text
    )
    assert not _repr_leaks(text)


def test_demo_report_and_summary_read_as_words(shop: Path) -> None:
    """The demo's steps (all but loading Online Retail) on the small store."""
    folder = shop.parent / "demo"
    folder.mkdir()
    with open_store(folder / "shop.duckdb") as store:
        with open_store(shop) as source:
            for table in ("items", "users", "events"):
                store.append(table, source.query_df(f"SELECT * FROM {table}"))
        ctx = demo.DemoContext(store, folder, campaign=Campaign(
            "spring", categories=("Electronics",), discount=0.1, audience_size=20,
            exclude_bought_days=10, opted_out=("u000001",),
        ))  # fmt: skip
        steps: dict[str, Any] = {}
        for name, step in demo.STEPS:
            if name != "load":
                steps[name] = {"seconds": 0.1, **step(ctx)}
    lines = demo.summary_lines({"steps": steps})
    assert not _repr_leaks("\n".join(lines)), lines
    assert any(line.startswith("  excluded: ") and "opted out" in line for line in lines)
    page = _Page((folder / "report.html").read_text(encoding="utf-8"))
    assert "Campaign targeting: audience" in page.headings
    text = " ".join(" ".join(page.text).split())
    assert "Excluded: " in text and "1 opted-out users excluded" in text
    assert not _repr_leaks(text), _repr_leaks(text)


def test_report_shows_the_current_model_and_its_comparison(shop: Path) -> None:
    folder = shop.parent / "compared"
    folder.mkdir()
    db = folder / "c.duckdb"
    with open_store(shop) as source, open_store(db) as store:
        for table in ("items", "users", "events"):
            store.append(table, source.query_df(f"SELECT * FROM {table}"))
    cli("train", "popular", "--db", str(db))
    evidence = json.loads(
        cli("compare", "--model", "item-knn", "--model", "ease", "--out", str(folder / "cmp"),
            "--db", str(db), "--json")
    )  # fmt: skip
    # published later but not made current: the report still shows the compared model
    cli("train", "popular", "--no-current", "--db", str(db))
    cli("report", "--out", str(folder / "out"), "--db", str(db))
    page = _Page((folder / "out" / "report.html").read_text(encoding="utf-8"))
    assert "Recommendation: model comparison" in page.headings
    shown = page.frame("comparison").set_index("model")
    for row in evidence["table"]:
        assert shown.loc[row["model"], "ndcg@10"] == f"{row['ndcg@10']:.4f}"
    # the examples come from the compare winner, the store's current model
    text = " ".join(" ".join(page.text).split())
    assert f"Model {evidence['chosen_model']} v0001; the 3 biggest spenders." in text
    assert "Recommendation: model comparison" not in page.frame("missing")["section"].tolist()


def test_an_out_path_ending_in_html_is_the_report_itself(shop: Path) -> None:
    target = shop.parent / "named" / "June report.html"
    written = json.loads(cli("report", "--out", str(target), "--db", str(shop), "--json"))
    assert Path(written["report"]) == target and target.is_file()
    assert not (target / "report.html").exists()
    assert "<html" in target.read_text(encoding="utf-8")[:500].lower()
    folder = shop.parent / "named"  # an existing folder named like a file is refused
    clash = folder / "clash.html"
    clash.mkdir()
    result = runner.invoke(app, ["report", "--out", str(clash), "--db", str(shop)])
    assert result.exit_code == 2 and "is a folder" in result.output
