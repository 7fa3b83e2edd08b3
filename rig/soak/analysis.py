"""The soak's checks: what the fake Discord received against the simulator's ground truth
(`truth.py`) – alerts lost, duplicated or invented, capacity and upstream episodes out of
order, anything left waiting at the end. See `analyse`. The database is not read here: the run
reads its outbox once at the end, on whichever backend it ran (`Soak.read_final`)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot import providers as provider_registry
from bot.delivery import nonce_for
from bot.embeds import alert_batch
from bot.sim import Simulator
from bot.store import decode_event
from bot.text import display_id, escape
from rig.soak.config import CAPACITY_RE, PROVIDERS, QUEUE_RE, Report
from rig.soak.truth import (
    Groups,
    Observed,
    full_at,
    full_timeline,
    groups,
    history_timeline,
    required_transitions,
    runs,
    shown,
)


def _embed_text(e: Mapping[str, Any]) -> tuple[str, str, str]:
    return (
        e.get("title") or "",
        e.get("description") or "",
        (e.get("footer") or {}).get("text") or "",
    )


def analyse(soak: Observed, report: Report) -> None:
    """Compare what the fake Discord received with the simulator's ground truth.

    *Reads*: the simulator's request log, tagged with the incarnation that made each request.
    A snapshot succeeded when the scheduler and the capacity read of one tick (same
    incarnation, same simulated instant) were both answered 200 without a fault; it is *known
    committed* when the same process later started another tick of that provider (ticks of a
    provider never overlap, and a tick commits before it ends), or stopped cleanly.

    *Expected job alerts*: a finished job shown running by a known-committed snapshot, when a
    later known-committed snapshot was taken after it finished, must be reported once with the
    simulator's outcome; a job that a known-committed snapshot showed running for at least
    STUCK_AFTER_MINUTES must be reported `stuck` once. A job that started and ended between
    two reads was never seen and is not expected.

    *Delivered*: every message in the alert channel is matched to its outbox group through its
    nonce (a hash of the group's event keys), and its embeds must equal what those events
    render to; a single-alert embed must name the job (escaped id) and the word literally.
    Messages Discord dropped as nonce repeats are not messages.

    *Invented*: a delivered job alert whose job the simulator never ran, whose outcome differs
    from the simulator's, that no successful read could have shown, or `stuck` for a job that
    never ran that long; a capacity `exhausted` for an account no successful read showed full
    (all accounts full for the provider-wide one); a `restored` without the same episode's
    `exhausted` delivered before it; an upstream alert without such a failure upstream.
    """
    read_groups = groups(soak)
    jobs = _finished_jobs(soak.sim)
    running = {j.id: j for j in soak.sim.running()}
    report.jobs_finished = len(jobs)
    must, allowed = _expected_job_alerts(
        soak, read_groups, [*jobs.values(), *running.values()], report
    )
    rows = soak.outbox_rows
    delivered = _delivered(soak, rows, report)
    counts = Counter(delivered)
    report.duplicated = sum(n - 1 for n in counts.values())
    for key, n in counts.items():
        if n > 1:
            report.problems.append(f"{key} delivered {n} times")
    _check_job_alerts(counts, must, allowed, report)
    order = {k: i for i, k in enumerate(dict.fromkeys(delivered))}
    _check_capacity(soak, read_groups, [*jobs.values(), *running.values()], counts, order, report)
    _check_upstream(soak, counts, order, report)
    _check_left_over(soak, rows, report)


def _finished_jobs(sim: Simulator) -> dict[str, Any]:
    """The simulator's finished jobs (legacy ids aside), by id."""
    jobs = {}
    for sim_ev in sim.history:
        if sim_ev.kind == "job_finished" and not sim_ev.legacy and sim_ev.job_id:
            job = sim.job(sim_ev.job_id)
            if job is not None:
                jobs[job.id] = job
    return jobs


def _expected_job_alerts(
    soak: Observed, groups: Groups, jobs: list[Any], report: Report
) -> tuple[set[str], set[str]]:
    """The job alerts that must have been delivered, and those that may have been (a read
    that may not have been committed showed them)."""
    stuck_s = soak.cfg.stuck_after_minutes * 60

    def reads(p: str, *, committed_only: bool) -> list[datetime]:
        return sorted(
            g.t
            for g, safe in groups[p]
            if (g.ok if committed_only else g.q_ok) and (safe or not committed_only)
        )

    must: set[str] = set()
    allowed: set[str] = set()
    seen: set[str] = set()
    for p in PROVIDERS:
        committed = reads(p, committed_only=True)
        any_read = reads(p, committed_only=False)
        last_committed = committed[-1] if committed else None
        c_ts = [t.timestamp() for t in committed]
        a_ts = [t.timestamp() for t in any_read]
        for job in (j for j in jobs if j.provider == p):
            s = job.started_ts
            f = job.finished_ts if job.finished_ts is not None else math.inf
            key_final = f"job:{p}:{job.id}:{job.outcome}"
            key_stuck = f"job:{p}:{job.id}:stuck"
            if shown(c_ts, s, f):
                seen.add(job.id)
                if (
                    job.finished_ts is not None
                    and last_committed is not None
                    and last_committed.timestamp() >= job.finished_ts
                ):
                    must.add(key_final)
            if job.finished_ts is not None and shown(a_ts, s, f):
                allowed.add(key_final)
            if shown(c_ts, s + stuck_s, f):
                must.add(key_stuck)
            if shown(a_ts, s + stuck_s, f):
                allowed.add(key_stuck)
    report.jobs_seen = len(seen)
    report.expected = len(must)
    report.expected_stuck = sum(1 for k in must if k.endswith(":stuck"))
    report.expected_outcomes = report.expected - report.expected_stuck
    return must, allowed


def _delivered(soak: Observed, rows: list[dict[str, Any]], report: Report) -> list[str]:
    """The event keys of every alert message Discord holds, in order, each decoded through
    the outbox (the rows marked sent with it, else its group by nonce) and checked to show
    exactly its events."""
    problems = report.problems
    by_group: dict[tuple[Any, str, Any], list[dict[str, Any]]] = defaultdict(list)
    by_message: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r["state"] in ("muted", "unrouted"):
            continue
        by_group[(r["channel_id"], r["batch"], r["mention_role_id"])].append(r)
        if r["sent_message_id"] is not None:
            by_message[str(r["sent_message_id"])].append(r)
    by_nonce = {nonce_for([r["key"] for r in g]): g for g in by_group.values()}
    titles = {p: provider_registry.load(p).title for p in PROVIDERS}
    delivered: list[str] = []
    for msg in soak.fake.messages():
        if msg["channel_id"] != str(soak.alert_channel):
            problems.append(f"message {msg['id']} in an unexpected channel {msg['channel_id']}")
            continue
        nonce = str(msg.get("nonce"))
        # The rows the bot marked sent with this message, else (it died before it could
        # mark them) the outbox group with this nonce.
        group = by_message.get(str(msg["id"])) or by_nonce.get(nonce)
        if group is None or nonce_for([r["key"] for r in group]) != nonce:
            problems.append(
                f"message {msg['id']} matches no outbox group (nonce {nonce!r}): invented"
            )
            report.invented += 1
            continue
        events = [decode_event(r["event"]) for r in group]
        want = [_embed_text(e.to_dict()) for e in alert_batch(events, titles=titles, redact=False)]
        got = [_embed_text(e) for e in msg.get("embeds") or []]
        if want != got:
            problems.append(f"message {msg['id']} does not show its alerts: got {got[:2]!r}")
            report.invented += 1
            continue
        report.messages += 1
        if any("summarised" in footer for _, _, footer in got):
            report.summarised += 1
        else:
            for ev, (title, desc, _) in zip(events, got, strict=True):
                if ev.word not in title:
                    problems.append(f"{ev.key}: the word is not in the title {title!r}")
                if ev.job_id and f"**Job** {escape(display_id(ev.job_id, False))}" not in desc:
                    problems.append(f"{ev.key}: the job id is not in the embed")
        delivered += [r["key"] for r in group]
    return delivered


def _check_job_alerts(
    counts: Counter[str], must: set[str], allowed: set[str], report: Report
) -> None:
    job_keys = {k for k in counts if k.startswith("job:")}
    report.delivered = len(job_keys)
    report.delivered_total = len(counts)
    lost = sorted(must - job_keys)
    report.lost = len(lost)
    for k in lost[:20]:
        report.problems.append(f"lost: {k}")
    for k in sorted(job_keys - must):
        if k in allowed:
            report.unexpected_ok += 1
        else:
            report.invented += 1
            report.problems.append(f"invented: {k}")


def _check_capacity(
    soak: Observed,
    groups: Groups,
    jobs: list[Any],
    counts: Counter[str],
    order: dict[str, int],
    report: Report,
) -> None:
    """Per account (and `*`, every account of the provider): exhausted and restored in
    episode order, no more exhausted than full periods read, no fewer than the damped truth
    requires, and ending as the account is."""
    timeline = full_timeline(soak, jobs)
    history = history_timeline(soak)
    for p in PROVIDERS:
        accounts = [a.account for a in soak.sim.accounts(p)]
        ok_groups = [(g, safe) for g, safe in groups[p] if g.ok]
        if p != "minimax":
            for a in accounts:
                differ = [
                    g.t
                    for g, _ in ok_groups
                    if full_at(timeline[(p, a)], g.t) != full_at(history[(p, a)], g.t)
                ]
                if differ:
                    report.problems.append(
                        f"{p} {a}: the simulator's history and its jobs "
                        f"disagree on fullness at {differ[:3]}"
                    )
        per_acct: dict[str, list[tuple[bool, bool]]] = {
            a: [(full_at(timeline[(p, a)], g.t), safe) for g, safe in ok_groups] for a in accounts
        }
        per_acct["*"] = [
            (all(per_acct[a][i][0] for a in accounts), ok_groups[i][1])
            for i in range(len(ok_groups))
        ]
        for acct, values in per_acct.items():
            _check_episodes(f"capacity:{p}:{acct}:", values, counts, order, report)


def _check_episodes(
    prefix: str,
    values: list[tuple[bool, bool]],
    counts: Counter[str],
    order: dict[str, int],
    report: Report,
) -> None:
    problems = report.problems
    keys = sorted((k for k in counts if k.startswith(prefix)), key=order.__getitem__)
    words = [(int(k[len(prefix) :].split(":")[0]), k.rsplit(":", 1)[1]) for k in keys]
    ex = [n for n, w in words if w == "exhausted"]
    re_ = [n for n, w in words if w == "restored"]
    report.capacity_exhausted += len(ex)
    report.capacity_restored += len(re_)
    expect = [(i // 2 + 1, "exhausted" if i % 2 == 0 else "restored") for i in range(len(words))]
    if words != expect:
        problems.append(f"{prefix} episodes out of order: {words}")
        report.invented += 1
    full_runs = sum(1 for v, _, _ in runs(values) if v)
    if len(ex) > full_runs:
        problems.append(
            f"{prefix} {len(ex)} exhausted alerts but only {full_runs} full periods were ever read"
        )
        report.invented += len(ex) - full_runs
    need_ex, need_re, final = required_transitions(runs(values))
    report.capacity_required += need_ex + need_re
    if len(ex) < need_ex or len(re_) < need_re:
        problems.append(
            f"{prefix} lost capacity alerts: {len(ex)}/{need_ex} exhausted, "
            f"{len(re_)}/{need_re} restored"
        )
        report.capacity_lost += max(0, need_ex - len(ex)) + max(0, need_re - len(re_))
    if final is not None and words and (words[-1][1] == "exhausted") != final:
        problems.append(
            f"{prefix} ends announced {words[-1][1]} but the account is "
            f"{'full' if final else 'free'}"
        )


def _check_upstream(
    soak: Observed, counts: Counter[str], order: dict[str, int], report: Report
) -> None:
    """Upstream episodes in order, each announced word backed by such a failure upstream."""
    problems = report.problems
    failures: dict[str, set[str]] = {p: set() for p in PROVIDERS}
    for _, e in soak.log:
        for p in PROVIDERS:
            if QUEUE_RE[p].match(e.path) or CAPACITY_RE[p].match(e.path):
                if e.status == 401:
                    failures[p].add("unauthorized")
                elif e.status == 402:
                    failures[p].add("payment required")
                elif e.fault is not None or (e.status or 200) >= 400 or e.status is None:
                    failures[p].add("unreachable")
    for p in PROVIDERS:
        prefix = f"upstream:{p}:"
        keys = sorted((k for k in counts if k.startswith(prefix)), key=order.__getitem__)
        report.upstream_alerts += len(keys)
        words = [(int(k[len(prefix) :].split(":")[0]), k.split(":", 3)[3]) for k in keys]
        # Episodes are announced in order (one bad condition may replace another without a
        # recovery in between); `recovered` closes the episode announced just before it.
        last_episode, last_word = 0, "recovered"
        for n, w in words:
            if w == "recovered":
                if last_word == "recovered" or n != last_episode:
                    problems.append(f"{prefix}{n}:recovered without its announcement: {words}")
                    report.invented += 1
            else:
                if n != last_episode + 1:
                    problems.append(f"{prefix}{n}:{w} out of order: {words}")
                    report.invented += 1
                if w not in failures[p]:
                    problems.append(f"{prefix}{n}:{w} without such a failure upstream")
                    report.invented += 1
                last_episode = n
            last_word = w


def _check_left_over(soak: Observed, rows: list[dict[str, Any]], report: Report) -> None:
    """Everything went out, nothing is left waiting, every incarnation ended as planned."""
    left = Counter(r["state"] for r in rows)
    if left.get("pending") or left.get("held") or left.get("failed"):
        report.problems.append(f"outbox not empty at the end: {dict(left)}")
    pending_jobs = soak.pending_left
    if pending_jobs:
        report.problems.append(f"{pending_jobs} jobs still await their outcome at the end")
    for inc in soak.incs:
        if not inc.how:
            report.problems.append(f"incarnation {inc.index} did not end as planned")
