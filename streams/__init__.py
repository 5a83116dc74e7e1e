"""The streaming core, in two rooms that do not import each other: :mod:`streams.platform` (how
events move: topics, settings, the Faust app, codec, broker) and :mod:`streams.decisions` (what
the front door decides about a child: pure, no I/O)."""
