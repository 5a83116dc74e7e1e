"""Local stand-ins for the delivery service's recipients: a mail catcher and a partner's webhook.

``make run`` starts both (:func:`run_local_receivers`) so a newcomer sees what the front door
sends without a mail server or a partner system: every e-mail (duty-team alerts, school
notifications, information requests) lands in the :class:`MailCatcher`, and every webhook for the
demo partner in the :class:`WebhookReceiver`, one line each on the terminal. The delivery tests use
the same two as a real SMTP server and a real HTTP partner they can make fail on purpose
(:meth:`MailCatcher.refuse_next`, :meth:`WebhookReceiver.fail_next`, stopping one and starting it
again on the same port).

They are for a laptop and for tests, never for production: the catcher accepts mail for anyone
without TLS or authentication and delivers it nowhere, and the receiver keeps everything in memory.

Both run in a background thread of their own, so a synchronous test and an asyncio service can
use them alike; their ``on_mail`` and ``on_message`` callbacks are called in that thread.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from connectors.delivery import signing
from schemas.errors import ConfigurationError, WebhookSignatureError

#: The greeting name the catcher gives itself; naming it spares aiosmtpd a slow DNS lookup.
_CATCHER_HOSTNAME = "frontdoor-mail-catcher"
#: How often the webhook server's loop looks for a stop request: the most a stop() waits.
_STOP_POLL_SECONDS = 0.05
_UNSAFE_IN_FILE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _smtp_listener(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (an IPv4 address); a ConfigurationError when taken.

    Bound with SO_REUSEADDR (``socket.create_server``'s default on POSIX), so a catcher stopped
    and started again binds its port at once, past the old connections' TIME_WAIT.
    """
    try:
        return socket.create_server((host, port))
    except OSError as exc:
        raise ConfigurationError(f"the mail catcher cannot listen on {host}:{port}: {exc}") from exc


@dataclass(frozen=True)
class CaughtMail:
    """One e-mail the catcher accepted: its envelope and its parsed message."""

    mail_from: str
    recipients: tuple[str, ...]
    message: EmailMessage
    received_at: datetime

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))

    @property
    def message_id(self) -> str | None:
        value = self.message.get("Message-ID")
        # A long id is folded onto a continuation line: the id is what is between the brackets.
        return None if value is None else str(value).strip()


class _ListeningController(Controller):
    """aiosmtpd's threaded controller, serving on a socket bound beforehand.

    Binding first lets port 0 pick a free port, and makes a taken port fail at once: the stock
    controller binds in its thread and only reports the error after its ready timeout.
    """

    def __init__(self, handler: object, listener: socket.socket, **smtp_parameters: Any) -> None:
        host, port = listener.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **smtp_parameters)
        self._listener = listener

    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        return self.loop.create_server(self._factory_invoker, sock=self._listener)


class _CatcherHandler:
    """The aiosmtpd handler: it finds its hooks by name, so they live here, not on MailCatcher."""

    def __init__(self, on_data: Callable[[Envelope], str]) -> None:
        self._on_data = on_data

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:  # noqa: N802
        return self._on_data(envelope)


class _Running(ABC):
    """A receiver that is started and stopped, or used as a context manager."""

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def stop(self) -> None: ...

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class MailCatcher(_Running):
    """A real SMTP server on a local port that keeps every message it accepts.

    ``port=0`` takes any free port; :attr:`port` is the real one once started, and a catcher
    stopped and started again listens on that same port (mail sent meanwhile is refused, as by a
    mail server that is down). With ``directory`` each message is also written there as
    ``<n>-<Message-ID>.eml`` to open in a mail program, n counting on from the .eml files already
    there so the names sort in arrival order across runs.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        directory: Path | None = None,
        on_mail: Callable[[CaughtMail], None] | None = None,
    ) -> None:
        self.host = host
        self._port = port
        self._directory = directory
        self._on_mail = on_mail
        self._files_saved = 0
        self._controller: _ListeningController | None = None
        self._mails: list[CaughtMail] = []
        self._refusals: list[int] = []
        self._arrived = threading.Condition()

    @property
    def port(self) -> int:
        """The port listened on once started (the configured one before)."""
        return self._port

    @property
    def mails(self) -> list[CaughtMail]:
        """The messages accepted so far, oldest first (a copy)."""
        with self._arrived:
            return list(self._mails)

    def message_ids(self) -> list[str]:
        """The Message-ID of each message accepted so far that has one, oldest first."""
        return [mail.message_id for mail in self.mails if mail.message_id is not None]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[CaughtMail]:
        """The messages accepted once there are ``count``, or all there are after ``timeout``
        seconds: fewer than ``count`` then, so the caller asserts on the number."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self._mails) >= count, timeout)
            return list(self._mails)

    def refuse_next(self, count: int, code: int = 451) -> None:
        """Answer the next ``count`` messages with ``code`` after their DATA (451: try again later),
        as a mail server that is overloaded or greylisting does; nothing refused is kept."""
        with self._arrived:
            self._refusals.extend([code] * count)

    def start(self) -> None:
        if self._controller is not None:
            return
        if self._directory is not None:
            self._directory.mkdir(parents=True, exist_ok=True)
            self._files_saved = sum(1 for _ in self._directory.glob("*.eml"))
        listener = _smtp_listener(self.host, self._port)
        controller = _ListeningController(
            _CatcherHandler(self._accept), listener, server_hostname=_CATCHER_HOSTNAME
        )
        try:
            controller.start()
        except BaseException:
            # Whether it failed before or after its loop ran, nothing may stay listening.
            controller.stop(no_assert=True)
            listener.close()
            raise
        self._port = controller.port
        self._controller = controller

    def stop(self) -> None:
        if self._controller is None:
            return
        self._controller.stop()
        self._controller = None

    def _accept(self, envelope: Envelope) -> str:
        """Keep one message (in the controller's thread); the SMTP answer to its DATA."""
        with self._arrived:
            if self._refusals:
                code = self._refusals.pop(0)
                return f"{code} Refused on purpose by the local mail catcher (refuse_next)"
        raw = envelope.original_content or b""
        mail = CaughtMail(
            mail_from=envelope.mail_from or "",
            recipients=tuple(envelope.rcpt_tos),
            # SMTP carries lines ending CRLF; parsed as Python writes them, a body reads as sent.
            message=BytesParser(policy=policy.default).parsebytes(raw.replace(b"\r\n", b"\n")),
            received_at=datetime.now(UTC),
        )
        # Written before it is kept: a message that could not be saved is refused (aiosmtpd
        # answers 500 to the exception) and the sender's retry is not kept twice. Only the
        # controller's thread counts files while running, so the count needs no lock.
        if self._directory is not None:
            number = self._files_saved + 1
            (self._directory / _eml_name(number, mail.message_id)).write_bytes(raw)
            self._files_saved = number
        with self._arrived:
            self._mails.append(mail)
            self._arrived.notify_all()
        if self._on_mail is not None:
            self._on_mail(mail)
        return "250 OK"


def _eml_name(number: int, message_id: str | None) -> str:
    readable = _UNSAFE_IN_FILE_NAME.sub("_", (message_id or "no-message-id").strip(" <>"))
    return f"{number:04d}-{readable[:100]}.eml"


@dataclass(frozen=True)
class ReceivedWebhook:
    """One webhook the receiver accepted: its ``webhook-id`` and the payload's type and data."""

    message_id: str
    type: str
    data: dict[str, Any]
    received_at: datetime


@dataclass(frozen=True)
class _Answer:
    status: int
    body: dict[str, str]


class _WebhookRequestHandler(BaseHTTPRequestHandler):
    """The HTTP side of one request; what to answer is the receiver's business."""

    server_version = "frontdoor-local-webhook-receiver"

    def __init__(
        self, answer: Callable[[str, Mapping[str, str], bytes], _Answer], *args: Any
    ) -> None:
        # Set before the base class's __init__, which handles the request there and then.
        self._answer = answer
        super().__init__(*args)

    def do_POST(self) -> None:
        length = self.headers.get("Content-Length", "")
        if not length.isdigit():
            self._send(_Answer(411, {"message": "a Content-Length is required"}))
            return
        body = self.rfile.read(int(length))
        self._send(self._answer(self.path, dict(self.headers.items()), body))

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: http.server would print every request on stderr, over run_local_receivers'
        own one line per webhook."""

    def _send(self, answer: _Answer) -> None:
        content = json.dumps(answer.body).encode()
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)


class WebhookReceiver(_Running):
    """A partner's webhook endpoint on a local port, as a careful partner writes one.

    Each POST to ``path`` is checked with :func:`signing.verify` (401 when it fails), its
    ``webhook-id`` is the idempotency key (a retry of a message already received answers 200 and is
    not kept again), and its Standard Webhooks payload (``{"type": ..., "data": {...}}``) is kept as
    a :class:`ReceivedWebhook`. :attr:`attempts` counts every request, refused and repeated ones
    included. Like the catcher, ``port=0`` takes a free port and a restart keeps it.
    """

    def __init__(
        self,
        secret: str,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/webhooks/frontdoor",
        on_message: Callable[[ReceivedWebhook], None] | None = None,
    ) -> None:
        signing.secret_key(secret)  # a bad secret fails here, not on every request
        self._secret = secret
        self.host = host
        self._port = port
        self.path = path
        self._on_message = on_message
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._received: list[ReceivedWebhook] = []
        self._seen_ids: set[str] = set()
        self._attempts = 0
        self._failures_left = 0
        self._arrived = threading.Condition()

    @property
    def port(self) -> int:
        """The port listened on once started (the configured one before)."""
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._port}{self.path}"

    @property
    def received(self) -> list[ReceivedWebhook]:
        """The messages accepted so far, each once, oldest first (a copy)."""
        with self._arrived:
            return list(self._received)

    @property
    def attempts(self) -> int:
        """Every request so far: refused, failing, repeated and accepted alike."""
        with self._arrived:
            return self._attempts

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedWebhook]:
        """The messages accepted once there are ``count``, or all there are after ``timeout``
        seconds: fewer than ``count`` then, so the caller asserts on the number."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self._received) >= count, timeout)
            return list(self._received)

    def fail_next(self, count: int) -> None:
        """Answer the next ``count`` requests 503 without looking at them, as a partner's system
        that is down or overloaded does."""
        with self._arrived:
            self._failures_left += count

    def start(self) -> None:
        if self._server is not None:
            return
        try:
            # http.server binds with SO_REUSEADDR: a restart binds its port at once.
            server = ThreadingHTTPServer(
                (self.host, self._port), partial(_WebhookRequestHandler, self._answer)
            )
        except OSError as exc:
            raise ConfigurationError(
                f"the webhook receiver cannot listen on {self.host}:{self._port}: {exc}"
            ) from exc
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": _STOP_POLL_SECONDS},
            name=f"webhook-receiver-{self._port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._server = None
        self._thread = None

    def _answer(self, target: str, headers: Mapping[str, str], body: bytes) -> _Answer:
        """What to answer one POST (in a request thread)."""
        with self._arrived:
            self._attempts += 1
            if self._failures_left:
                self._failures_left -= 1
                return _Answer(503, {"message": "failing on purpose (fail_next)"})
        if urlsplit(target).path != self.path:
            return _Answer(404, {"message": f"webhooks are received at {self.path}"})
        try:
            message_id = signing.verify(self._secret, headers, body, now=time.time())
        except WebhookSignatureError as exc:
            return _Answer(401, {"code": exc.code, "message": exc.message})
        payload = _standard_payload(body)
        if payload is None:
            return _Answer(400, {"message": 'the body is not {"type": "...", "data": {...}}'})
        webhook = ReceivedWebhook(
            message_id=message_id,
            type=payload[0],
            data=payload[1],
            received_at=datetime.now(UTC),
        )
        with self._arrived:
            if message_id in self._seen_ids:
                return _Answer(200, {"message": "already received"})
            self._seen_ids.add(message_id)
            self._received.append(webhook)
            self._arrived.notify_all()
        if self._on_message is not None:
            self._on_message(webhook)
        return _Answer(200, {"message": "received"})


def _standard_payload(body: bytes) -> tuple[str, dict[str, Any]] | None:
    """The type and data of a Standard Webhooks JSON payload; None when it is not one."""
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None
    kind, data = payload.get("type"), payload.get("data")
    if not isinstance(kind, str) or not isinstance(data, dict):
        return None
    return kind, data


async def run_local_receivers(
    *,
    smtp_port: int,
    webhook_port: int,
    webhook_secret: str,
    directory: Path,
    out: Callable[[str], None],
) -> None:
    """Run a mail catcher and the demo partner's webhook receiver until cancelled.

    What ``make run`` starts. ``out`` gets one line when both listen, then one per message:
    ``mail to <addresses>: <subject>`` and ``webhook <type> <id>``, never a body (subjects carry
    no personal data by design). It is called on the caller's event loop, not in the receivers'
    threads. Each mail is also saved in ``directory`` as an .eml file.
    """
    loop = asyncio.get_running_loop()

    def say(line: str) -> None:
        loop.call_soon_threadsafe(out, line)

    def on_mail(mail: CaughtMail) -> None:
        say(f"mail to {', '.join(mail.recipients)}: {mail.subject}")

    def on_message(webhook: ReceivedWebhook) -> None:
        say(f"webhook {webhook.type} {webhook.message_id}")

    catcher = MailCatcher(port=smtp_port, directory=directory, on_mail=on_mail)
    receiver = WebhookReceiver(webhook_secret, port=webhook_port, on_message=on_message)
    with catcher, receiver:
        out(
            f"local mail catcher on {catcher.host}:{catcher.port} (saved in {directory}), "
            f"demo partner's webhooks at {receiver.url}"
        )
        await asyncio.Event().wait()  # until cancelled; leaving the block stops both
