"""The staff application: its queue store (SQLite or PostgreSQL), the consumer that fills it from
the pipeline's topics, and the web pages people work from."""
