"""The public intake's one Redis round trip: both throttles and the trigger generation.

Before the token lookup a webhook call runs one Lua script (``GATE``) that counts the call
against its source IP's window and, unless that IP is over its limit, against the token's
window (keyed by the token's hash: known before the lookup), and reads the **trigger
generation**: a counter bumped after every commit that changed a trigger or what a trigger
lookup reads (webhook and form rows, workflows, workspaces, plans). The lookup cache
(``triggers.lookup``) keeps a row only for the generation it was read under, so a rotated,
disabled or deactivated trigger stops answering with the next call in every process.

Fixed windows of one minute (``INCR`` + ``EXPIRE`` on the first hit), the same strategy
as flask-limiter's default; ``Retry-After`` is the window's remaining time. The gate runs
where rate limits are stored in Redis (``RATELIMIT_STORAGE_URI``); counting follows
``RATELIMIT_ENABLED``. Redis unreachable: no count and no cache (the call goes on, as with
flask-limiter's swallowed storage errors).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

import redis
from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from fluxolab.extensions import limiter
from fluxolab.models import Plan, Webhook, Workflow, Workspace

log = logging.getLogger(__name__)
GENERATION_KEY = "fluxolab:triggers:generation"
WINDOW_SECONDS = 60
# what a trigger lookup reads: a commit that touched any of these bumps the generation
WATCHED = (Webhook, Workflow, Workspace, Plan)
_SCRIPT = """
local counting = ARGV[1] == '1'
local ip, ip_ttl, hook, hook_ttl = 0, 0, 0, 0
if counting then
  ip = redis.call('INCR', KEYS[1])
  if ip == 1 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
  ip_ttl = redis.call('TTL', KEYS[1])
  if ip <= tonumber(ARGV[2]) then
    hook = redis.call('INCR', KEYS[2])
    if hook == 1 then redis.call('EXPIRE', KEYS[2], ARGV[3]) end
    hook_ttl = redis.call('TTL', KEYS[2])
  end
end
return {ip, ip_ttl, hook, hook_ttl, tonumber(redis.call('GET', KEYS[3]) or '0')}
"""


@dataclass(frozen=True)
class Passage:
    """What the gate counted: hits in the current windows, their seconds left, the generation."""

    ip_hits: int
    ip_retry_after: int
    hook_hits: int
    hook_retry_after: int
    generation: int


_clients: dict[tuple[int, str], Any] = {}
_lock = threading.Lock()


def _script(app: Flask) -> Any:
    """The registered gate script on the rate-limit Redis of ``app``, or None (not Redis)."""
    url = str(app.config.get("RATELIMIT_STORAGE_URI") or "")
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    key = (os.getpid(), url)
    found = _clients.get(key)
    if found is None:
        with _lock:
            found = _clients.get(key)
            if found is None:
                client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
                found = _clients[key] = (client, client.register_script(_SCRIPT))
    return found


def enabled() -> bool:
    """Whether the intake's gate is on (rate limits stored in Redis)."""
    return _script(current_app._get_current_object()) is not None  # type: ignore[attr-defined]


def passage(scope: str, source_ip: str, token_hash: str, ip_limit: int) -> Passage | None:
    """Count a call of ``scope`` (``webhook``) and read the generation; None: Redis is down."""
    found = _script(current_app._get_current_object())  # type: ignore[attr-defined]
    if found is None:
        return None
    keys = [f"fluxolab:gate:{scope}-ip:{source_ip}", f"fluxolab:gate:{scope}:{token_hash}"]
    counting = "1" if limiter.enabled else "0"
    try:
        hits = found[1](keys=[*keys, GENERATION_KEY], args=[counting, ip_limit, WINDOW_SECONDS])
    except redis.RedisError as exc:
        log.warning("intake gate unavailable (%s): not counted, lookup not cached", exc)
        return None
    ip, ip_ttl, hook, hook_ttl, generation = (int(value) for value in hits)
    return Passage(ip, max(1, ip_ttl), hook, max(1, hook_ttl), generation)


def bump(app: Flask) -> None:
    """Start a new trigger generation (after a commit that changed a trigger)."""
    found = _script(app)
    if found is None:
        return
    try:
        found[0].incr(GENERATION_KEY)
    except redis.RedisError as exc:  # cached rows then live until their age limit
        log.warning("could not bump the trigger generation: %s", exc)


# --- what bumps it: any commit after a watched row was written in the session ------------
# (a write that was rolled back bumps it at the session's next commit: one needless refresh)

_CHANGED = "fluxolab.triggers_changed"


def _note_flush(session: Session, _flush: UOWTransaction) -> None:
    for instance in (*session.new, *session.dirty, *session.deleted):
        if isinstance(instance, WATCHED):
            session.info[_CHANGED] = True
            return


def _note_statement(state: ORMExecuteState) -> None:
    if state.is_update or state.is_delete or state.is_insert:
        mapper = state.bind_mapper
        if mapper is not None and issubclass(mapper.class_, WATCHED):
            state.session.info[_CHANGED] = True


def _after_commit(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        try:
            app = current_app._get_current_object()  # type: ignore[attr-defined]
        except RuntimeError:  # no app (a script): nothing to tell
            return
        bump(app)


def install() -> None:
    """Listen to every session's flushes, statements and commits (once per process)."""
    if event.contains(Session, "after_commit", _after_commit):
        return
    event.listen(Session, "after_flush", _note_flush)
    event.listen(Session, "do_orm_execute", _note_statement)
    event.listen(Session, "after_commit", _after_commit)
