"""User-facing retention actions: churn risk and lifetime value into the profile.

:func:`train_churn_store` (``shopguide churn train``) trains the churn model on the latest
fully observed window, publishes it as the next version in the model store next to the store
(``models/churn/<version>/model.skops``: a skops archive with a format version and the feature
list, no pickle; see :mod:`shopguide.retention.churn.saved`), prunes old versions as
``shopguide train`` does, and scores every buyer.
:func:`score_store` (``shopguide churn score``, the service's rescoring) loads that saved model
(training and saving one first when there is none), scores every buyer as of the last event,
chooses BG/NBD or Pareto/NBD by its holdout fit and checks it for degeneracy
(:mod:`shopguide.retention.btyd.degeneracy`), adds Gamma-Gamma for value, and stores the
predicted profile fields (churn probability and its reasons, P(alive), expected purchases in 90
days, CLV, expected next order date, and ``value_note``: why P(alive) is empty where the purchase
model cannot tell, see :mod:`shopguide.retention.btyd.value`) in ``user_predictions`` under that
``as_of``.
The report's ``purchase_model`` holds the model used, its check and the reasons.

Win-back audiences, which combine these predictions with the served recommender, are in
:mod:`shopguide.workflows.winback` (this module needs no recommender, so the service's churn
rescoring can use it without an import cycle).
"""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shopguide.columns import Columns as C
from shopguide.config import get_settings
from shopguide.data.suppression import erased_predicate
from shopguide.errors import DataError, ModelFormatError
from shopguide.model_store import ModelStore
from shopguide.retention import ChurnModel, customer_value, train_churn
from shopguide.retention.churn.saved import (
    CHURN,
    MODEL_FILE,
    current_churn_file,
    load_churn,
    publish_churn,
)
from shopguide.store import open_store
from shopguide.store.base import Store


def purchase_events(store: Store) -> pd.DataFrame:
    """Purchase and refund events with the columns the retention models use."""
    return store.query_df(
        """SELECT user_id, item_id, event_type, "timestamp", quantity, price, discount, order_id
           FROM events WHERE event_type IN ('purchase', 'refund')"""
    )


def churn_model_store(store: Store) -> ModelStore | None:
    """The model store next to the store file (``None`` for an in-memory store, whose churn
    model is not saved)."""
    where = str(getattr(store, "path", ":memory:"))
    if where in ("", ":memory:"):
        return None
    return ModelStore.for_store(where)


def churn_model_path(store: Store) -> Path | None:
    """The file of the store's current churn model (``models/churn/<version>/model.skops``
    next to the store file; a ``models/churn.skops`` from before versioning counts too), or
    ``None`` when none is saved or the store is in memory."""
    models = churn_model_store(store)
    return None if models is None else current_churn_file(models)


def _events_or_fail(store: Store) -> pd.DataFrame:
    events = purchase_events(store)
    if events.empty:
        raise DataError("no purchases in the store", hint="ingest purchase events first")
    return events


def train_churn_store(
    store: Store,
    *,
    horizon_days: int = 90,
    model_path: str | Path | None = None,
    write_lock: AbstractContextManager[Any] | None = None,
) -> dict[str, Any]:
    """Train the churn model, save it, score all.

    The model is published as the next version in the model store next to the store file
    (the older versions beyond the newest ``keep_versions`` setting are pruned), or written to
    exactly ``model_path`` when given (no versions). Returns :func:`score_store`'s report with
    ``trained=True``, ``model_file``, ``model_version`` and ``pruned``. ``write_lock``: see
    :func:`score_store`.
    """
    model = train_churn(_events_or_fail(store), horizon_days=horizon_days)
    if model_path is not None:
        path = model.save(model_path)
        return _score_with(store, model, path, trained=True, write_lock=write_lock)
    models = churn_model_store(store)
    if models is None:
        return _score_with(store, model, None, trained=True, write_lock=write_lock)
    version = publish_churn(models, model)
    pruned = models.prune(CHURN, get_settings().keep_versions)
    path = models.version_dir(CHURN, version) / MODEL_FILE
    report = _score_with(store, model, path, trained=True, version=version, write_lock=write_lock)
    return {**report, "pruned": pruned}


def load_churn_model(store: Store, model_path: str | Path | None = None) -> ChurnModel | None:
    """The saved churn model of the store (its current version), or ``None`` when none was
    saved yet; ``model_path`` reads that file instead.

    A file that exists but cannot be used (other format version, other features, untrusted
    content) raises :class:`~shopguide.errors.ModelFormatError` saying to retrain.
    """
    found = _load(store, model_path)
    return None if found is None else found[0]


def _load(
    store: Store, model_path: str | Path | None
) -> tuple[ChurnModel, Path, str | None] | None:
    if model_path is not None:
        path = Path(model_path)
        return (ChurnModel.load(path), path, None) if path.exists() else None
    models = churn_model_store(store)
    saved = None if models is None else load_churn(models)
    return None if saved is None else (saved.model, saved.file, saved.version)


def score_store(
    store: Store,
    *,
    horizon_days: int | None = None,
    model_path: str | Path | None = None,
    write_lock: AbstractContextManager[Any] | None = None,
) -> dict[str, Any]:
    """Score churn and value for every buyer and store them in ``user_predictions``.

    Uses the saved churn model (``shopguide churn train``); when there is none yet, trains one
    with ``horizon_days`` (default 90) and saves it. Asking for a ``horizon_days`` other than
    the saved model's raises :class:`~shopguide.errors.ModelFormatError`: retrain for that
    horizon.

    ``write_lock``, when given, is held while the scores are written (not while the model
    fits): the lock an erasure holds (the service's store lock), so that a scoring which
    read the events before an erasure cannot write the user's rows back after it. Without
    it, the write transaction could start before the erasure commits and so not see the
    user's suppression.
    """
    found = _load(store, model_path)
    if found is None:
        return train_churn_store(
            store, horizon_days=horizon_days or 90, model_path=model_path, write_lock=write_lock
        )
    model, path, version = found
    if horizon_days is not None and horizon_days != model.horizon_days:
        raise ModelFormatError(
            f"the saved churn model predicts a {model.horizon_days}-day horizon, not "
            f"{horizon_days} days",
            hint=f"retrain for that horizon: shopguide churn train --horizon {horizon_days}",
        )
    return _score_with(store, model, path, trained=False, version=version, write_lock=write_lock)


def _score_with(
    store: Store,
    model: ChurnModel,
    path: Path | None,
    *,
    trained: bool,
    version: str | None = None,
    write_lock: AbstractContextManager[Any] | None = None,
) -> dict[str, Any]:
    events = _events_or_fail(store)
    as_of = pd.to_datetime(events[C.TIMESTAMP]).max().floor("D")
    churn = model.score_users(events, as_of, currency=get_settings().currency)
    value, fit_check = customer_value(
        events, as_of, churn["churn_probability"], churn_horizon_days=model.horizon_days
    )
    table = churn[["churn_probability", "reasons"]].join(value, how="outer")
    rows = pd.DataFrame(
        {
            "as_of": as_of,
            C.USER_ID: table.index.astype(str),
            "churn_probability": table["churn_probability"].to_numpy(),
            "churn_reasons": table["reasons"].to_numpy(),
            "p_alive": table["p_alive"].to_numpy(),
            "expected_purchases_90d": table["expected_purchases"].to_numpy(),
            "clv": table["clv"].to_numpy(),
            "expected_next_order": pd.to_datetime(table["expected_next_order"]).to_numpy(),
            "value_note": table["value_note"].to_numpy(),
        }
    )
    # the transaction starts holding the erasure's lock, so it sees every erasure so far
    held = write_lock if write_lock is not None else contextlib.nullcontext()
    with held, store.transaction():
        store.execute("DELETE FROM user_predictions WHERE as_of = ?", [as_of.to_pydatetime()])
        store.append("user_predictions", rows)
        # a scoring that read the events before an erasure must not write the user back
        store.execute(
            f"DELETE FROM user_predictions WHERE as_of = ? AND {erased_predicate(C.USER_ID)}",
            [as_of.to_pydatetime()],
        )
    report = {
        **getattr(model, "report_", {}),
        "horizon_days": model.horizon_days,
        "as_of": str(as_of.date()),
        "scored_users": len(churn),
        "model_file": None if path is None else str(path),
        "model_version": version,
        "trained": trained,
        "purchase_model": fit_check.to_dict(),
    }
    return {**report, "users": len(rows), "mean_churn_probability": float(
        np.nanmean(rows["churn_probability"])
    ), "total_clv": float(np.nansum(rows["clv"]))}  # fmt: skip


def score_retention(
    db: str | Path, *, horizon_days: int | None = None, train: bool = False
) -> dict[str, Any]:
    """:func:`train_churn_store` (``train=True``) or :func:`score_store` on the store at ``db``."""
    with open_store(db, create=False) as store:
        if train:
            return train_churn_store(store, horizon_days=horizon_days or 90)
        return score_store(store, horizon_days=horizon_days)


def predictions(store: Store, as_of: str | None = None) -> pd.DataFrame:
    """The stored predicted fields (latest version unless ``as_of``), riskiest first."""
    when = as_of or store.scalar("SELECT max(as_of) FROM user_predictions")
    if when is None:
        raise DataError("no churn or value scores yet", hint="run: shopguide churn score")
    return store.query_df(
        "SELECT * FROM user_predictions WHERE as_of = ? "
        "ORDER BY churn_probability DESC NULLS LAST, user_id",
        [pd.Timestamp(when).to_pydatetime()],
    )
