"""API-key authentication with roles: 401 without a valid key, 403 when the role is too low."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Response, Security, status
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader

from shopguide.service.settings import Role

API_KEY_HEADER = "X-API-Key"
api_key_header = APIKeyHeader(
    name=API_KEY_HEADER, auto_error=False, description="An API key with the role the route needs."
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
    """A dependency admitting keys of ``role`` or higher.

    On a route of :class:`KeyFirstRoute` the key was checked before the body was read; the
    dependency then returns that result (and still documents the header in OpenAPI).
    """

    async def check(
        request: Request, key: Annotated[str | None, Security(api_key_header)]
    ) -> Principal:
        checked = getattr(request.state, "principal", None)
        if isinstance(checked, Principal):
            return checked
        return authorize(request, key, role)

    check.required_role = role  # type: ignore[attr-defined]
    return check


def required_role(dependant: Dependant) -> Role | None:
    """The highest role the :func:`require` dependencies of a route (or theirs) ask for."""
    found: Role | None = None
    for sub in dependant.dependencies:
        for role in (getattr(sub.call, "required_role", None), required_role(sub)):
            if isinstance(role, Role) and (found is None or role > found):
                found = role
    return found


class KeyFirstRoute(APIRoute):
    """A route that checks the API key before it reads or validates the request body.

    FastAPI parses the JSON body before it resolves dependencies, so without this a malformed
    body sent without a key would get 422 (and its parsing cost) instead of 401. The role the
    route needs is read from its :func:`require` dependency.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        role = required_role(self.dependant)
        if role is None:
            return handler

        async def key_first(request: Request) -> Response:
            key = request.headers.get(API_KEY_HEADER)
            request.state.principal = authorize(request, key, role)
            return await handler(request)

        return key_first


ReadKey = Annotated[Principal, Depends(require(Role.READ))]
WriteKey = Annotated[Principal, Depends(require(Role.WRITE))]
AdminKey = Annotated[Principal, Depends(require(Role.ADMIN))]
