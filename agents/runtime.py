"""What the agents load once, at worker start: the rules file, office calendar and school directory.

The one place start-up loads happen. A malformed rules file or school directory stops the worker
at start-up with the file (and, for rules, the line) named, never at 3 a.m. on the first event
that would have needed it.
"""

from __future__ import annotations

from streams.decisions.rules import DEFAULT_RULES_FILE, load_rules
from streams.decisions.schools import DEFAULT_DIRECTORY, load_directory
from streams.platform.app import worker_settings

rules = load_rules(worker_settings.rules_file or DEFAULT_RULES_FILE)
calendar = rules.office_calendar()
schools = load_directory(worker_settings.school_directory or DEFAULT_DIRECTORY)
