"""The delivery service: every outbound message reaches its people and partners, at least once.

Events on topics inform nobody. This service reads every outbound topic (duty-team alerts,
timeliness alerts and their escalations, information requests, outcome notifications, school and
health notifications) in its own consumer group, asks the channel file who gets each message and
how (:mod:`connectors.delivery.channels`), and delivers it: an e-mail over SMTP, a signed webhook,
or left at the gateway for the partner to fetch.

**At least once, never lost.** An offset is committed only when its message is delivered to every
recipient or its final failure is recorded (a ``failed`` :class:`DeliveryStatus` and a MASH task
saying what failed, so a person tells the recipient another way). A crash in between delivers the
message again, with the same id: the e-mail's ``Message-ID`` and the webhook's ``webhook-id`` are
derived from the event id, which is the receiver's idempotency key.

**No recipient holds another.** Messages are delivered concurrently (up to
``FRONTDOOR_DELIVERY_IN_FLIGHT_LIMIT`` attempts at once), each retried on its own with exponential
back-off and jitter until the channel file's limit; a message waiting to retry holds no attempt
slot, only its place among the ``FRONTDOOR_DELIVERY_HELD_LIMIT`` messages read and not finished.
Offsets are committed per partition up to the first message not finished
(:mod:`connectors.delivery.offsets`), so a partner whose system is down does not delay the duty
team's alert or a school's notification; a crash while it is down redelivers what came after it,
with the same ids.

**Every attempt is recorded** on ``deliveries.status``, keyed by message: the chronology shows
"school told at 07:42", and a failure shows who was not told and why. Statuses carry addresses and
error codes, never a message's content.

**Operators watch it** through Prometheus (:data:`streams.platform.metrics.DELIVERY`, served on
``FRONTDOOR_METRICS_DELIVERY_PORT`` by :func:`serve`): attempts by channel and state (the
retries among them), messages held and attempts in flight, messages without a route, dead
letters.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import itertools
import logging
import os
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiosmtplib
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from connectors.delivery.channels import (
    Channels,
    EmailRoute,
    FetchRoute,
    Recipient,
    WebhookRoute,
    load_channels,
)
from connectors.delivery.messages import Email, Links, email_for, webhook_body
from connectors.delivery.offsets import OffsetTracker
from connectors.delivery.signing import signed_headers
from connectors.staff.acknowledge_links import acknowledge_secret, acknowledge_url
from schemas.errors import (
    DeliveryError,
    MailDeliveryError,
    NoChannelError,
    ProcessingFailedError,
    SchemaRegistryError,
    UnusableEventError,
    WebhookDeliveryError,
)
from schemas.models import (
    ClockKind,
    DeliveryChannel,
    DeliveryState,
    DeliveryStatus,
    DutyTeamAlert,
    Event,
    MashTask,
    TaskKind,
    TimelinessAlert,
)
from schemas.wire import InboundMessage
from streams.decisions.ids import derived_id
from streams.decisions.intake import dead_letter_for
from streams.decisions.schools import (
    DEFAULT_SAFEGUARDING_LEADS,
    SafeguardingLead,
    load_safeguarding_leads,
)
from streams.platform import metrics
from streams.platform.codec import AvroCodec
from streams.platform.reader import inbound_message
from streams.platform.registry import registry_from
from streams.platform.settings import (
    DeliverySettings,
    KafkaSettings,
    MetricsSettings,
    SchemaRegistrySettings,
    WorkerSettings,
    load,
)
from streams.platform.topics import (
    DUTY_TEAM_ALERTS,
    HEALTH_NOTIFICATIONS,
    INFORMATION_REQUESTS,
    OUTCOME_NOTIFICATIONS,
    SCHOOL_NOTIFICATIONS,
    TIMELINESS_ALERTS,
    TopicSpec,
    destination,
)
from streams.platform.transport import fetch_wait_ms

log = logging.getLogger(__name__)

#: What the delivery service reads: every topic whose messages are for people or partners.
OUTBOUND: tuple[TopicSpec, ...] = (
    DUTY_TEAM_ALERTS,
    TIMELINESS_ALERTS,
    INFORMATION_REQUESTS,
    OUTCOME_NOTIFICATIONS,
    SCHOOL_NOTIFICATIONS,
    HEALTH_NOTIFICATIONS,
)
#: Who the service says it is in the MASH tasks it raises.
SERVICE_CODE = "frontdoor-delivery"
#: Back-off while the broker or the schema registry does not answer (our fault, not a recipient's:
#: never counted against a message's retry limit, never a MASH task), the last one repeated.
_BROKER_RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0)
#: How long a stopping service lets deliveries in progress finish before it leaves them for the
#: next start (uncommitted, so redelivered).
STOP_GRACE_SECONDS = 5.0


class Sender(Protocol):
    """One channel's way of handing a message to a recipient; raises DeliveryError on failure."""

    async def send(self, event: Event, recipient: Recipient, links: Links) -> None: ...


class MailSender:
    """E-mail over SMTP (aiosmtplib): STARTTLS or TLS and credentials as configured."""

    def __init__(self, settings: DeliverySettings, clock: Callable[[], datetime]) -> None:
        self._settings = settings
        self._clock = clock

    async def send(self, event: Event, recipient: Recipient, links: Links) -> None:
        route = recipient.route
        if not isinstance(route, EmailRoute):
            raise TypeError(f"{recipient.code} has no e-mail route")
        message = self.message(email_for(event, recipient, links), event, recipient)
        settings = self._settings
        try:
            refused, _reply = await aiosmtplib.send(
                message,
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                use_tls=settings.smtp_security == "tls",
                start_tls=settings.smtp_security == "starttls",
                username=settings.smtp_username,
                password=(
                    settings.smtp_password.get_secret_value() if settings.smtp_password else None
                ),
                timeout=settings.smtp_timeout_seconds,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            code = getattr(exc, "code", "")
            raise MailDeliveryError(f"{type(exc).__name__} {code}".strip()) from exc
        if refused:
            # Sent to some addresses only: the attempt failed, and is made again for all of
            # them (the Message-ID is the same, so those already reached see one message).
            codes = sorted({str(response.code) for response in refused.values()})
            raise MailDeliveryError(
                f"{len(refused)} of {len(route.to)} addresses refused ({', '.join(codes)})"
            )

    def message(self, mail: Email, event: Event, recipient: Recipient) -> EmailMessage:
        """The e-mail itself; its Message-ID is derived from the event, the same on every retry."""
        assert isinstance(recipient.route, EmailRoute)  # noqa: S101 - checked by send
        message = EmailMessage()
        message["From"] = self._settings.mail_from
        message["To"] = ", ".join(recipient.route.to)
        message["Subject"] = mail.subject
        message["Date"] = email.utils.format_datetime(self._clock())
        message["Message-ID"] = message_id_header(event, recipient)
        message["X-Frontdoor-Event-Id"] = event.event_id
        message.set_content(mail.body)
        return message


def message_id_header(event: Event, recipient: Recipient) -> str:
    """``<event id.recipient@frontdoor>``: a receiver sees a redelivery as the message it has."""
    who = re.sub(r"[^A-Za-z0-9._-]", "-", recipient.code)
    return f"<{event.event_id}.{who}@frontdoor>"


class WebhookSender:
    """Signed webhooks (Standard Webhooks) over HTTPS; any answer but 2xx is a failure."""

    def __init__(self, client: httpx.AsyncClient, clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._clock = clock

    async def send(self, event: Event, recipient: Recipient, links: Links) -> None:  # noqa: ARG002 - a webhook carries the record, not an e-mail's links
        route = recipient.route
        if not isinstance(route, WebhookRoute):
            raise TypeError(f"{recipient.code} has no webhook route")
        body = webhook_body(event)
        headers = signed_headers(route.secret, event.event_id, int(self._clock()), body)
        try:
            response = await self._client.post(route.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise WebhookDeliveryError(type(exc).__name__) from exc
        if not response.is_success:
            raise WebhookDeliveryError(f"HTTP {response.status_code}")


def address_of(recipient: Recipient) -> str:
    """Where a status says the message went: the e-mail addresses, or the webhook's host."""
    route = recipient.route
    if isinstance(route, EmailRoute):
        return ", ".join(route.to)[:500]
    if isinstance(route, WebhookRoute):
        # The host only: a webhook's path or query may carry a partner's token.
        return urlsplit(route.url).netloc
    return "gateway"


def child_key_of(event: Event) -> str | None:
    """The child a message is about, where it names one by key."""
    key = getattr(event, "child_key", None)
    return key if isinstance(key, str) else None


def alert_to_acknowledge(event: Event) -> str | None:
    """The duty-team alert a message asks the duty team to acknowledge, if any: the alert itself,
    or its escalation (the overdue acknowledgement clock, whose subject is the alert)."""
    if isinstance(event, DutyTeamAlert):
        return event.event_id
    if isinstance(event, TimelinessAlert) and event.clock is ClockKind.DUTY_ALERT_ACKNOWLEDGEMENT:
        return event.subject_id
    return None


def delivery_status(
    event: Event,
    recipient: Recipient,
    *,
    attempt: int,
    state: DeliveryState,
    at: datetime,
    error_code: str | None = None,
    next_attempt_at: datetime | None = None,
) -> DeliveryStatus:
    """The status event of one attempt (its id derived: a redelivered attempt records once)."""
    channel = recipient.route.channel
    return DeliveryStatus(
        event_id=derived_id(
            "delivery", event.event_id, recipient.code, channel.value, attempt, state.value
        ),
        message_id=event.event_id,
        message_type=type(event).__name__,
        child_key=child_key_of(event),
        recipient=recipient.code,
        channel=channel,
        address=address_of(recipient),
        attempt=attempt,
        state=state,
        error_code=error_code,
        at=at,
        next_attempt_at=next_attempt_at,
    )


def delivery_failed_task(
    event: Event,
    recipient_code: str,
    channel: str,
    error: DeliveryError,
    *,
    attempts: int,
    at: datetime,
) -> MashTask:
    """The MASH task for a message that could not be delivered: a person tells them another way."""
    return MashTask(
        event_id=derived_id("delivery-failed", event.event_id, recipient_code, channel),
        kind=TaskKind.DELIVERY_FAILED,
        title=f"{type(event).__name__} not delivered to {recipient_code}"[:500],
        sender=SERVICE_CODE,
        reason=(
            f"{attempts} attempt(s) by {channel} failed ({error.message}); tell the recipient "
            f"another way and record it. Message {event.event_id}."
        )[:500],
        error_code=error.code,
        reference=event.event_id,
        created_at=at,
    )


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka has no stubs
    """Commits what is finished of partitions taken away, and forgets the rest of them."""

    def __init__(self, service: DeliveryService) -> None:
        self._service = service

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        self._service.generation += 1
        try:
            await self._service.commit_finished()
        except KafkaError as fault:
            log.warning("commit on revocation failed (%s)", type(fault).__name__)
        finally:
            self._service.tracker.forget(revoked)

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        """Nothing to do: delivery resumes from the committed offsets."""


@dataclass(frozen=True)
class Deployment:
    """What the service needs from the settings, read once at start."""

    kafka: KafkaSettings
    worker: WorkerSettings
    delivery: DeliverySettings
    acknowledge_secret: str


class DeliveryService:
    """Reads the outbound topics and delivers every message; see the module docstring."""

    def __init__(
        self,
        deployment: Deployment,
        channels: Channels,
        leads: Mapping[str, SafeguardingLead],
        codec: AvroCodec,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._deployment = deployment
        self._channels = channels
        self._leads = leads
        self._codec = codec
        self._clock = clock
        self._sleep = sleep
        prefix = deployment.worker.topic_prefix
        self._models = {spec.name_under(prefix): spec.value for spec in OUTBOUND}
        self._prefix = prefix
        self._http: httpx.AsyncClient | None = None
        self._senders: dict[DeliveryChannel, Sender] = {}
        self.tracker: OffsetTracker[TopicPartition] = OffsetTracker()
        #: Counts rebalances: a batch fetched before one is not dispatched after it.
        self.generation = 0
        #: Messages read and not yet finished (delivering, or waiting to retry).
        self._held = asyncio.Semaphore(deployment.delivery.held_limit)
        #: Attempts under way at once. A message waiting out its back-off holds no slot here, so
        #: a partner down for an hour does not slow the school notifications behind it.
        self._sending = asyncio.Semaphore(deployment.delivery.in_flight_limit)
        self._tasks: set[asyncio.Task[None]] = set()
        #: Set when a delivery finishes: the committer commits what became committable.
        self._finished = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None

    @property
    def group_id(self) -> str:
        """The service's consumer group: the deployment's group id and a suffix."""
        return f"{self._deployment.worker.group_id}-delivery"

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; then let deliveries in progress finish briefly."""
        await self._start()
        assert self._consumer is not None  # noqa: S101 - set by _start
        committer = asyncio.create_task(self._commit_as_they_finish(), name="delivery-commits")
        try:
            while not stop.is_set():
                # No more than the attempts possible at once: what is read is soon delivered.
                batches = await self._consumer.getmany(
                    timeout_ms=500, max_records=self._deployment.delivery.in_flight_limit
                )
                await self._dispatch(batches, stop)
            if self._tasks:
                await asyncio.wait(set(self._tasks), timeout=STOP_GRACE_SECONDS)
            committer.cancel()
            try:
                await asyncio.wait_for(self.commit_finished(), timeout=STOP_GRACE_SECONDS)
            except (KafkaError, TimeoutError) as fault:
                # Not committed: delivered again after the restart, with the same ids.
                log.warning("last commit not made (%s)", type(fault).__name__)
        finally:
            committer.cancel()
            for task in set(self._tasks):
                task.cancel()
            await self._stop()

    async def _dispatch(
        self, batches: Mapping[TopicPartition, list[Any]], stop: asyncio.Event
    ) -> None:
        """Start delivering each record of a fetched batch, in order, as room allows.

        Waiting for room yields to the consumer's rebalances: when one happened since the batch
        was fetched, the rest of it is left alone. Its partitions may have moved, or come back
        to be read again from the committed offsets, and the tracker must see each partition's
        offsets in order (a record begun twice would let a commit pass one not delivered)."""
        fetched_in = self.generation
        for partition, records in batches.items():
            for record in records:
                if not await self._hold(stop):
                    return  # stopping: what was read and not begun is read again later
                if self.generation != fetched_in:
                    self._release_held()
                    return
                self.tracker.read(partition, record.offset)
                task = asyncio.create_task(self._handle(partition, record))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _hold(self, stop: asyncio.Event) -> bool:
        """Wait for room among the messages held; False when the service is stopping instead
        (a partner down long enough fills the room, and a stop must still be heard)."""
        while not stop.is_set():
            try:
                await asyncio.wait_for(self._held.acquire(), timeout=0.5)
            except TimeoutError:
                continue
            metrics.DELIVERY_MESSAGES_HELD.inc()
            return True
        return False

    def _release_held(self) -> None:
        self._held.release()
        metrics.DELIVERY_MESSAGES_HELD.dec()

    async def commit_finished(self) -> None:
        """Commit each partition up to its first message not yet finished; offsets a failed
        commit carried are kept for the next one."""
        ready = self.tracker.take_committable()
        if ready and self._consumer is not None:
            try:
                await self._consumer.commit(ready)
            except BaseException:
                self.tracker.commit_failed(ready)
                raise

    async def _commit_as_they_finish(self) -> None:
        # Commits follow deliveries closely (one commit for whatever finished meanwhile), so a
        # crash repeats little; a commit that fails is covered by the next one, or at worst the
        # messages are delivered again, with the same ids.
        while True:
            await self._finished.wait()
            self._finished.clear()
            try:
                await self.commit_finished()
            except KafkaError as fault:
                log.warning("commit failed (%s); the next one covers it", type(fault).__name__)
                await self._sleep(_BROKER_RETRY_SECONDS[0])

    async def _start(self) -> None:
        deployment = self._deployment
        config = deployment.kafka.aiokafka_config()
        self._http = httpx.AsyncClient(timeout=deployment.delivery.webhook_timeout_seconds)
        self._senders = {
            DeliveryChannel.EMAIL: MailSender(deployment.delivery, self._clock),
            DeliveryChannel.WEBHOOK: WebhookSender(self._http),
        }
        self._producer = AIOKafkaProducer(**config, acks="all", client_id=SERVICE_CODE)
        self._consumer = AIOKafkaConsumer(
            **config,
            group_id=self.group_id,
            client_id=SERVICE_CODE,
            enable_auto_commit=False,
            # Only for a group with nothing committed yet: its first start.
            auto_offset_reset=deployment.delivery.first_start,
            session_timeout_ms=int(deployment.worker.session_timeout_seconds * 1000),
            heartbeat_interval_ms=int(deployment.worker.heartbeat_interval_seconds * 1000),
            fetch_max_wait_ms=fetch_wait_ms(deployment.worker, deployment.kafka),
        )
        await self._producer.start()
        await self._consumer.start()
        self._consumer.subscribe(sorted(self._models), listener=_Listener(self))
        log.info("delivery service reading %d topics as %s", len(self._models), self.group_id)

    async def _stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
        if self._producer is not None:
            await self._producer.stop()
        if self._http is not None:
            await self._http.aclose()

    async def _handle(self, partition: TopicPartition, record: Any) -> None:
        try:
            await self._deliver_message(record)
            self.tracker.finished(partition, record.offset)
            self._finished.set()
        except asyncio.CancelledError:
            raise
        except Exception as failure:
            # A fault no retry cures (a bug, input nobody foresaw): dead-lettered, so a person
            # tells the recipient (a MASH task follows), and the partition moves on instead of
            # holding every later message's commit until a restart.
            log.critical(
                "OPERATOR ALERT: delivery of %s[%d]@%d failed (%s); dead-lettered for a person",
                record.topic,
                record.partition,
                record.offset,
                type(failure).__name__,
            )
            log.debug("delivery failure", exc_info=failure)
            reason = ProcessingFailedError(f"{type(failure).__name__} while delivering")
            await self._publish(dead_letter_for(inbound_message(record), reason, self._clock()))
            metrics.delivery_dead_letters(reason.code).inc()
            self.tracker.finished(partition, record.offset)
            self._finished.set()
        finally:
            self._release_held()

    async def _deliver_message(self, record: Any) -> None:
        message = inbound_message(record)
        try:
            event = await self._transient(lambda: self._decoded(message))
        except UnusableEventError as error:
            # Our own topics carry only what our own agents wrote: this is a bug or a stranger.
            letter = dead_letter_for(message, error, self._clock())
            await self._publish(letter)
            metrics.delivery_dead_letters(error.code).inc()
            log.error(  # noqa: TRY400 - the code says what; a traceback would quote the input
                "unusable message on %s[%d]@%d dead-lettered as %s code=%s",
                message.topic,
                message.partition,
                message.offset,
                letter.event_id,
                error.code,
            )
            return
        try:
            recipients = self._channels.recipients_of(event, self._leads)
        except NoChannelError as error:
            await self._record_no_channel(event, error)
            return
        await asyncio.gather(*(self._deliver_to(event, recipient) for recipient in recipients))

    def _decoded(self, message: InboundMessage) -> Event:
        return self._codec.decode(message.value, self._models[message.topic])

    async def _deliver_to(self, event: Event, recipient: Recipient) -> None:
        route = recipient.route
        if isinstance(route, FetchRoute):
            await self._publish_status(
                delivery_status(
                    event, recipient, attempt=1, state=DeliveryState.AVAILABLE, at=self._clock()
                )
            )
            return
        sender = self._senders[route.channel]
        links = self._links(event, recipient)
        policy = self._channels.retry
        first = self._clock()
        attempt = 1
        while True:
            try:
                async with self._sending:
                    with metrics.DELIVERY_ATTEMPTS_IN_FLIGHT.track_inprogress():
                        await sender.send(event, recipient, links)
            except DeliveryError as failure:
                now = self._clock()
                if policy.gives_up(first, now):
                    await self._record_failure(event, recipient, failure, attempt, now)
                    return
                delay = policy.delay(attempt, random.random)
                log.warning(
                    "delivery of %s to %s by %s failed (attempt %d, %s); again in %.1fs",
                    event.event_id,
                    recipient.code,
                    route.channel.value,
                    attempt,
                    failure.code,
                    delay,
                )
                await self._publish_status(
                    delivery_status(
                        event,
                        recipient,
                        attempt=attempt,
                        state=DeliveryState.RETRYING,
                        at=now,
                        error_code=failure.code,
                        next_attempt_at=now + timedelta(seconds=delay),
                    )
                )
                await self._sleep(delay)
                attempt += 1
                continue
            await self._publish_status(
                delivery_status(
                    event,
                    recipient,
                    attempt=attempt,
                    state=DeliveryState.DELIVERED,
                    at=self._clock(),
                )
            )
            log.info(
                "delivered %s %s to %s by %s (attempt %d)",
                type(event).__name__,
                event.event_id,
                recipient.code,
                route.channel.value,
                attempt,
            )
            return

    def _links(self, event: Event, recipient: Recipient) -> Links:
        settings = self._deployment.delivery
        alert_id = alert_to_acknowledge(event)
        acknowledge = (
            acknowledge_url(
                settings.staff_public_url,
                self._deployment.acknowledge_secret,
                alert_id,
                recipient.code,
            )
            if alert_id is not None
            else None
        )
        return Links(staff_url=settings.staff_public_url, acknowledge_url=acknowledge)

    async def _record_failure(
        self,
        event: Event,
        recipient: Recipient,
        failure: DeliveryError,
        attempts: int,
        at: datetime,
    ) -> None:
        channel = recipient.route.channel.value
        log.error(
            "gave up delivering %s to %s by %s after %d attempt(s) (%s): a MASH task follows",
            event.event_id,
            recipient.code,
            channel,
            attempts,
            failure.code,
        )
        await self._publish_status(
            delivery_status(
                event,
                recipient,
                attempt=attempts,
                state=DeliveryState.FAILED,
                at=at,
                error_code=failure.code,
            )
        )
        await self._publish(
            delivery_failed_task(event, recipient.code, channel, failure, attempts=attempts, at=at)
        )

    async def _record_no_channel(self, event: Event, error: NoChannelError) -> None:
        log.error(
            "no channel for %s %s (%s): a MASH task follows",
            type(event).__name__,
            event.event_id,
            error.code,
        )
        await self._publish(
            delivery_failed_task(event, "unknown", "none", error, attempts=0, at=self._clock())
        )
        metrics.DELIVERY_UNROUTABLE.inc()

    async def _publish_status(self, status: DeliveryStatus) -> None:
        """Publish what an attempt came to, and count it (each status is one attempt's end)."""
        await self._publish(status)
        metrics.delivery_attempts(status.channel.value, status.state.value).inc()

    async def _publish(self, event: Event) -> None:
        """Publish one record and wait for the broker; a broker outage is waited out, never
        counted against a recipient (nothing is committed meanwhile)."""
        assert self._producer is not None  # noqa: S101 - set by _start
        spec = destination(event)
        topic = spec.name_under(self._prefix)
        key = spec.key_of(event).encode("utf-8")
        producer = self._producer
        codec = self._codec

        async def send() -> Any:
            # Encoding asks a schema registry for the record's id on first use: in the retry.
            return await producer.send_and_wait(topic, value=codec.encode(event), key=key)

        await self._transient(send)

    async def _transient(self, attempt: Callable[[], Any]) -> Any:
        """Run ``attempt`` (a call or a coroutine factory), retrying our own passing faults for as
        long as they last: giving up would leave the message uncommitted until a restart, and
        hold its partition's commits meanwhile. Past the stall alert time an operator is told."""
        started = self._clock()
        alerted = False
        for retry in itertools.count():
            try:
                result = attempt()
                return await result if asyncio.iscoroutine(result) else result
            except (KafkaError, SchemaRegistryError, ConnectionError, TimeoutError) as fault:
                waited = (self._clock() - started).total_seconds()
                if not alerted and waited >= self._deployment.worker.stall_alert_seconds:
                    alerted = True
                    log.critical(
                        "OPERATOR ALERT: the delivery service has waited %.0fs for the broker "
                        "or schema registry (%s); deliveries are not recorded until they answer",
                        waited,
                        type(fault).__name__,
                    )
                delay = _BROKER_RETRY_SECONDS[min(retry, len(_BROKER_RETRY_SECONDS) - 1)]
                log.error(  # noqa: TRY400 - expected while it lasts; the class says enough
                    "broker or schema registry fault (%s); retrying in %.1fs",
                    type(fault).__name__,
                    delay,
                )
                await self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def configured_service() -> DeliveryService:
    """The service as the settings say, everything checked before it reads a message: the channel
    file whole (each webhook's secret included), the safeguarding leads, the schema registry."""
    worker = load(WorkerSettings)
    delivery = load(DeliverySettings)
    deployment = Deployment(
        kafka=load(KafkaSettings),
        worker=worker,
        delivery=delivery,
        acknowledge_secret=acknowledge_secret(),
    )
    channels = load_channels(delivery.channels_file, os.environ)
    leads = load_safeguarding_leads(worker.safeguarding_leads or DEFAULT_SAFEGUARDING_LEADS)
    codec = AvroCodec(registry_from(load(SchemaRegistrySettings)))
    return DeliveryService(deployment, channels, leads, codec)


async def serve(service: DeliveryService) -> None:
    """Run ``service`` until SIGINT or SIGTERM (the command line's ``frontdoor delivery``), its
    metrics served on ``FRONTDOOR_METRICS_DELIVERY_PORT``."""
    import signal  # noqa: PLC0415 - only the command line runs the service this way

    settings = load(MetricsSettings)
    metrics.serve(
        metrics.DELIVERY, host=settings.host, port=settings.delivery_port, what="delivery service"
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    await service.run(stop)
