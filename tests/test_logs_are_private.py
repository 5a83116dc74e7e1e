"""The logs carry ids and codes, never a child's personal details nor an API token.

The rule ("never log names, dates of birth, addresses or free text about a child at INFO or
above; log ids and codes") is easy to break with one innocent ``log.info``, and no test of a
single agent would notice. So this test runs the real thing: a worker process and the HTTP
gateway push a realistic synthetic run (the seeded Faker generator, some events with
data-quality problems, a few unusable messages so that the dead-letter paths log, a wrong API
key), then every personal value that was sent is looked for in every log line at INFO or above.

A failure names the log, line number, level, kind of value and the field it came from, never the
value itself: the test's own report must not become the leak.
"""

from __future__ import annotations

import bisect
import itertools
import json
import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Annotated, get_args, get_origin, get_type_hints

import httpx
import pytest
from pydantic import BaseModel

from connectors.gateway import create_app
from connectors.generator import GeneratedEvent, Generator
from connectors.partner_keys import IssuedKey, issue_key
from connectors.store import open_store
from schemas.models import (
    Address,
    Adult,
    Agency,
    Child,
    ConsentEvent,
    Contact,
    Event,
    EventType,
    MashTask,
    Outcome,
    PoliceNotification,
    Referrer,
    TaskKind,
)
from schemas.types import Code, EventId, LongText, Name, Reference
from schemas.wire import SENDER_HEADER
from streams.platform.app import codec
from streams.platform.publisher import Publisher
from streams.platform.reader import read_topic
from streams.platform.settings import GatewaySettings, KafkaSettings
from streams.platform.topics import INTAKE, MASH_TASKS, OUTCOMES
from tests.helpers import INVALID_NHS_NUMBER, running_worker, serving

pytestmark = pytest.mark.integration

SEED = 20261125
#: Enough for every event type, repeat children (history), incomplete records and consent events
#: about earlier contacts, while the whole test stays well under a minute and a half.
GENERATED = 200
#: Every this-many generated event gets data-quality problems on top of the generator's own gaps.
FLAWED_EVERY = 12
#: The shortest value looked for. Two-letter tokens occur in ordinary log text ("DQ-", "FD-",
#: "OK", "id") and identify nobody; three letters ("Amy", "Eve", "Fox") are real names and are
#: kept, which is safe only because a value must stand alone (see ``_occurrences``): "Eve" inside
#: "Event" or "Ava" inside "Available" is not a match.
MIN_LENGTH = 3
#: Free text is also looked for sentence by sentence (a truncated ``description[:80]`` in a log
#: line is still a leak); shorter sentences are not distinctive enough to be worth a match.
MIN_SENTENCE_LENGTH = 15
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d %B %Y")
PERSON_RECORDS = (Child, Adult, Referrer)
#: A school URN names a school in the public register (GIAS), not a person: it is a code.
NOT_PERSONAL_FIELDS = frozenset({"school_urn"})
#: Log levels below the rule's threshold; everything else (unknown levels included) is scanned.
BELOW_INFO = frozenset({"DEBUG", "TRACE", "NOTSET"})
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Personal:
    """A value that must not be logged, and where it came from (safe to print: no value)."""

    kind: str
    where: str


@dataclass(frozen=True)
class LogLine:
    log: str
    number: int
    level: str
    text: str


# ---------------------------------------------------------------------------------------------
# What must not be logged.
#
# The rule is read off the contracts' declared types rather than a list of field names, so a
# field added tomorrow is covered the day it is added:
#
# * allowed in logs: enum values (closed vocabularies: event types, queues, roles), ``Code`` and
#   ``EventId`` fields (ids and codes: event ids, senders, error codes), a ``Reference`` that is
#   not about a person (a police reference names an incident), a school URN, and timestamps
#   (when something was received or decided is not a personal detail);
# * never logged: every ``Name``, every calendar ``date`` (in these contracts only a person's date
#   of birth or expected delivery), every ``Reference`` inside a person record (NHS number, pupil
#   number, the partner's id for the child), every address part, and every free text
#   (``ShortText`` and ``LongText``: descriptions, circumstances, the child's words, where the
#   child was, phone numbers and e-mails). Free text is neither an id nor a code, so it is never
#   logged whoever it is about; a type this test does not know is treated as personal too.


def personal_values(generated: Event, origin: str) -> Iterator[tuple[str, Personal]]:
    """Every personal value of an event, as (value, where it came from)."""
    yield from _record(generated, f"{origin} {type(generated).__name__} {generated.event_id}", "")


@dataclass(frozen=True)
class _Field:
    """A field of a record being walked: enough to decide whether its value is personal."""

    owner: BaseModel
    name: str
    hint: object
    where: str
    path: str


def _record(record: BaseModel, where: str, path: str) -> Iterator[tuple[str, Personal]]:
    hints = get_type_hints(type(record), include_extras=True)
    for name in type(record).model_fields:
        field = _Field(record, name, hints[name], where, f"{path}{name}")
        yield from _value(getattr(record, name), field)
    if isinstance(record, Child | Adult) and record.given_name and record.family_name:
        full = f"{record.given_name} {record.family_name}"
        yield full, Personal("full name", f"{where}: {path}(given family)")


def _value(value: object, field: _Field) -> Iterator[tuple[str, Personal]]:
    where = f"{field.where}: {field.path}"
    if value is None or isinstance(value, Enum | bool | int | float | datetime):
        return  # enums are codes; numbers, flags and timestamps are not personal details
    if isinstance(value, BaseModel):
        yield from _record(value, field.where, f"{field.path}.")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _value(item, replace(field, path=f"{field.path}[{index}]"))
    elif isinstance(value, date):
        day = "date of birth" if field.name == "date_of_birth" else "date"
        for form in DATE_FORMATS:
            yield value.strftime(form), Personal(day, f"{where} ({form})")
    elif isinstance(value, str):
        kind = _kind(field)
        if kind is not None:
            yield value, Personal(kind, where)
        if kind == "free text":
            for number, sentence in enumerate(re.split(r"(?<=[.!?])\s+", value), start=1):
                if len(sentence) >= MIN_SENTENCE_LENGTH:
                    yield sentence, Personal(kind, f"{where} (sentence {number})")
    else:  # bytes, dicts: nothing of the kind is in a partner event today; fail loudly if added
        raise TypeError(f"{field.path}: no privacy rule for a {type(value).__name__}")


def _text_type(hint: object) -> object | None:
    """The constrained string type (``Name``, ``Code``...) a field declares, through unions."""
    if get_origin(hint) is Annotated:
        return hint
    for argument in get_args(hint):
        found = _text_type(argument)
        if found is not None:
            return found
    return None


def _kind(field: _Field) -> str | None:
    """What kind of personal value a string field holds; None for ids and codes."""
    declared = _text_type(field.hint)
    in_person = isinstance(field.owner, PERSON_RECORDS)
    if declared == Reference and in_person and field.name not in NOT_PERSONAL_FIELDS:
        return "NHS number" if field.name == "nhs_number" else "personal identifier"
    if declared in (Code, EventId, Reference) or field.name in NOT_PERSONAL_FIELDS:
        return None  # ids and codes; a reference outside a person record names an incident
    if declared == Name:
        return "name"
    if isinstance(field.owner, Address):
        return "address"
    return "personal detail" if in_person and declared != LongText else "free text"


class Forbidden:
    """The values that must not be logged, each with the first place it came from."""

    def __init__(self) -> None:
        self.values: dict[str, Personal] = {}

    def add(self, value: str, personal: Personal) -> None:
        if len(value.strip()) >= MIN_LENGTH:
            self.values.setdefault(value.strip(), personal)

    def add_event(self, event: Event, origin: str) -> None:
        for value, personal in personal_values(event, origin):
            self.add(value, personal)

    def add_token(self, token: str, whose: str) -> None:
        # The whole token, and its secret alone (the key id before it is an id: loggable).
        self.add(token, Personal("API token", whose))
        self.add(token.partition(".")[2], Personal("API token secret", whose))

    def kinds(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for personal in self.values.values():
            counts[personal.kind] = counts.get(personal.kind, 0) + 1
        return counts


# ---------------------------------------------------------------------------------------------
# Reading the logs.

# Faust's (mode's) format, ``[2026-11-25 09:00:00,123] [4242] [INFO] [^Worker]: Ready``, and the
# command line's own before Faust takes over, ``2026-11-25 09:00:00,123 INFO name message``.
_FAUST_RECORD = re.compile(r"^\[\d{4}-\d\d-\d\d [\d:,]+\] \[\d+\] \[(?P<level>[A-Z]+)\]")
_CLI_RECORD = re.compile(r"^\d{4}-\d\d-\d\d [\d:,]+ (?P<level>[A-Z]+) ")


def worker_log_lines(path: Path) -> list[LogLine]:
    """The worker log's lines at INFO or above, each with the level of the record it is part of.

    A line that starts no record (a traceback, Faust's subscription and assignment tables)
    belongs to the record above it. Lines before any record (anything printed before logging
    starts) have no level and are scanned: an operator reads them in the same file.
    """
    lines, level = [], "UNLEVELLED"
    for number, text in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        record = _FAUST_RECORD.match(text) or _CLI_RECORD.match(text)
        if record:
            level = record["level"]
        if level not in BELOW_INFO:
            lines.append(LogLine(path.name, number, level, text))
    return lines


#: The test's own HTTP client plays the partner: its request lines are not the gateway's log.
_PARTNER_CLIENT_LOGGERS = ("httpx", "httpcore")


class Captured(logging.Handler):
    """Every record the gateway's process logs at INFO or above, formatted as a handler would."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.records: list[logging.LogRecord] = []
        self._seen: set[int] = set()

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(_PARTNER_CLIENT_LOGGERS):
            return  # the test's HTTP client is the partner, not the gateway
        if id(record) not in self._seen:  # attached to loggers that may also propagate to root
            self._seen.add(id(record))
            self.records.append(record)

    def lines(self) -> list[LogLine]:
        """The records as the lines a handler would have written, numbered like a file's."""
        texts = [
            (record.levelname, text)
            for record in self.records
            for text in self.format(record).splitlines()
        ]
        return [
            LogLine("gateway log", number, level, text)
            for number, (level, text) in enumerate(texts, start=1)
        ]


# uvicorn's own loggers stop propagation when uvicorn configured them (another test in the session
# may have), so the handler sits on them as well as on the root.
_GATEWAY_LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


@contextmanager
def capturing_logs() -> Iterator[Captured]:
    handler = Captured()
    loggers = [logging.getLogger(name) for name in _GATEWAY_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)  # what ``frontdoor gateway`` runs at
    try:
        yield handler
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


@contextmanager
def serving_at_info(kafka: KafkaSettings, prefix: str, store_url: str) -> Iterator[str]:
    """The gateway served by uvicorn as ``frontdoor gateway`` serves it: logging at INFO, access
    log on. uvicorn configures no handlers of its own here, so its records reach the capture."""
    settings = GatewaySettings(store_url=store_url, publish_timeout_seconds=5)
    app = create_app(settings, kafka, topic_prefix=prefix)
    with serving(app, log_level="info", log_config=None) as url:
        yield url


# ---------------------------------------------------------------------------------------------
# The run.


def with_data_quality_problems(event: Event) -> Event:
    """The event with a wrong NHS check digit, a malformed postcode and an unknown school URN on
    its first child: accepted with issues, and the information-request path runs."""
    if not isinstance(event, Contact | PoliceNotification):
        return event
    first, *others = event.children
    address = (first.address or Address()).model_copy(update={"postcode": "NOT A POSTCODE"})
    flawed = first.model_copy(
        update={"nhs_number": INVALID_NHS_NUMBER, "address": address, "school_urn": "999999"}
    )
    return event.model_copy(update={"children": [flawed, *others]})


def unusable(generated: list[GeneratedEvent]) -> list[tuple[EventType, bytes, Event | None]]:
    """Messages the intake must dead-letter, some of them full of personal details."""
    contact = next(g.event for g in generated if isinstance(g.event, Contact))
    notification = next(g.event for g in generated if isinstance(g.event, PoliceNotification))
    assert isinstance(contact, Contact)
    assert isinstance(notification, PoliceNotification)
    # Valid Avro that fails validation: free text over the 20,000-character limit.
    too_long = contact.model_copy(
        update={
            "event_id": "demo-too-long-description",
            "description": _over_the_limit(contact.description),
        }
    )
    too_long_circumstances = notification.model_copy(
        update={
            "event_id": "demo-too-long-circumstances",
            "circumstances": _over_the_limit(notification.circumstances),
        }
    )
    return [
        (EventType.CONTACT, b"\x00\x00\x00\x00\x07 not avro at all", None),
        (EventType.POLICE_NOTIFICATION, b"", None),
        # A partner publishing its JSON instead of the Avro contract.
        (EventType.CONTACT, contact.model_dump_json().encode(), contact),
        (EventType.CONTACT, codec.encode(too_long), too_long),
        (
            EventType.POLICE_NOTIFICATION,
            codec.encode(too_long_circumstances),
            too_long_circumstances,
        ),
    ]


def _over_the_limit(text: str | None) -> str:
    """The text repeated past ``LongText``'s 20,000 characters."""
    text = f"{text or 'Synthetic free text.'} "
    return text * (20_001 // len(text) + 1)


def publish_generated_run(
    kafka: KafkaSettings, prefix: str, forbidden: Forbidden
) -> tuple[set[str], int]:
    """Publish the synthetic run to the intake topics as ``frontdoor generate`` does, plus the
    unusable messages; returns the usable events' ids and how many messages were unusable."""
    start = datetime.now(UTC) - timedelta(days=3)
    generated = list(itertools.islice(Generator(seed=SEED, start=start), GENERATED))
    usable: set[str] = set()
    bad = unusable(generated)
    with Publisher(kafka, codec) as publisher:
        for number, item in enumerate(generated):
            event = (
                with_data_quality_problems(item.event) if number % FLAWED_EVERY == 0 else item.event
            )
            publisher.publish(
                INTAKE[item.event_type].name_under(prefix),
                event,
                headers={SENDER_HEADER: item.sender},
            )
            forbidden.add_event(event, "published")
            usable.add(event.event_id)
        for event_type, value, carried in bad:
            publisher.publish_raw(
                INTAKE[event_type].name_under(prefix),
                value,
                key=None,
                headers={SENDER_HEADER: "police.synthetic"},
            )
            if carried is not None:
                forbidden.add_event(carried, "unusable")
    return usable, len(bad)


def issue_keys(store_url: str) -> tuple[IssuedKey, IssuedKey]:
    """API keys of a school (contacts, consent events) and a police force."""
    store = open_store(store_url)
    try:
        school = issue_key(
            store,
            partner="school.990001",
            agency=Agency.EDUCATION,
            event_types=[EventType.CONTACT, EventType.CONSENT_EVENT],
            now=NOW,
        )
        police = issue_key(
            store,
            partner="police.synthetic",
            agency=Agency.POLICE,
            event_types=[EventType.POLICE_NOTIFICATION],
            now=NOW,
        )
    finally:
        store.close()
    return school, police


_PATHS = {
    EventType.CONTACT: "/v1/contacts",
    EventType.POLICE_NOTIFICATION: "/v1/police-notifications",
    EventType.CONSENT_EVENT: "/v1/consent-events",
}


def post(url: str, event_type: EventType, token: str, body: object) -> httpx.Response:
    return httpx.post(
        f"{url}{_PATHS[event_type]}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def send_through_the_gateway(
    kafka: KafkaSettings, prefix: str, store_url: str, forbidden: Forbidden
) -> tuple[set[str], list[LogLine]]:
    """A handful of partner posts: accepted, accepted with warnings, unusable (422), another
    agency's (403), and a wrong secret (401). Returns the accepted ids and the gateway's log."""
    school, police = issue_keys(store_url)
    wrong = f"{school.token[:-6]}AAAAAA"  # the school's key id with a wrong secret
    for token, whose in ((school.token, "school"), (police.token, "police"), (wrong, "wrong")):
        forbidden.add_token(token, f"{whose} key")
    start = datetime.now(UTC) - timedelta(days=1)
    others = list(itertools.islice(Generator(seed=SEED + 1, start=start), 60))
    contacts = [
        g.event
        for g in others
        if isinstance(g.event, Contact) and g.event.referrer.agency is Agency.EDUCATION
    ][:3]
    notifications = [g.event for g in others if isinstance(g.event, PoliceNotification)][:3]
    consents = [g.event for g in others if isinstance(g.event, ConsentEvent)][:1]
    flawed = with_data_quality_problems(notifications.pop())
    broken = contacts.pop()
    forbidden.add_event(broken, "posted unusable")  # its body is this contact's but for one field
    unusable_body = json.loads(broken.model_dump_json())
    unusable_body["received_at"] = "not a time"
    accepted: set[str] = set()
    with capturing_logs() as captured, serving_at_info(kafka, prefix, store_url) as url:
        posts: list[tuple[EventType, str, Event, int]] = [
            *((EventType.CONTACT, school.token, e, 202) for e in contacts),
            *((EventType.POLICE_NOTIFICATION, police.token, e, 202) for e in notifications),
            *((EventType.CONSENT_EVENT, school.token, e, 202) for e in consents),
            (EventType.POLICE_NOTIFICATION, police.token, flawed, 202),
            (EventType.POLICE_NOTIFICATION, school.token, notifications[0], 403),
            (EventType.CONTACT, wrong, contacts[0], 401),
        ]
        for event_type, token, event, status in posts:
            forbidden.add_event(event, "posted")
            answer = post(url, event_type, token, json.loads(event.model_dump_json()))
            assert answer.status_code == status, answer.text
            if status == 202:
                accepted.add(event.event_id)
        refused = post(url, EventType.CONTACT, school.token, unusable_body)
        assert refused.status_code == 422, refused.text
    return accepted, captured.lines()


def wait_until_routed(
    kafka: KafkaSettings, prefix: str, usable: set[str], dead_letters: int, timeout: float
) -> None:
    """Every usable event has an outcome and every unusable message a MASH review task."""
    deadline = time.monotonic() + timeout
    missing, tasks = usable, 0
    while time.monotonic() < deadline:
        decided = {
            codec.decode(m.value, Outcome).source_event_id
            for m in read_topic(kafka, OUTCOMES.name_under(prefix), idle_seconds=0.5)
        }
        tasks = sum(
            codec.decode(m.value, MashTask).kind is TaskKind.DEAD_LETTER_REVIEW
            for m in read_topic(kafka, MASH_TASKS.name_under(prefix), idle_seconds=0.5)
        )
        missing = usable - decided
        if not missing and tasks >= dead_letters:
            return
        time.sleep(1)
    raise AssertionError(
        f"after {timeout:.0f}s: {len(missing)} of {len(usable)} events without an outcome, "
        f"{tasks} of {dead_letters} dead-letter review tasks"
    )


# ---------------------------------------------------------------------------------------------
# The check.


def leaks(lines: list[LogLine], forbidden: Forbidden) -> list[str]:
    """One line per leaked value: where it was logged and what it was, never the value."""
    text = "\n".join(line.text for line in lines)
    starts = list(itertools.accumulate((len(line.text) + 1 for line in lines), initial=0))
    found: set[tuple[int, str]] = set()
    for value, personal in forbidden.values.items():
        for offset in _occurrences(text, value):
            line = lines[bisect.bisect_right(starts, offset) - 1]
            found.add(
                (
                    line.number,
                    f"{line.log} line {line.number} [{line.level}]: {personal.kind} "
                    f"from {personal.where}",
                )
            )
    return [report for _, report in sorted(found)]


def _occurrences(text: str, value: str) -> Iterator[int]:
    """Where ``value`` stands alone in ``text``: not inside a longer word or number."""
    offset = text.find(value)
    while offset >= 0:
        before = text[offset - 1] if offset else " "
        end = offset + len(value)
        after = text[end] if end < len(text) else " "
        if not (before.isalnum() and value[0].isalnum()) and not (
            after.isalnum() and value[-1].isalnum()
        ):
            yield offset
        offset = text.find(value, offset + 1)


def test_no_personal_detail_or_api_token_reaches_the_logs_at_info_or_above(
    kafka: KafkaSettings, topic_prefix: str, data_dir: Path, tmp_path: Path
) -> None:
    forbidden = Forbidden()
    store_url = f"sqlite:///{tmp_path / 'gateway.db'}"

    with running_worker(kafka, topic_prefix, data_dir):
        usable, dead_letters = publish_generated_run(kafka, topic_prefix, forbidden)
        accepted, gateway_lines = send_through_the_gateway(
            kafka, topic_prefix, store_url, forbidden
        )
        wait_until_routed(kafka, topic_prefix, usable | accepted, dead_letters, timeout=60)
    worker_lines = worker_log_lines(data_dir / "worker.log")

    # The run did what it is meant to exercise, or an empty log would pass trivially.
    worker_text = "\n".join(line.text for line in worker_lines)
    logged_as_accepted = set(re.findall(r"accepted \w+ (\S+) dq_issues=", worker_text))
    assert usable | accepted <= logged_as_accepted, "the worker did not log every event"
    assert re.search(r"dq_issues=[1-9]", worker_text), "no event was accepted with issues"
    assert worker_text.count("dead-lettered as") >= dead_letters
    gateway_text = "\n".join(line.text for line in gateway_lines)
    assert "authentication failed" in gateway_text
    assert gateway_text.count("connectors.gateway accepted ") == len(accepted)
    kinds = forbidden.kinds()
    for kind in ("name", "full name", "date of birth", "NHS number", "address", "free text"):
        assert kinds.get(kind, 0) > 0, f"no {kind} was generated: the check would be empty"

    found = leaks(worker_lines, forbidden) + leaks(gateway_lines, forbidden)
    assert not found, (
        f"{len(found)} personal value(s) logged at INFO or above "
        f"({len(forbidden.values)} values checked):\n" + "\n".join(found[:40])
    )
