"""What the agents load once, at worker start: the rules file, office calendar, school directory
with its safeguarding leads, and school days.

The one place start-up loads happen. A malformed rules file or school directory stops the worker
at start-up with the file (and, for rules, the line) named, never at 3 a.m. on the first event
that would have needed it.
"""

from __future__ import annotations

from streams.decisions.domestic_abuse import load_recipients
from streams.decisions.rules import DEFAULT_RULES_FILE, load_rules
from streams.decisions.schools import DEFAULT_DIRECTORY, DEFAULT_SAFEGUARDING_LEADS
from streams.platform.app import worker_settings

rules = load_rules(worker_settings.rules_file or DEFAULT_RULES_FILE)
calendar = rules.office_calendar()
#: Who is told of a child in a domestic-abuse incident, and by when.
recipients = load_recipients(
    rules,
    directory=worker_settings.school_directory or DEFAULT_DIRECTORY,
    leads=worker_settings.safeguarding_leads or DEFAULT_SAFEGUARDING_LEADS,
)
schools = recipients.directory
