"""Store rows as JSON-ready Python values (what the service and the exports send)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["jsonable", "records"]


def jsonable(value: Any) -> Any:
    """``value`` with numpy and pandas scalars made plain (NaN/NaT as None, times in ISO)."""
    if isinstance(value, pd.Timestamp | datetime):
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A DataFrame as JSON-ready records (NaN/NaT as null, timestamps ISO)."""
    return [
        {str(k): jsonable(v) for k, v in row.items()}
        for row in frame.astype(object).to_dict("records")
    ]
