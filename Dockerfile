FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DATABASE_URL=sqlite+aiosqlite:////data/opsbot.db

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cogs ./cogs
RUN pip install --disable-pip-version-check . \
 && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin opsbot \
 && mkdir -p /data && chown opsbot /data

USER opsbot
VOLUME ["/data"]
CMD ["opsbot", "run"]
