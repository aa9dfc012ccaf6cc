"""The REST service (FastAPI): events in, profiles, recommendations, audiences and models out.

Start it with ``shopguide serve --db PATH``; build it in code with :func:`create_app`.
Routers are thin: each route checks the caller's key and role, then calls one function of
:mod:`shopguide.workflows.serving`.
"""

from shopguide.service.app import create_app
from shopguide.service.settings import Role, ServiceSettings

__all__ = ["Role", "ServiceSettings", "create_app"]
