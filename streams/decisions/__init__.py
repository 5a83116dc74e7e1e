"""The decisions: pure, synchronous safeguarding logic, unit-tested without a broker.

Intake triage, derived ids, information requests, identity matching and identification, child
history, the rules file (facts, model, loader, evaluation), the office calendar, the school
directory and routing. Each step takes records and state and returns the records to publish and
the new state; the agent shells in :mod:`agents` do the I/O. Nothing here imports Faust, a Kafka
client or :mod:`streams.platform` (``lint-imports`` checks it).
"""
