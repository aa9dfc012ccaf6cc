"""The models page draws, for the evidence of the version ``compare`` published, each tuned
model's validation score per search point with the chosen point marked, and says "not tuned"
for a model nothing was searched for (real server, real headless chromium)."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

from browser_helpers import loaded, log_in, shot
from live_server import LiveServer, make_store

from shopguide.recommend.saved import RecommenderStore
from shopguide.store import open_store
from shopguide.workflows.auto_tune import KEPT_DEFAULTS
from shopguide.workflows.modelling import compare_store


def test_the_models_page_plots_each_models_parameter_search(tmp_path: Path, browser: Any) -> None:
    db = tmp_path / "shop.duckdb"
    make_store(db)
    with open_store(db) as store:
        comparison = compare_store(store, ["popular", "item-knn"], test_days=30)
    model_store = RecommenderStore.for_store(db)
    version = model_store.current_version(comparison.chosen)
    meta_file = Path(model_store.root) / comparison.chosen / str(version) / "meta.json"
    record = json.loads(meta_file.read_text())["evaluation"]["tuning"]["item-knn"]
    expected = [
        ({**p["params"], **({"binary": p["binary"]} if "binary" in p else {})}, p["score"])
        for p in record["search"]
    ]
    with LiveServer(db, model=None, train_if_missing=False) as server:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        try:
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            log_in(page, server.url)
            page.click("nav a[data-page='models']")
            loaded(page, "models")
            box = f"[data-testid='evidence'][data-model='{comparison.chosen}']"
            chart = f"{box} [data-testid='tuning'][data-model='item-knn']"
            page.wait_for_selector(chart)
            bars = page.locator(f"{chart} rect[data-label]").all()
            shown = [
                (json.loads(b.get_attribute("data-params") or "null"),
                 float(b.get_attribute("data-value") or "nan"))
                for b in bars
            ]  # fmt: skip
            # exactly the evidence's points, in its order, with its scores
            assert [p for p, _ in shown] == [p for p, _ in expected]
            assert all(math.isclose(s, e) for (_, s), (_, e) in zip(shown, expected, strict=True))
            # one point marked chosen, with the chosen parameters: the best score, unless the
            # search kept the defaults (the best was ahead only by noise), which the caption says
            marked = page.locator(f"{chart} rect[data-chosen]")
            assert marked.count() == 1
            chosen = json.loads(marked.get_attribute("data-params") or "null")
            assert all(record["chosen_params"][k] == v for k, v in chosen.items())
            score = float(marked.get_attribute("data-value") or "nan")
            assert math.isclose(score, record["validation_score"])
            caption = page.locator(f"{chart} [data-testid='tuning-caption']").inner_text()
            kept = [n for n in record["notes"] if n.startswith(KEPT_DEFAULTS)]
            if kept:
                assert score < max(s for _, s in expected)
                assert "The defaults were kept: the best point (" in caption, caption
            else:
                assert math.isclose(score, max(s for _, s in expected))
                assert "defaults were kept" not in caption
            # a round axis that reaches past the best score
            ticks = [float(t.get_attribute("data-tick") or "nan")
                     for t in page.locator(f"{chart} text[data-tick]").all()]  # fmt: skip
            steps = {round(b - a, 12) for a, b in itertools.pairwise(ticks)}
            assert ticks[0] == 0 and len(steps) == 1 and ticks[-1] >= score
            step = steps.pop()
            mantissa = step / 10 ** math.floor(math.log10(step))
            assert any(math.isclose(mantissa, m) for m in (1, 2, 2.5, 5)), ticks
            caption = page.inner_text(f"{chart} [data-testid='tuning-caption']")
            window = record["validation"]
            assert (
                f"from {window['validation_from'][:10]} to {window['validation_until'][:10]}"
                in caption
            )
            assert "never the test window" in caption
            # popularity has no parameters to search
            untuned = page.inner_text(f"{box} [data-testid='untuned'][data-model='popular']")
            assert untuned == "popular: not tuned (defaults)"
            page.locator(chart).scroll_into_view_if_needed()
            shot(page, "models-tuning")
            assert not errors, errors
        finally:
            context.close()
