"""The Docker Compose stack: Kafka in KRaft mode, a schema registry, the topics job and the worker.

No Docker engine runs these tests, so they read ``docker-compose.yml`` and check what would break
the stack at start-up or quietly later: a worker that starts before its topics exist, a broker that
creates topics on its own, a ``FRONTDOOR_*`` name that pydantic-settings would silently ignore, a
boolean that YAML rewrote, an image tag that floats.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from streams.platform.settings import (
    GatewaySettings,
    KafkaSettings,
    MetricsSettings,
    SchemaRegistrySettings,
    WorkerSettings,
)

COMPOSE_FILE = Path(__file__).resolve().parents[1] / "docker-compose.yml"
SETTINGS_TYPES: tuple[type[BaseSettings], ...] = (
    KafkaSettings,
    WorkerSettings,
    SchemaRegistrySettings,
    GatewaySettings,
    MetricsSettings,
)
APP_SERVICES = ("topics", "worker", "gateway")
SETTING_PREFIXES = ("FRONTDOOR_", "KAFKA_")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    with COMPOSE_FILE.open(encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.safe_load(handle)
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def environment_of(service: dict[str, Any]) -> dict[str, Any]:
    """A service's environment as a mapping, whether written as a mapping or a KEY=value list."""
    environment = service.get("environment", {})
    if isinstance(environment, list):
        return dict(entry.split("=", 1) for entry in environment)
    mapping: dict[str, Any] = environment
    return mapping


def env_names(settings_type: type[BaseSettings]) -> set[str]:
    """The environment variable names pydantic-settings reads for one settings class."""
    prefix = str(settings_type.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for field_name, field in settings_type.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(choice.upper() for choice in alias.choices if isinstance(choice, str))
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{field_name}".upper())
    return names


def advertised_addresses(kafka: dict[str, Any]) -> dict[str, str]:
    """Kafka's advertised listeners as listener name -> host:port."""
    listeners = str(environment_of(kafka)["KAFKA_ADVERTISED_LISTENERS"]).split(",")
    return dict(listener.strip().split("://", 1) for listener in listeners)


def test_the_stack_has_kafka_a_schema_registry_the_topics_job_and_a_worker(
    services: dict[str, dict[str, Any]],
) -> None:
    assert {"kafka", "schema-registry", "topics", "worker"} <= set(services)


def test_the_file_follows_the_compose_spec_without_a_version_key(compose: dict[str, Any]) -> None:
    assert "version" not in compose


def test_kafka_runs_in_kraft_mode_as_its_own_broker_and_controller(
    services: dict[str, dict[str, Any]],
) -> None:
    kafka = services["kafka"]
    env = environment_of(kafka)
    roles = {role.strip() for role in str(env["KAFKA_PROCESS_ROLES"]).split(",")}

    assert kafka["image"] == "apache/kafka:3.9.1"
    assert roles == {"broker", "controller"}
    assert env["CLUSTER_ID"]
    assert str(env["KAFKA_CONTROLLER_QUORUM_VOTERS"]).startswith(f"{env['KAFKA_NODE_ID']}@")
    assert "ZOOKEEPER" not in " ".join(env)


def test_a_single_broker_keeps_one_replica_of_its_internal_topics(
    services: dict[str, dict[str, Any]],
) -> None:
    env = environment_of(services["kafka"])

    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "1"
    assert env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "1"


def test_kafka_leaves_topic_creation_to_the_topics_job(
    services: dict[str, dict[str, Any]],
) -> None:
    assert environment_of(services["kafka"])["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert services["topics"]["command"] == ["topics"]


def test_kafka_listens_for_containers_and_for_this_machine_on_9092(
    services: dict[str, dict[str, Any]],
) -> None:
    kafka = services["kafka"]
    addresses = advertised_addresses(kafka)

    assert any(port.endswith(":9092:9092") for port in kafka["ports"])
    assert addresses["HOST"].endswith(":9092")
    assert addresses["INTERNAL"].split(":")[0] == "kafka"


def test_kafka_keeps_its_log_on_a_named_volume(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]
    log_dir = environment_of(kafka)["KAFKA_LOG_DIRS"]

    assert f"kafka-data:{log_dir}" in kafka["volumes"]
    assert "kafka-data" in compose["volumes"]


def test_the_schema_registry_stores_its_schemas_in_the_stack_kafka(
    services: dict[str, dict[str, Any]],
) -> None:
    registry = services["schema-registry"]
    env = environment_of(registry)

    assert registry["image"] == "confluentinc/cp-schema-registry:7.7.1"
    assert registry["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert "kafka:" in env["SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS"]
    assert env["SCHEMA_REGISTRY_KAFKASTORE_TOPIC_REPLICATION_FACTOR"] == "1"
    assert any(port.endswith(":8081:8081") for port in registry["ports"])


def test_the_topics_job_runs_once_after_kafka_is_healthy(
    services: dict[str, dict[str, Any]],
) -> None:
    topics = services["topics"]

    assert topics["build"] == "."
    assert topics["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert topics["restart"] == "no"


def test_the_worker_starts_only_after_the_topics_job_has_succeeded(
    services: dict[str, dict[str, Any]],
) -> None:
    worker = services["worker"]

    assert worker["command"] == ["worker"]
    assert worker["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    assert worker["depends_on"]["schema-registry"]["condition"] == "service_healthy"


def test_the_worker_restarts_and_is_given_time_to_leave_its_group(
    services: dict[str, dict[str, Any]],
) -> None:
    worker = services["worker"]

    assert worker["restart"] == "unless-stopped"
    assert worker["stop_grace_period"] == "30s"


def test_the_worker_keeps_its_data_dir_on_a_named_volume(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]
    data_dir = environment_of(worker)["FRONTDOOR_DATA_DIR"]
    mounts = {str(volume).split(":")[1]: str(volume).split(":")[0] for volume in worker["volumes"]}

    assert data_dir in mounts
    assert mounts[data_dir] in compose["volumes"]


def test_every_service_waited_on_as_healthy_has_a_healthcheck(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits on {dependency}"


def test_the_topics_job_and_the_worker_share_one_environment(compose: dict[str, Any]) -> None:
    shared: dict[str, Any] = compose["x-frontdoor-env"]

    for name in APP_SERVICES:
        env = environment_of(compose["services"][name])
        assert shared.items() <= env.items(), name


def test_every_frontdoor_variable_is_a_real_setting(
    services: dict[str, dict[str, Any]],
) -> None:
    known = set().union(*(env_names(settings_type) for settings_type in SETTINGS_TYPES))
    assert "KAFKA_BOOTSTRAP_SERVERS" in known

    for name in APP_SERVICES:
        used = {key for key in environment_of(services[name]) if key.startswith(SETTING_PREFIXES)}
        assert used <= known, f"{name} sets unknown settings {sorted(used - known)}"


def test_environment_values_are_strings_yaml_cannot_rewrite(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        for key, value in environment_of(service).items():
            assert isinstance(value, str), f"{name}: quote the value of {key}"


def test_the_shared_environment_is_valid_settings(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in list(os.environ):
        if key.startswith("FRONTDOOR_") or key == "KAFKA_BOOTSTRAP_SERVERS":
            monkeypatch.delenv(key)
    for key, value in environment_of(services["worker"]).items():
        monkeypatch.setenv(key, str(value))

    kafka = KafkaSettings(_env_file=None)
    worker = WorkerSettings(_env_file=None)
    registry = SchemaRegistrySettings(_env_file=None)

    assert kafka.embedded is False
    assert worker.replication_factor == 1
    assert registry.url is not None


def test_the_pipeline_uses_the_stack_kafka_not_the_embedded_broker(
    services: dict[str, dict[str, Any]],
) -> None:
    advertised = set(advertised_addresses(services["kafka"]).values())

    for name in APP_SERVICES:
        env = environment_of(services[name])
        servers = {server.strip() for server in env["KAFKA_BOOTSTRAP_SERVERS"].split(",")}
        assert env["FRONTDOOR_KAFKA_EMBEDDED"] == "false"
        assert servers <= advertised, f"{name} bootstraps from an address kafka does not advertise"
        assert all(server.split(":")[0] in services for server in servers), name


def test_the_pipeline_finds_schemas_in_the_stack_registry(
    services: dict[str, dict[str, Any]],
) -> None:
    listeners = environment_of(services["schema-registry"])["SCHEMA_REGISTRY_LISTENERS"]

    for name in APP_SERVICES:
        url = urlsplit(environment_of(services[name])["FRONTDOOR_SCHEMA_REGISTRY_URL"])
        assert url.hostname == "schema-registry", name
        assert listeners.endswith(f":{url.port}"), name


def test_no_image_floats_on_a_latest_or_missing_tag(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        image = service.get("image")
        if image is None:
            assert "build" in service, f"{name} has neither an image nor a build"
            continue
        repository, _, tag = str(image).rpartition(":")
        assert repository, f"{name} image {image} has no tag"
        assert "/" not in tag, f"{name} image {image} has no tag"
        assert tag != "latest", f"{name} image {image} floats on latest"


def test_the_gateway_serves_partners_with_its_keys_in_postgresql(
    services: dict[str, dict[str, Any]],
) -> None:
    gateway = services["gateway"]
    environment = environment_of(gateway)

    assert gateway["command"] == ["gateway"]
    assert environment["FRONTDOOR_GATEWAY_HOST"] == "0.0.0.0"  # noqa: S104 - inside its container
    assert str(environment["FRONTDOOR_GATEWAY_STORE_URL"]).startswith("postgresql://")
    assert gateway["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "127.0.0.1:8080:8080" in gateway["ports"]


def test_the_staff_application_keeps_its_queue_store_in_postgresql(
    services: dict[str, dict[str, Any]],
) -> None:
    staff = services["staff"]
    environment = environment_of(staff)

    assert staff["command"] == ["staff"]
    assert environment["FRONTDOOR_STAFF_HOST"] == "0.0.0.0"  # noqa: S104 - inside its container
    assert str(environment["FRONTDOOR_STAFF_DATABASE_URL"]).startswith("postgresql://")
    assert staff["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert staff["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    assert "127.0.0.1:8090:8090" in staff["ports"]
