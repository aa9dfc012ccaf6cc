"""Evaluate several models on the same split and keep the evidence for the winner.

:func:`compare_models` fits every model on the same training matrix, measures all of them on
the same test relevance, and returns a table sorted by the primary metric. :meth:`Comparison.save`
writes the table, a bar chart and ``evidence.json`` (table, exact split description, chosen
model and its parameters) into a folder — typically next to the published model, so the
choice can always be checked.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shopguide.data.matrix import DEFAULT_EVENT_WEIGHTS, Interactions
from shopguide.data.split import Split
from shopguide.evaluate.evaluator import (
    DEFAULT_RELEVANT_TYPES,
    EvaluationResult,
    RecommenderLike,
    build_test_relevance,
    category_codes,
    evaluate_recommender,
)
from shopguide.evaluate.tuning import ModelFactory, _jsonable, make_model, training_matrix

__all__ = ["EVIDENCE_VERSION", "Comparison", "compare_models", "markdown_table"]

#: Version of the ``evidence.json`` layout.
EVIDENCE_VERSION = 1

#: Columns shown by default in tables and charts.
DEFAULT_COLUMNS = ("ndcg", "recall", "precision", "map", "hit_rate", "mrr", "coverage")


def markdown_table(table: pd.DataFrame, digits: int = 4) -> str:
    """A GitHub-flavoured markdown table (no extra dependency)."""
    cols = [str(table.index.name or "")] + [str(c) for c in table.columns]

    def cell(v: Any) -> str:
        if isinstance(v, float | np.floating):
            return "" if math.isnan(v) else f"{v:.{digits}f}"
        return str(v)

    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for idx, row in table.iterrows():
        lines.append("| " + " | ".join([str(idx)] + [cell(v) for v in row.tolist()]) + " |")
    return "\n".join(lines)


@dataclass(frozen=True)
class Comparison:
    """The outcome of :func:`compare_models`.

    Attributes
    ----------
    table:
        One row per model (index: label), metric means, users, timings; best first.
    results:
        Full :class:`EvaluationResult` per model (per-user values included).
    primary:
        The metric the table is sorted by and the winner is chosen on (``"ndcg@10"``).
    best:
        Label of the winning model.
    split_description, split_report:
        Exactly how the split was made and what it dropped.
    """

    table: pd.DataFrame
    results: dict[str, EvaluationResult]
    primary: str
    best: str
    split_description: str
    split_report: dict[str, Any]

    def columns_at(self, n: int, names: Sequence[str] = DEFAULT_COLUMNS) -> pd.DataFrame:
        """The table restricted to ``<name>@<n>`` columns (those that exist)."""
        cols = [f"{m}@{n}" for m in names if f"{m}@{n}" in self.table.columns]
        return self.table[cols]

    def to_markdown(self, n: int = 10, names: Sequence[str] = DEFAULT_COLUMNS) -> str:
        """The table at cut-off ``n`` as markdown."""
        return markdown_table(self.columns_at(n, names))

    def evidence(self) -> dict[str, Any]:
        """The JSON-ready evidence record."""
        best = self.results[self.best]
        return {
            "evidence_version": EVIDENCE_VERSION,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "primary_metric": self.primary,
            "chosen_model": self.best,
            "chosen_params": _jsonable(best.params),
            "chosen_score": best.metrics.get(self.primary),
            "split": {"description": self.split_description, "report": self.split_report},
            "test_counts": best.counts,
            "table": _jsonable(self.table.reset_index().to_dict(orient="records")),
        }

    def save(
        self, out_dir: str | Path, *, chart: bool = True, n: int | None = None
    ) -> dict[str, Path]:
        """Write ``evidence.json``, ``comparison.csv``, ``comparison.md`` and (``chart``) a bar
        chart ``comparison.png`` into ``out_dir``; returns the paths."""
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {
            "evidence": folder / "evidence.json",
            "csv": folder / "comparison.csv",
            "markdown": folder / "comparison.md",
        }
        paths["evidence"].write_text(json.dumps(self.evidence(), indent=2))
        self.table.to_csv(paths["csv"])
        cut = n if n is not None else int(self.primary.split("@")[1])
        paths["markdown"].write_text(self.to_markdown(cut) + "\n")
        if chart:
            paths["chart"] = self.bar_chart(folder / "comparison.png", n=cut)
        return paths

    def bar_chart(
        self, path: str | Path, *, n: int = 10, names: Sequence[str] = ("ndcg", "recall", "map")
    ) -> Path:
        """Grouped bar chart of a few metrics at ``n`` for every model (PNG, Agg backend)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        data = self.columns_at(n, names)
        fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(data) + 2), 4))
        width = 0.8 / max(1, data.shape[1])
        x = np.arange(len(data))
        for j, col in enumerate(data.columns):
            ax.bar(x + j * width, data[col].to_numpy(), width, label=col)
        ax.set_xticks(x + width * (data.shape[1] - 1) / 2)
        ax.set_xticklabels([str(i) for i in data.index], rotation=30, ha="right")
        ax.set_ylabel("mean over test users")
        ax.set_title(f"Model comparison (chosen: {self.best}, by {self.primary})")
        ax.legend(fontsize="small")
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        out = Path(path)
        fig.savefig(out, dpi=110)
        plt.close(fig)
        return out


def compare_models(
    models: Mapping[str, RecommenderLike | ModelFactory] | Sequence[str],
    split: Split | None = None,
    *,
    train: Interactions | None = None,
    test_events: pd.DataFrame | None = None,
    n: int | Sequence[int] = 10,
    primary: str = "ndcg@10",
    weights: Mapping[str, float] = DEFAULT_EVENT_WEIGHTS,
    build_kwargs: Mapping[str, Any] | None = None,
    binary: bool = False,
    relevant_event_types: Sequence[str] | None = DEFAULT_RELEVANT_TYPES,
    filter_already_liked: bool = True,
    item_categories: Mapping[str, Any] | pd.Series | None = None,
    split_description: str | None = None,
    split_report: Mapping[str, Any] | None = None,
    fit: bool = True,
    out_dir: str | Path | None = None,
    progress: Any = None,
) -> Comparison:
    """Evaluate every model on the same split.

    Parameters
    ----------
    models:
        Label -> model object (fitted here), registry name, or factory; or a list of registry
        names (each with default parameters).
    split:
        The split; its training events are turned into the matrix with ``weights``,
        ``build_kwargs`` and ``binary`` (see :func:`~shopguide.evaluate.tuning.training_matrix`).
        Alternatively give ``train`` (interactions) and ``test_events``.
    n:
        Cut-off(s); ``primary`` must be one of the computed columns.
    fit:
        Fit every model first (default). ``False`` evaluates model objects as they are, for
        example the same fitted models under another filtering rule.
    out_dir:
        If given, :meth:`Comparison.save` is called with it.
    progress:
        Optional ``callable(label)`` invoked before each model.
    """
    if split is not None:
        train = training_matrix(split.train, weights, build_kwargs, binary=binary)
        test_events = split.test
        split_description = split_description or split.report.description
        split_report = split.report.to_dict()
    else:
        split_report = dict(split_report or {})
        if train is None or test_events is None:
            raise ValueError("give a split, or both train= and test_events=")
    labelled: dict[str, Any] = (
        {name: name for name in models} if not isinstance(models, Mapping) else dict(models)
    )
    if not labelled:
        raise ValueError("no models to compare")
    relevance = build_test_relevance(
        train,
        test_events,
        relevant_event_types=relevant_event_types,
        exclude_train_items=filter_already_liked,
    )
    cats = None if item_categories is None else category_codes(train.items, item_categories)
    labels = train.users.to_external(relevance.user_rows)
    results: dict[str, EvaluationResult] = {}
    for label, spec in labelled.items():
        if progress is not None:
            progress(label)
        model = make_model(spec, {}) if isinstance(spec, str) or _is_factory(spec) else spec
        results[label] = evaluate_recommender(
            model,
            train.matrix,
            relevance,
            n,
            fit=fit,
            filter_already_liked=filter_already_liked,
            item_categories=cats,
            user_labels=labels,
            name=label,
        )
    table = pd.concat([r.to_frame() for r in results.values()])
    table.index.name = "model"
    if primary not in table.columns:
        raise ValueError(f"primary metric {primary!r} was not computed; have {list(table.columns)}")
    table = table.sort_values(primary, ascending=False, kind="stable")
    comparison = Comparison(
        table=table,
        results=results,
        primary=primary,
        best=str(table.index[0]),
        split_description=split_description or "(split not described)",
        split_report=split_report,
    )
    if out_dir is not None:
        comparison.save(out_dir)
    return comparison


def _is_factory(spec: Any) -> bool:
    """A class or plain function (not an instance with fit/recommend)."""
    return callable(spec) and not (hasattr(spec, "fit") and not isinstance(spec, type))
