"""Keep ``compare`` within a time budget on large shops: skip the slowest fits, tune on a sample.

A comparison fits every model once on the training period, and automatic tuning fits each
model once per search point, so on a shop with a million users the fits alone can take hours.
Before anything is fitted, the models' own time estimates (:mod:`shopguide.recommend.cost`)
are held against the budget (``compare --time-budget``, default :data:`DEFAULT_TIME_BUDGET`):

- a model whose single fit is estimated above :data:`MAX_FIT_SHARE` of the budget is skipped,
  with its estimate and what to do (raise the budget, or fit it alone with ``train``);
- automatic tuning gets :data:`TUNING_SHARE` of the budget; when the whole search on every
  user would take longer, it searches on a seeded random sample of users
  (:func:`tuning_user_share`), the largest of :data:`USER_SHARES` whose estimate fits, and
  the chosen parameters are then refitted on everyone.

The estimates are rough (a factor of about two, see :mod:`shopguide.recommend.cost`); the
budget steers the plan, it is not a deadline.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from shopguide.errors import InputError
from shopguide.evaluate.tuning import parameter_settings
from shopguide.recommend.catalogue import create_model
from shopguide.recommend.cost import Cost, estimate_cost
from shopguide.recommend.ease_next import EASENext, shared_search_seconds

__all__ = [
    "DEFAULT_TIME_BUDGET",
    "MAX_FIT_SHARE",
    "MIN_TUNING_USERS",
    "TUNING_SHARE",
    "USER_SHARES",
    "format_seconds",
    "over_time",
    "parse_seconds",
    "search_seconds",
    "seconds_or_none",
    "tuning_user_share",
]

#: Seconds ``compare`` plans for by default (issue 17: a million users in 20 minutes).
DEFAULT_TIME_BUDGET = 20 * 60.0
#: A model whose one fit is estimated above this share of the budget is skipped.
MAX_FIT_SHARE = 0.25
#: Share of the budget automatic tuning may use for all its search points together.
TUNING_SHARE = 0.4
#: Shares of the users tuning may search on, largest first.
USER_SHARES = (1.0, 0.5, 0.25, 0.1, 0.05, 0.02, 0.01)
#: Tuning never searches on fewer users than this (or all of them, when there are fewer).
MIN_TUNING_USERS = 20_000

_HINT = "write a duration such as 20min, 90s, 1.5h, a number of seconds, or none"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr)?\s*$", re.IGNORECASE)
_SCALE = {"": 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "hr": 3600.0}


def parse_seconds(text: str) -> float:
    """``"20min"``, ``"90s"``, ``"1.5h"`` or ``"1200"`` as seconds; raises
    :class:`~shopguide.errors.InputError` naming the accepted forms."""
    match = _DURATION.match(text)
    if not match:
        raise InputError(f"time budget {text!r} is not a duration", hint=_HINT)
    seconds = float(match.group(1)) * _SCALE[(match.group(2) or "").lower()]
    if seconds <= 0:
        raise InputError(f"time budget {text!r} must be positive", hint=_HINT)
    return seconds


def seconds_or_none(text: str) -> float | None:
    """:func:`parse_seconds`, with ``"none"`` (or ``"off"``) meaning no limit."""
    return None if text.strip().lower() in ("none", "off") else parse_seconds(text)


def format_seconds(seconds: float) -> str:
    """``'45 s'``, ``'5.5 min'``, ``'1.2 h'``."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def over_time(name: str, cost: Cost, budget_seconds: float | None) -> str | None:
    """Why ``name`` is skipped under the time budget, or ``None`` when its fit fits."""
    if budget_seconds is None or cost.seconds <= MAX_FIT_SHARE * budget_seconds:
        return None
    return (
        f"{name} would take about {format_seconds(cost.seconds)} to fit once, more than "
        f"{MAX_FIT_SHARE:.0%} of the {format_seconds(budget_seconds)} time budget; skipped. "
        f"Raise --time-budget to include it, or fit it alone with shopguide train {name}."
    )


def search_seconds(
    models: Mapping[str, Mapping[str, Any]],
    spaces: Mapping[str, Mapping[str, Sequence[Any]]],
    sizes: tuple[int, int, int],
) -> float:
    """Estimated seconds of every search point of every model on data of ``sizes``."""
    total = 0.0
    for name, base in models.items():
        grid = {k: list(v) for k, v in spaces.get(name, {}).items() if k != "binary"}
        points = parameter_settings(grid) if grid else [{}]
        repeats = len(list(spaces.get(name, {}).get("binary", [None])))
        if name == EASENext.model_name and spaces.get(name):  # parts shared across points
            built = [create_model(name, **{**dict(base), **p}) for p in points]
            dated = [m for m in built if isinstance(m, EASENext)]
            total += repeats * shared_search_seconds(dated, *sizes)
            continue
        for point in points if spaces.get(name) else []:
            model = create_model(name, **{**dict(base), **point})
            total += repeats * estimate_cost(model, *sizes).seconds
    return total


def tuning_user_share(
    models: Mapping[str, Mapping[str, Any]],
    spaces: Mapping[str, Mapping[str, Sequence[Any]]],
    sizes: tuple[int, int, int],
    budget_seconds: float | None,
) -> tuple[float, str | None]:
    """The share of users automatic tuning searches on, and a sentence when it is below 1.

    The largest of :data:`USER_SHARES` whose estimated search (users and interactions scaled
    by the share, every item kept) fits :data:`TUNING_SHARE` of the budget, never fewer than
    :data:`MIN_TUNING_USERS` users; the smallest allowed share when none fits.
    """
    users, items, nnz = sizes
    if budget_seconds is None or users <= MIN_TUNING_USERS:
        return 1.0, None
    allowed = TUNING_SHARE * budget_seconds
    floor = MIN_TUNING_USERS / users
    shares = [s for s in USER_SHARES if s >= floor] or [1.0]
    if floor < 1.0 and shares[-1] > floor:
        shares.append(floor)
    chosen, estimate = shares[-1], 0.0
    for share in shares:
        estimate = search_seconds(models, spaces, (int(users * share), items, int(nnz * share)))
        if estimate <= allowed:
            chosen = share
            break
    if chosen >= 1.0:
        return 1.0, None
    full = search_seconds(models, spaces, sizes)
    return chosen, (
        f"tuned on a random {chosen:.0%} of the users ({int(users * chosen):,} of {users:,}): "
        f"the search on everyone was estimated at {format_seconds(full)}, over "
        f"{TUNING_SHARE:.0%} of the {format_seconds(budget_seconds)} time budget"
    )
