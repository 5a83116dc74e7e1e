"""The local mail catcher and webhook receiver, driven as the delivery service and a newcomer will:
over real local sockets, with the standard library's SMTP client and httpx."""

from __future__ import annotations

import asyncio
import json
import smtplib
import socket
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.delivery import signing
from connectors.delivery.local import (
    CaughtMail,
    MailCatcher,
    ReceivedWebhook,
    WebhookReceiver,
    run_local_receivers,
)
from schemas.errors import ConfigurationError

SECRET = signing.new_secret()


def _mail(message_id: str | None = "<alert-1@frontdoor.example.org>") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "front-door@frontdoor.example.org"
    message["To"] = "duty@council.example.org, lead@school.example.org"
    message["Subject"] = "Duty-team alert: contact to decide on — work item W-1"
    if message_id is not None:
        message["Message-ID"] = message_id
    message["X-Frontdoor-Event-Id"] = "alert-1"
    message.set_content("Open the work item in the staff application.\n")
    return message


def _send(port: int, message: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
        client.send_message(message)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)


def _post(
    url: str,
    message_id: str,
    payload: dict[str, Any] | None = None,
    *,
    secret: str = SECRET,
) -> httpx.Response:
    body = json.dumps(
        payload or {"type": "DutyTeamAlert", "timestamp": "2025-01-06T07:42:00Z", "data": {"a": 1}}
    ).encode()
    headers = signing.signed_headers(secret, message_id, int(time.time()), body)
    return httpx.post(url, content=body, headers=headers, timeout=5)


def test_a_mail_arrives_with_its_envelope_and_headers_intact() -> None:
    seen: list[CaughtMail] = []
    with MailCatcher(on_mail=seen.append) as catcher:
        _send(catcher.port, _mail())
        [mail] = catcher.wait_for(1)

    assert mail.mail_from == "front-door@frontdoor.example.org"
    assert mail.recipients == ("duty@council.example.org", "lead@school.example.org")
    assert mail.subject == "Duty-team alert: contact to decide on — work item W-1"
    assert mail.message["X-Frontdoor-Event-Id"] == "alert-1"
    body = mail.message.get_body()
    assert body is not None
    assert body.get_content() == "Open the work item in the staff application.\n"
    assert catcher.message_ids() == ["<alert-1@frontdoor.example.org>"]
    assert seen == [mail]


def test_refused_mails_fail_with_the_code_and_are_not_kept() -> None:
    with MailCatcher() as catcher:
        catcher.refuse_next(2)
        for _ in range(2):
            with pytest.raises(smtplib.SMTPDataError) as refused:
                _send(catcher.port, _mail())
            assert refused.value.smtp_code == 451
        _send(catcher.port, _mail())

        assert len(catcher.wait_for(1)) == 1
        assert catcher.message_ids() == ["<alert-1@frontdoor.example.org>"]


def test_a_new_catcher_listens_on_a_stopped_ones_port() -> None:
    with MailCatcher() as first:
        port = first.port
        _send(port, _mail("<before@frontdoor.example.org>"))
        assert len(first.wait_for(1)) == 1

    with pytest.raises(ConnectionRefusedError):
        _send(port, _mail())

    with MailCatcher(port=port) as second:
        _send(port, _mail("<after@frontdoor.example.org>"))
        assert second.port == port
        assert [mail.message_id for mail in second.wait_for(1)] == ["<after@frontdoor.example.org>"]


def test_a_restarted_catcher_keeps_its_port_and_its_mails() -> None:
    catcher = MailCatcher()
    with catcher:
        port = catcher.port
        _send(port, _mail("<one@frontdoor.example.org>"))
    with catcher:
        _send(port, _mail("<two@frontdoor.example.org>"))
        catcher.wait_for(2)

    assert catcher.port == port
    assert catcher.message_ids() == ["<one@frontdoor.example.org>", "<two@frontdoor.example.org>"]


def test_a_taken_port_is_a_configuration_error() -> None:
    with MailCatcher() as catcher, pytest.raises(ConfigurationError, match=str(catcher.port)):
        MailCatcher(port=catcher.port).start()


def test_each_mail_is_saved_as_an_eml_file_numbered_across_runs(tmp_path: Path) -> None:
    directory = tmp_path / "outbox"
    with MailCatcher(directory=directory) as catcher:
        _send(catcher.port, _mail("<alert/1@frontdoor.example.org>"))
        _send(catcher.port, _mail(message_id=None))
        catcher.wait_for(2)
    with MailCatcher(directory=directory) as next_run:
        _send(next_run.port, _mail("<alert-2@frontdoor.example.org>"))
        next_run.wait_for(1)

    files = sorted(path.name for path in directory.iterdir())
    assert files == [
        "0001-alert_1_frontdoor.example.org.eml",
        "0002-no-message-id.eml",
        "0003-alert-2_frontdoor.example.org.eml",
    ]
    saved = BytesParser(policy=default_policy).parsebytes((directory / files[0]).read_bytes())
    assert saved["Subject"] == "Duty-team alert: contact to decide on — work item W-1"
    assert saved["Message-ID"] == "<alert/1@frontdoor.example.org>"


def test_a_signed_webhook_is_received() -> None:
    seen: list[ReceivedWebhook] = []
    with WebhookReceiver(SECRET, on_message=seen.append) as receiver:
        answer = _post(receiver.url, "alert-1")
        [webhook] = receiver.wait_for(1)

    assert answer.status_code == 200
    assert receiver.url == f"http://127.0.0.1:{receiver.port}/webhooks/frontdoor"
    assert (webhook.message_id, webhook.type, webhook.data) == (
        "alert-1",
        "DutyTeamAlert",
        {"a": 1},
    )
    assert seen == [webhook]
    assert receiver.attempts == 1


def test_a_bad_signature_is_refused_with_its_reason() -> None:
    with WebhookReceiver(SECRET) as receiver:
        answer = _post(receiver.url, "alert-1", secret=signing.new_secret())

        assert answer.status_code == 401
        assert answer.json() == {
            "code": "FD-WEBHOOK-SIGNATURE",
            "message": "no webhook-signature matches",
        }
        assert receiver.received == []
        assert receiver.attempts == 1


def test_a_signed_body_that_is_not_a_standard_payload_is_refused() -> None:
    with WebhookReceiver(SECRET) as receiver:
        answer = _post(receiver.url, "alert-1", {"type": "DutyTeamAlert"})

        assert answer.status_code == 400
        assert receiver.received == []


def test_failing_requests_answer_503_and_keep_nothing() -> None:
    with WebhookReceiver(SECRET) as receiver:
        receiver.fail_next(2)
        statuses = [_post(receiver.url, "alert-1").status_code for _ in range(3)]

        assert statuses == [503, 503, 200]
        assert [webhook.message_id for webhook in receiver.received] == ["alert-1"]
        assert receiver.attempts == 3


def test_a_repeated_id_is_received_once_and_counted_each_time() -> None:
    with WebhookReceiver(SECRET) as receiver:
        first = _post(receiver.url, "alert-1")
        again = _post(receiver.url, "alert-1")
        other = _post(receiver.url, "alert-2")

        assert [first.status_code, again.status_code, other.status_code] == [200, 200, 200]
        assert [webhook.message_id for webhook in receiver.received] == ["alert-1", "alert-2"]
        assert receiver.attempts == 3


def test_a_restarted_receiver_keeps_its_port_and_what_it_received() -> None:
    receiver = WebhookReceiver(SECRET)
    with receiver:
        port = receiver.port
        _post(receiver.url, "alert-1")
    with pytest.raises(httpx.ConnectError):
        _post(receiver.url, "alert-2")
    with receiver:
        assert _post(receiver.url, "alert-1").status_code == 200

    assert receiver.port == port
    assert [webhook.message_id for webhook in receiver.received] == ["alert-1"]


def test_a_bad_secret_is_refused_at_once() -> None:
    with pytest.raises(ConfigurationError):
        WebhookReceiver("not-a-secret")


async def test_run_local_receivers_prints_one_line_per_message(tmp_path: Path) -> None:
    smtp_port, webhook_port = _free_port(), _free_port()
    lines: list[str] = []
    running = asyncio.create_task(
        run_local_receivers(
            smtp_port=smtp_port,
            webhook_port=webhook_port,
            webhook_secret=SECRET,
            directory=tmp_path,
            out=lines.append,
        )
    )
    await _until(lambda: len(lines) == 1 or running.done())

    await asyncio.to_thread(_send, smtp_port, _mail())
    url = f"http://127.0.0.1:{webhook_port}/webhooks/frontdoor"
    await asyncio.to_thread(_post, url, "alert-1")
    await _until(lambda: len(lines) == 3)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running

    assert lines[1:] == [
        "mail to duty@council.example.org, lead@school.example.org: "
        "Duty-team alert: contact to decide on — work item W-1",
        "webhook DutyTeamAlert alert-1",
    ]
    assert len(list(tmp_path.glob("*.eml"))) == 1
    with pytest.raises(ConnectionRefusedError):
        _send(smtp_port, _mail())
