"""Top-n answers as a tidy frame: the one place padded ``(ids, scores)`` arrays become rows."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from shopguide.columns import Columns
from shopguide.data.idmap import IdMap

__all__ = ["ranked_frame"]


def ranked_frame(
    ids: np.ndarray, scores: np.ndarray, user_ids: Sequence[object] | np.ndarray, items: IdMap
) -> pd.DataFrame:
    """Padded top-n arrays (``-1`` for no item) as rows ``user_id, rank, item_id, score``.

    Row ``i`` of ``ids`` and ``scores`` belongs to ``user_ids[i]`` (an external id); rows stay
    in that order and each user's items best first, ranked from 1.
    """
    user_pos, pos = np.nonzero(ids >= 0)
    return pd.DataFrame(
        {
            Columns.USER_ID: np.asarray(user_ids, dtype=object)[user_pos].astype(str),
            Columns.RANK: (pos + 1).astype(np.int64),
            Columns.ITEM_ID: items.to_external(ids[user_pos, pos]),
            Columns.SCORE: scores[user_pos, pos].astype(np.float64),
        }
    )
