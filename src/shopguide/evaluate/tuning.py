"""Grid and random search over any model's parameters, on K folds or rolling windows.

The founding document picks K (neighbours) and N (list length) "by cross-validation, keeping
the values with the best recommendation effect". :func:`tune` does exactly that for any
model: every setting is fitted on every split, N is read off one top-``max(N)`` list (so
trying several N costs nothing extra), and the result reports mean and spread over the splits
per setting, the best setting, and plots of the metric against K and against N.

Example::

    from shopguide.data.split import UserKFold
    result = tune("item-knn", {"k": [10, 20, 50, 100], "n": [5, 10, 20]}, events,
                  UserKFold(5, seed=0), out_dir="reports/tuning")
    result.best_params, result.best_score
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shopguide.data.first_seen import first_seen_times
from shopguide.data.matrix import DEFAULT_EVENT_WEIGHTS, Interactions, build_interactions
from shopguide.data.recency import decayed_binary
from shopguide.data.split import Split, Splitter
from shopguide.evaluate.evaluator import (
    DEFAULT_RELEVANT_TYPES,
    RecommenderLike,
    TestRelevance,
    build_test_relevance,
    evaluate_recommender,
)

__all__ = [
    "ModelFactory",
    "TuningResult",
    "make_model",
    "parameter_settings",
    "training_matrix",
    "tune",
]

#: A model name for ``shopguide.recommend.catalogue.create_model`` or a callable
#: ``factory(**params) -> model``.
ModelFactory = str | Callable[..., RecommenderLike]

_N_KEYS = ("n", "N")


def make_model(factory: ModelFactory, params: Mapping[str, Any]) -> RecommenderLike:
    """A new model from a catalogue name or a factory callable, with ``params``."""
    if isinstance(factory, str):
        from shopguide.recommend.catalogue import create_model  # the one explicit link

        return create_model(factory, **dict(params))
    return factory(**dict(params))


def parameter_settings(
    grid: Mapping[str, Sequence[Any]],
    *,
    search: str = "grid",
    n_iter: int | None = None,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """The settings to try: the full cartesian product (``search="grid"``) or ``n_iter`` of its
    points drawn without replacement with ``seed`` (``search="random"``), in a stable order."""
    keys = list(grid)
    for k in keys:
        if isinstance(grid[k], str) or not isinstance(grid[k], Sequence) or len(grid[k]) == 0:
            raise ValueError(f"grid[{k!r}] must be a non-empty list of values")
    points = [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]
    if search == "grid":
        return points
    if search != "random":
        raise ValueError(f"search must be 'grid' or 'random', got {search!r}")
    if n_iter is None or n_iter < 1:
        raise ValueError("random search needs n_iter >= 1")
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(points), size=min(n_iter, len(points)), replace=False)
    return [points[i] for i in sorted(chosen)]


def _fmt(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "(defaults)"


@dataclass(frozen=True)
class TuningResult:
    """Everything a search measured.

    Attributes
    ----------
    folds:
        One row per (setting, split): the parameters, ``split`` and every metric.
    summary:
        One row per setting: the parameters, then ``<metric>_mean`` and ``<metric>_std``
        (population std over the splits) for every metric, sorted best first.
    metric:
        The selection metric, e.g. ``"ndcg@10"``.
    best_params, best_score, best_std:
        The winning setting and its mean / std of ``metric``.
    ns:
        The list lengths evaluated.
    splits:
        Description of every split used.
    plots:
        Paths of the saved PNG plots.
    """

    folds: pd.DataFrame
    summary: pd.DataFrame
    metric: str
    best_params: dict[str, Any]
    best_score: float
    best_std: float
    ns: list[int]
    param_names: list[str]
    splits: list[str]
    plots: dict[str, Path] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (for evidence files and ``--json`` output)."""
        return {
            "metric": self.metric,
            "best_params": _jsonable(self.best_params),
            "best_score": self.best_score,
            "best_std": self.best_std,
            "ns": self.ns,
            "splits": self.splits,
            "summary": _jsonable(self.summary.to_dict(orient="records")),
            "plots": {k: str(v) for k, v in self.plots.items()},
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def training_matrix(
    train_events: pd.DataFrame,
    weights: Mapping[str, float] = DEFAULT_EVENT_WEIGHTS,
    build_kwargs: Mapping[str, Any] | None = None,
    *,
    binary: bool = False,
    half_life_days: float | None = None,
) -> Interactions:
    """The training interactions of a split; ``binary=True`` sets every stored value to 1.

    ``half_life_days`` weighs recent interactions more, relative to the end of
    ``train_events``: event weights decay with it, and with ``binary`` each pair is valued
    by the recency of its latest event (:func:`~shopguide.data.recency.decayed_binary`).
    """
    kwargs = dict(build_kwargs or {})
    if half_life_days is not None and not binary:
        kwargs["half_life_days"] = half_life_days
    inter = build_interactions(train_events, weights, **kwargs)
    if binary:
        inter = Interactions(matrix=inter.binary(), users=inter.users, items=inter.items)
        if half_life_days is not None:
            inter = decayed_binary(inter, train_events, half_life_days, kwargs.get("now"))
    return inter


def _prepare(
    splits: Sequence[Split],
    weights: Mapping[str, float],
    build_kwargs: Mapping[str, Any],
    relevant_event_types: Sequence[str] | None,
    exclude_train_items: bool,
    binary: bool = False,
    half_life_days: float | None = None,
) -> list[tuple[Split, Interactions, TestRelevance]]:
    prepared = []
    for s in splits:
        train = training_matrix(
            s.train, weights, build_kwargs, binary=binary, half_life_days=half_life_days
        )
        rel = build_test_relevance(
            train,
            s.test,
            relevant_event_types=relevant_event_types,
            exclude_train_items=exclude_train_items,
        )
        prepared.append((s, train, rel))
    return prepared


def tune(
    model: ModelFactory,
    grid: Mapping[str, Sequence[Any]],
    events: pd.DataFrame | None,
    splitter: Splitter | Sequence[Split],
    *,
    ns: Sequence[int] | None = None,
    metric: str = "ndcg",
    target_n: int | None = None,
    search: str = "grid",
    n_iter: int | None = None,
    seed: int = 0,
    fixed_params: Mapping[str, Any] | None = None,
    weights: Mapping[str, float] = DEFAULT_EVENT_WEIGHTS,
    build_kwargs: Mapping[str, Any] | None = None,
    binary: bool = False,
    half_life_days: float | None = None,
    relevant_event_types: Sequence[str] | None = DEFAULT_RELEVANT_TYPES,
    filter_already_liked: bool = True,
    out_dir: str | Path | None = None,
    plot_param: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> TuningResult:
    """Search ``grid`` for the best setting of ``model`` by cross-validation.

    Parameters
    ----------
    model:
        Catalogue name (``"item-knn"``...) or a factory ``callable(**params) -> model``.
    grid:
        Parameter name -> values to try. A key ``"n"`` (or ``"N"``) lists the list lengths to
        evaluate instead of being passed to the model.
    events:
        Events to split (ignored when ``splitter`` is already a list of splits).
    splitter:
        A splitter making several splits (``UserKFold``, ``RollingWindowSplit``) or the splits.
    ns:
        List lengths (default: the grid's ``n`` values, else ``[10]``).
    metric, target_n:
        Selection metric name (``"ndcg"``, ``"recall"``, ``"map"``...) and the N it is read at
        (default: 10 if evaluated, else the largest N); selection uses ``"<metric>@<N>"``.
    search, n_iter, seed:
        ``"grid"`` tries every setting; ``"random"`` tries ``n_iter`` of them drawn with ``seed``.
    fixed_params:
        Parameters passed to every model unchanged.
    weights, build_kwargs, binary, half_life_days:
        How the training matrix is built (see :func:`training_matrix`); ``binary`` keeps only
        whether a user interacted with an item, ``half_life_days`` weighs recent ones more.
    relevant_event_types, filter_already_liked:
        As in :func:`shopguide.evaluate.evaluator.evaluate_model`.
    out_dir:
        If given, plots (PNG) and ``tuning.json`` are written there.
    plot_param:
        The parameter on the x axis of the "metric vs parameter" plot (default ``"k"`` when in
        the grid, else the first parameter with several numeric values).
    progress:
        Called with a short message after every fit (for progress bars).
    """
    grid = dict(grid)
    grid_ns = next((grid.pop(k) for k in _N_KEYS if k in grid), None)
    ns_list = sorted({int(x) for x in (ns or grid_ns or [10])})
    target = target_n if target_n is not None else (10 if 10 in ns_list else max(ns_list))
    if target not in ns_list:
        raise ValueError(f"target_n={target} is not among the evaluated N {ns_list}")
    selection = f"{metric}@{target}"
    settings = parameter_settings(grid, search=search, n_iter=n_iter, seed=seed) if grid else [{}]

    if isinstance(splitter, Splitter):
        if events is None:
            raise ValueError("events are needed to split")
        split_list = splitter.splits(events)
    else:
        split_list = list(splitter)
    if not split_list:
        raise ValueError("no splits to evaluate on")
    prepared = _prepare(
        split_list,
        weights,
        build_kwargs or {},
        relevant_event_types,
        exclude_train_items=filter_already_liked,
        binary=binary,
        half_life_days=half_life_days,
    )

    rows = []
    dates: dict[int, dict[str, Any]] = {}  # per split, built once a model needs them
    for setting_id, params in enumerate(settings):
        for index, (s, train, rel) in enumerate(prepared):
            full = {**(fixed_params or {}), **params}
            fitted = make_model(model, full)
            if getattr(fitted, "fit_inputs", ()) and index not in dates:
                dates[index] = {"first_seen": first_seen_times(s.train, train, weights)}
            res = evaluate_recommender(
                fitted,
                train.matrix,
                rel,
                ns_list,
                filter_already_liked=filter_already_liked,
                metrics=None,
                fit_inputs=dates.get(index),
            )
            rows.append(
                {
                    "setting": setting_id,
                    **params,
                    "split": s.name,
                    **res.metrics,
                    "fit_s": res.fit_seconds,
                }
            )
            if progress is not None:
                progress(f"{_fmt(params)} on {s.name}: {selection}={res.metrics[selection]:.4f}")
    folds = pd.DataFrame(rows)
    param_names = list(grid)
    metric_cols = [c for c in folds.columns if "@" in c]
    summary = _summarise(folds, settings, param_names, [*metric_cols, "fit_s"], selection)
    best = summary.iloc[0]
    best_params = {k: _jsonable(v) for k, v in settings[int(best["setting"])].items()}
    result_plots: dict[str, Path] = {}
    result = TuningResult(
        folds=folds,
        summary=summary,
        metric=selection,
        best_params=best_params,
        best_score=float(best[f"{selection}_mean"]),
        best_std=float(best[f"{selection}_std"]),
        ns=ns_list,
        param_names=param_names,
        splits=[s.report.description for s, _, _ in prepared],
        plots=result_plots,
    )
    if out_dir is not None:
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        result_plots.update(plot_tuning(result, folder, metric=metric, plot_param=plot_param))
        (folder / "tuning.json").write_text(json.dumps(result.to_dict(), indent=2))
        folds.to_csv(folder / "tuning_folds.csv", index=False)
    return result


def _summarise(
    folds: pd.DataFrame,
    settings: list[dict[str, Any]],
    params: list[str],
    cols: list[str],
    selection: str,
) -> pd.DataFrame:
    """Mean and population std over splits per setting, best first (ties keep grid order)."""
    g = folds.groupby("setting", sort=True)[cols]
    mean, std = g.mean(), g.std(ddof=0)
    ids = mean.index.to_numpy()
    out = pd.DataFrame({"setting": ids})
    for p in params:
        out[p] = pd.Series([settings[i].get(p) for i in ids], dtype=object)
        if _is_numeric(out[p].tolist()):
            out[p] = pd.to_numeric(out[p])
    for c in cols:
        out[f"{c}_mean"] = mean[c].to_numpy()
        out[f"{c}_std"] = std[c].to_numpy()
    out["splits"] = folds.groupby("setting", sort=True).size().to_numpy()
    return out.sort_values(f"{selection}_mean", ascending=False, kind="stable").reset_index(
        drop=True
    )


def _is_numeric(values: Sequence[Any]) -> bool:
    return all(isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in values)


def plot_tuning(
    result: TuningResult,
    folder: Path,
    *,
    metric: str = "ndcg",
    plot_param: str | None = None,
) -> dict[str, Path]:
    """Save "metric vs parameter" and "metric vs N" plots (PNG, Agg backend) into ``folder``.

    Error bars are the standard deviation over the splits. In the parameter plot each line is
    one combination of the other parameters; in the N plot each line is one value of the
    plotted parameter with the other parameters at their best values.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = result.summary
    params = result.param_names
    target = result.metric
    out: dict[str, Path] = {}
    if plot_param is None:
        if "k" in params:
            plot_param = "k"
        else:
            plot_param = next(
                (
                    p
                    for p in params
                    if summary[p].nunique() > 1 and _is_numeric(summary[p].tolist())
                ),
                None,
            )
    others = [p for p in params if p != plot_param]

    if plot_param is not None:
        fig, ax = plt.subplots(figsize=(6, 4))
        groups = summary.groupby([summary[o].map(str) for o in others]) if others else None
        parts = list(groups) if groups is not None else [("", summary)]
        for label, part in parts[:8]:
            part = part.sort_values(plot_param)
            label_values = label if isinstance(label, tuple) else (label,)
            ax.errorbar(
                part[plot_param].astype(float)
                if _is_numeric(part[plot_param].tolist())
                else part[plot_param].map(str),
                part[f"{target}_mean"],
                yerr=part[f"{target}_std"],
                marker="o",
                capsize=3,
                label=", ".join(f"{o}={v}" for o, v in zip(others, label_values, strict=False))
                or None,
            )
        ax.set_xlabel(plot_param)
        ax.set_ylabel(f"{target} (mean ± std over {len(result.splits)} splits)")
        ax.set_title(f"{target} vs {plot_param}")
        if others:
            ax.legend(fontsize="small")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        path = folder / f"tune_{metric}_vs_{plot_param}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        out[f"{metric}_vs_{plot_param}"] = path

    if len(result.ns) > 1:
        fig, ax = plt.subplots(figsize=(6, 4))
        if plot_param is not None:
            best = result.best_params
            mask = np.ones(len(summary), dtype=bool)
            for o in others:
                mask &= (summary[o].map(str) == str(best[o])).to_numpy()
            lines = summary[mask].sort_values(plot_param)
        else:
            lines = summary.iloc[:1]
        for _, row in lines.head(8).iterrows():
            means = [row[f"{metric}@{n}_mean"] for n in result.ns]
            stds = [row[f"{metric}@{n}_std"] for n in result.ns]
            label = f"{plot_param}={row[plot_param]}" if plot_param is not None else "best"
            ax.errorbar(result.ns, means, yerr=stds, marker="o", capsize=3, label=label)
        ax.set_xlabel("N (list length)")
        ax.set_ylabel(f"{metric}@N (mean ± std)")
        ax.set_title(f"{metric} vs N")
        ax.legend(fontsize="small")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        path = folder / f"tune_{metric}_vs_n.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        out[f"{metric}_vs_n"] = path
    return out
