"""The simulator's control API under `/_sim`: no auth, not logged, one handler per endpoint.

=======  ====================  ===============================================================
GET      /_sim/state           accounts, running jobs, legacy jobs, counters, faults, pins
GET      /_sim/history         `{"total", "since", "events":[…]}`; `?since=N` skips N events
GET      /_sim/requests        `{"total", "since", "requests":[…]}`; `?since=N`
GET      /_sim/faults          active faults
POST     /_sim/faults          `{pattern, kind, count?, probability?, seconds?, status?, body?,
                               size?}`
DELETE   /_sim/faults          all, or `?pattern=` / `{"pattern"}` only
GET      /_sim/pins            pinned paths
POST     /_sim/pin             `{path, body, status?, contentType?}`
DELETE   /_sim/pin             all, or `?path=` / `{"path"}` only
POST     /_sim/advance         `{seconds}` → `{"now", "events"}`
POST     /_sim/step            play the churn up to now → `{"events"}`
POST     /_sim/jobs            `{provider, account?, kind?, duration?, outcome?, legacy?,
                               elapsed?}` → the job (201)
GET      /_sim/jobs/{id}       one job, ground truth (404 if unknown)
POST     /_sim/finish          `{job_id, outcome?}` → the job
POST     /_sim/fill            `{provider, account}` → `{"ids":[…]}`
POST     /_sim/free            `{provider, account, outcome?}` → `{"ids":[…]}`
POST     /_sim/account_error   `{provider, account, error}` (null `error` clears it)
POST     /_sim/expiry          `{provider, account, expires}` (ISO-8601 or epoch seconds) or
                               `{provider, account, inSeconds}` (from the simulator's now)
POST     /_sim/subscription    `{active}`: `subscriptionIsActive` of `GET /v2/account`
=======  ====================  ===============================================================

(`pin` and `pins` are the same endpoint.) A bad request answers 400, an unknown job or account
404, a job that finds no free slot 409; each `{"error", "code"}`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from bot.sim.model import CapacityError
from bot.sim.reply import Reply
from bot.sim.state import Simulator

#: The path prefix of the control API.
PREFIX = "/_sim"

Handler = Callable[[Simulator, web.Request], Awaitable[Reply]]


async def answer(sim: Simulator, request: web.Request, sub: str) -> Reply:
    """The answer to `<method> /_sim/<sub>`, errors included."""
    try:
        return await _dispatch(sim, request, sub)
    except CapacityError as exc:
        return Reply(409, {"error": str(exc), "code": 409})
    except KeyError as exc:
        return Reply(404, {"error": str(exc.args[0]) if exc.args else "Not found", "code": 404})
    except (ValueError, TypeError) as exc:
        return Reply(400, {"error": str(exc), "code": 400})


async def _dispatch(sim: Simulator, request: web.Request, sub: str) -> Reply:
    method = request.method
    if method == "GET" and sub.startswith("jobs/"):
        return Reply(200, _job_dict(sim, unquote(sub[len("jobs/") :])))
    handler = _ROUTES.get((method, sub))
    if handler is None:
        return Reply(404, {"error": f"no control endpoint {method} /_sim/{sub}", "code": 404})
    return await handler(sim, request)


# ------------------------------------------------------------------ reading


async def _index(sim: Simulator, request: web.Request) -> Reply:
    return Reply(
        200,
        {
            "endpoints": [
                line.strip() for line in (__doc__ or "").splitlines() if f"{PREFIX}/" in line
            ]
        },
    )


async def _state(sim: Simulator, request: web.Request) -> Reply:
    return Reply(200, sim.state())


async def _history(sim: Simulator, request: web.Request) -> Reply:
    sim.step()
    return _since(request, "events", sim.history)


async def _requests(sim: Simulator, request: web.Request) -> Reply:
    sim.step()
    return _since(request, "requests", list(sim.requests))


def _since(request: web.Request, key: str, items: list[Any]) -> Reply:
    since = int(request.query.get("since", "0"))
    return Reply(
        200, {"total": len(items), "since": since, key: [item.to_dict() for item in items[since:]]}
    )


# ------------------------------------------------------------------ faults and pins


async def _faults(sim: Simulator, request: web.Request) -> Reply:
    return Reply(200, [f.to_dict() for f in sim.faults.active()])


async def _set_fault(sim: Simulator, request: web.Request) -> Reply:
    data = await _json(request)
    fault = sim.faults.set(
        str(_need(data, "pattern")),
        str(_need(data, "kind")),
        count=_opt_int(data.get("count")),
        probability=float(data.get("probability", 1.0)),
        seconds=None if data.get("seconds") is None else float(data["seconds"]),
        status=_opt_int(data.get("status")),
        body=data.get("body"),
        size=_opt_int(data.get("size")),
    )
    return Reply(201, fault.to_dict())


async def _clear_faults(sim: Simulator, request: web.Request) -> Reply:
    data = await _json(request)
    pattern = request.query.get("pattern") or data.get("pattern")
    return Reply(200, {"cleared": sim.faults.clear(pattern)})


async def _pins(sim: Simulator, request: web.Request) -> Reply:
    return Reply(
        200,
        {
            path: {"status": pin.status, "contentType": pin.content_type}
            for path, pin in sim.pins.items()
        },
    )


async def _pin(sim: Simulator, request: web.Request) -> Reply:
    data = await _json(request)
    if "body" not in data:
        raise ValueError("missing 'body'")
    sim.pin(
        str(_need(data, "path")),
        data["body"],
        int(data.get("status", 200)),
        content_type=str(data.get("contentType", "application/json")),
    )
    return Reply(201, {"pinned": data["path"]})


async def _unpin(sim: Simulator, request: web.Request) -> Reply:
    data = await _json(request)
    path = request.query.get("path") or data.get("path")
    return Reply(200, {"removed": sim.unpin(path)})


# ------------------------------------------------------------------ time and jobs


async def _advance(sim: Simulator, request: web.Request) -> Reply:
    data = await _json(request)
    before = len(sim.history)
    now = sim.advance(float(_need(data, "seconds")))
    return Reply(
        200, {"now": now.isoformat().replace("+00:00", "Z"), "events": len(sim.history) - before}
    )


async def _step(sim: Simulator, request: web.Request) -> Reply:
    return Reply(200, {"events": sim.step()})


async def _start_job(sim: Simulator, request: web.Request) -> Reply:
    data = await _json(request)
    duration = data.get("duration")
    job_id = sim.start_job(
        str(_need(data, "provider")),
        data.get("account"),
        None if data.get("kind") is None else str(data["kind"]),
        None if duration is None else float(duration),
        data.get("outcome", "completed"),
        bool(data.get("legacy", False)),
        elapsed=float(data.get("elapsed", 0.0)),
    )
    return Reply(201, _job_dict(sim, job_id))


async def _finish(sim: Simulator, request: web.Request) -> Reply:
    data = await _json(request)
    job = sim.finish_job(str(_need(data, "job_id")), str(data.get("outcome", "completed")))
    return Reply(200, job.to_dict(sim.now_ts()))


async def _fill(sim: Simulator, request: web.Request) -> Reply:
    data = await _json(request)
    ids = sim.fill_account(str(_need(data, "provider")), str(_need(data, "account")))
    return Reply(200, {"ids": ids})


async def _free(sim: Simulator, request: web.Request) -> Reply:
    data = await _json(request)
    provider, account = str(_need(data, "provider")), str(_need(data, "account"))
    ids = sim.free_account(provider, account, str(data.get("outcome", "completed")))
    return Reply(200, {"ids": ids})


async def _account_error(sim: Simulator, request: web.Request) -> Reply:
    data = await _json(request)
    if "error" not in data:
        raise ValueError("missing 'error' (null clears it)")
    error = data["error"]
    provider, account = str(_need(data, "provider")), str(_need(data, "account"))
    sim.set_account_error(provider, account, None if error is None else str(error))
    return Reply(200, sim.account(provider, account).to_dict())


async def _expiry(sim: Simulator, request: web.Request) -> Reply:
    data = await _json(request)
    provider, account = str(_need(data, "provider")), str(_need(data, "account"))
    if data.get("inSeconds") is not None:
        expires = sim.now_ts() + float(data["inSeconds"])
    else:
        raw = _need(data, "expires")
        expires = float(raw) if isinstance(raw, int | float) else _iso_ts(str(raw))
    sim.set_account_expiry(provider, account, expires)
    return Reply(200, sim.account(provider, account).to_dict())


async def _subscription(sim: Simulator, request: web.Request) -> Reply:
    data = await _json(request)
    active = _need(data, "active")
    if not isinstance(active, bool):
        raise ValueError("'active' must be true or false")
    sim.set_subscription(active)
    return Reply(200, {"subscriptionIsActive": active})


_ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", ""): _index,
    ("GET", "state"): _state,
    ("GET", "history"): _history,
    ("GET", "requests"): _requests,
    ("GET", "faults"): _faults,
    ("POST", "faults"): _set_fault,
    ("DELETE", "faults"): _clear_faults,
    **{("GET", sub): _pins for sub in ("pin", "pins")},
    **{("POST", sub): _pin for sub in ("pin", "pins")},
    **{("DELETE", sub): _unpin for sub in ("pin", "pins")},
    ("POST", "advance"): _advance,
    ("POST", "step"): _step,
    ("POST", "jobs"): _start_job,
    ("POST", "finish"): _finish,
    ("POST", "fill"): _fill,
    ("POST", "free"): _free,
    ("POST", "account_error"): _account_error,
    ("POST", "expiry"): _expiry,
    ("POST", "subscription"): _subscription,
}


# ------------------------------------------------------------------ request bodies


def _job_dict(sim: Simulator, job_id: str) -> dict[str, Any]:
    job = sim.job(job_id)
    if job is None:
        raise KeyError(f"no job {job_id!r}")
    return job.to_dict(sim.now_ts())


async def _json(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        data = await request.json()
    except ValueError:
        raise ValueError("request body is not JSON") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError("request body must be a JSON object")
    return data


def _need(data: dict[str, Any], key: str) -> Any:
    if data.get(key) is None:
        raise ValueError(f"missing {key!r}")
    return data[key]


def _iso_ts(text: str) -> float:
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (t if t.tzinfo is not None else t.replace(tzinfo=UTC)).timestamp()


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)
