"""ShopGuide: e-commerce user relationship management.

Shopper profiles, behaviour analytics, recommendations, campaign targeting and retention,
on an embedded DuckDB store.
"""

from __future__ import annotations

from shopguide.columns import Columns, EventType
from shopguide.errors import ShopGuideError
from shopguide.store import Store, open_store

__version__ = "0.1.0"

__all__ = ["Columns", "EventType", "ShopGuideError", "Store", "__version__", "open_store"]
