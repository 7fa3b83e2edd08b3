"""Prometheus metrics, served on /metrics when HTTP_PORT is set."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

TICKS = Counter("opsbot_watcher_ticks_total", "Watcher ticks", ["provider", "result"])
TICK_SECONDS = Histogram(
    "opsbot_watcher_tick_seconds", "Duration of one watcher tick", ["provider"]
)
UPSTREAM_CALLS = Counter("opsbot_upstream_requests_total", "Requests sent to useapi", ["provider"])
JOBS_RUNNING = Gauge("opsbot_jobs_running", "Jobs running at the last tick", ["provider"])
ALERTS_SENT = Counter("opsbot_alerts_sent_total", "Alert events delivered to Discord")
ALERT_FAILURES = Counter(
    "opsbot_alert_delivery_failures_total", "Alert posts Discord did not accept", ["retryable"]
)
