"""The soak's checks: what the fake Discord received against the simulator's ground truth –
alerts lost, duplicated or invented, capacity and upstream episodes out of order, anything
left waiting at the end. See `analyse`."""

from __future__ import annotations

import math
import sqlite3
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from bot import providers as provider_registry
from bot.delivery import nonce_for
from bot.embeds import alert_batch
from bot.sim import SimRequest, Simulator
from bot.store import decode_event
from bot.text import display_id, escape
from rig.fakediscord import FakeDiscord
from rig.soak.config import CAPACITY_RE, PROVIDERS, QUEUE_RE, Incarnation, Report, SoakConfig

#: Per account: the times its fullness changed, and whether it is full from each on.
Timeline = tuple[list[datetime], list[bool]]


class Observed(Protocol):
    """What a soak run leaves for the analysis to read."""

    cfg: SoakConfig
    sim: Simulator
    fake: FakeDiscord
    #: Every request the simulator answered, tagged with the incarnation that made it.
    log: list[tuple[int, SimRequest]]
    incs: list[Incarnation]
    initial_full: dict[tuple[str, str], bool]
    db_path: Path

    @property
    def alert_channel(self) -> int: ...


@dataclass(frozen=True)
class _Group:
    """One scheduler+capacity read pair of one provider by one incarnation."""

    inc: int
    provider: str
    t: datetime
    q_ok: bool
    c_ok: bool
    first_pos: int  # position of its queue read in the log

    @property
    def ok(self) -> bool:
        return self.q_ok and self.c_ok


Groups = dict[str, list[tuple[_Group, bool]]]


def _groups(soak: Observed) -> Groups:
    """Per provider, every read group in log order with whether it is known committed.

    A group is known committed when its tick finished within the same incarnation (the
    provider's next scheduler read came from the same process: ticks of one provider never
    overlap), or the incarnation stopped with no tick in flight."""
    raw: dict[tuple[int, str, datetime], dict[str, Any]] = {}
    q_positions: dict[tuple[int, str], list[int]] = defaultdict(list)
    for pos, (inc, e) in enumerate(soak.log):
        if inc < 0 or e.method != "GET":
            continue
        for p in PROVIDERS:
            is_q = QUEUE_RE[p].match(e.path) is not None
            is_c = not is_q and CAPACITY_RE[p].match(e.path) is not None
            if not (is_q or is_c):
                continue
            ok = e.status == 200 and e.fault is None
            g = raw.setdefault((inc, p, e.t), {"q": False, "c": False, "pos": None})
            if is_q:
                g["q"] = g["q"] or ok
                if g["pos"] is None:
                    g["pos"] = pos
                q_positions[(inc, p)].append(pos)
            else:
                g["c"] = g["c"] or ok
            break
    clean = {i.index: i.clean_end for i in soak.incs}
    out: Groups = {p: [] for p in PROVIDERS}
    for (inc, p, t), g in raw.items():
        if g["pos"] is None:
            continue
        group = _Group(inc, p, t, g["q"], g["c"], g["pos"])
        later = any(pos > g["pos"] and soak.log[pos][1].t > t
                    for pos in q_positions[(inc, p)])
        out[p].append((group, later or clean.get(inc, False)))
    for p in PROVIDERS:
        out[p].sort(key=lambda item: item[0].first_pos)
    return out


def _full_timeline(soak: Observed, jobs: list[Any]) -> dict[tuple[str, str], Timeline]:
    """Per account: change times and whether it is full from each of them on, as useapi
    shows it: running jobs (MiniMax: running *video* jobs, which is what its capacity
    counts) against maxJobs. The simulator's own account_exhausted/account_restored history
    counts every job; for PixVerse and Dreamina it is checked to agree (see `analyse`)."""
    t0 = soak.sim.t0.timestamp()
    deltas: dict[tuple[str, str], list[tuple[float, int]]] = defaultdict(list)
    for job in jobs:
        if job.account is None or (job.provider == "minimax" and job.kind != "video"):
            continue
        deltas[(job.provider, job.account)].append((max(job.started_ts, t0), 1))
        if job.finished_ts is not None:
            deltas[(job.provider, job.account)].append((job.finished_ts, -1))
    lines: dict[tuple[str, str], Timeline] = {}
    for p in PROVIDERS:
        for acct in soak.sim.accounts(p):
            times, values = [soak.sim.t0], [False]
            n = 0
            changes = sorted(deltas[(p, acct.account)])
            i = 0
            while i < len(changes):
                t = changes[i][0]
                while i < len(changes) and changes[i][0] == t:
                    n += changes[i][1]
                    i += 1
                full = n >= acct.max_jobs
                if full != values[-1]:
                    times.append(datetime.fromtimestamp(t, UTC))
                    values.append(full)
            lines[(p, acct.account)] = (times, values)
    return lines


def _history_timeline(soak: Observed) -> dict[tuple[str, str], Timeline]:
    """The same from the simulator's account_exhausted / account_restored events."""
    t0 = soak.sim.t0
    lines: dict[tuple[str, str], Timeline] = {
        key: ([t0], [full]) for key, full in soak.initial_full.items()}
    for ev in soak.sim.history:
        if ev.kind not in ("account_exhausted", "account_restored") or ev.account is None:
            continue
        times, values = lines.setdefault((ev.provider, ev.account), ([t0], [False]))
        times.append(ev.t)
        values.append(ev.kind == "account_exhausted")
    return lines


def _full_at(line: Timeline, t: datetime) -> bool:
    times, values = line
    i = bisect_right(times, t) - 1
    return values[max(i, 0)]


def runs(values: list[tuple[bool, bool]]) -> list[tuple[bool, int, int]]:
    """(value, reads, known-committed reads) of each maximal run of equal values."""
    out: list[tuple[bool, int, int]] = []
    for value, safe in values:
        if out and out[-1][0] == value:
            v, n, s = out[-1]
            out[-1] = (v, n + 1, s + int(safe))
        else:
            out.append((value, 1, int(safe)))
    return out


def required_transitions(runs: list[tuple[bool, int, int]]) -> tuple[int, int, bool | None]:
    """From the damped truth (a value is announced once two committed reads in a row show
    it): the fewest exhausted and restored announcements, and the final announced state
    (None when the last settled run does not decide it)."""
    announced = False
    exhausted = restored = 0
    final: bool | None = False
    for value, _, safe in runs:
        if safe < 2:
            final = None if value != announced else final
            continue
        if value and not announced:
            exhausted += 1
        elif not value and announced:
            restored += 1
        announced = value
        final = value
    return exhausted, restored, final


def _shown(times: list[float], start: float, end: float) -> bool:
    """Whether any read time t (sorted) has start <= t < end."""
    i = bisect_left(times, start)
    return i < len(times) and times[i] < end


def _db_rows(db_path: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT id, key, batch, channel_id, mention_role_id, state, event, "
                            "sent_message_id FROM alert_outbox ORDER BY id").fetchall()
        return [dict(r) for r in rows]
    finally:
        conn.close()


def _db_count(db_path: Path, table: str) -> int:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def _embed_text(e: Mapping[str, Any]) -> tuple[str, str, str]:
    return (e.get("title") or "", e.get("description") or "",
            (e.get("footer") or {}).get("text") or "")


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
    groups = _groups(soak)
    jobs = _finished_jobs(soak.sim)
    running = {j.id: j for j in soak.sim.running()}
    report.jobs_finished = len(jobs)
    must, allowed = _expected_job_alerts(soak, groups, [*jobs.values(), *running.values()],
                                         report)
    rows = _db_rows(soak.db_path)
    delivered = _delivered(soak, rows, report)
    counts = Counter(delivered)
    report.duplicated = sum(n - 1 for n in counts.values())
    for key, n in counts.items():
        if n > 1:
            report.problems.append(f"{key} delivered {n} times")
    _check_job_alerts(counts, must, allowed, report)
    order = {k: i for i, k in enumerate(dict.fromkeys(delivered))}
    _check_capacity(soak, groups, [*jobs.values(), *running.values()], counts, order, report)
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


def _expected_job_alerts(soak: Observed, groups: Groups, jobs: list[Any], report: Report
                         ) -> tuple[set[str], set[str]]:
    """The job alerts that must have been delivered, and those that may have been (a read
    that may not have been committed showed them)."""
    stuck_s = soak.cfg.stuck_after_minutes * 60

    def reads(p: str, *, committed_only: bool) -> list[datetime]:
        return sorted(g.t for g, safe in groups[p]
                      if (g.ok if committed_only else g.q_ok) and (safe or not committed_only))

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
            if _shown(c_ts, s, f):
                seen.add(job.id)
                if (job.finished_ts is not None and last_committed is not None
                        and last_committed.timestamp() >= job.finished_ts):
                    must.add(key_final)
            if job.finished_ts is not None and _shown(a_ts, s, f):
                allowed.add(key_final)
            if _shown(c_ts, s + stuck_s, f):
                must.add(key_stuck)
            if _shown(a_ts, s + stuck_s, f):
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
            problems.append(f"message {msg['id']} matches no outbox group (nonce "
                            f"{nonce!r}): invented")
            report.invented += 1
            continue
        events = [decode_event(r["event"]) for r in group]
        want = [_embed_text(e.to_dict()) for e in alert_batch(events, titles=titles,
                                                               redact=False)]
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


def _check_job_alerts(counts: Counter[str], must: set[str], allowed: set[str],
                      report: Report) -> None:
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


def _check_capacity(soak: Observed, groups: Groups, jobs: list[Any], counts: Counter[str],
                    order: dict[str, int], report: Report) -> None:
    """Per account (and `*`, every account of the provider): exhausted and restored in
    episode order, no more exhausted than full periods read, no fewer than the damped truth
    requires, and ending as the account is."""
    timeline = _full_timeline(soak, jobs)
    history = _history_timeline(soak)
    for p in PROVIDERS:
        accounts = [a.account for a in soak.sim.accounts(p)]
        ok_groups = [(g, safe) for g, safe in groups[p] if g.ok]
        if p != "minimax":
            for a in accounts:
                differ = [g.t for g, _ in ok_groups if _full_at(timeline[(p, a)], g.t)
                          != _full_at(history[(p, a)], g.t)]
                if differ:
                    report.problems.append(f"{p} {a}: the simulator's history and its jobs "
                                           f"disagree on fullness at {differ[:3]}")
        per_acct: dict[str, list[tuple[bool, bool]]] = {
            a: [(_full_at(timeline[(p, a)], g.t), safe) for g, safe in ok_groups]
            for a in accounts}
        per_acct["*"] = [(all(per_acct[a][i][0] for a in accounts), ok_groups[i][1])
                         for i in range(len(ok_groups))]
        for acct, values in per_acct.items():
            _check_episodes(f"capacity:{p}:{acct}:", values, counts, order, report)


def _check_episodes(prefix: str, values: list[tuple[bool, bool]], counts: Counter[str],
                    order: dict[str, int], report: Report) -> None:
    problems = report.problems
    keys = sorted((k for k in counts if k.startswith(prefix)), key=order.__getitem__)
    words = [(int(k[len(prefix):].split(":")[0]), k.rsplit(":", 1)[1]) for k in keys]
    ex = [n for n, w in words if w == "exhausted"]
    re_ = [n for n, w in words if w == "restored"]
    report.capacity_exhausted += len(ex)
    report.capacity_restored += len(re_)
    expect = [(i // 2 + 1, "exhausted" if i % 2 == 0 else "restored")
              for i in range(len(words))]
    if words != expect:
        problems.append(f"{prefix} episodes out of order: {words}")
        report.invented += 1
    full_runs = sum(1 for v, _, _ in runs(values) if v)
    if len(ex) > full_runs:
        problems.append(f"{prefix} {len(ex)} exhausted alerts but only {full_runs} "
                        f"full periods were ever read")
        report.invented += len(ex) - full_runs
    need_ex, need_re, final = required_transitions(runs(values))
    report.capacity_required += need_ex + need_re
    if len(ex) < need_ex or len(re_) < need_re:
        problems.append(f"{prefix} lost capacity alerts: {len(ex)}/{need_ex} exhausted, "
                        f"{len(re_)}/{need_re} restored")
        report.capacity_lost += max(0, need_ex - len(ex)) + max(0, need_re - len(re_))
    if final is not None and words and (words[-1][1] == "exhausted") != final:
        problems.append(f"{prefix} ends announced {words[-1][1]} but the account is "
                        f"{'full' if final else 'free'}")


def _check_upstream(soak: Observed, counts: Counter[str], order: dict[str, int],
                    report: Report) -> None:
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
        words = [(int(k[len(prefix):].split(":")[0]), k.split(":", 3)[3]) for k in keys]
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
    pending_jobs = _db_count(soak.db_path, "watch_pending")
    if pending_jobs:
        report.problems.append(f"{pending_jobs} jobs still await their outcome at the end")
    for inc in soak.incs:
        if not inc.how:
            report.problems.append(f"incarnation {inc.index} did not end as planned")
