# The front door pipeline: one image, run as `frontdoor topics` (one-shot) and `frontdoor worker`.
# Built by docker-compose.yml; the broker is external, so FRONTDOOR_KAFKA_EMBEDDED must be false.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FRONTDOOR_DATA_DIR=/var/lib/frontdoor

# A non-root user owning the data dir; a named volume mounted there starts out owned by it too.
RUN groupadd --system --gid 10001 frontdoor \
    && useradd --system --uid 10001 --gid frontdoor --create-home --home-dir /home/frontdoor \
        --shell /usr/sbin/nologin frontdoor \
    && mkdir -p /var/lib/frontdoor \
    && chown frontdoor:frontdoor /var/lib/frontdoor

WORKDIR /app

# The pinned dependencies first, in a layer of their own, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; \
        deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; \
        print(*deps, sep='\n')" > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .
RUN pip install --no-cache-dir . \
    && rm -rf build ./*.egg-info

USER frontdoor

ENTRYPOINT ["frontdoor"]
CMD ["worker"]
