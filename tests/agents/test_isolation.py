"""Two deployments on one cluster share nothing: topics, consumer groups and tables all carry the
namespace, so a child known to one is unknown to the other, even with the same app id."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from kafka import KafkaAdminClient

from schemas.models import MatchKind, Queue
from schemas.wire import SENDER_HEADER
from streams.platform.app import codec
from streams.platform.publisher import Publisher
from streams.platform.settings import KafkaSettings
from streams.platform.topics import CONTACTS
from tests.helpers import VALID_NHS_NUMBER, contact, running_worker, work_item_in

pytestmark = pytest.mark.integration


def test_a_child_known_to_one_deployment_is_unknown_to_another_on_the_same_cluster(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    tenants = [f"tenant-{name}-{uuid.uuid4().hex[:6]}." for name in ("a", "b")]
    app_id = f"app-{uuid.uuid4().hex[:6]}"
    same_app_id = {"FRONTDOOR_APP_ID": app_id}  # one app id in both deployments
    child = contact().children[0].model_copy(update={"nhs_number": VALID_NHS_NUMBER})
    first, second = contact(children=[child]), contact(children=[child])

    with (
        Publisher(kafka, codec) as publisher,
        running_worker(kafka, tenants[0], _dir(tmp_path, "a"), extra_env=same_app_id),
    ):
        publisher.publish(
            CONTACTS.name_under(tenants[0]), first, headers={SENDER_HEADER: "school.1"}
        )
        in_a = work_item_in(kafka, tenants[0], Queue.MASH, first.event_id)
        # The second deployment starts after the first has written its tables: it must not
        # recover them.
        with running_worker(kafka, tenants[1], _dir(tmp_path, "b"), extra_env=same_app_id):
            publisher.publish(
                CONTACTS.name_under(tenants[1]), second, headers={SENDER_HEADER: "school.1"}
            )
            in_b = work_item_in(kafka, tenants[1], Queue.MASH, second.event_id)
            created = _names_on_the_cluster_naming(kafka, app_id)

    assert in_a.match.kind is MatchKind.NEW
    assert in_b.match.kind is MatchKind.NEW
    assert in_b.history.previous_events == 0
    # Every group and changelog the two deployments created carries its own namespace.
    assert created
    assert [name for name in created if not name.startswith(tuple(tenants))] == []


def _group_name(group: object) -> str:
    # kafka-python 3 lists groups as dicts; older releases as (name, protocol) tuples.
    return str(group["group_id"] if isinstance(group, dict) else group[0])  # type: ignore[index]


def _names_on_the_cluster_naming(kafka: KafkaSettings, app_id: str) -> list[str]:
    admin = KafkaAdminClient(**kafka.kafka_python_config())
    try:
        topics = admin.list_topics()
        groups = [_group_name(group) for group in admin.list_groups()]
    finally:
        admin.close()
    return sorted(name for name in [*topics, *groups] if app_id in name)


def _dir(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.mkdir()
    return path
