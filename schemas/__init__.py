"""Event contracts: pydantic models (the single source of truth) and the published Avro schemas.

The models in :mod:`schemas.models` define every event. :mod:`schemas.avro` derives the Avro schema
of each, and the released versions are committed under ``schemas/avro/<Record>/vN.avsc``; a test
fails if the models and the latest committed files drift, or a new version cannot read an old one.
"""
