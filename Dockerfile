# dutydesk in a container: the wheel, installed with the pinned dependencies, run by a
# non-root user. Build: docker build -t dutydesk .   Run: see compose.yaml and docs/deploy.md.
# The config is mounted at /etc/dutydesk/config.toml; secrets come from the environment.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot bot
COPY adapters adapters
COPY routing routing
COPY storage storage
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/dutydesk --create-home dutydesk
COPY --from=build /wheels /wheels
COPY constraints.txt /tmp/constraints.txt
# [postgres]: asyncpg, for a PostgreSQL [storage] url (and a standby replica).
RUN pip install --no-cache-dir -c /tmp/constraints.txt "$(ls /wheels/dutydesk-*.whl)[postgres]" \
    && rm -rf /wheels /tmp/constraints.txt
USER dutydesk
WORKDIR /var/lib/dutydesk
# The [http] port (Telegram webhook, Slack events, /healthz, /metrics); set [http] host = "0.0.0.0".
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
ENTRYPOINT ["dutydesk"]
CMD ["--log-format", "json", "run", "--config", "/etc/dutydesk/config.toml"]
