"""Settings: sensible local defaults, the standard broker variable, secrets never printed."""

from __future__ import annotations

import json
import ssl
import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from schemas.errors import ConfigurationError
from streams.platform.settings import (
    KafkaSettings,
    SchemaRegistrySettings,
    StaffSettings,
    WorkerSettings,
    load,
    masked,
    staff_database_url,
    staff_session_secret,
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "FRONTDOOR_KAFKA_BOOTSTRAP_SERVERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir("/")  # no stray .env from the working directory


def test_the_defaults_run_everything_locally_on_the_embedded_broker() -> None:
    kafka = KafkaSettings()
    assert kafka.bootstrap_servers == "127.0.0.1:9092"
    assert kafka.embedded is True
    assert kafka.security_protocol == "PLAINTEXT"
    assert SchemaRegistrySettings().url is None


def test_the_standard_kafka_bootstrap_servers_variable_names_the_broker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka-1:9092, kafka-2:9092")
    assert KafkaSettings().servers == ["kafka-1:9092", "kafka-2:9092"]


def test_secrets_are_masked_when_settings_are_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("FRONTDOOR_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("FRONTDOOR_KAFKA_SASL_USERNAME", "frontdoor")
    monkeypatch.setenv("FRONTDOOR_KAFKA_SASL_PASSWORD", "hunter2-synthetic")
    monkeypatch.setenv("FRONTDOOR_SCHEMA_REGISTRY_USERNAME", "frontdoor")
    monkeypatch.setenv("FRONTDOOR_SCHEMA_REGISTRY_PASSWORD", "registry-synthetic")

    kafka, registry = KafkaSettings(), SchemaRegistrySettings()
    printed = json.dumps(masked(kafka)) + json.dumps(masked(registry)) + repr(kafka)

    assert "hunter2-synthetic" not in printed
    assert "registry-synthetic" not in printed
    assert kafka.kafka_python_config()["sasl_plain_password"] == "hunter2-synthetic"


def test_sasl_without_credentials_fails_at_start_up_naming_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FRONTDOOR_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    with pytest.raises(ConfigurationError, match="SASL_PASSWORD"):
        load(KafkaSettings)


def test_a_bad_value_fails_with_the_variable_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_DEFAULT_PARTITIONS", "zero")
    with pytest.raises(ConfigurationError, match="FRONTDOOR_DEFAULT_PARTITIONS") as raised:
        load(WorkerSettings)
    assert raised.value.code == "FD-CONFIG"


def test_a_heartbeat_too_close_to_the_session_timeout_is_refused() -> None:
    with pytest.raises(ValidationError):
        WorkerSettings(session_timeout_seconds=6, heartbeat_interval_seconds=3)


def test_settings_are_frozen() -> None:
    settings = WorkerSettings()
    with pytest.raises(ValidationError):
        settings.workers = 3


def test_the_staff_application_defaults_to_sqlite_in_the_data_directory(tmp_path: Path) -> None:
    staff, worker = StaffSettings(), WorkerSettings(data_dir=tmp_path)
    assert (staff.host, staff.port, staff.secure_cookies) == ("127.0.0.1", 8090, True)
    assert (staff.sign_in_attempts_per_minute, staff.session_idle_minutes) == (5, 30)
    assert staff_database_url(staff, worker) == f"sqlite:///{tmp_path.resolve() / 'staff.db'}"


def test_staff_secrets_come_from_the_environment_and_are_masked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FRONTDOOR_STAFF_DATABASE_URL", "postgresql://staff:pw-synthetic@db/staff")
    monkeypatch.setenv("FRONTDOOR_STAFF_SESSION_SECRET", "secret-synthetic")
    monkeypatch.setenv("FRONTDOOR_STAFF_SECURE_COOKIES", "false")
    staff, worker = load(StaffSettings), WorkerSettings(data_dir=tmp_path)

    assert "synthetic" not in json.dumps(masked(staff)) + repr(staff)
    assert staff_database_url(staff, worker) == "postgresql://staff:pw-synthetic@db/staff"
    assert staff_session_secret(staff, worker) == "secret-synthetic"
    assert staff.secure_cookies is False
    assert not list(tmp_path.iterdir())


def test_an_unset_session_secret_is_made_once_and_kept_private(tmp_path: Path) -> None:
    staff, worker = StaffSettings(), WorkerSettings(data_dir=tmp_path / "data")

    first = staff_session_secret(staff, worker)

    kept = tmp_path / "data" / "staff-session-secret"
    assert len(first) >= 32
    assert kept.read_text() == first
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert staff_session_secret(staff, worker) == first
    assert [path.name for path in kept.parent.iterdir()] == ["staff-session-secret"]


def test_an_emptied_session_secret_file_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "staff-session-secret").write_text("")
    with pytest.raises(ConfigurationError, match="empty"):
        staff_session_secret(StaffSettings(), WorkerSettings(data_dir=tmp_path))


def test_a_bad_staff_setting_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_STAFF_SESSION_IDLE_MINUTES", "0")
    with pytest.raises(ConfigurationError, match="FRONTDOOR_STAFF_SESSION_IDLE_MINUTES"):
        load(StaffSettings)


def test_aiokafka_clients_get_the_same_connection_and_tls_as_a_context() -> None:
    plain = KafkaSettings(bootstrap_servers="kafka-1:9092", sasl_mechanism=None)
    assert plain.aiokafka_config() == {
        "bootstrap_servers": ["kafka-1:9092"],
        "security_protocol": "PLAINTEXT",
        "request_timeout_ms": 15_000,
    }
    secured = KafkaSettings(
        bootstrap_servers="kafka-1:9093",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="frontdoor",
        sasl_password="not-a-real-password",
    )
    config = secured.aiokafka_config()
    assert config["sasl_plain_username"] == "frontdoor"
    assert config["sasl_plain_password"] == "not-a-real-password"
    assert isinstance(config["ssl_context"], ssl.SSLContext)
    assert not any(name.startswith("ssl_") and name != "ssl_context" for name in config)
