"""Hillstrom uplift, ShopGuide's learners and the peers side by side in one run.

    python benchmarks/bench_uplift.py [--seeds 5] [--outcome visit|conversion] [--no-peers] [--all]

Data: Hillstrom, Womens e-mail vs no e-mail (42,693 customers), outcome ``visit``, features
recency, history, mens, womens, zip code, newbie, channel (``hillstrom_features``). Each seed
splits the customers into two random halves (train, test); every model sees the same halves.

Prints, per model, the mean uplift@30 % over the seeds ("overall" strategy, see
``shopguide.targeting.metrics``: the treated minus the control visit rate among the top 30 %
of the held-out half), its standard deviation and the per-seed values, uplift@10/20 % and the
normalised Qini coefficient; then a paired comparison: for each ShopGuide learner against each
peer, the per-seed differences of uplift@30 % (same halves, so the split noise cancels), their
mean and the number of seeds won. Random targeting gives the average effect (about 0.045).

By default the run keeps to the strongest learners on each side (a few minutes on a shared
2-core machine); ``--all`` adds the S-learner, class transformation, the KL and the honest
forest, and scikit-uplift's class transformation.

Peers, when installed (``pip install scikit-uplift causalml``): scikit-uplift's two-model
learner with dependent data representation (``TwoModels(method="ddr_control")``) and its
class transformation, causalml's uplift random forest (ED, 100 trees) and X-learner. Peers
use the same gradient-boosting base estimators as ShopGuide's meta-learners, and every model
runs on one thread.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from shopguide.data.datasets.hillstrom import hillstrom_features, load_hillstrom
from shopguide.targeting.metrics import qini_auc_score, uplift_at_k
from shopguide.targeting.uplift import (
    ClassTransformation,
    DRLearner,
    SLearner,
    TLearner,
    UpliftAverage,
    UpliftRandomForest,
    XLearner,
    default_classifier,
    default_regressor,
)

Scorer = Callable[[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _ours(make: Callable[[int], Any]) -> Scorer:
    def score(seed: int, X: np.ndarray, t: np.ndarray, y: np.ndarray, Xte: np.ndarray) -> Any:
        return make(seed).fit(X, t, y).predict_uplift(Xte)

    return score


SHOPGUIDE: dict[str, Scorer] = {
    "uplift average (forest 300 + DR)": _ours(lambda s: UpliftAverage(random_state=s)),
    "uplift forest ED": _ours(lambda s: UpliftRandomForest(criterion="ED", random_state=s)),
    "X-learner": _ours(lambda s: XLearner(random_state=s)),
    "DR-learner": _ours(lambda s: DRLearner(random_state=s)),
    "T-learner": _ours(lambda s: TLearner(random_state=s)),
}
#: Added by ``--all``.
SHOPGUIDE_MORE: dict[str, Scorer] = {
    "uplift forest ED 300 trees": _ours(
        lambda s: UpliftRandomForest(n_estimators=300, random_state=s)
    ),
    "uplift forest ED honest": _ours(lambda s: UpliftRandomForest(honest=True, random_state=s)),
    "uplift forest KL": _ours(lambda s: UpliftRandomForest(criterion="KL", random_state=s)),
    "S-learner": _ours(lambda s: SLearner(random_state=s)),
    "class transformation": _ours(lambda s: ClassTransformation(random_state=s)),
}


def _peers(everything: bool) -> dict[str, Scorer]:
    peers: dict[str, Scorer] = {}
    try:
        from sklift.models import ClassTransformation as SkliftCT
        from sklift.models import TwoModels
    except ImportError:
        print("scikit-uplift is not installed (pip install scikit-uplift): left out")
    else:

        def two_models(seed: int, X: Any, t: Any, y: Any, Xte: Any) -> Any:
            m = TwoModels(
                estimator_trmnt=default_classifier(seed),
                estimator_ctrl=default_classifier(seed),
                method="ddr_control",
            )
            return m.fit(X, y, t).predict(Xte)

        def sklift_ct(seed: int, X: Any, t: Any, y: Any, Xte: Any) -> Any:
            return SkliftCT(default_classifier(seed)).fit(X, y, t).predict(Xte)

        peers["scikit-uplift two models (ddr_control)"] = two_models
        if everything:
            peers["scikit-uplift class transformation"] = sklift_ct
    try:
        from causalml.inference.meta import BaseXClassifier
        from causalml.inference.tree import UpliftRandomForestClassifier
    except ImportError:
        print("causalml is not installed (pip install causalml): left out")
    else:

        def causalml_forest(seed: int, X: Any, t: Any, y: Any, Xte: Any) -> Any:
            m = UpliftRandomForestClassifier(
                n_estimators=100, evaluationFunction="ED", control_name="0", random_state=seed
            )
            m.fit(X, treatment=np.where(t == 1, "1", "0"), y=y)
            return np.asarray(m.predict(Xte)).ravel()

        def causalml_x(seed: int, X: Any, t: Any, y: Any, Xte: Any) -> Any:
            m = BaseXClassifier(
                outcome_learner=default_classifier(seed), effect_learner=default_regressor(seed)
            )
            m.fit(X, treatment=t, y=y, p=np.full(len(t), t.mean()))
            return np.asarray(m.predict(Xte, p=np.full(len(Xte), t.mean()))).ravel()

        peers["causalml uplift forest ED"] = causalml_forest
        peers["causalml X-learner"] = causalml_x
    return peers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--outcome", default="visit", choices=["visit", "conversion"])
    parser.add_argument("--no-peers", action="store_true", help="ShopGuide's learners only")
    parser.add_argument("--all", action="store_true", help="every learner, not the strongest")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=FutureWarning)

    df = load_hillstrom()
    df = df[df["segment"].isin(["Womens E-Mail", "No E-Mail"])]
    X = hillstrom_features(df).to_numpy()
    t = (df["segment"] == "Womens E-Mail").to_numpy().astype(int)
    y = df[args.outcome].to_numpy()
    ate = y[t == 1].mean() - y[t == 0].mean()
    print(
        f"Hillstrom Womens e-mail vs no e-mail: {len(y)} customers, outcome {args.outcome}, "
        f"average effect {ate:.4f}; random 50/50 halves, seeds 0-{args.seeds - 1}\n"
    )
    halves = [
        train_test_split(np.arange(len(y)), test_size=0.5, random_state=s)
        for s in range(args.seeds)
    ]
    peers = {} if args.no_peers else _peers(args.all)
    ours = {**SHOPGUIDE, **(SHOPGUIDE_MORE if args.all else {})}
    u30: dict[str, np.ndarray] = {}
    rows = []
    for name, score in [*ours.items(), *peers.items()]:
        t0 = time.perf_counter()
        res: dict[str, list[float]] = {"u10": [], "u20": [], "u30": [], "qini": []}
        for seed, (tr, te) in enumerate(halves):
            # one thread each, as ShopGuide's learners use by default: on a shared machine
            # the peers' base learners otherwise oversubscribe the cores and crawl
            with threadpool_limits(limits=1):
                u = np.asarray(score(seed, X[tr], t[tr], y[tr], X[te]), dtype="float64")
            for k in (10, 20, 30):
                res[f"u{k}"].append(uplift_at_k(u, t[te], y[te], k=k / 100))
            res["qini"].append(qini_auc_score(u, t[te], y[te]))
        u30[name] = np.array(res["u30"])
        rows.append(
            {
                "model": name,
                "uplift@30%": np.mean(res["u30"]),
                "sd": np.std(res["u30"], ddof=1) if args.seeds > 1 else float("nan"),
                "per seed": " ".join(f"{v:.4f}" for v in res["u30"]),
                "uplift@10%": np.mean(res["u10"]),
                "uplift@20%": np.mean(res["u20"]),
                "qini coef": np.mean(res["qini"]),
                "seconds": time.perf_counter() - t0,
            }
        )
        print(f"  {name}: uplift@30% {np.mean(res['u30']):.4f}", flush=True)
    table = pd.DataFrame(rows).set_index("model")
    print()
    print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    if peers:
        print("\nPaired comparison, uplift@30 % (ShopGuide minus peer, per seed)")
        pairs = []
        for mine in ours:
            for peer in peers:
                d = u30[mine] - u30[peer]
                pairs.append(
                    {
                        "ShopGuide": mine,
                        "peer": peer,
                        "mean diff": d.mean(),
                        "seeds won": f"{int((d > 0).sum())}/{len(d)}",
                        "per seed": " ".join(f"{v:+.4f}" for v in d),
                    }
                )
        print(pd.DataFrame(pairs).to_string(index=False, float_format=lambda v: f"{v:+.4f}"))


if __name__ == "__main__":
    main()
