"""Every metric the front door shows its operators, declared once, and the helpers that serve them.

Each process kind has a registry of its own, served at its own address (``docs/metrics.md`` lists
every metric, its labels and who serves it; a test holds the two together):

* :data:`WORKER`: each Faust worker, on ``FRONTDOOR_METRICS_WORKER_PORT`` (:func:`serve`);
* :data:`DELIVERY`: the delivery service, on ``FRONTDOOR_METRICS_DELIVERY_PORT``;
* :data:`GATEWAY` and :data:`STAFF`: ``GET /metrics`` on the gateway's and the staff
  application's own HTTP servers (:class:`MetricsEndpoint`, :class:`HttpMetrics`).

Each registry also carries the standard ``process_*`` and ``python_*`` metrics (memory, CPU, open
files, garbage collection). Labels hold ids of things the front door defines (agents, topics,
route templates, channels, error codes, clock kinds), never a child's details or an event id: a
label value is a new time series for ever, and a metrics endpoint is read by people who may not
see a child's record.

The worker's hot path stays cheap (issue 10): label children are resolved once and kept
(:class:`AgentMetrics`, the cached helpers), so an event costs a dictionary look-up, a counter
increment and a histogram observation.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    start_http_server,
)
from starlette.applications import Starlette
from starlette.routing import Match, Route

log = logging.getLogger(__name__)

# A ``*_created`` series beside every counter and histogram doubles what Prometheus stores for a
# start time that ``process_start_time_seconds`` already gives.
disable_created_metrics()  # type: ignore[no-untyped-call]  # not annotated in the pinned client

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    # The standard collectors only read the process when scraped: nothing on any hot path.
    for standard in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(standard)
    return registry


WORKER = _registry()
DELIVERY = _registry()
GATEWAY = _registry()
STAFF = _registry()
#: Each registry by the name ``docs/metrics.md`` gives the process that serves it.
REGISTRIES: dict[str, CollectorRegistry] = {
    "worker": WORKER,
    "delivery": DELIVERY,
    "gateway": GATEWAY,
    "staff": STAFF,
}

#: From a millisecond (an event with nothing to wait for) to a minute (the stall alert's default).
_PROCESSING_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)
#: An answer takes an argon2 check (about 0.1 s) and, for a POST, the broker's acknowledgement.
_HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# ---------------------------------------------------------------------------------------------
# The worker.

EVENTS_PROCESSED = Counter(
    "frontdoor_events_processed_total",
    "Events an agent finished and acked, per agent, source topic and outcome: ok (its outputs "
    "acknowledged by the broker) or dead_lettered (unusable, or a step failed on it: on the "
    "dead-letter topic for a person). A redelivered event counts again.",
    ["agent", "topic", "outcome"],
    registry=WORKER,
)
EVENT_PROCESSING_SECONDS = Histogram(
    "frontdoor_event_processing_seconds",
    "Seconds from the worker receiving an event to acking it (its step run and its outputs "
    "acknowledged by the broker; waiting behind earlier events included), per agent.",
    ["agent"],
    buckets=_PROCESSING_BUCKETS,
    registry=WORKER,
)
CONSUMER_LAG = Gauge(
    "frontdoor_consumer_lag_messages",
    "Messages on a partition this worker consumes that its group has not committed yet: the "
    "high watermark its latest fetch reported minus the committed offset.",
    ["topic", "partition"],
    registry=WORKER,
)
DEAD_LETTERS = Counter(
    "frontdoor_dead_letters_total",
    "Messages the worker dead-lettered (a MASH task follows), by error code.",
    ["error_code"],
    registry=WORKER,
)
CLOCKS_OVERDUE = Gauge(
    "frontdoor_clocks_overdue",
    "Timeliness clocks past their due time and not stopped, by clock kind, among the children "
    "whose partitions this worker owns (summed over workers: every clock once).",
    ["clock"],
    registry=WORKER,
)
TIMELINESS_ALERTS = Counter(
    "frontdoor_timeliness_alerts_total",
    "Timeliness alerts raised to the team managers, by clock kind and status: overdue (a clock "
    "passed its due time) or cleared (what it waited for came after).",
    ["clock", "status"],
    registry=WORKER,
)
BROKER_REACHABLE = Gauge(
    "frontdoor_broker_reachable",
    "1 when the worker's latest health check reached the broker, 0 when it did not.",
    registry=WORKER,
)

# ---------------------------------------------------------------------------------------------
# The delivery service.

DELIVERY_ATTEMPTS = Counter(
    "frontdoor_delivery_attempts_total",
    "Delivery attempts recorded, by channel (email, webhook, fetch) and state: delivered, "
    "retrying (failed; made again after a back-off: the retries), failed (given up: a MASH "
    "task follows) or available (left at the gateway for the partner to fetch).",
    ["channel", "state"],
    registry=DELIVERY,
)
DELIVERY_MESSAGES_HELD = Gauge(
    "frontdoor_delivery_messages_held",
    "Messages read and not finished (being delivered, or waiting to retry); reading pauses at "
    "FRONTDOOR_DELIVERY_HELD_LIMIT.",
    registry=DELIVERY,
)
DELIVERY_ATTEMPTS_IN_FLIGHT = Gauge(
    "frontdoor_delivery_attempts_in_flight",
    "Delivery attempts under way (e-mails being sent, webhooks being posted); at most "
    "FRONTDOOR_DELIVERY_IN_FLIGHT_LIMIT.",
    registry=DELIVERY,
)
DELIVERY_UNROUTABLE = Counter(
    "frontdoor_delivery_unroutable_total",
    "Messages the channel file gives no route for a recipient of (a school without a "
    "safeguarding lead's address, say): a MASH task follows.",
    registry=DELIVERY,
)
DELIVERY_DEAD_LETTERS = Counter(
    "frontdoor_delivery_dead_letters_total",
    "Messages the delivery service dead-lettered (unusable, or a fault no retry cures; a MASH "
    "task follows), by error code.",
    ["error_code"],
    registry=DELIVERY,
)

# ---------------------------------------------------------------------------------------------
# The gateway and the staff application.

GATEWAY_REQUESTS = Counter(
    "frontdoor_gateway_requests_total",
    "HTTP requests the partner gateway answered, by method, route template and status code.",
    ["method", "route", "status"],
    registry=GATEWAY,
)
GATEWAY_REQUEST_SECONDS = Histogram(
    "frontdoor_gateway_request_duration_seconds",
    "Seconds the partner gateway took to answer a request, by route template.",
    ["route"],
    buckets=_HTTP_BUCKETS,
    registry=GATEWAY,
)
GATEWAY_EVENTS_ACCEPTED = Counter(
    "frontdoor_gateway_events_accepted_total",
    "Events and case records the gateway published, acknowledged by the broker, by type (an "
    "idempotent replay publishes nothing and is not counted).",
    ["type"],
    registry=GATEWAY,
)
STAFF_REQUESTS = Counter(
    "frontdoor_staff_requests_total",
    "HTTP requests the staff application answered, by method, route template and status code.",
    ["method", "route", "status"],
    registry=STAFF,
)
STAFF_REQUEST_SECONDS = Histogram(
    "frontdoor_staff_request_duration_seconds",
    "Seconds the staff application took to answer a request, by route template.",
    ["route"],
    buckets=_HTTP_BUCKETS,
    registry=STAFF,
)
STAFF_MESSAGES_STORED = Counter(
    "frontdoor_staff_messages_stored_total",
    "Messages the staff application's feeder stored in its queue store, by topic (a "
    "redelivered one counts again).",
    ["topic"],
    registry=STAFF,
)


# ---------------------------------------------------------------------------------------------
# Label children, resolved once.


class AgentMetrics:
    """One agent's label children, resolved on first use: an event costs a look-up, not a lock
    and a tuple per label set."""

    def __init__(self, agent: str) -> None:
        self._agent = agent
        self._latency = EVENT_PROCESSING_SECONDS.labels(agent)
        #: Per source topic: the ok child, then the dead_lettered one.
        self._processed: dict[str, tuple[Counter, Counter]] = {}

    def processed(self, topic: str, *, dead_lettered: bool, received_at: float | None) -> None:
        """Count an event of ``topic`` acked; ``received_at`` is its ``time.monotonic()`` arrival
        (Faust's ``message.time_in``), None when unknown."""
        children = self._processed.get(topic)
        if children is None:
            children = self._processed[topic] = (
                EVENTS_PROCESSED.labels(self._agent, topic, "ok"),
                EVENTS_PROCESSED.labels(self._agent, topic, "dead_lettered"),
            )
        children[dead_lettered].inc()
        if received_at is not None:
            self._latency.observe(time.monotonic() - received_at)


@functools.cache
def dead_letters(error_code: str) -> Counter:
    """The worker's dead-letter counter of ``error_code``."""
    return DEAD_LETTERS.labels(error_code)


@functools.cache
def clocks_overdue(clock: str) -> Gauge:
    """The gauge of ``clock`` clocks overdue."""
    return CLOCKS_OVERDUE.labels(clock)


@functools.cache
def timeliness_alerts(clock: str, status: str) -> Counter:
    """The counter of ``status`` alerts of ``clock`` clocks."""
    return TIMELINESS_ALERTS.labels(clock, status)


@functools.cache
def delivery_attempts(channel: str, state: str) -> Counter:
    """The counter of delivery attempts by ``channel`` that came to ``state``."""
    return DELIVERY_ATTEMPTS.labels(channel, state)


@functools.cache
def delivery_dead_letters(error_code: str) -> Counter:
    """The delivery service's dead-letter counter of ``error_code``."""
    return DELIVERY_DEAD_LETTERS.labels(error_code)


@functools.cache
def gateway_events_accepted(event_type: str) -> Counter:
    """The counter of ``event_type`` events (or case records) the gateway published."""
    return GATEWAY_EVENTS_ACCEPTED.labels(event_type)


@functools.cache
def _staff_messages_stored(topic: str) -> Counter:
    return STAFF_MESSAGES_STORED.labels(topic)


def count_staff_messages_stored(topics: Iterable[str]) -> None:
    """Count one stored message per topic name in ``topics`` (the feeder's batch, stored)."""
    for topic in topics:
        _staff_messages_stored(topic).inc()


#: The (topic, partition) pairs whose lag is shown now.
_lag_shown: set[tuple[str, int]] = set()


def set_consumer_lag(lag: dict[tuple[str, int], int]) -> None:
    """Show ``lag`` by (topic, partition); partitions no longer in it (revoked) are dropped, so a
    partition that moved to another worker is not shown by two with a stale figure."""
    for topic, partition in _lag_shown - lag.keys():
        CONSUMER_LAG.remove(topic, str(partition))
    for (topic, partition), messages in lag.items():
        CONSUMER_LAG.labels(topic, str(partition)).set(messages)
    _lag_shown.clear()
    _lag_shown.update(lag.keys())


# ---------------------------------------------------------------------------------------------
# Serving.


_serving: set[tuple[str, int]] = set()
_serving_lock = threading.Lock()


def serve(registry: CollectorRegistry, *, host: str, port: int, what: str) -> bool:
    """Serve ``registry`` at ``http://host:port/metrics`` from a thread of this process.

    Port 0 serves nothing. A port already taken (another worker, another program) is logged as
    a WARNING and the process goes on without metrics: a worker that cannot be watched must still
    route children. Serving the same address twice in a process is a no-op. True when served.
    """
    if port == 0:
        log.info("%s metrics are off (port 0)", what)
        return False
    with _serving_lock:
        if (host, port) in _serving:
            return True
        try:
            start_http_server(port, addr=host, registry=registry)
        except OSError as exc:
            log.warning(
                "%s metrics not served: cannot listen on %s:%d (%s); going on without them",
                what,
                host,
                port,
                exc.strerror or type(exc).__name__,
            )
            return False
        _serving.add((host, port))
    log.info("%s metrics at http://%s:%d/metrics", what, host, port)
    return True


class MetricsEndpoint:
    """An ASGI endpoint answering with ``registry`` in Prometheus' text format: mounted at
    ``/metrics`` on an application's own server, outside its sign-in."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: ARG002 - nothing to read
        body = generate_latest(self._registry)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", CONTENT_TYPE_LATEST.encode("ascii"))],
            }
        )
        await send({"type": "http.response.body", "body": body})


def add_endpoint(app: Starlette, registry: CollectorRegistry) -> None:
    """Serve ``registry`` at ``GET /metrics`` on ``app`` (left out of its OpenAPI document)."""
    app.router.routes.append(
        Route("/metrics", MetricsEndpoint(registry), methods=["GET"], include_in_schema=False)
    )


#: The route label of a request no route matched (a scan for paths, a typo).
UNMATCHED_ROUTE = "unmatched"
#: Methods counted by name; any other (a client may send anything) is "other".
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class HttpMetrics:
    """ASGI middleware: counts every HTTP answer by method, route template and status, and times
    it by route template.

    The route is its template (``/items/{item_id}``), never the path, so ids stay out of the
    labels and the series stay few. Label children are kept once resolved.
    """

    def __init__(self, app: ASGIApp, *, requests: Counter, seconds: Histogram) -> None:
        self._app = app
        self._requests = requests
        self._seconds = seconds
        self._counted: dict[tuple[str, str, int], Counter] = {}
        self._timed: dict[str, Histogram] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        # Routing rewrites the root path under a mount: the route is found from the original one.
        root_path = scope.get("root_path", "")
        # An exception escaping the application is answered 500 by the server's outermost layer.
        status = 500

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self._app(scope, receive, send_and_note_status)
        finally:
            self._count(scope, root_path, status, time.perf_counter() - started)

    def _count(self, scope: Scope, root_path: str, status: int, seconds: float) -> None:
        method = scope["method"] if scope["method"] in _METHODS else "other"
        route = route_template(scope, root_path)
        key = (method, route, status)
        counted = self._counted.get(key)
        if counted is None:
            counted = self._counted[key] = self._requests.labels(method, route, str(status))
        counted.inc()
        timed = self._timed.get(route)
        if timed is None:
            timed = self._timed[route] = self._seconds.labels(route)
        timed.observe(seconds)


def route_template(scope: Scope, root_path: str) -> str:
    """The template of the route that answered (or would have answered) a request.

    FastAPI leaves its route in the scope; a mount (static files), or an answer given before
    routing (a body over the limit), is found by matching the application's routes against the
    request as it came (``root_path`` as it was before routing).
    """
    route = scope.get("route")
    if route is None:
        request = {**scope, "root_path": root_path}
        routes = getattr(scope.get("app"), "routes", ())
        route = next(
            (candidate for candidate in routes if candidate.matches(request)[0] != Match.NONE),
            None,
        )
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE
