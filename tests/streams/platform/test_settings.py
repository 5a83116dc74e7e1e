"""Settings: sensible local defaults, the standard broker variable, secrets never printed."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from schemas.errors import ConfigurationError
from streams.platform.settings import (
    KafkaSettings,
    SchemaRegistrySettings,
    WorkerSettings,
    load,
    masked,
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
