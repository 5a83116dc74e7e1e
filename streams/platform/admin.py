"""Creating and verifying the topology's topics on the broker, idempotently.

Topics are created before any worker starts, with their partition counts: a broker that
auto-creates them picks its own count (Tansu: 4), and a Faust table whose source differs
crash-loops (``shared/broker-notes.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from schemas.errors import BrokerUnavailableError, TopicMismatchError
from streams.platform.settings import KafkaSettings
from streams.platform.topics import TopicSpec


@dataclass(frozen=True)
class TopicReport:
    """What ``ensure_topics`` found or did for one topic."""

    spec: TopicSpec
    name: str
    status: str  # "created", "exists" or "mismatch"
    partitions: int


def ensure_topics(
    settings: KafkaSettings,
    specs: Sequence[TopicSpec],
    *,
    replication_factor: int = 1,
    prefix: str | None = None,
) -> list[TopicReport]:
    """Create missing topics; report every topic. Raises TopicMismatchError on a wrong layout.

    ``prefix`` overrides the configured topic prefix (tests use one per test).
    """

    def name(spec: TopicSpec) -> str:
        return spec.full_name if prefix is None else spec.name_under(prefix)

    try:
        admin = KafkaAdminClient(**settings.kafka_python_config(), client_id="frontdoor-topics")
    except KafkaError as exc:
        raise BrokerUnavailableError(f"cannot reach {settings.bootstrap_servers}") from exc
    try:
        existing = set(admin.list_topics())
        missing = [spec for spec in specs if name(spec) not in existing]
        created: set[str] = set()
        for spec in missing:
            new_topic = NewTopic(
                name(spec), spec.partitions, replication_factor, topic_configs=dict(spec.config)
            )
            try:
                admin.create_topics([new_topic])
                created.add(name(spec))
            except TopicAlreadyExistsError:
                pass  # another process created it between our list and create: verified below
        described = {
            topic["name"]: len(topic["partitions"])
            for topic in admin.describe_topics([name(spec) for spec in specs])
        }
    except KafkaError as exc:
        raise BrokerUnavailableError(
            f"topic administration failed on {settings.bootstrap_servers}"
        ) from exc
    finally:
        admin.close()
    reports = []
    for spec in specs:
        partitions = described.get(name(spec), 0)
        if partitions != spec.partitions:
            status = "mismatch"
        elif name(spec) in created:
            status = "created"
        else:
            status = "exists"
        reports.append(TopicReport(spec, name(spec), status, partitions))
    mismatched = [r for r in reports if r.status == "mismatch"]
    if mismatched:
        names = ", ".join(
            f"{r.name} has {r.partitions} partitions, needs {r.spec.partitions}" for r in mismatched
        )
        raise TopicMismatchError(names)
    return reports


def format_reports(reports: Sequence[TopicReport]) -> str:
    """A readable table of the topology: name, status, partitions, key, value, configs."""
    rows = [("topic", "status", "partitions", "key", "value", "config")]
    for report in reports:
        spec = report.spec
        config = ",".join(f"{k}={v}" for k, v in sorted(spec.config.items()))
        rows.append(
            (
                report.name,
                report.status,
                str(report.partitions),
                spec.key,
                spec.value.__name__,
                config,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows
    )


def committed_offsets(settings: KafkaSettings, group_id: str) -> dict[tuple[str, int], int]:
    """The consumer group's committed position per (topic, partition): what it has consumed."""
    try:
        admin = KafkaAdminClient(**settings.kafka_python_config(), client_id="frontdoor-reconcile")
        try:
            offsets = admin.list_group_offsets(group_id).get(group_id, {})
        finally:
            admin.close()
    except KafkaError as exc:
        raise BrokerUnavailableError(f"cannot read the offsets of group {group_id}") from exc
    return {(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()}
