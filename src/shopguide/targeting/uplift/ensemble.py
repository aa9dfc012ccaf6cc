"""An average of uplift models: :class:`UpliftAverage`.

Uplift models that learn differently make different mistakes: an uplift forest splits the
users on where the treated and control response rates drift apart, a DR-learner regresses a
doubly robust pseudo-outcome built from two response models. Every model here estimates the
same quantity in the same unit (treated minus control response probability), so the plain
mean of their estimates is still an uplift, and its errors partly cancel.

The members are named by their short names (``uplift_forest``, ``x_learner``, ...), so the
parameters stay plain values and the fitted average saves as its members' fitted parts,
without pickle. The default pair (a 300-tree ED forest and the DR-learner) was chosen among
averages of the forest with the X- and DR-learner by 5-fold cross-fitting inside each
training half of the Hillstrom benchmark (``benchmarks/bench_uplift.py``), never its test
halves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from shopguide.errors import DataError, ModelFormatError
from shopguide.targeting.uplift._base import _RETRAIN, FloatArray, IntArray, UpliftModel
from shopguide.targeting.uplift.forest import UpliftRandomForest
from shopguide.targeting.uplift.meta import (
    ClassTransformation,
    DRLearner,
    SLearner,
    TLearner,
    XLearner,
)

#: The models an average may hold, by short name (the names of ``UPLIFT_MODELS``).
MEMBERS: dict[str, type[UpliftModel]] = {
    "t_learner": TLearner,
    "class_transformation": ClassTransformation,
    "s_learner": SLearner,
    "x_learner": XLearner,
    "dr_learner": DRLearner,
    "uplift_forest": UpliftRandomForest,
}
#: Parameters a member gets unless ``member_params`` says otherwise.
DEFAULT_MEMBER_PARAMS: dict[str, dict[str, Any]] = {"uplift_forest": {"n_estimators": 300}}


class UpliftAverage(UpliftModel):
    """The mean uplift of several models, each fit on all the data.

    Parameters
    ----------
    members
        Short names of the models averaged (each at most once), e.g.
        ``("uplift_forest", "dr_learner")``, the default.
    member_params
        Constructor parameters per member name, plain values only; a member not named here
        gets :data:`DEFAULT_MEMBER_PARAMS` (300 trees for the forest) or its own defaults.
    n_threads
        Threads each member may use.
    random_state
        Seed handed to every member.
    """

    def __init__(
        self,
        members: tuple[str, ...] = ("uplift_forest", "dr_learner"),
        member_params: dict[str, dict[str, Any]] | None = None,
        n_threads: int | None = 1,
        random_state: int = 0,
    ) -> None:
        self.members = members
        self.member_params = member_params
        self.n_threads = n_threads
        self.random_state = random_state

    def _members(self) -> list[UpliftModel]:
        names = list(self.members)
        unknown = [n for n in names if n not in MEMBERS]
        if not names or unknown or len(set(names)) != len(names):
            raise DataError(
                f"members must be distinct uplift model names, got {names}",
                hint=f"choose from {', '.join(sorted(MEMBERS))}",
            )
        given = self.member_params or {}
        if set(given) - set(names):
            raise DataError(f"member_params names models not in members: {sorted(given)}")
        return [
            MEMBERS[n](
                **{
                    **given.get(n, DEFAULT_MEMBER_PARAMS.get(n, {})),
                    "n_threads": self.n_threads,
                    "random_state": self.random_state,
                }
            )
            for n in names
        ]

    def _fit(self, M: FloatArray, t: IntArray, y: IntArray) -> None:
        self.models_ = [m.fit(M, t, y) for m in self._members()]

    def _predict(self, M: FloatArray) -> FloatArray:
        for m in self.models_:
            if not hasattr(m, "treatment_rate_"):  # restored from a file: the average's rate
                m.treatment_rate_ = self.treatment_rate_
        return np.asarray(np.mean([m._predict(M) for m in self.models_], axis=0), dtype="float64")

    def _fitted_state(self) -> dict[str, Any]:
        return {
            f"{i}:{name}": m._fitted_state()
            for i, (name, m) in enumerate(zip(self.members, self.models_, strict=True))
        }

    def _restore(self, fitted: dict[str, Any], n_features: int, path: Path) -> None:
        members = self._members()
        keys = [f"{i}:{name}" for i, name in enumerate(self.members)]
        if set(fitted) != set(keys):
            raise ModelFormatError(f"{path}: the average's members do not match", hint=_RETRAIN)
        for key, m in zip(keys, members, strict=True):
            part = fitted[key]
            if not isinstance(part, dict):
                raise ModelFormatError(f"{path}: member {key} is not readable", hint=_RETRAIN)
            m._restore(part, n_features, path)
            m.n_features_in_ = n_features
            m.fitted_ = True
        self.models_ = members
