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
ALERTS_POSTED = Counter(
    "opsbot_alerts_posted_total", "Alerts Discord accepted, by kind and word", ["kind", "word"]
)
#: From the event (a tick's time, an account check's) to Discord accepting its post: one tick
#: plus delivery when all is well, much longer through an outage or a hold.
DELIVERY_SECONDS = Histogram(
    "opsbot_alert_delivery_seconds",
    "From an alert's event to Discord accepting it",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600, 21600, 86400),
)
OUTBOX_DEPTH = Gauge(
    "opsbot_outbox_depth", "Alerts waiting for Discord, by state (pending, held)", ["state"]
)
UPSTREAM_RESPONSES = Counter(
    "opsbot_upstream_responses_total",
    "useapi's answers by provider and HTTP status ('none': no answer at all)",
    ["provider", "status"],
)
COMMAND_SECONDS = Histogram(
    "opsbot_command_seconds",
    "From a slash command reaching the bot to its callback's end, by command",
    ["command"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30),
)
#: replyUrl callbacks (bot.hooks): taken, by provider; refused at the door, by reason
#: (`secret`, `too_large`, `not_json`, `unknown_shape`, `overflow`: the re-read queue was full,
#: the poller reports that job a tick later); and what each re-read found (`announced`,
#: `duplicate`, `progress`, `running`, `unknown`, `unseen`, `error`).
CALLBACKS = Counter(
    "opsbot_callbacks_received_total", "replyUrl callbacks accepted, by provider", ["provider"]
)
CALLBACKS_REJECTED = Counter(
    "opsbot_callbacks_rejected_total",
    "replyUrl callbacks refused or dropped, by reason",
    ["reason"],
)
CALLBACK_REREADS = Counter(
    "opsbot_callback_rereads_total",
    "Jobs re-read from useapi after a callback, by provider and what the re-read found",
    ["provider", "result"],
)
