"""End a request's read-only transaction with COMMIT, so its prepared statements survive.

psycopg prepares a statement on the server once a connection has run it five times, then
sends only its name and parameters: no parse and no analysis of the SQL again. It forgets
every prepared statement on ``ROLLBACK`` (an object the rolled-back transaction created may
be gone). A request that only reads ends its transaction with a rollback (the session is
closed without a commit), so no statement was ever prepared: a dashboard read paid a few
milliseconds of parsing and planning for each of its statements, every time.

``commit_reads`` (an ``after_request`` hook) commits instead when the request succeeded
(status below 400), the session holds no unflushed change and the transaction ran nothing
but ``SELECT`` statements (``note_writes`` marks the connection on any other statement):
for such a transaction COMMIT and ROLLBACK end in the same state. Anything else keeps the
rollback.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask, Response
from sqlalchemy import Engine, event
from sqlalchemy.exc import SQLAlchemyError

from fluxolab.extensions import db

logger = logging.getLogger(__name__)
WROTE = "fluxolab_wrote"  # in the pooled connection's info: the transaction ran a write
# a word that makes a SELECT or WITH more than a read: a data-modifying CTE, SELECT ... INTO
# (a new table), a row lock (FOR UPDATE: COMMIT would release it as ROLLBACK does, but the
# rule stays plain)
_WRITE_WORD = re.compile(r"\b(?:INSERT|UPDATE|DELETE|MERGE|INTO)\b", re.IGNORECASE)


def is_read(statement: str) -> bool:
    """Tell whether ``statement`` only reads: a ``SELECT`` or ``WITH`` query with no
    data-modifying part (whole words: a column such as ``updated_at`` is no write)."""
    head = statement.lstrip()[:6].upper()
    if head != "SELECT" and head[:4] != "WITH":
        return False
    return _WRITE_WORD.search(statement) is None


def _begin(conn: Any) -> None:
    conn.info[WROTE] = False


def _before_execute(
    conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
) -> None:
    if not conn.info.get(WROTE) and not is_read(statement):
        conn.info[WROTE] = True


def note_writes(engine: Engine) -> None:
    """Mark ``engine``'s connections when their transaction runs anything but a read."""
    event.listen(engine, "begin", _begin)
    event.listen(engine, "before_cursor_execute", _before_execute)


def commit_reads(response: Response) -> Response:
    """``after_request``: COMMIT a successful request's transaction that only read (see the
    module); a failing commit is rolled back and logged, the response stands."""
    session = db.session()  # the request's own Session, not its scoped proxy
    if response.status_code >= 400 or not session.in_transaction():
        return response
    if session.new or session.dirty or session.deleted:
        return response
    if session.connection().info.get(WROTE, True):
        return response
    try:
        session.commit()
    except SQLAlchemyError as exc:  # the answer is built; the database went away meanwhile
        logger.warning("ending a read-only transaction failed: %s", exc)
        session.rollback()
    return response


def init_app(app: Flask) -> None:
    """Install ``note_writes`` on the app's engine and ``commit_reads`` after each request."""
    with app.app_context():
        note_writes(db.engine)
    app.after_request(commit_reads)
