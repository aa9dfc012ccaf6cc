"""Kevin Hillstrom's MineThatData e-mail campaign data (2008), bundled with the package.

64,000 customers who bought in the last twelve months were randomly split into three equal
groups: one received a men's merchandise e-mail, one a women's merchandise e-mail, one no e-mail.
The outcome is whether they visited the site, converted and how much they spent in the two
weeks after. Because the split is randomised it is the standard public test bed for uplift
models (see ``data/bundled/hillstrom/LICENSE.md`` for the credit).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from shopguide.errors import FileReadError, MissingColumnsError

#: The three arms of the experiment, as spelled in the ``segment`` column.
HILLSTROM_SEGMENTS = ("Mens E-Mail", "Womens E-Mail", "No E-Mail")
HILLSTROM_COLUMNS = (
    "recency",
    "history_segment",
    "history",
    "mens",
    "womens",
    "zip_code",
    "newbie",
    "channel",
    "segment",
    "visit",
    "conversion",
    "spend",
)


def hillstrom_path() -> Path:
    """Path of the bundled ``hillstrom.csv.gz``."""
    return Path(
        str(resources.files("shopguide.data").joinpath("bundled", "hillstrom", "hillstrom.csv.gz"))
    )


def load_hillstrom(path: str | Path | None = None) -> pd.DataFrame:
    """Read the Hillstrom data with typed columns.

    Returns
    -------
    DataFrame
        64,000 rows: ``recency`` (int64, months since last purchase), ``history_segment``
        (ordered category), ``history`` (float64, dollars spent last year), ``mens``,
        ``womens``, ``newbie`` (bool), ``zip_code``, ``channel`` (category), ``segment``
        (category, the treatment arm), ``visit``, ``conversion`` (int64 0/1) and ``spend``
        (float64).
    """
    file = Path(path) if path is not None else hillstrom_path()
    try:
        raw = pd.read_csv(file)
    except (OSError, ValueError) as exc:
        raise FileReadError(str(file), str(exc)) from exc
    missing = [c for c in HILLSTROM_COLUMNS if c not in raw.columns]
    if missing:
        raise MissingColumnsError(str(file), missing, list(raw.columns))
    out = pd.DataFrame(
        {
            "recency": raw["recency"].astype("int64"),
            "history_segment": pd.Categorical(
                raw["history_segment"],
                categories=sorted(raw["history_segment"].unique()),
                ordered=True,
            ),
            "history": raw["history"].astype("float64"),
            "mens": raw["mens"].astype(bool),
            "womens": raw["womens"].astype(bool),
            "zip_code": raw["zip_code"].astype("category"),
            "newbie": raw["newbie"].astype(bool),
            "channel": raw["channel"].astype("category"),
            "segment": pd.Categorical(raw["segment"], categories=list(HILLSTROM_SEGMENTS)),
            "visit": raw["visit"].astype("int64"),
            "conversion": raw["conversion"].astype("int64"),
            "spend": raw["spend"].astype("float64"),
        }
    )
    return out


def hillstrom_features(df: pd.DataFrame) -> pd.DataFrame:
    """Numeric model features of the Hillstrom customers (one-hot for the categories).

    The treatment and outcome columns (``segment``, ``visit``, ``conversion``, ``spend``) are
    left out, so the result can go straight into an uplift model's ``X``.
    """
    base = pd.DataFrame(
        {
            "recency": df["recency"].astype("float64"),
            "history": df["history"].astype("float64"),
            "log_history": np.log1p(df["history"].astype("float64")),
            "mens": df["mens"].astype("float64"),
            "womens": df["womens"].astype("float64"),
            "newbie": df["newbie"].astype("float64"),
        }
    )
    dummies = pd.get_dummies(
        df[["zip_code", "channel"]].astype(str), prefix=["zip", "channel"], dtype="float64"
    )
    return pd.concat([base, dummies], axis=1)
