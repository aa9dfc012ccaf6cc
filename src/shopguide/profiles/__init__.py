"""User profiles (用户画像): basic, behaviour, preference and lifecycle fields per user.

Computed inside the store with set-based SQL, versioned by ``as_of`` and updated incrementally.
See :mod:`shopguide.profiles.build` for the API, :mod:`shopguide.profiles.aggregates` and
:mod:`shopguide.profiles.derive` for every field's definition, and
:mod:`shopguide.profiles.lifecycle` for the RFM rules.
"""

from shopguide.profiles.build import (
    BuildResult,
    ProfilesNotBuiltError,
    build_profiles,
    default_as_of,
    drop_profile_versions,
    get_profile,
    list_profile_versions,
    load_profiles,
    profile_record,
    profile_versions,
    update_profiles,
)
from shopguide.profiles.card import profile_card
from shopguide.profiles.lifecycle import SEGMENT_GRID, SEGMENTS, segment_of
from shopguide.profiles.live import refresh_population
from shopguide.profiles.model import UserProfile
from shopguide.profiles.population import (
    POPULATION_MAX_AGE,
    PopulationStatus,
    RefreshResult,
    population_status,
)
from shopguide.profiles.tables import PROFILE_DDL, ensure_profile_tables

__all__ = [
    "POPULATION_MAX_AGE",
    "PROFILE_DDL",
    "SEGMENTS",
    "SEGMENT_GRID",
    "BuildResult",
    "PopulationStatus",
    "ProfilesNotBuiltError",
    "RefreshResult",
    "UserProfile",
    "build_profiles",
    "default_as_of",
    "drop_profile_versions",
    "ensure_profile_tables",
    "get_profile",
    "list_profile_versions",
    "load_profiles",
    "population_status",
    "profile_card",
    "profile_record",
    "profile_versions",
    "refresh_population",
    "segment_of",
    "update_profiles",
]
