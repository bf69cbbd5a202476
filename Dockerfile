# Slack Analyst: one bot process per container (HTTP mode behind a load balancer, or Socket Mode).
#   docker build -t slack-analyst .
#   docker run --env-file .env -p 3000:3000 slack-analyst
# The image holds the locked dependencies and the three packages (bot, handlers, store), runs as
# an unprivileged user, and reports itself healthy while its event loop answers GET /livez.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
# Every locked dependency ships a manylinux wheel: no compiler is needed.
COPY requirements.lock /tmp/requirements.lock
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --only-binary=:all: -r /tmp/requirements.lock

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORT=3000 \
    DATABASE_URL=sqlite:////data/slack-analyst.db
RUN groupadd --system --gid 10001 analyst \
    && useradd --system --uid 10001 --gid analyst --no-create-home --shell /usr/sbin/nologin analyst \
    && mkdir /data \
    && chown analyst:analyst /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY bot ./bot
COPY handlers ./handlers
COPY store ./store
USER 10001:10001
# SQLite's file when DATABASE_URL is left at its default (one replica); PostgreSQL needs none.
VOLUME ["/data"]
EXPOSE 3000
# Liveness only: /readyz (database, draining) is for the load balancer, not for restarts.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/livez' % os.environ.get('PORT', '3000'), timeout=2)"]
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot"]
