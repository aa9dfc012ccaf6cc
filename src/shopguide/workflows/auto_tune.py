"""Choose each model's key parameters automatically, on a validation window inside training.

``compare`` (unless ``--no-auto``) and ``train --auto`` call :func:`auto_tune` with the events
a model may learn from: the comparison's training half, or every event for ``train``. The last
share of that period (same rule as the comparison's test window, see
:func:`~shopguide.workflows.time_split.validation_split`) becomes the validation window; every
point of the model's small search space (:data:`SEARCH_SPACES`) is fitted on the events before
it and scored by NDCG@10 on the purchases in it. The caller then refits the winner on its full
training events, so the test window of a comparison is never read while tuning.

Two rules keep the search honest on small or unusual validation windows (issue #17):

- **The defaults win unless beaten beyond noise.** The point equal to the caller's parameters
  (what ``--no-auto`` would fit) is the anchor. The best point replaces it only when its
  per-user advantage on the validation users is clear: the lower end of the paired bootstrap's
  95 % interval is above zero. A validation window of a few dozen users (MovieLens 100K's last
  tenth of the period holds 84) otherwise picks whatever its noise favours.
- **λ means the same on both inputs.** EASE's penalty acts on the Gram matrix, which grows with
  the square of the input's values, so on event-weighted input every λ of the grid is scaled by
  the mean squared stored value (:func:`penalty_scale`). With one event per pair the two inputs
  then score the same, instead of the weighted one silently searching a 25× weaker penalty.

The spaces are small on purpose: each searches only the parameters that measurably move
accuracy on shop data (issue #17), with a few values each. On the bundled Online Retail the
whole search takes a few minutes on a 2-core machine (docs/benchmarks.md). The pseudo-parameter
:data:`INPUT` chooses between 0/1 input (did the user interact) and event-weighted input.
Search points whose estimated memory passes the budget are skipped, and the result says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from shopguide.data.first_seen import first_seen_times
from shopguide.data.matrix import DEFAULT_EVENT_WEIGHTS, Interactions
from shopguide.errors import DataError
from shopguide.evaluate.compare import paired_bootstrap
from shopguide.evaluate.evaluator import build_test_relevance, evaluate_recommender
from shopguide.evaluate.sampling import max_scored_users, sample_relevance
from shopguide.evaluate.tuning import _jsonable, parameter_settings, training_matrix
from shopguide.recommend.base import model_classes
from shopguide.recommend.catalogue import create_model
from shopguide.recommend.cost import default_memory_budget, estimate_cost, format_bytes
from shopguide.recommend.ease_next import EASENext, ease_next_fits
from shopguide.recommend.ease_path import PATH_MODELS, ease_path
from shopguide.store.base import Store
from shopguide.workflows.interaction_events import interaction_events
from shopguide.workflows.time_split import validation_split

__all__ = [
    "INPUT",
    "KEPT_DEFAULTS",
    "SEARCH_SPACES",
    "AutoTuned",
    "auto_tune",
    "penalty_scale",
    "sample_users",
    "sampling_notes",
    "search_size",
    "tune_for_training",
    "tuned_line",
]

#: The pseudo-parameter choosing the input: ``True`` = 0/1, ``False`` = event-weighted.
INPUT = "binary"

#: The values tried per model (parameters not listed keep their defaults or the caller's).
#: EASE: its ridge penalty and the input; item-KNN: neighbourhood size, shrinkage and row
#: weighting; user-KNN: neighbourhood size (each of its fits scores every user, so it stays
#: small); ALS: factors and regularisation; EASE + next-window: EASE's λ, the window's length
#: and count and the blend weight (0 = EASE alone; each part is solved once per value, see
#: :func:`~shopguide.recommend.ease_next.ease_next_fits`). Popularity and BPR are not searched.
SEARCH_SPACES: Mapping[str, Mapping[str, tuple[Any, ...]]] = {
    "ease": {"regularization": (50.0, 200.0, 500.0, 1000.0), INPUT: (True, False)},
    "ease-large": {"regularization": (200.0, 500.0, 1000.0), INPUT: (True, False)},
    "item-knn": {"k": (20, 50, 100, 200), "shrink": (0.0, 10.0), "weighting": (None, "bm25")},
    "user-knn": {"k": (50, 100, 200)},
    "als": {"factors": (32, 64, 128), "regularization": (0.01, 0.1)},
    "ease-next": {
        "regularization": (50.0, 200.0, 500.0, 1000.0),
        "horizon_days": (45, 60),
        "windows": (1, 2),
        "weight": (0.0, 0.35, 0.45),
    },
}

#: How a search's note starts when the defaults were kept over a point ahead only by noise.
KEPT_DEFAULTS = "kept the defaults"

#: ``progress(text, done, total)`` after every search point.
TuningProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class AutoTuned:
    """The outcome of one model's search.

    ``params`` are the model's parameters to fit with (the caller's fixed ones included);
    ``binary`` the chosen input; ``points`` every search point with its validation score or
    the reason it was skipped; ``validation`` the window it was measured on.
    """

    model: str
    params: dict[str, Any]
    binary: bool
    metric: str
    score: float | None
    points: list[dict[str, Any]] = field(default_factory=list)
    validation: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record (stored in evidence files and model metadata)."""
        return _jsonable(
            {
                "model": self.model,
                "chosen_params": self.params,
                "input": "0/1" if self.binary else "weighted",
                "metric": self.metric,
                "validation_score": self.score,
                "validation": self.validation,
                "search": self.points,
                "notes": self.notes,
            }
        )

    def describe(self) -> str:
        """One line: the chosen point and its validation score (see :func:`tuned_line`)."""
        return tuned_line(self.to_dict())


def tuned_line(record: Mapping[str, Any]) -> str:
    """``'ease: regularization=200.0, 0/1 input (ndcg@10 0.0950 on validation, best of 8)'``
    from an :meth:`AutoTuned.to_dict` record."""
    search = record.get("search") or []
    names = list(search[0]["params"]) if search else []
    params = record.get("chosen_params") or {}
    text = ", ".join(f"{k}={params.get(k)}" for k in names) or "defaults"
    if search and INPUT in search[0]:
        text += f", {record.get('input')} input"
    score = record.get("validation_score")
    if score is None:
        why = "; ".join(record.get("notes") or []) or "nothing to search"
        return f"{record.get('model')}: {text} (not tuned: {why})"
    tried = sum(1 for p in search if "score" in p)
    kept = [n for n in record.get("notes") or [] if n.startswith(KEPT_DEFAULTS)]
    measured = f"{record.get('metric')} {score:.4f} on validation, " + (
        kept[0] if kept else f"best of {tried}"
    )
    share = float((record.get("validation") or {}).get("user_share", 1.0))
    if share < 1.0:
        measured += f", searched on {share:.0%} of the users"
    return f"{record.get('model')}: {text} ({measured})"


def sampling_notes(records: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The sampling sentences of :meth:`AutoTuned.to_dict` records, each once."""
    seen: list[str] = []
    for record in records.values():
        for text in (record.get("validation") or {}).get("sampling", []):
            if text not in seen:
                seen.append(text)
    return [f"tuning: {text}" for text in seen]


def search_size(
    models: Sequence[str], spaces: Mapping[str, Mapping[str, Sequence[Any]]] = SEARCH_SPACES
) -> int:
    """How many search points :func:`auto_tune` tries for ``models`` (before any skipped)."""
    return sum(len(parameter_settings(dict(spaces[m]))) for m in models if spaces.get(m))


def _points(space: Mapping[str, Sequence[Any]], fixed: Sequence[str]) -> list[dict[str, Any]]:
    """The grid of ``space`` without the ``fixed`` parameters (empty when nothing is left)."""
    grid = {k: list(v) for k, v in space.items() if k not in fixed}
    return parameter_settings(grid) if grid else []


def auto_tune(
    train_events: pd.DataFrame,
    models: Mapping[str, Mapping[str, Any]],
    *,
    fixed: Mapping[str, Sequence[str]] | None = None,
    spaces: Mapping[str, Mapping[str, Sequence[Any]]] = SEARCH_SPACES,
    binary: bool = True,
    budget_bytes: int | None = None,
    n: int = 10,
    progress: TuningProgress | None = None,
    user_share: float = 1.0,
    sample_note: str | None = None,
) -> dict[str, AutoTuned]:
    """Search every model of ``models`` (name -> base parameters) on a validation window
    carved from ``train_events``.

    ``fixed`` names, per model, the parameters the user set (they are not searched);
    ``binary`` is the input used when the space does not search :data:`INPUT`. Points whose
    estimated memory passes ``budget_bytes`` (default: the machine's budget) are skipped.
    With ``user_share`` below 1 the search runs on a seeded random sample of that share of
    the users (``sample_note`` says why; it is kept in ``validation["sampling"]``); at most
    :func:`~shopguide.evaluate.sampling.max_scored_users` validation users are scored.
    """
    train_events = sample_users(train_events, user_share)
    split = validation_split(train_events)
    weighted = training_matrix(split.train, DEFAULT_EVENT_WEIGHTS)
    zero_one = Interactions(matrix=weighted.binary(), users=weighted.users, items=weighted.items)
    penalty = {True: 1.0, False: penalty_scale(weighted.matrix)}
    relevance = build_test_relevance(weighted, split.test, exclude_train_items=True)
    relevance, sampled = sample_relevance(
        relevance, max_scored_users(weighted.matrix.shape[1], validation=True)
    )
    window = {
        "description": split.report.description,
        "validation_from": str(split.info.get("cut")),
        "validation_until": str(pd.Timestamp(train_events["timestamp"].max())),
        "train_events": len(split.train),
        "validation_users": int(relevance.user_rows.size),
        "user_share": user_share,
        "sampling": [text for text in (sample_note, sampled) if text],
    }
    budget = default_memory_budget() if budget_bytes is None else int(budget_bytes)
    sizes = (*weighted.matrix.shape, weighted.matrix.nnz)
    metric = f"ndcg@{n}"
    # when each pair was first seen, for the models that learn from it (before the window only)
    dated = any(getattr(model_classes().get(name), "fit_inputs", ()) for name in models)
    first_seen = first_seen_times(split.train, weighted) if dated else None
    plans = {name: _points(spaces.get(name, {}), (fixed or {}).get(name, ())) for name in models}
    total, done = sum(len(p) for p in plans.values()), 0
    out: dict[str, AutoTuned] = {}
    for name, base in models.items():
        # each point as it is fitted: on weighted input EASE's λ scaled to the input's size
        points = [
            _scaled(name, point, penalty[bool(point.get(INPUT, binary))])
            for point in (plans[name] if relevance.user_rows.size else [])
        ]
        notes: list[str] = []
        if not relevance.user_rows.size:
            notes.append("no purchases in the validation window to measure on")
        found: dict[int, dict[str, Any]] = {}
        per_user: dict[int, np.ndarray] = {}
        for group in _groups(name, points, binary):
            use_binary = bool(points[group[0]].get(INPUT, binary))
            matrix = (zero_one if use_binary else weighted).matrix
            fitted = _fitted(
                name, base, [points[i] for i in group], matrix, sizes, budget, first_seen
            )
            for i, (model, seconds, why) in zip(group, fitted, strict=True):
                point = points[i]
                row: dict[str, Any] = {
                    "params": {k: v for k, v in point.items() if k != INPUT},
                    **({INPUT: use_binary} if INPUT in point else {}),
                }
                if model is None:
                    row["skipped"] = why
                else:
                    res = evaluate_recommender(
                        model, matrix, relevance, n, fit=False, metrics=("ndcg",)
                    )
                    row.update(score=res.metrics[metric], fit_seconds=round(seconds, 3))
                    per_user[i] = res.report.per_user[metric].to_numpy(dtype=np.float64)
                found[i] = row
                done += 1
                if progress is not None:
                    progress(f"tuning {name}", done, total)
        rows = [found[i] for i in range(len(points))]
        skipped = [r for r in rows if "skipped" in r]
        if skipped:
            notes.append(f"{len(skipped)} search point(s) skipped over the memory budget")
        best, kept_default = _choose(rows, per_user, _anchor(name, base, points, binary))
        if kept_default:
            notes.append(kept_default)
        out[name] = AutoTuned(
            model=name,
            params={**base, **(best["params"] if best else {})},
            binary=bool(best.get(INPUT, binary)) if best else binary,
            metric=metric,
            score=float(best["score"]) if best else None,
            points=rows,
            validation=window,
            notes=notes,
        )
    return out


#: Models whose ``regularization`` is a ridge penalty on the Gram matrix (scaled with the input).
GRAM_PENALTY_MODELS = PATH_MODELS


def penalty_scale(matrix: Any) -> float:
    """How much larger the Gram matrix of ``matrix`` is than that of its 0/1 pattern: the mean
    squared stored value (1 for 0/1 input, 25 when every pair holds one purchase of weight 5)."""
    data = np.asarray(matrix.data, dtype=np.float64)
    return float(np.mean(data * data)) if data.size else 1.0


def _scaled(name: str, point: Mapping[str, Any], scale: float) -> dict[str, Any]:
    """``point`` with its Gram-matrix penalty multiplied by ``scale`` (4 significant digits)."""
    out = dict(point)
    if name in GRAM_PENALTY_MODELS and "regularization" in out and scale != 1.0:
        out["regularization"] = float(f"{float(out['regularization']) * scale:.4g}")
    return out


def _anchor(
    name: str, base: Mapping[str, Any], points: Sequence[Mapping[str, Any]], binary: bool
) -> int | None:
    """The index of the point (as fitted, λ scaled) that fits what the caller would fit without
    tuning (``base`` over the model's defaults, on the ``binary`` input), or None when the
    grid lacks it."""
    defaults = create_model(name, **dict(base)).get_params()
    for i, point in enumerate(points):
        same_input = bool(point.get(INPUT, binary)) == binary
        if same_input and all(defaults.get(k) == v for k, v in point.items() if k != INPUT):
            return i
    return None


def _choose(
    rows: Sequence[dict[str, Any]], per_user: Mapping[int, np.ndarray], anchor: int | None
) -> tuple[dict[str, Any] | None, str]:
    """The winning row and, when the defaults were kept over a higher score, why.

    The best score wins (the first in grid order on a tie) unless the anchor was scored and
    the best one's per-user advantage over it is not clear: the lower end of the paired
    bootstrap's interval at or below zero."""
    scored = [i for i, r in enumerate(rows) if "score" in r]
    if not scored:
        return None, ""
    best = max(scored, key=lambda i: rows[i]["score"])  # first on a tie
    if anchor is None or anchor == best or anchor not in per_user:
        return rows[best], ""
    low, high = paired_bootstrap(per_user[best] - per_user[anchor])
    if low > 0:
        return rows[best], ""
    gain = rows[best]["score"] - rows[anchor]["score"]
    return rows[anchor], (
        f"{KEPT_DEFAULTS}: the best point ({_point_text(rows[best])}) was ahead by "
        f"{gain:+.4f}, within the validation noise (95 % interval {low:+.4f} to {high:+.4f})"
    )


def _point_text(row: Mapping[str, Any]) -> str:
    text = ", ".join(f"{k}={v}" for k, v in row["params"].items())
    if INPUT in row:
        text += ", 0/1 input" if row[INPUT] else ", weighted input"
    return text


def _groups(name: str, points: Sequence[Mapping[str, Any]], binary: bool) -> list[list[int]]:
    """Indices of ``points`` in the order they are fitted: for the EASE models, the points
    that differ only in λ form one group (they share a Gram matrix, see
    :mod:`shopguide.recommend.ease_path`); every other point is a group of its own."""
    if name == EASENext.model_name:  # one group: its parts are shared across all points
        return [list(range(len(points)))] if points else []
    if name not in PATH_MODELS:
        return [[i] for i in range(len(points))]
    groups: dict[str, list[int]] = {}
    for i, point in enumerate(points):
        rest = {k: v for k, v in point.items() if k != "regularization"}
        key = repr(sorted({**rest, INPUT: bool(point.get(INPUT, binary))}.items()))
        groups.setdefault(key, []).append(i)
    return list(groups.values())


def _fitted(
    name: str,
    base: Mapping[str, Any],
    points: Sequence[Mapping[str, Any]],
    matrix: Any,
    sizes: tuple[int, int, int],
    budget: int,
    first_seen: Any = None,
) -> Iterator[tuple[Any, float, str]]:
    """``(fitted model or None, fit seconds, why skipped)`` for every point, in order; the
    points of one EASE group share their Gram matrix, those of ``ease-next`` their parts
    (fitted with ``first_seen``, the training pairs' first times)."""
    models = [
        create_model(name, **{**base, **{k: v for k, v in p.items() if k != INPUT}}) for p in points
    ]
    costs = [estimate_cost(m, *sizes) for m in models]
    over = [c.memory_bytes > budget for c in costs]
    why = [
        f"needs about {format_bytes(c.memory_bytes)} (budget {format_bytes(budget)})" for c in costs
    ]
    kept = [m for m, o in zip(models, over, strict=True) if not o]
    path: Iterator[Any] | None = None
    if name in PATH_MODELS and len(kept) > 1:
        params = {k: v for k, v in kept[0].get_params().items() if k != "regularization"}
        lambdas = [float(m.get_params()["regularization"]) for m in kept]
        path = ease_path(name, matrix, lambdas, params)
    elif name == EASENext.model_name and kept:
        path = ease_next_fits(matrix, first_seen, [m for m in kept if isinstance(m, EASENext)])
    for model, too_big, reason in zip(models, over, why, strict=True):
        if too_big:
            yield None, 0.0, reason
            continue
        start = time.perf_counter()
        fitted = next(path) if path is not None else model.fit(matrix)
        yield fitted, time.perf_counter() - start, ""


def sample_users(events: pd.DataFrame, share: float, seed: int = 0) -> pd.DataFrame:
    """The events of a seeded random ``share`` of the users (all of them when ``share >= 1``)."""
    if share >= 1.0:
        return events
    users = events["user_id"].unique()
    rng = np.random.default_rng(seed)
    keep = rng.choice(users.size, size=max(1, int(users.size * share)), replace=False)
    return events[events["user_id"].isin(users[keep])]


def tune_for_training(
    store: Store,
    name: str,
    params: Mapping[str, Any],
    *,
    fixed: Sequence[str] | None = None,
    budget_bytes: int | None = None,
    spaces: Mapping[str, Mapping[str, Sequence[Any]]] = SEARCH_SPACES,
    progress: TuningProgress | None = None,
) -> AutoTuned:
    """``train --auto``: search ``name`` on a validation window carved from every event of
    the store (the last share of its period), starting from ``params``; the ``fixed`` ones
    (default: all of ``params``) are kept as given."""
    events = interaction_events(store)
    if events.empty:
        raise DataError("the store has no events to tune on", hint="ingest events first")
    kept = list(params) if fixed is None else list(fixed)
    return auto_tune(
        events, {name: dict(params)}, fixed={name: kept}, spaces=spaces,
        budget_bytes=budget_bytes, progress=progress,
    )[name]  # fmt: skip
