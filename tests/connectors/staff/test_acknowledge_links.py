"""Acknowledge links: made for one alert and one recipient, refused when altered, expired, made
for another alert or signed with another secret or for another purpose."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from connectors.staff.acknowledge_links import (
    DEFAULT_MAX_AGE_SECONDS,
    acknowledge_secret,
    acknowledge_url,
    read_acknowledge_token,
)
from schemas.errors import AcknowledgeLinkError

SECRET = "synthetic-session-secret-for-tests-only"
ALERT = "alert-3f1c2a0e-5b7d-5c1e-9a51-1d2e3f4a5b6c"
RECIPIENT = "edt:on-call"


def token_of(url: str) -> str:
    [token] = parse_qs(urlsplit(url).query)["token"]
    return token


def test_a_link_leads_to_the_alerts_acknowledge_page_and_names_its_recipient() -> None:
    url = acknowledge_url("https://staff.example.org/", SECRET, ALERT, RECIPIENT)

    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("https", "staff.example.org")
    assert parts.path == f"/duty-alerts/{ALERT}/acknowledge"
    assert read_acknowledge_token(SECRET, token_of(url), ALERT) == RECIPIENT


def test_an_alert_id_that_needs_quoting_is_quoted_in_the_path() -> None:
    url = acknowledge_url("http://127.0.0.1:8090", SECRET, "alert/1 2", RECIPIENT)

    assert urlsplit(url).path == "/duty-alerts/alert%2F1%202/acknowledge"
    assert read_acknowledge_token(SECRET, token_of(url), "alert/1 2") == RECIPIENT


def test_a_token_for_another_alert_is_refused() -> None:
    token = token_of(acknowledge_url("http://x", SECRET, ALERT, RECIPIENT))

    with pytest.raises(AcknowledgeLinkError, match="another alert"):
        read_acknowledge_token(SECRET, token, "alert-someone-else")


@pytest.mark.parametrize(
    "altered",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        lambda token: token[: len(token) // 2],
        lambda _: "",
        lambda _: "not-a-token",
        lambda token: token.replace(".", "", 1),
    ],
    ids=["signature-changed", "cut-short", "empty", "made-up", "mangled"],
)
def test_an_altered_or_made_up_token_is_refused(altered: Callable[[str], str]) -> None:
    token = token_of(acknowledge_url("http://x", SECRET, ALERT, RECIPIENT))

    with pytest.raises(AcknowledgeLinkError, match="not valid") as refused:
        read_acknowledge_token(SECRET, altered(token), ALERT)
    assert refused.value.code == "FD-ACK-LINK"


def test_a_token_signed_with_another_secret_is_refused() -> None:
    token = token_of(acknowledge_url("http://x", "another-secret", ALERT, RECIPIENT))

    with pytest.raises(AcknowledgeLinkError, match="not valid"):
        read_acknowledge_token(SECRET, token, ALERT)


def test_a_session_cookie_or_another_use_of_the_secret_is_not_a_token() -> None:
    session_like = TimestampSigner(SECRET).sign(b"eyJ1c2VyIjogImVkdCJ9").decode()
    other_salt = URLSafeTimedSerializer(SECRET).dumps({"alert": ALERT, "recipient": RECIPIENT})

    for token in (session_like, other_salt):
        with pytest.raises(AcknowledgeLinkError):
            read_acknowledge_token(SECRET, token, ALERT)


def test_an_old_token_has_expired(monkeypatch: pytest.MonkeyPatch) -> None:
    url = acknowledge_url("http://x", SECRET, ALERT, RECIPIENT)
    made = TimestampSigner(SECRET).get_timestamp()
    monkeypatch.setattr(
        TimestampSigner, "get_timestamp", lambda _: made + DEFAULT_MAX_AGE_SECONDS + 1
    )

    with pytest.raises(AcknowledgeLinkError, match="expired"):
        read_acknowledge_token(SECRET, token_of(url), ALERT)
    assert (
        read_acknowledge_token(
            SECRET, token_of(url), ALERT, max_age_seconds=DEFAULT_MAX_AGE_SECONDS + 60
        )
        == RECIPIENT
    )


def test_a_recipient_that_is_not_a_code_makes_no_link() -> None:
    with pytest.raises(ValueError, match="64"):
        acknowledge_url("http://x", SECRET, ALERT, "r" * 65)


def test_the_links_secret_is_the_staff_session_secret_in_force(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("FRONTDOOR_STAFF_SESSION_SECRET", raising=False)
    generated = acknowledge_secret()
    assert generated == (tmp_path / "staff-session-secret").read_text(encoding="utf-8").strip()

    monkeypatch.setenv("FRONTDOOR_STAFF_SESSION_SECRET", SECRET)
    assert acknowledge_secret() == SECRET
