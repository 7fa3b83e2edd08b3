"""The account checks: the useapi subscription and each provider's accounts (their error, when
their session or token ends), read every ACCOUNT_CHECK_MINUTES and told as `account` alerts.

* `subscription` – `GET /v2/account` → `Subscription`
* `policy`       – stored `Health` + one check's readings → states and events   [pure]
* `read`         – one reading: the subscription and every provider's accounts side by side
* `check`        – `AccountChecker`: lead, read, decide, commit in one transaction
"""
