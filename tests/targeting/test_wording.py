"""Campaign audit records in words: no dicts, tuples or ``None`` where people read them."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from shopguide.targeting.campaign import Campaign
from shopguide.targeting.wording import describe_exclusions, describe_lift, describe_settings

REPR = re.compile(r"[{}\[\]()']|\bNone\b|\bnan\b")
#: Names a shop might use; a category really called "None" or "nan" is the shop's own text, not
#: a Python repr, and would read the same in any wording, so those two words are not drawn.
names = st.text(st.characters(whitelist_categories=("L", "N")), min_size=1, max_size=8).filter(
    lambda name: name not in {"None", "nan"}
)


def test_known_answers() -> None:
    assert describe_exclusions({"opted_out": 0, "bought_promoted_recently": 12}) == (
        "0 opted out, 12 bought a promoted item recently"
    )
    assert describe_exclusions({}) == "nobody"
    settings = Campaign("x", categories=("Home",), discount=0.2, audience_size=300,
                        opted_out=("a", "b"), exclude_bought_days=30).settings()  # fmt: skip
    assert describe_settings(settings) == (
        "promotes categories Home; 20% off; at most 300 users; 2 opted-out users excluded; "
        "skips users who bought a promoted item in the last 30 days"
    )
    assert describe_lift(1.634) == "lift 1.63"
    assert describe_lift(float("nan")).startswith("no lift figure")


@given(
    items=st.lists(names, max_size=3),
    categories=st.lists(names, max_size=3),
    discount=st.floats(0, 0.99),
    size=st.none() | st.integers(0, 10**6),
    budget=st.none() | st.floats(0, 1e6),
    opted=st.lists(names, max_size=3),
    contacted=st.none() | st.integers(0, 365),
    counts=st.dictionaries(st.sampled_from(["opted_out", "contacted_recently", "other_rule"]),
                           st.integers(0, 10**6)),
)  # fmt: skip
def test_settings_and_exclusions_never_read_as_python(
    items: list[str], categories: list[str], discount: float, size: int | None,
    budget: float | None, opted: list[str], contacted: int | None, counts: dict[str, int],
) -> None:  # fmt: skip
    campaign = Campaign(
        "c", items=tuple(items), categories=tuple(categories) or ("Home",), discount=discount,
        audience_size=size, budget=budget, opted_out=tuple(opted),
        exclude_contacted_days=contacted,
    )  # fmt: skip
    assert not REPR.search(describe_settings(campaign.settings()))
    assert not REPR.search(describe_exclusions(counts))
