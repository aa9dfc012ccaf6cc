"""The main job: load the bundled Online Retail into a fresh store and run every capability.

Each capability is one step; a step gets the open store, the output folder and what earlier
steps returned, and returns a small summary (JSON-friendly) that the CLI prints.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shopguide.data.datasets.online_retail import load_online_retail
from shopguide.data.ingest import ProgressCallback
from shopguide.store import open_store
from shopguide.store.base import Store
from shopguide.workflows.ingest import store_stats

StepResult = dict[str, Any]


@dataclass
class DemoContext:
    """What the demo's steps share."""

    store: Store
    out_dir: Path
    results: dict[str, StepResult] = field(default_factory=dict)
    progress: ProgressCallback | None = None


Step = Callable[[DemoContext], StepResult]


def _load(ctx: DemoContext) -> StepResult:
    reports = load_online_retail(ctx.store, progress=ctx.progress)
    return {
        name: {k: r.to_dict()[k] for k in ("rows_read", "accepted", "rejected", "duplicates")}
        for name, r in reports.items()
    }


def _stats(ctx: DemoContext) -> StepResult:
    stats = store_stats(ctx.store)
    return {k: stats[k] for k in ("rows", "first_event", "last_event", "events_by_type")}


#: The demo's steps in order. Later capabilities append theirs.
STEPS: list[tuple[str, Step]] = [("load", _load), ("stats", _stats)]


def run_demo(
    out_dir: str | Path = "demo-output",
    *,
    progress: ProgressCallback | None = None,
    on_step: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run every step on a fresh store in ``out_dir`` and return the summaries and paths."""
    out = Path(out_dir).resolve()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    db = out / "shopguide.duckdb"
    summary: dict[str, Any] = {"out_dir": str(out), "db": str(db), "steps": {}}
    with open_store(db) as store:
        ctx = DemoContext(store, out, progress=progress)
        for name, step in STEPS:
            if on_step is not None:
                on_step(name)
            started = time.perf_counter()
            ctx.results[name] = step(ctx)
            summary["steps"][name] = {
                "seconds": round(time.perf_counter() - started, 2),
                **ctx.results[name],
            }
    summary["files"] = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    return summary
