"""The catalogue of recommenders: their names, and new models by name with checked parameters.

:data:`MODEL_NAMES` lists what ``shopguide train MODEL`` accepts; :func:`create_model` builds
one with its constructor parameters checked, :func:`parse_params` reads them from CLI
``key=value`` strings. The classes themselves are looked up by name with
:func:`shopguide.recommend.base.model_class` (every recommender class enters that table when it
is defined; importing the model modules here defines them). Fitted models are kept on disk by
:class:`shopguide.recommend.saved.RecommenderStore`.
"""

from __future__ import annotations

import difflib
import numbers
from collections.abc import Sequence
from typing import Any

from shopguide.errors import ParameterError, UnknownModelError
from shopguide.recommend.base import Recommender, model_class, model_classes

# importing the model modules defines their classes, which puts them in the catalogue
from shopguide.recommend.blend import Blend
from shopguide.recommend.ease import EASE
from shopguide.recommend.ease_large import EASELarge
from shopguide.recommend.ease_next import EASENext
from shopguide.recommend.knn import ItemKNN, UserKNN
from shopguide.recommend.mf import ALS, BPR
from shopguide.recommend.popular import Popular
from shopguide.recommend.rp3beta import RP3beta

__all__ = [
    "MODEL_NAMES",
    "check_model_name",
    "create_model",
    "parse_params",
]

#: The names ``create_model`` (and ``shopguide train MODEL``) accept.
MODEL_NAMES: tuple[str, ...] = tuple(
    cls.model_name
    for cls in (UserKNN, ItemKNN, Popular, EASE, EASELarge, EASENext, ALS, BPR, RP3beta, Blend)
)


def check_model_name(name: str) -> None:
    """Raise :class:`UnknownModelError` (with the closest name) unless ``name`` is a model."""
    if name not in model_classes():
        raise UnknownModelError(name, MODEL_NAMES)


def create_model(name: str, /, **params: Any) -> Recommender:
    """A new, unfitted model by name (``user-knn``, ``item-knn``, ``popular``, ``ease``,
    ``ease-large``, ``ease-next``, ``als``, ``bpr``, ``rp3beta``, ``blend``) with the given
    constructor parameters.

    Raises :class:`UnknownModelError` for an unknown name and :class:`ParameterError` for a
    parameter the model does not take or a value whose type does not fit its default.
    """
    check_model_name(name)
    klass = model_class(name)
    defaults = klass().get_params()
    for key, value in params.items():
        _check_param(name, key, value, defaults)
    try:
        return klass(**params)
    except TypeError as exc:
        raise ParameterError(f"bad parameter for {name}: {exc}") from exc


def _check_param(model: str, key: str, value: object, defaults: dict[str, Any]) -> None:
    if key not in defaults:
        close = difflib.get_close_matches(key.lower(), list(defaults), n=1, cutoff=0.5)
        guess = f"did you mean {close[0]!r}? " if close else ""
        raise ParameterError(
            f"bad parameter for {model}: it has no parameter {key!r}",
            hint=f"{guess}its parameters are {', '.join(sorted(defaults))}",
        )
    default = defaults[key]
    expected = (
        (bool, "true or false") if isinstance(default, bool)
        else (int, "a whole number") if isinstance(default, int)
        else (float, "a number") if isinstance(default, float)
        else (None, "")
    )  # fmt: skip
    kind, words = expected
    if kind is None or value is None:
        return
    is_bool = isinstance(value, bool) or type(value).__name__ == "bool_"  # numpy's too
    fits = is_bool if kind is bool else (
        isinstance(value, numbers.Real) and not is_bool
        and (kind is float or float(value).is_integer())
    )  # fmt: skip
    if not fits:
        raise ParameterError(
            f"parameter {key!r} of {model} must be {words}, got {value!r}",
            hint=f"e.g. {key}={str(default).lower() if kind is bool else default}",
        )


def parse_params(name: str, assignments: Sequence[str]) -> dict[str, Any]:
    """Turn CLI ``key=value`` strings into constructor parameters of model ``name``.

    Values are converted to the type of the parameter's default (int, float, bool), with
    ``none``/``null`` meaning ``None``; other values stay strings. Unknown keys raise.
    """
    check_model_name(name)
    defaults = model_class(name)().get_params()
    params: dict[str, Any] = {}
    for item in assignments:
        key, sep, raw = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in defaults:
            raise ParameterError(
                f"bad parameter {item!r} for {name}; use key=value with key in "
                f"{', '.join(sorted(defaults))}"
            )
        params[key] = _convert(raw.strip(), defaults[key])
    return params


def _convert(raw: str, default: object) -> object:
    low = raw.lower()
    if low in ("none", "null"):
        return None
    if isinstance(default, bool) or low in ("true", "false"):
        if low not in ("true", "false", "1", "0", "yes", "no"):
            raise ParameterError(f"expected true/false, got {raw!r}")
        return low in ("true", "1", "yes")
    try:
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError:
        kind = "a whole number" if isinstance(default, int) else "a number"
        raise ParameterError(f"expected {kind}, got {raw!r}") from None
    return raw
