"""Retention on the bundled Online Retail tells one story: the BTYD fit there sees no drop-out,
and no buyer is shown "P(alive) 100 %" beside a high churn risk.

The store is built the way ``shopguide demo`` builds it (load the bundled data, train the
churn model, score every buyer); it takes some seconds, so it is shared by the module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from shopguide.cli.app import app
from shopguide.data.datasets.online_retail import load_online_retail
from shopguide.report.model_sections import churn_section
from shopguide.retention.churn import FEATURES
from shopguide.store import open_store
from shopguide.workflows.retention import predictions, train_churn_store
from shopguide.workflows.serving.predictions import churn_predictions

E_NOTATION = re.compile(r"\d[eE][+-]?\d")


@pytest.fixture(scope="module")
def retail(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any]]]:
    db = tmp_path_factory.mktemp("retail") / "shopguide.duckdb"
    with open_store(db) as store:
        load_online_retail(store)
        report = train_churn_store(store)
    yield db, report


def _contradictions(frame: pd.DataFrame) -> pd.DataFrame:
    p_alive = pd.to_numeric(frame["p_alive"], errors="coerce")
    return frame[(p_alive >= 0.99) & (frame["churn_probability"] >= 0.9)]


def test_the_degenerate_fit_is_detected_and_reported(retail: tuple[Path, dict[str, Any]]) -> None:
    _, report = retail
    fit = report["purchase_model"]
    assert fit["degenerate"] is True
    assert fit["model"] in {"BG/NBD", "Pareto/NBD"}
    assert fit["dropout_share"] < 0.01
    assert any("finds no drop-out" in reason for reason in fit["reasons"])
    assert set(fit["candidates"]) == {"BG/NBD", "Pareto/NBD"}  # chosen on held-out weeks


def test_no_buyer_is_shown_alive_beside_a_high_churn_risk(
    retail: tuple[Path, dict[str, Any]],
) -> None:
    db, _ = retail
    with open_store(db) as store:
        stored = predictions(store)
        shown = churn_predictions(store)  # what the API and the dashboard show
    assert len(stored) == 4338
    assert (stored["churn_probability"] >= 0.9).sum() > 0
    assert _contradictions(stored).empty
    assert _contradictions(shown.frame).empty
    row = shown.row("17850")  # the buyer of the issue: 97 % churn risk
    assert row is not None and row["churn_probability"] >= 0.9
    assert row["p_alive"] is None
    assert row["value_note"].startswith("P(alive) not informative")
    # and the value agrees with the risk: far below the same buyer's value if they stayed
    assert row["expected_purchases_90d"] < 0.2
    # the CLI shows it as not informative, with the reason once under the table
    result = CliRunner().invoke(app, ["churn", "list", "--limit", "10", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "not informative*" in result.output and "finds no drop-out" in result.output
    listed = CliRunner().invoke(app, ["churn", "list", "--json", "--db", str(db)])
    for record in json.loads(listed.output):
        assert not (
            record["p_alive"] is not None
            and record["p_alive"] >= 0.99
            and record["churn_probability"] >= 0.9
        )
    # the report says why
    section = churn_section(stored, None)
    assert "P(alive) not informative" in section.html


def test_churn_reasons_read_like_words(retail: tuple[Path, dict[str, Any]]) -> None:
    db, _ = retail
    with open_store(db) as store:
        reasons = predictions(store)["churn_reasons"]
    assert not reasons.str.contains(E_NOTATION).any()
    for name in FEATURES:
        assert not reasons.str.contains(name, regex=False).any(), name
    # the top spender of the issue ("mean spend per purchase day 7.72e+04 (typical 297, +0.33)")
    assert reasons.str.contains("spends 77k per purchase day, 260× the typical buyer's 297").any()
