"""JWT validation (PyJWT): signature by a configured key or the issuer's JWKS, then issuer,
audience and expiry, all required. What the seed guide asks beside API keys."""

from __future__ import annotations

import hashlib

import jwt

from chicago_risk.config.serving import ServingSettings

REQUIRED_CLAIMS = ["exp", "iss", "aud"]
# The issuer's key set is fetched at most every 5 minutes (a rotated key is seen within that).
JWKS_LIFESPAN_S = 300
JWKS_TIMEOUT_S = 5


class TokenRejected(Exception):
    """The token is not acceptable: the message says why (never echoing the token)."""


class KeysUnavailable(Exception):
    """The issuer's JWKS could not be fetched: not the caller's fault."""


class JwtValidator:
    def __init__(self, settings: ServingSettings) -> None:
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self.algorithms = list(settings.jwt_algorithms)
        self.leeway = settings.jwt_leeway_s
        self._key = settings.jwt_key.get_secret_value() if settings.jwt_key else None
        self._jwks = (
            jwt.PyJWKClient(settings.jwt_jwks_url, cache_keys=True, lifespan=JWKS_LIFESPAN_S, timeout=JWKS_TIMEOUT_S)
            if settings.jwt_jwks_url else None
        )

    def _signing_key(self, token: str):
        if self._key is not None:
            return self._key
        assert self._jwks is not None  # ServingSettings requires a key or a JWKS URL
        try:
            return self._jwks.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientConnectionError as error:
            raise KeysUnavailable(f"the token issuer's keys cannot be fetched ({error})") from None
        except (jwt.PyJWKClientError, jwt.PyJWKError, jwt.DecodeError) as error:
            raise TokenRejected(f"no key of the issuer verifies this token: {error}") from None

    def claims(self, token: str) -> dict:
        try:
            return jwt.decode(
                token, self._signing_key(token), algorithms=self.algorithms, audience=self.audience,
                issuer=self.issuer, leeway=self.leeway, options={"require": REQUIRED_CLAIMS},
            )
        except jwt.InvalidTokenError as error:
            raise TokenRejected(f"the token is not accepted: {error}") from None

    @staticmethod
    def client_id(claims: dict) -> str:
        """What logs and the rate limit name a token's holder by: a digest of issuer and subject."""
        subject = f"{claims.get('iss')}|{claims.get('sub', '')}"
        return "jwt-" + hashlib.sha256(subject.encode()).hexdigest()[:8]
