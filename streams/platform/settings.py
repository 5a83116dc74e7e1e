"""Configuration: one frozen pydantic-settings class per service, from the environment and `.env`.

Defaults run everything on this machine with the embedded broker. Secrets are ``SecretStr`` so they
are masked wherever settings are printed (``frontdoor config``) or logged.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import AliasChoices, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.errors import ConfigurationError

_COMMON = {
    "env_file": ".env",
    "env_file_encoding": "utf-8",
    "frozen": True,
    "extra": "ignore",
    "populate_by_name": True,
}


#: The namespace of every topic unless ``FRONTDOOR_TOPIC_PREFIX`` says otherwise.
DEFAULT_TOPIC_PREFIX = "frontdoor."


class KafkaSettings(BaseSettings):
    """How every component reaches the broker."""

    model_config = SettingsConfigDict(env_prefix="FRONTDOOR_KAFKA_", **_COMMON)  # type: ignore[typeddict-item]

    bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices(
            "KAFKA_BOOTSTRAP_SERVERS", "FRONTDOOR_KAFKA_BOOTSTRAP_SERVERS"
        ),
        description="Comma-separated host:port list.",
    )
    embedded: bool = Field(
        default=True,
        description="`frontdoor up` starts the embedded Tansu broker at bootstrap_servers.",
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    request_timeout_seconds: float = Field(default=15.0, gt=0)

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> KafkaSettings:
        if self.security_protocol.startswith("SASL") and not (
            self.sasl_mechanism and self.sasl_username and self.sasl_password
        ):
            raise ValueError(
                "SASL needs FRONTDOOR_KAFKA_SASL_MECHANISM, _SASL_USERNAME and _SASL_PASSWORD"
            )
        return self

    @property
    def servers(self) -> list[str]:
        return [s.strip() for s in self.bootstrap_servers.split(",") if s.strip()]

    def kafka_python_config(self) -> dict[str, Any]:
        """Keyword arguments for kafka-python clients (producer, consumer, admin)."""
        config: dict[str, Any] = {
            "bootstrap_servers": self.servers,
            "security_protocol": self.security_protocol,
            "request_timeout_ms": int(self.request_timeout_seconds * 1000),
        }
        if self.sasl_mechanism:
            config["sasl_mechanism"] = self.sasl_mechanism
            config["sasl_plain_username"] = self.sasl_username
            config["sasl_plain_password"] = (
                self.sasl_password.get_secret_value() if self.sasl_password else None
            )
        if self.ssl_cafile:
            config["ssl_cafile"] = str(self.ssl_cafile)
        if self.ssl_certfile:
            config["ssl_certfile"] = str(self.ssl_certfile)
        if self.ssl_keyfile:
            config["ssl_keyfile"] = str(self.ssl_keyfile)
        return config

    def aiokafka_config(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka clients: the same, with TLS as an SSL context."""
        config = {
            name: value
            for name, value in self.kafka_python_config().items()
            if not name.startswith("ssl_")
        }
        if self.security_protocol.endswith("SSL"):
            from aiokafka.helpers import create_ssl_context  # noqa: PLC0415 - only for TLS

            config["ssl_context"] = create_ssl_context(
                cafile=str(self.ssl_cafile) if self.ssl_cafile else None,
                certfile=str(self.ssl_certfile) if self.ssl_certfile else None,
                keyfile=str(self.ssl_keyfile) if self.ssl_keyfile else None,
            )
        return config


class WorkerSettings(BaseSettings):
    """The Faust worker: identity, topic namespace, state store and group timing."""

    model_config = SettingsConfigDict(env_prefix="FRONTDOOR_", **_COMMON)  # type: ignore[typeddict-item]

    app_id: str = Field(default="frontdoor", pattern=r"^[A-Za-z0-9._-]+$")
    topic_prefix: str = Field(
        default=DEFAULT_TOPIC_PREFIX,
        pattern=r"^[A-Za-z0-9._-]*$",
        description="Prepended to every topic name; lets tests and tenants share one cluster.",
    )
    data_dir: Path = Path(".frontdoor-data")
    store: str = Field(default="memory://", description="Faust table store URL.")
    default_partitions: int = Field(default=4, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    # Tansu makes a group join wait half the session timeout, and a dead member is noticed only
    # when its session expires: keep both short (broker notes). 6 s is Kafka's smallest allowed
    # session (group.min.session.timeout.ms); a real cluster may want 30 s (README).
    session_timeout_seconds: float = Field(default=6.0, gt=0)
    heartbeat_interval_seconds: float = Field(default=1.0, gt=0)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    workers: int = Field(default=1, ge=1, le=8, description="Workers `frontdoor up` starts.")
    demo_events_per_second: float = Field(
        default=0.0,
        ge=0,
        le=100,
        description="`frontdoor up` also runs the synthetic generator at this rate (0: off).",
    )
    rules_file: Path | None = Field(
        default=None,
        description="The local authority's thresholds and required information (YAML); unset "
        "uses the documented default, streams/decisions/rules/default_rules.yaml.",
    )
    school_directory: Path | None = Field(
        default=None,
        description="GIAS establishment CSV; unset uses the synthetic directory shipped for demos.",
    )
    safeguarding_leads: Path | None = Field(
        default=None,
        description="Each school's designated safeguarding lead (CSV: URN, Name, Email), kept by "
        "the authority; unset uses the synthetic list shipped for demos.",
    )
    stall_alert_seconds: float = Field(
        default=60.0,
        gt=0,
        description="An event whose processing has been retried for this long (broker or schema "
        "registry unreachable) raises an operator alert, logged at CRITICAL, naming it.",
    )

    consumer_fetch_wait_ms: int | None = Field(
        default=None,
        ge=0,
        le=10_000,
        description="How long a worker lets the broker hold a fetch with no records yet. Unset: "
        "10 ms with the embedded broker (it always waits the whole time), 500 ms elsewhere. While "
        "a partition is far behind, the worker waits at least 100 ms (the embedded broker reads "
        "into a fetch only until the wait is up).",
    )
    health_interval_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How often the worker checks it can reach the broker; it logs an ERROR and "
        "writes health.json in the data directory when it cannot.",
    )
    reconcile_interval_seconds: float = Field(
        default=30.0, gt=0, description="How often the worker reconciles accepted events."
    )
    clock_tick_seconds: float = Field(
        default=30.0,
        gt=0,
        description="How often each worker looks for timeliness clocks past their due time: an "
        "overdue alert is raised within this long of the due time, even if nothing else happens.",
    )
    redrive_after_seconds: float = Field(
        default=120.0,
        gt=0,
        description="An accepted event with no outcome this long after a stage took it is "
        "published to that stage again, once (outputs are idempotent).",
    )
    outcome_bound_seconds: float = Field(
        default=300.0,
        gt=0,
        description="An accepted event with no outcome this long after a stage took it is put "
        "to a person: a MASH task names it.",
    )

    @property
    def health_file(self) -> Path:
        """Where the worker writes its health after every check (``frontdoor health`` reads it)."""
        return self.data_dir / "health.json"

    @property
    def group_id(self) -> str:
        """The Faust app id: the consumer group, and the prefix of the tables' changelog topics.

        It carries the topic prefix, so two deployments on one cluster share no group and no
        table (a child known to one is unknown to the other) even with the same app id.
        """
        return f"{self.topic_prefix}{self.app_id}"

    @model_validator(mode="after")
    def _heartbeat_below_session(self) -> WorkerSettings:
        if self.heartbeat_interval_seconds * 3 > self.session_timeout_seconds:
            raise ValueError("heartbeat interval must be at most a third of the session timeout")
        return self

    @model_validator(mode="after")
    def _redrive_before_the_bound(self) -> WorkerSettings:
        if self.redrive_after_seconds >= self.outcome_bound_seconds:
            raise ValueError("an event must be re-driven before its outcome bound passes")
        return self


class SchemaRegistrySettings(BaseSettings):
    """Where schema ids come from: the embedded registry unless a URL is configured."""

    model_config = SettingsConfigDict(env_prefix="FRONTDOOR_SCHEMA_REGISTRY_", **_COMMON)  # type: ignore[typeddict-item]

    url: str | None = Field(default=None, pattern=r"^https?://")
    username: str | None = None
    password: SecretStr | None = None
    timeout_seconds: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _credentials_in_pairs(self) -> SchemaRegistrySettings:
        if (self.username is None) != (self.password is None):
            raise ValueError(
                "set both FRONTDOOR_SCHEMA_REGISTRY_USERNAME and _PASSWORD, or neither"
            )
        return self


class GatewaySettings(BaseSettings):
    """The partners' HTTP gateway."""

    model_config = SettingsConfigDict(env_prefix="FRONTDOOR_GATEWAY_", **_COMMON)  # type: ignore[typeddict-item]

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    store_url: SecretStr | None = Field(
        default=None,
        description="sqlite:///path or postgresql://user:password@host:port/db (a secret: it may "
        "carry a password). Unset: SQLite in FRONTDOOR_DATA_DIR/gateway.db.",
    )
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    requests_per_minute: int = Field(default=120, ge=1, description="Per API key.")
    failed_authentications_per_minute: int = Field(
        default=10,
        ge=1,
        description="Per client address and per key id. Past it, requests from that address are "
        "refused (429) before any key is checked, and that key id is checked only against keys "
        "verified before: a flood of wrong keys costs no argon2 work and slows no other partner.",
    )
    publish_timeout_seconds: float = Field(default=10.0, gt=0)
    retry_after_seconds: int = Field(default=30, ge=1, description="Told to partners on a 503.")


class StaffSettings(BaseSettings):
    """The staff application: where it listens, its queue store and its sign-in safety."""

    model_config = SettingsConfigDict(env_prefix="FRONTDOOR_STAFF_", **_COMMON)  # type: ignore[typeddict-item]

    host: str = "127.0.0.1"
    port: int = Field(default=8090, ge=1, le=65535)
    database_url: SecretStr | None = Field(
        default=None,
        description="sqlite:///path or postgresql://user:password@host:port/db (a secret: it may "
        "carry a password). Unset: SQLite in FRONTDOOR_DATA_DIR/staff.db.",
    )
    session_secret: SecretStr | None = Field(
        default=None,
        description="Signs the session cookie. Unset: generated once and kept, readable by its "
        "owner only, in FRONTDOOR_DATA_DIR/staff-session-secret (so sessions survive a restart).",
    )
    secure_cookies: bool = Field(
        default=True,
        description="Send the session cookie over HTTPS only; turn off only for a plain-HTTP demo.",
    )
    sign_in_attempts_per_minute: int = Field(
        default=5, ge=1, description="Failed sign-ins allowed per username and per address."
    )
    session_idle_minutes: int = Field(
        default=30, ge=1, description="A session unused this long must sign in again."
    )


class DeliverySettings(BaseSettings):
    """The delivery service: the channel file, the mail server, and links back to the staff app.

    Who gets what by which channel, and the retry limits, are in the channel file the authority
    edits (``connectors/delivery/channels.py``); secrets (the SMTP password, each webhook's
    signing secret, named in the file by environment variable) are never in it.
    """

    model_config = SettingsConfigDict(env_prefix="FRONTDOOR_DELIVERY_", **_COMMON)  # type: ignore[typeddict-item]

    channels_file: Path | None = Field(
        default=None,
        description="The channel file (YAML). Unset: the shipped demo file, whose addresses are "
        "synthetic (example.org) and which `make run`'s local mail catcher receives.",
    )
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=8025, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = Field(
        default="none",
        description="starttls (port 587) or tls (port 465) for a real mail server; none only for "
        "a local catcher.",
    )
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    mail_from: str = Field(default="front-door@frontdoor.example.org", min_length=3)
    staff_public_url: str = Field(
        default="http://127.0.0.1:8090",
        description="The staff application's address as recipients reach it: acknowledge links "
        "and work-item links in messages.",
    )
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    in_flight_limit: int = Field(
        default=200,
        ge=1,
        description="Delivery attempts under way at once (e-mails being sent, webhooks posted).",
    )
    first_start: Literal["earliest", "latest"] = Field(
        default="earliest",
        description="Where the service's consumer group starts the first time: earliest on a "
        "new deployment (every message is new); latest when adding delivery to a deployment "
        "whose outbound topics already hold messages, or it sends every one of them again.",
    )
    held_limit: int = Field(
        default=10_000,
        ge=1,
        description="Messages read and not yet finished, those waiting to retry included: a "
        "recipient that is down holds this many at most before reading stops.",
    )


class MetricsSettings(BaseSettings):
    """Where the worker and the delivery service serve their Prometheus metrics.

    The gateway and the staff application serve ``GET /metrics`` on their own ports instead
    (``docs/metrics.md``). Metrics carry no personal details; keep the ports inside the network
    all the same.
    """

    model_config = SettingsConfigDict(env_prefix="FRONTDOOR_METRICS_", **_COMMON)  # type: ignore[typeddict-item]

    host: str = Field(
        default="127.0.0.1",
        description="The address the worker's and the delivery service's metrics listen on "
        "(0.0.0.0 for a Prometheus on another host).",
    )
    worker_port: int = Field(
        default=9101,
        ge=0,
        le=65535,
        description="The worker's metrics port (0: off). Workers on one machine each need their "
        "own; one that finds its port taken logs a warning and runs without metrics.",
    )
    delivery_port: int = Field(
        default=9102, ge=0, le=65535, description="The delivery service's metrics port (0: off)."
    )
    lag_interval_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How often the worker updates its consumer lag gauge.",
    )


def staff_database_url(settings: StaffSettings, worker_settings: WorkerSettings) -> str:
    """The staff store's URL in force: the configured one, else SQLite in the data directory."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return f"sqlite:///{(worker_settings.data_dir / 'staff.db').resolve()}"


def staff_session_secret(settings: StaffSettings, worker_settings: WorkerSettings) -> str:
    """The secret that signs staff sessions: the configured one, else the data directory's.

    The first call without a configured secret generates one into a file created with mode 0600
    and links it into place, so a process starting at the same moment reads either no file or the
    whole secret, and every later start signs with the same secret: staff stay signed in across a
    restart.
    """
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value()
    path = worker_settings.data_dir / "staff-session-secret"
    try:
        if not path.exists():
            _create_secret_file(path)
        secret = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigurationError(f"cannot keep the session secret in {path}: {exc}") from exc
    if not secret:
        raise ConfigurationError(f"{path} is empty: delete it to generate a new session secret")
    return secret


def _create_secret_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f"{path.name}.{secrets.token_hex(8)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(secrets.token_urlsafe(48))
    try:
        os.link(draft, path)
    except FileExistsError:
        pass  # another process linked its secret first: that one is read and used
    finally:
        draft.unlink()


SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def load(settings_type: type[SettingsT]) -> SettingsT:
    """Read one settings class, turning a validation failure into a clear start-up error."""
    try:
        return settings_type()
    except ValidationError as exc:
        prefix = str(settings_type.model_config.get("env_prefix", ""))
        problems = "; ".join(
            f"{prefix}{'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors(include_input=False)
        )
        raise ConfigurationError(f"invalid {settings_type.__name__}: {problems}") from exc


def masked(settings: BaseSettings) -> dict[str, Any]:
    """Settings as plain data for printing, secrets replaced by asterisks."""
    return settings.model_dump(mode="json")
