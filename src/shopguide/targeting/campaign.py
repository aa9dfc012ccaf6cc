"""Campaign targeting (营销活动定向): who should receive a campaign, and why.

A :class:`Campaign` says what it promotes (items, categories, brands, a discount) and its
constraints (audience size or budget, exclusions). The steps:

1. :func:`campaign_features` — one row per user, computed in DuckDB from events up to ``as_of``
   (never later): recency, orders, net spend, share of spend bought on discount, the user's
   share of spend on the promoted items and the **promotion affinity** (that share divided by
   the population's share), and when the user last bought a promoted item. The caller may add
   the user's recommendation score for the promoted items (``rec_score``).
2. A propensity score in [0, 1] for each user:

   * :func:`rule_based_score` when no past responses exist — a documented weighted sum of
     percentile ranks (``RULE_WEIGHTS``): recommendation score 0.35, promotion affinity 0.25,
     recency ``exp(-days / 90)`` 0.20, orders 0.10, and 0.10 for price sensitivity (share of
     spend on discount) when the campaign carries a discount, else for spend;
   * :class:`PropensityModel` when past campaigns' responses exist — a standardised logistic
     regression (scikit-learn) whose per-user contributions ``coef × z`` are the reasons.
3. :func:`select_audience` — removes excluded users (opted out, contacted in the last
   ``exclude_contacted_days``, bought a promoted item in the last ``exclude_bought_days``),
   takes the best users up to ``audience_size`` or ``budget / cost_per_contact``, states each
   user's main reasons, and estimates the expected responses against a random audience of the
   same size drawn from the eligible users (the sum of their propensities).
4. :func:`export_audience` — CSV and JSON with the campaign's settings, for audit.

Uplift scores (:mod:`shopguide.targeting.uplift`) plug into step 3 the same way as
propensities when a past campaign had a randomised control group.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from shopguide.errors import DataError, ModelFormatError, NotFittedError
from shopguide.model_files import load_state, save_state
from shopguide.store.base import Store

#: Weights of the rule-based score (they sum to 1).
RULE_WEIGHTS: Final = {
    "rec_score": 0.35,
    "promo_affinity": 0.25,
    "recency": 0.20,
    "orders": 0.10,
    "price_or_spend": 0.10,
}
#: ``kind`` and format version of a saved :class:`PropensityModel`.
PROPENSITY_MODEL_KIND: Final = "shopguide.propensity"
PROPENSITY_FORMAT_VERSION: Final = 1
#: Features a trained propensity model uses, in order.
MODEL_FEATURES: Final = (
    "rec_score",
    "promo_affinity",
    "promo_share",
    "recency_days",
    "orders",
    "net_spend",
    "discount_share",
)
_REASON_TEXT: Final = {
    "rec_score": "the recommender ranks the promoted items high for them",
    "promo_affinity": "buys what is promoted {value:.1f}× as much as the average shopper",
    "promo_share": "{value:.0%} of their spend is on what is promoted",
    "recency": "bought recently ({days:.0f} days ago)",
    "recency_days": "bought recently ({days:.0f} days ago)",
    "orders": "frequent buyer ({orders:.0f} orders)",
    "price_or_spend": "responds to discounts ({share:.0%} of spend on discount)",
    "discount_share": "responds to discounts ({share:.0%} of spend on discount)",
    "net_spend": "high spender ({spend:,.0f} spent)",
    "spend": "high spender ({spend:,.0f} spent)",
}


@dataclass(frozen=True)
class Campaign:
    """What a campaign promotes and the rules its audience must follow.

    Categories match a path prefix (``"Home"`` matches ``"Home > Kitchen"``). Give either
    ``audience_size`` or ``budget`` (with ``cost_per_contact``); neither means every eligible
    user.
    """

    name: str
    items: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    discount: float = 0.0
    audience_size: int | None = None
    budget: float | None = None
    cost_per_contact: float = 1.0
    opted_out: tuple[str, ...] = ()
    exclude_contacted_days: int | None = None
    exclude_bought_days: int | None = None

    def __post_init__(self) -> None:
        if not (self.items or self.categories or self.brands):
            raise DataError(
                f"campaign {self.name!r} promotes nothing",
                hint="give items, categories or brands to promote",
            )
        if not 0.0 <= self.discount < 1.0:
            raise DataError("discount must be a fraction in [0, 1)", hint="for 20 % off use 0.2")
        if self.audience_size is not None and self.audience_size < 0:
            raise DataError("audience_size must be >= 0")
        if self.budget is not None and (self.budget < 0 or self.cost_per_contact <= 0):
            raise DataError("budget must be >= 0 and cost_per_contact > 0")

    @property
    def max_audience(self) -> int | None:
        """The most users the constraints allow (``None``: no limit)."""
        limits = []
        if self.audience_size is not None:
            limits.append(self.audience_size)
        if self.budget is not None:
            limits.append(int(self.budget // self.cost_per_contact))
        return min(limits) if limits else None

    def settings(self) -> dict[str, Any]:
        """The campaign as plain data (for audit records)."""
        return asdict(self)


def promoted_items(store: Store, campaign: Campaign) -> pd.DataFrame:
    """The catalogue items a campaign promotes (``item_id``, ``category``, ``brand``)."""
    conditions, params = _promotion_filter(campaign, "i")
    return store.query_df(
        f"SELECT i.item_id, i.category, i.brand FROM items i WHERE {conditions} ORDER BY 1",
        params,
    )


def _promotion_filter(campaign: Campaign, alias: str) -> tuple[str, list[Any]]:
    parts: list[str] = []
    params: list[Any] = []
    if campaign.items:
        parts.append(f"{alias}.item_id IN (SELECT unnest(?::VARCHAR[]))")
        params.append(list(campaign.items))
    for category in campaign.categories:
        parts.append(f"({alias}.category = ? OR starts_with({alias}.category, ?))")
        params += [category, category + " > "]
    if campaign.brands:
        parts.append(f"{alias}.brand IN (SELECT unnest(?::VARCHAR[]))")
        params.append(list(campaign.brands))
    return "(" + " OR ".join(parts) + ")", params


def campaign_features(
    store: Store,
    campaign: Campaign,
    as_of: datetime | str,
    rec_scores: pd.Series | None = None,
    candidates: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per user with purchases up to ``as_of`` (see the module docstring).

    ``rec_scores`` (indexed by ``user_id``) is the user's recommendation score for the
    promoted items; users without one get 0. ``candidates`` restricts (and extends) the rows
    to those users: a candidate with no purchase yet gets zeros and the longest recency seen.
    """
    as_of = pd.Timestamp(as_of).to_pydatetime()
    promo, params = _promotion_filter(campaign, "i")
    frame = store.query_df(
        f"""
        WITH lines AS (
            SELECT e.user_id, e.order_id, e."timestamp",
                   CASE WHEN e.event_type = 'refund' THEN -1 ELSE 1 END
                       * (e.quantity * coalesce(e.price, 0) - coalesce(e.discount, 0)) AS value,
                   e.event_type = 'purchase' AND coalesce(e.discount, 0) > 0 AS discounted,
                   coalesce({promo}, false) AS promoted
            FROM events e LEFT JOIN items i USING (item_id)
            WHERE e.event_type IN ('purchase', 'refund') AND e."timestamp" <= ?
        ), per_user AS (
            SELECT user_id,
                   date_diff('second', max("timestamp"), ?::TIMESTAMP) / 86400.0 AS recency_days,
                   count(DISTINCT coalesce(order_id, strftime("timestamp", '%Y-%m-%d')))
                       AS orders,
                   sum(value) AS net_spend,
                   sum(CASE WHEN discounted THEN value ELSE 0 END) AS discounted_spend,
                   sum(CASE WHEN promoted THEN value ELSE 0 END) AS promo_spend,
                   max(CASE WHEN promoted THEN "timestamp" END) AS last_promoted_purchase
            FROM lines GROUP BY user_id
        ), population AS (
            SELECT sum(promo_spend) / nullif(sum(net_spend), 0) AS share FROM per_user
        )
        SELECT p.user_id, p.recency_days, p.orders, p.net_spend,
               coalesce(greatest(p.discounted_spend, 0) / nullif(greatest(p.net_spend, 0), 0), 0)
                   AS discount_share,
               coalesce(greatest(p.promo_spend, 0) / nullif(greatest(p.net_spend, 0), 0), 0)
                   AS promo_share,
               coalesce(greatest(p.promo_spend, 0) / nullif(greatest(p.net_spend, 0), 0)
                   / nullif(population.share, 0), 0) AS promo_affinity,
               p.last_promoted_purchase
        FROM per_user p, population
        ORDER BY p.user_id
        """,
        [*params, as_of, as_of],
    ).set_index("user_id")
    if candidates is not None:
        longest = float(frame["recency_days"].max()) + 1.0 if len(frame) else 365.0
        frame = frame.reindex(pd.Index(list(dict.fromkeys(candidates)), name="user_id"))
        numeric = frame.columns.drop("last_promoted_purchase")
        frame["recency_days"] = frame["recency_days"].fillna(longest)
        frame[numeric] = frame[numeric].fillna(0.0)
    frame["rec_score"] = 0.0
    if rec_scores is not None:
        frame["rec_score"] = rec_scores.reindex(frame.index).fillna(0.0).astype(float)
    return frame


def _pct(values: pd.Series) -> pd.Series:
    """Percentile rank in [0, 1] (ties share the average rank; a constant column gives 0.5)."""
    if values.nunique() <= 1:
        return pd.Series(0.5, index=values.index)
    return (values.rank(method="average") - 1) / (len(values) - 1)


def rule_components(features: pd.DataFrame, campaign: Campaign) -> pd.DataFrame:
    """The weighted parts of :func:`rule_based_score`, one column per ``RULE_WEIGHTS`` key."""
    last = (
        _pct(features["discount_share"]) if campaign.discount > 0 else _pct(features["net_spend"])
    )
    parts = pd.DataFrame(
        {
            "rec_score": _pct(features["rec_score"]),
            "promo_affinity": _pct(features["promo_affinity"]),
            "recency": np.exp(-features["recency_days"].clip(lower=0) / 90.0),
            "orders": _pct(features["orders"]),
            "price_or_spend": last,
        },
        index=features.index,
    )
    return parts * pd.Series(RULE_WEIGHTS)


def rule_based_score(features: pd.DataFrame, campaign: Campaign) -> pd.Series:
    """Propensity in [0, 1] without past responses (weights in ``RULE_WEIGHTS``)."""
    return rule_components(features, campaign).sum(axis=1).rename("score")


class PropensityModel:
    """Response propensity learned from past campaigns (standardised logistic regression).

    Parameters
    ----------
    features:
        Columns of :func:`campaign_features` to use.
    C:
        Inverse regularisation strength of the logistic regression.
    """

    def __init__(self, features: Sequence[str] = MODEL_FEATURES, C: float = 1.0) -> None:
        self.features = tuple(features)
        self.C = C

    def _matrix(self, frame: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.features if c not in frame.columns]
        if missing:
            raise DataError(f"feature column(s) missing: {', '.join(missing)}")
        values = frame[list(self.features)].astype(float).to_numpy()
        return np.log1p(np.clip(values, 0, None)) * np.sign(values)

    def fit(self, frame: pd.DataFrame, responded: Sequence[bool] | np.ndarray) -> PropensityModel:
        """Learn from features of past audiences and whether each user responded."""
        y = np.asarray(responded, dtype=bool)
        if len(y) != len(frame):
            raise DataError("responded must have one value per feature row")
        if y.all() or not y.any():
            raise DataError("past responses must contain both responders and non-responders")
        X = self._matrix(frame)
        self.scaler_ = StandardScaler().fit(X)
        self.model_ = LogisticRegression(C=self.C, max_iter=1000).fit(self.scaler_.transform(X), y)
        self.coef_ = self.model_.coef_[0]
        return self

    def _check(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError(type(self).__name__)

    def predict_proba(self, frame: pd.DataFrame) -> pd.Series:
        """Probability of responding, per row of ``frame``."""
        self._check()
        z = self.scaler_.transform(self._matrix(frame))
        return pd.Series(self.model_.predict_proba(z)[:, 1], index=frame.index, name="score")

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Each feature's push on each user's log-odds (``coef × standardised value``)."""
        self._check()
        z = self.scaler_.transform(self._matrix(frame))
        return pd.DataFrame(z * self.coef_, index=frame.index, columns=list(self.features))

    def save(self, path: str | Path) -> Path:
        """Write the fitted model to ``path``: a skops archive (no pickle) with a format
        version and the feature list (see :mod:`shopguide.model_files`)."""
        self._check()
        state = {
            "kind": PROPENSITY_MODEL_KIND,
            "format_version": PROPENSITY_FORMAT_VERSION,
            "features": list(self.features),
            "params": {"C": float(self.C)},
            "scaler": self.scaler_,
            "model": self.model_,
        }
        return save_state(state, path)

    @classmethod
    def load(cls, path: str | Path) -> PropensityModel:
        """Read a model written by :meth:`save`; a file of another kind or format version,
        with unknown features or untrusted content raises
        :class:`~shopguide.errors.ModelFormatError` saying to retrain."""
        retrain = "retrain the propensity model on past responses and save it again"
        state = load_state(
            path, kind=PROPENSITY_MODEL_KIND, format_version=PROPENSITY_FORMAT_VERSION,
            retrain=retrain,
        )  # fmt: skip
        features = [str(f) for f in state["features"]]
        scaler, model = state["scaler"], state["model"]
        unknown = [f for f in features if f not in MODEL_FEATURES]
        if (
            unknown
            or not isinstance(scaler, StandardScaler)
            or not isinstance(model, LogisticRegression)
            or scaler.n_features_in_ != len(features)
            or model.n_features_in_ != len(features)
        ):
            raise ModelFormatError(
                f"{path} does not match this ShopGuide's propensity features"
                + (f" (unknown: {', '.join(unknown)})" if unknown else ""),
                hint=retrain,
            )
        out = cls(features=features, C=float(state["params"]["C"]))
        out.scaler_, out.model_ = scaler, model
        out.coef_ = model.coef_[0]
        return out


@dataclass
class Audience:
    """A selected audience with its estimate against a random audience of the same size."""

    campaign: Campaign
    users: pd.DataFrame
    eligible: int
    excluded: dict[str, int]
    expected_responses: float
    random_expected_responses: float
    calibrated: bool = False
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    #: The recommender behind the ``rec_score`` feature: ``used``, ``model``, ``version`` and
    #: ``reason`` (why none was used, or where the model came from).
    recommender: dict[str, Any] = field(
        default_factory=lambda: {
            "used": False,
            "model": None,
            "version": None,
            "reason": "no recommender scores were given",
        }
    )

    @property
    def expected_lift(self) -> float:
        """Expected responses over a random audience's (1.0 = no better than random)."""
        if self.random_expected_responses <= 0:
            return float("nan")
        return self.expected_responses / self.random_expected_responses

    def summary(self) -> dict[str, Any]:
        """The audit record: settings, sizes, exclusions and the estimate."""
        return {
            "campaign": self.campaign.settings(),
            "created_at": self.created_at,
            "size": len(self.users),
            "eligible": self.eligible,
            "excluded": self.excluded,
            "expected_responses": round(self.expected_responses, 3),
            "random_expected_responses": round(self.random_expected_responses, 3),
            "expected_lift": round(self.expected_lift, 3),
            # only a trained propensity model's scores are probabilities; the rule-based score
            # ranks users, so its sums compare audiences but do not count responses
            "scores_are_probabilities": self.calibrated,
            "recommender": dict(self.recommender),
        }


def reasons_from(
    contributions: pd.DataFrame,
    features: pd.DataFrame,
    top: int = 2,
    reference: pd.Series | None = None,
) -> pd.Series:
    """The ``top`` largest contributions of each user above the ``reference``, in words.

    ``reference`` is what the typical scored user gets from each part (see
    :func:`typical_contributions`): a part is a reason only where the user gets more than that,
    so a part that is the same for everyone (a constant feature, such as a recommendation
    score of 0 for all when no model is published) is never anyone's reason.
    """
    texts: list[str] = []
    values = contributions.to_numpy(dtype="float64")
    if reference is not None:
        values = values - reference.reindex(contributions.columns).fillna(0.0).to_numpy()
        values = np.where(np.isclose(values, 0.0, atol=1e-12), 0.0, values)
    order = np.argsort(-values, axis=1)[:, :top]
    names = list(contributions.columns)
    for row, user in enumerate(contributions.index):
        f = features.loc[user]
        words = []
        for col in order[row]:
            if values[row, col] <= 0:
                continue
            template = _REASON_TEXT.get(names[col], names[col])
            words.append(
                template.format(
                    value=f.get("promo_affinity", 0.0)
                    if "affinity" in names[col]
                    else f.get("promo_share", 0.0),
                    days=f.get("recency_days", 0.0),
                    orders=f.get("orders", 0.0),
                    share=f.get("discount_share", 0.0),
                    spend=f.get("net_spend", 0.0),
                )
            )
        texts.append("; ".join(words) or "no strong signal")
    return pd.Series(texts, index=contributions.index, name="reasons")


def typical_contributions(contributions: pd.DataFrame) -> pd.Series:
    """Each part's median over the scored users: the bar a user's part must pass to be a reason
    (a part with one value for everyone never passes it)."""
    return contributions.median()


def contacted_recently(store: Store, days: int, as_of: datetime | str) -> set[str]:
    """Users sent any campaign in the ``days`` before ``as_of`` (from ``campaign_contacts``)."""
    if not store.has_table("campaign_contacts"):
        return set()
    rows = store.query_df(
        "SELECT DISTINCT user_id FROM campaign_contacts "
        "WHERE contacted_at > ?::TIMESTAMP - to_days(?) AND contacted_at <= ?::TIMESTAMP",
        [pd.Timestamp(as_of).to_pydatetime(), days, pd.Timestamp(as_of).to_pydatetime()],
    )
    return set(rows["user_id"])


def select_audience(
    campaign: Campaign,
    features: pd.DataFrame,
    scores: pd.Series,
    as_of: datetime | str,
    *,
    contributions: pd.DataFrame | None = None,
    recently_contacted: set[str] | None = None,
    calibrated: bool = False,
) -> Audience:
    """The best users under the campaign's constraints, with reasons and an estimate.

    ``scores`` are propensities (or uplift scores) indexed by ``user_id``; ``contributions``
    (same index, one column per reason) explain them — by default the rule-based parts.
    ``calibrated`` says the scores are probabilities (a trained :class:`PropensityModel`), so
    the expected responses are counts and not only a comparison with a random audience.
    """
    as_of_ts = pd.Timestamp(as_of)
    scores = scores.reindex(features.index).fillna(0.0)
    excluded: dict[str, int] = {}
    keep = pd.Series(True, index=features.index)
    opted = features.index.isin(list(campaign.opted_out))
    excluded["opted_out"] = int((keep & opted).sum())
    keep &= ~opted
    if campaign.exclude_contacted_days is not None and recently_contacted:
        contacted = features.index.isin(list(recently_contacted))
        excluded["contacted_recently"] = int((keep & contacted).sum())
        keep &= ~contacted
    if campaign.exclude_bought_days is not None:
        last = pd.to_datetime(features["last_promoted_purchase"])
        bought = (
            last.notna() & (last > as_of_ts - pd.Timedelta(days=campaign.exclude_bought_days))
        ).to_numpy()
        excluded["bought_promoted_recently"] = int((keep & bought).sum())
        keep &= ~bought
    eligible = scores[keep]
    limit = campaign.max_audience
    size = len(eligible) if limit is None else min(limit, len(eligible))
    ranked = eligible.sort_values(ascending=False, kind="stable")
    chosen = ranked.index[:size]
    parts = contributions if contributions is not None else rule_components(features, campaign)
    users = pd.DataFrame(
        {
            "user_id": chosen,
            "rank": np.arange(1, size + 1),
            "score": ranked.iloc[:size].to_numpy(),
            "reasons": reasons_from(
                parts.loc[chosen], features.loc[chosen], reference=typical_contributions(parts)
            ).to_numpy(),
        }
    )
    expected = float(eligible.loc[chosen].sum())
    random_expected = float(eligible.mean() * size) if len(eligible) else 0.0
    return Audience(campaign, users, len(eligible), excluded, expected, random_expected, calibrated)


def export_audience(audience: Audience, folder: str | Path) -> dict[str, Path]:
    """Write ``<name>.csv`` (the users) and ``<name>.json`` (users plus the audit record)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in audience.campaign.name)
    csv_path, json_path = folder / f"{stem}.csv", folder / f"{stem}.json"
    audience.users.to_csv(csv_path, index=False)
    record = {**audience.summary(), "users": audience.users.to_dict("records")}
    json_path.write_text(json.dumps(record, indent=2, default=str, ensure_ascii=False))
    return {"csv": csv_path, "json": json_path}


def record_contacts(store: Store, audience: Audience, contacted_at: datetime | str) -> int:
    """Log that the audience was contacted, so later campaigns can exclude them."""
    rows = pd.DataFrame(
        {
            "campaign": audience.campaign.name,
            "user_id": audience.users["user_id"].astype(str),
            "contacted_at": pd.Timestamp(contacted_at),
        }
    )
    with store.transaction():
        store.execute(
            "DELETE FROM campaign_contacts WHERE campaign = ? AND contacted_at = ?",
            [audience.campaign.name, pd.Timestamp(contacted_at).to_pydatetime()],
        )
        return store.append("campaign_contacts", rows)
