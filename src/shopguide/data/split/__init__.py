"""Train/test splitters over a canonical events frame.

Every splitter turns an events :class:`pandas.DataFrame` (columns ``user_id``, ``item_id``,
``event_type``, ``timestamp`` and any others, which are kept) into one or more :class:`Split`
objects. A split never puts an event in both halves and never leaks the future of a test
window into training. Test events whose user or item never occurs in the training half are
*cold*: a collaborative model cannot score them, so by default they are dropped from the test
half and counted in :class:`SplitReport` (and kept, for inspection, in ``Split.dropped``).

The splitters:

==========================  =================================================================
:class:`TemporalSplit`      one global cut in time: train before it, test on/after it
:class:`LastNSplit`         per user, the last ``n`` events by time are test (leave-last-out)
:class:`RandomRatioSplit`   per user, a random share of the events is test
:class:`UserKFold`          users in ``n_folds`` disjoint groups; each fold holds out a part of
                            its users' histories, every other event trains
:class:`RollingWindowSplit` several consecutive test windows in time, each trained on the past
==========================  =================================================================

Exact definitions are in ``docs/metrics.md``. Frames keep their original index, so
``train.index``, ``test.index`` and ``dropped.index`` partition the input's index.
"""

from __future__ import annotations

from shopguide.data.split.base import Split, SplitReport, Splitter
from shopguide.data.split.per_user import LastNSplit, RandomRatioSplit, UserKFold
from shopguide.data.split.temporal import RollingWindowSplit, TemporalSplit

__all__ = [
    "LastNSplit",
    "RandomRatioSplit",
    "RollingWindowSplit",
    "Split",
    "SplitReport",
    "Splitter",
    "TemporalSplit",
    "UserKFold",
]
