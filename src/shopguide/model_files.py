"""Saved-model files without pickle: a skops archive of a plain state dictionary.

A model is saved as a dictionary of plain values (str, int, float, bool, None, lists, dicts,
numpy arrays) and fitted scikit-learn estimators, written with :func:`skops.io.dump`. skops
stores the object tree as JSON plus arrays and rebuilds only the types it is told to trust, so
loading a file can never run arbitrary code the way unpickling can. Besides skops's own safe
defaults (numpy arrays, builtins, scikit-learn estimators) :func:`load_state` trusts exactly
the types in ``trusted`` (the few internals a gradient booster needs); anything else in a file
is refused.

Every state carries ``kind`` (what model it is), ``format_version`` and the ``features`` the
model was trained on; :func:`load_state` checks all three and raises
:class:`~shopguide.errors.ModelFormatError` with what to do when one is wrong. Files are
written to a temporary name and renamed, so a reader never sees half a file.

Shared by :mod:`shopguide.retention` (churn) and :mod:`shopguide.targeting` (propensity and
uplift); it sits below the domain packages, beside :mod:`shopguide.compat`.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shopguide.errors import ModelFormatError

#: Types beyond skops's defaults that a HistGradientBoostingClassifier needs.
BOOSTER_TYPES: tuple[str, ...] = (
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)


def _skops() -> Any:
    import skops.io  # a core dependency, imported when a model file is read or written

    return skops.io


def save_state(
    state: dict[str, Any], path: str | Path, trusted: Sequence[str] = BOOSTER_TYPES
) -> Path:
    """Write ``state`` (with ``kind``, ``format_version``, ``features``) to ``path`` atomically.

    Refuses (:class:`ModelFormatError`) a state holding types :func:`load_state` would not
    trust, e.g. a custom base classifier, so a file is never written that cannot be read.
    """
    missing = [k for k in ("kind", "format_version", "features") if k not in state]
    if missing:
        raise ValueError(f"model state lacks {', '.join(missing)}")
    sio = _skops()
    untrusted = set(sio.get_untrusted_types(data=sio.dumps(state))) - set(trusted)
    if untrusted:
        raise ModelFormatError(
            f"cannot save this model safely: it holds {', '.join(sorted(untrusted))}",
            hint="use a scikit-learn classifier as the base estimator",
        )
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    try:
        sio.dump(state, tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def load_state(
    path: str | Path,
    *,
    kind: str,
    format_version: int,
    trusted: Sequence[str] = BOOSTER_TYPES,
    features: Sequence[str] | None = None,
    retrain: str = "retrain the model",
) -> dict[str, Any]:
    """Read a state written by :func:`save_state` and check what it claims to be.

    Parameters
    ----------
    kind, format_version
        What the caller expects; a different value raises :class:`ModelFormatError`.
    trusted
        Type names trusted besides skops's defaults. A file holding any other type is refused.
    features
        If given, the saved feature list must equal it.
    retrain
        The command that writes a fresh file, quoted in every error message.
    """
    sio = _skops()
    file = Path(path)
    if not file.is_file():
        raise ModelFormatError(f"no saved model at {file}", hint=retrain)
    try:
        untrusted = set(sio.get_untrusted_types(file=file)) - set(trusted)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise ModelFormatError(
            f"{file} is not a readable model file ({exc})", hint=retrain
        ) from exc
    if untrusted:
        raise ModelFormatError(
            f"{file} holds types that are not trusted: {', '.join(sorted(untrusted))}; it was "
            "not written by ShopGuide or has been altered, and it was not loaded",
            hint=f"{retrain} (and find out where the file came from)",
        )
    try:
        state = sio.load(file, trusted=list(trusted))
    except Exception as exc:  # any failure to rebuild the objects means an unusable file
        raise ModelFormatError(f"{file} cannot be loaded: {exc}", hint=retrain) from exc
    if not isinstance(state, dict) or state.get("kind") != kind:
        found = state.get("kind") if isinstance(state, dict) else type(state).__name__
        raise ModelFormatError(f"{file} holds a {found!r} model, not a {kind!r}", hint=retrain)
    if state.get("format_version") != format_version:
        raise ModelFormatError(
            f"{file} has model format version {state.get('format_version')!r}; this ShopGuide "
            f"reads version {format_version}",
            hint=retrain,
        )
    if features is not None and list(state.get("features", [])) != list(features):
        raise ModelFormatError(
            f"{file} was trained on features {state.get('features')}, this ShopGuide computes "
            f"{list(features)}",
            hint=retrain,
        )
    return state
