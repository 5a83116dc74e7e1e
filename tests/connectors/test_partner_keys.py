"""Partner API keys as the gateway and an operator use them.

Store-backed stories run twice: on SQLite in a temporary directory and on the real local
PostgreSQL (``FRONTDOOR_TEST_POSTGRES_URL``, default ``postgresql://postgres@127.0.0.1:5432/test``),
each PostgreSQL test in a schema of its own that is dropped afterwards.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import psycopg
import pytest
from argon2 import PasswordHasher

from connectors import partner_keys
from connectors.partner_keys import (
    TOKEN_PREFIX,
    CaseRecordType,
    authenticate,
    authorize,
    authorize_case_record,
    issue_key,
    revoke,
    rotate,
)
from connectors.store import ApiKeyRecord, Store, open_store
from schemas.errors import AuthenticationError, AuthorizationError
from schemas.models import Agency, EventType, Referrer
from tests.helpers import (
    consent_override,
    contact,
    police_notification,
    postgres_schema_url,
)

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
ALL_TYPES = list(EventType)


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    """Each test starts with no remembered verification."""
    partner_keys.clear_cache()
    yield
    partner_keys.clear_cache()


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)],
)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty store of this test's own, SQLite or PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'keys.db'}"
    else:
        yield from postgres_schema_url("t")


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def _all_stored_text(url: str) -> str:
    """Every cell of every table of the store, as one string, read behind the Store's back."""
    rows: list[tuple[Any, ...]] = []
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
            tables = [
                name
                for (name,) in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type='table'"
                )
            ]
            for table in tables:
                rows += connection.execute(f"SELECT * FROM {table}").fetchall()  # noqa: S608
    else:
        with psycopg.connect(url) as connection:
            tables = [
                name
                for (name,) in connection.execute(
                    "SELECT table_name FROM information_schema.tables"
                    " WHERE table_schema = current_schema()"
                )
            ]
            for table in tables:
                rows += connection.execute(f"SELECT * FROM {table}").fetchall()  # noqa: S608
    assert rows, "the store holds nothing: the inspection looked in the wrong place"
    return "\n".join(repr(cell) for row in rows for cell in row)


def _school_key(store: Store, *types: EventType) -> partner_keys.IssuedKey:
    return issue_key(
        store,
        partner="school.990001",
        agency=Agency.EDUCATION,
        event_types=types or [EventType.CONTACT],
        now=NOW,
    )


def _refused(store: Store, token: str | None) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as caught:
        authenticate(store, token)
    return caught.value


# -- issuing and authenticating ----------------------------------------------------------------


def test_an_issued_key_authenticates_as_its_partner_agency_and_types(store: Store) -> None:
    issued = issue_key(
        store,
        partner="police.synthshire",
        agency=Agency.POLICE,
        event_types=[EventType.POLICE_NOTIFICATION, EventType.CONTACT],
        now=NOW,
    )

    record = authenticate(store, issued.token)

    assert issued.token == f"fdk_{issued.key_id}.{issued.secret}"
    assert issued.token.startswith(TOKEN_PREFIX)
    assert record.key_id == issued.key_id
    assert record.partner == "police.synthshire"
    assert record.agency == "police"
    assert record.event_types == ("contact", "police_notification")
    assert record.created_at == NOW
    assert record.active


def test_the_secret_is_never_stored_only_a_hash_that_verifies(store: Store, store_url: str) -> None:
    issued = _school_key(store)

    stored = _all_stored_text(store_url)

    assert issued.secret not in stored
    assert issued.token not in stored
    assert issued.key_id in stored
    record = store.api_key(issued.key_id)
    assert record is not None
    assert record.secret_hash.startswith("$argon2id$")
    assert PasswordHasher().verify(record.secret_hash, issued.secret)


def test_the_issued_key_does_not_show_its_secret_when_printed(store: Store) -> None:
    issued = _school_key(store)

    assert issued.secret not in repr(issued)
    assert issued.key_id in repr(issued)


def test_every_key_gets_its_own_id_and_secret(store: Store) -> None:
    first, second = _school_key(store), _school_key(store)

    assert first.key_id != second.key_id
    assert first.secret != second.secret
    assert len(first.key_id) == 12
    assert first.key_id.isalnum()  # safe on a command line: never starts with "-"


@pytest.mark.parametrize(
    ("partner", "types", "message"),
    [
        ("School 99", [EventType.CONTACT], "partner id"),
        ("s", [EventType.CONTACT], "partner id"),
        ("-school", [EventType.CONTACT], "partner id"),
        ("school.990001", [], "at least one event type"),
        ("school.990001", ["referral"], "unknown event type 'referral'"),
    ],
)
def test_issuing_refuses_a_bad_partner_id_or_event_types_and_stores_nothing(
    store: Store, partner: str, types: list[EventType], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        issue_key(store, partner=partner, agency=Agency.EDUCATION, event_types=types, now=NOW)

    assert store.api_keys() == []


def test_only_a_local_authority_key_may_carry_case_records(store: Store) -> None:
    with pytest.raises(ValueError, match="only a local authority key may send case records"):
        issue_key(
            store,
            partner="police.synthetic",
            agency=Agency.POLICE,
            event_types=[EventType.POLICE_NOTIFICATION, CaseRecordType.THRESHOLD_DECISION],
            now=NOW,
        )
    assert store.api_keys() == []

    issued = issue_key(
        store,
        partner="la.case-management",
        agency=Agency.LOCAL_AUTHORITY,
        event_types=partner_keys.parse_event_types("threshold_decision,strategy_discussion"),
        now=NOW,
    )
    record = authenticate(store, issued.token)
    assert record.event_types == ("threshold_decision", "strategy_discussion")
    authorize_case_record(record, CaseRecordType.THRESHOLD_DECISION)
    with pytest.raises(AuthorizationError, match="may not send child_protection_conference"):
        authorize_case_record(record, CaseRecordType.CHILD_PROTECTION_CONFERENCE)


def test_issuing_refuses_an_unknown_agency(store: Store) -> None:
    with pytest.raises(ValueError, match="unknown agency 'school'; one of: police"):
        issue_key(
            store,
            partner="school.990001",
            agency="school",  # type: ignore[arg-type]
            event_types=[EventType.CONTACT],
            now=NOW,
        )


def test_keys_survive_a_restart_of_the_store(store_url: str) -> None:
    first = open_store(store_url)
    issued = _school_key(first)
    first.close()

    reopened = open_store(store_url)
    try:
        assert authenticate(reopened, issued.token).partner == "school.990001"
    finally:
        reopened.close()


# -- refusing bad keys -------------------------------------------------------------------------


def test_a_wrong_secret_is_refused_without_echoing_the_token(store: Store) -> None:
    issued = _school_key(store)
    wrong = f"{TOKEN_PREFIX}{issued.key_id}.{'A' * 43}"

    error = _refused(store, wrong)

    assert error.code == "FD-AUTH-KEY"
    assert wrong not in str(error)
    assert issued.key_id not in str(error)
    assert issued.secret not in str(error)


def test_an_unknown_key_id_is_refused_like_a_wrong_secret(store: Store) -> None:
    issued = _school_key(store)
    unknown = f"{TOKEN_PREFIX}zzzzzzzzzzzz.{issued.secret}"

    error = _refused(store, unknown)
    wrong_secret = _refused(store, f"{TOKEN_PREFIX}{issued.key_id}.{'A' * 43}")

    assert str(error) == str(wrong_secret)
    assert issued.secret not in str(error)
    assert "zzzzzzzzzzzz" not in str(error)


@pytest.mark.parametrize(
    "token",
    [
        "",
        None,
        "Bearer",
        "fdk_",
        "fdk_abcdefabcdef",
        "fdk_abcdefabcdef.",
        "fdk_.abcdefabcdefabcdefabcdefabcdefabcdefabcdefa",
        "xyz_abcdefabcdef.abcdefabcdefabcdefabcdefabcdefabcdefabcdefa",
        "fdk_abc def.abcdefabcdefabcdefabcdefabcdefabcdefabcdefa",
        "fdk_abcdefabcdef.abcdefabcdefabcdefabcdefabcdefabcdefabcdefa'; DROP TABLE api_keys; --",
        "fdk_" + "a" * 5000 + "." + "b" * 43,
    ],
)
def test_a_missing_or_malformed_token_is_refused_without_echoing_it(
    store: Store, token: str | None
) -> None:
    error = _refused(store, token)

    assert error.code == "FD-AUTH-KEY"
    if token:
        assert token not in str(error)
        fragment = token.removeprefix(TOKEN_PREFIX)[:12]
        assert len(fragment) < 6 or fragment not in str(error)


def test_a_revoked_key_is_refused_at_once_even_just_after_being_accepted(store: Store) -> None:
    issued = _school_key(store)
    authenticate(store, issued.token)  # now remembered as verified

    assert revoke(store, issued.key_id, LATER) is True

    error = _refused(store, issued.token)
    assert "revoked" in str(error)
    assert issued.token not in str(error)
    assert issued.secret not in str(error)
    assert store.api_key(issued.key_id) == store.api_key(issued.key_id)
    record = store.api_key(issued.key_id)
    assert record is not None
    assert record.revoked_at == LATER


def test_revoked_is_only_said_to_whoever_holds_the_right_secret(store: Store) -> None:
    issued = _school_key(store)
    revoke(store, issued.key_id, LATER)

    error = _refused(store, f"{TOKEN_PREFIX}{issued.key_id}.{'A' * 43}")

    assert "revoked" not in str(error)


def test_a_key_revoked_by_another_process_is_refused_on_the_next_request(store_url: str) -> None:
    gateway, operator = open_store(store_url), open_store(store_url)
    try:
        issued = _school_key(gateway)
        authenticate(gateway, issued.token)  # remembered as verified in this process

        # ``frontdoor keys revoke`` runs in its own process: the gateway's cache never hears of it.
        assert operator.revoke_api_key(issued.key_id, LATER)

        _refused(gateway, issued.token)
    finally:
        gateway.close()
        operator.close()


def test_revoking_an_unknown_or_already_revoked_key_says_so(store: Store) -> None:
    issued = _school_key(store)

    assert revoke(store, "zzzzzzzzzzzz", LATER) is False
    assert revoke(store, issued.key_id, LATER) is True
    assert revoke(store, issued.key_id, LATER) is False


# -- timing and the verification cache ---------------------------------------------------------


class _CountingHasher(PasswordHasher):
    verifications = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        type(self).verifications += 1
        return super().verify(hash, password)


@pytest.fixture
def counting_hasher(monkeypatch: pytest.MonkeyPatch) -> type[_CountingHasher]:
    _CountingHasher.verifications = 0
    monkeypatch.setattr(partner_keys, "_HASHER", _CountingHasher())
    return _CountingHasher


def test_an_unknown_key_id_costs_an_argon2_verification_like_a_known_one(
    store: Store, counting_hasher: type[_CountingHasher]
) -> None:
    issued = _school_key(store)

    _refused(store, f"{TOKEN_PREFIX}zzzzzzzzzzzz.{issued.secret}")
    assert counting_hasher.verifications == 1

    _refused(store, f"{TOKEN_PREFIX}{issued.key_id}.{'A' * 43}")
    assert counting_hasher.verifications == 2


def test_a_verified_token_is_remembered_for_at_most_a_minute(
    store: Store, counting_hasher: type[_CountingHasher], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(partner_keys, "_monotonic", lambda: clock[0])
    issued = _school_key(store)

    authenticate(store, issued.token)
    clock[0] += 59
    authenticate(store, issued.token)
    assert counting_hasher.verifications == 1

    clock[0] += 2  # 61 s after the first verification
    authenticate(store, issued.token)
    assert counting_hasher.verifications == 2


def test_a_wrong_secret_is_never_remembered(
    store: Store, counting_hasher: type[_CountingHasher]
) -> None:
    issued = _school_key(store)
    wrong = f"{TOKEN_PREFIX}{issued.key_id}.{'A' * 43}"

    _refused(store, wrong)
    _refused(store, wrong)

    assert counting_hasher.verifications == 2


# -- authorising events ------------------------------------------------------------------------


def _record(agency: Agency, *types: EventType) -> ApiKeyRecord:
    return ApiKeyRecord(
        key_id="abcdefabcdef",
        partner=f"{agency.value}.synth",
        agency=agency.value,
        event_types=tuple(t.value for t in types),
        secret_hash="$argon2id$unused",
        created_at=NOW,
    )


def test_a_key_may_send_the_events_it_was_issued_for() -> None:
    school = _record(Agency.EDUCATION, EventType.CONTACT, EventType.CONSENT_EVENT)
    police = _record(Agency.POLICE, EventType.POLICE_NOTIFICATION, EventType.CONTACT)

    authorize(school, EventType.CONTACT, contact())
    authorize(school, EventType.CONSENT_EVENT, consent_override())
    authorize(police, EventType.POLICE_NOTIFICATION, police_notification())
    authorize(
        police,
        EventType.CONTACT,
        contact(referrer=Referrer(name="PC Synth", agency=Agency.POLICE)),
    )


def test_a_key_cannot_send_an_event_type_it_was_not_issued_for() -> None:
    school = _record(Agency.EDUCATION, EventType.CONTACT)

    with pytest.raises(AuthorizationError, match="may not send consent_event") as caught:
        authorize(school, EventType.CONSENT_EVENT, consent_override())

    assert caught.value.code == "FD-AUTH-FORBIDDEN"


def test_a_schools_key_cannot_claim_a_contact_comes_from_health() -> None:
    school = _record(Agency.EDUCATION, EventType.CONTACT)
    from_health = contact(referrer=Referrer(name="Dr Synth", agency=Agency.HEALTH))

    with pytest.raises(AuthorizationError, match="referrer agency is health"):
        authorize(school, EventType.CONTACT, from_health)


def test_only_a_police_key_can_send_a_police_notification() -> None:
    # Even a key that was (wrongly) given the type: the agency is what decides.
    health = _record(Agency.HEALTH, EventType.POLICE_NOTIFICATION)

    with pytest.raises(AuthorizationError, match="only a police key"):
        authorize(health, EventType.POLICE_NOTIFICATION, police_notification())


def test_an_event_declared_as_another_type_is_refused() -> None:
    school = _record(Agency.EDUCATION, EventType.CONTACT, EventType.CONSENT_EVENT)

    with pytest.raises(AuthorizationError, match="was sent as a contact"):
        authorize(school, EventType.CONTACT, consent_override())


# -- rotating ----------------------------------------------------------------------------------


def test_rotating_revokes_the_old_key_and_the_new_one_has_the_same_rights(store: Store) -> None:
    old = _school_key(store, EventType.CONTACT, EventType.CONSENT_EVENT)
    authenticate(store, old.token)

    new = rotate(store, old.key_id, LATER)

    _refused(store, old.token)
    record = authenticate(store, new.token)
    assert new.key_id != old.key_id
    assert (record.partner, record.agency, record.event_types) == (
        "school.990001",
        "education",
        ("contact", "consent_event"),
    )
    assert record.created_at == LATER


def test_rotating_an_unknown_or_revoked_key_is_refused(store: Store) -> None:
    issued = _school_key(store)
    revoke(store, issued.key_id, LATER)

    with pytest.raises(ValueError, match="no active key"):
        rotate(store, "zzzzzzzzzzzz", LATER)
    with pytest.raises(ValueError, match="no active key"):
        rotate(store, issued.key_id, LATER)
    assert len(store.api_keys()) == 1


# -- the command line --------------------------------------------------------------------------


def frontdoor_keys(*args: str, store_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "connectors.cli", "keys", *args],
        env={**os.environ, "FRONTDOOR_GATEWAY_STORE_URL": store_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _token_in(output: str) -> str:
    tokens = [word for word in output.split() if word.startswith(TOKEN_PREFIX)]
    assert len(tokens) == 1, output
    return tokens[0]


@pytest.fixture
def cli_store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'keys.db'}"


def test_keys_create_prints_the_token_once_with_a_warning(cli_store_url: str) -> None:
    created = frontdoor_keys(
        "create",
        "--partner",
        "school.990001",
        "--agency",
        "education",
        "--types",
        "contact,consent_event",
        store_url=cli_store_url,
    )

    assert created.returncode == 0, created.stderr
    token = _token_in(created.stdout)
    assert created.stdout.count(token) == 1
    assert "will not be shown again" in created.stdout
    store = open_store(cli_store_url)
    try:
        record = authenticate(store, token)
    finally:
        store.close()
    assert f"key id: {record.key_id}" in created.stdout
    assert record.event_types == ("contact", "consent_event")


def test_keys_list_shows_every_key_without_any_secret_or_hash(cli_store_url: str) -> None:
    store = open_store(cli_store_url)
    try:
        kept = _school_key(store)
        gone = issue_key(
            store,
            partner="police.synthshire",
            agency=Agency.POLICE,
            event_types=ALL_TYPES,
            now=NOW,
        )
        revoke(store, gone.key_id, LATER)
        hashes = [record.secret_hash for record in store.api_keys()]
    finally:
        store.close()

    listed = frontdoor_keys("list", store_url=cli_store_url)

    assert listed.returncode == 0, listed.stderr
    lines = {line.split()[0]: line for line in listed.stdout.splitlines()[1:]}
    assert lines[kept.key_id].endswith("active")
    assert "school.990001  education  contact  2026-11-24 09:00" in lines[kept.key_id]
    assert "revoked 2026-11-25 09:00" in lines[gone.key_id]
    assert "contact,police_notification,consent_event" in lines[gone.key_id]
    for secret in (kept.secret, gone.secret, *hashes):
        assert secret not in listed.stdout
    assert "argon2" not in listed.stdout


def test_keys_revoke_then_the_token_is_refused_and_a_second_revoke_is_an_error(
    cli_store_url: str,
) -> None:
    created = frontdoor_keys(
        "create",
        "--partner",
        "gp.synth",
        "--agency",
        "health",
        "--types",
        "contact",
        store_url=cli_store_url,
    )
    token = _token_in(created.stdout)
    key_id = token.removeprefix(TOKEN_PREFIX).split(".")[0]

    revoked = frontdoor_keys("revoke", key_id, store_url=cli_store_url)
    again = frontdoor_keys("revoke", key_id, store_url=cli_store_url)

    assert revoked.returncode == 0, revoked.stderr
    store = open_store(cli_store_url)
    try:
        _refused(store, token)
    finally:
        store.close()
    assert again.returncode == 2
    assert again.stderr.strip().splitlines() == [
        f"frontdoor: error: [FD-ERROR] no active key '{key_id}' (unknown or already revoked)"
    ]


def test_keys_rotate_prints_a_new_token_that_works_and_the_old_one_stops(
    cli_store_url: str,
) -> None:
    store = open_store(cli_store_url)
    try:
        old = _school_key(store)
    finally:
        store.close()

    rotated = frontdoor_keys("rotate", old.key_id, store_url=cli_store_url)
    unknown = frontdoor_keys("rotate", "zzzzzzzzzzzz", store_url=cli_store_url)

    assert rotated.returncode == 0, rotated.stderr
    new_token = _token_in(rotated.stdout)
    assert "will not be shown again" in rotated.stdout
    store = open_store(cli_store_url)
    try:
        _refused(store, old.token)
        assert authenticate(store, new_token).partner == "school.990001"
    finally:
        store.close()
    assert unknown.returncode == 2
    assert len(unknown.stderr.strip().splitlines()) == 1
    assert "no active key 'zzzzzzzzzzzz'" in unknown.stderr


@pytest.mark.parametrize(
    ("agency", "types", "message"),
    [
        ("school", "contact", "unknown agency 'school'; one of: police, health"),
        ("education", "contact,referral", "unknown event type 'referral'; one of: contact"),
        ("education", " , ", "a key needs at least one event type"),
    ],
)
def test_keys_create_with_a_bad_agency_or_type_is_a_one_line_error(
    cli_store_url: str, tmp_path: Path, agency: str, types: str, message: str
) -> None:
    result = frontdoor_keys(
        "create",
        "--partner",
        "school.990001",
        "--agency",
        agency,
        "--types",
        types,
        store_url=cli_store_url,
    )

    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert message in result.stderr
    assert not (tmp_path / "keys.db").exists()  # nothing touched
