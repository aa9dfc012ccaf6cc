"""The REST service (FastAPI): events in, profiles, recommendations, audiences and models out.

Start it with ``shopguide serve --db PATH`` (or ``python -m shopguide.service --db PATH``);
build it in code with :func:`create_app`. Routers are thin: each route checks the caller's key
and role, then calls one function of a module of the :mod:`shopguide.workflows.serving`
package (or of a sibling workflow such as :mod:`shopguide.workflows.publishing`).

The package imports its application lazily, so ``python -m shopguide.service`` can configure
the process (one compiled-loop thread per request, see :mod:`shopguide.service.__main__`)
before numba loads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shopguide.service.app import create_app
    from shopguide.service.settings import Role, ServiceSettings

__all__ = ["Role", "ServiceSettings", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from shopguide.service.app import create_app

        return create_app
    if name in ("Role", "ServiceSettings"):
        from shopguide.service import settings

        return getattr(settings, name)
    raise AttributeError(f"module 'shopguide.service' has no attribute {name!r}")
