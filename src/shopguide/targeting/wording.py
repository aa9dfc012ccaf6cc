"""Campaign audit records in words, for people (the CLI, the report, the demo summary).

An audience's audit record (:meth:`~shopguide.targeting.campaign.Audience.summary`) is plain
data for files and ``--json``; where a person reads it, these functions turn its parts into
short sentences instead of Python's printed dicts and tuples::

    describe_exclusions({"opted_out": 0, "bought_promoted_recently": 12})
    # '0 opted out, 12 bought a promoted item recently'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

#: How each exclusion count of :func:`~shopguide.targeting.campaign.select_audience` reads.
EXCLUSION_WORDS: Final = {
    "opted_out": "opted out",
    "contacted_recently": "contacted recently",
    "bought_promoted_recently": "bought a promoted item recently",
}


def _count(value: Any) -> str:
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return "an unknown number"


def describe_exclusions(excluded: Mapping[str, Any]) -> str:
    """``{"opted_out": 0, "contacted_recently": 12}`` as ``"0 opted out, 12 contacted recently"``
    (``"nobody"`` when there were no exclusion rules)."""
    if not excluded:
        return "nobody"
    return ", ".join(
        f"{_count(n)} {EXCLUSION_WORDS.get(key, key.replace('_', ' '))}"
        for key, n in excluded.items()
    )


def describe_lift(lift: Any) -> str:
    """``"lift 1.63"``, or why there is no figure when a random audience expects nothing."""
    try:
        value = float(lift)
    except (TypeError, ValueError):
        value = float("nan")
    if value != value or value in (float("inf"), float("-inf")):
        return "no lift figure: a random audience's expected score is zero"
    return f"lift {value:.2f}"


def _listing(values: Iterable[Any]) -> str:
    return ", ".join(str(v) for v in values)


def describe_settings(settings: Mapping[str, Any]) -> str:
    """A campaign's settings (:meth:`~shopguide.targeting.campaign.Campaign.settings`) in words.

    Only the settings that are set are named; the opted-out list is given as a count (the ids
    themselves are not for reading).
    """
    parts: list[str] = []
    promotes = [
        f"{label} {_listing(settings[key])}"
        for key, label in (("items", "items"), ("categories", "categories"), ("brands", "brands"))
        if settings.get(key)
    ]
    parts.append("promotes " + ("; ".join(promotes) if promotes else "nothing named"))
    discount = settings.get("discount") or 0.0
    parts.append(f"{float(discount):.0%} off" if discount else "no discount")
    if settings.get("audience_size") is not None:
        parts.append(f"at most {_count(settings['audience_size'])} users")
    if settings.get("budget") is not None:
        parts.append(
            f"budget {float(settings['budget']):,.2f} at "
            f"{float(settings.get('cost_per_contact') or 1.0):,.2f} per contact"
        )
    opted = settings.get("opted_out")
    if opted:
        count = opted if isinstance(opted, int) else len(opted)
        parts.append(f"{_count(count)} opted-out users excluded")
    if settings.get("exclude_contacted_days") is not None:
        parts.append(f"skips users contacted in the last {settings['exclude_contacted_days']} days")
    if settings.get("exclude_bought_days") is not None:
        parts.append(
            f"skips users who bought a promoted item in the last "
            f"{settings['exclude_bought_days']} days"
        )
    return "; ".join(parts)
