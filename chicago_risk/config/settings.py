"""Run-time settings, read from the environment once (`Settings.from_env`) by pydantic-settings.

Every variable is `CHICAGO_RISK_<FIELD>` (a field's `alias` says otherwise); the bucket's endpoint
and credentials are the standard `AWS_*` variables (`ObjectStoreSettings`). `Settings(...)` alone
reads no environment: it is the defaults plus what it is given, as tests construct it. A bad value
fails at start-up naming the variable and what it accepts. Secrets are `SecretStr`: never printed,
and handed to Dagster resources as `dg.EnvVar` (`chicago_risk.storage.resources`).

To add a setting: a field with its default and a comment giving the default's reason; its
variable follows from the name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, Literal

import dagster as dg
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from chicago_risk.config.domain import DATA_START
from chicago_risk.storage.object_store import LOCATIONS, ObjectStoreConfig, UnsupportedStorageURL, join_url, table_root

SourceName = Literal["demo", "socrata", "files"]
StorageName = Literal["duckdb", "delta"]
DagsterStorageName = Literal["embedded-postgres", "sqlite"]
ENV_PREFIX = "CHICAGO_RISK_"
_SIZE = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)")


class _MappingEnv(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping instead of `os.environ`."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._env = env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        # An empty variable is an unset one (env_ignore_empty), as a shell's `VAR=` means.
        return {name.lower(): value for name, value in self._env.items() if value != ""}


class _EnvironmentSettings(BaseSettings):
    """Explicit values only, unless built by `from_env`."""

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource, *_: Any, **__: Any
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **given: Any):
        """The settings in `env` (default the process environment), `given` taking precedence."""
        env = os.environ if env is None else env
        try:
            return cls(**(_MappingEnv(cls, env)() | given))
        except ValidationError as error:
            raise ValueError(_explain(cls, error, env)) from None

    def resource_secret(self, field: str) -> dg.EnvVar | None:
        """A secret as a Dagster resource takes it: the name of its variable, read by Dagster when
        the resource is built, so the UI shows the name and never the value; None when unset."""
        return dg.EnvVar(self.variable(field)) if getattr(self, field) is not None else None

    @classmethod
    def variable(cls, field: str) -> str:
        """The environment variable of `field`."""
        alias = cls.model_fields[field].validation_alias
        if isinstance(alias, AliasChoices):
            alias = alias.choices[0]
        return alias if isinstance(alias, str) else (cls.model_config.get("env_prefix", "") + field).upper()


def _explain(cls: type[_EnvironmentSettings], error: ValidationError, env: Mapping[str, str]) -> str:
    """One line per bad value: the variable, what it was, what it accepts."""
    lines = []
    for problem in error.errors():
        field = next((name for name, info in cls.model_fields.items()
                      if problem["loc"] and problem["loc"][0] in (name, info.validation_alias)), None)
        message = problem["msg"].removeprefix("Value error, ")
        if field is None:  # a rule across variables: its message names them
            lines.append(message)
        else:
            variable = cls.variable(field)
            lines.append(f"{variable}={env.get(variable, problem.get('input'))!r}: {message}")
    return "; ".join(lines)


class ObjectStoreSettings(_EnvironmentSettings):
    """How to reach an S3 bucket, under the standard AWS variable names (what delta-rs, boto3 and
    every S3 tool read). Unset: delta-rs's own credential chain (e.g. a pod's role)."""

    model_config = SettingsConfigDict(frozen=True, populate_by_name=True)

    endpoint_url: str | None = Field(None, validation_alias="AWS_ENDPOINT_URL")  # None: AWS itself
    region: str | None = Field(None, validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION"))
    access_key_id: SecretStr | None = Field(None, validation_alias="AWS_ACCESS_KEY_ID")
    secret_access_key: SecretStr | None = Field(None, validation_alias="AWS_SECRET_ACCESS_KEY")
    session_token: SecretStr | None = Field(None, validation_alias="AWS_SESSION_TOKEN")

    def config(self, as_env_vars: bool) -> ObjectStoreConfig:
        """The bucket's `ObjectStoreConfig`. For a Dagster resource (`as_env_vars`) the secrets are
        `dg.EnvVar`s, which the UI shows by name; elsewhere (the API, notebooks) their values."""
        secrets = {
            name: self.resource_secret(name) if as_env_vars else getattr(self, name).get_secret_value()
            for name in ("access_key_id", "secret_access_key", "session_token")
            if getattr(self, name) is not None
        }
        return ObjectStoreConfig(endpoint_url=self.endpoint_url, region=self.region, **secrets)


class Settings(_EnvironmentSettings):
    """Run-time settings; see the module docstring."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, populate_by_name=True, extra="forbid")

    # The warehouse.duckdb file, the Dagster instance, reports, published layers (a relative path
    # is from where chicago-risk runs; `make` sets it to the project's data/).
    data_dir: Path = Path("data")
    # The synthetic city needs no network and no keys.
    source: SourceName = "demo"
    # ~5,630 cells of ~0.1 km2 over the city; 5 to 10 keep layers between a few and ~270k cells.
    h3_resolution: int = Field(9, ge=5, le=10)
    demo_seed: int = 20190101  # the demo city's first day, as a number
    socrata_url: str = "https://data.cityofchicago.org"
    socrata_app_token: SecretStr | None = None  # sent as X-App-Token; anonymous without it
    open_meteo_forecast_url: str = Field("https://api.open-meteo.com", validation_alias="CHICAGO_RISK_OPEN_METEO_URL")
    open_meteo_archive_url: str = "https://archive-api.open-meteo.com"
    # Archived forecasts, for the forecast features of past days (the archive has none).
    open_meteo_historical_forecast_url: str = "https://historical-forecast-api.open-meteo.com"
    files_dir: Path = Path("data/exports")  # portal exports for source=files; unset: <data_dir>/exports
    # How long a step waits for the warehouse.duckdb file before failing: longer than any step.
    writer_lock_timeout_s: float = Field(600.0, gt=0)
    # The warehouse.duckdb connections' buffer pool; beyond it DuckDB spills to disk.
    duckdb_memory_limit: str = "1GB"
    # Days of map layers (predictions, cost, recommendations, publication) that `make demo` and
    # `chicago-risk materialize` without dates build, ending yesterday; the feature history their
    # models need (two years) and its 311 history (two more) come with them.
    served_days: int = Field(28, ge=1)
    # Where assets are materialized: the `warehouse.duckdb` file, or Delta tables under
    # `storage_url` (a folder or s3://bucket/prefix; None: <data_dir>/warehouse).
    storage: StorageName = "duckdb"
    storage_url: str | None = None
    # Where layers are published (None: <storage url>/published for Delta, else <data_dir>/published).
    published_url: str | None = None
    # The Dagster instance's storage: PostgreSQL at this URL, `postgresql+psycopg2://user:password@host/db`
    # (dagster-postgres); else `dagster_storage` (chicago_risk.instance).
    dagster_postgres_url: SecretStr | None = None
    # Without a URL: "embedded-postgres", a PostgreSQL server in the instance's folder, running
    # while a chicago-risk command uses it (Dagster's SQLite storage writes each partition's
    # event on its own, ten times slower); or "sqlite". Unset: what the instance already has,
    # and embedded-postgres for a new one.
    dagster_storage: DagsterStorageName | None = None
    # The first day of the daily partitions: history before it is never planned or ingested.
    data_start: date = DATA_START
    object_store: ObjectStoreSettings = ObjectStoreSettings()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **given: Any) -> Settings:
        env = os.environ if env is None else env
        return super().from_env(env, object_store=ObjectStoreSettings.from_env(env), **given)

    @model_validator(mode="before")
    @classmethod
    def _exports_beside_the_data(cls, values: Any) -> Any:
        if isinstance(values, dict) and values.get("files_dir") is None:
            data_dir = values.get("data_dir", cls.model_fields["data_dir"].default)
            return {**values, "files_dir": Path(data_dir) / "exports"}
        return values

    @field_validator("storage", mode="before")
    @classmethod
    def _storage_renamed(cls, value: Any) -> Any:
        if value == "parquet":
            raise ValueError(
                "parquet is no longer a storage: its successor is delta (Delta tables under "
                "CHICAGO_RISK_STORAGE_URL); set CHICAGO_RISK_STORAGE=delta"
            )
        return value

    @field_validator("storage_url", "published_url")
    @classmethod
    def _a_location(cls, value: str | None, info) -> str | None:
        if not value:
            return None
        try:
            table_root(value, cls.variable(info.field_name))
        except UnsupportedStorageURL:
            raise ValueError(f"is not a storage location; use {LOCATIONS}") from None
        return value

    @field_validator("data_start", mode="before")
    @classmethod
    def _an_iso_date(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                raise ValueError("is not a date; use YYYY-MM-DD") from None
        return value

    @field_validator("duckdb_memory_limit")
    @classmethod
    def _a_size(cls, value: str) -> str:
        if not _SIZE.fullmatch(value.strip()):
            raise ValueError("must be a size such as 1GB or 512MiB")
        return value.strip()

    @model_validator(mode="after")
    def _demo_city_has_no_earlier_days(self) -> Settings:
        if self.source == "demo" and self.data_start < DATA_START:
            raise ValueError(
                f"CHICAGO_RISK_DATA_START={self.data_start} is before the demo city's first day ({DATA_START}); "
                "use a later day, or a live or files source for older history"
            )
        return self

    @model_validator(mode="after")
    def _url_needs_delta(self) -> Settings:
        if self.storage_url and self.storage != "delta":
            raise ValueError(
                f"CHICAGO_RISK_STORAGE_URL is read only with CHICAGO_RISK_STORAGE=delta (it is {self.storage}): "
                "set CHICAGO_RISK_STORAGE=delta, or unset the URL"
            )
        return self

    @property
    def warehouse_path(self) -> Path:
        """The DuckDB file (storage `duckdb`)."""
        return self.data_dir / "warehouse.duckdb"

    @property
    def warehouse_url(self) -> str:
        """The Delta warehouse's folder or bucket prefix (storage `delta`)."""
        return self.storage_url or str(self.data_dir / "warehouse")

    @property
    def warehouse_location(self) -> str:
        """Where this configuration materializes: the DuckDB file or the Delta location."""
        return self.warehouse_url if self.storage == "delta" else str(self.warehouse_path)

    @property
    def published_location(self) -> str:
        return self.published_url or default_published_url(self.data_dir, self.storage, self.storage_url)

    @property
    def reports_dir(self) -> Path:
        """Model cards and backtest figures."""
        return self.data_dir / "reports"


def read_data_start(env: Mapping[str, str]) -> date:
    """`CHICAGO_RISK_DATA_START` as the settings check it (the partitions are declared from it once)."""
    names = (Settings.variable("data_start"), Settings.variable("source"))
    return Settings.from_env({name: env[name] for name in names if name in env}).data_start


def read_storage(env: Mapping[str, str]) -> tuple[StorageName, str | None]:
    """`CHICAGO_RISK_STORAGE` and `CHICAGO_RISK_STORAGE_URL`, checked (for the API's settings)."""
    settings = Settings.from_env(
        {name: env[name] for name in (Settings.variable("storage"), Settings.variable("storage_url")) if name in env}
    )
    return settings.storage, settings.storage_url


def default_published_url(data_dir: Path, storage: str = "duckdb", storage_url: str | None = None) -> str:
    """Published layers sit beside the warehouse: `<storage url>/published` for Delta, else
    `<data_dir>/published`."""
    if storage == "delta":
        return join_url(storage_url or str(data_dir / "warehouse"), "published")
    return str(data_dir / "published")
