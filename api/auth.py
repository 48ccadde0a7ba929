"""Who may score: an API key (`X-API-Key`, compared in constant time) or, when configured, a JWT
(`Authorization: Bearer`), then a per-client rate limit. `AuthenticatedRoute` does all of it from
the headers before FastAPI reads the body, so an unauthenticated caller's body is never parsed."""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from typing import Annotated

from fastapi import HTTPException, Request, Security
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api.jwt_tokens import JwtValidator, KeysUnavailable, TokenRejected
from api.ratelimit import RateLimit
from chicago_risk.config.serving import API_KEY_HEADER, ServingSettings

api_key_header = APIKeyHeader(
    name=API_KEY_HEADER, auto_error=False, description="a key listed in CHICAGO_RISK_API_KEYS(_FILE)"
)
bearer = HTTPBearer(
    auto_error=False, bearerFormat="JWT",
    description="a JWT of CHICAGO_RISK_JWT_ISSUER for CHICAGO_RISK_JWT_AUDIENCE (when configured)",
)


def key_id(key: str) -> str:
    """What logs and metrics name a key by: never the key itself."""
    return hashlib.sha256(key.encode()).hexdigest()[:8]


class ApiKeys:
    def __init__(self, keys: tuple[str, ...]) -> None:
        # Digests have one length, so comparing them reveals nothing about a key's length either.
        self._digests = [hashlib.sha256(k.encode()).digest() for k in keys]

    def valid(self, candidate: str) -> bool:
        offered = hashlib.sha256(candidate.encode()).digest()
        found = False
        for digest in self._digests:  # every key compared, so timing does not tell which matched
            found |= hmac.compare_digest(offered, digest)
        return found


@dataclass(frozen=True)
class Client:
    id: str  # a key's digest or a token holder's: what logs and the rate limit use
    scheme: str  # "api_key" or "jwt"


def _challenge(message: str, error: str | None = None) -> HTTPException:
    bearer_challenge = 'Bearer error="invalid_token"' if error else "Bearer"
    return HTTPException(
        401, message, headers={"WWW-Authenticate": f'ApiKey header="{API_KEY_HEADER}", {bearer_challenge}'}
    )


class Authenticator:
    def __init__(self, settings: ServingSettings, limit: RateLimit) -> None:
        self.keys = ApiKeys(settings.api_key_values())
        self.jwt = JwtValidator(settings) if settings.jwt_enabled else None
        self.limit = limit

    def _identify(self, request: Request) -> Client:
        key = request.headers.get(API_KEY_HEADER)
        if key:
            if not self.keys.valid(key):
                raise HTTPException(403, "this API key is not accepted")
            return Client(key_id(key), "api_key")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            if self.jwt is None:
                raise _challenge(f"bearer tokens are not accepted by this deployment: send a key in {API_KEY_HEADER}")
            try:
                return Client(JwtValidator.client_id(self.jwt.claims(token.strip())), "jwt")
            except TokenRejected as error:
                raise _challenge(str(error), "invalid_token") from None
            except KeysUnavailable as error:
                raise HTTPException(503, str(error), headers={"Retry-After": "30"}) from None
        accepted = f"an API key in the {API_KEY_HEADER} header" + (" or a bearer JWT" if self.jwt else "")
        raise _challenge(f"{accepted} is required")

    def authenticate(self, request: Request) -> Client:
        """The caller, or 401 (none or a bad token), 403 (a wrong key), 429 (over its rate)."""
        client = self._identify(request)
        wait_s = self.limit.wait_s(client.id)
        if wait_s:
            raise HTTPException(
                429, f"rate limit of {self.limit.per_minute} requests a minute exceeded",
                headers={"Retry-After": str(math.ceil(wait_s))},
            )
        return client


class AuthenticatedRoute(APIRoute):
    """A route whose caller is authenticated and rate limited before its body is read."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def authenticated(request: Request):
            authenticator: Authenticator = request.app.state.context.authenticator
            # In a thread: a JWKS fetch or the shared rate-limit store may block.
            client = await run_in_threadpool(authenticator.authenticate, request)
            request.state.client = client
            request.state.client_id = client.id
            return await handler(request)

        return authenticated


def current_client(
    request: Request,
    _key: Annotated[str | None, Security(api_key_header)],
    _token: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Client:
    """The caller `AuthenticatedRoute` established (the parameters declare the two schemes, as
    alternatives, in the OpenAPI schema)."""
    return request.state.client
