"""A force's nightly CSV export: one row per child, rows of a notification become one event, bad
rows are reported by number and withhold their whole notification, and nothing is imported twice.

All data is synthetic (Faker en_GB from a seed, NHS numbers from the reserved test range).
"""

from __future__ import annotations

import csv
import io
import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from faker import Faker

from connectors.generator import synthetic_nhs_number
from connectors.police_csv import (
    COLUMNS,
    ImportReport,
    ProgressBar,
    import_police_csv,
    parse_police_csv,
    police_event_id,
    read_export,
)
from connectors.store import Store, open_store
from schemas.errors import FrontDoorError, PublishError
from schemas.models import (
    AdultRole,
    DashRiskLevel,
    Event,
    IncidentType,
    PoliceNotification,
)
from schemas.quality import data_quality_issues
from schemas.wire import SENDER_HEADER
from streams.platform.app import codec
from streams.platform.reader import read_topic
from streams.platform.settings import KafkaSettings
from streams.platform.topics import POLICE_NOTIFICATIONS
from tests.helpers import INVALID_NHS_NUMBER, VALID_NHS_NUMBER

FORCE = "Synthetic Constabulary"
PARTNER = "police.synthetic"
AT = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def row(**cells: str) -> dict[str, str]:
    """One complete, usable row (notification N1, child Oscar); override any cell."""
    base = {
        "notification_id": "N1",
        "police_reference": "SC-2026-000123",
        "force": FORCE,
        "occurred_at": "2026-11-24T22:15:00+00:00",
        "reported_at": "2026-11-24T22:40:00+00:00",
        "location_line1": "1 Synthetic Road",
        "location_town": "Synthton",
        "location_postcode": "ZZ1 1ZZ",
        "incident_type": "domestic_abuse",
        "dash_risk_level": "medium",
        "dash_score": "9",
        "victim_role": "mother",
        "perpetrator_role": "parent_partner",
        "marac_referral_made": "no",
        "circumstances": "Synthetic circumstances, with a comma.\nAnd a second line.",
        "child_given_name": "Oscar",
        "child_family_name": "Pembleton",
        "child_date_of_birth": "2018-07-02",
        "child_nhs_number": VALID_NHS_NUMBER,
        "child_school_urn": "990001",
        "child_school_name": "Synthetic Primary School",
        "child_present": "yes",
        "child_present_location": "living room",
        "child_spoken_to": "yes",
        "child_voice": "Synthetic words of the child.",
        "child_injuries": "",
        "child_relationship_to_perpetrator": "step_parent",
    }
    return base | cells


def export(*rows: Mapping[str, str], columns: tuple[str, ...] = COLUMNS) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def parse(text: str) -> tuple[list[PoliceNotification], dict[int, str]]:
    result = parse_police_csv(text, force=FORCE, received_at=AT)
    return [event for _, event in result.notifications], {p.row: p.reason for p in result.problems}


# ---------------------------------------------------------------------------------------------
# Parsing.


def test_two_rows_with_one_notification_id_become_one_notification_about_two_children() -> None:
    text = export(
        row(),
        row(
            child_given_name="Isla",
            child_date_of_birth="2023-01-09",
            child_nhs_number="",
            child_present="no",
            child_spoken_to="",
            child_voice="",
        ),
    )

    result = parse_police_csv(text, force=FORCE, received_at=AT)

    assert result.problems == []
    ((rows, event),) = result.notifications
    assert rows == [2, 3]
    assert event.event_id == police_event_id(FORCE, "N1")
    assert event.received_at == AT
    assert event.force == FORCE
    assert event.incident_type is IncidentType.DOMESTIC_ABUSE
    assert event.dash_risk_level is DashRiskLevel.MEDIUM
    assert event.dash_score == 9
    assert event.perpetrator_role is AdultRole.PARENT_PARTNER
    assert event.occurred_at == datetime(2026, 11, 24, 22, 15, tzinfo=UTC)
    assert event.location is not None
    assert event.location.postcode == "ZZ1 1ZZ"
    assert event.circumstances == "Synthetic circumstances, with a comma.\nAnd a second line."
    assert [c.given_name for c in event.children] == ["Oscar", "Isla"]
    assert event.children[1].date_of_birth == date(2023, 1, 9)
    assert event.children[0].relationship_to_perpetrator is AdultRole.STEP_PARENT
    assert (event.children[1].present, event.children[1].spoken_to) == (False, None)


def test_rows_of_a_notification_need_not_be_next_to_each_other() -> None:
    text = export(
        row(), row(notification_id="N2"), row(child_given_name="Isla"), row(notification_id="N3")
    )

    result = parse_police_csv(text, force=FORCE, received_at=AT)

    assert [(rows, len(e.children)) for rows, e in result.notifications] == [
        ([2, 4], 2),
        ([3], 1),
        ([5], 1),
    ]


def test_rows_disagreeing_on_an_incident_column_withhold_the_notification_naming_rows() -> None:
    text = export(
        row(),
        row(notification_id="N2"),
        row(child_given_name="Isla", dash_score="12", occurred_at="2026-11-24T23:15:00+00:00"),
    )

    events, problems = parse(text)

    assert [e.event_id for e in events] == [police_event_id(FORCE, "N2")]
    assert set(problems) == {2, 4}
    assert problems[2] == problems[4]
    assert "rows 2, 4 of notification N1 disagree on occurred_at, dash_score" in problems[2]


def test_the_same_moment_written_with_another_offset_is_agreement() -> None:
    text = export(row(), row(child_given_name="Isla", occurred_at="2026-11-24T23:15:00+01:00"))

    events, problems = parse(text)

    assert problems == {}
    assert len(events[0].children) == 2


@pytest.mark.parametrize(
    ("cells", "column"),
    [
        ({"incident_type": "assault"}, "incident_type"),
        ({"incident_type": ""}, "incident_type"),
        ({"dash_risk_level": "very high"}, "dash_risk_level"),
        ({"victim_role": "aunt"}, "victim_role"),
        ({"child_relationship_to_perpetrator": "uncle"}, "child_relationship_to_perpetrator"),
        ({"child_date_of_birth": "02/07/2018"}, "child_date_of_birth"),
        ({"child_date_of_birth": "2018-02-30"}, "child_date_of_birth"),
        ({"child_date_of_birth": "20180702"}, "child_date_of_birth"),
        ({"occurred_at": "2026-11-23T22:15:00"}, "occurred_at"),
        ({"occurred_at": "2026-11-23"}, "occurred_at"),
        ({"reported_at": "last night"}, "reported_at"),
        ({"reported_at": "0001-01-01T00:00:00+01:00"}, "reported_at"),
        ({"dash_score": "nine"}, "dash_score"),
        ({"dash_score": "9.5"}, "dash_score"),
        ({"marac_referral_made": "maybe"}, "marac_referral_made"),
        ({"child_present": "true"}, "child_present"),
        ({"child_spoken_to": "y"}, "child_spoken_to"),
        ({"child_given_name": "X" * 101}, "child_given_name"),
        ({"child_nhs_number": "9" * 65}, "child_nhs_number"),
        ({"location_town": "T" * 501}, "location_town"),
        ({"force": "Another Constabulary"}, "force"),
        ({"notification_id": ""}, "notification_id"),
    ],
)
def test_a_bad_cell_rejects_its_row_with_the_row_number_and_the_column(
    cells: dict[str, str], column: str
) -> None:
    text = export(row(notification_id="N0"), row(**cells))

    events, problems = parse(text)

    assert [e.event_id for e in events] == [police_event_id(FORCE, "N0")]
    assert list(problems) == [3]
    assert problems[3].startswith(column), problems[3]
    for value in cells.values():
        if len(value) > 3:
            assert value not in problems[3]  # the reason never repeats the cell


def test_every_bad_cell_of_a_row_is_named() -> None:
    _, problems = parse(export(row(child_date_of_birth="soon", dash_score="lots")))

    assert (
        problems[2]
        == "dash_score is not a whole number; child_date_of_birth is not a YYYY-MM-DD date"
    )


def test_one_bad_child_row_withholds_the_whole_notification_and_names_the_bad_row() -> None:
    text = export(
        row(),
        row(child_given_name="Isla", child_date_of_birth="09/01/2023"),
        row(child_given_name="Alfie"),
        row(notification_id="N2"),
    )

    result = parse_police_csv(text, force=FORCE, received_at=AT)
    problems = {p.row: p.reason for p in result.problems}

    assert [e.event_id for _, e in result.notifications] == [police_event_id(FORCE, "N2")]
    assert result.rejected_notifications == ["N1"]
    assert problems[3] == "child_date_of_birth is not a YYYY-MM-DD date"
    assert problems[2] == problems[4]
    assert "notification N1 is not imported because its row 3 was rejected" in problems[2]


def test_a_row_with_a_wrong_number_of_cells_withholds_its_notification() -> None:
    text = export(row(), row(notification_id="N2")) + "N1,SC-1,extra\n"

    events, problems = parse(text)

    assert [e.event_id for e in events] == [police_event_id(FORCE, "N2")]
    assert problems[4] == f"the row has 3 cell(s); the header has {len(COLUMNS)}"
    assert "its row 4 was rejected" in problems[2]


def test_an_nhs_number_with_a_wrong_check_digit_is_not_a_rejection_but_a_quality_issue() -> None:
    events, problems = parse(export(row(child_nhs_number=INVALID_NHS_NUMBER)))

    assert problems == {}
    assert events[0].children[0].nhs_number == INVALID_NHS_NUMBER
    codes = {(issue.field, issue.code) for issue in data_quality_issues(events[0])}
    assert ("children.0.nhs_number", "DQ-NHS-NUMBER") in codes


def test_a_dash_score_out_of_range_is_a_quality_issue_not_a_rejection() -> None:
    events, problems = parse(export(row(dash_score="31")))

    assert problems == {}
    assert "DQ-DASH-SCORE" in {issue.code for issue in data_quality_issues(events[0])}


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("yes", True), ("Yes", True), ("YES", True), ("no", False), ("No", False), ("", None)],
)
def test_yes_no_cells_read_as_true_false_or_not_known(cell: str, expected: bool | None) -> None:
    events, problems = parse(
        export(row(marac_referral_made=cell, child_present=cell, child_spoken_to=cell))
    )

    assert problems == {}
    assert events[0].marac_referral_made is expected
    assert events[0].children[0].present is expected
    assert events[0].children[0].spoken_to is expected


def test_parsing_the_same_file_again_gives_the_same_event_ids() -> None:
    text = export(row(), row(notification_id="N2"), row(notification_id="N3"))

    first = parse_police_csv(text, force=FORCE, received_at=AT)
    later = parse_police_csv(
        text, force="  synthetic  CONSTABULARY ", received_at=AT + timedelta(1)
    )
    other_force = parse_police_csv(
        export(row(force="")), force="Another Constabulary", received_at=AT
    )

    ids = [e.event_id for _, e in first.notifications]
    assert ids == [e.event_id for _, e in later.notifications]
    assert len(set(ids)) == 3
    assert other_force.notifications[0][1].event_id not in ids


def test_a_multi_line_cell_is_one_row_in_the_numbering() -> None:
    text = export(row(circumstances="one\ntwo\nthree"), row(notification_id="N2", dash_score="x"))

    _, problems = parse(text)

    assert list(problems) == [3]


def test_columns_may_be_left_out_but_not_the_required_ones() -> None:
    events, problems = parse(export(row(), columns=("notification_id", "incident_type")))
    assert problems == {}
    assert events[0].children[0].given_name is None

    _, problems = parse(export(row(), columns=("notification_id", "child_given_name")))
    assert problems == {1: "missing column(s): incident_type"}


def test_an_unknown_or_repeated_column_refuses_the_whole_file() -> None:
    events, problems = parse(export(row()).replace("child_date_of_birth", "child_dob", 1))
    assert events == []
    assert problems[1].startswith("unknown column(s): child_dob")

    header = "notification_id,incident_type,incident_type\nN1,domestic_abuse,domestic_abuse\n"
    assert parse(header) == ([], {1: "column(s) named twice: incident_type"})
    assert parse("") == ([], {1: "the file has no header row"})


def test_a_file_that_is_not_valid_csv_is_refused_whole() -> None:
    text = export(row(), row(notification_id="N2", circumstances="x" * 200_000), row())

    events, problems = parse(text)

    assert events == []
    assert list(problems) == [3]
    assert problems[3].startswith("not valid CSV")


def test_a_byte_order_mark_and_blank_lines_are_ignored() -> None:
    events, problems = parse("\ufeff" + export(row()) + "\n\n")
    assert problems == {}
    assert len(events) == 1


# ---------------------------------------------------------------------------------------------
# Importing (a recording publisher and a real SQLite store).


@dataclass
class RecordingPublisher:
    published: list[tuple[str, Event, dict[str, str]]] = field(default_factory=list)
    fail_after: int | None = None

    def publish(
        self,
        topic: str,
        event: Event,
        *,
        key: str | None = None,  # noqa: ARG002 - the signature of Publisher.publish
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, int]:
        if self.fail_after is not None and len(self.published) >= self.fail_after:
            raise PublishError(f"the broker did not acknowledge a write to {topic}")
        self.published.append((topic, event, dict(headers or {})))
        return 0, len(self.published) - 1


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return open_store(f"sqlite:///{tmp_path}/store.db")


def run_import(
    path: Path,
    publisher: RecordingPublisher,
    store: Store,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    return import_police_csv(
        path,
        publisher=publisher,
        store=store,
        partner=PARTNER,
        topic="intake",
        force=FORCE,
        progress=progress,
    )


def test_each_usable_notification_is_published_once_with_the_sender_and_bad_rows_reported(
    tmp_path: Path, store: Store
) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        export(row(), row(child_given_name="Isla"), row(notification_id="N2", dash_score="x"))
    )
    publisher = RecordingPublisher()
    seen: list[tuple[int, int]] = []

    report = run_import(
        path, publisher, store, progress=lambda done, total: seen.append((done, total))
    )

    assert (report.published, report.skipped_already_imported) == (1, 0)
    assert [(p.row, p.reason) for p in report.rejected] == [(4, "dash_score is not a whole number")]
    assert report.rejected_notifications == 1
    ((topic, event, headers),) = publisher.published
    assert (topic, event.event_id, headers) == (
        "intake",
        police_event_id(FORCE, "N1"),
        {SENDER_HEADER: PARTNER},
    )
    assert seen == [(0, 1), (1, 1)]


def test_running_the_same_file_again_publishes_nothing_and_says_it_was_imported_before(
    tmp_path: Path, store: Store
) -> None:
    path = tmp_path / "export.csv"
    path.write_text(export(row(), row(notification_id="N2")))
    run_import(path, RecordingPublisher(), store)
    again = RecordingPublisher()

    report = run_import(path, again, open_store(f"sqlite:///{tmp_path}/store.db"))  # a new process

    assert again.published == []
    assert (report.published, report.skipped_already_imported, report.rejected) == (0, 2, [])


def test_a_notification_is_remembered_only_after_the_broker_acknowledged_it(
    tmp_path: Path, store: Store
) -> None:
    path = tmp_path / "export.csv"
    path.write_text(export(row(), row(notification_id="N2"), row(notification_id="N3")))

    with pytest.raises(PublishError):
        run_import(path, RecordingPublisher(fail_after=1), store)
    resumed = RecordingPublisher()
    report = run_import(path, resumed, store)

    assert [event.event_id for _, event, _ in resumed.published] == [
        police_event_id(FORCE, "N2"),
        police_event_id(FORCE, "N3"),
    ]
    assert (report.published, report.skipped_already_imported) == (2, 1)


def test_a_notification_sent_again_with_different_content_is_reported_not_skipped_silently(
    tmp_path: Path, store: Store
) -> None:
    path = tmp_path / "export.csv"
    path.write_text(export(row()))
    run_import(path, RecordingPublisher(), store)
    path.write_text(export(row(), row(child_given_name="Isla")))  # a child added the next night
    again = RecordingPublisher()

    report = run_import(path, again, store)

    assert again.published == []
    assert report.skipped_already_imported == 0
    assert [p.row for p in report.rejected] == [2, 3]
    assert "differs from the one imported at 2026" in report.rejected[0].reason
    assert report.rejected_notifications == 1


def test_a_file_that_is_not_utf_8_is_an_error_not_an_empty_import(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(export(row(child_given_name="Zoë")).encode("cp1252"))

    with pytest.raises(FrontDoorError, match="UTF-8"):
        read_export(path)


def test_the_progress_bar_redraws_at_most_ten_times_a_second_and_ends_its_line() -> None:
    out = io.StringIO()
    now = [0.0]
    bar = ProgressBar(out, "notifications", width=10, clock=lambda: now[0])

    for done in range(0, 101):
        bar(done, 100)
        now[0] += 0.01  # 100 updates in one second
    bar.finish()

    frames = out.getvalue().split("\r")[1:]
    assert 10 <= len(frames) <= 12
    assert frames[0] == "[..........] 0/100 notifications"
    assert frames[-1] == "[##########] 100/100 notifications\n"


# ---------------------------------------------------------------------------------------------
# The whole command on a real broker: 10,000 rows, 3% bad.


@dataclass
class SyntheticExport:
    text: str
    rows: int
    bad_rows: dict[int, str]  # row number -> the column its reason names
    withheld_rows: set[int]  # every row of a notification with a bad row
    withheld_notifications: int
    good: dict[str, int]  # event id -> number of children


_BAD_CELLS: list[tuple[str, str]] = [
    ("child_date_of_birth", "31/02/2016"),
    ("occurred_at", "2026-11-24T22:15:00"),
    ("incident_type", "domestic"),
    ("child_present", "maybe"),
    ("dash_score", "high"),
    ("child_relationship_to_perpetrator", "uncle"),
    ("reported_at", "yesterday evening"),
]


def synthetic_export(rows: int, bad: int, seed: int = 5) -> SyntheticExport:
    """``rows`` rows of 1-3 children per notification; exactly ``bad`` rows broken in known ways."""
    rng = random.Random(seed)
    fake = Faker("en_GB")
    fake.seed_instance(seed)
    records: list[dict[str, str]] = []
    children_of: dict[str, list[int]] = {}
    number = 0
    while len(records) < rows:
        number += 1
        notification_id = f"SC-{number:06d}"
        occurred = datetime(2026, 11, 24, 18, tzinfo=UTC) - timedelta(minutes=rng.randrange(5000))
        family = fake.last_name()
        incident = {
            "notification_id": notification_id,
            "police_reference": f"SC/{number:06d}/26",
            "force": FORCE,
            "occurred_at": occurred.isoformat(),
            "reported_at": (occurred + timedelta(minutes=rng.randrange(5, 90))).isoformat(),
            "location_line1": fake.street_address().replace("\n", ", "),
            "location_town": fake.city(),
            "location_postcode": fake.postcode(),
            "incident_type": rng.choice(list(IncidentType)).value,
            "dash_risk_level": rng.choice(["", *DashRiskLevel]),
            "dash_score": str(rng.randrange(0, 25)),
            "victim_role": rng.choice(["mother", "father", "carer"]),
            "perpetrator_role": rng.choice(["father", "parent_partner", "step_parent"]),
            "marac_referral_made": rng.choice(["yes", "no", ""]),
            "circumstances": f"Synthetic circumstances {number},\nreported by a neighbour.",
        }
        for _ in range(min(rng.choices([1, 2, 3], [55, 40, 5])[0], rows - len(records))):
            nhs = synthetic_nhs_number(rng)
            if rng.random() < 0.02:  # a data-quality problem, not a rejection
                nhs = nhs[:9] + str((int(nhs[9]) + 1) % 10)
            born = date(2009, 1, 1) + timedelta(days=rng.randrange(6200))
            records.append(
                incident
                | {
                    "child_given_name": fake.first_name(),
                    "child_family_name": family,
                    "child_date_of_birth": born.isoformat(),
                    "child_nhs_number": rng.choice([nhs, nhs, ""]),
                    "child_school_urn": str(rng.randrange(990000, 990100)),
                    "child_present": rng.choice(["yes", "no", ""]),
                    "child_spoken_to": rng.choice(["yes", "no", ""]),
                    "child_relationship_to_perpetrator": rng.choice(["", "father", "step_parent"]),
                }
            )
            children_of.setdefault(notification_id, []).append(len(records) + 1)
    bad_rows: dict[int, str] = {}
    for index, at in enumerate(rng.sample(range(len(records)), bad)):
        column, cell = _BAD_CELLS[index % len(_BAD_CELLS)]
        records[at] = records[at] | {column: cell}
        bad_rows[at + 2] = column
    withheld = {
        nid: numbers for nid, numbers in children_of.items() if set(numbers) & bad_rows.keys()
    }
    good = {
        police_event_id(FORCE, nid): len(numbers)
        for nid, numbers in children_of.items()
        if nid not in withheld
    }
    return SyntheticExport(
        text=export(*records),
        rows=len(records),
        bad_rows=bad_rows,
        withheld_rows={n for numbers in withheld.values() for n in numbers},
        withheld_notifications=len(withheld),
        good=good,
    )


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str  # as written: the progress bar's carriage returns are kept
    seconds: float


def frontdoor_import(file: Path, env: Mapping[str, str]) -> Ran:
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "connectors.cli",
            "import-police",
            str(file),
            "--partner",
            PARTNER,
            "--force",
            FORCE,
        ],
        env={**os.environ, **env},
        capture_output=True,
        timeout=180,
        check=False,
    )
    return Ran(
        result.returncode,
        result.stdout.decode("utf-8"),
        result.stderr.decode("utf-8"),
        time.monotonic() - started,
    )


@pytest.mark.integration
def test_a_ten_thousand_row_export_publishes_exactly_the_good_notifications_once(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    data = synthetic_export(rows=10_000, bad=300)
    assert data.rows == 10_000
    assert len(data.bad_rows) == 300  # exactly 3% of the rows
    file = tmp_path / "police-export.csv"
    file.write_text(data.text, encoding="utf-8")
    prefix = f"test-police-{uuid.uuid4().hex[:8]}."
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "FRONTDOOR_TOPIC_PREFIX": prefix,
        "FRONTDOOR_GATEWAY_STORE_URL": f"sqlite:///{tmp_path}/store.db",
    }
    topic = POLICE_NOTIFICATIONS.name_under(prefix)

    first = frontdoor_import(file, env)

    assert first.returncode == 1, first.stderr[-3000:]
    total = len(data.good)
    assert f"\r[{'#' * 30}] {total}/{total} notifications\n" in first.stderr
    assert first.stderr.count("\r") <= first.seconds * 10 + 2  # at most ten redraws a second
    reported = {
        int(line.split(":")[0].removeprefix("row ")): line
        for line in first.stdout.splitlines()
        if line.startswith("row ")
    }
    assert set(reported) == data.withheld_rows
    for number, column in data.bad_rows.items():
        assert reported[number].startswith(f"row {number}: rejected: {column}"), reported[number]
    assert first.stdout.splitlines()[-1] == (
        f"{total} notification(s) published, 0 already imported, "
        f"{len(data.withheld_rows)} row(s) rejected "
        f"({data.withheld_notifications} notification(s) not published)"
    )

    messages = list(read_topic(kafka, topic))
    events = [codec.decode(m.value, PoliceNotification) for m in messages]
    assert len(events) == total
    assert {e.event_id: len(e.children) for e in events} == data.good
    assert {m.headers[SENDER_HEADER] for m in messages} == {PARTNER.encode()}

    again = frontdoor_import(file, env)

    assert again.returncode == 1, again.stderr[-3000:]
    assert f"0 notification(s) published, {total} already imported" in again.stdout
    assert len(list(read_topic(kafka, topic))) == total
