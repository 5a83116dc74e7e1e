"""Fuzzed police CSV exports: whatever a force's system writes, the import never crashes, says
clearly what it refused, and every notification it reports as published reaches an outcome.

Hypothesis writes exports as a force's system might: in UTF-8 with or without a byte-order mark,
or in another encoding; with columns left out, added, repeated or in any order; with blank lines,
quoted newlines, commas and quotes in cells, cells as long as the contract allows and longer than
CSV reads, rows with too few or too many cells, duplicated rows, dates that are malformed, in the
wrong format or at the calendar's edges, and numbers out of any range. Most cells are usable
values (names from Faker en_GB, NHS numbers from the reserved test range), so most notifications
are usable too.

The first stories are pure and quick (an in-memory publisher): each file is imported or refused
with a clear error; each row is published or rejected, never both and never neither; a reason
never repeats what a cell said; what is published is what the intake accepts; running the file
again publishes nothing. The last story imports fuzzed files into a real broker, with a real
worker behind it, and proves with the reconciliation's ledger and an account of the topics that
every notification the importer published reached an outcome for each of its children.
"""

from __future__ import annotations

import csv
import io
import os
import random
import re
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
from faker import Faker
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from connectors.generator import synthetic_nhs_number
from connectors.police_csv import COLUMNS, ImportReport, import_police_csv, parse_police_csv
from connectors.police_csv.parse import INCIDENT_COLUMNS, REQUIRED_COLUMNS
from connectors.store import Store, open_store
from schemas.errors import FrontDoorError
from schemas.models import (
    AdultRole,
    DashRiskLevel,
    Event,
    EventType,
    IncidentType,
    PoliceNotification,
)
from schemas.wire import MAX_MESSAGE_BYTES, SENDER_HEADER, InboundMessage
from streams.decisions.intake import triage
from streams.platform.app import codec
from streams.platform.publisher import Publisher
from streams.platform.settings import KafkaSettings
from streams.platform.topics import POLICE_NOTIFICATIONS
from tests.agents.test_intake_fuzz import Account
from tests.helpers import running_worker, waiting_once_settled

FORCE = "Synthetic Constabulary"
PARTNER = "police.synthetic"
AT = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)

_FAKE = Faker("en_GB")
_FAKE.seed_instance(4242)
GIVEN_NAMES = [_FAKE.first_name() for _ in range(40)]
FAMILY_NAMES = [_FAKE.last_name() for _ in range(40)]
SENTENCES = [_FAKE.sentence(nb_words=8) for _ in range(40)]
#: What a row says about a person: no rejection reason may repeat any of it.
_PERSONAL = re.compile(
    "|".join(rf"\b{re.escape(value)}\b" for value in {*GIVEN_NAMES, *FAMILY_NAMES, *SENTENCES})
)
STREETS = [_FAKE.street_address().replace("\n", ", ") for _ in range(20)]
_RNG = random.Random(4242)
NHS_NUMBERS = [synthetic_nhs_number(_RNG) for _ in range(20)]


# ---------------------------------------------------------------------------------------------
# Cells, rows and files as a force's system writes them.

_MOMENTS = [
    "2026-11-24T22:15:00+00:00",
    "2026-11-24T22:15:00Z",
    "2026-03-29T01:30:00+01:00",  # the hour the clocks go forward
    "2026-11-24T22:15:00.123456-05:00",
    "1901-01-01T12:00:00+00:00",
    "2998-12-31T00:00:00+00:00",  # due in a year no record can carry: a person is told
    "2998-12-31T23:00:00-05:00",  # 2999 in UTC: rejected here, or the intake would refuse it
    "1901-01-01T00:30:00+14:00",  # 1900 in UTC
]
_TEXTS = [
    "with a comma, and more",
    'with "quotes" inside',
    "over\ntwo lines",
    "over\r\ntwo lines, Windows",
    "a tab\there",
    "a byte-order mark \ufeff inside",
    "emoji \U0001f600 and accents: Zoë, Siân, Łukasz",
    "x" * 20_000,  # as long as the contract allows
]
GOOD: dict[str, st.SearchStrategy[str]] = {
    "police_reference": st.just("") | st.builds(lambda n: f"SC/{n:06d}/26", st.integers(0, 10**6)),
    "force": st.sampled_from(["", FORCE, FORCE.upper(), "  synthetic   constabulary "]),
    "occurred_at": st.sampled_from(["", *_MOMENTS]),
    "reported_at": st.sampled_from(["", *_MOMENTS]),
    "location_line1": st.sampled_from(["", *STREETS]),
    "location_town": st.sampled_from(["", "Synthton", "Llanfair-ym-Muallt"]),
    "location_postcode": st.sampled_from(["", "ZZ1 1ZZ", "zz99 9zz", "not a postcode"]),
    "incident_type": st.sampled_from(list(IncidentType)).map(str),
    "dash_risk_level": st.sampled_from(["", *map(str, DashRiskLevel)]),
    "dash_score": st.sampled_from(["", "0", "9", "24", "25", "-1", "999999999"]),
    "victim_role": st.sampled_from(["", *map(str, AdultRole)]),
    "perpetrator_role": st.sampled_from(["", *map(str, AdultRole)]),
    "marac_referral_made": st.sampled_from(["", "yes", "no", "YES", "No"]),
    "circumstances": st.sampled_from(["", *SENTENCES, *_TEXTS]),
    "child_given_name": st.sampled_from(["", *GIVEN_NAMES]),
    "child_family_name": st.sampled_from(["", *FAMILY_NAMES]),
    "child_date_of_birth": st.sampled_from(
        ["", "2016-03-14", "2024-02-29", "2030-01-01", "0001-01-01", "9999-12-31"]
    ),
    "child_nhs_number": st.sampled_from(["", *NHS_NUMBERS, "9434765918", "12345"]),
    "child_school_urn": st.sampled_from(["", "990001", "990002", "123456", "abc"]),
    "child_school_name": st.sampled_from(["", "Synthetic Primary School"]),
    "child_present": st.sampled_from(["", "yes", "no"]),
    "child_present_location": st.sampled_from(["", "living room", "upstairs, asleep"]),
    "child_spoken_to": st.sampled_from(["", "yes", "no"]),
    "child_voice": st.sampled_from(["", *SENTENCES, *_TEXTS]),
    "child_injuries": st.sampled_from(["", "none seen", "a bruise, left arm"]),
    "child_relationship_to_perpetrator": st.sampled_from(["", *map(str, AdultRole)]),
}
_BAD_MOMENTS = [
    "2026-11-24T22:15:00",  # no offset
    "24/11/2026 22:15",
    "yesterday evening",
    "2026-02-30T10:00:00+00:00",
    "2999-06-01T00:00:00+00:00",
    "2998-12-31T23:00:00-05:00",  # 2999 in UTC
    "1900-01-01T00:00:00+00:00",
    "0001-01-01T00:00:00+00:00",
    "9999-12-31T23:59:59-12:00",
]
BAD: dict[str, list[str]] = {
    "force": ["Another Constabulary"],
    "occurred_at": _BAD_MOMENTS,
    "reported_at": _BAD_MOMENTS,
    "incident_type": ["", "domestic", "Domestic Abuse", "witchcraft"],
    "dash_risk_level": ["very high"],
    "dash_score": [
        "high",
        "9.5",
        "1e5",
        "+5",
        "\u0663",  # an Arabic-Indic three
        "99999999999999999999",
        "-9223372036854775809",
        "18446744073709551616",
    ],
    "marac_referral_made": ["maybe", "Y", "true"],
    "child_date_of_birth": ["31/02/2016", "2016-02-30", "20161124", "2026-W48-2", "0000-01-01"],
    "child_present": ["1", "sometimes"],
    "child_relationship_to_perpetrator": ["uncle"],
    "child_given_name": ["N" * 101],  # longer than a name may be
    "police_reference": ["R" * 65],
    "circumstances": ["x" * 20_001],
    "child_voice": ["x" * 20_001],
}
#: Longer than Python's csv reads: the whole file is refused as not valid CSV.
BEYOND_CSV = "y" * 140_000


@dataclass(frozen=True)
class Export:
    """A file as a force's system wrote it; ``text`` is what a UTF-8 reader finds (or None)."""

    data: bytes
    text: str | None
    description: str


@st.composite
def notification(draw: st.DrawFn, notification_id: str) -> list[dict[str, str]]:
    """The rows of one notification, a row a child: the incident's cells repeat on each (now and
    then one row disagrees), and now and then a row has a cell or two spoilt."""
    incident = {column: draw(GOOD[column]) for column in INCIDENT_COLUMNS}
    rows = []
    for _ in range(draw(st.integers(1, 3))):
        cells = incident | {
            column: draw(strategy)
            for column, strategy in GOOD.items()
            if column not in INCIDENT_COLUMNS
        }
        if draw(st.integers(0, 19)) == 0:
            disagreeing = draw(st.sampled_from(INCIDENT_COLUMNS))
            cells[disagreeing] = draw(GOOD[disagreeing])
        if draw(st.integers(0, 4)) == 0:
            for column in draw(st.lists(st.sampled_from(list(BAD)), min_size=1, max_size=2)):
                cells[column] = draw(st.sampled_from(BAD[column]))
        rows.append(cells | {"notification_id": notification_id})
    return rows


@st.composite
def exports(draw: st.DrawFn, *, fresh_ids: bool = False) -> Export:
    """A whole file: header, rows, blank lines and ragged rows, in some encoding. With
    ``fresh_ids`` its notification ids are new (tonight's file), else they repeat."""
    id_prefix = f"F{uuid.uuid4().hex[:8]}" if fresh_ids else "SC"
    optional = [c for c in COLUMNS if c not in REQUIRED_COLUMNS]
    columns = [*REQUIRED_COLUMNS, *draw(st.lists(st.sampled_from(optional), unique=True))]
    if draw(st.integers(0, 19)) == 0:
        columns.remove(draw(st.sampled_from(REQUIRED_COLUMNS)))
    if draw(st.integers(0, 19)) == 0:
        columns.append(draw(st.sampled_from(["child_middle_name", "Notification ID", columns[0]])))
    columns = draw(st.permutations(columns))
    ids = [f"{id_prefix}-{n:04d}" for n in range(draw(st.integers(0, 5)))]
    records = [row for i in ids for row in draw(notification(i))]
    if draw(st.integers(0, 9)) == 0:
        records += draw(notification(""))  # rows without their notification_id
    if records:
        records += draw(st.lists(st.sampled_from(records), max_size=2))  # duplicated rows
    records = draw(st.permutations(records))  # a notification's rows need not be together
    lines: list[list[str]] = [list(columns)]
    for record in records:
        line = [record.get(column, "") for column in columns]
        shape = draw(st.integers(0, 59))
        if shape == 0:
            line = line[:-1]  # a cell too few
        elif shape == 1:
            line = [*line, "surplus"]  # a cell too many
        elif shape == 2:
            line[-1] = BEYOND_CSV
        lines.append(line)
        if draw(st.integers(0, 9)) == 0:
            lines.append([])  # a blank line
    out = io.StringIO()
    writer = csv.writer(
        out,
        lineterminator=draw(st.sampled_from(["\n", "\r\n"])),
        quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])),
    )
    writer.writerows(lines)
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "utf-16", "cp1252"]))
    data = out.getvalue().encode(encoding, errors="replace")
    if draw(st.integers(0, 29)) == 0:
        data = draw(st.binary(max_size=200))
        encoding = "bytes"
    try:
        text: str | None = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = None
    return Export(data, text, f"{encoding}, {len(records)} rows, columns {columns}")


# ---------------------------------------------------------------------------------------------
# The pure stories: an in-memory publisher.


@dataclass
class RecordingPublisher:
    """Stands in for the broker, or wraps the real publisher, and remembers what was published."""

    real: Publisher | None = None
    published: list[PoliceNotification] = field(default_factory=list)

    def publish(
        self,
        topic: str,
        event: Event,
        *,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, int]:
        assert isinstance(event, PoliceNotification)
        at = (0, len(self.published))
        if self.real is not None:
            at = self.real.publish(topic, event, key=key, headers=headers)
        self.published.append(event)
        return at


def import_file(
    path: Path, publisher: RecordingPublisher, store: Store, *, topic: str = "intake"
) -> ImportReport:
    return import_police_csv(
        path,
        publisher=publisher,
        store=store,
        partner=PARTNER,
        topic=topic,
        force=FORCE,
        received_at=AT,
    )


def accepted_by_the_intake(notification: PoliceNotification) -> bool:
    value = codec.encode(notification)
    message = InboundMessage("intake", 0, 0, None, value, {SENDER_HEADER: PARTNER.encode()})
    outcome = triage(
        message,
        event_type=EventType.POLICE_NOTIFICATION,
        decode=partial(codec.decode, model=PoliceNotification),
        now=AT,
    )
    return outcome.accepted is not None and len(value) <= MAX_MESSAGE_BYTES


def data_rows(text: str) -> set[int]:
    """The numbers of the rows with anything in them, as a spreadsheet numbers them."""
    try:
        records = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    except csv.Error:
        return set()
    return {
        number for number, cells in enumerate(records[1:], start=2) if any(map(str.strip, cells))
    }


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(export=exports())
def test_any_export_is_imported_or_refused_clearly_and_each_row_is_accounted_for(
    export: Export,
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "export.csv"
        path.write_bytes(export.data)
        store = open_store(f"sqlite:///{directory}/store.db")
        publisher = RecordingPublisher()
        try:
            if export.text is None:
                with pytest.raises(FrontDoorError, match="as UTF-8 text"):
                    import_file(path, publisher, store)
                return
            report = import_file(path, publisher, store)
            again = import_file(path, RecordingPublisher(), store)
        finally:
            store.close()

    parsed = parse_police_csv(export.text, force=FORCE, received_at=AT)
    published_rows = [row for rows, _ in parsed.notifications for row in rows]
    rejected_rows = [problem.row for problem in parsed.problems]
    refused_whole = any(
        problem.reason.endswith("nothing in the file is imported") or problem.row == 1
        for problem in parsed.problems
    )
    # Each row is published or rejected, never both, never twice, never neither.
    assert len(published_rows) == len(set(published_rows))
    assert not set(published_rows) & set(rejected_rows)
    if refused_whole:
        assert publisher.published == []
    else:
        assert set(published_rows) | set(rejected_rows) == data_rows(export.text)
    # The report says the same, and what was published is what the intake takes in.
    assert report.published == len(publisher.published) == len(parsed.notifications)
    assert [p.row for p in report.rejected] == sorted(rejected_rows)
    assert all(accepted_by_the_intake(event) for event in publisher.published)
    # A reason names columns and rows, never what a cell said about a person.
    assert not [p.reason for p in report.rejected if _PERSONAL.search(p.reason)]
    # Running the same file again publishes nothing twice.
    assert (again.published, again.skipped_already_imported) == (0, report.published)


def a_notification_too_large_to_send(notification_id: str) -> list[dict[str, str]]:
    """Twenty children, each with as many words as the contract allows: about 1.6 MB."""
    words = "\U0001f600" * 20_000
    return [
        {
            "notification_id": notification_id,
            "incident_type": "domestic_abuse",
            "child_given_name": GIVEN_NAMES[n],
            "child_voice": words,
        }
        for n in range(20)
    ]


def csv_text(records: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue()


def test_a_notification_too_large_to_send_is_rejected_by_its_rows_and_the_rest_imported(
    tmp_path: Path,
) -> None:
    # Found by this fuzz: such a notification was handed to the broker, which refused it; the
    # import stopped there with "the broker did not acknowledge a write", and every run after
    # stopped at the same place, so the notifications behind it were never imported.
    path = tmp_path / "export.csv"
    usable = {"notification_id": "SC-2", "incident_type": "domestic_abuse"}
    path.write_text(csv_text([*a_notification_too_large_to_send("SC-1"), usable]))
    publisher = RecordingPublisher()

    report = import_file(path, publisher, open_store(f"sqlite:///{tmp_path}/store.db"))

    assert report.published == 1
    assert [e.event_id for e in publisher.published] == [
        e.event_id
        for _, e in parse_police_csv(csv_text([usable]), force=FORCE, received_at=AT).notifications
    ]
    assert [p.row for p in report.rejected] == list(range(2, 22))
    assert "notification SC-1 is too large to send" in report.rejected[0].reason


# ---------------------------------------------------------------------------------------------
# The whole way: fuzzed files imported into a real broker, a real worker behind it.

FUZZED_FILES = 100


def frontdoor_import(path: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "connectors.cli", "import-police", str(path)]
    return subprocess.run(
        [*command, "--partner", PARTNER, "--force", FORCE],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.integration
def test_every_notification_the_importer_published_reaches_an_outcome(
    kafka: KafkaSettings, topic_prefix: str, tmp_path: Path
) -> None:
    store_url = f"sqlite:///{tmp_path}/store.db"
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "FRONTDOOR_TOPIC_PREFIX": topic_prefix,
        "FRONTDOOR_GATEWAY_STORE_URL": store_url,
    }

    with running_worker(kafka, topic_prefix, tmp_path):
        the_command_reports_awkward_files_clearly(tmp_path, env)
        store = open_store(store_url)
        try:
            imported = import_fuzzed_files(kafka, store, tmp_path, topic_prefix)
        finally:
            store.close()
        waiting = waiting_once_settled(kafka, topic_prefix, within=90)
        account = Account.read(kafka, topic_prefix)

    # Enough traffic to mean something. The fuzzed files differ from run to run (clean-clone
    # runs have imported 193 to 365 rows and published 55 to 80 notifications), so these floors
    # only catch a generator that stopped producing; the assertions below are the test.
    assert imported.rows >= 120
    assert len(imported.published) >= 30
    assert waiting == [], waiting
    sent = {(PARTNER, event.event_id) for event in imported.published}
    by_command = {key for key in account.accepted if key[1] not in {k[1] for k in sent}}
    assert len(by_command) == 1
    # The intake accepted everything the importer published: nothing went to a dead letter there.
    assert account.intake_letters == {}
    assert sent <= set(account.accepted)
    assert children_without_exactly_one_outcome(account, [*sent, *by_command]) == []
    assert set(account.letters) <= account.tasks_about


@dataclass
class Imported:
    """What the fuzzed imports did: the notifications published, the rows read, files refused."""

    published: list[PoliceNotification]
    rows: int = 0
    refused: int = 0


def import_fuzzed_files(
    kafka: KafkaSettings, store: Store, directory: Path, prefix: str
) -> Imported:
    """Tonight's fuzzed files, each imported with the real publisher into ``prefix``'s topic."""
    with Publisher(kafka, codec) as real:
        publisher = RecordingPublisher(real)
        imported = Imported(publisher.published)

        @given(export=exports(fresh_ids=True))
        @settings(
            max_examples=FUZZED_FILES,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def import_one(export: Export) -> None:
            path = directory / f"{uuid.uuid4().hex}.csv"
            path.write_bytes(export.data)
            try:
                import_file(path, publisher, store, topic=POLICE_NOTIFICATIONS.name_under(prefix))
            except FrontDoorError:
                assert export.text is None, export.description
                imported.refused += 1
            else:
                imported.rows += len(data_rows(export.text or ""))

        import_one()
    return imported


def the_command_reports_awkward_files_clearly(directory: Path, env: Mapping[str, str]) -> None:
    """``frontdoor import-police`` on a file with a notification too large to send in one
    piece (the rest is imported) and on a file not in UTF-8 (refused): exit codes and messages,
    never a traceback."""
    too_large = directory / "too-large.csv"
    usable = {"notification_id": "CLI-2", "incident_type": "missing_child"}
    too_large.write_text(csv_text([*a_notification_too_large_to_send("CLI-1"), usable]))
    utf16 = directory / "utf-16.csv"
    utf16.write_bytes(csv_text([usable]).encode("utf-16"))

    by_command = frontdoor_import(too_large, env)
    unreadable = frontdoor_import(utf16, env)

    assert by_command.returncode == 1, by_command.stderr[-2000:]
    assert "notification CLI-1 is too large to send" in by_command.stdout
    assert "1 notification(s) published" in by_command.stdout
    assert unreadable.returncode == 2
    assert unreadable.stderr.startswith("frontdoor: error: [FD-ERROR] cannot read"), (
        unreadable.stderr
    )
    assert "Traceback" not in by_command.stderr + unreadable.stderr


def children_without_exactly_one_outcome(
    account: Account, events: list[tuple[str, str]]
) -> list[str]:
    """Each child of each event that was not identified, or has no outcome or more than one."""
    found = []
    for key in events:
        children = account.child_events.get(key, {})
        expected = len(account.accepted[key].payload.children)
        if sorted(children) != list(range(expected)):
            found.append(f"{key}: {sorted(children)} of {expected} children identified")
        for child_event_id in children.values():
            ends = len(account.outcomes.get(child_event_id, {}))
            ends += child_event_id in account.routing_letters
            if ends != 1:
                found.append(f"{key}: {child_event_id} has {ends} outcomes")
    return found
