"""Each preset end to end: a raw export in, profiles, explained recommendations, an audience
and a report out, through the CLI alone with no preprocessing."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from preset_exports import (
    FAMILIES,
    write_ga4_events,
    write_shopify_orders,
    write_woocommerce_orders,
)
from typer.testing import CliRunner

from shopguide.cli.app import app

runner = CliRunner()
TITLES = {title for titles in FAMILIES.values() for title in titles}


def run(*args: str) -> dict:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def hashed(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


CASES: list[tuple[str, str, Callable[[Path], Path], str]] = [
    ("shopify-orders", "orders_export_1.csv", write_shopify_orders,
     hashed("  Customer0@Example.com ")),
    ("woocommerce-orders", "orders-2024.csv", write_woocommerce_orders,
     hashed("customer0@example.com")),
    ("ga4", "events_2024.jsonl", write_ga4_events, "0.1700000000"),
]  # fmt: skip


@pytest.mark.parametrize(("preset", "name", "write", "user"), CASES, ids=[c[0] for c in CASES])
def test_a_raw_export_goes_to_profiles_recommendations_audience_and_report(
    tmp_path, preset, name, write, user
):
    db = str(tmp_path / "shop.duckdb")
    export = write(tmp_path / name)

    load = run("ingest", "events", str(export), "--preset", preset, "--db", db)
    assert load["accepted"] > 300
    assert not any("must be" in reason for reason in load["top_reasons"])
    filled = {c["table"]: c for c in load["companions"]}
    assert filled["items"]["accepted"] == 24
    assert filled["users"]["accepted"] == 40

    profiles = run("profiles", "build", "--db", db)
    assert profiles["users"] == 40
    card = run("profile", user, "--db", db)  # the customer, under the id the preset derived
    assert card["basic"]["location"] == "Leeds, GB"
    assert card["behaviour"]["orders"] >= 3

    run("train", "item-knn", "--db", db)
    recs = run("recommend", user, "--explain", "-n", "3", "--db", db)
    assert len(recs["items"]) == 3
    assert all(item["title"] in TITLES for item in recs["items"])
    named = re.findall("|".join(map(re.escape, sorted(TITLES, key=len, reverse=True))),
                       " ".join(item["reason"] for item in recs["items"]))  # fmt: skip
    assert named, recs  # the explanation names items the user bought, by title

    audience = run("campaign", "audience", "tea-week", "--item", "TEA-01", "--item", "TEA-02",
                   "--size", "10", "--out", str(tmp_path / "audiences"), "--db", db)  # fmt: skip
    assert audience["size"] == 10
    assert (tmp_path / "audiences" / "tea-week.csv").read_text().count("\n") == 11

    report = run("report", "--out", str(tmp_path / "report"), "--db", db)
    html = Path(report["report"]).read_text()
    sections = (
        "Key figures",
        "RFM segments",
        "Cohort retention",
        "Repeat purchase",
        "Recommendations with explanations",
        "Campaign audience: tea-week",
    )
    for section in sections:
        assert section in html, section
    assert "{'" not in html and "Traceback" not in html


def test_reloading_an_export_with_its_preset_adds_nothing(tmp_path):
    db = str(tmp_path / "shop.duckdb")
    export = write_shopify_orders(tmp_path / "orders_export.csv")
    run("ingest", "events", str(export), "--preset", "shopify-orders", "--db", db)
    again = run("ingest", "events", str(export), "--preset", "shopify-orders", "--db", db)
    assert again["accepted"] == 0
    assert [c["accepted"] for c in again["companions"]] == [0, 0]
