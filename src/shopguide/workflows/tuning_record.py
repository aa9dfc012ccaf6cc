"""The automatic tuning a published version went through, in the short form people read.

``shopguide compare`` keeps each model's search in the evidence it stores with the version it
publishes (``meta["evaluation"]["tuning"]``, one record per model label) and ``train --auto``
keeps its one search as ``meta["tuning"]`` (both records are
:meth:`~shopguide.workflows.auto_tune.AutoTuned.to_dict`). :func:`tuning_summary` turns either
into what the models page draws: per model, every search point with its parameters and
validation score, which point was chosen, the metric and the validation window.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shopguide.workflows.auto_tune import INPUT

__all__ = ["point_label", "tuning_summary"]


def _text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def point_label(point: Mapping[str, Any]) -> str:
    """``'k=50, shrink=10, weighting=bm25'`` (``', 0/1 input'`` when the input was searched)."""
    text = ", ".join(f"{k}={_text(v)}" for k, v in (point.get("params") or {}).items())
    if INPUT in point:
        text += (", " if text else "") + ("0/1 input" if point[INPUT] else "weighted input")
    return text or "defaults"


def _chosen(record: Mapping[str, Any], points: list[Mapping[str, Any]]) -> int | None:
    """Index of the point the search chose: the one with the chosen parameters (and input),
    else the first best score (the search's own rule)."""
    scored = [i for i, p in enumerate(points) if p.get("score") is not None]
    if record.get("validation_score") is None or not scored:
        return None
    params = record.get("chosen_params") or {}
    binary = record.get("input") == "0/1"
    for i in scored:
        point = points[i]
        same = all(params.get(k) == v for k, v in (point.get("params") or {}).items())
        if same and (INPUT not in point or bool(point[INPUT]) == binary):
            return i
    return max(scored, key=lambda i: float(points[i]["score"]))


def _model(record: Mapping[str, Any]) -> dict[str, Any]:
    points: list[Mapping[str, Any]] = list(record.get("search") or [])
    window = record.get("validation") or {}
    return {
        "metric": record.get("metric"),
        "tuned": record.get("validation_score") is not None,
        "chosen": _chosen(record, points),
        "chosen_score": record.get("validation_score"),
        "points": [
            {
                "label": point_label(p),
                "params": {**(p.get("params") or {}), **({INPUT: p[INPUT]} if INPUT in p else {})},
                "score": p.get("score"),
                **({"skipped": p["skipped"]} if "skipped" in p else {}),
            }
            for p in points
        ],
        "validation": {
            "from": window.get("validation_from"),
            "until": window.get("validation_until"),
            "users": window.get("validation_users"),
            "train_events": window.get("train_events"),
        },
        "notes": list(record.get("notes") or []),
    }


def tuning_summary(meta: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Model label -> its search (see the module docs) from a version's metadata; empty when
    the version's parameters were not searched (``compare --no-auto``, plain ``train``)."""
    evaluation = meta.get("evaluation") or {}
    records: Mapping[str, Any] = evaluation.get("tuning") or {}
    if not records and meta.get("tuning"):
        own = meta["tuning"]
        records = {str(own.get("model")): own}
    return {str(label): _model(record) for label, record in records.items()}
