"""The one Faust app, configured for at-least-once processing on the embedded broker or Kafka.

Settings follow ``shared/broker-notes.md``: at-least-once (Tansu's transactions are not
trustworthy, so every output is idempotent instead), short group session timeouts (Tansu makes a
join wait half of it), topics created explicitly before workers start, and raw bytes on the wire so
our codec, not Faust's, decides what is unusable.
"""

from __future__ import annotations

import ssl
from typing import Any

import faust

from streams.platform.codec import AvroCodec
from streams.platform.registry import registry_from
from streams.platform.settings import KafkaSettings, SchemaRegistrySettings, WorkerSettings, load
from streams.platform.transport import SCHEME

kafka_settings = load(KafkaSettings)
worker_settings = load(WorkerSettings)
codec = AvroCodec(registry_from(load(SchemaRegistrySettings)))

#: Events each agent's stream holds before Faust stops fetching its partitions (Faust's default).
STREAM_BUFFER_SIZE = 4096
#: Records one poll of the broker hands to the agents at most. Faust stops fetching a partition
#: once its agent's buffer is 80% full (``mode``'s pressure ratio of 1.25) but still delivers what
#: one poll returned, and while it waits for room in one agent's full buffer its single fetch loop
#: feeds no other agent. Unbounded (Faust's default), one poll of a history import's backlog
#: held up to 22,000 records, and every other agent waited while identification worked through
#: them. A poll that fits in the 20% left never blocks the loop.
MAX_POLL_RECORDS = 500


def _credentials(settings: KafkaSettings) -> Any:
    """Faust credentials for SSL and SASL, or None for PLAINTEXT."""
    context: ssl.SSLContext | None = None
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        context = ssl.create_default_context(
            cafile=str(settings.ssl_cafile) if settings.ssl_cafile else None
        )
        if settings.ssl_certfile:
            context.load_cert_chain(
                str(settings.ssl_certfile),
                str(settings.ssl_keyfile) if settings.ssl_keyfile else None,
            )
    if settings.security_protocol.startswith("SASL"):
        return faust.SASLCredentials(
            username=settings.sasl_username,
            password=settings.sasl_password.get_secret_value() if settings.sasl_password else None,
            mechanism=settings.sasl_mechanism,
            ssl_context=context,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None


app = faust.App(
    worker_settings.group_id,
    # Faust's aiokafka transport with the fetch wait made a setting (streams/platform/transport.py).
    broker=[f"{SCHEME}://{server}" for server in kafka_settings.servers],
    broker_credentials=_credentials(kafka_settings),
    broker_session_timeout=worker_settings.session_timeout_seconds,
    broker_heartbeat_interval=worker_settings.heartbeat_interval_seconds,
    processing_guarantee="at_least_once",
    # Agents ack by hand, only after an event's outputs are acknowledged (agents/delivery.py), so
    # an unfinished event is never committed. Waiting for in-flight events at shutdown or rebalance
    # would hang for as long as an outage is being retried; not waiting loses nothing.
    stream_wait_empty=False,
    stream_buffer_maxsize=STREAM_BUFFER_SIZE,
    broker_max_poll_records=MAX_POLL_RECORDS,
    producer_acks=-1,
    key_serializer="raw",
    value_serializer="raw",
    topic_partitions=worker_settings.default_partitions,
    topic_replication_factor=worker_settings.replication_factor,
    store=worker_settings.store,
    datadir=str(worker_settings.data_dir / "faust"),
    web_enabled=False,
    autodiscover=False,
)
