"""Typed settings of publication and serving: `ServingSettings`, read from the environment by
pydantic-settings (prefix `CHICAGO_RISK_`; `ServingSettings.from_env()` says which variable is
wrong in its error).

| variable | default | meaning |
|---|---|---|
| `CHICAGO_RISK_PUBLISHED_URL` | `$CHICAGO_RISK_DATA_DIR/published`; `$CHICAGO_RISK_STORAGE_URL/published` with `CHICAGO_RISK_STORAGE=parquet` | where published layers are written and read: a folder or a `file://` URL |
| `CHICAGO_RISK_API_KEYS` | none | comma-separated keys accepted by `POST /api/v1/predict/flood` |
| `CHICAGO_RISK_API_KEYS_FILE` | none | a file of keys, one a line (`#` starts a comment); adds to the above |
| `CHICAGO_RISK_JWT_ISSUER`, `CHICAGO_RISK_JWT_AUDIENCE` | none | JWTs (`Authorization: Bearer`) are accepted on the scoring route when both are set, with a key or a JWKS URL |
| `CHICAGO_RISK_JWT_KEY` | none | the key tokens are signed with: a PEM public key (RS/ES/PS algorithms) or a shared secret (HS) |
| `CHICAGO_RISK_JWT_JWKS_URL` | none | where the issuer publishes its keys (JWKS), instead of `JWT_KEY` |
| `CHICAGO_RISK_JWT_ALGORITHMS` | `RS256` | comma-separated algorithms a token may be signed with |
| `CHICAGO_RISK_JWT_LEEWAY_S` | 30 | clock skew tolerated on `exp` and `nbf` |
| `CHICAGO_RISK_API_RATE_PER_MINUTE` | 60 | scoring requests per client (key or token subject) in any minute |
| `CHICAGO_RISK_RATE_LIMIT_STORAGE_URL` | none (in-process) | a shared store for the rate limit, e.g. `redis://redis:6379/0`, so it holds across replicas |
| `CHICAGO_RISK_API_MAX_BODY_BYTES` | 16384 | request bodies above this are refused (413) before they are read |
| `CHICAGO_RISK_CORS_ORIGINS` | none | comma-separated origins allowed to call the API from a browser (`*` for any) |
| `CHICAGO_RISK_API_CACHE_ENTRIES` | 64 | rendered responses kept in memory (full layers, filter combinations) |
| `CHICAGO_RISK_API_PARTITION_CACHE` | 32 | published partitions kept in memory, decoded |
| `CHICAGO_RISK_MANIFEST_POLL_S` | 1.0 | how often the API looks for a newly published manifest |
| `CHICAGO_RISK_RETAIN_SUPERSEDED_S` | 600 | how long a replaced partition file stays readable for readers that still hold the old manifest |
| `CHICAGO_RISK_API_HOST`, `CHICAGO_RISK_API_PORT` | 127.0.0.1, 8000 | where `chicago-risk serve` listens |
| `CHICAGO_RISK_DAGSTER_UI_PORT` | 3000 | where `make demo` serves the Dagster UI (on the API's host) |
"""  # noqa: E501 (a markdown table's rows are one line each)

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from chicago_risk.config.settings import default_published_url, read_storage

ENV_PREFIX = "CHICAGO_RISK_"
API_KEY_HEADER = "X-API-Key"


def read_api_keys(path: Path) -> tuple[str, ...]:
    """Keys of a key file: one a line, blank lines and `#` comments ignored."""
    try:
        lines = path.read_text().splitlines()
    except OSError as error:
        raise ValueError(f"CHICAGO_RISK_API_KEYS_FILE={path} cannot be read: {error.strerror}") from None
    return tuple(line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip())


def _env(name: str):
    """A field read from `CHICAGO_RISK_<name>` where the attribute's name differs from it."""
    return Field(validation_alias=ENV_PREFIX + name)


# Lists in the environment are comma-separated text (NoDecode: not JSON).
CommaList = Annotated[tuple[str, ...], NoDecode]
SecretList = Annotated[tuple[SecretStr, ...], NoDecode]


class ServingSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_ignore_empty=True, populate_by_name=True, extra="ignore"
    )

    # Where the published layers are; None: beside the warehouse (see `default_published_url`).
    data_dir: Path = Path("data")
    storage: str = "duckdb"
    storage_url: str | None = None
    published_url: str | None = None
    api_keys: SecretList = ()
    api_keys_file: Path | None = None
    # JWT (seed guide: "API keys or JWT validation provided by the Java backend").
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_key: SecretStr | None = None
    jwt_jwks_url: str | None = None
    jwt_algorithms: CommaList = ("RS256",)
    jwt_leeway_s: Annotated[float, Field(ge=0)] = 30.0  # clocks of two services drift by seconds
    # A scoring call costs ~10 ms of one core (TreeSHAP): 60 a minute per client leaves room for many.
    rate_limit_per_minute: Annotated[int, Field(ge=1), _env("API_RATE_PER_MINUTE")] = 60
    # A Redis URL may carry a password: secret.
    rate_limit_storage_url: SecretStr | None = None
    # The largest legitimate body (every feature overridden) is under 3 KB: 16 KiB leaves room.
    api_max_body_bytes: Annotated[int, Field(ge=256)] = 16_384
    cors_origins: CommaList = ()
    response_cache_entries: Annotated[int, Field(ge=1), _env("API_CACHE_ENTRIES")] = 64
    partition_cache_entries: Annotated[int, Field(ge=1), _env("API_PARTITION_CACHE")] = 32
    manifest_poll_s: Annotated[float, Field(ge=0)] = 1.0
    retain_superseded_s: Annotated[float, Field(ge=0)] = 600.0
    host: Annotated[str, _env("API_HOST")] = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535), _env("API_PORT")] = 8000
    dagster_ui_port: Annotated[int, Field(ge=1, le=65535)] = 3000

    @field_validator("api_keys", "jwt_algorithms", "cors_origins", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @model_validator(mode="after")
    def _resolve(self) -> ServingSettings:
        storage, storage_url = read_storage(
            {"CHICAGO_RISK_STORAGE": self.storage, "CHICAGO_RISK_STORAGE_URL": self.storage_url or ""}
        )
        if self.published_url is None:
            self.published_url = default_published_url(self.data_dir, storage, storage_url)
        keys = [k.get_secret_value() for k in self.api_keys]
        if self.api_keys_file is not None:
            keys += read_api_keys(self.api_keys_file)
        self.api_keys = tuple(SecretStr(k) for k in dict.fromkeys(keys))
        if (self.jwt_issuer is None) != (self.jwt_audience is None) or (
            self.jwt_issuer is not None and (self.jwt_key is None) == (self.jwt_jwks_url is None)
        ):
            raise ValueError(
                "JWT validation needs CHICAGO_RISK_JWT_ISSUER, CHICAGO_RISK_JWT_AUDIENCE and one of "
                "CHICAGO_RISK_JWT_KEY or CHICAGO_RISK_JWT_JWKS_URL (or none of them, for API keys only)"
            )
        if "none" in (a.lower() for a in self.jwt_algorithms):
            raise ValueError("CHICAGO_RISK_JWT_ALGORITHMS may not allow unsigned tokens ('none')")
        return self

    @property
    def jwt_enabled(self) -> bool:
        return self.jwt_issuer is not None

    def api_key_values(self) -> tuple[str, ...]:
        return tuple(k.get_secret_value() for k in self.api_keys)

    @classmethod
    def env_name(cls, field: str) -> str:
        alias = cls.model_fields[field].validation_alias
        return alias if isinstance(alias, str) else ENV_PREFIX + field.upper()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServingSettings:
        """The settings of `env` alone (default: the process environment); a bad value is a
        ValueError naming its variable."""
        try:
            if env is None:
                return cls()
            # model_validate reads only `given`, never the process environment.
            given = {f: env[cls.env_name(f)] for f in cls.model_fields if env.get(cls.env_name(f))}
            return cls.model_validate(given, by_name=True)
        except ValidationError as error:
            raise ValueError("; ".join(_describe(e) for e in error.errors())) from None


def _describe(error: ErrorDetails) -> str:
    """`CHICAGO_RISK_API_PORT='x': Input should be a valid integer` (or the validator's own text)."""
    loc = [str(part) for part in error.get("loc", ())]
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    if not loc:
        return message
    name = loc[0] if loc[0].startswith(ENV_PREFIX) else ServingSettings.env_name(loc[0])
    value = error.get("input")
    shown = "<secret>" if "KEY" in name or "STORAGE_URL" in name else repr(value)
    return f"{name}={shown}: {message}"
