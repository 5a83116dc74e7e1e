"""The partners' HTTP gateway: contacts, police notifications and consent events over HTTPS,
and a local authority case-management system's threshold decisions, strategy discussions and
child protection conferences.

Most partner systems will not run a Kafka producer, so this is the front door's front door. It is
as careful as the pipeline behind it:

* ``202 Accepted`` with the event id is answered **only after the broker acknowledged the write**
  (acks=all). A broker that cannot be reached gives ``503`` with ``Retry-After``; never a 202 for
  an event that might be lost.
* Unusable input gives ``422`` naming each field, never echoing values. A usable event with
  data-quality problems (a wrong NHS check digit, say) is accepted with ``202`` and ``warnings``:
  a safeguarding concern never bounces on a typo; the pipeline asks the sender to correct it.
* Every request carries a partner API key (``Authorization: Bearer fdk_...``), bound to one
  partner, one agency and the event types it may publish: ``401`` without a valid key, ``403``
  when a key is used beyond its rights. Keys are stored hashed (:mod:`connectors.partner_keys`).
  The key is checked **before** the body is validated, so a caller without one learns nothing of
  the contract; failed checks are limited per client address and per key id (``429``), so a
  flood of wrong keys costs no argon2 work and slows no other partner.
* ``Idempotency-Key`` (or, without one, the event id) makes retries safe: the same request twice
  publishes once, also across a gateway restart (the keys are kept in the durable store). An
  event is its partner's event id: two partners may use the same id. A partner reusing one of its
  ids (or Idempotency-Keys) for different content gets ``409``, never a replay that would lose
  the new child.
* Bodies over the size limit get ``413``; more requests than a key's rate gets ``429``.
* Case records (``/v1/threshold-decisions``, ``/v1/strategy-discussions``,
  ``/v1/child-protection-conferences``) need a local authority key allowed them, and meet the
  staff application's rules (:mod:`connectors.case_records`), checked against the work item in
  the staff application's queue store: a record that does not gets ``422`` naming each field, and
  nothing is published. A decision is published with the referrer's outcome notification.
* ``GET /metrics`` gives the gateway's Prometheus metrics (requests by route and status, their
  latency, events accepted by type; ``docs/metrics.md``), without a key: they carry no partner's
  data, only counts.
* What the front door addresses to a partner can be fetched, for partners without a webhook:
  ``GET /v1/information-requests`` and ``GET /v1/outcome-notifications`` give the records
  addressed to the key's partner (its sender code) and never another's, oldest first, a page at
  a time: ``after`` is the cursor (the ``next_after`` of the page before; 0 at first), ``limit``
  at most 500. Any active key of the partner may fetch; no right is granted beyond holding it.
  They are read from the staff application's queue store, which its feeder fills from the topics.

Lifecycle: :func:`create_app` builds the app; the store and the broker connection open at start-up
and close at shutdown. The publisher connects lazily, so a gateway started while the broker is down
still answers (503) rather than refusing to start.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from connectors.case_records import CaseRecord, checked_outputs
from connectors.partner_keys import (
    CaseRecordType,
    authenticate,
    authorize,
    authorize_case_record,
    key_id_of,
)
from connectors.staff.db import engine_for
from connectors.staff.store import PartnerMessageKind, QueueStore
from connectors.store import (
    ApiKeyRecord,
    Store,
    StoredResponse,
    configured_store_url,
    open_store,
)
from schemas.errors import (
    AuthenticationError,
    AuthorizationError,
    BrokerError,
    EventIdReusedError,
    FrontDoorError,
    RecordRefusedError,
    StoreError,
)
from schemas.models import (
    PARTNER_EVENT_MODELS,
    ChildProtectionConference,
    ConsentEvent,
    Contact,
    Event,
    EventType,
    InformationRequest,
    OutcomeNotification,
    PoliceNotification,
    StrategyDiscussion,
    ThresholdDecision,
)
from schemas.quality import data_quality_issues
from schemas.wire import SENDER_HEADER
from streams.decisions.ids import content_digest
from streams.decisions.rules import DEFAULT_RULES_FILE, load_rules
from streams.decisions.schools import DEFAULT_DIRECTORY, SchoolDirectory, load_directory
from streams.platform import metrics
from streams.platform.codec import AvroCodec
from streams.platform.publisher import Publisher
from streams.platform.registry import registry_from
from streams.platform.settings import (
    GatewaySettings,
    KafkaSettings,
    SchemaRegistrySettings,
    StaffSettings,
    WorkerSettings,
    load,
    staff_database_url,
)
from streams.platform.topics import INTAKE, destination

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

PATHS: dict[EventType, str] = {
    EventType.CONTACT: "/v1/contacts",
    EventType.POLICE_NOTIFICATION: "/v1/police-notifications",
    EventType.CONSENT_EVENT: "/v1/consent-events",
}
CASE_RECORD_MODELS: dict[CaseRecordType, type[CaseRecord]] = {
    CaseRecordType.THRESHOLD_DECISION: ThresholdDecision,
    CaseRecordType.STRATEGY_DISCUSSION: StrategyDiscussion,
    CaseRecordType.CHILD_PROTECTION_CONFERENCE: ChildProtectionConference,
}
CASE_RECORD_PATHS: dict[CaseRecordType, str] = {
    CaseRecordType.THRESHOLD_DECISION: "/v1/threshold-decisions",
    CaseRecordType.STRATEGY_DISCUSSION: "/v1/strategy-discussions",
    CaseRecordType.CHILD_PROTECTION_CONFERENCE: "/v1/child-protection-conferences",
}
FETCH_PATHS: dict[PartnerMessageKind, str] = {
    PartnerMessageKind.INFORMATION_REQUEST: "/v1/information-requests",
    PartnerMessageKind.OUTCOME_NOTIFICATION: "/v1/outcome-notifications",
}
#: The most records one fetch gives, and how many when the partner does not say.
MOST_PER_PAGE = 500
DEFAULT_PER_PAGE = 100
#: The largest cursor: sequence numbers are 64-bit.
_LARGEST_CURSOR = 2**63 - 1


class DataQualityWarning(BaseModel):
    """A data-quality problem in an accepted event: the field, a stable code and a message."""

    field: str
    code: str
    message: str


class Accepted(BaseModel):
    """The answer to an accepted event."""

    event_id: str
    status: str = "accepted"
    warnings: list[DataQualityWarning] = Field(default_factory=list)


class FieldProblem(BaseModel):
    field: str | None
    message: str


class Problem(BaseModel):
    """Every error answer: a stable code, a message, and the fields at fault where there are any."""

    code: str
    message: str
    errors: list[FieldProblem] = Field(default_factory=list)


class InformationRequestPage(BaseModel):
    """A page of the information requests addressed to the key's partner, oldest first."""

    items: list[InformationRequest]
    next_after: int = Field(
        description="The cursor for the next page: the last item's, or the given one if none."
    )


class OutcomeNotificationPage(BaseModel):
    """A page of the outcome notifications addressed to the key's partner, oldest first."""

    items: list[OutcomeNotification]
    next_after: int = Field(
        description="The cursor for the next page: the last item's, or the given one if none."
    )


FETCH_PAGES: dict[PartnerMessageKind, type[BaseModel]] = {
    PartnerMessageKind.INFORMATION_REQUEST: InformationRequestPage,
    PartnerMessageKind.OUTCOME_NOTIFICATION: OutcomeNotificationPage,
}


def _problem(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    headers = extra.pop("headers", None)
    body = Problem(code=code, message=message, **extra).model_dump(mode="json")
    return JSONResponse(status_code=status, content=body, headers=headers)


class BodySizeLimit:
    """ASGI middleware: refuse bodies over ``limit`` bytes with 413, before they are read whole."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], limit: int) -> None:
        self._app = app
        self._limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self._limit:
            await _too_large(send, self._limit)
            return
        # Without a trustworthy length (chunked bodies), read at most the limit, then hand the
        # buffered body on: the app never sees more than the limit.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self._limit:
                await _too_large(send, self._limit)
                return
            chunks.append(body)
            more = bool(message.get("more_body", False))
        buffered = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": buffered, "more_body": False}
            return await receive()

        await self._app(scope, replay, send)


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps(
        {"code": "FD-BODY-TOO-LARGE", "message": f"the body is over {limit} bytes", "errors": []}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


@dataclass
class RateLimiter:
    """A token bucket per API key: ``per_minute`` requests a minute, in bursts up to that."""

    per_minute: int
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key_id: str, now: float | None = None) -> float:
        """0 if the request may go ahead, else the seconds to wait."""
        now = time.monotonic() if now is None else now
        rate = self.per_minute / 60.0
        with self._lock:
            tokens, last = self._buckets.get(key_id, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * rate)
            if tokens >= 1:
                self._buckets[key_id] = (tokens - 1, now)
                return 0.0
            self._buckets[key_id] = (tokens, now)
            return (1 - tokens) / rate


@dataclass
class FailedAuthentications:
    """Failed authentications in the last minute, per subject (a client address, a key id).

    Checking a key costs an argon2 verification (about 100 ms of a core, on purpose), so wrong
    keys sent fast would take the CPU from every partner. Past ``per_minute`` failures a subject
    is refused cheaply until its oldest failure is a minute old.
    """

    per_minute: int
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _WINDOW = 60.0
    _MOST_SUBJECTS = 10_000  # beyond this, subjects with no recent failure are forgotten

    def wait(self, subject: str, now: float | None = None) -> float:
        """0 if ``subject`` may still try, else the seconds until it may."""
        now = time.monotonic() if now is None else now
        with self._lock:
            recent = self._recent(subject, now)
            if len(recent) < self.per_minute:
                return 0.0
            return recent[0] + self._WINDOW - now

    def record(self, subject: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._failures) >= self._MOST_SUBJECTS:
                for stale in [s for s in self._failures if not self._recent(s, now)]:
                    del self._failures[stale]
            self._failures.setdefault(subject, deque()).append(now)

    def _recent(self, subject: str, now: float) -> deque[float]:
        recent = self._failures.get(subject, deque())
        while recent and recent[0] <= now - self._WINDOW:
            recent.popleft()
        return recent


@dataclass
class Gateway:
    """What the endpoints share: settings, store, publisher, codec, school directory."""

    settings: GatewaySettings
    kafka: KafkaSettings
    codec: AvroCodec
    topics: dict[EventType, str]
    schools: SchoolDirectory
    #: The rules file's ``decisions.minimum_rationale_words``, for case records.
    minimum_rationale_words: int
    #: Where case records go: the deployment's topics, or the same names under another prefix.
    topic_prefix: str | None = None
    store: Store | None = None
    #: The staff application's store, where case records find their work item and partners
    #: fetch what is addressed to them; connected on first use, so a gateway that only takes
    #: partner events never touches it.
    queue_store: QueueStore | None = None
    limiter: RateLimiter = field(init=False)
    failures: FailedAuthentications = field(init=False)
    _publisher: Publisher | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.settings.requests_per_minute)
        self.failures = FailedAuthentications(self.settings.failed_authentications_per_minute)

    def publisher(self) -> Publisher:
        with self._lock:
            if self._publisher is None:
                self._publisher = Publisher(
                    self.kafka, self.codec, timeout=self.settings.publish_timeout_seconds
                )
            return self._publisher

    def drop_publisher(self) -> None:
        """Forget a publisher after a failure: the next request connects afresh."""
        with self._lock:
            publisher, self._publisher = self._publisher, None
        if publisher is not None:
            try:
                publisher.close()
            except BrokerError:
                log.warning("closing a failed publisher failed")

    def close(self) -> None:
        self.drop_publisher()
        if self.store is not None:
            self.store.close()

    def topic_of(self, record: Event) -> str:
        spec = destination(record)
        return spec.full_name if self.topic_prefix is None else spec.name_under(self.topic_prefix)


def _topics(prefix: str | None) -> dict[EventType, str]:
    return {
        kind: spec.full_name if prefix is None else spec.name_under(prefix)
        for kind, spec in INTAKE.items()
    }


def create_app(
    settings: GatewaySettings | None = None,
    kafka: KafkaSettings | None = None,
    *,
    topic_prefix: str | None = None,
    school_directory: SchoolDirectory | None = None,
    store: Store | None = None,
    queue_store: QueueStore | None = None,
) -> FastAPI:
    """The gateway application; settings default to the environment.

    ``store`` is normally opened at start-up from the settings; a caller may hand one in (an
    in-process test client that runs no start-up). ``queue_store`` (the staff application's)
    defaults to the one the settings name.
    """
    worker = load(WorkerSettings)
    rules = load_rules(worker.rules_file or DEFAULT_RULES_FILE)
    gateway = Gateway(
        settings=settings or load(GatewaySettings),
        kafka=kafka or load(KafkaSettings),
        codec=AvroCodec(registry_from(load(SchemaRegistrySettings))),
        topics=_topics(topic_prefix),
        schools=school_directory or load_directory(DEFAULT_DIRECTORY),
        minimum_rationale_words=rules.decisions.minimum_rationale_words,
        topic_prefix=topic_prefix,
        store=store,
        queue_store=queue_store
        or QueueStore(engine_for(staff_database_url(load(StaffSettings), worker))),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if gateway.store is None:
            url = gateway.settings.store_url
            gateway.store = open_store(url.get_secret_value() if url else configured_store_url())
        log.info("gateway ready: publishing to %s", ", ".join(gateway.topics.values()))
        try:
            yield
        finally:
            gateway.close()

    app = FastAPI(
        title="Front door partner gateway",
        version="1",
        description=__doc__,
        lifespan=lifespan,
    )
    app.add_middleware(BodySizeLimit, limit=gateway.settings.max_body_bytes)
    # Outermost, so that answers given before routing (413) are counted too.
    app.add_middleware(
        metrics.HttpMetrics,
        requests=metrics.GATEWAY_REQUESTS,
        seconds=metrics.GATEWAY_REQUEST_SECONDS,
    )

    @app.exception_handler(_Refused)
    async def refused(_: Request, exc: _Refused) -> JSONResponse:
        return exc.response

    @app.exception_handler(RequestValidationError)
    async def unusable(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            FieldProblem(
                field=".".join(str(p) for p in error["loc"] if p != "body") or None,
                message=str(error["msg"]).removeprefix("Value error, "),
            )
            for error in exc.errors()
        ]
        # Only the fetches are GETs, and all they take is the query.
        what = "the query" if request.method == "GET" else "the event"
        return _problem(422, "FD-VALIDATION", f"{what} is not usable", errors=problems)

    for event_type, model in PARTNER_EVENT_MODELS.items():
        _post_route(
            app,
            gateway,
            path=PATHS[event_type],
            model=model,
            name=f"publish_{event_type.value}",
            summary=f"Publish a {event_type.value.replace('_', ' ')}",
            publish=functools.partial(_publish, gateway, event_type),
        )
    for record_type, record_model in CASE_RECORD_MODELS.items():
        _post_route(
            app,
            gateway,
            path=CASE_RECORD_PATHS[record_type],
            model=record_model,
            name=f"record_{record_type.value}",
            summary=f"Record a {record_type.value.replace('_', ' ')} (local authority keys)",
            publish=functools.partial(_publish_case_record, gateway, record_type),
        )
    for kind in PartnerMessageKind:
        _fetch_route(app, gateway, kind)

    @app.get("/health", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    metrics.add_endpoint(app, metrics.GATEWAY)
    return app


_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"model": Accepted, "description": "Published; acknowledged by the broker."},
    401: {"model": Problem, "description": "No valid API key."},
    403: {"model": Problem, "description": "The key may not publish this."},
    409: {"model": Problem, "description": "This event id was used before for other content."},
    413: {"model": Problem, "description": "The body is too large."},
    422: {"model": Problem, "description": "Unusable: the fields at fault are named."},
    429: {
        "model": Problem,
        "description": "Too many requests for this key, or too many failed authentications "
        "from this address; see Retry-After.",
    },
    503: {"model": Problem, "description": "The broker is unavailable; retry after Retry-After."},
}


def _post_route(
    app: FastAPI,
    gateway: Gateway,
    *,
    path: str,
    model: type[Event],
    name: str,
    summary: str,
    publish: Callable[[Any, ApiKeyRecord, str | None], JSONResponse],
) -> None:
    """``POST path`` taking a ``model`` body from a partner key, answered by ``publish``."""

    def endpoint(
        body: model,  # type: ignore[valid-type]
        key: ApiKeyRecord,
        idempotency_key: str | None = Header(default=None, max_length=200),
    ) -> JSONResponse:
        return publish(body, key, idempotency_key)

    # The body's model and the key's dependency differ per route; annotations are strings under
    # PEP 563, so give FastAPI the objects themselves.
    endpoint.__annotations__["body"] = model
    endpoint.__annotations__["key"] = Annotated[ApiKeyRecord, Depends(_key_dependency(gateway))]
    endpoint.__name__ = name
    app.post(path, status_code=202, response_model=Accepted, responses=_RESPONSES, summary=summary)(
        endpoint
    )


def _key_dependency(gateway: Gateway) -> Callable[..., ApiKeyRecord]:
    """The dependency that gives a route the caller's partner key, or refuses the request."""

    def partner_key(
        request: Request, authorization: str | None = Header(default=None)
    ) -> ApiKeyRecord:
        # A dependency: FastAPI runs it before it validates the body or the query, so a caller
        # without a valid key is answered 401 (or 429) and never told what the contract's
        # fields are.
        client = request.client.host if request.client else "unknown"
        return _partner_key(gateway, authorization, client)

    return partner_key


_FETCH_RESPONSES: dict[int | str, dict[str, Any]] = {
    **{status: _RESPONSES[status] for status in (401, 422, 429)},
    503: {"model": Problem, "description": "The store is unavailable; retry after Retry-After."},
}


def _fetch_route(app: FastAPI, gateway: Gateway, kind: PartnerMessageKind) -> None:
    """``GET`` a page of the ``kind`` records addressed to the key's partner.

    Any active partner key may fetch, whatever it may publish, and only ever what is addressed
    to its own partner: there is nothing else to grant, so there is no right to check.
    """

    def endpoint(
        key: ApiKeyRecord,
        after: Annotated[
            int,
            Query(ge=0, le=_LARGEST_CURSOR, description="The last page's next_after; 0 at first."),
        ] = 0,
        limit: Annotated[
            int, Query(ge=1, le=MOST_PER_PAGE, description="The most records to give.")
        ] = DEFAULT_PER_PAGE,
    ) -> JSONResponse:
        return _fetch(gateway, kind, key, after, limit)

    endpoint.__annotations__["key"] = Annotated[ApiKeyRecord, Depends(_key_dependency(gateway))]
    endpoint.__name__ = f"fetch_{kind.value}s"
    app.get(
        FETCH_PATHS[kind],
        response_model=FETCH_PAGES[kind],
        responses=_FETCH_RESPONSES,
        summary=f"Fetch the {kind.value.replace('_', ' ')}s addressed to you",
    )(endpoint)


def _fetch(
    gateway: Gateway, kind: PartnerMessageKind, key: ApiKeyRecord, after: int, limit: int
) -> JSONResponse:
    assert gateway.queue_store is not None  # noqa: S101 - create_app always sets one
    try:
        messages = gateway.queue_store.partner_messages(key.partner, kind, after, limit)
    except StoreError as error:
        return _problem(503, error.code, "the staff store is unavailable", headers=_retry(gateway))
    if messages:
        log.info("gave %d %ss to %s", len(messages), kind.value, key.partner)
    # Stored as published (JSON), so given as is: no model's validation between store and wire.
    page = {
        "items": [message.payload for message in messages],
        "next_after": messages[-1].seq if messages else after,
    }
    return JSONResponse(content=page)


class _Refused(Exception):  # noqa: N818 - control flow inside this module, never escapes
    """A request refused with this answer."""

    def __init__(self, response: JSONResponse) -> None:
        super().__init__(response.status_code)
        self.response = response


#: What a request publishes, each record to its topic with its message key (None: the
#: event id), and the data-quality warnings its answer carries.
_Outputs = tuple[list[tuple[str, Event, str | None]], list["DataQualityWarning"]]


def _publish(
    gateway: Gateway,
    event_type: EventType,
    event: Contact | PoliceNotification | ConsentEvent,
    key: ApiKeyRecord,
    idempotency_key: str | None,
) -> JSONResponse:
    def outputs() -> _Outputs:
        warnings = [
            DataQualityWarning(field=issue.field, code=issue.code, message=issue.message)
            for issue in data_quality_issues(event, gateway.schools)
        ]
        return [(gateway.topics[event_type], event, None)], warnings

    try:
        try:
            authorize(key, event_type, event)
        except AuthorizationError as error:
            raise _Refused(_problem(403, error.code, error.message)) from None
        return _accept(gateway, event, key, idempotency_key, outputs=outputs, kind=event_type.value)
    except _Refused as refused:
        return refused.response


def _publish_case_record(
    gateway: Gateway,
    record_type: CaseRecordType,
    record: CaseRecord,
    key: ApiKeyRecord,
    idempotency_key: str | None,
) -> JSONResponse:
    def outputs() -> _Outputs:
        assert gateway.queue_store is not None  # noqa: S101 - create_app always sets one
        try:
            view = gateway.queue_store.item(record.work_item_id)
        except StoreError as error:
            raise _Refused(
                _problem(503, error.code, "the staff store is unavailable", headers=_retry(gateway))
            ) from error
        try:
            records = checked_outputs(record, view, gateway.minimum_rationale_words)
        except RecordRefusedError as error:
            problems = [FieldProblem(field=field, message=text) for field, text in error.problems]
            raise _Refused(
                _problem(422, error.code, "the record was not accepted", errors=problems)
            ) from None
        return [(gateway.topic_of(r), r, destination(r).key_of(r)) for r in records], []

    try:
        try:
            authorize_case_record(key, record_type)
        except AuthorizationError as error:
            raise _Refused(_problem(403, error.code, error.message)) from None
        return _accept(
            gateway, record, key, idempotency_key, outputs=outputs, kind=record_type.value
        )
    except _Refused as refused:
        return refused.response


def _store_unavailable(gateway: Gateway, error: StoreError) -> _Refused:
    return _Refused(
        _problem(503, error.code, "the gateway's store is unavailable", headers=_retry(gateway))
    )


def _store(gateway: Gateway) -> Store:
    if gateway.store is None:
        raise _Refused(
            _problem(503, "FD-STORE", "the gateway is starting", headers=_retry(gateway))
        )
    return gateway.store


def _partner_key(gateway: Gateway, authorization: str | None, client: str) -> ApiKeyRecord:
    store = _store(gateway)
    address = f"address:{client}"
    wait = gateway.failures.wait(address)
    if wait:
        raise _Refused(
            _problem(
                429,
                "FD-AUTH-THROTTLED",
                "too many failed authentications from this address",
                headers={"Retry-After": str(max(1, round(wait)))},
            )
        )
    token = authorization.removeprefix("Bearer ").strip() if authorization else None
    claimed = key_id_of(token)
    under_attack = claimed is not None and gateway.failures.wait(f"key:{claimed}") > 0
    try:
        key = authenticate(store, token, verify=not under_attack)
    except AuthenticationError as error:
        gateway.failures.record(address)
        if claimed is not None:
            gateway.failures.record(f"key:{claimed}")
        log.warning("authentication failed from %s (%s)", client, error.code)
        raise _Refused(_problem(401, error.code, "a valid partner API key is required")) from None
    except StoreError as error:
        raise _store_unavailable(gateway, error) from error
    wait = gateway.limiter.take(key.key_id)
    if wait:
        raise _Refused(
            _problem(
                429,
                "FD-RATE-LIMITED",
                f"more than {gateway.settings.requests_per_minute} requests a minute for this key",
                headers={"Retry-After": str(max(1, round(wait)))},
            )
        )
    return key


def _accept(
    gateway: Gateway,
    event: Event,
    key: ApiKeyRecord,
    idempotency_key: str | None,
    *,
    outputs: Callable[[], _Outputs],
    kind: str,
) -> JSONResponse:
    """Publish what ``outputs`` says for an authorised request, once per idempotency key."""
    store = _store(gateway)
    idempotency = f"key:{idempotency_key}" if idempotency_key else f"event:{event.event_id}"
    # The event id always identifies the content; an Idempotency-Key does too when given.
    identities = [f"event:{event.event_id}"] + ([idempotency] if idempotency_key else [])
    digest = content_digest(event)
    try:
        _refuse_reuse(store, key.partner, identities, digest, event.event_id)
        replay = store.remembered(key.partner, idempotency)
    except StoreError as error:
        raise _store_unavailable(gateway, error) from error
    if replay is not None:
        return JSONResponse(
            status_code=replay.status,
            content=json.loads(replay.body),
            headers={"Idempotent-Replayed": "true"},
        )
    records, warnings = outputs()
    try:
        publisher = gateway.publisher()
        for topic, record, message_key in records:
            publisher.publish(topic, record, key=message_key, headers={SENDER_HEADER: key.partner})
    except FrontDoorError as error:
        gateway.drop_publisher()
        log.warning("publish of %s failed: %s", event.event_id, error.code)
        raise _Refused(
            _problem(
                503, error.code, "the event was not published; retry later", headers=_retry(gateway)
            )
        ) from error
    body = Accepted(event_id=event.event_id, warnings=warnings).model_dump_json()
    try:
        for identity in identities:
            store.remember_content(key.partner, identity, digest)
        stored = store.remember(key.partner, idempotency, StoredResponse(event.event_id, 202, body))
    except StoreError:
        # Published but not remembered: a retry publishes the same event id again, which the
        # pipeline deduplicates. The partner must hear that it was accepted.
        log.exception("published %s but could not remember its idempotency key", event.event_id)
        stored = StoredResponse(event.event_id, 202, body)
    log.info("accepted %s %s from %s", kind, event.event_id, key.partner)
    metrics.gateway_events_accepted(kind).inc()
    return JSONResponse(status_code=stored.status, content=json.loads(stored.body))


def _refuse_reuse(
    store: Store, partner: str, identities: list[str], digest: str, event_id: str
) -> None:
    for identity in identities:
        earlier = store.content_of(partner, identity)
        if earlier is not None and earlier != digest:
            what = "event id" if identity.startswith("event:") else "Idempotency-Key"
            log.warning("refused a reused %s from %s for %s", what, partner, event_id)
            raise _Refused(
                _problem(
                    409,
                    EventIdReusedError.code,
                    f"the {what} of event {event_id} was used before for different content: "
                    "send this event under a new event id",
                )
            )


def _retry(gateway: Gateway) -> dict[str, str]:
    return {"Retry-After": str(gateway.settings.retry_after_seconds)}
