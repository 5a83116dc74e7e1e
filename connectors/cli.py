"""The ``frontdoor`` command line.

    frontdoor up                       broker + topics + workers, Ctrl-C stops everything
    frontdoor broker [--address A]     run the embedded Tansu broker in the foreground
    frontdoor topics                   create/verify every topic, print the topology
    frontdoor worker                   run one Faust worker
    frontdoor gateway                  serve the partners' HTTP gateway (FRONTDOOR_GATEWAY_*)
    frontdoor delivery                 deliver outbound messages by e-mail and signed webhooks
                                       (FRONTDOOR_DELIVERY_*, the channel file)
    frontdoor webhook-secret           a new signing secret for a partner's webhook
    frontdoor receivers                a local mail catcher and the demo partner's webhook
                                       receiver: the e-mails and webhooks of `make run`
    frontdoor staff [--demo-users]     the staff application and its store (FRONTDOOR_STAFF_*)
    frontdoor users create|list|disable   staff accounts (argon2 password hashes)
    frontdoor config                   print the settings in force, secrets masked
    frontdoor schemas list|export      released schema ids; write new versions after a model change
    frontdoor publish TYPE FILE        validate a JSON event and publish it (acks=all)
    frontdoor decide FILE              record a threshold decision (a case-management system's)
    frontdoor meeting-record FILE      record the daily domestic-abuse meeting's records
    frontdoor action-done FILE         record a meeting action done
    frontdoor dead-letters list        dead letters with counts by code and sender
    frontdoor dead-letters resubmit ID FILE   publish a corrected message in a dead letter's place
    frontdoor generate [--count N] [--rate R]  publish synthetic partner events (Faker en_GB)
    frontdoor history-import FILE      children's history from a case-management CSV export
    frontdoor tail QUEUE [--follow] [--details]  a queue's work items (or the school and health
                                                 notifications), readable
    frontdoor chronology CHILD_KEY [--details]   everything that happened to one child, in order
    frontdoor keys create|list|revoke|rotate   partner API keys for the gateway (hashed)
    frontdoor import-police FILE --partner ID --force NAME   a police force's CSV export
    frontdoor health                   the worker's last health check; exit 1 if unhealthy or stale
    frontdoor reconcile [--dry-run]    what waits for an outcome, per stage; re-drive what is
                                       stuck, raise MASH tasks for what is overdue

Heavy modules (Faust, the app) are imported inside the commands that need them, so a bad setting
gives a one-line error with its code instead of a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from schemas.errors import ConfigurationError, EventValidationError, FrontDoorError
from schemas.models import (
    PARTNER_EVENT_MODELS,
    DeadLetter,
    Event,
    EventType,
    IncidentNotification,
    Queue,
    WorkItem,
)
from schemas.wire import RESUBMISSION_HEADER, SENDER_HEADER
from streams.platform import topics
from streams.platform.publisher import Publisher
from streams.platform.settings import (
    DeliverySettings,
    GatewaySettings,
    KafkaSettings,
    MetricsSettings,
    SchemaRegistrySettings,
    StaffSettings,
    WorkerSettings,
    load,
    masked,
)

log = logging.getLogger("frontdoor")
_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
#: How often the worker's interpreter lets another thread run (Python's default is 5 ms): see
#: cmd_worker.
WORKER_SWITCH_INTERVAL_SECONDS = 0.001

#: The demo channel file's webhook partner: where `frontdoor receivers` listens, and the variable
#: holding the secret it and the delivery service share (`frontdoor up` makes one per run).
DEMO_WEBHOOK_PORT = 8026
DEMO_WEBHOOK_SECRET = "FRONTDOOR_DEMO_WEBHOOK_SECRET"  # noqa: S105 - a variable's name
#: A history import's default pace: below what one worker identifies and records a second, so live
#: contacts keep their usual latency while it runs (docs/benchmarks.md, eighth session).
HISTORY_IMPORT_ROWS_PER_SECOND = 500.0


def _out(text: str) -> None:
    print(text, flush=True)  # noqa: T201 - a command-line program's output


def cmd_config(_: argparse.Namespace) -> int:
    settings = {
        "kafka": masked(load(KafkaSettings)),
        "worker": masked(load(WorkerSettings)),
        "schema_registry": masked(load(SchemaRegistrySettings)),
        "delivery": masked(load(DeliverySettings)),
        "metrics": masked(load(MetricsSettings)),
    }
    _out(json.dumps(settings, indent=2, default=str))
    return 0


def cmd_broker(args: argparse.Namespace) -> int:
    from streams.platform.broker import EmbeddedBroker  # noqa: PLC0415

    address = args.address or load(KafkaSettings).servers[0]
    broker = EmbeddedBroker(address).start()
    _out(f"embedded broker ready at {address} (pid {broker.pid}); Ctrl-C stops it")
    try:
        while True:
            signal_wait()
    except KeyboardInterrupt:
        return 0
    finally:
        broker.stop()


def signal_wait() -> None:
    """Sleep until a signal arrives (SIGTERM is turned into KeyboardInterrupt)."""
    import signal  # noqa: PLC0415

    def _interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)
    signal.pause()


def cmd_topics(_: argparse.Namespace) -> int:
    from streams.platform.admin import ensure_topics, format_reports  # noqa: PLC0415

    worker = load(WorkerSettings)
    reports = ensure_topics(
        load(KafkaSettings), topics.TOPICS, replication_factor=worker.replication_factor
    )
    _out(format_reports(reports))
    return 0


def cmd_worker(_: argparse.Namespace) -> int:
    from faust.worker import Worker  # noqa: PLC0415

    import agents  # noqa: F401, PLC0415 - registers the agents on the app
    from streams.platform import metrics  # noqa: PLC0415
    from streams.platform.admin import ensure_topics  # noqa: PLC0415
    from streams.platform.app import app, kafka_settings, worker_settings  # noqa: PLC0415

    # Idempotent; guarantees the partition counts before Faust would auto-create anything.
    ensure_topics(
        kafka_settings, topics.TOPICS, replication_factor=worker_settings.replication_factor
    )
    worker_settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Before Faust starts: Faust runs its tasks only once the tables have recovered, and an
    # operator wants the metrics (the lag above all) during a long recovery too.
    served = load(MetricsSettings)
    metrics.serve(metrics.WORKER, host=served.host, port=served.worker_port, what="worker")
    worker = Worker(app, loglevel=worker_settings.log_level)
    # Faust's terminal spinner, at a log level of warning or above, lowers the root logger to DEBUG
    # so that every debug record (several an event, from aiokafka and Faust) is built for it:
    # about a tenth of the worker's time, measured. A service has no terminal to spin on.
    worker.spinner = None
    # Faust reads the broker on a thread of its own, which needs the interpreter for a moment
    # several times a fetch while the agents hold it. With the default switch interval (5 ms) it
    # waited up to that long each time, at every hop: at 200 contacts a second a 1 ms interval
    # lowered publish-to-work-item p50 and p99 in each of four paired runs (docs/benchmarks.md),
    # for about 5% of burst throughput.
    sys.setswitchinterval(WORKER_SWITCH_INTERVAL_SECONDS)
    worker.execute_from_commandline()  # exits the process when the worker stops
    return 0


def cmd_gateway(_: argparse.Namespace) -> int:
    """Serve the partners' HTTP gateway (OpenAPI documentation at /docs)."""
    import uvicorn  # noqa: PLC0415

    from connectors.gateway import create_app  # noqa: PLC0415

    settings = load(GatewaySettings)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")
    return 0


def cmd_delivery(_: argparse.Namespace) -> int:
    """Deliver every outbound message (e-mail, signed webhooks, the gateway) until stopped."""
    import asyncio  # noqa: PLC0415

    from connectors.delivery.service import configured_service, serve  # noqa: PLC0415

    asyncio.run(serve(configured_service()))
    return 0


def cmd_webhook_secret(_: argparse.Namespace) -> int:
    """Print a new webhook signing secret: give the partner its copy once, keep it in the
    deployment's secrets under the variable the channel file names."""
    from connectors.delivery.signing import new_secret  # noqa: PLC0415

    _out(new_secret())
    return 0


def cmd_receivers(_: argparse.Namespace) -> int:
    """A laptop's stand-ins for the world: a mail catcher and the demo partner's webhook receiver,
    printing one line per message (never a body); mails are kept in FRONTDOOR_DATA_DIR/outbox."""
    import asyncio  # noqa: PLC0415
    import contextlib  # noqa: PLC0415
    import os  # noqa: PLC0415

    from connectors.delivery.local import run_local_receivers  # noqa: PLC0415

    secret = os.environ.get(DEMO_WEBHOOK_SECRET)
    if not secret:
        raise ConfigurationError(f"{DEMO_WEBHOOK_SECRET} is not set (`frontdoor up` sets one)")
    delivery = load(DeliverySettings)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            run_local_receivers(
                smtp_port=delivery.smtp_port,
                webhook_port=DEMO_WEBHOOK_PORT,
                webhook_secret=secret,
                directory=load(WorkerSettings).data_dir / "outbox",
                out=_out,
            )
        )
    return 0


def cmd_staff(args: argparse.Namespace) -> int:
    """Serve the staff application, with the feeder that fills its store from the topics."""
    from connectors.staff.service import serve  # noqa: PLC0415

    return serve(demo=args.demo_users, say=_out)


def cmd_users(args: argparse.Namespace) -> int:
    """Staff accounts. A password is read from the terminal (twice) or stdin, never an argument."""
    import getpass  # noqa: PLC0415

    from connectors.staff.security import hash_password  # noqa: PLC0415
    from connectors.staff.service import open_store  # noqa: PLC0415
    from schemas.models import StaffRole  # noqa: PLC0415

    store = open_store(load(StaffSettings), load(WorkerSettings))
    now = datetime.now(UTC)
    if args.action == "list":
        _out("username  role  name  created  status")
        for user in store.list_users():
            status = f"disabled {user.disabled_at:%Y-%m-%d %H:%M}" if user.disabled_at else "active"
            _out(
                f"{user.username}  {user.role.value}  {user.display_name}  "
                f"{user.created_at:%Y-%m-%d %H:%M}  {status}"
            )
        return 0
    if args.action == "disable":
        if not store.disable_user(args.username, now):
            raise FrontDoorError(f"no active user {args.username!r}")
        _out(f"disabled {args.username}: they cannot sign in from now on")
        return 0
    try:
        role = StaffRole(args.role)
    except ValueError as exc:
        roles = ", ".join(role.value for role in StaffRole)
        raise FrontDoorError(f"unknown role {args.role!r}; one of: {roles}") from exc
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise FrontDoorError("the two passwords differ; nothing was created")
    try:
        hashed = hash_password(password)
    except ValueError as exc:
        raise FrontDoorError(str(exc)) from exc
    if not store.create_user(args.username, args.name, role, hashed, now):
        raise FrontDoorError(f"user {args.username!r} exists already")
    _out(f"created {args.username.strip().lower()} ({role.value})")
    return 0


def cmd_up(_: argparse.Namespace) -> int:
    import os  # noqa: PLC0415

    from connectors.delivery.signing import new_secret  # noqa: PLC0415
    from streams.platform.supervisor import Supervisor  # noqa: PLC0415

    kafka = load(KafkaSettings)
    if kafka.embedded:
        # A laptop: the local receivers stand in for the world, and the demo partner's webhook
        # secret, shared by them and the delivery service, lives as long as this run.
        os.environ.setdefault(DEMO_WEBHOOK_SECRET, new_secret())
    return Supervisor(kafka, load(WorkerSettings), load(MetricsSettings)).run()


def cmd_demo(args: argparse.Namespace) -> int:
    """A realistic day through the whole local stack, its figures on the terminal
    (:mod:`connectors.demo`); with ``--exit``, stop once it has settled."""
    import os  # noqa: PLC0415

    logs = load(WorkerSettings).data_dir / "logs"
    # First, so that even the imports' log records go to the file: the terminal is the summary's.
    _log_to_file(logs / "demo.log")

    from connectors.delivery.signing import new_secret  # noqa: PLC0415
    from connectors.demo import DemoRequest, run  # noqa: PLC0415

    if load(KafkaSettings).embedded:
        # A laptop: as for `frontdoor up`, the local receivers and delivery share this secret.
        os.environ.setdefault(DEMO_WEBHOOK_SECRET, new_secret())
    request = DemoRequest(
        days=args.days,
        seed=args.seed,
        end=args.end or datetime.now(UTC),
        settle_timeout_seconds=args.timeout,
        exit_when_settled=args.exit,
        json_path=args.json,
    )
    return run(request)


def cmd_schemas(args: argparse.Namespace) -> int:
    from schemas import contract  # noqa: PLC0415

    if args.action == "export":
        added = contract.export()
        for entry in added:
            _out(f"new version: id {entry.schema_id} {entry.name} v{entry.version} ({entry.file})")
        if not added:
            _out("no model changed: nothing to export")
        return 0
    _out("id  version  record  file")
    for entry in contract.released():
        _out(f"{entry.schema_id:<3} v{entry.version:<7} {entry.name}  schemas/avro/{entry.file}")
    return 0


def _intake_topic_for(event_type: EventType) -> tuple[str, type[Event]]:
    return topics.INTAKE[event_type].full_name, PARTNER_EVENT_MODELS[event_type]


def _read_event_json(path: Path, model: type[Event]) -> Event:
    from streams.platform.codec import first_error  # noqa: PLC0415

    try:
        return model.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise FrontDoorError(f"cannot read {path}") from exc
    except ValidationError as exc:
        field, message = first_error(exc)
        raise EventValidationError(message, field=field) from exc


def cmd_publish(args: argparse.Namespace) -> int:
    from streams.platform.app import codec, kafka_settings  # noqa: PLC0415

    topic, model = _intake_topic_for(EventType(args.type))
    event = _read_event_json(Path(args.file), model)
    with Publisher(kafka_settings, codec) as publisher:
        partition, offset = publisher.publish(topic, event, headers={SENDER_HEADER: args.sender})
    _out(f"published {event.event_id} to {topic} [{partition}@{offset}]")
    return 0


def cmd_decide(args: argparse.Namespace) -> int:
    """Record a threshold decision from a JSON file, checked as the staff application checks it.

    The decision must be about a work item on the queues (read from the topics); the referrer of
    that item is told the outcome, as from the staff application.
    """
    from schemas.errors import RecordRefusedError  # noqa: PLC0415
    from schemas.models import ThresholdDecision  # noqa: PLC0415
    from streams.decisions.notifications import outcome_notification  # noqa: PLC0415
    from streams.decisions.rules import DEFAULT_RULES_FILE, load_rules  # noqa: PLC0415
    from streams.decisions.threshold import decision_problems  # noqa: PLC0415
    from streams.platform.app import codec, kafka_settings  # noqa: PLC0415
    from streams.platform.reader import read_topic  # noqa: PLC0415

    worker = load(WorkerSettings)
    rules = load_rules(worker.rules_file or DEFAULT_RULES_FILE)
    decision = _read_event_json(Path(args.file), ThresholdDecision)
    assert isinstance(decision, ThresholdDecision)  # noqa: S101 - read as one just above
    problems = decision_problems(decision, rules.decisions.minimum_rationale_words)
    if problems:
        raise RecordRefusedError(
            "the decision was not recorded: "
            + "; ".join(f"{field}: {message}" for field, message in problems)
        )
    queue = topics.QUEUES[decision.queue].full_name
    items = (codec.decode(m.value, WorkItem) for m in read_topic(kafka_settings, queue))
    item = next((i for i in items if i.event_id == decision.work_item_id), None)
    if item is None or item.child_key != decision.child_key:
        raise RecordRefusedError(
            f"the decision was not recorded: work_item_id: no work item {decision.work_item_id} "
            f"for child {decision.child_key} on the {decision.queue.value} queue"
        )
    notice = outcome_notification(decision, item)
    with Publisher(kafka_settings, codec) as publisher:
        for record in (decision, notice):
            spec = topics.destination(record)
            publisher.publish(spec.full_name, record, key=spec.key_of(record))
    _out(f"recorded decision {decision.event_id}; {item.sender} is told")
    return 0


def cmd_meeting_record(args: argparse.Namespace) -> int:
    """Record what the daily domestic-abuse meeting decided for each child, from a JSON file
    holding one record or a list of them: every record is checked before any is published, so a
    refusal leaves nothing half-written."""
    from pydantic import TypeAdapter  # noqa: PLC0415

    from schemas.errors import RecordRefusedError  # noqa: PLC0415
    from schemas.models import DomesticAbuseAgenda, MeetingRecord  # noqa: PLC0415
    from streams.decisions.meeting import (  # noqa: PLC0415
        meeting_records_problems,
        merged_agendas,
    )
    from streams.decisions.rules import DEFAULT_RULES_FILE, load_rules  # noqa: PLC0415
    from streams.platform.app import codec, kafka_settings  # noqa: PLC0415
    from streams.platform.codec import first_error  # noqa: PLC0415
    from streams.platform.reader import read_topic  # noqa: PLC0415

    rules = load_rules(load(WorkerSettings).rules_file or DEFAULT_RULES_FILE)
    path = Path(args.file)
    try:
        text = path.read_bytes()
        records = TypeAdapter(list[MeetingRecord] | MeetingRecord).validate_json(text)
    except OSError as exc:
        raise FrontDoorError(f"cannot read {path}") from exc
    except ValidationError as exc:
        field, message = first_error(exc)
        raise EventValidationError(message, field=field) from exc
    records = records if isinstance(records, list) else [records]
    agendas = merged_agendas(
        codec.decode(m.value, DomesticAbuseAgenda)
        for m in read_topic(kafka_settings, topics.AGENDAS.full_name)
    )
    problems = meeting_records_problems(records, agendas, rules.decisions.minimum_rationale_words)
    if problems:
        raise RecordRefusedError(
            "nothing was recorded: " + "; ".join(f"{where}: {text}" for where, text in problems),
            problems,
        )
    with Publisher(kafka_settings, codec) as publisher:
        for record in records:
            spec = topics.destination(record)
            publisher.publish(spec.full_name, record, key=spec.key_of(record))
    actions = sum(len(record.actions) for record in records)
    _out(f"recorded {len(records)} child record(s) with {actions} action(s)")
    return 0


def cmd_action_done(args: argparse.Namespace) -> int:
    """Record a meeting action done, from a JSON file: its clock stops."""
    from schemas.models import ActionDone  # noqa: PLC0415
    from streams.platform.app import codec, kafka_settings  # noqa: PLC0415

    done = _read_event_json(Path(args.file), ActionDone)
    assert isinstance(done, ActionDone)  # noqa: S101 - read as one just above
    spec = topics.destination(done)
    with Publisher(kafka_settings, codec) as publisher:
        publisher.publish(spec.full_name, done, key=spec.key_of(done))
    _out(f"recorded action {done.action_id} done")
    return 0


def _dead_letters() -> list[DeadLetter]:
    from streams.platform.app import codec, kafka_settings  # noqa: PLC0415
    from streams.platform.reader import read_topic  # noqa: PLC0415

    topic = topics.DEAD_LETTERS.full_name
    return [codec.decode(m.value, DeadLetter) for m in read_topic(kafka_settings, topic)]


def cmd_dead_letters(args: argparse.Namespace) -> int:
    letters = _dead_letters()
    if args.action == "list":
        by_code = Counter(letter.error_code for letter in letters)
        by_sender = Counter(letter.sender for letter in letters)
        _out(f"{len(letters)} dead letter(s)")
        for code, count in by_code.most_common():
            _out(f"  {count:>5}  {code}")
        for sender, count in by_sender.most_common():
            _out(f"  {count:>5}  from {sender}")
        for letter in letters[-args.limit :]:
            _out(
                f"{letter.event_id}  {letter.dead_lettered_at:%Y-%m-%d %H:%M}  "
                f"{letter.source.topic}[{letter.source.partition}@{letter.source.offset}]  "
                f"{letter.error_code}  {letter.sender}  {letter.reason}"
            )
        return 0
    return _resubmit(letters, args.dead_letter_id, Path(args.file))


def _resubmit(letters: list[DeadLetter], dead_letter_id: str, file: Path) -> int:
    """Publish a corrected event to the dead letter's source topic in the original sender's name."""
    from streams.platform.app import codec, kafka_settings  # noqa: PLC0415

    letter = next((dl for dl in letters if dl.event_id == dead_letter_id), None)
    if letter is None:
        raise FrontDoorError(f"no dead letter {dead_letter_id}")
    intake = {_intake_topic_for(kind)[0]: kind for kind in EventType}
    if letter.source.topic not in intake:
        raise FrontDoorError(f"{letter.source.topic} is not an intake topic; cannot resubmit")
    topic, model = _intake_topic_for(intake[letter.source.topic])
    event = _read_event_json(file, model)
    headers = {SENDER_HEADER: letter.sender, RESUBMISSION_HEADER: letter.event_id}
    with Publisher(kafka_settings, codec) as publisher:
        partition, offset = publisher.publish(topic, event, headers=headers)
    _out(f"resubmitted {dead_letter_id} as {event.event_id} to {topic} [{partition}@{offset}]")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    """Publish synthetic partner events, acknowledged, with progress on standard error."""
    import time  # noqa: PLC0415

    from connectors.generator import Generator  # noqa: PLC0415
    from streams.platform.app import codec, kafka_settings  # noqa: PLC0415

    topics = {kind: _intake_topic_for(kind)[0] for kind in EventType}
    interval = 1.0 / args.rate if args.rate > 0 else 0.0
    published = 0
    with Publisher(kafka_settings, codec) as publisher:
        for generated in Generator(seed=args.seed):
            if args.count and published >= args.count:
                break
            publisher.publish(
                topics[generated.event_type],
                generated.event,
                headers={SENDER_HEADER: generated.sender},
            )
            published += 1
            if published % 50 == 0 or published == args.count:
                print(f"generated {published} event(s)", file=sys.stderr, flush=True)  # noqa: T201
            if interval:
                time.sleep(interval)
    _out(f"published {published} synthetic event(s)")
    return 0


def cmd_history_import(args: argparse.Namespace) -> int:
    """Import a case-management export; report each rejected row; exit 1 if any was rejected."""

    from connectors.history_import import in_batches, parse_export, publish_paced  # noqa: PLC0415
    from streams.platform.admin import committed_offsets  # noqa: PLC0415
    from streams.platform.app import codec, kafka_settings  # noqa: PLC0415

    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise FrontDoorError(f"cannot read {path} as UTF-8 text") from exc
    events, problems = parse_export(text, args.source_system, datetime.now(UTC))
    topic = topics.HISTORY_IMPORTS.full_name
    group = load(WorkerSettings).group_id

    def read_position() -> int:
        return committed_offsets(kafka_settings, group).get((topic, 0), 0)

    def progress(line: str) -> None:
        print(f"{line} of {len(events)}", file=sys.stderr, flush=True)  # noqa: T201

    with Publisher(kafka_settings, codec) as publisher:
        publish_paced(
            in_batches(events, args.source_system),
            publisher,
            topic,
            read_position,
            rows_per_second=args.rows_per_second,
            progress=progress,
        )
    for problem in problems:
        _out(f"row {problem.row}: rejected: {problem.reason}")
    _out(f"{len(events)} record(s) imported, {len(problems)} row(s) rejected")
    return 1 if problems else 0


def cmd_import_police(args: argparse.Namespace) -> int:
    """Import a force's CSV export of notifications (docs/police-csv.md); report each rejected
    row; exit 1 if any was rejected. Running the same file again publishes nothing twice."""
    from connectors.police_csv import ProgressBar, import_police_csv, read_export  # noqa: PLC0415
    from connectors.store import configured_store_url, open_store  # noqa: PLC0415
    from streams.platform.app import codec, kafka_settings  # noqa: PLC0415

    read_export(Path(args.file))  # an unreadable file fails now, not after connecting
    store = open_store(configured_store_url())
    bar = ProgressBar(sys.stderr, "notifications")
    try:
        with Publisher(kafka_settings, codec) as publisher:
            report = import_police_csv(
                Path(args.file),
                publisher=publisher,
                store=store,
                partner=args.partner,
                topic=topics.POLICE_NOTIFICATIONS.full_name,
                force=args.force,
                progress=bar,
            )
    except FrontDoorError:
        if bar.started:
            bar.finish()
            print(  # noqa: T201
                f"stopped after {bar.done} notification(s); what was acknowledged is remembered: "
                "run the same command again to carry on",
                file=sys.stderr,
            )
        raise
    finally:
        bar.finish()
        store.close()
    for problem in report.rejected:
        _out(f"row {problem.row}: rejected: {problem.reason}")
    _out(
        f"{report.published} notification(s) published, {report.skipped_already_imported} already "
        f"imported, {len(report.rejected)} row(s) rejected ({report.rejected_notifications} "
        "notification(s) not published)"
    )
    return 1 if report.rejected else 0


def cmd_health(_: argparse.Namespace) -> int:
    """Print the worker's last health check; exit 1 if the broker was unreachable or it is stale."""
    from datetime import timedelta  # noqa: PLC0415

    worker = load(WorkerSettings)
    try:
        status = json.loads(worker.health_file.read_text(encoding="utf-8"))
        checked_at = datetime.fromisoformat(status["checked_at"])
    except (OSError, ValueError, KeyError, TypeError):
        _out(f"no health check in {worker.health_file}: is a worker running?")
        return 1
    _out(json.dumps(status))
    stale = datetime.now(UTC) - checked_at > timedelta(seconds=3 * worker.health_interval_seconds)
    if stale:
        _out("stale: the worker has not checked for three intervals")
    return 1 if stale or status.get("broker") != "ok" else 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    """Report what waits for an outcome; exit 1 if anything is past its bound."""

    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    from agents.reconcile import deployment_reconciler  # noqa: PLC0415
    from streams.decisions.ledger import Stage  # noqa: PLC0415

    reconciler = deployment_reconciler()
    try:
        report = reconciler.step(datetime.now(UTC), act=not args.dry_run)
    finally:
        reconciler.close()
    stages = Table(title=f"Outcomes, {report.at:%Y-%m-%d %H:%M:%S} UTC")
    for column in ("stage", "waiting", "oldest", "past the bound", "re-driven now", "tasks now"):
        stages.add_column(column, justify="left" if column == "stage" else "right")
    for stage in Stage:
        in_stage = [w for w in report.waiting if w.stage is stage]
        oldest = max((w.age(report.at) for w in in_stage), default=None)
        stages.add_row(
            stage.value,
            str(len(in_stage)),
            f"{int(oldest.total_seconds())}s" if oldest is not None else "-",
            str(sum(1 for w in report.overdue if w.stage is stage)),
            str(sum(1 for w in report.redriven if w.stage is stage)),
            str(sum(1 for w in report.told if w.stage is stage)),
        )
    console = Console(soft_wrap=True)
    console.print(stages)
    for waiting in report.waiting[:_MOST_LISTED]:
        console.print(
            f"{waiting.stage.value:<15} {waiting.reference}  sender={waiting.sender}  "
            f"waiting {int(waiting.age(report.at).total_seconds())}s",
            highlight=False,
        )
    if len(report.waiting) > _MOST_LISTED:
        _out(f"... and {len(report.waiting) - _MOST_LISTED} more")
    if not report.waiting:
        _out("nothing is waiting: every accepted event has its outcome")
    return 1 if report.overdue else 0


_MOST_LISTED = 20


#: What ``frontdoor tail`` can show besides the work queues: the domestic-abuse notifications.
_NOTIFICATION_QUEUES = {
    "schools": topics.SCHOOL_NOTIFICATIONS,
    "health": topics.HEALTH_NOTIFICATIONS,
}


def cmd_tail(args: argparse.Namespace) -> int:
    """Print a queue's work items (ids, priority, due time and rationale) or the school and
    health notifications (ids, recipient, due time); the child's details on request."""
    import time  # noqa: PLC0415

    from streams.platform.app import codec, kafka_settings  # noqa: PLC0415
    from streams.platform.reader import read_topic  # noqa: PLC0415

    notifications = _NOTIFICATION_QUEUES.get(args.queue)
    spec = notifications or topics.QUEUES[Queue(args.queue)]
    shown: set[tuple[int, int]] = set()
    while True:
        for message in read_topic(kafka_settings, spec.full_name, idle_seconds=0.5):
            if (message.partition, message.offset) in shown:
                continue
            shown.add((message.partition, message.offset))
            record = codec.decode(message.value, spec.value)
            if isinstance(record, IncidentNotification):
                _out(describe_notification(record, details=args.details))
            else:
                assert isinstance(record, WorkItem)  # noqa: S101 - a queue topic's record
                _out(describe_work_item(record, details=args.details))
        if not args.follow:
            return 0
        time.sleep(1.0)


def describe_work_item(item: WorkItem, *, details: bool) -> str:
    """A work item in readable form: ids, priority, due time, rationale; personal details only
    when asked for."""
    lines = [
        f"{item.event_id}  {item.priority.value.upper():5}  level {item.level}  "
        f"due {item.decision_due_at:%a %d %b %H:%M}  child {item.child_key} "
        f"({item.match.kind.value})  from {item.sender}  event {item.source_event_id}"
    ]
    lines += [
        f"    - {entry.rule}: {entry.description} [{entry.evidence}]" for entry in item.rationale
    ]
    if item.missing_information:
        missing = ", ".join(entry.field for entry in item.missing_information)
        lines.append(f"    missing information: {missing}")
    if item.marac:
        lines.append(f"    MARAC: {', '.join(flag.code for flag in item.marac)}")
    if details:
        child = item.child
        lines.append(
            f"    child: {child.given_name or '?'} {child.family_name or '?'}, "
            f"born {child.date_of_birth or '?'}, NHS {child.nhs_number or '?'}"
        )
    return "\n".join(lines)


def describe_notification(notice: IncidentNotification, *, details: bool) -> str:
    """A school or health notification in readable form: ids, recipient, due time and rule; the
    child's name and what is shared only when asked for."""
    to = notice.recipient.value + (f" {notice.school_urn}" if notice.school_urn else "")
    lines = [
        f"{notice.event_id}  to {to}  due {notice.due_by:%a %d %b %H:%M}  rule {notice.rule}  "
        f"child {notice.child_key}  about {notice.about_event_id}"
    ]
    if details:
        lines.append(
            f"    child: {notice.given_name or '?'} {notice.family_name or '?'}, "
            f"born {notice.date_of_birth or '?'}; present: {notice.present}; "
            f"seen or spoken to: {notice.seen_or_spoken_to}"
        )
        lines.append(f"    circumstances: {notice.brief_circumstances or '-'}")
    return "\n".join(lines)


def cmd_chronology(args: argparse.Namespace) -> int:
    """Print a child's chronology from what the topics hold: one line a step, in time order, ids
    and codes only; the free text (rationales, an override's disclosure) with ``--details``.
    Exit 1 when the topics hold nothing about the child."""
    from schemas.errors import UnusableEventError  # noqa: PLC0415
    from schemas.quality import ENGLAND  # noqa: PLC0415
    from streams.decisions.chronology import chronology  # noqa: PLC0415
    from streams.platform.app import codec, kafka_settings  # noqa: PLC0415
    from streams.platform.reader import read_topic  # noqa: PLC0415

    records: list[Event] = []
    unusable = 0
    for spec in _CHRONOLOGY_TOPICS:
        for message in read_topic(kafka_settings, spec.full_name, idle_seconds=0.5):
            try:
                records.append(codec.decode(message.value, spec.value))
            except UnusableEventError:
                unusable += 1
    if unusable:
        print(f"skipped {unusable} unusable message(s)", file=sys.stderr, flush=True)  # noqa: T201
    entries = chronology(args.child_key, records)
    if not entries:
        _out(f"nothing about child {args.child_key} on the topics of this deployment")
        return 1
    for entry in entries:
        _out(f"{entry.at.astimezone(ENGLAND):%Y-%m-%d %H:%M}  {entry.kind:<19}  {entry.summary}")
        if args.details and entry.details:
            for line in entry.details.splitlines():
                _out(f"    {line}")
    return 0


# What a child's chronology is read from (outcomes are left out: the routing says it all).
_CHRONOLOGY_TOPICS = (
    topics.CHILD_EVENTS,
    topics.INFORMATION_REQUESTS,
    *topics.QUEUES.values(),
    topics.DUTY_TEAM_ALERTS,
    topics.SCHOOL_NOTIFICATIONS,
    topics.HEALTH_NOTIFICATIONS,
    topics.AGENDAS,
    topics.MEETING_RECORDS,
    topics.ACTIONS_DONE,
    topics.DECISIONS,
    topics.STRATEGY_DISCUSSIONS,
    topics.CONFERENCES,
    topics.TIMELINESS_ALERTS,
    topics.ALERT_ACKNOWLEDGEMENTS,
    topics.DELIVERY_STATUSES,
)


def cmd_keys(args: argparse.Namespace) -> int:
    """Partner API keys. A token is printed once, by create or rotate: only its hash is stored."""

    from connectors import partner_keys  # noqa: PLC0415
    from connectors.store import configured_store_url, open_store  # noqa: PLC0415

    if args.action == "create":  # names checked before the store is touched
        try:
            agency = partner_keys.parse_agency(args.agency)
            event_types = partner_keys.parse_event_types(args.types)
        except ValueError as exc:
            raise FrontDoorError(str(exc)) from exc
    now = datetime.now(UTC)
    store = open_store(configured_store_url())
    try:
        if args.action == "list":
            _out("key id  partner  agency  types  created  status")
            for key in store.api_keys():
                status = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
                _out(
                    f"{key.key_id}  {key.partner}  {key.agency}  {','.join(key.event_types)}  "
                    f"{key.created_at:%Y-%m-%d %H:%M}  {status}"
                )
            return 0
        if args.action == "revoke":
            if not partner_keys.revoke(store, args.key_id, now):
                raise FrontDoorError(f"no active key {args.key_id!r} (unknown or already revoked)")
            _out(f"revoked key {args.key_id}: it is refused from now on")
            return 0
        try:
            if args.action == "create":
                issued = partner_keys.issue_key(
                    store, partner=args.partner, agency=agency, event_types=event_types, now=now
                )
            else:
                issued = partner_keys.rotate(store, args.key_id, now)
                _out(f"revoked key {args.key_id}")
        except ValueError as exc:
            raise FrontDoorError(str(exc)) from exc
        _out(f"key id: {issued.key_id}")
        _out(f"token: {issued.token}")
        _out("WARNING: give this token to the partner now; it will not be shown again.")
        return 0
    finally:
        store.close()


def _staff_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    decide = commands.add_parser(
        "decide", help="record a threshold decision from a JSON file (checked, then published)"
    )
    decide.add_argument("file")
    decide.set_defaults(run=cmd_decide)
    meeting = commands.add_parser(
        "meeting-record",
        help="record the daily domestic-abuse meeting's records from a JSON file (one record or "
        "a list; all checked, then published)",
    )
    meeting.add_argument("file")
    meeting.set_defaults(run=cmd_meeting_record)
    done = commands.add_parser("action-done", help="record a meeting action done (JSON file)")
    done.add_argument("file")
    done.set_defaults(run=cmd_action_done)
    staff = commands.add_parser("staff", help="serve the staff application (queues, decisions)")
    staff.add_argument(
        "--demo-users",
        action="store_true",
        help="create demo accounts with new passwords, printed once (synthetic demos only)",
    )
    staff.set_defaults(run=cmd_staff)
    users = commands.add_parser("users", help="staff accounts: create, list, disable")
    user_actions = users.add_subparsers(dest="action", required=True)
    create = user_actions.add_parser("create", help="a new account; asks for its password")
    create.add_argument("username")
    create.add_argument("--role", required=True, help="mash_worker, team_manager, ...")
    create.add_argument("--name", required=True, help="the name shown on pages and records")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin"
    )
    user_actions.add_parser("list", help="every account, active or disabled")
    user_actions.add_parser("disable", help="refuse sign-in from now on").add_argument("username")
    users.set_defaults(run=cmd_users)


def _keys_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    # A function of its own keeps parser() under the linter's statement limit (PLR0915).
    keys = commands.add_parser("keys", help="partner API keys: create, list, revoke, rotate")
    key_actions = keys.add_subparsers(dest="action", required=True)
    key_create = key_actions.add_parser("create", help="issue a key; prints its token once")
    key_create.add_argument("--partner", required=True, help="partner id, e.g. school.990001")
    key_create.add_argument("--agency", required=True, help="police, health, education...")
    key_create.add_argument(
        "--types",
        required=True,
        help="comma-separated: contact,police_notification,consent_event; or, for the local "
        "authority's case-management system, threshold_decision,strategy_discussion,"
        "child_protection_conference",
    )
    key_actions.add_parser("list", help="every key, active or revoked (never a secret)")
    key_actions.add_parser("revoke", help="refuse a key from now on").add_argument("key_id")
    key_actions.add_parser("rotate", help="new key, same rights; old one revoked").add_argument(
        "key_id"
    )
    keys.set_defaults(run=cmd_keys)


def _operations_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The operators' checks: the settings in force, the worker's health and the reconciliation
    of outcomes."""
    commands.add_parser("config", help="print settings, secrets masked").set_defaults(
        run=cmd_config
    )
    commands.add_parser("health", help="the worker's last health check").set_defaults(
        run=cmd_health
    )
    reconcile = commands.add_parser(
        "reconcile", help="every accepted event's outcome: report, re-drive, raise MASH tasks"
    )
    reconcile.add_argument(
        "--dry-run", action="store_true", help="only report: re-drive nothing, raise no task"
    )
    reconcile.set_defaults(run=cmd_reconcile)


def _delivery_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Delivery to people and partners, and the local stand-ins for them on a laptop."""
    delivery = commands.add_parser(
        "delivery", help="deliver alerts, notifications and requests (e-mail, webhooks)"
    )
    delivery.set_defaults(run=cmd_delivery)
    receivers = commands.add_parser(
        "receivers", help="a local mail catcher and demo webhook receiver (for `make run`)"
    )
    receivers.set_defaults(run=cmd_receivers)
    commands.add_parser(
        "webhook-secret", help="print a new webhook signing secret for a partner"
    ).set_defaults(run=cmd_webhook_secret)


def _chronology_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    chronology = commands.add_parser(
        "chronology", help="everything that happened to one child, in time order"
    )
    chronology.add_argument("child_key", help="the child key, as work items and decisions show it")
    chronology.add_argument(
        "--details", action="store_true", help="include the free text: rationales, disclosures"
    )
    chronology.set_defaults(run=cmd_chronology)


def _log_to_file(path: Path) -> None:
    """Send this process's log records to ``path`` instead of the terminal."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter(_LOG_FORMAT))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)


def _stack_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    commands.add_parser("up", help="start broker, topics and workers").set_defaults(run=cmd_up)
    demo = commands.add_parser(
        "demo", help="a realistic day through the whole local stack, with its figures (make run)"
    )
    demo.add_argument("--exit", action="store_true", help="stop once the day has settled")
    demo.add_argument("--days", type=_positive_int, default=1, help="days to replay (default 1)")
    demo.add_argument("--seed", type=int, default=1, help="the synthetic day's seed")
    demo.add_argument(
        "--timeout", type=float, default=600.0, help="seconds the day may take to settle"
    )
    demo.add_argument(
        "--end",
        type=_aware_time,
        help="the replayed days end at this ISO 8601 time with its offset (default: now)",
    )
    demo.add_argument("--json", type=Path, help="also write the day's figures to this JSON file")
    demo.set_defaults(run=cmd_demo)


def _aware_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text}: not an ISO 8601 time") from exc
    if moment.utcoffset() is None:
        raise argparse.ArgumentTypeError(f"{text}: give the offset, e.g. 2026-11-25T18:00+00:00")
    return moment


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: at least 1")
    return value


def _add_history_import(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    history = commands.add_parser(
        "history-import", help="import children's history from a case-management CSV export"
    )
    history.add_argument("file")
    history.add_argument("--source-system", default="case-management", help="the export's system")
    history.add_argument(
        "--rows-per-second",
        type=float,
        default=HISTORY_IMPORT_ROWS_PER_SECOND,
        help="publish at most this many rows a second, so live work is not held up behind the "
        "import (0: no limit; either way the import waits while the worker has 20 batches of it "
        "unread)",
    )
    history.set_defaults(run=cmd_history_import)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="frontdoor", description=__doc__.split("\n")[0])
    commands = top.add_subparsers(dest="command", required=True)
    _stack_parsers(commands)
    broker = commands.add_parser("broker", help="run the embedded Tansu broker")
    broker.add_argument("--address", help="host:port (default: KAFKA_BOOTSTRAP_SERVERS)")
    broker.set_defaults(run=cmd_broker)
    commands.add_parser("topics", help="create/verify every topic").set_defaults(run=cmd_topics)
    commands.add_parser("worker", help="run a Faust worker").set_defaults(run=cmd_worker)
    gateway = commands.add_parser("gateway", help="serve the partners' HTTP gateway")
    gateway.set_defaults(run=cmd_gateway)
    schemas = commands.add_parser("schemas", help="released Avro schemas")
    schemas.add_argument("action", choices=["list", "export"])
    schemas.set_defaults(run=cmd_schemas)
    publish = commands.add_parser("publish", help="validate a JSON event file and publish it")
    publish.add_argument("type", choices=["contact", "police_notification", "consent_event"])
    publish.add_argument("file")
    publish.add_argument("--sender", default="cli", help="partner id put in the sender header")
    publish.set_defaults(run=cmd_publish)
    letters = commands.add_parser("dead-letters", help="list or resubmit dead letters")
    letter_actions = letters.add_subparsers(dest="action", required=True)
    listing = letter_actions.add_parser("list")
    listing.add_argument("--limit", type=int, default=50)
    resubmit = letter_actions.add_parser("resubmit")
    resubmit.add_argument("dead_letter_id")
    resubmit.add_argument("file", help="the corrected event as JSON")
    letters.set_defaults(run=cmd_dead_letters)
    generate = commands.add_parser("generate", help="publish synthetic partner events")
    generate.add_argument("--count", type=int, default=0, help="stop after N (0: run until Ctrl-C)")
    generate.add_argument("--rate", type=float, default=1.0, help="events a second (0: no pause)")
    generate.add_argument("--seed", type=int, default=1)
    generate.set_defaults(run=cmd_generate)
    _add_history_import(commands)
    police = commands.add_parser(
        "import-police", help="import a police force's CSV export of notifications about children"
    )
    police.add_argument("file")
    police.add_argument("--partner", required=True, help="sender id, e.g. police.synthetic")
    police.add_argument(
        "--force", required=True, help="the force's name; event ids derive from it: keep it fixed"
    )
    police.set_defaults(run=cmd_import_police)
    _operations_parser(commands)
    _delivery_parsers(commands)
    tail = commands.add_parser("tail", help="print a queue's work items")
    tail.add_argument("queue", choices=[*(queue.value for queue in Queue), *_NOTIFICATION_QUEUES])
    tail.add_argument("--follow", action="store_true", help="keep printing new items")
    tail.add_argument("--details", action="store_true", help="include the child's details")
    tail.set_defaults(run=cmd_tail)
    _chronology_parser(commands)
    _keys_parser(commands)
    _staff_parsers(commands)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=_LOG_FORMAT)
    logging.getLogger("kafka").setLevel(logging.WARNING)  # its INFO is connection chatter
    # httpx logs every request's URL at INFO, and a partner's webhook URL may carry a token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        code: int = args.run(args)
    except FrontDoorError as error:
        print(f"frontdoor: error: {error}", file=sys.stderr)  # noqa: T201
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
