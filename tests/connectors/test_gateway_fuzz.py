"""Property-based fuzzing of the gateway from its own OpenAPI document: no input gives a 500.

Schemathesis generates valid and invalid bodies and headers for every operation the OpenAPI
document declares; each is sent to the real application, publishing to the real broker.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from connectors.gateway import create_app
from connectors.partner_keys import issue_key
from connectors.store import open_store
from schemas.models import Agency, EventType
from streams.platform.settings import GatewaySettings, KafkaSettings

pytestmark = pytest.mark.integration


def test_no_generated_request_makes_the_gateway_fail(
    kafka: KafkaSettings, topic_prefix: str, tmp_path: Path
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'gateway.db'}")
    token = issue_key(
        store,
        partner="police.synthetic",
        agency=Agency.POLICE,
        event_types=list(EventType),
        now=datetime.now(UTC),
    ).token
    config = GatewaySettings(publish_timeout_seconds=3, requests_per_minute=100_000)
    app = create_app(config, kafka, topic_prefix=topic_prefix, store=store)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) == 3

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def no_server_error(case: Any) -> None:
            case.call_and_validate(
                headers={"Authorization": f"Bearer {token}"}, checks=[not_a_server_error]
            )

        no_server_error()
