FROM python:3.11-slim

# HTTP_HOST 0.0.0.0: /healthz and /metrics must be reachable from outside the container (the
# HEALTHCHECK below, an orchestrator, Prometheus); the bot's default is loopback only.
# MPLCONFIGDIR: matplotlib keeps its font list there; the bot's user cannot write to /app.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    DATABASE_URL=sqlite+aiosqlite:////data/opsbot.db \
    HTTP_HOST=0.0.0.0 HTTP_PORT=8080

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cogs ./cogs
# The postgres extra: the README's replica set-up (DATABASE_URL=postgresql+asyncpg://…) runs
# in this image as it does from a checkout. DL3013 (pin versions) is about installing packages
# by name; this installs the project itself, its dependencies bounded in pyproject.toml.
# hadolint ignore=DL3013
RUN pip install --disable-pip-version-check ".[postgres]" \
 && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin opsbot \
 && mkdir -p /data && chown opsbot /data

USER 10001
VOLUME ["/data"]
EXPOSE 8080
# 503 (not ready) or no answer → urlopen raises → exit 1. HTTP_PORT read at run time, so an
# operator who moves the port keeps a working check.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('HTTP_PORT', '8080'), timeout=4)"]
CMD ["opsbot", "run"]
