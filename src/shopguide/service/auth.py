"""API-key authentication with roles: 401 without a valid key, 403 when the role is too low."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader

from shopguide.service.settings import Role

api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key with the role the route needs."
)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the role of the key (never the key itself, so it cannot be logged)."""

    role: Role


def _lookup(keys: dict[str, Role], presented: str) -> Role | None:
    found: Role | None = None
    for key, role in keys.items():  # compare with every key in constant time
        if hmac.compare_digest(key.encode(), presented.encode()):
            found = role
    return found


def authorize(request: Request, key: str | None, role: Role) -> Principal:
    """The key check: 401 without a known key, 403 when its role is below ``role``.

    The dependencies below call it; a route that resolves no dependencies (the recommendations
    route, for speed) calls it with the ``X-API-Key`` header itself.
    """
    if not key:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing API key: send it in the X-API-Key header",
            headers={"WWW-Authenticate": "APIKey"},
        )
    found = _lookup(request.app.state.service.keys, key)
    if found is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "unknown API key",
            headers={"WWW-Authenticate": "APIKey"},
        )
    if found < role:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"this key has the {found.name.lower()} role; the route needs {role.name.lower()}",
        )
    return Principal(found)


def require(role: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency admitting keys of ``role`` or higher."""

    async def check(
        request: Request, key: Annotated[str | None, Security(api_key_header)]
    ) -> Principal:
        return authorize(request, key, role)

    return check


ReadKey = Annotated[Principal, Depends(require(Role.READ))]
WriteKey = Annotated[Principal, Depends(require(Role.WRITE))]
AdminKey = Annotated[Principal, Depends(require(Role.ADMIN))]
