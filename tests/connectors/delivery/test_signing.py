"""Standard Webhooks signing: what we send verifies, and nothing else does."""

from __future__ import annotations

import base64

import pytest

from connectors.delivery.signing import (
    SIGNATURE_HEADER,
    TOLERANCE_SECONDS,
    new_secret,
    secret_key,
    signature,
    signed_headers,
    verify,
)
from schemas.errors import ConfigurationError, WebhookSignatureError

SENT_AT = 1_773_171_720  # 10 March 2026, 19:42 UTC
BODY = b'{"data":{"event_id":"request-0001"},"type":"InformationRequest"}'


def test_the_standards_published_test_vector_is_reproduced() -> None:
    # The vector every Standard Webhooks library is tested with: a partner can verify our
    # requests with any of them.
    assert (
        signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            b'{"test": 2432232314}',
        )
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_signed_headers_verify_and_give_the_message_id() -> None:
    secret = new_secret()
    headers = signed_headers(secret, "request-0001", SENT_AT, BODY)
    assert headers["content-type"] == "application/json"
    assert verify(secret, headers, BODY, now=SENT_AT + 3) == "request-0001"


def test_header_names_are_read_in_any_case() -> None:
    secret = new_secret()
    headers = {
        name.title(): value
        for name, value in signed_headers(secret, "request-0001", SENT_AT, BODY).items()
    }
    assert verify(secret, headers, BODY, now=SENT_AT) == "request-0001"


def test_a_tampered_body_is_refused() -> None:
    secret = new_secret()
    headers = signed_headers(secret, "request-0001", SENT_AT, BODY)
    with pytest.raises(WebhookSignatureError, match="no webhook-signature matches"):
        verify(secret, headers, BODY.replace(b"0001", b"0002"), now=SENT_AT)


def test_a_changed_message_id_is_refused() -> None:
    secret = new_secret()
    headers = signed_headers(secret, "request-0001", SENT_AT, BODY) | {"webhook-id": "other-01"}
    with pytest.raises(WebhookSignatureError):
        verify(secret, headers, BODY, now=SENT_AT)


@pytest.mark.parametrize("offset", [TOLERANCE_SECONDS + 1, -(TOLERANCE_SECONDS + 1), 86_400])
def test_a_timestamp_too_far_from_now_is_refused_as_a_replay(offset: int) -> None:
    secret = new_secret()
    headers = signed_headers(secret, "request-0001", SENT_AT, BODY)
    with pytest.raises(WebhookSignatureError, match="too far from now"):
        verify(secret, headers, BODY, now=SENT_AT + offset)


def test_a_timestamp_at_the_tolerance_is_accepted() -> None:
    secret = new_secret()
    headers = signed_headers(secret, "request-0001", SENT_AT, BODY)
    assert verify(secret, headers, BODY, now=SENT_AT + TOLERANCE_SECONDS) == "request-0001"


def test_another_secret_does_not_verify() -> None:
    headers = signed_headers(new_secret(), "request-0001", SENT_AT, BODY)
    with pytest.raises(WebhookSignatureError, match="no webhook-signature matches"):
        verify(new_secret(), headers, BODY, now=SENT_AT)


def test_while_a_secret_is_rotated_either_of_two_signatures_verifies() -> None:
    old, new = new_secret(), new_secret()
    both = " ".join(signature(secret, "request-0001", SENT_AT, BODY) for secret in (old, new))
    headers = signed_headers(new, "request-0001", SENT_AT, BODY) | {SIGNATURE_HEADER: both}
    assert verify(old, headers, BODY, now=SENT_AT) == "request-0001"
    assert verify(new, headers, BODY, now=SENT_AT) == "request-0001"
    with pytest.raises(WebhookSignatureError):
        verify(new_secret(), headers, BODY, now=SENT_AT)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_request_without_each_header_is_refused(missing: str) -> None:
    secret = new_secret()
    headers = signed_headers(secret, "request-0001", SENT_AT, BODY)
    del headers[missing]
    with pytest.raises(WebhookSignatureError, match="are required"):
        verify(secret, headers, BODY, now=SENT_AT)


def test_a_timestamp_that_is_not_whole_seconds_is_refused() -> None:
    secret = new_secret()
    headers = signed_headers(secret, "request-0001", SENT_AT, BODY) | {
        "webhook-timestamp": "2026-03-10T19:42:00Z"
    }
    with pytest.raises(WebhookSignatureError, match="whole seconds"):
        verify(secret, headers, BODY, now=SENT_AT)


def test_a_new_secret_is_whsec_and_32_random_bytes() -> None:
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_")
    assert len(secret_key(first)) == 32
    assert first != second


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        (base64.b64encode(bytes(32)).decode(), "starts with 'whsec_'"),
        ("whsec_not base64!", "base64"),
        ("whsec_" + base64.b64encode(bytes(23)).decode(), "at least 24"),
        ("whsec_", "at least 24"),
    ],
)
def test_a_secret_that_is_not_usable_is_a_configuration_error(secret: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        secret_key(secret)
