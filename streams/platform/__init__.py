"""The platform: how events move. Topics declared as plain data (``topics``), settings, the Faust
app and topology, the Avro wire codec and schema registries, the publisher and reader, topic
admin, the embedded broker and the ``up`` supervisor.

Nothing here decides anything about a child; that is :mod:`streams.decisions`. The two rooms do
not import each other (``lint-imports`` checks it).
"""
