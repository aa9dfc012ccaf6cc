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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shopguide.data.first_seen import first_seen_times
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
from shopguide.evaluate.sampling import sample_relevance
from shopguide.evaluate.tuning import ModelFactory, _jsonable, make_model, training_matrix

__all__ = [
    "EVIDENCE_VERSION",
    "SIMPLICITY_ORDER",
    "Comparison",
    "Margin",
    "compare_models",
    "markdown_table",
    "paired_bootstrap",
]

#: Version of the ``evidence.json`` layout.
EVIDENCE_VERSION = 1

#: On a tie, the model published is the first of the tied ones in this order: the simpler and
#: cheaper to fit, serve and explain first. Labels not listed come after, in table order.
SIMPLICITY_ORDER = (
    "popular",
    "item-knn",
    "user-knn",
    "rp3beta",
    "ease",
    "ease-large",
    "ease-next",
    "als",
    "bpr",
)
#: Resamples and confidence level of the paired bootstrap of the winning margin.
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_LEVEL = 0.95

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


def paired_bootstrap(
    differences: np.ndarray,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = BOOTSTRAP_LEVEL,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile interval of the mean of per-user ``differences`` (paired bootstrap: users
    are resampled with replacement, each keeping both models' values)."""
    diffs = np.asarray(differences, dtype=np.float64)
    diffs = diffs[np.isfinite(diffs)]
    if diffs.size == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = np.empty(resamples, dtype=np.float64)
    chunk = max(1, 2_000_000 // diffs.size)  # bounded memory for many users
    for lo in range(0, resamples, chunk):
        hi = min(resamples, lo + chunk)
        means[lo:hi] = diffs[rng.integers(0, diffs.size, size=(hi - lo, diffs.size))].mean(axis=1)
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return (float(low), float(high))


@dataclass(frozen=True)
class Margin:
    """How far the top model is ahead of another on the primary metric, with a paired
    bootstrap interval over the test users; ``tie`` when the interval contains 0."""

    other: str
    difference: float
    low: float
    high: float
    users: int
    level: float = BOOTSTRAP_LEVEL

    @property
    def tie(self) -> bool:
        """The interval contains 0 (or could not be computed): no model is shown better."""
        return not (self.low > 0 or self.high < 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "against": self.other,
            "difference": self.difference,
            "interval": [self.low, self.high],
            "level": self.level,
            "users": self.users,
            "tie": self.tie,
        }


def _margins(
    results: Mapping[str, EvaluationResult], order: Sequence[str], primary: str
) -> list[Margin]:
    """The top model's margin over every other, paired by test user."""
    top = results[order[0]].report.per_user
    out = []
    for label in order[1:]:
        other = results[label].report.per_user
        if primary not in top.columns or primary not in other.columns:
            continue
        pair = pd.concat([top[primary], other[primary]], axis=1, keys=["a", "b"]).dropna()
        diffs = (pair["a"] - pair["b"]).to_numpy()
        low, high = paired_bootstrap(diffs)
        mean = float(diffs.mean()) if diffs.size else float("nan")
        out.append(Margin(label, mean, low, high, int(diffs.size)))
    return out


def _simplest(labels: Sequence[str]) -> str:
    """The first of ``labels`` in :data:`SIMPLICITY_ORDER` (table order for unlisted ones)."""
    rank = {name: i for i, name in enumerate(SIMPLICITY_ORDER)}
    return min(labels, key=lambda label: (rank.get(label, len(rank)), labels.index(label)))


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
        Label of the model with the highest primary metric.
    split_description, split_report:
        Exactly how the split was made and what it dropped.
    margins:
        The best model's margin over each other model (paired bootstrap interval).
    tuning:
        Label -> how its parameters were chosen on a validation window before the test
        (empty when the parameters were given); written to the evidence.
    tied:
        The best model and every model whose margin interval contains 0 (a tie).
    chosen:
        The model to publish: ``best`` when it alone is ahead, else the simplest tied model
        (first in :data:`SIMPLICITY_ORDER`).
    """

    table: pd.DataFrame
    results: dict[str, EvaluationResult]
    primary: str
    best: str
    split_description: str
    split_report: dict[str, Any]
    margins: tuple[Margin, ...] = ()
    tuning: Mapping[str, Any] = field(default_factory=dict)

    @property
    def tied(self) -> tuple[str, ...]:
        """The best model and every model whose margin interval contains 0."""
        return (self.best, *(m.other for m in self.margins if m.tie))

    @property
    def chosen(self) -> str:
        """The model to publish: the simplest of :attr:`tied` (``best`` when it alone leads)."""
        return _simplest(list(self.tied))

    @property
    def is_tie(self) -> bool:
        """More than one model is within the noise of the best."""
        return len(self.tied) > 1

    def verdict(self) -> str:
        """One sentence: the winner and its margin's interval, or the tie and the rule used."""
        runner = self.margins[0] if self.margins else None
        if runner is None:
            return f"only {self.best} was evaluated; it is chosen"
        pct = f"{runner.level:.0%}"
        span = (
            f"{self.primary} {runner.difference:+.4f} over {runner.other} "
            f"({pct} interval {runner.low:+.4f} to {runner.high:+.4f}, "
            f"{runner.users} test users)"
        )
        if not self.is_tie:
            return f"winner: {self.best}, {span}"
        return (
            f"tie: {', '.join(self.tied)} are within the noise ({span}); publishing the simplest "
            f"tied model, {self.chosen} (rule: first in {' < '.join(SIMPLICITY_ORDER)})"
        )

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
            "best_model": self.best,
            "chosen_model": self.chosen,
            "chosen_params": _jsonable(self.results[self.chosen].params),
            "chosen_score": self.results[self.chosen].metrics.get(self.primary),
            "best_score": best.metrics.get(self.primary),
            "tie": self.is_tie,
            "tied": list(self.tied),
            "verdict": self.verdict(),
            "margins": [_jsonable(m.to_dict()) for m in self.margins],
            "split": {"description": self.split_description, "report": self.split_report},
            "test_counts": best.counts,
            "table": _jsonable(self.table.reset_index().to_dict(orient="records")),
            "params": {label: _jsonable(r.params) for label, r in self.results.items()},
            "tuning": _jsonable(dict(self.tuning)),
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
        ax.set_title(f"Model comparison (chosen: {self.chosen}, by {self.primary})")
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
    matrices: Mapping[str, Any] | None = None,
    tuning: Mapping[str, Any] | None = None,
    max_users: int | None = None,
    fit_inputs: Mapping[str, Any] | None = None,
) -> Comparison:
    """Evaluate every model on the same split.

    Parameters
    ----------
    models:
        Label -> model object (fitted here), catalogue name, or factory; or a list of catalogue
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
    matrices:
        Label -> another training matrix for that model (same users and items, e.g. event
        weights where the others use 0/1); models not listed use the training matrix.
    tuning:
        Label -> how the model's parameters were chosen (kept in :attr:`Comparison.tuning`).
    max_users:
        Score at most this many test users, a seeded random sample shared by every model
        (:func:`~shopguide.evaluate.sampling.sample_relevance`); the split description says so.
    fit_inputs:
        Extra fit keywords for the models that declare them (``first_seen`` for ``ease-next``,
        from :func:`~shopguide.data.first_seen.first_seen_times`); given a split and not
        these, they are built from the split's training events when a model needs them.
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
    relevance, sampled = sample_relevance(relevance, max_users)
    if sampled is not None:
        split_description = f"{split_description or '(split not described)'}; {sampled}"
    cats = None if item_categories is None else category_codes(train.items, item_categories)
    labels = train.users.to_external(relevance.user_rows)
    results: dict[str, EvaluationResult] = {}
    for label, spec in labelled.items():
        if progress is not None:
            progress(label)
        model = make_model(spec, {}) if isinstance(spec, str) or _is_factory(spec) else spec
        needs: tuple[str, ...] = tuple(getattr(model, "fit_inputs", ()))
        if split is not None and fit_inputs is None and needs:
            fit_inputs = {"first_seen": first_seen_times(split.train, train, weights)}
        results[label] = evaluate_recommender(
            model,
            (matrices or {}).get(label, train.matrix),
            relevance,
            n,
            fit=fit,
            filter_already_liked=filter_already_liked,
            item_categories=cats,
            user_labels=labels,
            name=label,
            fit_inputs=fit_inputs,
        )
    table = pd.concat([r.to_frame() for r in results.values()])
    table.index.name = "model"
    if primary not in table.columns:
        raise ValueError(f"primary metric {primary!r} was not computed; have {list(table.columns)}")
    table = table.sort_values(primary, ascending=False, kind="stable")
    order = [str(label) for label in table.index]
    margins = _margins(results, order, primary)
    comparison = Comparison(
        table=table,
        results=results,
        primary=primary,
        best=order[0],
        split_description=split_description or "(split not described)",
        split_report=split_report,
        margins=tuple(margins),
        tuning=dict(tuning or {}),
    )
    if out_dir is not None:
        comparison.save(out_dir)
    return comparison


def _is_factory(spec: Any) -> bool:
    """A class or plain function (not an instance with fit/recommend)."""
    return callable(spec) and not (hasattr(spec, "fit") and not isinstance(spec, type))
